/* retriever.c — see retriever.h.
 *
 * Why the user tower is behind a mutex: a model's user_vectors runs in
 * buffers the model planned once at build time (m->impl: activations of its
 * batch shape, the HistBatch) — the llm.c rule of no allocation in forward.
 * Two threads in it at once would overwrite each other's activations. A
 * single-history forward pass is short next to scoring the catalogue, which
 * runs outside the lock in per-thread scratch, so one lock costs little; a
 * model copy per worker would multiply the activation memory instead.
 * Everything else here only reads the Retriever. */
#include "serve/retriever.h"

#include <math.h>

/* Grows *p to hold n elements of size elem (contents are not kept). */
static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
    if (n <= *cap) return p;
    free(p);
    *cap = n;
    return xmalloc(n * elem);
}

void retr_scratch_init(RetrScratch *s) { memset(s, 0, sizeof *s); }

void retr_scratch_free(RetrScratch *s)
{
    free(s->u), free(s->scores), free(s->lists), free(s->work), free(s->hist), free(s->seen);
    free(s->ann_ids);
    memset(s, 0, sizeof *s);
}

/* Fills everything but R->run (which may already hold the model). */
static void setup(Retriever *R, Model *m, const Dataset *ds)
{
    R->m = m;
    R->ds = ds;
    R->item_ids = &m->cat->item_ids;
    R->n_items = m->cat->n_items;
    R->D = m->dim;
    R->K = m->n_interests;
    R->items = xalloc_floats((size_t)R->n_items * R->D);
    m->cls->item_vectors(m, R->items);
    R->index = NULL;
    pthread_mutex_init(&R->tower, NULL);
}

void retriever_init(Retriever *R, Model *m, const Dataset *ds)
{
    memset(R, 0, sizeof *R);
    setup(R, m, ds);
}

/* Does the index hold this model's item vectors? Its size alone would
 * accept an index of another run over the same catalogue, so a few stored
 * vectors, evenly spaced, are compared too. */
static int index_matches(const Retriever *R, FaissIndex *index, Err *err)
{
    if (faiss_dim(index) != R->D || faiss_count(index) != R->n_items)
        return err_set(err, "index has %lld vectors of size %d, the model %d items of size %d (built for another "
                       "run?)", (long long)faiss_count(index), faiss_dim(index), (int)R->n_items, R->D);
    float *v = xmalloc((size_t)R->D * sizeof *v);
    int rc = 0;
    for (int s = 0; s < 16 && rc == 0; s++) {
        int64_t i = (int64_t)s * R->n_items / 16;
        if (s > 0 && i == (int64_t)(s - 1) * R->n_items / 16) continue;
        rc = faiss_reconstruct(index, i, v, err);
        for (int d = 0; d < R->D && rc == 0; d++)
            if (fabsf(v[d] - R->items[i * R->D + d]) > 1e-5f * (1 + fabsf(v[d])))
                rc = err_set(err, "index vector %lld differs from the model's item vector (built for another run?)",
                             (long long)i);
    }
    free(v);
    return rc;
}

int retriever_set_index(Retriever *R, FaissIndex *index, Err *err)
{
    if (index_matches(R, index, err) < 0) {
        faiss_free(index);
        return -1;
    }
    faiss_free(R->index);
    R->index = index;
    return 0;
}

int retriever_load_index(Retriever *R, const char *path, int ef_search, int nprobe, Err *err)
{
    FaissIndex *ix = faiss_read(path, err);
    if (!ix) return -1;
    faiss_set_search(ix, ef_search, nprobe);
    if (retriever_set_index(R, ix, err) < 0) return err_prefix(err, "%s", path);
    return 0;
}

/* The model keeps pointers into R->run (its catalogue), so the run is opened
 * in place and R must not be moved afterwards. */
int retriever_open(Retriever *R, const char *run_dir, const char *index, int ef_search, int nprobe, Err *err)
{
    memset(R, 0, sizeof *R);
    if (run_open(&R->run, run_dir, err) < 0) return -1;
    setup(R, R->run.m, &R->run.ds);
    if (index && index[0] && retriever_load_index(R, index, ef_search, nprobe, err) < 0) {
        retriever_close(R);
        return -1;
    }
    return 0;
}

void retriever_close(Retriever *R)
{
    faiss_free(R->index);
    free(R->items);
    pthread_mutex_destroy(&R->tower);
    if (R->run.m) run_close(&R->run);
    memset(R, 0, sizeof *R);
}

const char *retriever_model(const Retriever *R) { return R->m->cls->name; }

void retriever_user_vectors(Retriever *R, const Hist *h, int n, float *out)
{
    pthread_mutex_lock(&R->tower);
    R->m->cls->user_vectors(R->m, h, n, out);
    pthread_mutex_unlock(&R->tower);
}

/* scores (K, n) = U (K, D) . items (n, D)^T in one pass over the items.
 * Not BLAS: this runs in many request threads at once, and a plain loop is
 * thread-safe, deterministic and memory-bound anyway. Eight partial sums let
 * the compiler vectorize the dot product without -ffast-math. */
static void score_items(const float *U, int K, const float *items, int32_t n, int D, float *scores)
{
    for (int32_t i = 0; i < n; i++) {
        const float *v = items + (int64_t)i * D;
        for (int q = 0; q < K; q++) {
            const float *u = U + (int64_t)q * D;
            float acc[8] = {0};
            int d = 0;
            for (; d + 8 <= D; d += 8)
                for (int j = 0; j < 8; j++) acc[j] += u[d + j] * v[d + j];
            float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
            for (; d < D; d++) s += u[d] * v[d];
            scores[(int64_t)q * n + i] = s;
        }
    }
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Sorted copy of the history in s->seen (for membership tests); returns its length. */
static int32_t sorted_seen(RetrScratch *s, const Hist *h)
{
    s->seen = grow(s->seen, &s->cap_seen, (size_t)MAX(h->len, 1), sizeof *s->seen);
    memcpy(s->seen, h->items, (size_t)h->len * sizeof *s->seen);
    qsort(s->seen, (size_t)h->len, sizeof *s->seen, cmp_i32);
    return h->len;
}

/* Top-k of every interest into s->lists (K, k), -1 padded: exact scan. */
static void lists_exact(Retriever *R, RetrScratch *s, const Hist *h, int k, int exclude_seen)
{
    int32_t n = R->n_items;
    s->scores = grow(s->scores, &s->cap_scores, (size_t)R->K * n, sizeof *s->scores);
    score_items(s->u, R->K, R->items, n, R->D, s->scores);
    for (int q = 0; q < R->K; q++) {
        float *row = s->scores + (int64_t)q * n;
        if (exclude_seen)
            for (int32_t j = 0; j < h->len; j++) row[h->items[j]] = -INFINITY;
        int got = topk_select(row, n, k, s->lists + (size_t)q * k);
        for (int j = got; j < k; j++) s->lists[(size_t)q * k + j] = (ScoredItem){-INFINITY, -1};
    }
}

static int is_seen(const int32_t *seen, int32_t n_seen, int32_t item)
{
    return bsearch(&item, seen, (size_t)n_seen, sizeof *seen, cmp_i32) != NULL;
}

/* The same from the Faiss index: k + |history| candidates per interest, so
 * that k remain after dropping seen items. The candidates are scored here
 * with the exact scorer, so an item's score never depends on the search
 * mode (and the MIPS-to-L2 HNSW index returns distances, not scores), and
 * re-sorting applies our tie rule. */
static int lists_index(Retriever *R, RetrScratch *s, const Hist *h, int k, int exclude_seen, Err *err)
{
    int32_t n_seen = exclude_seen ? sorted_seen(s, h) : 0;
    int kk = (int)MIN((int64_t)k + n_seen, (int64_t)R->n_items);
    size_t need = (size_t)R->K * kk;
    s->ann_ids = grow(s->ann_ids, &s->cap_ann, need, sizeof *s->ann_ids);
    if (faiss_search(R->index, s->u, R->K, kk, s->ann_ids, err) < 0) return -1;
    for (int q = 0; q < R->K; q++) {
        ScoredItem *list = s->lists + (size_t)q * k;
        int got = 0;
        for (int j = 0; j < kk && got < k; j++) {
            int64_t id = s->ann_ids[(size_t)q * kk + j];
            if (id < 0 || (n_seen && is_seen(s->seen, n_seen, (int32_t)id))) continue;
            float score;
            score_items(s->u + (size_t)q * R->D, 1, R->items + id * R->D, 1, R->D, &score);
            list[got++] = (ScoredItem){score, (int32_t)id};
        }
        topk_sort(list, got);
        for (int j = got; j < k; j++) list[j] = (ScoredItem){-INFINITY, -1};
    }
    return 0;
}

int retriever_rank(Retriever *R, RetrScratch *s, const Hist *h, int k, int exclude_seen, ScoredItem *out, Err *err)
{
    k = MAX(1, MIN(k, RETR_MAX_K));
    size_t kk = (size_t)R->K * k;
    s->u = grow(s->u, &s->cap_u, (size_t)R->K * R->D, sizeof *s->u);
    s->lists = grow(s->lists, &s->cap_lists, kk, sizeof *s->lists);
    s->work = grow(s->work, &s->cap_work, kk, sizeof *s->work);
    retriever_user_vectors(R, h, 1, s->u);
    if (R->index) {
        if (lists_index(R, s, h, k, exclude_seen, err) < 0) return -1;
    } else {
        lists_exact(R, s, h, k, exclude_seen);
    }
    if (R->K > 1) return topk_merge(s->lists, R->K, k, s->work, out);
    int n = 0;
    while (n < k && s->lists[n].item >= 0) out[n] = s->lists[n], n++;
    return n;
}

/* Dense ids of a raw history into s->hist. */
static RetrStatus resolve_history(const Retriever *R, RetrScratch *s, const RecQuery *q, Hist *h, Err *err)
{
    if (q->n_history < 1 || q->n_history > RETR_MAX_HISTORY) {
        err_set(err, "history: expected 1 to %d item ids, got %d", RETR_MAX_HISTORY, q->n_history);
        return RETR_BAD_QUERY;
    }
    s->hist = grow(s->hist, &s->cap_hist, (size_t)q->n_history, sizeof *s->hist);
    for (int i = 0; i < q->n_history; i++) {
        const char *id = q->history[i];
        s->hist[i] = strtab_find(R->item_ids, id, strlen(id));
        if (s->hist[i] < 0) {
            err_set(err, "history[%d]: unknown item id '%.200s'", i, id);
            return RETR_UNKNOWN_ID;
        }
    }
    *h = (Hist){s->hist, q->n_history, -1};
    return RETR_OK;
}

RetrStatus retriever_query(Retriever *R, RetrScratch *s, const RecQuery *q, ScoredItem *out, int *n_out, Err *err)
{
    *n_out = 0;
    if (q->k < 1 || q->k > RETR_MAX_K) {
        err_set(err, "k: expected 1 to %d, got %d", RETR_MAX_K, q->k);
        return RETR_BAD_QUERY;
    }
    Hist h;
    if (q->user) {
        int32_t u = strtab_find(&R->ds->user_ids, q->user, strlen(q->user));
        if (u < 0) {
            err_set(err, "user: unknown user id '%.200s'", q->user);
            return RETR_UNKNOWN_ID;
        }
        h = (Hist){ds_user_seq(R->ds, u), ds_user_len(R->ds, u), u};
    } else {
        RetrStatus st = resolve_history(R, s, q, &h, err);
        if (st != RETR_OK) return st;
    }
    int n = retriever_rank(R, s, &h, q->k, q->exclude_seen, out, err);
    if (n < 0) return RETR_FAILED;
    *n_out = n;
    return RETR_OK;
}
