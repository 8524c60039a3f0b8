/* losses.h — retrieval losses built on the layers.
 *
 * Sampled softmax: each query row n (a user vector, or one sequence position)
 * is scored against M candidate item vectors (the batch's positives,
 * de-duplicated, plus optional extra negatives) and trained with softmax
 * cross-entropy towards its own positive column. logq[m], the log of the
 * expected number of times item m is drawn into the candidate set, is
 * subtracted from the logits (Yi et al. 2019, "Sampling-bias-corrected neural
 * modeling") so popular items are not over-penalized just for being sampled
 * often. With every item as a candidate and no correction it is the full
 * softmax; with the other view of the same batch as candidates it is InfoNCE. */
#ifndef CLT_LOSSES_H
#define CLT_LOSSES_H

#include <stdint.h>

/* logits (N, M) receives the probabilities (kept for backward).
 * q (N, D) queries, c (M, D) candidates, target (N) column of each row's
 * positive (-1 = row ignored), logq (M) or NULL, row_w (N) per-row loss
 * weights or NULL (all 1). Returns the weighted sum of row losses; *count
 * gets the number of counted rows. */
double sampled_softmax_forward(float *logits, const float *q, const float *c, const int32_t *target,
                               const float *logq, const float *row_w, int64_t N, int M, int D, float inv_temp,
                               int64_t *count);
/* probs (N, M) from the forward is overwritten with dlogits. Accumulates
 * dq (N, D) and dc (M, D) (either may be NULL). scale multiplies the gradient
 * (e.g. 1/count for a mean loss); row_w as in the forward. */
void sampled_softmax_backward(float *dq, float *dc, float *probs, const float *q, const float *c,
                              const int32_t *target, const float *row_w, int64_t N, int M, int D, float inv_temp,
                              float scale);
/* Forward and backward at once (what a training step needs), in blocks of
 * rows: logits is scratch of sampled_softmax_scratch(N, M, D) floats; dq, dc
 * accumulate as in the backward with scale; returns the forward's
 * (row_w-weighted, unscaled) loss sum. Far less memory traffic than the pair
 * above. */
int64_t sampled_softmax_scratch(int64_t N, int M, int D);
double sampled_softmax_forward_backward(float *dq, float *dc, float *logits, const float *q, const float *c,
                                        const int32_t *target, const float *logq, const float *row_w, int64_t N,
                                        int M, int D, float inv_temp, float scale);

/* Symmetric InfoNCE between two views z1, z2 (N, D) (already normalized if
 * cosine similarity is meant): row n of each view must pick row n of the
 * other among all N. Loss = sum_n w_n (CE(z1 z2^T / t)_n + CE(z2 z1^T / t)_n) / 2.
 * logits: sampled_softmax_scratch(N, N, D) floats of scratch. Accumulates dz1, dz2 with scale. Returns
 * the loss sum. */
double infonce_forward_backward(float *dz1, float *dz2, float *logits, const float *z1, const float *z2,
                                const int32_t *diag, const float *row_w, int64_t N, int D, float inv_temp,
                                float scale);

#endif
