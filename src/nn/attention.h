/* attention.h — causal multi-head self-attention over packed sequences.
 *
 * Sequences of different lengths are packed back to back: sequence s owns
 * tokens [seq_ptr[s], seq_ptr[s+1]) of every (N, ...) buffer. There is no
 * padding anywhere, so a batch of mostly short histories (Amazon: median 6)
 * costs what its tokens cost, not max_len^2 per row. With causal masking a
 * token attends to itself and earlier tokens of its own sequence only.
 *
 * qkv (N, 3C) holds [q | k | v] per token (C = NH * hs, head h uses columns
 * h*hs .. h*hs+hs of each part). att holds the softmax weights per sequence
 * and head as an (L, L) block (upper triangle zero) at att_off[s] + h*L*L;
 * att_off comes from attention_plan(). With dropout p > 0 the weights used
 * for the output are att * mask (inverted dropout, mask stored in `drop`).
 *
 * A QuerySel computes only some query rows: sequence s those from
 * q_first[s] on, written packed (out row out_ptr[s] + t - q_first[s] for
 * query t; rows[] = the token of each out row). Keys and values are every
 * token's. The contrastive views need only their last position in the last
 * block, and inference only every sequence's last: the other rows' outputs
 * would be thrown away. NULL: every row, out = token order. */
#ifndef CLT_ATTENTION_H
#define CLT_ATTENTION_H

#include <stdint.h>

#include "util/rng.h"

typedef struct QuerySel {
    const int32_t *q_first; /* (S) first query row computed per sequence */
    const int32_t *out_ptr; /* (S+1) */
    const int32_t *rows;    /* (out_ptr[S]) token index of each out row */
} QuerySel;

/* Per-thread workspace of the kernels: one (head size, max_len) block per
 * thread (keys or values of one head, transposed), planned once; the
 * kernels use at most `threads` threads and take sequences of at most
 * max_len tokens. */
typedef struct AttnScratch {
    float *tr;
    int threads, max_len;
} AttnScratch;
int64_t attention_scratch_floats(int C, int NH, int max_len, int threads);

/* Fills att_off (S+1) for the given sequences; returns the att buffer size. */
int64_t attention_plan(int64_t *att_off, const int32_t *seq_ptr, int S, int NH);

/* out (N or qs->out_ptr[S], C); att, drop (att_off[S]); drop may be NULL when p == 0. */
void attention_forward(float *out, float *att, float *drop, const float *qkv, const int32_t *seq_ptr,
                       const int64_t *att_off, const QuerySel *qs, int S, int C, int NH, float p, Rng *rng,
                       const AttnScratch *sc);
/* dout (rows as out). Writes dqkv (N, 3C), every row of every sequence. datt is scratch of the same size as att. */
void attention_backward(float *dqkv, float *datt, const float *dout, const float *att, const float *drop,
                        const float *qkv, const int32_t *seq_ptr, const int64_t *att_off, const QuerySel *qs, int S,
                        int C, int NH, const AttnScratch *sc);

#endif
