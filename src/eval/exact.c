#include "eval/exact.h"

#include <math.h>
#include <stdlib.h>

#include "nn/layers.h"
#include "util/common.h"

int exact_block_users(int32_t n_items, int n_int)
{
    int64_t cap = (256LL << 20) / 4 / ((int64_t)n_items * n_int);
    return (int)MAX(1, MIN(cap, 128));
}

static void pad(ScoredItem *list, int from, int k)
{
    for (int j = from; j < k; j++) list[j] = (ScoredItem){-INFINITY, -1};
}

void exact_topk_block(const ExactTopK *x, const float *U, int64_t first, int nb, float *scores, ScoredItem *out)
{
    int k = x->k, n_int = x->n_int;
    int32_t n_items = x->n_items;
    matmul_nt(scores, U, x->items, (int64_t)nb * n_int, n_items, x->dim, 1.0f, 0.0f);
#pragma omp parallel
    {
        /* Per-interest lists and merge space (multi-interest users only). */
        ScoredItem *lists = n_int > 1 ? xmalloc((size_t)n_int * k * sizeof *lists) : NULL;
        ScoredItem *work = n_int > 1 ? xmalloc((size_t)n_int * k * sizeof *work) : NULL;
#pragma omp for schedule(dynamic, 8)
        for (int b = 0; b < nb; b++) {
            ScoredItem *best = out + (int64_t)b * k;
            for (int q = 0; q < n_int; q++) {
                float *row = scores + ((int64_t)b * n_int + q) * n_items;
                if (x->exclude) x->exclude(x->ctx, first + b, row);
                ScoredItem *list = n_int > 1 ? lists + q * k : best;
                pad(list, topk_select(row, n_items, k, list), k);
            }
            if (n_int > 1) pad(best, topk_merge(lists, n_int, k, work, best), k);
        }
        free(lists), free(work);
    }
}

void exact_topk(const ExactTopK *x, const float *U, int64_t n_users, float *scores, ScoredItem *out)
{
    int bu = exact_block_users(x->n_items, x->n_int);
    float *own = scores ? NULL : xalloc_floats((size_t)MIN(n_users, bu) * x->n_int * x->n_items);
    for (int64_t first = 0; first < n_users; first += bu) {
        int nb = (int)MIN((int64_t)bu, n_users - first);
        exact_topk_block(x, U + first * x->n_int * x->dim, first, nb, scores ? scores : own, out + first * x->k);
    }
    free(own);
}
