/* Protocols: leave-one-out and ComiRec's user split, on a hand-made log. */
#include <stdio.h>

#include "data/loader.h"
#include "data/split.h"
#include "test.h"

static void make_dataset(Dataset *ds, int users)
{
    EventLog log;
    evlog_init(&log);
    char u[16], it[16];
    for (int x = 0; x < users; x++) {
        snprintf(u, sizeof u, "u%03d", x);
        int n = 1 + x % 11; /* lengths 1..11 */
        for (int t = 0; t < n; t++) {
            snprintf(it, sizeof it, "%d", (x + t) % 17);
            evlog_add(&log, u, strlen(u), it, strlen(it), t);
        }
    }
    BuildOptions bo = {0};
    Err err;
    if (dataset_build(&log, &bo, ds, &err) < 0) die("%s", err.msg);
}

TEST(split_loo_holds_out_last_two)
{
    Dataset ds;
    make_dataset(&ds, 40);
    Split s;
    Err err;
    REQUIRE(split_make(&ds, PROTO_LOO, 1, &s, &err) == 0);
    int eligible = 0;
    for (int32_t u = 0; u < ds.n_users; u++) {
        int32_t n = ds_user_len(&ds, u);
        CHECK_EQ_INT(s.train_len[u], n >= 3 ? n - 2 : n);
        eligible += n >= 3;
    }
    CHECK_EQ_INT(s.valid.n, eligible);
    CHECK_EQ_INT(s.test.n, eligible);
    for (int32_t e = 0; e < s.test.n; e++) {
        int32_t n = ds_user_len(&ds, s.test.user[e]);
        CHECK_EQ_INT(s.test.hist_len[e], n - 1);
        CHECK_EQ_INT(s.test.tgt_end[e], n);
        CHECK_EQ_INT(s.valid.hist_len[e], n - 2);
    }
    Example *ex;
    int64_t n_ex = split_examples(&s, ds.n_users, 0, &ex);
    int64_t expect = 0;
    for (int32_t u = 0; u < ds.n_users; u++) expect += s.train_len[u] >= 2 ? s.train_len[u] - 1 : 0;
    CHECK_EQ_INT(n_ex, expect);
    CHECK(ex[0].pos >= 1);
    free(ex);
    split_free(&s);
    dataset_free(&ds);
}

TEST(split_comirec_users_80_10_10_and_history_80_percent)
{
    Dataset ds;
    make_dataset(&ds, 200);
    Split a, b, c;
    Err err;
    REQUIRE(split_make(&ds, PROTO_COMIREC, 7, &a, &err) == 0);
    REQUIRE(split_make(&ds, PROTO_COMIREC, 7, &b, &err) == 0);
    REQUIRE(split_make(&ds, PROTO_COMIREC, 8, &c, &err) == 0);
    int train_users = 0;
    for (int32_t u = 0; u < ds.n_users; u++) train_users += a.train_len[u] > 0;
    CHECK_EQ_INT(train_users, 160);
    /* valid/test users: 20 each minus those too short for a history + target (length 1) */
    CHECK(a.valid.n <= 20 && a.valid.n >= 15);
    CHECK(a.test.n <= 20 && a.test.n >= 15);
    for (int32_t e = 0; e < a.test.n; e++) {
        int32_t u = a.test.user[e], n = ds_user_len(&ds, u);
        CHECK_EQ_INT(a.train_len[u], 0); /* eval users are unseen in training */
        CHECK_EQ_INT(a.test.hist_len[e], (int32_t)(n * 0.8));
        CHECK_EQ_INT(a.test.tgt_end[e], n);
    }
    CHECK(memcmp(a.train_len, b.train_len, (size_t)ds.n_users * sizeof(int32_t)) == 0); /* same seed */
    CHECK(memcmp(a.train_len, c.train_len, (size_t)ds.n_users * sizeof(int32_t)) != 0); /* other seed */
    split_free(&a), split_free(&b), split_free(&c);
    dataset_free(&ds);
}

TEST(split_refuses_data_without_eval_users)
{
    Dataset ds;
    EventLog log;
    evlog_init(&log);
    evlog_add(&log, "a", 1, "1", 1, 0);
    evlog_add(&log, "a", 1, "2", 1, 1);
    BuildOptions bo = {0};
    Err err;
    REQUIRE(dataset_build(&log, &bo, &ds, &err) == 0);
    Split s;
    CHECK_EQ_INT(split_make(&ds, PROTO_LOO, 1, &s, &err), -1);
    CHECK(strstr(err.msg, "valid") != NULL);
    dataset_free(&ds);
}
