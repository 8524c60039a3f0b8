/* exact.h — exact top-k retrieval on plain float buffers.
 *
 * Every user vector is scored against every item vector: a block of users
 * times all items in one sgemm, then per user (OpenMP, the caller's thread
 * count) an optional exclusion and an exact top-k selection (eval/topk.h), the
 * per-interest lists of multi-interest users merged (topk_merge). This is
 * evaluation's scoring kernel (eval/evaluate.c computes user vectors block by
 * block and calls exact_topk_block); exact_topk runs it over a whole matrix of
 * user vectors (bench/eval_vs_faiss.c). */
#ifndef CLT_EXACT_H
#define CLT_EXACT_H

#include <stdint.h>

#include "eval/topk.h"

typedef struct ExactTopK {
    const float *items; /* (n_items, dim) */
    int32_t n_items;
    int dim;
    int n_int; /* vectors per user (multi-interest models), 1 otherwise */
    int k;
    /* Optional, called (in parallel) on each score row (n_items) of a user
     * before selection: sets the scores of items that must not be ranked to
     * -inf. `user` counts from the first user of the whole run (`first`). */
    void (*exclude)(void *ctx, int64_t user, float *row);
    void *ctx;
} ExactTopK;

/* Users per block: the score block (users x interests x items floats) stays
 * under ~256 MB so that Books-size catalogues fit next to the model. */
int exact_block_users(int32_t n_items, int n_int);

/* Users first .. first + nb - 1: U (nb * n_int, dim), the block's user b in
 * rows b * n_int ..; nb at most exact_block_users(). scores (nb * n_int,
 * n_items) is workspace. out (nb, k): each user's best items, best first,
 * padded with {-inf, -1}. */
void exact_topk_block(const ExactTopK *x, const float *U, int64_t first, int nb, float *scores, ScoredItem *out);

/* The same for all n_users users of U (n_users * n_int, dim), block by block,
 * into out (n_users, k). scores: workspace of exact_block_users() * n_int *
 * n_items floats (kept by callers that rank repeatedly: a fresh 256 MB costs a
 * page fault per 4 KB), or NULL to allocate one for this call. */
void exact_topk(const ExactTopK *x, const float *U, int64_t n_users, float *scores, ScoredItem *out);

#endif
