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
 * positive (-1 = row ignored), logq (M) or NULL. Returns the summed loss;
 * *count gets the number of counted rows. */
double sampled_softmax_forward(float *logits, const float *q, const float *c, const int32_t *target,
                               const float *logq, int64_t N, int M, int D, float inv_temp, int64_t *count);
/* probs (N, M) from the forward is overwritten with dlogits. Accumulates
 * dq (N, D) and dc (M, D) (either may be NULL). scale multiplies the gradient
 * (e.g. 1/count for a mean loss). */
void sampled_softmax_backward(float *dq, float *dc, float *probs, const float *q, const float *c,
                              const int32_t *target, int64_t N, int M, int D, float inv_temp, float scale);

#endif
