/* routing.h — capsule (dynamic) routing for multi-interest user towers, and
 * the layers that read one training vector out of a user's interests.
 *
 * Behaviour-to-interest routing (MIND, Li et al., CIKM 2019; ComiRec-DR, Cen
 * et al., KDD 2020). Row b of a batch owns the packed tokens
 * t = ptr[b] .. ptr[b+1) (its history, oldest first, no padding); p(t) =
 * t - ptr[b] is the token's position in the row. The prediction vector of
 * token t for interest k is uhat_tk, D floats: with sk = D, per-interest maps
 * (ComiRec-DR: uhat (T, K, D)); with sk = 0, one shared map (MIND: uhat
 * (T, D), read by every interest; its gradient sums over the interests). With n = nk[b]
 * interests in use (the others stay zero) and R = iters:
 *
 *   b_tk = b0[p(t), k]                        b0 (L, K); NULL: zeros
 *   for r = 0 .. R-1:
 *     w_tk = softmax_{k < n}(b_t.)             each behaviour spreads over the interests
 *     z_k  = sum_t w_tk uhat_tk
 *     u_k  = squash(z_k) = |z_k|^2 / (1 + |z_k|^2) z_k / |z_k|
 *     b_tk = b_tk + u_k . uhat_tk              (r < R-1)
 *   out_k = u_k of the last iteration
 *
 * Backward has two modes:
 *  - full (stop_grad 0): the exact gradient of the forward above, through
 *    every iteration's softmax and logit update (b0 is a constant);
 *  - stop_grad 1 (ComiRec's code): the last iteration's coupling weights w
 *    are constants; only z = sum_t w uhat and the squash are differentiated.
 *    A forward with `frozen` set skips the iterations and reuses the last w
 *    left in the buffers (same batch), so finite differences see exactly
 *    that objective. */
#ifndef CLT_ROUTING_H
#define CLT_ROUTING_H

#include <stdint.h>

#include "util/arena.h"

/* ---- squash (Sabour et al. 2017) -----------------------------------------
 * out (N, D) = |x|^2 / (1 + |x|^2) x / sqrt(|x|^2 + 1e-9) per row (ComiRec's
 * epsilon). Backward takes the forward input and accumulates dinp. */
void squash_forward(float *out, const float *inp, int64_t N, int D);
void squash_backward(float *dinp, const float *dout, const float *inp, int64_t N, int D);

/* Saved activations and scratch of one routing layer, planned for at most
 * max_tokens tokens and max_rows rows. Per-row layouts keep rows independent
 * (they run in parallel). */
typedef struct RoutingActs {
    float *b;        /* (T, K) routing logits */
    float *w;        /* (T, R, K) coupling weights of every iteration */
    float *z, *u;    /* (B, R, K, D) weighted sums and capsules of every iteration */
    float *gb, *dw;  /* (T, K) backward scratch: dL/db, dL/dw */
    float *du, *dz;  /* (B, K, D) backward scratch */
    int K, D, R;
} RoutingActs;

void routing_plan(RoutingActs *a, Arena *ar, int64_t max_tokens, int64_t max_rows, int K, int D, int iters);
/* out (B, K, D); nk (B) interests in use per row, NULL = K. */
void routing_forward(RoutingActs *a, float *out, const float *uhat, int64_t sk, const int32_t *ptr, int B,
                     const int32_t *nk, const float *b0, int frozen);
/* Accumulates duhat (same layout as uhat). */
void routing_backward(RoutingActs *a, float *duhat, const float *dout, const float *uhat, int64_t sk,
                      const int32_t *ptr, int B, const int32_t *nk, int stop_grad);

/* ---- position-wise bilinear maps (ComiRec-DR's W_ij) ----------------------
 * uhat (T, KD) = W[p(t)] x_t for token t:  W (L, KD, D), x (T, D), with
 * KD = K*D: one D x D map per (history position, interest). */
void posmap_forward(float *uhat, const float *x, const float *w, const int32_t *ptr, int B, int KD, int D);
void posmap_backward(float *dx, float *dw, const float *duhat, const float *x, const float *w, const int32_t *ptr,
                     int B, int KD, int D);

/* ---- label-aware attention (MIND) ------------------------------------------
 * q_b = sum_{k < n_b} a_bk c_bk,  a_b. = softmax_k(pw(c_bk . y_b)), with
 * pw(s) = sign(s) |s|^p: MIND's pow(s, p), kept monotone so that a non-integer
 * p is defined and a strongly negative match never gets the most weight
 * (p = 0: pw = 0, the mean of the interests). c (B, K, D) interests, y (B, D)
 * the target item vectors, a (B, K) saved (0 for unused slots). */
void label_attention_forward(float *q, float *a, const float *c, const float *y, const int32_t *nk, int B, int K,
                             int D, float p);
void label_attention_backward(float *dc, float *dy, const float *dq, const float *a, const float *c, const float *y,
                              const int32_t *nk, int B, int K, int D, float p);

/* ---- hard read-out (ComiRec) -------------------------------------------------
 * q_b = c_{b,sel_b}, sel_b = argmax_{k < n_b} c_bk . y_b (ties: lower k). The
 * choice is piecewise constant, so only the selected interest gets a gradient. */
void interest_select_forward(float *q, int32_t *sel, const float *c, const float *y, const int32_t *nk, int B, int K,
                             int D);
void interest_select_backward(float *dc, const float *dq, const int32_t *sel, int B, int K, int D);

#endif
