#include "data/dataset.h"

#include <errno.h>

void dataset_free(Dataset *ds)
{
    free(ds->user_ptr);
    free(ds->seq);
    free(ds->time);
    free(ds->feat_ptr);
    free(ds->feat);
    strtab_free(&ds->user_ids);
    strtab_free(&ds->item_ids);
    strtab_free(&ds->feat_ids);
    memset(ds, 0, sizeof *ds);
}

void evlog_init(EventLog *log)
{
    memset(log, 0, sizeof *log);
    strtab_init(&log->users);
    strtab_init(&log->items);
    strtab_init(&log->feats);
}

void evlog_free(EventLog *log)
{
    strtab_free(&log->users);
    strtab_free(&log->items);
    strtab_free(&log->feats);
    i32vec_free(&log->ev_user);
    i32vec_free(&log->ev_item);
    i32vec_free(&log->if_item);
    i32vec_free(&log->if_feat);
    i32vec_free(&log->last_feat);
    free(log->ev_time);
    memset(log, 0, sizeof *log);
}

void evlog_add(EventLog *log, const char *user, size_t ulen, const char *item, size_t ilen, int64_t time)
{
    i32vec_push(&log->ev_user, strtab_intern(&log->users, user, ulen));
    i32vec_push(&log->ev_item, strtab_intern(&log->items, item, ilen));
    if (log->n_events == log->cap_time) {
        log->cap_time = log->cap_time ? log->cap_time * 2 : 1024;
        log->ev_time = xrealloc(log->ev_time, (size_t)log->cap_time * sizeof *log->ev_time);
    }
    log->ev_time[log->n_events++] = time;
}

/* Records (item, feature) unless it repeats the item's previous feature:
 * a category column repeats on every row of the item (55M rows for Tmall),
 * so most duplicates are dropped here instead of being stored until build. */
static void add_pair(EventLog *log, int32_t it, int32_t f)
{
    while (log->last_feat.n <= it) i32vec_push(&log->last_feat, 0);
    if (log->last_feat.v[it] == f + 1) return;
    log->last_feat.v[it] = f + 1;
    i32vec_push(&log->if_item, it);
    i32vec_push(&log->if_feat, f);
}

void evlog_add_item_feature(EventLog *log, const char *item, size_t ilen, const char *feat, size_t flen)
{
    int32_t it = strtab_intern(&log->items, item, ilen);
    add_pair(log, it, strtab_intern(&log->feats, feat, flen));
}

int evlog_add_feature_if_known(EventLog *log, const char *item, size_t ilen, const char *feat, size_t flen)
{
    int32_t it = strtab_find(&log->items, item, ilen);
    if (it < 0) return 0;
    add_pair(log, it, strtab_intern(&log->feats, feat, flen));
    return 1;
}

/* ---- id ordering --------------------------------------------------------- */

static int parse_int_id(const char *s, long long *v)
{
    const char *p = s;
    if (*p == '-') p++;
    if (!*p || strlen(p) > 18) return 0;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return 0;
    *v = strtoll(s, NULL, 10);
    return 1;
}

int raw_id_compare(const char *a, const char *b)
{
    long long x, y;
    int ia = parse_int_id(a, &x), ib = parse_int_id(b, &y);
    if (ia && ib) return x < y ? -1 : x > y ? 1 : strcmp(a, b); /* "007" vs "7": stable by bytes */
    if (ia != ib) return ia ? -1 : 1;
    return strcmp(a, b);
}

static int cmp_by_raw(const void *pa, const void *pb, void *ctx)
{
    const StrTab *t = ctx;
    return raw_id_compare(strtab_get(t, *(const int32_t *)pa), strtab_get(t, *(const int32_t *)pb));
}

/* Dense ids for the kept entries of t, in raw-id order. new_id[i] = -1 if dropped.
 * Fills out (the final table). Returns the count. */
static int32_t assign_dense_ids(const StrTab *t, const uint8_t *keep, int32_t *new_id, StrTab *out)
{
    int32_t n = 0;
    int32_t *order = xmalloc((size_t)MAX(t->n, 1) * sizeof *order);
    for (int32_t i = 0; i < t->n; i++) {
        new_id[i] = -1;
        if (keep[i]) order[n++] = i;
    }
    qsort_r(order, (size_t)n, sizeof *order, cmp_by_raw, (void *)t);
    strtab_init(out);
    for (int32_t k = 0; k < n; k++) {
        const char *s = strtab_get(t, order[k]);
        new_id[order[k]] = strtab_intern(out, s, strlen(s));
    }
    free(order);
    return n;
}

/* ---- build ---------------------------------------------------------------- */

typedef struct {
    int64_t time, idx;
} TimeKey;

static int cmp_timekey(const void *pa, const void *pb)
{
    const TimeKey *a = pa, *b = pb;
    if (a->time != b->time) return a->time < b->time ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Event indices grouped by (interned) user, each group sorted by (time, file
 * order). Returns the order array; *uptr gets per-user group offsets. */
static int64_t *group_and_sort(const EventLog *log, int64_t **uptr_out)
{
    int32_t nu = log->users.n;
    int64_t n = log->n_events;
    int64_t *uptr = xcalloc((size_t)nu + 1, sizeof *uptr);
    for (int64_t e = 0; e < n; e++) uptr[log->ev_user.v[e] + 1]++;
    for (int32_t u = 0; u < nu; u++) uptr[u + 1] += uptr[u];
    int64_t *fill = xmalloc((size_t)MAX(nu, 1) * sizeof *fill);
    memcpy(fill, uptr, (size_t)nu * sizeof *fill);
    TimeKey *keys = xmalloc((size_t)MAX(n, 1) * sizeof *keys);
    for (int64_t e = 0; e < n; e++) keys[fill[log->ev_user.v[e]]++] = (TimeKey){log->ev_time[e], e};
    free(fill);
    for (int32_t u = 0; u < nu; u++)
        qsort(keys + uptr[u], (size_t)(uptr[u + 1] - uptr[u]), sizeof *keys, cmp_timekey);
    int64_t *order = xmalloc((size_t)MAX(n, 1) * sizeof *order);
    for (int64_t k = 0; k < n; k++) order[k] = keys[k].idx;
    free(keys);
    *uptr_out = uptr;
    return order;
}

/* Marks later repeats of the same (user, item) as dropped. */
static void drop_duplicates(const EventLog *log, const int64_t *order, const int64_t *uptr, uint8_t *keep_ev)
{
    int32_t *last_user = xmalloc((size_t)MAX(log->items.n, 1) * sizeof *last_user);
    for (int32_t i = 0; i < log->items.n; i++) last_user[i] = -1;
    for (int32_t u = 0; u < log->users.n; u++)
        for (int64_t k = uptr[u]; k < uptr[u + 1]; k++) {
            int64_t e = order[k];
            int32_t it = log->ev_item.v[e];
            if (last_user[it] == u) keep_ev[e] = 0;
            last_user[it] = u;
        }
    free(last_user);
}

/* One k-core pass: drops events of items (then users) below the thresholds.
 * Returns the number of events dropped. */
static int64_t kcore_pass(const EventLog *log, const BuildOptions *opt, uint8_t *keep_ev)
{
    int64_t dropped = 0, n = log->n_events;
    int64_t *cnt_i = xcalloc((size_t)log->items.n + 1, sizeof *cnt_i);
    int64_t *cnt_u = xcalloc((size_t)log->users.n + 1, sizeof *cnt_u);
    if (opt->min_item_inter > 0) {
        for (int64_t e = 0; e < n; e++) cnt_i[log->ev_item.v[e]] += keep_ev[e];
        for (int64_t e = 0; e < n; e++)
            if (keep_ev[e] && cnt_i[log->ev_item.v[e]] < opt->min_item_inter) keep_ev[e] = 0, dropped++;
    }
    if (opt->min_user_inter > 0) {
        for (int64_t e = 0; e < n; e++) cnt_u[log->ev_user.v[e]] += keep_ev[e];
        for (int64_t e = 0; e < n; e++)
            if (keep_ev[e] && cnt_u[log->ev_user.v[e]] < opt->min_user_inter) keep_ev[e] = 0, dropped++;
    }
    free(cnt_i);
    free(cnt_u);
    return dropped;
}

/* Item features in dense ids, de-duplicated, in the order first given. */
static void build_features(const EventLog *log, const int32_t *item_new, int32_t n_items, Dataset *ds)
{
    int64_t np = log->if_item.n;
    uint8_t *feat_used = xcalloc((size_t)log->feats.n + 1, 1);
    for (int64_t k = 0; k < np; k++)
        if (item_new[log->if_item.v[k]] >= 0) feat_used[log->if_feat.v[k]] = 1;
    int32_t *feat_new = xmalloc((size_t)log->feats.n * sizeof *feat_new + 1);
    ds->n_feats = assign_dense_ids(&log->feats, feat_used, feat_new, &ds->feat_ids);

    ds->feat_ptr = xcalloc((size_t)n_items + 1, sizeof *ds->feat_ptr);
    for (int64_t k = 0; k < np; k++) {
        int32_t it = item_new[log->if_item.v[k]];
        if (it >= 0) ds->feat_ptr[it + 1]++;
    }
    for (int32_t i = 0; i < n_items; i++) ds->feat_ptr[i + 1] += ds->feat_ptr[i];
    int32_t *fill = xmalloc((size_t)n_items * sizeof *fill + 1);
    memcpy(fill, ds->feat_ptr, (size_t)n_items * sizeof *fill);
    ds->feat = xmalloc((size_t)ds->feat_ptr[n_items] * sizeof *ds->feat + 1);
    for (int64_t k = 0; k < np; k++) {
        int32_t it = item_new[log->if_item.v[k]];
        if (it < 0) continue;
        int32_t f = feat_new[log->if_feat.v[k]];
        int dup = 0;
        for (int32_t j = ds->feat_ptr[it]; j < fill[it]; j++) dup |= ds->feat[j] == f;
        if (!dup) ds->feat[fill[it]++] = f;
    }
    /* Compact away the duplicate slots. */
    int32_t w = 0;
    for (int32_t i = 0; i < n_items; i++) {
        int32_t b = ds->feat_ptr[i];
        ds->feat_ptr[i] = w;
        for (int32_t j = b; j < fill[i]; j++) ds->feat[w++] = ds->feat[j];
    }
    ds->feat_ptr[n_items] = w;
    free(fill);
    free(feat_new);
    free(feat_used);
}

int dataset_build(EventLog *log, const BuildOptions *opt, Dataset *ds, Err *err)
{
    memset(ds, 0, sizeof *ds);
    int64_t n = log->n_events;
    if (n == 0) {
        evlog_free(log);
        return err_set(err, "no interactions found (empty file or everything filtered out)");
    }
    int64_t *uptr;
    int64_t *order = group_and_sort(log, &uptr);
    uint8_t *keep_ev = xmalloc((size_t)n);
    memset(keep_ev, 1, (size_t)n);
    if (opt->dedup) drop_duplicates(log, order, uptr, keep_ev);
    while (kcore_pass(log, opt, keep_ev) > 0 && opt->kcore_iterative) {
    }

    uint8_t *keep_u = xcalloc((size_t)log->users.n + 1, 1), *keep_i = xcalloc((size_t)log->items.n + 1, 1);
    int64_t kept = 0;
    for (int64_t e = 0; e < n; e++)
        if (keep_ev[e]) keep_u[log->ev_user.v[e]] = keep_i[log->ev_item.v[e]] = 1, kept++;
    if (kept == 0) {
        free(order), free(uptr), free(keep_ev), free(keep_u), free(keep_i);
        evlog_free(log);
        return err_set(err, "no interactions left after filtering (k-core / de-duplication too strict?)");
    }
    int32_t *user_new = xmalloc((size_t)log->users.n * sizeof *user_new);
    int32_t *item_new = xmalloc((size_t)log->items.n * sizeof *item_new);
    ds->n_users = assign_dense_ids(&log->users, keep_u, user_new, &ds->user_ids);
    ds->n_items = assign_dense_ids(&log->items, keep_i, item_new, &ds->item_ids);
    ds->n_inter = kept;

    /* CSR in dense user order; each user's events keep their sorted order. */
    int32_t *old_of_new = xmalloc((size_t)ds->n_users * sizeof *old_of_new);
    for (int32_t u = 0; u < log->users.n; u++)
        if (user_new[u] >= 0) old_of_new[user_new[u]] = u;
    ds->user_ptr = xmalloc(((size_t)ds->n_users + 1) * sizeof *ds->user_ptr);
    ds->seq = xmalloc((size_t)kept * sizeof *ds->seq);
    ds->time = xmalloc((size_t)kept * sizeof *ds->time);
    int64_t w = 0;
    for (int32_t du = 0; du < ds->n_users; du++) {
        int32_t u = old_of_new[du];
        ds->user_ptr[du] = w;
        for (int64_t k = uptr[u]; k < uptr[u + 1]; k++) {
            int64_t e = order[k];
            if (!keep_ev[e]) continue;
            ds->seq[w] = item_new[log->ev_item.v[e]];
            ds->time[w] = log->ev_time[e];
            w++;
        }
    }
    ds->user_ptr[ds->n_users] = w;
    build_features(log, item_new, ds->n_items, ds);

    free(old_of_new), free(user_new), free(item_new);
    free(order), free(uptr), free(keep_ev), free(keep_u), free(keep_i);
    evlog_free(log);
    return 0;
}
