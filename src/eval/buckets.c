#include "eval/buckets.h"

#include <stdlib.h>

static int cmp_by_count(const void *pa, const void *pb, void *ctx)
{
    const int64_t *cnt = ctx;
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    if (cnt[a] != cnt[b]) return cnt[a] < cnt[b] ? -1 : 1;
    return a - b;
}

/* bucket[i] = popularity bucket of item i (0 = least popular). */
static int32_t *popularity_buckets(const Catalog *cat)
{
    int32_t n = cat->n_items, *order = xmalloc((size_t)n * sizeof *order), *bucket = xmalloc((size_t)n * sizeof *bucket);
    for (int32_t i = 0; i < n; i++) order[i] = i;
    qsort_r(order, (size_t)n, sizeof *order, cmp_by_count, cat->count);
    for (int32_t r = 0; r < n; r++) bucket[order[r]] = (int32_t)((int64_t)r * POP_BUCKETS / n);
    free(order);
    return bucket;
}

static int in_top(const int32_t *ranked, int k, int32_t item)
{
    for (int j = 0; j < k; j++)
        if (ranked[j] == item) return 1;
    return 0;
}

static int cmp_by_hist(const void *pa, const void *pb, void *ctx)
{
    const EvalSet *es = ctx;
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    if (es->hist_len[a] != es->hist_len[b]) return es->hist_len[a] < es->hist_len[b] ? -1 : 1;
    return a - b;
}

void bucket_report(BucketReport *r, const Dataset *ds, const EvalSet *es, const Catalog *cat, const int32_t *ranked,
                   int kmax, int k)
{
    memset(r, 0, sizeof *r);
    r->k = k;
    int32_t *bucket = popularity_buckets(cat);
    int64_t hits[POP_BUCKETS] = {0};
    for (int32_t e = 0; e < es->n; e++) {
        const int32_t *seq = ds_user_seq(ds, es->user[e]), *top = ranked + (int64_t)e * kmax;
        for (int32_t t = es->hist_len[e]; t < es->tgt_end[e]; t++) {
            int b = bucket[seq[t]];
            r->pop_targets[b]++;
            hits[b] += in_top(top, k, seq[t]);
        }
    }
    for (int b = 0; b < POP_BUCKETS; b++) r->pop_recall[b] = r->pop_targets[b] ? (double)hits[b] / r->pop_targets[b] : 0;
    /* the shortest-history fifth of the evaluated users */
    int32_t *order = xmalloc((size_t)MAX(es->n, 1) * sizeof *order);
    for (int32_t e = 0; e < es->n; e++) order[e] = e;
    qsort_r(order, (size_t)es->n, sizeof *order, cmp_by_hist, (void *)es);
    r->short_users = es->n / 5;
    for (int64_t q = 0; q < r->short_users; q++) {
        int32_t e = order[q], n_t = es->tgt_end[e] - es->hist_len[e], h = 0;
        const int32_t *seq = ds_user_seq(ds, es->user[e]), *top = ranked + (int64_t)e * kmax;
        for (int32_t t = es->hist_len[e]; t < es->tgt_end[e]; t++) h += in_top(top, k, seq[t]);
        r->short_hr += h > 0;
        r->short_recall += n_t ? (double)h / n_t : 0;
    }
    if (r->short_users) r->short_hr /= (double)r->short_users, r->short_recall /= (double)r->short_users;
    free(order);
    free(bucket);
}
