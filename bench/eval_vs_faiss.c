/* eval_vs_faiss — cltower's exact top-K retrieval kernel (src/eval/exact.c,
 * the one evaluation runs: per block of users, groups of users in parallel,
 * each scored against the items tile by tile by sgemm and fed to a running
 * per-user exact top-K selection) against Faiss's exact
 * IndexFlatIP search on the same vectors, the same K and the same threads.
 *
 * usage: bench_eval_faiss ITEMS.npy USERS.npy [K=50] [THREADS=2] [RUNS=3]
 *        bench_eval_faiss --synthetic N_ITEMS N_USERS DIM [K=50] [THREADS=2] [RUNS=3]
 *
 * ITEMS (n_items, d) and USERS (n_users, d) float32 .npy files, e.g.
 * item_vectors.npy and user_vectors.npy of `cltower export` (a multi-interest
 * (n_users, I, d) file is searched as n_users * I queries). --synthetic draws
 * standard-normal vectors instead (seeded): the speed of an exact search does
 * not depend on the values.
 *
 * Both sides rank all items for every user with no exclusion of seen items
 * (Faiss cannot exclude per query; evaluation proper does, at the cost of a
 * few stores per history item). One warm-up of each on up to 1024 users, then
 * RUNS timed runs over all users, alternating which goes first. cltower's
 * workspace (score tiles and selection state, a few MB per thread) is allocated
 * once, untimed; Faiss is given all queries in one search call (it
 * blocks them itself) and allocates its buffers inside it, as it always does.
 * Both use OpenMP and the same OpenBLAS sgemm; omp_set_num_threads(THREADS)
 * sets both.
 *
 * Agreement: per user, the overlap of the two top-K id sets (mean overlap@K),
 * the share of users whose sets are identical, and the share whose lists are
 * equivalent up to float rounding (the two lists' scores, recomputed in
 * double, equal rank by rank within 1e-5 |u| max|item|: what differs are
 * near-ties at the K-th place).
 *
 * Last line: `ratio <median cltower users/s / median Faiss users/s>`. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/exact.h"
#include "serve/faiss_shim.h"
#include "util/common.h"
#include "util/npy.h"
#include "util/rng.h"
#include "util/timer.h"

static const char k_usage[] =
    "usage: bench_eval_faiss ITEMS.npy USERS.npy [K=50] [THREADS=2] [RUNS=3]\n"
    "       bench_eval_faiss --synthetic N_ITEMS N_USERS DIM [K=50] [THREADS=2] [RUNS=3]\n";

typedef struct {
    float *items, *users; /* (n_items, d), (n_users, d) */
    int64_t n_items, n_users;
    int d;
} Vectors;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0; /* descending */
}

static double median(double *v, int n)
{
    double *s = xmalloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

static int load(const char *items, const char *users, Vectors *v, Err *err)
{
    int64_t si[4], su[4];
    int ni, nu;
    if (npy_read_f32(items, &v->items, si, &ni, err) < 0) return -1;
    if (npy_read_f32(users, &v->users, su, &nu, err) < 0) return -1;
    if (ni != 2) return err_set(err, "%s: expected (n_items, d), got %d dimensions", items, ni);
    if (nu < 2 || nu > 3 || su[nu - 1] != si[1])
        return err_set(err, "%s: expected (n_users, %lld) or (n_users, I, %lld)", users, (long long)si[1],
                       (long long)si[1]);
    v->n_items = si[0], v->d = (int)si[1];
    v->n_users = nu == 3 ? su[0] * su[1] : su[0];
    if (nu == 3) printf("%s: %lld users x %lld interests, searched as %lld queries\n", users, (long long)su[0],
                        (long long)su[1], (long long)v->n_users);
    return 0;
}

static void synthesize(int64_t n_items, int64_t n_users, int d, Vectors *v)
{
    Rng r;
    rng_seed(&r, 1, RNG_SYNTH);
    v->n_items = n_items, v->n_users = n_users, v->d = d;
    v->items = xalloc_floats((size_t)n_items * d);
    v->users = xalloc_floats((size_t)n_users * d);
    for (int64_t i = 0; i < n_items * d; i++) v->items[i] = rng_normal(&r);
    for (int64_t i = 0; i < n_users * d; i++) v->users[i] = rng_normal(&r);
}

static double dot(const float *a, const float *b, int d)
{
    double s = 0;
    for (int c = 0; c < d; c++) s += (double)a[c] * b[c];
    return s;
}

typedef struct {
    double overlap; /* mean |A ∩ B| / K */
    double same;    /* share of users with A == B as sets */
    double equiv;   /* share whose rank-by-rank scores agree within rounding */
} Agreement;

static Agreement agreement(const Vectors *v, int k, const ScoredItem *ours, const int64_t *theirs)
{
    int64_t *mark = xmalloc((size_t)v->n_items * sizeof *mark);
    for (int64_t i = 0; i < v->n_items; i++) mark[i] = -1;
    double max_norm = 0;
    for (int64_t i = 0; i < v->n_items; i++) {
        const float *x = v->items + i * v->d;
        max_norm = fmax(max_norm, sqrt(dot(x, x, v->d)));
    }
    double *sa = xmalloc((size_t)k * sizeof *sa), *sb = xmalloc((size_t)k * sizeof *sb);
    int64_t hits = 0, same = 0, equiv = 0;
    for (int64_t u = 0; u < v->n_users; u++) {
        const ScoredItem *a = ours + u * k;
        const int64_t *b = theirs + u * k;
        const float *q = v->users + u * v->d;
        int n = 0, common = 0;
        for (int j = 0; j < k; j++)
            if (a[j].item >= 0) mark[a[j].item] = u, n++;
        for (int j = 0; j < k; j++) common += b[j] >= 0 && mark[b[j]] == u;
        hits += common;
        if (common == n) {
            same++, equiv++;
            continue;
        }
        for (int j = 0; j < k; j++) {
            sa[j] = a[j].item >= 0 ? dot(q, v->items + (int64_t)a[j].item * v->d, v->d) : -INFINITY;
            sb[j] = b[j] >= 0 ? dot(q, v->items + b[j] * v->d, v->d) : -INFINITY;
        }
        qsort(sa, (size_t)k, sizeof *sa, cmp_double);
        qsort(sb, (size_t)k, sizeof *sb, cmp_double);
        double tol = 1e-5 * sqrt(dot(q, q, v->d)) * max_norm;
        int ok = 1;
        for (int j = 0; j < k && ok; j++) ok = fabs(sa[j] - sb[j]) <= tol;
        equiv += ok;
    }
    free(mark), free(sa), free(sb);
    double n = (double)MAX(v->n_users, 1);
    return (Agreement){(double)hits / ((double)k * n), same / n, equiv / n};
}

int main(int argc, char **argv)
{
    Vectors v;
    Err err;
    int a = 1;
    if (argc > 1 && !strcmp(argv[1], "--synthetic")) {
        if (argc < 5) return fputs(k_usage, stderr), 2;
        long long ni = atoll(argv[2]), nu = atoll(argv[3]);
        int d = atoi(argv[4]);
        if (ni < 1 || nu < 1 || d < 1 || ni > INT32_MAX) return fputs(k_usage, stderr), 2;
        synthesize(ni, nu, d, &v);
        a = 5;
    } else {
        if (argc < 3 || argv[1][0] == '-') return fputs(k_usage, stderr), 2;
        if (load(argv[1], argv[2], &v, &err) < 0) return fprintf(stderr, "bench_eval_faiss: %s\n", err.msg), 1;
        a = 3;
    }
    int k = argc > a ? atoi(argv[a]) : 50;
    int threads = argc > a + 1 ? atoi(argv[a + 1]) : 2;
    int runs = argc > a + 2 ? atoi(argv[a + 2]) : 3;
    if (k < 1 || k > v.n_items || threads < 1 || runs < 1 || v.n_users > INT32_MAX)
        return fputs(k_usage, stderr), 2;
    omp_set_num_threads(threads);

    FaissParams fp = {"flat", 0, 0, 0, 0, 0, 0};
    double t0 = now_seconds();
    FaissIndex *ix = faiss_build(&fp, v.items, v.n_items, v.d, &err);
    if (!ix) return fprintf(stderr, "bench_eval_faiss: %s\n", err.msg), 1;
    double build_s = now_seconds() - t0;

    ExactTopK x = {v.items, (int32_t)v.n_items, v.d, 1, k, NULL, NULL};
    ExactWork *work = exact_work_new(&x, exact_call_users(x.n_items, 1));
    ScoredItem *ours = xmalloc((size_t)v.n_users * k * sizeof *ours);
    int64_t *theirs = xmalloc((size_t)v.n_users * k * sizeof *theirs);

    printf("eval_vs_faiss: %lld items x %lld users, dim %d, top-%d, %d thread(s), %d run(s), %d cores\n",
           (long long)v.n_items, (long long)v.n_users, v.d, k, threads, runs, omp_get_num_procs());
    printf("  no exclusion of seen items on either side (Faiss cannot exclude per query)\n");
    printf("  faiss IndexFlatIP built (add) in %.3f s\n", build_s);

    int warm = (int)MIN(v.n_users, 1024);
    exact_topk(&x, v.users, warm, work, ours);
    if (faiss_search(ix, v.users, warm, k, theirs, &err) < 0)
        return fprintf(stderr, "bench_eval_faiss: %s\n", err.msg), 1;

    double *ups_c = xmalloc((size_t)runs * sizeof *ups_c), *ups_f = xmalloc((size_t)runs * sizeof *ups_f);
    for (int r = 0; r < runs; r++) {
        for (int side = 0; side < 2; side++) {
            int cl = (side == 0) == (r % 2 == 0); /* run 1: cltower first */
            t0 = now_seconds();
            if (cl) {
                exact_topk(&x, v.users, v.n_users, work, ours);
            } else if (faiss_search(ix, v.users, (int)v.n_users, k, theirs, &err) < 0) {
                return fprintf(stderr, "bench_eval_faiss: %s\n", err.msg), 1;
            }
            double ups = (double)v.n_users / (now_seconds() - t0);
            (cl ? ups_c : ups_f)[r] = ups;
        }
        printf("  run %d: cltower %.0f users/s, faiss %.0f users/s (%s first)\n", r + 1, ups_c[r], ups_f[r],
               r % 2 == 0 ? "cltower" : "faiss");
    }
    Agreement ag = agreement(&v, k, ours, theirs);
    double mc = median(ups_c, runs), mf = median(ups_f, runs);
    printf("cltower exact top-%d (src/eval/exact.c): median %.0f users/s\n", k, mc);
    printf("faiss IndexFlatIP search:              median %.0f users/s\n", mf);
    printf("agreement: mean overlap@%d %.6f; identical id sets %.6f of users; equal up to float rounding at ties "
           "%.6f\n", k, ag.overlap, ag.same, ag.equiv);
    printf("ratio %.3f\n", mc / mf);

    faiss_free(ix);
    exact_work_free(work);
    free(v.items), free(v.users), free(ours), free(theirs), free(ups_c), free(ups_f);
    return 0;
}
