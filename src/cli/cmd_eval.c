/* cltower eval — re-evaluate a trained run with exact full-corpus ranking. */
#include <stddef.h>
#include <stdio.h>

#include "cli/cli.h"
#include "eval/evaluate.h"
#include "eval/report.h"
#include "train/run.h"

typedef struct {
    char run[OPT_STR_MAX];
    char split[8];
    char exclude_seen[8];
    IntList ks;
    int json, threads, quiet;
} EvalArgs;

#define F(x) offsetof(EvalArgs, x)
static const OptSpec EVAL_OPTS[] = {
    {"run", OPT_STR, F(run), "", "run directory written by cltower train", 0, 0, NULL},
    {"split", OPT_STR, F(split), "test", "which held-out users to evaluate", 0, 0, "valid|test"},
    {"exclude-seen", OPT_STR, F(exclude_seen), "run", "history items in the ranking (run: as the run was trained)", 0, 0,
     "run|auto|true|false|zero"},
    {"k", OPT_INT_LIST, F(ks), "10,20,50", "metric cut-offs", 1, 100000, NULL},
    {"json", OPT_BOOL, F(json), "false", "print JSON instead of a table", 0, 0, NULL},
    {"threads", OPT_INT, F(threads), "0", "threads (0 = all cores)", 0, 1024, NULL},
    {"quiet", OPT_BOOL, F(quiet), "false", "no progress output", 0, 0, NULL},
};

static void print_result(const EvalArgs *a, const Run *r, const Metrics *m, const BucketReport *bk, int nb,
                         double secs)
{
    if (a->json) {
        JsonWriter w;
        jw_init(&w, stdout, 1);
        jw_object_begin(&w, NULL);
        jw_string(&w, "model", r->rc.model);
        jw_string(&w, "protocol", r->rc.protocol);
        report_metrics_json(&w, a->split, m);
        report_buckets_json(&w, "buckets", bk, nb);
        jw_number(&w, "eval_seconds", secs);
        jw_number(&w, "eval_users_per_second", secs > 0 ? (double)m->users / secs : 0);
        jw_object_end(&w);
        return;
    }
    const char *names[1] = {a->split};
    const Metrics *ms[1] = {m};
    printf("model %s, protocol %s, %lld users in %.2fs (%.0f users/s)\n", r->rc.model, r->rc.protocol,
           (long long)m->users, secs, secs > 0 ? (double)m->users / secs : 0);
    report_table(stdout, names, ms, 1);
    for (int i = 0; i < nb; i++)
        printf("@%d: Recall by item popularity (least .. most popular fifth) %.4f %.4f %.4f %.4f %.4f; "
               "HR of the 20%% shortest histories %.4f\n", bk[i].k, bk[i].pop_recall[0], bk[i].pop_recall[1],
               bk[i].pop_recall[2], bk[i].pop_recall[3], bk[i].pop_recall[4], bk[i].short_hr);
}

int cmd_eval(int argc, char **argv)
{
    EvalArgs a;
    Err err;
    int help, n = (int)ARRAY_LEN(EVAL_OPTS);
    opt_defaults(EVAL_OPTS, n, &a);
    if (opt_parse_argv(EVAL_OPTS, n, &a, argc, argv, &help, &err) < 0) return cli_error("eval", EXIT_USAGE, err.msg);
    if (help) {
        opt_print_help(EVAL_OPTS, n, "usage: cltower eval --run RUN_DIR [--split valid|test] [--k 10,20,50] [--json]",
                       stdout);
        return EXIT_OK;
    }
    if (!a.run[0]) return cli_error("eval", EXIT_USAGE, "--run is required");
    run_set_threads(a.threads);
    Run r;
    if (run_open(&r, a.run, &err) < 0) return cli_error("eval", EXIT_FAIL, err.msg);
    if (strcmp(a.exclude_seen, "run") != 0) snprintf(r.rc.exclude_seen, sizeof r.rc.exclude_seen, "%s", a.exclude_seen);
    EvalOptions eo = {a.ks, run_config_exclude_seen(&r.rc, r.split.protocol), a.quiet, a.split};
    Metrics m;
    double secs;
    BucketReport bk[OPT_LIST_MAX];
    int nb;
    evaluate_with_buckets(r.m, &r.ds, !strcmp(a.split, "valid") ? &r.split.valid : &r.split.test, &eo, &m, bk, &nb,
                          &secs);
    print_result(&a, &r, &m, bk, nb, secs);
    run_close(&r);
    return EXIT_OK;
}
