/* Serving: the request parser on good and bad bodies, and the retriever
 * against exact evaluation (single- and multi-interest models, with and
 * without a Faiss index). */
#include <math.h>

#include "eval/evaluate.h"
#include "model_fixture.h"
#include "serve/export.h"
#include "serve/request.h"
#include "test.h"

/* Parses text from an exact-length heap copy (no NUL after it), so the
 * sanitizer build catches any read past the body. */
static int parse(const char *text, RecRequest *r, Err *err)
{
    size_t len = strlen(text);
    char *body = xmalloc(len ? len : 1);
    memcpy(body, text, len);
    int rc = request_parse(body, len, r, err);
    free(body);
    return rc;
}

TEST(request_parse_good)
{
    RecRequest r;
    Err err;
    REQUIRE(parse(" {\"user\": \"A17\"}\n", &r, &err) == 0);
    CHECK_STR(r.user, "A17");
    CHECK(r.history == NULL);
    CHECK_EQ_INT(r.k, REQ_DEFAULT_K);
    CHECK_EQ_INT(r.exclude_seen, 1);
    request_free(&r);
    REQUIRE(parse("{\"history\": [\"3\", \"x y\", \"\\u00e9\"], \"k\": 1000, \"exclude_seen\": false}", &r, &err) == 0);
    CHECK(r.user == NULL);
    CHECK_EQ_INT(r.n_history, 3);
    CHECK_STR(r.history[1], "x y");
    CHECK_STR(r.history[2], "\xc3\xa9");
    CHECK_EQ_INT(r.k, 1000);
    CHECK_EQ_INT(r.exclude_seen, 0);
    RecQuery q = request_query(&r);
    CHECK_EQ_INT(q.n_history, 3);
    CHECK(q.user == NULL);
    request_free(&r);
}

TEST(request_parse_bad)
{
    static const char *const bad[] = {
        "", "   ", "{", "[]", "null", "\"user\"", "{}", "{\"user\": 5}", "{\"user\": null}",
        "{\"user\": \"1\", \"history\": [\"a\"]}", "{\"history\": []}", "{\"history\": [1]}",
        "{\"history\": [\"a\", null]}", "{\"history\": \"a\"}", "{\"k\": 5}", "{\"user\": \"1\", \"k\": 0}",
        "{\"user\": \"1\", \"k\": 1001}", "{\"user\": \"1\", \"k\": 2.5}", "{\"user\": \"1\", \"k\": \"5\"}",
        "{\"user\": \"1\", \"k\": 1e308}", "{\"user\": \"1\", \"k\": -1}", "{\"user\": \"1\", \"exclude_seen\": 1}",
        "{\"user\": \"1\", \"user\": \"2\"}", "{\"user\": \"1\"} x", "{\"user\": \"1\"}{}", "{\"User\": \"1\"}",
        "{\"user\": \"1\", \"exclude_sen\": true}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        "{\"user\": \"1\"", "{\"history\": [\"a\",]}", "\xff\xfe{}",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        RecRequest r;
        Err err = {""};
        if (parse(bad[i], &r, &err) == 0) {
            test_fail(__FILE__, __LINE__, "accepted bad request %s", bad[i]);
            request_free(&r);
        } else if (!err.msg[0] || strchr(err.msg, '\n')) {
            test_fail(__FILE__, __LINE__, "no one-line message for %s", bad[i]);
        }
    }
    /* A NUL inside the body ends nothing: what follows it is still data. */
    RecRequest r;
    Err err;
    CHECK(request_parse("{\"user\": \"1\"}\0{}", 16, &r, &err) < 0);
    /* Too many history items. */
    size_t n = RETR_MAX_HISTORY + 1, len = 0;
    char *big = xmalloc(16 + 4 * n);
    len += (size_t)sprintf(big, "{\"history\":[");
    for (size_t i = 0; i < n; i++) len += (size_t)sprintf(big + len, "%s\"1\"", i ? "," : "");
    len += (size_t)sprintf(big + len, "]}");
    CHECK(request_parse(big, len, &r, &err) < 0);
    free(big);
}

/* max over interests of u_q . v_i, in double: the reference score. */
static double ref_score(const Retriever *R, const float *U, int32_t item)
{
    double best = -INFINITY;
    for (int q = 0; q < R->K; q++) {
        double s = 0;
        for (int d = 0; d < R->D; d++) s += (double)U[q * R->D + d] * R->items[(int64_t)item * R->D + d];
        best = MAX(best, s);
    }
    return best;
}

/* The retriever's top-k for every test user's history equals evaluate()'s
 * ranked list: same ids, except where two scores tie within float rounding
 * (the retriever sums dot products in another order than sgemm). */
static void check_against_evaluate(const char *model, int exclude_seen)
{
    ModelFixture f;
    fixture_data(&f, 60, 10, 40, 31);
    REQUIRE(fixture_model(&f, model, "interests=3") == 0);
    enum { K = 20 };
    IntList ks = {{K}, 1};
    EvalOptions eo = {ks, exclude_seen, 1, "test"};
    const EvalSet *es = &f.split.test;
    int32_t *ranked = xmalloc((size_t)es->n * K * sizeof *ranked);
    Metrics met;
    evaluate(f.m, &f.ds, es, &eo, &met, ranked, NULL);
    Retriever R;
    retriever_init(&R, f.m, &f.ds);
    RetrScratch s;
    retr_scratch_init(&s);
    ScoredItem out[K];
    float *U = xmalloc((size_t)R.K * R.D * sizeof *U);
    int same = 0, total = 0, compared = 0;
    for (int32_t e = 0; e < es->n; e++) {
        const int32_t *seq = ds_user_seq(&f.ds, es->user[e]);
        Hist h = {seq, es->hist_len[e], es->user[e]};
        int target_seen = 0;
        for (int32_t j = 0; j < h.len; j++) target_seen |= seq[j] == seq[h.len];
        if (exclude_seen && target_seen) continue; /* evaluation keeps a seen target rankable */
        Err err;
        int n = retriever_rank(&R, &s, &h, K, exclude_seen, out, &err);
        retriever_user_vectors(&R, &h, 1, U);
        compared++;
        for (int j = 0; j < K; j++) {
            int32_t want = ranked[(int64_t)e * K + j];
            if (j >= n) {
                CHECK(want < 0);
                continue;
            }
            total++, same += out[j].item == want;
            CHECK_NEAR(out[j].score, ref_score(&R, U, out[j].item), 1e-4);
            if (want >= 0) CHECK_NEAR(ref_score(&R, U, out[j].item), ref_score(&R, U, want), 1e-4);
            for (int32_t t = 0; exclude_seen && t < h.len; t++) CHECK(out[j].item != seq[t]);
        }
    }
    CHECK(compared > es->n / 2);
    CHECK(same >= total * 95 / 100);
    free(U), free(ranked);
    retr_scratch_free(&s);
    retriever_close(&R);
    fixture_free(&f);
}

TEST(retriever_equals_evaluate_youtubednn) { check_against_evaluate("youtubednn", 0); }
TEST(retriever_equals_evaluate_youtubednn_exclude_seen) { check_against_evaluate("youtubednn", 1); }
TEST(retriever_equals_evaluate_mind_multi_interest) { check_against_evaluate("mind", 1); }
TEST(retriever_equals_evaluate_comirec_sa) { check_against_evaluate("comirec-sa", 0); }

TEST(retriever_query_raw_ids_and_errors)
{
    ModelFixture f;
    fixture_data(&f, 30, 8, 25, 32);
    REQUIRE(fixture_model(&f, "youtubednn", NULL) == 0);
    Retriever R;
    retriever_init(&R, f.m, &f.ds);
    RetrScratch s;
    retr_scratch_init(&s);
    ScoredItem out[30], ref[30];
    int n;
    Err err;
    /* A known user = their whole sequence, seen items excluded. */
    RecQuery q = {"7", NULL, 0, 30, 1};
    REQUIRE(retriever_query(&R, &s, &q, out, &n, &err) == RETR_OK);
    int32_t u = strtab_find(&f.ds.user_ids, "7", 1);
    Hist h = {ds_user_seq(&f.ds, u), ds_user_len(&f.ds, u), u};
    int m = retriever_rank(&R, &s, &h, 30, 1, ref, &err);
    CHECK_EQ_INT(n, m);
    CHECK(n < 25 && n > 0); /* fewer than k once seen items are gone */
    for (int j = 0; j < MIN(n, m); j++) CHECK_EQ_INT(out[j].item, ref[j].item);
    /* A history of raw item ids. */
    char *hist[] = {"3", "10", "4"};
    q = (RecQuery){NULL, hist, 3, 5, 1};
    REQUIRE(retriever_query(&R, &s, &q, out, &n, &err) == RETR_OK);
    CHECK_EQ_INT(n, 5);
    for (int j = 0; j < n; j++)
        for (int t = 0; t < 3; t++) CHECK(strcmp(retriever_item_id(&R, out[j].item), hist[t]) != 0);
    q.user = "no-such-user";
    CHECK_EQ_INT(retriever_query(&R, &s, &q, out, &n, &err), RETR_UNKNOWN_ID);
    CHECK(strstr(err.msg, "no-such-user") != NULL);
    char *bad_hist[] = {"3", "zzz"};
    q = (RecQuery){NULL, bad_hist, 2, 5, 1};
    CHECK_EQ_INT(retriever_query(&R, &s, &q, out, &n, &err), RETR_UNKNOWN_ID);
    CHECK(strstr(err.msg, "history[1]") != NULL);
    q = (RecQuery){"7", NULL, 0, 0, 1};
    CHECK_EQ_INT(retriever_query(&R, &s, &q, out, &n, &err), RETR_BAD_QUERY);
    retr_scratch_free(&s);
    retriever_close(&R);
    fixture_free(&f);
}

/* On a tiny catalogue every index kind finds the exact answer; an index of
 * the wrong size is refused. */
TEST(retriever_faiss_index_recall)
{
    static const char *const kinds[] = {"hnsw", "ivf", "flat"};
    for (int i = 0; i < 3; i++) {
        ModelFixture f;
        fixture_data(&f, 40, 8, 60, 33);
        REQUIRE(fixture_model(&f, i ? "mind" : "youtubednn", NULL) == 0);
        Retriever R;
        retriever_init(&R, f.m, &f.ds);
        FaissParams p = {"", 16, 100, 200, 1, 1, 0};
        snprintf(p.kind, sizeof p.kind, "%s", kinds[i]);
        Err err;
        FaissIndex *ix = faiss_build(&p, R.items, R.n_items, R.D, &err);
        REQUIRE(ix != NULL);
        REQUIRE(retriever_set_index(&R, ix, &err) == 0);
        AnnReport rep;
        REQUIRE(ann_report(&R, 30, 10, &rep, &err) == 0);
        CHECK_EQ_INT(rep.queries, 30);
        CHECK_NEAR(rep.recall, 1.0, 1e-9);
        FaissIndex *small = faiss_build(&p, R.items, R.n_items - 1, R.D, &err);
        REQUIRE(small != NULL);
        CHECK(retriever_set_index(&R, small, &err) < 0); /* freed on refusal */
        CHECK(strstr(err.msg, "another run") != NULL);
        float *other = xmalloc((size_t)R.n_items * R.D * sizeof *other); /* same shape, other vectors */
        for (int64_t j = 0; j < (int64_t)R.n_items * R.D; j++) other[j] = 2 * R.items[j] + 0.5f;
        FaissIndex *wrong = faiss_build(&p, other, R.n_items, R.D, &err);
        REQUIRE(wrong != NULL);
        CHECK(retriever_set_index(&R, wrong, &err) < 0);
        CHECK(strstr(err.msg, "differs") != NULL);
        free(other);
        retriever_close(&R);
        fixture_free(&f);
    }
}

/* The MIPS-to-L2 HNSW form (faiss_shim.h) finds the largest inner products
 * and hides its extra coordinate: 3000 random items with norms spread over
 * 0.2 .. 3, 40 queries, recall@10 against brute force; reconstruct gives the
 * item vector back. (The 300k-item case where plain inner-product HNSW
 * fails is in docs/SERVING.md; it takes minutes to build.) */
TEST(faiss_hnsw_mips_recall_with_varied_norms)
{
    enum { N = 3000, D = 8, Q = 40, K = 10 };
    Rng r;
    rng_seed(&r, 9, 1);
    float *x = xmalloc((size_t)N * D * sizeof *x), q[Q * D];
    for (int i = 0; i < N; i++) {
        float scale = 0.2f + 2.8f * rng_float(&r);
        for (int d = 0; d < D; d++) x[i * D + d] = scale * rng_normal(&r) / sqrtf(D);
    }
    for (int i = 0; i < Q * D; i++) q[i] = rng_normal(&r);
    FaissParams p = {"hnsw", 16, 100, 64, 0, 0, 0};
    Err err;
    FaissIndex *ix = faiss_build(&p, x, N, D, &err);
    REQUIRE(ix != NULL);
    CHECK_EQ_INT(faiss_dim(ix), D);
    float back[D];
    REQUIRE(faiss_reconstruct(ix, 17, back, &err) == 0);
    for (int d = 0; d < D; d++) CHECK_NEAR(back[d], x[17 * D + d], 1e-6);
    int64_t ids[Q * K];
    REQUIRE(faiss_search(ix, q, Q, K, ids, &err) == 0);
    float *scores = xmalloc(N * sizeof *scores);
    int hits = 0;
    for (int j = 0; j < Q; j++) {
        for (int i = 0; i < N; i++) {
            scores[i] = 0;
            for (int d = 0; d < D; d++) scores[i] += q[j * D + d] * x[i * D + d];
        }
        ScoredItem best[K];
        topk_select(scores, N, K, best);
        for (int a = 0; a < K; a++)
            for (int b = 0; b < K; b++) hits += ids[j * K + a] == best[b].item;
    }
    CHECK(hits >= Q * K * 95 / 100);
    free(scores), free(x);
    faiss_free(ix);
}
