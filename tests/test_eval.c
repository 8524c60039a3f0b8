/* Evaluation: exact top-K against a brute-force sort, the tie rule,
 * multi-interest merging, metric definitions on hand-computed cases, and the
 * whole evaluator against an independent brute-force MostPop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/buckets.h"
#include "eval/evaluate.h"
#include "eval/exact.h"
#include "eval/topk.h"
#include "gradcheck.h"
#include "model_fixture.h"
#include "nn/layers.h"
#include "test.h"

static int cmp_ref(const void *pa, const void *pb)
{
    const ScoredItem *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->item - b->item;
}

/* Scores of item i under a test pattern: each one drives topk_select down a
 * different path (sampled threshold kept, many buffer compactions, the
 * sampled guess too high so the row is rescanned). */
static float pattern_score(Rng *r, int pattern, int i)
{
    if (rng_below(r, 10) == 0) return -INFINITY; /* excluded */
    switch (pattern) {
    case 0: return (float)rng_below(r, 20);          /* coarse: many ties */
    case 1: return rng_float(r);                   /* continuous */
    case 2: return (float)i;                         /* increasing: every item enters */
    default: return i % 32 == 0 ? 1000.0f + (float)i : rng_float(r); /* the sample holds the best */
    }
}

TEST(topk_matches_full_sort_with_ties_and_exclusions)
{
    Rng r;
    rng_seed(&r, 11, 1);
    enum { N = 40000, KMAX = 700 };
    float *s = test_floats(N);
    ScoredItem *ref = malloc(N * sizeof *ref), *got = malloc(KMAX * sizeof *got);
    for (int trial = 0; trial < 48; trial++) {
        int pattern = trial % 4, big = trial % 3 == 0;
        int n = 1 + (int)rng_below(&r, big ? N : 3000);
        int k = 1 + (int)rng_below(&r, big ? KMAX : 64), m = 0;
        for (int i = 0; i < n; i++) {
            s[i] = pattern_score(&r, pattern, i);
            if (s[i] != -INFINITY) ref[m++] = (ScoredItem){s[i], i};
        }
        qsort(ref, (size_t)m, sizeof *ref, cmp_ref);
        int c = topk_select(s, n, k, got);
        CHECK_EQ_INT(c, MIN(k, m));
        for (int j = 0; j < c; j++) {
            CHECK_EQ_INT(got[j].item, ref[j].item);
            CHECK(got[j].score == ref[j].score);
        }
    }
    free(ref), free(got);
}

TEST(topk_merge_deduplicates_interests)
{
    ScoredItem lists[6] = {{0.9f, 4}, {0.5f, 2}, {0.1f, 7}, {0.8f, 2}, {0.7f, 4}, {0.6f, 3}};
    ScoredItem work[6], out[3];
    int n = topk_merge(lists, 2, 3, work, out);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(out[0].item, 4); /* 0.9 */
    CHECK_EQ_INT(out[1].item, 2); /* 0.8 (its 0.5 copy is dropped) */
    CHECK_EQ_INT(out[2].item, 3); /* 0.6 */
}

/* Checks out (n_users, k) against a full sort of each user's items by their
 * best interest score (exact in float with small integer vectors, whatever
 * sgemm's summation order), the items excluded(user, i) left out and the
 * list padded past the finite ones. */
typedef int (*ExcludedFn)(int64_t user, int32_t item);

static void check_against_sort(const float *items, int32_t n_items, const float *U, int n_users, int n_int, int d,
                               int k, ExcludedFn excluded, const ScoredItem *out)
{
    ScoredItem *ref = xmalloc((size_t)n_items * sizeof *ref);
    for (int u = 0; u < n_users; u++) {
        int m = 0;
        for (int32_t i = 0; i < n_items; i++) {
            if (excluded && excluded(u, i)) continue;
            float best = -INFINITY;
            for (int q = 0; q < n_int; q++) {
                float s = 0;
                for (int c = 0; c < d; c++) s += U[((int64_t)u * n_int + q) * d + c] * items[(int64_t)i * d + c];
                best = MAX(best, s);
            }
            ref[m++] = (ScoredItem){best, i};
        }
        qsort(ref, (size_t)m, sizeof *ref, cmp_ref);
        for (int j = 0; j < k; j++) {
            ScoredItem want = j < m ? ref[j] : (ScoredItem){-INFINITY, -1};
            CHECK_EQ_INT(out[(int64_t)u * k + j].item, want.item);
            CHECK(out[(int64_t)u * k + j].score == want.score);
        }
    }
    free(ref);
}

/* exact_topk on plain buffers against a full sort, with many ties: several
 * blocks of users, an exclusion rule, and two interests per user (whose
 * merged list is the top-k by each item's best interest score). */
static int every_7th(int64_t user, int32_t i) { return (user + i) % 7 == 0; }

static void exclude_every_7th(void *ctx, int64_t user, float *scores, int32_t begin, int32_t end)
{
    for (int32_t i = begin; i < end; i++)
        if (every_7th(user, i)) scores[i - begin] = -INFINITY;
}

TEST(exact_topk_matches_full_sort_over_blocks)
{
    enum { N_ITEMS = 500, N_USERS = 300, D = 4, K = 20 };
    Rng r;
    rng_seed(&r, 5, 1);
    float *items = test_floats(N_ITEMS * D), *U = test_floats(2 * N_USERS * D);
    for (int i = 0; i < N_ITEMS * D; i++) items[i] = (float)rng_below(&r, 5) - 2;
    for (int i = 0; i < 2 * N_USERS * D; i++) U[i] = (float)rng_below(&r, 5) - 2;
    CHECK(exact_block_users(N_ITEMS, 1) < N_USERS);
    ScoredItem *out = xmalloc((size_t)N_USERS * K * sizeof *out);
    for (int n_int = 1; n_int <= 2; n_int++)
        for (int excl = 0; excl <= 1; excl++) {
            ExactTopK x = {items, N_ITEMS, D, n_int, K, excl ? exclude_every_7th : NULL, NULL};
            exact_topk(&x, U, N_USERS, NULL, out);
            check_against_sort(items, N_ITEMS, U, N_USERS, n_int, D, K, excl ? every_7th : NULL, out);
        }
    free(out);
}

/* The tiled kernel across several item tiles (the last one wider, taking the
 * remainder) against a brute-force full sort. Each user gets one exclusion
 * pattern: none; runs of items straddling every tile boundary; every 7th
 * item; all but a few items (fewer finite items than k: padding); all items. */
enum { TILED_ITEMS = 3 * EXACT_TILE_ITEMS + 517, TILED_D = 4 };

static int tiled_excluded(int64_t user, int32_t i)
{
    int32_t to_edge = i % EXACT_TILE_ITEMS; /* distance past the last tile start */
    switch (user % 5) {
    case 1: return to_edge < 9 || to_edge >= EXACT_TILE_ITEMS - 9;
    case 2: return every_7th(user, i);
    case 3: return i % 997 != user % 997; /* ~4 finite items */
    case 4: return 1;
    default: return 0;
    }
}

static void exclude_tiled(void *ctx, int64_t user, float *scores, int32_t begin, int32_t end)
{
    int64_t *calls = ctx; /* counts the calls and those with a bad range (called in parallel) */
    __atomic_fetch_add(&calls[0], 1, __ATOMIC_RELAXED);
    if (begin < 0 || end > TILED_ITEMS || begin >= end) __atomic_fetch_add(&calls[1], 1, __ATOMIC_RELAXED);
    for (int32_t i = begin; i < end; i++)
        if (tiled_excluded(user, i)) scores[i - begin] = -INFINITY;
}

TEST(exact_topk_tiled_matches_full_sort)
{
    enum { N_USERS = 150, KMAX = 300 };
    Rng r;
    rng_seed(&r, 9, 1);
    float *items = test_floats(TILED_ITEMS * TILED_D), *U = test_floats(3 * N_USERS * TILED_D);
    for (int i = 0; i < TILED_ITEMS * TILED_D; i++) items[i] = (float)rng_below(&r, 5) - 2;
    for (int i = 0; i < 3 * N_USERS * TILED_D; i++) U[i] = (float)rng_below(&r, 5) - 2;
    CHECK(TILED_ITEMS % EXACT_TILE_ITEMS != 0);
    CHECK(exact_block_users(TILED_ITEMS, 3) < N_USERS);
    ScoredItem *out = xmalloc((size_t)N_USERS * KMAX * sizeof *out);
    int ks[3] = {1, 20, KMAX};
    for (int n_int = 1; n_int <= 3; n_int += 2)
        for (int ki = 0; ki < 3; ki++) {
            int64_t calls[2] = {0, 0};
            ExactTopK x = {items, TILED_ITEMS, TILED_D, n_int, ks[ki], exclude_tiled, calls};
            ExactWork *w = ki == 1 ? exact_work_new(&x, exact_block_users(TILED_ITEMS, n_int)) : NULL;
            exact_topk(&x, U, N_USERS, w, out); /* a workspace passed in, or made for the call */
            exact_work_free(w);
            check_against_sort(items, TILED_ITEMS, U, N_USERS, n_int, TILED_D, ks[ki], tiled_excluded, out);
            /* every tile of every row, and again for rows whose sampled guess proved too high:
             * those of users with every item excluded always do, but k = 300 is too large for
             * a guess from a 136-item sample */
            int64_t once = (int64_t)N_USERS * n_int * (TILED_ITEMS / EXACT_TILE_ITEMS);
            CHECK(ks[ki] < KMAX ? calls[0] > once : calls[0] == once);
            CHECK_EQ_INT(calls[1], 0);
        }
    free(out);
}

static void pad_list(ScoredItem *list, int from, int k)
{
    for (int j = from; j < k; j++) list[j] = (ScoredItem){-INFINITY, -1};
}

/* The tiled kernel ranks like one sgemm per block of users against all items
 * followed by topk_select on each full row (the untiled kernel): random
 * floats, blocks of 128 + 3 users and of 1 user, catalogues of one and of
 * several tiles, several interests, and a tiny catalogue (whose small
 * products OpenBLAS computes with its small-matrix kernel). With OpenBLAS's
 * SkylakeX kernel every score is bit for bit the untiled one; its Haswell
 * kernel (chosen on AMD EPYC) rounds a tile's product differently from the
 * full row's in the last bits, so scores are compared to within SCORE_TOL and
 * an item may differ from the untiled list only where the two scores are that
 * close (a near tie), never by more. */
static const double SCORE_TOL = 1e-4; /* scores here are ~N(0, 64); observed differences ~1e-5 */

static void check_matches_untiled(int32_t n_items, int n_users, int n_int)
{
    enum { D = 64, K = 50 };
    Rng r;
    rng_seed(&r, 3, (uint64_t)n_items * 7 + (uint64_t)n_users);
    float *items = xalloc_floats((size_t)n_items * D), *U = xalloc_floats((size_t)n_users * n_int * D);
    for (int64_t i = 0; i < (int64_t)n_items * D; i++) items[i] = rng_normal(&r);
    for (int64_t i = 0; i < (int64_t)n_users * n_int * D; i++) U[i] = rng_normal(&r);
    ExactTopK x = {items, n_items, D, n_int, K, NULL, NULL};
    ScoredItem *out = xmalloc((size_t)n_users * K * sizeof *out), *lists = xmalloc((size_t)n_int * K * sizeof *lists);
    ScoredItem *work = xmalloc((size_t)n_int * K * sizeof *work), want[K];
    exact_topk(&x, U, n_users, NULL, out);
    int bu = exact_block_users(n_items, n_int);
    float *scores = xalloc_floats((size_t)bu * n_int * n_items);
    for (int first = 0; first < n_users; first += bu) {
        int nb = MIN(bu, n_users - first);
        matmul_nt(scores, U + (int64_t)first * n_int * D, items, (int64_t)nb * n_int, n_items, D, 1.0f, 0.0f);
        for (int b = 0; b < nb; b++) {
            for (int q = 0; q < n_int; q++) {
                const float *row = scores + ((int64_t)b * n_int + q) * n_items;
                pad_list(lists + q * K, topk_select(row, n_items, K, lists + q * K), K);
            }
            if (n_int == 1) memcpy(want, lists, sizeof want);
            else pad_list(want, topk_merge(lists, n_int, K, work, want), K);
            for (int j = 0; j < K; j++) {
                const ScoredItem *got = &out[(int64_t)(first + b) * K + j];
                if (got->item == want[j].item && got->score == want[j].score) continue; /* padding too */
                CHECK_NEAR(got->score, want[j].score, SCORE_TOL);
                if (got->item == want[j].item || got->item < 0) continue;
                /* a swap: the untiled score of the item we returned must tie with the one it displaced */
                float untiled = -INFINITY;
                for (int q = 0; q < n_int; q++)
                    untiled = fmaxf(untiled, scores[((int64_t)b * n_int + q) * n_items + got->item]);
                CHECK_NEAR(untiled, want[j].score, SCORE_TOL);
            }
        }
    }
    free(items), free(U), free(out), free(lists), free(work), free(scores);
}

TEST(exact_topk_matches_untiled)
{
    check_matches_untiled(2 * EXACT_TILE_ITEMS + 300, 131, 1);
    check_matches_untiled(2 * EXACT_TILE_ITEMS + 300, 1, 1);
    check_matches_untiled(EXACT_TILE_ITEMS + 7, 131, 2);
    check_matches_untiled(2 * EXACT_TILE_ITEMS + 300, 131, 3);
    check_matches_untiled(40, 131, 1);
    check_matches_untiled(40, 1, 1);
}

TEST(metrics_hand_computed)
{
    IntList ks = {{1, 2, 4}, 3};
    Metrics m;
    metrics_init(&m, &ks);
    int32_t ranked[4] = {5, 3, 9, 1}, targets[3] = {3, 7, 3}; /* repeated target counts once */
    metrics_add_user(&m, ranked, 4, targets, 3);
    int32_t ranked2[4] = {8, 6, 4, 2}, targets2[1] = {8};
    metrics_add_user(&m, ranked2, 4, targets2, 1);
    metrics_finish(&m);
    CHECK_EQ_INT(m.users, 2);
    CHECK_NEAR(metrics_get(&m, "HR@1"), 0.5, 1e-12);
    CHECK_NEAR(metrics_get(&m, "HR@2"), 1.0, 1e-12);
    CHECK_NEAR(metrics_get(&m, "Recall@2"), (0.5 + 1.0) / 2, 1e-12);
    double ndcg_u1 = (1 / log2(3.0)) / (1 + 1 / log2(3.0)); /* hit at rank 2, ideal 2 hits */
    CHECK_NEAR(metrics_get(&m, "NDCG@2"), (ndcg_u1 + 1.0) / 2, 1e-12);
    CHECK_NEAR(metrics_get(&m, "NDCG@1"), 0.5, 1e-12); /* ideal over min(1, 2) = 1 hit */
    CHECK_NEAR(metrics_get(&m, "NDCG@50"), -1, 0);    /* unknown cut-off */
}

/* Brute force: rank every item by (count desc, id asc), skip the history
 * except targets, take HR@10 — no shared code with the evaluator. */
static double brute_mostpop_hr10(const ModelFixture *f, const EvalSet *es)
{
    int32_t n = f->cat.n_items;
    ScoredItem *all = xmalloc((size_t)n * sizeof *all);
    for (int32_t i = 0; i < n; i++) all[i] = (ScoredItem){(float)f->cat.count[i], i};
    qsort(all, (size_t)n, sizeof *all, cmp_ref);
    double hits = 0;
    for (int32_t e = 0; e < es->n; e++) {
        const int32_t *seq = ds_user_seq(&f->ds, es->user[e]);
        int32_t target = seq[es->hist_len[e]], taken = 0;
        for (int32_t j = 0; j < n && taken < 10; j++) {
            int seen = 0;
            for (int32_t h = 0; h < es->hist_len[e]; h++) seen |= seq[h] == all[j].item && all[j].item != target;
            if (seen) continue;
            if (all[j].item == target) hits++;
            taken++;
        }
    }
    free(all);
    return hits / es->n;
}

TEST(evaluate_mostpop_equals_brute_force)
{
    ModelFixture f;
    fixture_data(&f, 60, 8, 25, 21);
    REQUIRE(fixture_model(&f, "mostpop", NULL) == 0);
    IntList ks = {{10}, 1};
    EvalOptions eo = {ks, 1, 1, "test"};
    Metrics m;
    evaluate(f.m, &f.ds, &f.split.test, &eo, &m, NULL, NULL);
    CHECK_EQ_INT(m.users, f.split.test.n);
    CHECK_NEAR(m.hr[0], brute_mostpop_hr10(&f, &f.split.test), 1e-12);
    CHECK(m.hr[0] > 0 && m.hr[0] < 1); /* the fixture is not degenerate */
    fixture_free(&f);
}

TEST(evaluate_ranked_lists_exclude_history)
{
    ModelFixture f;
    fixture_data(&f, 30, 8, 25, 22);
    REQUIRE(fixture_model(&f, "youtubednn", NULL) == 0);
    IntList ks = {{5, 20}, 2};
    EvalOptions eo = {ks, 1, 1, "valid"};
    Metrics m;
    const EvalSet *es = &f.split.valid;
    int32_t *ranked = xmalloc((size_t)es->n * 20 * sizeof *ranked);
    evaluate(f.m, &f.ds, es, &eo, &m, ranked, NULL);
    int violations = 0;
    for (int32_t e = 0; e < es->n; e++) {
        const int32_t *seq = ds_user_seq(&f.ds, es->user[e]);
        int32_t target = seq[es->hist_len[e]];
        for (int j = 0; j < 20; j++)
            for (int32_t h = 0; h < es->hist_len[e]; h++)
                violations += ranked[e * 20 + j] == seq[h] && seq[h] != target;
    }
    CHECK_EQ_INT(violations, 0);
    free(ranked);
    fixture_free(&f);
}

static float dot_f(const float *a, const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
    return (float)s;
}

/* SEEN_ZERO: history items score 0 and compete with the rest, so on an
 * untrained model (about half the scores negative) they enter the lists. */
TEST(evaluate_seen_zero_ranks_history_at_score_zero)
{
    ModelFixture f;
    fixture_data(&f, 30, 8, 25, 23);
    REQUIRE(fixture_model(&f, "youtubednn", NULL) == 0);
    IntList ks = {{10}, 1};
    EvalOptions eo = {ks, SEEN_ZERO, 1, "valid"};
    const EvalSet *es = &f.split.valid;
    int32_t n_items = f.cat.n_items, dim = f.m->dim, *ranked = xmalloc((size_t)es->n * 10 * sizeof *ranked);
    Metrics m;
    evaluate(f.m, &f.ds, es, &eo, &m, ranked, NULL);
    float *items = xalloc_floats((size_t)n_items * dim), *u = xalloc_floats((size_t)es->n * dim);
    Hist *h = xmalloc((size_t)es->n * sizeof *h);
    for (int32_t e = 0; e < es->n; e++) h[e] = (Hist){ds_user_seq(&f.ds, es->user[e]), es->hist_len[e], es->user[e]};
    f.m->cls->item_vectors(f.m, items);
    f.m->cls->user_vectors(f.m, h, es->n, u);
    float *score = xalloc_floats(n_items);
    int misordered = 0, history_listed = 0;
    for (int32_t e = 0; e < es->n; e++) {
        const int32_t *seq = h[e].items;
        for (int32_t i = 0; i < n_items; i++) score[i] = dot_f(u + (int64_t)e * dim, items + (int64_t)i * dim, dim);
        for (int32_t j = 0; j < h[e].len; j++)
            if (seq[j] != seq[h[e].len]) score[seq[j]] = 0.0f;
        const int32_t *list = ranked + e * 10;
        unsigned char *in_list = calloc((size_t)n_items, 1);
        for (int j = 0; j < 10; j++) {
            in_list[list[j]] = 1;
            misordered += j > 0 && score[list[j]] > score[list[j - 1]] + 1e-5f;
            for (int32_t k = 0; k < h[e].len; k++) history_listed += list[j] == seq[k] && seq[k] != seq[h[e].len];
        }
        for (int32_t i = 0; i < n_items; i++) misordered += !in_list[i] && score[i] > score[list[9]] + 1e-5f;
        free(in_list);
    }
    CHECK_EQ_INT(misordered, 0);
    CHECK(history_listed > 0);
    free(score), free(h), free(u), free(items), free(ranked);
    fixture_free(&f);
}

TEST(bucket_report_hand_computed)
{
    /* 10 items with counts 0..9 (item i has count i): bucket b = items {2b, 2b+1}.
     * 5 users (loo-style, one target each) with history lengths 1..5. */
    Dataset ds;
    memset(&ds, 0, sizeof ds);
    int64_t ptr[6] = {0, 2, 5, 9, 14, 20};
    int32_t seq[20] = {9, 0,  9, 8, 1,  9, 8, 7, 5,  9, 8, 7, 6, 9,  9, 8, 7, 6, 5, 4};
    ds.n_users = 5, ds.user_ptr = ptr, ds.seq = seq;
    int32_t users[5] = {0, 1, 2, 3, 4}, hist[5] = {1, 2, 3, 4, 5}, end[5] = {2, 3, 4, 5, 6};
    EvalSet es = {5, users, hist, end};
    Catalog cat;
    memset(&cat, 0, sizeof cat);
    int64_t count[10];
    for (int i = 0; i < 10; i++) count[i] = i;
    cat.n_items = 10, cat.count = count;
    /* targets: 0 (bucket 0), 1 (0), 5 (2), 9 (4), 4 (2); ranked lists (k=2): */
    int32_t ranked[5 * 2] = {0, 3,  2, 3,  5, 6,  1, 2,  3, 4};
    BucketReport r;
    bucket_report(&r, &ds, &es, &cat, ranked, 2, 2);
    CHECK_EQ_INT(r.pop_targets[0], 2);
    CHECK_NEAR(r.pop_recall[0], 0.5, 1e-12);  /* target 0 hit, target 1 missed */
    CHECK_EQ_INT(r.pop_targets[2], 2);
    CHECK_NEAR(r.pop_recall[2], 1.0, 1e-12);  /* 5 and 4 both hit */
    CHECK_NEAR(r.pop_recall[4], 0.0, 1e-12);  /* 9 missed */
    CHECK_EQ_INT(r.short_users, 1);           /* the shortest fifth: user 0 */
    CHECK_NEAR(r.short_hr, 1.0, 1e-12);
}
