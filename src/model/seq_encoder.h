/* seq_encoder.h — the Transformer user tower body shared by sasrec and
 * cl-epidtn (SASRec, Kang & McAuley 2018, in the S3-Rec/ICLRec form):
 *   e = LN(x + P[pos]);  e = Dropout(e);  h = Block_L(...Block_1(e))
 * over packed causal sequences. x (N, C) are the token inputs the model
 * builds (item + feature embeddings, possibly gated or masked). Positions
 * follow SASRec's left padding: the last token of every sequence sits at
 * position max_len - 1, so "most recent" means the same thing in training
 * prefixes, truncated histories and inference.
 *
 * Output rows: the first S_all sequences output every position (causal
 * training: each predicts the next item), the others only their last (an
 * augmented view's representation, a user vector at inference). The last
 * block computes only those rows (nn/transformer.h): for the contrastive
 * views, most of a step's tokens, that skips most of the last block. */
#ifndef CLT_SEQ_ENCODER_H
#define CLT_SEQ_ENCODER_H

#include "model/model.h"
#include "nn/transformer.h"

enum { SEQ_MAX_LAYERS = 8 };

typedef struct SeqEncoder {
    int pos_emb, lnw, lnb;          /* parameter indices */
    TBlock blk[SEQ_MAX_LAYERS];
    int layers, C, max_len;
    float p_emb, p_hidden, p_attn;  /* dropout rates */
    int64_t max_tokens;
    int max_seqs;
    /* the current batch */
    const int32_t *seq_ptr;         /* (S+1) borrowed until backward */
    int S;
    float p_used_attn;              /* attention dropout of the last forward (0 in eval) */
    int64_t *att_off;               /* (max_seqs+1) */
    int32_t *q_first, *out_ptr;     /* (max_seqs), (max_seqs+1): the output rows, QuerySel */
    int32_t *rows;                  /* (max_tokens) token of each output row */
    QuerySel qs;
    int use_qs;                     /* 0: every token is an output row */
    int32_t *pos;                   /* (max_tokens) position index per token */
    float *e, *eln, *mean, *rstd;   /* (N, C), (N, C), (N), (N) */
    float *emask, *x0;              /* (N, C) dropout mask, block-0 input */
    TBlockActs acts[SEQ_MAX_LAYERS];
    TBlockScratch scr;
    float *d0, *d1;                 /* (N, C) gradient ping-pong */
} SeqEncoder;

void seqenc_declare(SeqEncoder *e, ParamStore *ps, const ModelConfig *cfg);
void seqenc_plan(SeqEncoder *e, Arena *ar, int max_seqs, int64_t max_tokens);
/* Returns the last block's output, seqenc_out_ptr(e)[S] rows of C (sequence
 * s: rows out_ptr[s] .. out_ptr[s+1]-1; its last position is row
 * out_ptr[s+1]-1). train = 0 disables dropout. */
const float *seqenc_forward(SeqEncoder *e, ParamStore *ps, const float *x, const int32_t *seq_ptr, int S, int S_all,
                            int train, Rng *rng);
static inline const int32_t *seqenc_out_ptr(const SeqEncoder *e) { return e->use_qs ? e->out_ptr : e->seq_ptr; }
/* dh (output rows, C) -> dx (N, C) accumulated; parameter gradients accumulated. */
void seqenc_backward(SeqEncoder *e, ParamStore *ps, const float *dh, float *dx);

#endif
