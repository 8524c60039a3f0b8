/* cltower compare's writers: reading a run's metrics.json back, the bold
 * best of each markdown column (ties, missing values, untrained baselines),
 * the chart's axis and bar geometry, and duration formatting. */
#include <stdlib.h>

#include "eval/results.h"
#include "test.h"

/* A metrics.json as run_write_metrics writes it (the fields results read). */
static const char *metrics_json(const char *model, double hr10, double train_s, int best)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"model\": \"%s\", \"test\": {\"HR@10\": %g, \"Recall@10\": %g, \"NDCG@10\": 0.05, \"HR@50\": 0.5, "
             "\"Recall@50\": 0.4, \"NDCG@50\": 0.1, \"users\": 300},\n"
             "\"test_buckets\": [{\"k\": 10, \"popularity_recall\": [9, 9, 9, 9, 9], \"popularity_targets\": [1, 1, 1, 1, 1]},\n"
             "  {\"k\": 50, \"popularity_recall\": [0.1, 0.2, 0.3, 0.4, 0.5], \"popularity_targets\": [10, 20, 30, 40, 50]}],\n"
             "\"train_seconds\": %g, \"best_epoch\": %d, \"epochs_run\": %d}",
             model, hr10, hr10, train_s, best, best ? best + 3 : 0);
    return buf;
}

/* The writer's output (valid until the next call). */
static const char *render(void (*fn)(FILE *, const Comparison *), const Comparison *c)
{
    static char out[1 << 16];
    memset(out, 0, sizeof out);
    FILE *f = fmemopen(out, sizeof out - 1, "w");
    fn(f, c);
    fclose(f);
    return out;
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* Three runs: mostpop (untrained) and two tied on HR@10; k = 10, 20, 50. */
static void three_rows(ResultRow rows[3], IntList *ks, Err *err)
{
    parse_int_list("10,20,50", ks, 1, 1000, err);
    const char *spec[3][2] = {{"mostpop", "0"}, {"sasrec", "120"}, {"gru4rec", "60"}};
    double hr[3] = {0.1, 0.3, 0.3};
    for (int i = 0; i < 3; i++) {
        const char *path = test_write_file(spec[i][0], metrics_json(spec[i][0], hr[i], atof(spec[i][1]), i ? 7 : 0));
        CHECK(results_read_run(&rows[i], path, ks, 50, err) == 0);
    }
}

TEST(results_read_run_takes_metrics_and_the_chart_buckets)
{
    ResultRow rows[3];
    IntList ks;
    Err err;
    three_rows(rows, &ks, &err);
    CHECK_STR(rows[1].model, "sasrec");
    CHECK_NEAR(rows[1].test.hr[0], 0.3, 1e-12);
    CHECK_NEAR(rows[1].test.recall[2], 0.4, 1e-12);
    CHECK(isnan(rows[1].test.hr[1])); /* no @20 in the file */
    CHECK_EQ_INT(rows[1].test.users, 300);
    CHECK_EQ_INT(rows[1].best_epoch, 7);
    CHECK_EQ_INT(rows[1].epochs_run, 10);
    CHECK(rows[1].has_buckets);
    CHECK_NEAR(rows[1].pop_recall[4], 0.5, 1e-12); /* the k = 50 entry, not k = 10 */
    CHECK_EQ_INT(rows[1].pop_targets[2], 30);
    ResultRow r;
    CHECK(results_read_run(&r, test_write_file("notmetrics.json", "{\"a\": 1}"), &ks, 50, &err) < 0);
    CHECK(strstr(err.msg, "notmetrics.json") != NULL);
}

TEST(results_markdown_bolds_the_best_of_each_column)
{
    ResultRow rows[3];
    IntList ks;
    Err err;
    three_rows(rows, &ks, &err);
    Comparison c = {"cltower compare --models mostpop,sasrec,gru4rec", "data/x.csv", "comirec", "loo", 300, 150, 4000,
                    16, 3500, 300, 300, ks, 50, rows, 3};
    const char *md = render(results_markdown, &c);
    CHECK(strstr(md, "cltower compare --models mostpop,sasrec,gru4rec") != NULL);
    CHECK(strstr(md, "300 users, 150 items, 4000 interactions") != NULL);
    /* HR@10 tie: both bold; mostpop has no train time or epoch; gru4rec trains fastest. */
    CHECK(strstr(md, "| mostpop | 0.1000 | — | **0.5000** |") != NULL);
    CHECK(strstr(md, "| sasrec | **0.3000** |") != NULL);
    CHECK(strstr(md, "| gru4rec | **0.3000** |") != NULL);
    CHECK(strstr(md, "| — | — |\n") != NULL);
    CHECK(strstr(md, "| 2m00s | 7 of 10 |") != NULL);
    CHECK(strstr(md, "| **1m00s** | 7 of 10 |") != NULL);
    CHECK(strstr(md, "recall50_by_popularity.svg") != NULL);
}

TEST(results_svg_draws_a_bar_per_model_and_bucket)
{
    ResultRow rows[3];
    IntList ks;
    Err err;
    three_rows(rows, &ks, &err);
    rows[2].has_buckets = 0;
    snprintf(rows[0].model, sizeof rows[0].model, "a<b&c");
    Comparison c = {"cmd", "data/x.csv", "comirec", "comirec", 0, 0, 0, 0, 0, 0, 0, ks, 50, rows, 3};
    const char *svg = render(results_svg, &c);
    CHECK_EQ_INT(count(svg, "<title>"), 2 * 5);         /* a tooltip per bar */
    CHECK_EQ_INT(count(svg, "<rect"), 1 + 2 * 5 + 3);    /* background, bars, legend swatches */
    CHECK(strstr(svg, "a&lt;b&amp;c") != NULL && !strstr(svg, "a<b"));
    CHECK(strstr(svg, "gru4rec (no data)") != NULL);
    CHECK(strstr(svg, "50 targets") != NULL);
    CHECK(strstr(svg, "</svg>\n") != NULL);
}

TEST(results_axis_and_duration)
{
    double top, step;
    results_axis(0.43, &top, &step);
    CHECK_NEAR(step, 0.1, 1e-12);
    CHECK_NEAR(top, 0.5, 1e-12);
    results_axis(1.0, &top, &step);
    CHECK_NEAR(step, 0.2, 1e-12);
    CHECK_NEAR(top, 1.0, 1e-12);
    results_axis(0.0071, &top, &step);
    CHECK_NEAR(step, 0.002, 1e-12);
    CHECK_NEAR(top, 0.008, 1e-12);
    results_axis(0, &top, &step); /* nothing to draw: still a valid axis */
    CHECK(top > 0 && step > 0);
    char b[32];
    results_duration(4.24, b, sizeof b);
    CHECK_STR(b, "4.2s");
    results_duration(42, b, sizeof b);
    CHECK_STR(b, "42s");
    results_duration(185, b, sizeof b);
    CHECK_STR(b, "3m05s");
    results_duration(7620, b, sizeof b);
    CHECK_STR(b, "2h07m");
}
