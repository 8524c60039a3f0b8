/* selfatt.h — multi-interest self-attentive pooling (ComiRec-SA, Cen et al.,
 * KDD 2020; the structured self-attention of Lin et al., ICLR 2017) over
 * packed variable-length histories.
 *
 * Row b of a batch owns the tokens t = ptr[b] .. ptr[b+1) (oldest first, no
 * padding); p(t) = t - ptr[b] is a token's position in its row, counted from
 * the oldest item of the window as in ComiRec's code. With x_t (D) the item
 * vectors:
 *
 *   h_t  = tanh(W1 (x_t + P[p(t)]) + b1)          W1 (da, D), P (L, D) learned positions
 *   A_tk = softmax over the row's tokens t of (W2 h_t)_k     W2 (K, da)
 *   v_bk = sum_t A_tk x_t                          interests (B, K, D)
 *
 * Positions enter the attention only; the interests pool the item vectors
 * themselves (ComiRec's code). ComiRec's second dense layer also has a bias:
 * a constant over a row's tokens cancels in the softmax, so it is left out.
 * An empty row gives zero interests. */
#ifndef CLT_SELFATT_H
#define CLT_SELFATT_H

#include "nn/params.h"
#include "util/arena.h"

typedef struct SelfAttPool {
    int w1, b1, w2, pos;  /* parameter indices; pos -1: no position embeddings */
    int D, da, K, L;
} SelfAttPool;

typedef struct SelfAttActs {
    float *xa;            /* (T, D) attention input x + P */
    float *h;             /* (T, da) tanh layer */
    float *a;             /* (T, K) attention weights */
    float *dxa, *dh, *ds; /* backward scratch, same shapes */
} SelfAttActs;

/* max_len L > 0 declares position embeddings (normal, pos_std); 0: none. */
void selfatt_declare(SelfAttPool *s, ParamStore *ps, const char *prefix, int D, int da, int K, int max_len,
                     float pos_std);
void selfatt_plan(const SelfAttPool *s, SelfAttActs *a, Arena *ar, int64_t max_tokens);
/* out (B, K, D) from x (T, D), T = ptr[B]. */
void selfatt_forward(const SelfAttPool *s, ParamStore *ps, SelfAttActs *a, float *out, const float *x,
                     const int32_t *ptr, int B);
/* Accumulates the parameter gradients and dx (T, D) (dx may be NULL). */
void selfatt_backward(const SelfAttPool *s, ParamStore *ps, SelfAttActs *a, float *dx, const float *dout,
                      const float *x, const int32_t *ptr, int B);

#endif
