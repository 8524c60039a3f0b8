#include "serve/export.h"

#include <omp.h>

#include "util/fileio.h"
#include "util/json.h"
#include "util/npy.h"
#include "util/timer.h"

/* Writes DIR/name atomically, one raw id per line. */
static int write_ids(const char *dir, const char *name, const StrTab *ids, int32_t n, Err *err)
{
    char *path = path_join(dir, name);
    AtomicFile af;
    int rc = af_open(&af, path, err);
    if (rc == 0) {
        for (int32_t i = 0; i < n; i++) fprintf(af.f, "%s\n", strtab_get(ids, i));
        rc = af_commit(&af, err);
    }
    free(path);
    return rc;
}

static int write_npy(const char *dir, const char *name, const float *x, const int64_t *shape, int ndim, Err *err)
{
    char *path = path_join(dir, name);
    int rc = npy_write_f32(path, x, shape, ndim, err);
    free(path);
    return rc;
}

/* The user tower on every user's whole history: (n_users, K, D). */
static float *all_user_vectors(Retriever *R)
{
    const Dataset *ds = R->ds;
    Hist *h = xmalloc((size_t)MAX(ds->n_users, 1) * sizeof *h);
    for (int32_t u = 0; u < ds->n_users; u++) h[u] = (Hist){ds_user_seq(ds, u), ds_user_len(ds, u), u};
    float *out = xalloc_floats((size_t)ds->n_users * R->K * R->D);
    retriever_user_vectors(R, h, ds->n_users, out);
    free(h);
    return out;
}

static int write_vectors(Retriever *R, const char *out, Err *err)
{
    int64_t ishape[2] = {R->n_items, R->D}, ushape[3] = {R->ds->n_users, R->K, R->D};
    if (R->K == 1) ushape[1] = R->D;
    if (write_npy(out, "item_vectors.npy", R->items, ishape, 2, err) < 0) return -1;
    float *U = all_user_vectors(R);
    int rc = write_npy(out, "user_vectors.npy", U, ushape, R->K == 1 ? 2 : 3, err);
    free(U);
    if (rc == 0) rc = write_ids(out, "items.tsv", R->item_ids, R->n_items, err);
    if (rc == 0) rc = write_ids(out, "users.tsv", &R->ds->user_ids, R->ds->n_users, err);
    return rc;
}

/* Mean milliseconds per query over the sampled users; ranked (n, k). */
static int time_queries(Retriever *R, const int32_t *users, int n, int k, ScoredItem *ranked, double *ms, Err *err)
{
    RetrScratch s;
    retr_scratch_init(&s);
    double t0 = now_seconds();
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        int32_t u = users[i];
        Hist h = {ds_user_seq(R->ds, u), ds_user_len(R->ds, u), u};
        int got = retriever_rank(R, &s, &h, k, 0, ranked + (size_t)i * k, err);
        if (got < 0) rc = -1;
        for (int j = MAX(got, 0); j < k; j++) ranked[(size_t)i * k + j].item = -1;
    }
    *ms = n ? 1e3 * (now_seconds() - t0) / n : 0;
    retr_scratch_free(&s);
    return rc;
}

int ann_report(Retriever *R, int n_queries, int k, AnnReport *out, Err *err)
{
    int n = (int)MIN((int64_t)n_queries, (int64_t)R->ds->n_users);
    memset(out, 0, sizeof *out);
    out->queries = n, out->k = k;
    if (n < 1 || !R->index) return 0;
    int32_t *users = xmalloc((size_t)n * sizeof *users);
    for (int i = 0; i < n; i++) users[i] = (int32_t)((int64_t)i * R->ds->n_users / n);
    ScoredItem *ann = xmalloc((size_t)n * k * sizeof *ann), *exact = xmalloc((size_t)n * k * sizeof *exact);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1); /* time queries as a server worker runs them */
    int rc = time_queries(R, users, n, k, ann, &out->ann_ms, err);
    FaissIndex *ix = R->index; /* exact search is the retriever without its index */
    R->index = NULL;
    if (rc == 0) rc = time_queries(R, users, n, k, exact, &out->exact_ms, err);
    R->index = ix;
    omp_set_num_threads(threads);
    int64_t hits = 0, relevant = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            int32_t want = exact[(size_t)i * k + j].item;
            if (want < 0) continue;
            relevant++;
            for (int a = 0; a < k; a++) hits += ann[(size_t)i * k + a].item == want;
        }
    out->recall = relevant ? (double)hits / (double)relevant : 0;
    free(users), free(ann), free(exact);
    return rc;
}

static int write_index(const FaissIndex *ix, const char *out, Err *err)
{
    char *path = path_join(out, "index.faiss");
    AtomicFile af;
    int rc = af_open(&af, path, err);
    if (rc == 0 && (rc = faiss_write(ix, af.f, err)) < 0) af_abort(&af);
    if (rc == 0) rc = af_commit(&af, err);
    free(path);
    return rc;
}

/* Builds the index over the item vectors, writes it, hands it to R. */
static int build_index(Retriever *R, const ExportOptions *o, double *seconds, Err *err)
{
    double t0 = now_seconds();
    FaissIndex *ix = faiss_build(&o->index, R->items, R->n_items, R->D, err);
    if (!ix) return -1;
    *seconds = now_seconds() - t0;
    if (write_index(ix, o->out, err) < 0) {
        faiss_free(ix);
        return -1;
    }
    return retriever_set_index(R, ix, err);
}

static void index_json(JsonWriter *w, const Retriever *R, double build_s, const AnnReport *rep)
{
    FaissParams p;
    faiss_describe(R->index, &p);
    jw_object_begin(w, "index");
    jw_string(w, "file", "index.faiss");
    jw_string(w, "kind", p.kind);
    if (p.mips_l2) {
        jw_string(w, "metric", "l2 over [x, sqrt(M^2 - |x|^2)]: the nearest items are those of largest inner product");
        jw_string(w, "query", "append one 0 coordinate to each query vector");
        jw_int(w, "index_dim", R->D + 1);
    } else {
        jw_string(w, "metric", "inner_product");
    }
    if (!strcmp(p.kind, "hnsw")) {
        jw_int(w, "hnsw_m", p.hnsw_m);
        jw_int(w, "ef_construction", p.ef_construction);
        jw_int(w, "ef_search", p.ef_search);
    } else {
        jw_int(w, "nlist", p.nlist);
        jw_int(w, "nprobe", p.nprobe);
    }
    jw_number(w, "build_seconds", build_s);
    jw_int(w, "recall_queries", rep->queries);
    jw_number(w, "recall_at_50", rep->recall);
    jw_number(w, "exact_ms_per_query", rep->exact_ms);
    jw_number(w, "index_ms_per_query", rep->ann_ms);
    jw_object_end(w);
}

static int write_manifest(const Retriever *R, const ExportOptions *o, double build_s, const AnnReport *rep,
                          Err *err)
{
    char *path = path_join(o->out, "export.json");
    AtomicFile af;
    int rc = af_open(&af, path, err);
    free(path);
    if (rc < 0) return -1;
    JsonWriter w;
    jw_init(&w, af.f, 1);
    jw_object_begin(&w, NULL);
    jw_string(&w, "run", o->run_dir);
    jw_string(&w, "model", retriever_model(R));
    jw_int(&w, "items", R->n_items);
    jw_int(&w, "users", R->ds->n_users);
    jw_int(&w, "dim", R->D);
    jw_int(&w, "interests", R->K);
    jw_string(&w, "score", "dot product of a user vector and an item vector");
    jw_string(&w, "item_vectors", "item_vectors.npy");
    jw_string(&w, "user_vectors", "user_vectors.npy");
    jw_string(&w, "item_ids", "items.tsv");
    jw_string(&w, "user_ids", "users.tsv");
    if (R->index) index_json(&w, R, build_s, rep);
    jw_object_end(&w);
    return af_commit(&af, err);
}

static const char k_readme[] =
    "# cltower export of %s\n\n"
    "Model `%s`: %d items, %d users, vectors of size %d, %d per user. A score is the dot product\n"
    "of a user vector and an item vector; higher is better.\n\n"
    "| file | contents |\n| --- | --- |\n"
    "| item_vectors.npy | float32 (items, %d); row i = line i of items.tsv |\n"
    "| user_vectors.npy | float32 %s; the user tower on each user's whole history; row u = line u of users.tsv |\n"
    "| items.tsv, users.tsv | raw ids, one per line |\n"
    "| index.faiss | %s |\n"
    "| export.json | the same facts, index parameters and the index's measured recall@50 |\n\n"
    "```python\nimport numpy as np, faiss\nitems = np.load('item_vectors.npy')\n"
    "ids = open('items.tsv').read().split('\\n')[:-1]\nindex = faiss.read_index('index.faiss')\n"
    "q = np.load('user_vectors.npy')[:1].reshape(-1, items.shape[1])\n"
    "if index.d == q.shape[1] + 1:  # HNSW: MIPS-to-L2 form, queries get a 0 coordinate\n"
    "    q = np.hstack([q, np.zeros((len(q), 1), np.float32)])\n"
    "_, rows = index.search(q, 10)\nscores = (items[rows] * q[:, None, :items.shape[1]]).sum(-1)\n```\n";

static int write_readme(const Retriever *R, const ExportOptions *o, Err *err)
{
    char shape[64], index[192];
    if (R->K == 1) snprintf(shape, sizeof shape, "(users, %d)", R->D);
    else snprintf(shape, sizeof shape, "(users, %d, %d)", R->K, R->D);
    snprintf(index, sizeof index, !R->index ? "(not written: --index none)%.0s"
                                  : !strcmp(o->index.kind, "hnsw") ? "Faiss %s index of [x, sqrt(M^2 - |x|^2)] by L2 "
                                    "(= largest inner product; query with [q, 0]); ids = rows of item_vectors.npy"
                                  : "Faiss %s index, inner product, ids = rows of item_vectors.npy", o->index.kind);
    char *text = NULL, *path = path_join(o->out, "README.md");
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) die("open_memstream: out of memory");
    fprintf(f, k_readme, o->run_dir, retriever_model(R), (int)R->n_items, (int)R->ds->n_users, R->D, R->K, R->D,
            shape, index);
    fclose(f);
    int rc = write_file_atomic(path, text, len, err);
    free(text), free(path);
    return rc;
}

int export_run(Retriever *R, const ExportOptions *o, Err *err)
{
    if (mkdir_p(o->out, err) < 0) return -1;
    if (write_vectors(R, o->out, err) < 0) return -1;
    double build_s = 0;
    AnnReport rep = {0};
    if (strcmp(o->index.kind, "none")) {
        if (!o->quiet) fprintf(stderr, "export: building a %s index of %d items...\n", o->index.kind, (int)R->n_items);
        if (build_index(R, o, &build_s, err) < 0) return -1;
        if (ann_report(R, o->recall_queries, 50, &rep, err) < 0) return -1;
        if (!o->quiet)
            fprintf(stderr, "export: %s index built in %.1fs; recall@50 vs exact %.4f over %d users "
                    "(%.2f ms/query vs %.2f exact)\n", o->index.kind, build_s, rep.recall, rep.queries, rep.ann_ms,
                    rep.exact_ms);
    }
    if (write_manifest(R, o, build_s, &rep, err) < 0) return -1;
    return write_readme(R, o, err);
}
