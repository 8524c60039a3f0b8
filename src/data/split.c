#include "data/split.h"

#include "util/rng.h"

int protocol_parse(const char *name, Protocol *p)
{
    if (!strcmp(name, "loo")) *p = PROTO_LOO;
    else if (!strcmp(name, "comirec")) *p = PROTO_COMIREC;
    else return -1;
    return 0;
}

const char *protocol_name(Protocol p) { return p == PROTO_LOO ? "loo" : "comirec"; }

static void evalset_alloc(EvalSet *e, int32_t cap)
{
    e->n = 0;
    e->user = xmalloc((size_t)MAX(cap, 1) * sizeof *e->user);
    e->hist_len = xmalloc((size_t)MAX(cap, 1) * sizeof *e->hist_len);
    e->tgt_end = xmalloc((size_t)MAX(cap, 1) * sizeof *e->tgt_end);
}

static void evalset_add(EvalSet *e, int32_t u, int32_t hist, int32_t end)
{
    e->user[e->n] = u;
    e->hist_len[e->n] = hist;
    e->tgt_end[e->n] = end;
    e->n++;
}

static void split_loo(const Dataset *ds, Split *s)
{
    for (int32_t u = 0; u < ds->n_users; u++) {
        int32_t n = ds_user_len(ds, u);
        if (n < 3) {
            s->train_len[u] = n; /* too short to hold out two items: all train, as SASRec */
            continue;
        }
        s->train_len[u] = n - 2;
        evalset_add(&s->valid, u, n - 2, n - 1);
        evalset_add(&s->test, u, n - 1, n);
    }
}

static void split_comirec(const Dataset *ds, uint64_t seed, Split *s)
{
    int32_t nu = ds->n_users;
    int32_t *perm = xmalloc((size_t)nu * sizeof *perm);
    for (int32_t u = 0; u < nu; u++) perm[u] = u;
    Rng rng;
    rng_seed(&rng, seed, RNG_SPLIT);
    rng_shuffle_i32(&rng, perm, nu);
    /* Same boundaries as ComiRec's preprocessing: [0, .8n) train, [.8n, .9n) valid, rest test. */
    int32_t n_train = (int32_t)(nu * 0.8), n_valid_end = (int32_t)(nu * 0.9);
    for (int32_t k = 0; k < nu; k++) {
        int32_t u = perm[k], n = ds_user_len(ds, u);
        if (k < n_train) {
            s->train_len[u] = n;
            continue;
        }
        int32_t hist = (int32_t)(n * 0.8);
        if (hist < 1 || hist >= n) continue; /* needs both a history and a target */
        evalset_add(k < n_valid_end ? &s->valid : &s->test, u, hist, n);
    }
    free(perm);
}

int split_make(const Dataset *ds, Protocol p, uint64_t seed, Split *s, Err *err)
{
    memset(s, 0, sizeof *s);
    s->protocol = p;
    s->train_len = xcalloc((size_t)ds->n_users + 1, sizeof *s->train_len);
    evalset_alloc(&s->valid, ds->n_users);
    evalset_alloc(&s->test, ds->n_users);
    if (p == PROTO_LOO) split_loo(ds, s);
    else split_comirec(ds, seed, s);
    for (int32_t u = 0; u < ds->n_users; u++) s->n_train_inter += s->train_len[u];
    if (s->n_train_inter == 0 || s->valid.n == 0 || s->test.n == 0) {
        int32_t nv = s->valid.n, nt = s->test.n;
        int64_t ntr = s->n_train_inter;
        split_free(s);
        return err_set(err, "protocol %s leaves %lld training interactions, %d valid and %d test users; "
                       "need all three non-empty (too few users or too short sequences)",
                       protocol_name(p), (long long)ntr, nv, nt);
    }
    return 0;
}

void split_free(Split *s)
{
    free(s->train_len);
    EvalSet *sets[2] = {&s->valid, &s->test};
    for (int i = 0; i < 2; i++) {
        free(sets[i]->user);
        free(sets[i]->hist_len);
        free(sets[i]->tgt_end);
    }
    memset(s, 0, sizeof *s);
}

int64_t split_examples(const Split *s, int32_t n_users, int per_sequence, Example **out)
{
    int64_t n = 0;
    for (int32_t u = 0; u < n_users; u++)
        if (s->train_len[u] >= 2) n += per_sequence ? 1 : s->train_len[u] - 1;
    Example *ex = xmalloc((size_t)MAX(n, 1) * sizeof *ex);
    int64_t k = 0;
    for (int32_t u = 0; u < n_users; u++) {
        int32_t len = s->train_len[u];
        if (len < 2) continue;
        if (per_sequence) ex[k++] = (Example){u, len};
        else
            for (int32_t t = 1; t < len; t++) ex[k++] = (Example){u, t};
    }
    *out = ex;
    return n;
}

void split_item_counts(const Dataset *ds, const Split *s, int64_t *counts)
{
    memset(counts, 0, (size_t)ds->n_items * sizeof *counts);
    for (int32_t u = 0; u < ds->n_users; u++) {
        const int32_t *seq = ds_user_seq(ds, u);
        for (int32_t t = 0; t < s->train_len[u]; t++) counts[seq[t]]++;
    }
}
