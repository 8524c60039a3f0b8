#include "eval/evaluate.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "eval/exact.h"
#include "util/progress.h"
#include "util/timer.h"

int eval_max_k(const IntList *ks)
{
    int k = 1;
    for (int i = 0; i < ks->n; i++) k = MAX(k, ks->v[i]);
    return k;
}

typedef struct {
    Model *m;
    const Dataset *ds;
    const EvalSet *es;
    const EvalOptions *o;
    ExactTopK x; /* over the model's item vectors */
} EvalJob;

/* The seen items a block of users must not be recommended: each user's
 * history except its targets, sorted (CSR). The kernel asks tile by tile
 * (items begin .. end - 1), and a sorted list answers with a binary search. */
typedef struct {
    int32_t first;  /* EvalSet index of the block's first user */
    float score;    /* what an excluded item scores: -inf, or 0 for SEEN_ZERO */
    int64_t *off;   /* (nb + 1) */
    int32_t *items; /* (off[nb]) */
} Excluded;

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static Excluded excluded_build(const EvalJob *job, int32_t first, int nb)
{
    const EvalSet *es = job->es;
    float score = job->o->exclude_seen == SEEN_ZERO ? 0.0f : -INFINITY;
    Excluded e = {first, score, xmalloc((size_t)(nb + 1) * sizeof *e.off), NULL};
    e.off[0] = 0;
    for (int b = 0; b < nb; b++) e.off[b + 1] = e.off[b] + es->hist_len[first + b];
    e.items = xmalloc((size_t)e.off[nb] * sizeof *e.items);
    for (int b = 0; b < nb; b++) {
        int32_t idx = first + b, hist_len = es->hist_len[idx], tgt_end = es->tgt_end[idx];
        const int32_t *seq = ds_user_seq(job->ds, es->user[idx]);
        int32_t *list = e.items + e.off[b], n = 0;
        for (int32_t j = 0; j < hist_len; j++) {
            int is_target = 0;
            for (int32_t t = hist_len; t < tgt_end && !is_target; t++) is_target = seq[t] == seq[j];
            if (!is_target) list[n++] = seq[j];
        }
        qsort(list, (size_t)n, sizeof *list, cmp_i32);
        e.off[b + 1] = e.off[b] + n; /* packs the lists: this one may be shorter than its history */
    }
    return e;
}

/* ExactTopK.exclude: user = index into the EvalSet; sets the scores of the
 * user's excluded items within begin .. end - 1 to e->score. */
static void exclude_user(void *ctx, int64_t idx, float *scores, int32_t begin, int32_t end)
{
    const Excluded *e = ctx;
    const int32_t *it = e->items + e->off[idx - e->first], *last = e->items + e->off[idx - e->first + 1];
    for (ptrdiff_t len = last - it; len > 0;) { /* lower bound of begin */
        ptrdiff_t half = len / 2;
        if (it[half] < begin) it += half + 1, len -= half + 1;
        else len = half;
    }
    for (; it < last && *it < end; it++) scores[*it - begin] = e->score;
}

/* Users first .. first + nb - 1: their vectors in user-tower batches of bu
 * (the batches, and so the vectors' bits, do not depend on the thread count),
 * then one kernel call for all of them, so that every thread gets a full
 * group of score rows. */
static void eval_block(const EvalJob *job, int32_t first, int nb, int bu, float *U, ExactWork *w, ScoredItem *best,
                       Metrics *total, int32_t *ranked)
{
    Model *m = job->m;
    const EvalSet *es = job->es;
    int kmax = job->x.k;
    Hist *h = xmalloc((size_t)nb * sizeof *h);
    for (int b = 0; b < nb; b++)
        h[b] = (Hist){ds_user_seq(job->ds, es->user[first + b]), es->hist_len[first + b], es->user[first + b]};
    for (int b = 0; b < nb; b += bu)
        m->cls->user_vectors(m, h + b, MIN(bu, nb - b), U + (int64_t)b * job->x.n_int * m->dim);
    free(h);
    ExactTopK x = job->x;
    Excluded e = {0};
    if (x.exclude) e = excluded_build(job, first, nb), x.ctx = &e;
    exact_topk_block(&x, U, first, nb, w, best);
    free(e.off), free(e.items);
    int32_t *ids = xmalloc((size_t)kmax * sizeof *ids);
    /* Summed in user order, not per thread as threads finish: floating-point
     * addition is not associative, and metrics (and so early stopping) must
     * not depend on thread scheduling or the number of threads. */
    for (int b = 0; b < nb; b++) {
        int32_t idx = first + b;
        int n = 0;
        while (n < kmax && best[(int64_t)b * kmax + n].item >= 0) ids[n] = best[(int64_t)b * kmax + n].item, n++;
        const int32_t *seq = ds_user_seq(job->ds, es->user[idx]);
        Metrics mu;
        metrics_init(&mu, &job->o->ks);
        metrics_add_user(&mu, ids, n, seq + es->hist_len[idx], es->tgt_end[idx] - es->hist_len[idx]);
        metrics_merge(total, &mu);
        if (ranked)
            for (int j = 0; j < kmax; j++) ranked[(int64_t)idx * kmax + j] = j < n ? ids[j] : -1;
    }
    free(ids);
}

/* Buffers kept from one evaluation to the next (training evaluates every
 * epoch): re-allocating the item vectors (80 MB for Books) each time costs a
 * page fault per 4 KB. The kernel's workspace, a few MB per thread, is made
 * per evaluation. */
static struct {
    float *items, *U;
    size_t n_items, n_u;
} g_ws;

static float *ws_get(float **p, size_t *cap, size_t n)
{
    if (n > *cap) {
        free(*p);
        *p = xalloc_floats(n);
        *cap = n;
    }
    return *p;
}

void evaluate(Model *m, const Dataset *ds, const EvalSet *es, const EvalOptions *o, Metrics *out, int32_t *ranked,
              double *seconds)
{
    double t0 = now_seconds();
    int32_t n_items = m->cat->n_items;
    int n_int = m->n_interests;
    float *items = ws_get(&g_ws.items, &g_ws.n_items, (size_t)n_items * m->dim);
    m->cls->item_vectors(m, items);
    EvalJob job = {m, ds, es, o, {items, n_items, m->dim, n_int, eval_max_k(&o->ks), NULL, NULL}};
    if (o->exclude_seen) job.x.exclude = exclude_user; /* ctx: each block's Excluded */
    int bu = exact_block_users(n_items, n_int), cu = exact_call_users(n_items, n_int);
    float *U = ws_get(&g_ws.U, &g_ws.n_u, (size_t)cu * n_int * m->dim);
    ExactWork *w = exact_work_new(&job.x, cu);
    ScoredItem *best = xmalloc((size_t)cu * job.x.k * sizeof *best);
    metrics_init(out, &o->ks);
    Progress p;
    progress_begin(&p, o->label ? o->label : "eval", es->n, "users", o->quiet);
    for (int32_t first = 0; first < es->n; first += cu) {
        int nb = (int)MIN((int32_t)cu, es->n - first);
        eval_block(&job, first, nb, bu, U, w, best, out, ranked);
        progress_add(&p, nb);
    }
    free(best);
    exact_work_free(w);
    if (!o->quiet && es->n > 20000) progress_end(&p);
    metrics_finish(out);
    if (seconds) *seconds = now_seconds() - t0;
}
