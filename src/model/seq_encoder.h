/* seq_encoder.h — the Transformer user tower body shared by sasrec and
 * cl-epidtn (SASRec, Kang & McAuley 2018, in the S3-Rec/ICLRec form):
 *   e = LN(x + P[pos]);  e = Dropout(e);  h = Block_L(...Block_1(e))
 * over packed causal sequences. x (N, C) are the token inputs the model
 * builds (item + feature embeddings, possibly gated or masked). Positions
 * follow SASRec's left padding: the last token of every sequence sits at
 * position max_len - 1, so "most recent" means the same thing in training
 * prefixes, truncated histories and inference. */
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
    int32_t *pos;                   /* (max_tokens) position index per token */
    float *e, *eln, *mean, *rstd;   /* (N, C), (N, C), (N), (N) */
    float *emask, *x0;              /* (N, C) dropout mask, block-0 input */
    TBlockActs acts[SEQ_MAX_LAYERS];
    TBlockScratch scr;
    float *d0, *d1;                 /* (N, C) gradient ping-pong */
} SeqEncoder;

void seqenc_declare(SeqEncoder *e, ParamStore *ps, const ModelConfig *cfg);
void seqenc_plan(SeqEncoder *e, Arena *ar, int max_seqs, int64_t max_tokens);
/* Returns the last block's output (N, C). train = 0 disables dropout. */
const float *seqenc_forward(SeqEncoder *e, ParamStore *ps, const float *x, const int32_t *seq_ptr, int S, int train,
                            Rng *rng);
/* dh (N, C) -> dx (N, C) accumulated; parameter gradients accumulated. */
void seqenc_backward(SeqEncoder *e, ParamStore *ps, const float *dh, float *dx);

#endif
