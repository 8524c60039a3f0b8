/* Tests of the synthetic dataset generator (src/data/synth.c) and `cltower synth`:
 * determinism, the statistics it promises, the comirec round trip, the
 * sequential signal the models are meant to find, presets and the CLI. */
#include <fcntl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "data/loader.h"
#include "data/synth.h"
#include "test.h"
#include "util/fileio.h"

/* The demo preset scaled down so that every test runs in milliseconds. */
static SynthOptions small_opts(int users, int items)
{
    SynthOptions o;
    Err err;
    if (synth_defaults(&o, "demo", &err) < 0) die("%s", err.msg);
    o.users = users, o.items = items, o.quiet = 1;
    return o;
}

static char *out_dir(const char *name) { return path_join(test_tmpdir(), name); }

static char *slurp(const char *dir, const char *file, size_t *len)
{
    char *path = path_join(dir, file), *buf = NULL;
    Err err;
    if (read_whole_file(path, &buf, len, &err) < 0) buf = NULL;
    free(path);
    return buf;
}

static int same_file(const char *dir_a, const char *dir_b, const char *file)
{
    size_t la, lb;
    char *a = slurp(dir_a, file, &la), *b = slurp(dir_b, file, &lb);
    int same = a && b && la == lb && memcmp(a, b, la) == 0;
    free(a), free(b);
    return same;
}

TEST(synth_same_seed_same_bytes)
{
    SynthOptions o = small_opts(400, 300);
    char *a = out_dir("det_a"), *b = out_dir("det_b"), *c = out_dir("det_c");
    Err err;
    REQUIRE(synth_write(&o, a, NULL, &err) == 0);
    REQUIRE(synth_write(&o, b, NULL, &err) == 0);
    o.seed++;
    REQUIRE(synth_write(&o, c, NULL, &err) == 0);
    CHECK(same_file(a, b, "interactions.csv"));
    CHECK(same_file(a, b, "README.md"));
    CHECK(!same_file(a, c, "interactions.csv"));
    free(a), free(b), free(c);
}

/* Every user has its own RNG stream: adding users leaves the others unchanged. */
TEST(synth_users_are_prefix_stable)
{
    SynthOptions o = small_opts(150, 400);
    SynthData small, big;
    Err err;
    REQUIRE(synth_generate(&o, &small, &err) == 0);
    o.users = 300;
    REQUIRE(synth_generate(&o, &big, &err) == 0);
    int64_t n = small.n_inter;
    CHECK_EQ_INT(big.user_ptr[150], n);
    CHECK(memcmp(small.item, big.item, (size_t)n * sizeof *small.item) == 0);
    CHECK(memcmp(small.time, big.time, (size_t)n * sizeof *small.time) == 0);
    synth_data_free(&small), synth_data_free(&big);
}

/* Ids in range, no repeated item within a user, lengths within [min, cap],
 * strictly increasing time. Returns the number of violations. */
static int64_t count_violations(const SynthData *d, int min_len, int max_len)
{
    int64_t bad = 0;
    int32_t *stamp = xcalloc((size_t)d->n_items, sizeof *stamp);
    for (int32_t u = 0; u < d->n_users; u++) {
        int64_t b = d->user_ptr[u], e = d->user_ptr[u + 1];
        bad += e - b < min_len || e - b > max_len;
        for (int64_t k = b; k < e; k++) {
            int32_t it = d->item[k];
            if (it < 0 || it >= d->n_items) {
                bad++;
                continue;
            }
            bad += stamp[it] == u + 1;
            stamp[it] = u + 1;
            bad += k > b && d->time[k] <= d->time[k - 1];
        }
    }
    for (int32_t i = 0; i < d->n_items; i++) bad += d->item_cate[i] < 0 || d->item_cate[i] >= d->n_cates;
    free(stamp);
    return bad;
}

TEST(synth_statistics_in_range)
{
    SynthOptions o = small_opts(2000, 1000);
    SynthData d;
    Err err;
    REQUIRE(synth_generate(&o, &d, &err) == 0);
    CHECK_EQ_INT(d.n_users, 2000);
    CHECK_EQ_INT(count_violations(&d, o.min_len, o.max_len), 0);
    SynthStats s;
    synth_stats(&d, &s);
    CHECK_EQ_INT(s.users, 2000);
    CHECK_EQ_INT(s.len_min, o.min_len);
    CHECK_NEAR(s.len_mean, o.mean_len, 0.15 * o.mean_len); /* heavy tail: loose */
    CHECK(s.len_median < s.len_mean);                      /* right-skewed */
    CHECK(s.top20_share > 0.5);
    CHECK(s.top1_share > 0.03);
    CHECK(s.items_lt5 > 0);
    CHECK(s.items_used > 900);
    CHECK_EQ_INT(s.cates_used, o.cates);
    synth_data_free(&d);
}

TEST(synth_min_len_and_cap)
{
    SynthOptions o = small_opts(500, 400);
    o.min_len = 9, o.mean_len = 12, o.max_len = 40;
    SynthData d;
    Err err;
    REQUIRE(synth_generate(&o, &d, &err) == 0);
    CHECK_EQ_INT(count_violations(&d, 9, 40), 0);
    synth_data_free(&d);
    o.len_sigma = 0; /* no spread: every sequence has exactly the mean length */
    REQUIRE(synth_generate(&o, &d, &err) == 0);
    CHECK_EQ_INT(count_violations(&d, 12, 12), 0);
    synth_data_free(&d);
    o.min_len = 250; /* more than half of the 400 items: refused */
    o.mean_len = 260, o.max_len = 300;
    CHECK(synth_generate(&o, &d, &err) < 0);
}

/* Most frequent category in cates[0..n) (ties: the smallest id). */
static int32_t mode_category(const int32_t *count, int32_t n_cates)
{
    int32_t best = 0;
    for (int32_t c = 1; c < n_cates; c++)
        if (count[c] > count[best]) best = c;
    return best;
}

/* Predicting the next item's category: "category of the last item" must beat
 * "most frequent category of the whole history" — the generator's short-term
 * drift is what sequence models can exploit and mean pooling cannot. */
TEST(synth_recent_items_predict_better_than_history)
{
    SynthOptions o = small_opts(1500, 800);
    SynthData d;
    Err err;
    REQUIRE(synth_generate(&o, &d, &err) == 0);
    int32_t *count = xcalloc((size_t)d.n_cates, sizeof *count);
    int64_t n = 0, hit_last = 0, hit_mode = 0;
    for (int32_t u = 0; u < d.n_users; u++) {
        memset(count, 0, (size_t)d.n_cates * sizeof *count);
        for (int64_t k = d.user_ptr[u]; k < d.user_ptr[u + 1]; k++) {
            int32_t cat = d.item_cate[d.item[k]];
            if (k > d.user_ptr[u]) {
                n++;
                hit_last += cat == d.item_cate[d.item[k - 1]];
                hit_mode += cat == mode_category(count, d.n_cates);
            }
            count[cat]++;
        }
    }
    double acc_last = (double)hit_last / n, acc_mode = (double)hit_mode / n;
    CHECK(acc_last > acc_mode + 0.1);
    CHECK(acc_mode > 0.2); /* but the long-term taste is informative too */
    SynthStats s;
    synth_stats(&d, &s);
    CHECK_NEAR(s.same_cate_next, acc_last, 1e-12);
    CHECK(s.same_cate_next > 4 * s.same_cate_chance);
    CHECK(s.succ_share > 0.5 * o.p_succ && s.succ_share < 1.5 * o.p_succ);
    free(count);
    synth_data_free(&d);
}

/* Without drift, successors or exploration the sequences are nearly
 * category-pure; with everything random they are not: the knobs do what
 * they say. */
TEST(synth_drift_knobs_move_the_signal)
{
    SynthOptions o = small_opts(600, 600);
    o.p_drift = 0, o.p_succ = 0;
    SynthData d;
    SynthStats sticky, loose;
    Err err;
    REQUIRE(synth_generate(&o, &d, &err) == 0);
    synth_stats(&d, &sticky);
    synth_data_free(&d);
    o.p_drift = 1, o.p_explore = 1;
    REQUIRE(synth_generate(&o, &d, &err) == 0);
    synth_stats(&d, &loose);
    synth_data_free(&d);
    CHECK(sticky.same_cate_next > 0.9);
    CHECK_NEAR(sticky.succ_share, 0, 1e-12);
    CHECK(loose.same_cate_next < 0.5 * sticky.same_cate_next);
}

TEST(synth_output_loads_as_comirec)
{
    SynthOptions o = small_opts(300, 400);
    char *dir = out_dir("comirec");
    Err err;
    SynthStats s;
    REQUIRE(synth_write(&o, dir, &s, &err) == 0);
    char *csv = path_join(dir, "interactions.csv");
    LoadOptions lo = {.path = csv, .format = "comirec"};
    Dataset ds;
    int rc = dataset_load(&lo, &ds, &err);
    if (rc < 0) fprintf(stderr, "    %s\n", err.msg);
    REQUIRE(rc == 0);
    CHECK_EQ_INT(ds.n_users, 300);
    CHECK_EQ_INT(ds.n_inter, s.inter);
    CHECK_EQ_INT(ds.n_items, s.items_used);
    CHECK_EQ_INT(ds.n_feats, s.cates_used);
    for (int32_t i = 0; i < ds.n_items; i++) CHECK_EQ_INT(ds.feat_ptr[i + 1] - ds.feat_ptr[i], 1);
    /* Users come back in generation order with their items in generation order. */
    SynthData d;
    REQUIRE(synth_generate(&o, &d, &err) == 0);
    int64_t mismatches = 0;
    for (int32_t u = 0; u < ds.n_users; u++) {
        mismatches += atoll(strtab_get(&ds.user_ids, u)) != u + 1;
        for (int64_t k = ds.user_ptr[u]; k < ds.user_ptr[u + 1]; k++)
            mismatches += atoll(strtab_get(&ds.item_ids, ds.seq[k])) != d.item[k] + 1;
    }
    CHECK_EQ_INT(mismatches, 0);
    synth_data_free(&d);
    dataset_free(&ds);
    free(csv), free(dir);
}

TEST(synth_presets)
{
    SynthOptions o;
    Err err;
    REQUIRE(synth_defaults(&o, "books", &err) == 0);
    CHECK_EQ_INT(o.users, 459133);
    CHECK_EQ_INT(o.items, 313966);
    CHECK_EQ_INT(o.cates, 1600);
    CHECK_NEAR(o.mean_len, 19.4, 1e-9);
    CHECK(synth_check(&o, &err) == 0);
    REQUIRE(synth_defaults(&o, "tmall", &err) == 0);
    CHECK_EQ_INT(o.users, 424170);
    CHECK_EQ_INT(o.items, 1090390);
    CHECK_EQ_INT(o.cates, 1658);
    CHECK(synth_check(&o, &err) == 0);
    REQUIRE(synth_defaults(&o, NULL, &err) == 0);
    CHECK_STR(o.preset, "demo");
    CHECK_EQ_INT(o.users, 6000);
    CHECK(synth_check(&o, &err) == 0);
    CHECK(synth_defaults(&o, "movies", &err) < 0);
    CHECK(strstr(err.msg, "movies") != NULL);
}

/* Runs cmd_synth with stdout and stderr silenced (help text, usage errors). */
static int run_synth(int argc, const char **argv)
{
    fflush(stdout), fflush(stderr);
    int out = dup(1), errfd = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 1), dup2(null, 2);
    int rc = cmd_synth(argc, (char **)argv);
    fflush(stdout), fflush(stderr);
    dup2(out, 1), dup2(errfd, 2);
    close(out), close(errfd), close(null);
    return rc;
}

TEST(synth_cli)
{
    char *dir = out_dir("cli");
    const char *ok[] = {"--out", dir, "--preset", "books", "--users", "120", "--items", "500", "--cates", "20",
                        "--topics", "5", "--quiet"};
    CHECK_EQ_INT(run_synth((int)ARRAY_LEN(ok), ok), EXIT_OK);
    size_t len;
    char *readme = slurp(dir, "README.md", &len);
    REQUIRE(readme != NULL);
    CHECK(strstr(readme, "preset = books\n") != NULL);
    CHECK(strstr(readme, "users = 120\n") != NULL);      /* explicit option wins */
    CHECK(strstr(readme, "mean-len = 19.4\n") != NULL);  /* preset value kept */
    CHECK(strstr(readme, "| users | 120 |") != NULL);
    free(readme);
    char *csv = slurp(dir, "interactions.csv", &len);
    CHECK(csv && !strncmp(csv, "1,", 2) && csv[len - 1] == '\n');
    free(csv);

    const char *help[] = {"--help"};
    CHECK_EQ_INT(run_synth(1, help), EXIT_OK);
    const char *unknown[] = {"--out", dir, "--bogus", "1"};
    CHECK_EQ_INT(run_synth(4, unknown), EXIT_USAGE);
    const char *bad_value[] = {"--out", dir, "--users", "many"};
    CHECK_EQ_INT(run_synth(4, bad_value), EXIT_USAGE);
    const char *bad_preset[] = {"--out", dir, "--preset", "movies"};
    CHECK_EQ_INT(run_synth(4, bad_preset), EXIT_USAGE);
    const char *no_out[] = {"--users", "10"};
    CHECK_EQ_INT(run_synth(2, no_out), EXIT_USAGE);
    const char *inconsistent[] = {"--out", dir, "--items", "100", "--cates", "200"};
    CHECK_EQ_INT(run_synth(6, inconsistent), EXIT_USAGE);
    char *blocker = path_join(dir, "README.md"); /* a file where the directory should be */
    const char *not_dir[] = {"--out", blocker, "--users", "10", "--quiet"};
    CHECK_EQ_INT(run_synth(5, not_dir), EXIT_FAIL);
    free(blocker), free(dir);
}
