#include "eval/evaluate.h"

#include <math.h>

#include "eval/exact.h"
#include "util/progress.h"
#include "util/timer.h"

int eval_max_k(const IntList *ks)
{
    int k = 1;
    for (int i = 0; i < ks->n; i++) k = MAX(k, ks->v[i]);
    return k;
}

/* Sets the scores of seen items to -inf, except items that are targets. */
static void exclude_history(float *row, const int32_t *seq, int32_t hist_len, int32_t tgt_end)
{
    for (int32_t j = 0; j < hist_len; j++) {
        int32_t it = seq[j], is_target = 0;
        for (int32_t t = hist_len; t < tgt_end && !is_target; t++) is_target = seq[t] == it;
        if (!is_target) row[it] = -INFINITY;
    }
}

typedef struct {
    Model *m;
    const Dataset *ds;
    const EvalSet *es;
    const EvalOptions *o;
    ExactTopK x; /* over the model's item vectors */
} EvalJob;

/* ExactTopK.exclude: user = index into the EvalSet. */
static void exclude_user(void *ctx, int64_t idx, float *row)
{
    const EvalJob *job = ctx;
    const EvalSet *es = job->es;
    exclude_history(row, ds_user_seq(job->ds, es->user[idx]), es->hist_len[idx], es->tgt_end[idx]);
}

static void eval_block(const EvalJob *job, int32_t first, int nb, float *U, float *scores, ScoredItem *best,
                       Metrics *total, int32_t *ranked)
{
    Model *m = job->m;
    const EvalSet *es = job->es;
    int kmax = job->x.k;
    Hist *h = xmalloc((size_t)nb * sizeof *h);
    for (int b = 0; b < nb; b++)
        h[b] = (Hist){ds_user_seq(job->ds, es->user[first + b]), es->hist_len[first + b], es->user[first + b]};
    m->cls->user_vectors(m, h, nb, U);
    free(h);
    exact_topk_block(&job->x, U, first, nb, scores, best);
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
 * epoch): re-allocating ~50-250 MB each time costs a page fault per 4 KB. */
static struct {
    float *items, *U, *scores;
    size_t n_items, n_u, n_scores;
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
    if (o->exclude_seen) job.x.exclude = exclude_user, job.x.ctx = &job;
    int bu = exact_block_users(n_items, n_int);
    float *U = ws_get(&g_ws.U, &g_ws.n_u, (size_t)bu * n_int * m->dim);
    float *scores = ws_get(&g_ws.scores, &g_ws.n_scores, (size_t)bu * n_int * n_items);
    ScoredItem *best = xmalloc((size_t)bu * job.x.k * sizeof *best);
    metrics_init(out, &o->ks);
    Progress p;
    progress_begin(&p, o->label ? o->label : "eval", es->n, "users", o->quiet);
    for (int32_t first = 0; first < es->n; first += bu) {
        int nb = (int)MIN((int32_t)bu, es->n - first);
        eval_block(&job, first, nb, U, scores, best, out, ranked);
        progress_add(&p, nb);
    }
    free(best);
    if (!o->quiet && es->n > 20000) progress_end(&p);
    metrics_finish(out);
    if (seconds) *seconds = now_seconds() - t0;
}
