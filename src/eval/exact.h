/* exact.h — exact top-k retrieval on plain float buffers.
 *
 * Every user vector is scored against every item vector, tile by tile: the
 * users of a call are split into groups (in parallel, OpenMP), and each group
 * walks the items in tiles of EXACT_TILE_ITEMS, one sgemm per tile into a
 * score tile that stays in the core's L2, then per score row an optional
 * exclusion and a running exact top-k selection (eval/topk.h: threshold and
 * candidates carried from tile to tile), the per-interest lists of
 * multi-interest users merged at the end (topk_merge). Untiled, a 128-user
 * block against a 314k-item catalogue wrote 160 MB of scores and read them
 * back from DRAM. This is evaluation's scoring kernel (eval/evaluate.c
 * computes user vectors batch by batch and calls exact_topk_block);
 * exact_topk runs it over a whole matrix of user vectors
 * (bench/eval_vs_faiss.c). */
#ifndef CLT_EXACT_H
#define CLT_EXACT_H

#include <stdint.h>

#include "eval/topk.h"

/* Items per tile (the last tile takes the remainder, up to twice as many):
 * a group's 128 rows of 1280 scores (640 KB) stay in a 1 MB L2 next to the
 * packed item tile sgemm reads (2048 measured 8% slower at 314k items). More
 * than 1200: see SMALL_GEMM in exact.c. */
enum { EXACT_TILE_ITEMS = 1280 };

typedef struct ExactTopK {
    const float *items; /* (n_items, dim) */
    int32_t n_items;
    int dim;
    int n_int; /* vectors per user (multi-interest models), 1 otherwise */
    int k;
    /* Optional, called (in parallel) on each tile of each score row of a user
     * before selection: scores[0 .. end - begin) are the row's scores of items
     * begin .. end - 1; it sets those of items that must not be ranked to
     * -inf (or, to reproduce other code's evaluation, to another value).
     * `user` counts from the first user of the whole run (`first`). */
    void (*exclude)(void *ctx, int64_t user, float *scores, int32_t begin, int32_t end);
    void *ctx;
} ExactTopK;

/* Users per user-tower batch of evaluate.c: at most 128, fewer when n_items *
 * n_int exceeds ~500k (the bound once kept an untiled score block under 256
 * MB; unchanged so that the user tower's batches, and so its floating-point
 * results, stay the same). */
int exact_block_users(int32_t n_items, int n_int);
/* Users per exact_topk_block call that give every thread a full group of
 * score rows: exact_block_users() per OpenMP thread. */
int exact_call_users(int32_t n_items, int n_int);

/* Workspace of exact_topk_block for x's n_items, n_int and k, calls of up to
 * max_users users and the current OpenMP thread count (omp_get_max_threads();
 * later calls use at most that many threads): per thread one score tile, the
 * rows' scores of a row sample and their selection state; 2-4 MB per thread
 * at k = 50 (12k to 314k items). */
typedef struct ExactWork ExactWork;
ExactWork *exact_work_new(const ExactTopK *x, int max_users);
void exact_work_free(ExactWork *w);

/* Users first .. first + nb - 1: U (nb * n_int, dim), user b in rows
 * b * n_int ..; nb at most w's max_users. out (nb, k): each user's best
 * items, best first, padded with {-inf, -1}. */
void exact_topk_block(const ExactTopK *x, const float *U, int64_t first, int nb, ExactWork *w, ScoredItem *out);

/* The same for all n_users users of U (n_users * n_int, dim), in calls of w's
 * max_users users, into out (n_users, k). w: a workspace (e.g. for
 * exact_call_users() users), or NULL to make one for this call. */
void exact_topk(const ExactTopK *x, const float *U, int64_t n_users, ExactWork *w, ScoredItem *out);

#endif
