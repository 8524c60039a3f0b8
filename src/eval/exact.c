#include "eval/exact.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "nn/layers.h"
#include "util/common.h"

/* Score rows per group at most. sgemm's throughput grows with the rows that
 * share each packed item tile (at dim 64, 1 thread: 37, 60, 75, 91 GFLOP/s
 * for 32, 64, 128, 256 rows); 128 rows x 1280 items (640 KB) and the packed
 * item tile (320 KB) still about fit the 1 MB L2 where the selection reads
 * the scores back. */
enum { GROUP_ROWS = 128 };

/* Candidate buffer entries (all rows of a group) at most: bounds the
 * workspace when k is huge by taking fewer rows per group. */
enum { GROUP_SLOTS = 1 << 22 };

/* OpenBLAS (0.3.21, SkylakeX) sends products with M * N <= 1200 to a
 * small-matrix kernel that rounds differently from the blocked kernel, which
 * gives every score the same bits whatever the shape of the product holding
 * it. Tiles are at least EXACT_TILE_ITEMS > SMALL_GEMM wide, so every tile's
 * product takes the blocked kernel, as the untiled product of a block of
 * users against all items did: each score, and so each ranking, is bit for
 * bit the untiled kernel's (group_users covers catalogues of one tile).
 * OpenBLAS's Haswell kernel (AMD EPYC) does not promise that: there a tiled
 * score may differ from the untiled one in the last bits (~1e-6 relative),
 * which can only reorder near ties. */
enum { SMALL_GEMM = 1200 };
_Static_assert((int)EXACT_TILE_ITEMS > (int)SMALL_GEMM, "a one-row tile product must take the blocked kernel");

typedef struct {
    float *tile;               /* (rows, width <= 2 * EXACT_TILE_ITEMS - 1) */
    float *sample;             /* (rows, ns): scores of the row samples */
    TopkRun *runs;             /* (rows) */
    ScoredItem *slots;         /* (rows, cap + TOPK_BLOCK): the runs' buffers */
    ScoredItem *lists, *merge; /* (n_int, k) each: multi-interest merging */
} Space;

struct ExactWork {
    int32_t n_items; /* sized for these */
    int n_int, k, threads, max_users;
    int rows, cap;       /* score rows per group at most, candidate buffer per row */
    int32_t stride, ns;  /* row sample: items 0, stride, ... (ns of them) */
    float *sample_items; /* (ns, dim): their vectors, gathered per call */
    Space *space;        /* one per thread */
};

int exact_block_users(int32_t n_items, int n_int)
{
    int64_t cap = (256LL << 20) / 4 / ((int64_t)n_items * n_int);
    return (int)MAX(1, MIN(cap, 128));
}

int exact_call_users(int32_t n_items, int n_int)
{
    return exact_block_users(n_items, n_int) * omp_get_max_threads();
}

/* Tiles of EXACT_TILE_ITEMS items; the last one also takes the remainder, so
 * that no tile is narrower than min(n_items, EXACT_TILE_ITEMS) (SMALL_GEMM). */
static int32_t tile_count(int32_t n_items)
{
    return n_items == 0 ? 0 : MAX(1, n_items / EXACT_TILE_ITEMS);
}

/* 4k + 256: a row guessed from its sample takes ~4k candidates, so one
 * quickselect at the end. Never more than the row's items: no compaction
 * then, and a bound on the buffer for huge k. */
static int buffer_cap(const ExactTopK *x)
{
    return (int)MIN((int64_t)4 * x->k + 256, (int64_t)x->n_items + 1);
}

/* Users per group in a call of nb users: one group per thread, of at most
 * GROUP_ROWS score rows (fewer for huge k). A catalogue of one tile is ranked
 * in the untiled kernel's blocks instead (the call starting at one of them):
 * its products are narrow enough for the small-matrix kernel (SMALL_GEMM),
 * so each must keep the untiled product's shape. */
static int group_users(const ExactTopK *x, int nb, int threads)
{
    if (tile_count(x->n_items) <= 1) return MIN(nb, exact_block_users(x->n_items, x->n_int));
    int per_thread = (nb + threads - 1) / threads;
    int rows = MIN(GROUP_ROWS, GROUP_SLOTS / (buffer_cap(x) + TOPK_BLOCK));
    return MAX(1, MIN(per_thread, rows / x->n_int));
}

static void pad(ScoredItem *list, int from, int k)
{
    for (int j = from; j < k; j++) list[j] = (ScoredItem){-INFINITY, -1};
}

/* Scores `rows` rows of U (users first ..) against tile t into `tile`, clears
 * the excluded items and feeds each row's scores to its run while they are
 * still in L2. The sgemm runs single-threaded inside the caller's parallel
 * region. */
static void run_tile(const ExactTopK *x, const float *U, int rows, int64_t first, int32_t t, float *tile,
                     TopkRun *runs)
{
    int32_t nt = tile_count(x->n_items), begin = t * EXACT_TILE_ITEMS;
    int32_t end = t == nt - 1 ? x->n_items : begin + EXACT_TILE_ITEMS, width = end - begin;
    matmul_nt(tile, U, x->items + (int64_t)begin * x->dim, rows, width, x->dim, 1.0f, 0.0f);
    for (int r = 0; r < rows; r++) {
        float *row = tile + (int64_t)r * width;
        if (x->exclude) x->exclude(x->ctx, first + r / x->n_int, row, begin, end);
        topk_run_add(&runs[r], row, width, begin);
    }
}

/* Row `row` of the group (U: the group's rows) again, without the row-wide
 * guess, which proved too high. Rare: with exclusions emptying the row's top,
 * or fewer than k finite scores. Guesses are only made for catalogues of
 * several tiles, so one row times a tile is still > SMALL_GEMM. */
static int rerun_row(const ExactTopK *x, const float *U, int64_t first, int row, Space *s, ScoredItem *list)
{
    TopkRun *run = &s->runs[row];
    topk_run_init(run, run->buf, run->cap, run->k);
    for (int32_t t = 0; t < tile_count(x->n_items); t++)
        run_tile(x, U + (int64_t)row * x->dim, 1, first + row / x->n_int, t, s->tile, run);
    return topk_run_finish(run, list);
}

/* User b's final list from its rows' runs (merged over interests). */
static void finish_user(const ExactTopK *x, const float *U, int64_t first, int b, Space *s, ScoredItem *best)
{
    int k = x->k, n_int = x->n_int;
    for (int q = 0; q < n_int; q++) {
        int row = b * n_int + q;
        ScoredItem *list = n_int > 1 ? s->lists + q * k : best;
        int m = topk_run_finish(&s->runs[row], list);
        if (m < 0) m = rerun_row(x, U, first, row, s, list);
        pad(list, m, k);
    }
    if (n_int > 1) pad(best, topk_merge(s->lists, n_int, k, s->merge, best), k);
}

/* Users first .. first + nu - 1 (U: their nu * n_int rows) against every
 * item: each row's first threshold guessed from its scores of the row sample
 * (a tile's own sample would let ~k ln(tiles) items of the later tiles into
 * the buffer instead of ~4k), then tile by tile. */
static void rank_group(const ExactTopK *x, const ExactWork *w, const float *U, int64_t first, int nu, Space *s,
                       ScoredItem *out)
{
    int rows = nu * x->n_int;
    for (int r = 0; r < rows; r++)
        topk_run_init(&s->runs[r], s->slots + (int64_t)r * (w->cap + TOPK_BLOCK), w->cap, x->k);
    if (tile_count(x->n_items) > 1) {
        matmul_nt(s->sample, U, w->sample_items, rows, w->ns, x->dim, 1.0f, 0.0f);
        for (int r = 0; r < rows; r++)
            topk_run_guess(&s->runs[r], topk_sample_guess(s->sample + (int64_t)r * w->ns, w->ns, w->stride, x->k));
    }
    for (int32_t t = 0; t < tile_count(x->n_items); t++) run_tile(x, U, rows, first, t, s->tile, s->runs);
    for (int b = 0; b < nu; b++) finish_user(x, U, first, b, s, out + (int64_t)b * x->k);
}

ExactWork *exact_work_new(const ExactTopK *x, int max_users)
{
    ExactWork *w = xmalloc(sizeof *w);
    w->n_items = x->n_items, w->n_int = x->n_int, w->k = x->k;
    w->threads = omp_get_max_threads(), w->max_users = MAX(max_users, 1);
    w->rows = x->n_int * group_users(x, w->max_users, 1); /* the most: one thread */
    w->cap = buffer_cap(x);
    w->stride = topk_sample_stride(x->n_items), w->ns = x->n_items / w->stride;
    w->sample_items = xalloc_floats((size_t)MAX(w->ns, 1) * x->dim);
    int64_t tile = (int64_t)w->rows * MIN(x->n_items, 2 * EXACT_TILE_ITEMS - 1);
    w->space = xmalloc((size_t)w->threads * sizeof *w->space);
    for (int t = 0; t < w->threads; t++) {
        Space *s = &w->space[t];
        s->tile = xalloc_floats((size_t)MAX(tile, 1));
        s->sample = xalloc_floats((size_t)w->rows * MAX(w->ns, 1));
        s->runs = xmalloc((size_t)w->rows * sizeof *s->runs);
        s->slots = xmalloc((size_t)w->rows * (w->cap + TOPK_BLOCK) * sizeof *s->slots);
        s->lists = xmalloc((size_t)x->n_int * x->k * sizeof *s->lists);
        s->merge = xmalloc((size_t)x->n_int * x->k * sizeof *s->merge);
    }
    return w;
}

void exact_work_free(ExactWork *w)
{
    if (!w) return;
    for (int t = 0; t < w->threads; t++) {
        Space *s = &w->space[t];
        free(s->tile), free(s->sample), free(s->runs), free(s->slots), free(s->lists), free(s->merge);
    }
    free(w->sample_items), free(w->space), free(w);
}

/* The row sample's item vectors, once per call: the caller may have changed
 * the items (evaluate reuses its buffer from epoch to epoch). */
static void gather_sample(const ExactTopK *x, ExactWork *w)
{
    if (tile_count(x->n_items) <= 1) return; /* no row guesses */
    for (int32_t q = 0; q < w->ns; q++)
        for (int c = 0; c < x->dim; c++)
            w->sample_items[(int64_t)q * x->dim + c] = x->items[(int64_t)q * w->stride * x->dim + c];
}

void exact_topk_block(const ExactTopK *x, const float *U, int64_t first, int nb, ExactWork *w, ScoredItem *out)
{
    if (x->n_items != w->n_items || x->n_int != w->n_int || x->k != w->k || nb > w->max_users)
        die("exact_topk_block: workspace made for another shape");
    if (nb <= 0) return;
    int threads = MIN(w->threads, omp_get_max_threads());
    int gu = group_users(x, nb, threads), ng = (nb + gu - 1) / gu;
    gather_sample(x, w);
    /* One group alone (a small block): no parallel region, so its sgemm may
     * use every thread. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (ng > 1)
    for (int g = 0; g < ng; g++) {
        int b = g * gu;
        rank_group(x, w, U + (int64_t)b * x->n_int * x->dim, first + b, MIN(gu, nb - b),
                   &w->space[omp_get_thread_num()], out + (int64_t)b * x->k);
    }
}

void exact_topk(const ExactTopK *x, const float *U, int64_t n_users, ExactWork *w, ScoredItem *out)
{
    ExactWork *own = w ? NULL : exact_work_new(x, (int)MIN(n_users, exact_call_users(x->n_items, x->n_int)));
    int bu = (w ? w : own)->max_users;
    for (int64_t first = 0; first < n_users; first += bu) {
        int nb = (int)MIN((int64_t)bu, n_users - first);
        exact_topk_block(x, U + first * x->n_int * x->dim, first, nb, w ? w : own, out + first * x->k);
    }
    exact_work_free(own);
}
