/* transformer.h — a Transformer encoder block over packed sequences.
 *
 * Post-LN (BERT) ordering, as the SASRec implementation of S3-Rec / ICLRec
 * whose published Beauty/Sports numbers we reproduce:
 *   qkv = x Wqkv^T + bqkv;   a = CausalMHA(qkv)            (nn/attention.h)
 *   y   = LN1(x + Dropout(a Wo^T + bo))
 *   z   = LN2(y + Dropout(W2 gelu(W1 y + b1) + b2))
 * Parameters live in the model's ParamStore under "<prefix>.<name>".
 * With a QuerySel (nn/attention.h) a block computes q, k, v for every token
 * but everything after the attention only for the selected query rows: its
 * output has qs->out_ptr[S] rows. A model's last block needs no more rows
 * than the losses read. */
#ifndef CLT_TRANSFORMER_H
#define CLT_TRANSFORMER_H

#include "nn/attention.h"
#include "nn/params.h"
#include "util/arena.h"

typedef struct TBlock {
    int wqkv, bqkv, wo, bo, ln1w, ln1b, w1, b1, w2, b2, ln2w, ln2b; /* parameter indices */
    int C, H, NH;                                                  /* model dim, FFN hidden, heads */
} TBlock;

/* Saved activations of one block for N tokens (planned for max_tokens);
 * qkv has every token's rows, the rest one row per output row. */
typedef struct TBlockActs {
    float *qkv;            /* (N, 3C) */
    float *att, *adrop;    /* (att size) softmax weights, attention-dropout mask */
    float *a;              /* (N, C) attention output (heads concatenated) */
    float *p, *pmask;      /* (N, C) output projection, its dropout mask */
    float *r1, *y;         /* (N, C) residual sum, LN1 output */
    float *mean1, *rstd1;  /* (N) */
    float *h, *g, *gth;    /* (N, H) FFN pre-activation, GELU output, the tanh inside GELU */
    float *f, *fmask;      /* (N, C) FFN output, its dropout mask */
    float *r2, *z;         /* (N, C) residual sum, LN2 output = block output */
    float *mean2, *rstd2;  /* (N) */
} TBlockActs;

/* Scratch shared by all blocks of a model (used one block at a time): the
 * gradients, and the attention kernels' per-thread workspace. */
typedef struct TBlockScratch {
    float *dqkv, *datt, *da, *dp, *dr1, *dy, *dg, *df; /* shapes as above; dg also holds d(h) */
    AttnScratch attn;
} TBlockScratch;

void tblock_declare(TBlock *b, ParamStore *ps, const char *prefix, int C, int H, int NH, float init_std);
void tblock_acts_plan(TBlockActs *a, Arena *ar, int64_t max_tokens, int64_t max_att, int C, int H);
/* For sequences of at most max_len tokens and up to omp_get_num_procs() (or
 * the current OpenMP thread count, if larger) threads. */
void tblock_scratch_plan(TBlockScratch *s, Arena *ar, int64_t max_tokens, int64_t max_att, int C, int H, int NH,
                         int max_len);

/* x (N, C) -> a->z (Nout, C): Nout = N, or qs->out_ptr[S] with a selection
 * (qs may be NULL). p_attn / p_hidden: attention / hidden dropout. */
void tblock_forward(const TBlock *b, ParamStore *ps, TBlockActs *a, TBlockScratch *s, const float *x,
                    const int32_t *seq_ptr, const int64_t *att_off, const QuerySel *qs, int S, float p_attn,
                    float p_hidden, Rng *rng);
/* dz (Nout, C) -> dx (N, C) accumulated; parameter gradients accumulated. dz is not modified. */
void tblock_backward(const TBlock *b, ParamStore *ps, const TBlockActs *a, TBlockScratch *s, float *dx,
                     const float *dz, const float *x, const int32_t *seq_ptr, const int64_t *att_off,
                     const QuerySel *qs, int S, float p_attn);

#endif
