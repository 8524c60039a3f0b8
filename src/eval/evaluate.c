#include "eval/evaluate.h"

#include <math.h>
#include <omp.h>

#include "eval/topk.h"
#include "nn/layers.h"
#include "util/progress.h"
#include "util/timer.h"

int eval_max_k(const IntList *ks)
{
    int k = 1;
    for (int i = 0; i < ks->n; i++) k = MAX(k, ks->v[i]);
    return k;
}

/* Users per block: the score block (users x interests x items) stays under
 * ~256 MB so that Books-size catalogues fit next to the model. */
static int block_users(int32_t n_items, int interests)
{
    int64_t cap = (256LL << 20) / 4 / ((int64_t)n_items * interests);
    return (int)MAX(1, MIN(cap, 128));
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
    int kmax, n_int;
    float *items;   /* (n_items, D) */
} EvalJob;

/* Ranks one user of the block; returns the number of ranked items. */
static int rank_user(const EvalJob *job, float *scores, int32_t idx, ScoredItem *lists, ScoredItem *work,
                     ScoredItem *merged)
{
    const EvalSet *es = job->es;
    int32_t u = es->user[idx], n_items = job->m->cat->n_items;
    const int32_t *seq = ds_user_seq(job->ds, u);
    for (int q = 0; q < job->n_int; q++) {
        float *row = scores + (int64_t)q * n_items;
        if (job->o->exclude_seen) exclude_history(row, seq, es->hist_len[idx], es->tgt_end[idx]);
        int got = topk_select(row, n_items, job->kmax, lists + q * job->kmax);
        for (int j = got; j < job->kmax; j++) lists[q * job->kmax + j] = (ScoredItem){-INFINITY, -1};
    }
    if (job->n_int == 1) {
        memcpy(merged, lists, (size_t)job->kmax * sizeof *merged);
        int n = 0;
        while (n < job->kmax && merged[n].item >= 0) n++;
        return n;
    }
    return topk_merge(lists, job->n_int, job->kmax, work, merged);
}

static void eval_block(const EvalJob *job, int32_t first, int nb, float *U, float *scores, Metrics *total,
                       int32_t *ranked)
{
    Model *m = job->m;
    const EvalSet *es = job->es;
    int D = m->dim, kmax = job->kmax, n_int = job->n_int;
    int32_t n_items = m->cat->n_items;
    Hist *h = xmalloc((size_t)nb * sizeof *h);
    for (int b = 0; b < nb; b++)
        h[b] = (Hist){ds_user_seq(job->ds, es->user[first + b]), es->hist_len[first + b], es->user[first + b]};
    m->cls->user_vectors(m, h, nb, U);
    free(h);
    matmul_nt(scores, U, job->items, (int64_t)nb * n_int, n_items, D, 1.0f, 0.0f);
    Metrics *per_user = xmalloc((size_t)nb * sizeof *per_user);
#pragma omp parallel
    {
        ScoredItem *lists = xmalloc((size_t)n_int * kmax * sizeof *lists);
        ScoredItem *work = xmalloc((size_t)n_int * kmax * sizeof *work);
        ScoredItem *merged = xmalloc((size_t)kmax * sizeof *merged);
        int32_t *ids = xmalloc((size_t)kmax * sizeof *ids);
#pragma omp for schedule(dynamic, 8)
        for (int b = 0; b < nb; b++) {
            int32_t idx = first + b;
            int n = rank_user(job, scores + (int64_t)b * n_int * n_items, idx, lists, work, merged);
            for (int j = 0; j < n; j++) ids[j] = merged[j].item;
            const int32_t *seq = ds_user_seq(job->ds, es->user[idx]);
            metrics_init(&per_user[b], &job->o->ks);
            metrics_add_user(&per_user[b], ids, n, seq + es->hist_len[idx], es->tgt_end[idx] - es->hist_len[idx]);
            if (ranked)
                for (int j = 0; j < kmax; j++) ranked[(int64_t)idx * kmax + j] = j < n ? ids[j] : -1;
        }
        free(lists), free(work), free(merged), free(ids);
    }
    /* Summed in user order, not per thread as threads finish: floating-point
     * addition is not associative, and metrics (and so early stopping) must
     * not depend on thread scheduling or the number of threads. */
    for (int b = 0; b < nb; b++) metrics_merge(total, &per_user[b]);
    free(per_user);
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
    EvalJob job = {m, ds, es, o, eval_max_k(&o->ks), m->n_interests, NULL};
    job.items = ws_get(&g_ws.items, &g_ws.n_items, (size_t)n_items * m->dim);
    m->cls->item_vectors(m, job.items);
    int bu = block_users(n_items, job.n_int);
    float *U = ws_get(&g_ws.U, &g_ws.n_u, (size_t)bu * job.n_int * m->dim);
    float *scores = ws_get(&g_ws.scores, &g_ws.n_scores, (size_t)bu * job.n_int * n_items);
    metrics_init(out, &o->ks);
    Progress p;
    progress_begin(&p, o->label ? o->label : "eval", es->n, "users", o->quiet);
    for (int32_t first = 0; first < es->n; first += bu) {
        int nb = (int)MIN((int32_t)bu, es->n - first);
        eval_block(&job, first, nb, U, scores, out, ranked);
        progress_add(&p, nb);
    }
    if (!o->quiet && es->n > 20000) progress_end(&p);
    metrics_finish(out);
    if (seconds) *seconds = now_seconds() - t0;
}
