/* layers.h — the basic layers, each a _forward/_backward pair (llm.c style).
 *
 * Conventions, everywhere in nn/:
 * - float32, row-major, shapes in the comments: (N, C) is N rows of C.
 * - Backward functions ACCUMULATE (+=) into every gradient they produce, both
 *   parameter gradients and input gradients, so residual connections and
 *   shared inputs need no extra code; callers zero buffers when they mean it.
 *   A NULL gradient pointer means "not needed".
 * - No allocation: callers pass every buffer (planned once per batch shape).
 * - Large element-wise loops use OpenMP; matrix products use OpenBLAS sgemm. */
#ifndef CLT_LAYERS_H
#define CLT_LAYERS_H

#include <stdint.h>

#include "nn/params.h"
#include "util/rng.h"

/* ---- threaded helpers for large buffers ----------------------------------
 * Serial, such passes left the second core idle. p[0..n) = 0; dst += src; out = a * b;
 * out[c] += sum_n x[n, c], each column summed in row order (the same bits at
 * any thread count). */
void vec_zero(float *p, int64_t n);
void vec_add(float *dst, const float *src, int64_t n);
void vec_mul(float *out, const float *a, const float *b, int64_t n);
void colsum_add(float *out, const float *x, int64_t N, int C);

/* ---- matrix products (thin sgemm wrappers, row-major) ------------------- */
/* FLOPs and wall time of the products below called outside parallel regions,
 * since the process started (the training log's GEMM rate per epoch). */
typedef struct {
    double flops, seconds;
    int64_t calls;
} GemmTally;
GemmTally gemm_tally(void);
/* C (M,N) = alpha * A (M,K) @ B^T (N,K) + beta * C */
void matmul_nt(float *c, const float *a, const float *b, int64_t M, int64_t N, int64_t K, float alpha, float beta);
/* C (M,N) = alpha * A (M,K) @ B (K,N) + beta * C */
void matmul_nn(float *c, const float *a, const float *b, int64_t M, int64_t N, int64_t K, float alpha, float beta);
/* C (M,N) = alpha * A^T (K,M)^T @ B (K,N) + beta * C */
void matmul_tn(float *c, const float *a, const float *b, int64_t M, int64_t N, int64_t K, float alpha, float beta);

/* ---- embedding lookup ---------------------------------------------------
 * out (N, D) = table[ids]; id -1 is padding and gives a zero row. Backward
 * scatters into dtable (V, D) and records touched rows in `rows` (may be NULL). */
void embedding_forward(float *out, const float *table, const int32_t *ids, int64_t N, int D);
void embedding_backward(float *dtable, RowSet *rows, const float *dout, const int32_t *ids, int64_t N, int D);

/* ---- embedding bag (mean) -----------------------------------------------
 * out[n] (D) = mean of table rows ids[ptr[b] .. ptr[b+1]) with bag b = bag[n]
 * (bag NULL: b = n; b = -1 or an empty bag: zeros). The indirection lets the
 * feature lists of a catalogue (CSR per item) serve any batch of items
 * directly: bag = the batch's item ids. Used for multi-valued item features. */
void embedding_bag_forward(float *out, const float *table, const int32_t *ptr, const int32_t *ids,
                           const int32_t *bag, int64_t N, int D);
void embedding_bag_backward(float *dtable, RowSet *rows, const float *dout, const int32_t *ptr, const int32_t *ids,
                            const int32_t *bag, int64_t N, int D);

/* ---- linear -------------------------------------------------------------
 * out (N, OC) = inp (N, C) @ w^T (OC, C) + b (OC); b may be NULL. */
void linear_forward(float *out, const float *inp, const float *w, const float *b, int64_t N, int C, int OC);
void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w, int64_t N,
                     int C, int OC);
/* The same with dinp written (=), not accumulated: a fresh buffer then needs
 * no zeroing pass. (Last bits can differ from zeroing first: OpenBLAS has
 * separate beta = 0 kernels for small products.) */
void linear_backward_set(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                         int64_t N, int C, int OC);

/* ---- activations --------------------------------------------------------
 * Backward takes the forward input. GELU is the tanh approximation
 * (PyTorch nn.GELU(approximate="tanh")). */
void relu_forward(float *out, const float *inp, int64_t n);
void relu_backward(float *dinp, const float *dout, const float *inp, int64_t n);
void gelu_forward(float *out, const float *inp, int64_t n);
void gelu_backward(float *dinp, const float *dout, const float *inp, int64_t n);
/* gelu_forward that also keeps th (n) = the tanh inside, for the backward. */
void gelu_forward_keep(float *out, float *th, const float *inp, int64_t n);
/* d = gelu'(inp) * d, in place: the exception to "backward accumulates", for
 * callers whose dout buffer is dead afterwards (saves zeroing a dinp buffer
 * of N x hidden floats: the FFN and MLP backward). th: from
 * gelu_forward_keep, or NULL to recompute it. */
void gelu_backward_inplace(float *d, const float *inp, const float *th, int64_t n);
/* out = 2 * sigmoid(inp): the PEPNet gate, centred on 1 (identity at init). */
void gate2_forward(float *out, const float *inp, int64_t n);
void gate2_backward(float *dinp, const float *dout, const float *out, int64_t n);

/* ---- causal cumulative mean over packed sequences ----------------------
 * out[t] = mean of inp rows seq_ptr[s] .. t for token t of sequence s: a
 * history summary at every position that never looks ahead (used by the
 * personalized gates and the augmented-vector generator). */
void cummean_forward(float *out, const float *inp, const int32_t *seq_ptr, int S, int C);
void cummean_backward(float *dinp, const float *dout, const int32_t *seq_ptr, int S, int C);

/* ---- layer normalization ------------------------------------------------
 * out (N, C) = (inp - mean) * rstd * w + b; mean, rstd (N) are saved for backward. */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                       int64_t N, int C);
void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                        const float *mean, const float *rstd, int64_t N, int C);
/* dinp written, not accumulated (as linear_backward_set) */
void layernorm_backward_set(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                            const float *mean, const float *rstd, int64_t N, int C);

/* ---- dropout (inverted) -------------------------------------------------
 * mask (n) holds 0 or 1/(1-p); p = 0 copies. dropout_mask only draws a mask
 * (p > 0); masks are a hash of one draw from rng and the element index. */
void dropout_mask(float *mask, int64_t n, float p, Rng *rng);
void dropout_forward(float *out, float *mask, const float *inp, int64_t n, float p, Rng *rng);
void dropout_backward(float *dinp, const float *dout, const float *mask, int64_t n);

/* ---- L2 normalization of rows -------------------------------------------
 * out (N, D) = inp / max(||inp||, eps); norm (N) saved for backward. */
void l2norm_forward(float *out, float *norm, const float *inp, int64_t N, int D);
void l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, int64_t N, int D);

/* ---- softmax cross-entropy ----------------------------------------------
 * logits (N, C) are overwritten with probabilities. Rows with target -1 are
 * ignored. Returns the summed loss of the counted rows; *count gets their number.
 * Backward: dlogits = (probs - onehot) * scale (probs taken from the forward). */
double softmax_xent_forward(float *logits, const int32_t *targets, int64_t N, int C, int64_t *count);
void softmax_xent_backward(float *dlogits, const float *probs, const int32_t *targets, int64_t N, int C, float scale);
/* The row work of the fused sampled softmax: counted rows of logits become
 * e = exp(z - max z), unnormalized; f[n] = scale * row_w[n] / sum_c e (row_w
 * NULL: 1; ignored rows: f = 0, row untouched), so dlogits = f e - scale
 * row_w onehot. Returns sum_n row_w[n] * loss_n (unscaled). */
double softmax_xent_exp_rows(float *logits, float *f, const int32_t *targets, const float *row_w, int64_t N, int C,
                             float scale);

/* ---- binary cross-entropy with logits -----------------------------------
 * loss = sum over counted elements of -[y log s(x) + (1-y) log(1-s(x))],
 * weight (n) 0 skips an element (NULL = all count). */
double bce_forward(const float *logits, const float *labels, const float *weight, int64_t n);
void bce_backward(float *dlogits, const float *logits, const float *labels, const float *weight, int64_t n,
                  float scale);

/* ---- mean squared error, for the adaptive-mimic loss --------------------
 * loss = sum_n w_n * ||a_n - t_n||^2 (t is a constant: stop-gradient). */
double mse_forward(const float *a, const float *t, const float *weight, int64_t N, int D);
void mse_backward(float *da, const float *a, const float *t, const float *weight, int64_t N, int D, float scale);

#endif
