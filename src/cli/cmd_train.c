/* cltower train — load data, split, train with early stopping, write RUN_DIR;
 * or continue an interrupted run from its checkpoint (--resume RUN_DIR). */
#include <stddef.h>
#include <stdio.h>

#include "cli/cli.h"
#include "eval/report.h"
#include "train/run.h"
#include "util/fileio.h"

static const char *USAGE =
    "usage: cltower train --data PATH --format FMT --model MODEL --protocol PROTO --out RUN_DIR [options]\n"
    "       cltower train --resume RUN_DIR [--threads N] [--quiet]\n\n"
    "Trains a two-tower model with early stopping on the valid split and writes RUN_DIR/\n"
    "{config, model.bin, items.tsv, features.tsv, metrics.json, train_log.jsonl}.\n"
    "While it trains, RUN_DIR/checkpoint.bin holds the state at the last epoch end (or the last\n"
    "--checkpoint-every steps); --resume continues an interrupted run from there, with the\n"
    "configuration in RUN_DIR/config, to the same result as an uninterrupted run.";

static void print_help(void)
{
    opt_print_help(g_run_options, g_n_run_options, USAGE, stdout);
    printf("\nModels (each model's own defaults override the ones above):\n");
    for (int i = 0; i < model_count(); i++) {
        const ModelClass *c = model_class_at(i);
        printf("  %-12s %s\n", c->name, c->summary);
        if (c->defaults) printf("  %-12s defaults: %s\n", "", c->defaults);
    }
}

static void print_summary(const Run *r, const TrainResult *res)
{
    const char *names[2] = {"valid", "test"};
    const Metrics *ms[2] = {&res->valid, &res->test};
    printf("model %s, protocol %s, best epoch %d of %d, %.0f train examples/s, test eval %.0f users/s\n",
           r->rc.model, r->rc.protocol, res->best_epoch, res->epochs_run, res->examples_per_second,
           res->eval_seconds > 0 ? (double)res->test.users / res->eval_seconds : 0);
    report_table(stdout, names, ms, 2);
    printf("run written to %s\n", r->rc.out);
}

/* ---- --resume RUN_DIR ----------------------------------------------------------- */

typedef struct ResumeArgs {
    char dir[OPT_STR_MAX];
    int threads;   /* -1: as the run was started */
    int quiet;
} ResumeArgs;

static const OptSpec g_resume_options[] = {
    {"resume", OPT_STR, offsetof(ResumeArgs, dir), "", "run directory to continue", 0, 0, NULL},
    {"threads", OPT_INT, offsetof(ResumeArgs, threads), "-1", "threads (-1: as the run was started)", -1, 1024, NULL},
    {"quiet", OPT_BOOL, offsetof(ResumeArgs, quiet), "false", "no progress output", 0, 0, NULL},
};
static const int g_n_resume_options = (int)ARRAY_LEN(g_resume_options);

static int has_resume(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--resume") || !strncmp(argv[i], "--resume=", 9)) return 1;
    return 0;
}

static int cmd_resume(int argc, char **argv)
{
    ResumeArgs a;
    Err err;
    int help;
    opt_defaults(g_resume_options, g_n_resume_options, &a);
    if (opt_parse_argv(g_resume_options, g_n_resume_options, &a, argc, argv, &help, &err) < 0)
        return cli_error("train", EXIT_USAGE, err.msg);
    if (help) {
        opt_print_help(g_resume_options, g_n_resume_options, USAGE, stdout);
        return EXIT_OK;
    }
    if (!a.dir[0]) return cli_error("train", EXIT_USAGE, "--resume needs a run directory");
    Run r;
    TrainResult res;
    /* Unlike a fresh start, a failure leaves RUN_DIR as it was, to be resumed again. */
    int rc = run_resume(&r, a.dir, a.threads, a.quiet, &res, &err);
    if (rc == 0) print_summary(&r, &res);
    run_close(&r);
    return rc < 0 ? cli_error("train", EXIT_FAIL, err.msg) : EXIT_OK;
}

int cmd_train(int argc, char **argv)
{
    if (has_resume(argc, argv)) return cmd_resume(argc, argv);
    Run r;
    memset(&r, 0, sizeof r);
    Err err;
    int help;
    if (run_config_parse(&r.rc, argc, argv, &help, &err) < 0) return cli_error("train", EXIT_USAGE, err.msg);
    if (help) {
        print_help();
        return EXIT_OK;
    }
    if (run_config_validate(&r.rc, &err) < 0) return cli_error("train", EXIT_USAGE, err.msg);
    if (path_exists(r.rc.out) && !r.rc.overwrite)
        return cli_error("train", EXIT_USAGE, "--out directory already exists (pass --overwrite to replace it)");
    run_set_threads(r.rc.threads);
    /* Data and model come first: bad input fails before RUN_DIR exists. */
    if (run_load_data(&r, &err) < 0 || run_create_model(&r, &err) < 0) {
        run_close(&r);
        return cli_error("train", EXIT_FAIL, err.msg);
    }
    TrainResult res;
    if (run_train_into_dir(&r, &res, &err) < 0) {
        run_close(&r);
        return cli_error("train", EXIT_FAIL, err.msg);
    }
    print_summary(&r, &res);
    run_close(&r);
    return EXIT_OK;
}
