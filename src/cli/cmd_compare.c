/* cltower compare — train several models on one split of one dataset and
 * tabulate them.
 *
 * DIR/<model>/ is an ordinary run directory: what `cltower train --model
 * <model> --out DIR/<model>` with the same options writes (the model's
 * defaults under the explicit options, early stopping on valid). The data is
 * loaded and split once and shared, so every model sees the same split.
 * Models whose DIR/<model>/metrics.json exists are skipped and an interrupted
 * model continues from its checkpoint, so a comparison resumes where it
 * stopped. DIR/results.md, results.json and the
 * popularity chart are rewritten after every model, from the runs'
 * metrics.json files (eval/results.h). */
#include <stdio.h>

#include "cli/cli.h"
#include "eval/results.h"
#include "train/run.h"
#include "util/fileio.h"

enum { MODELS_MAX = 32 };

static const char *USAGE =
    "usage: cltower compare --data PATH --format FMT --protocol PROTO --models A,B,... --out DIR [options]\n\n"
    "Trains each model of --models in turn, on one split of the data, with the model's own defaults under the\n"
    "options given (exactly as `cltower train --model A` would), into DIR/A/, and writes DIR/results.md,\n"
    "DIR/results.json and DIR/recall50_by_popularity.svg (test metrics, train time, best epoch, test Recall@50\n"
    "by item popularity). Models already trained (DIR/A/metrics.json exists) are skipped; --overwrite retrains.\n\n"
    "  --models A,B,...             models to compare, in this order (required); one of each of:\n"
    "                               %s\n"
    "The training options below apply to every model (--model is replaced by --models; --out is DIR).\n"
    "See `cltower train --help` for each model's defaults.";

typedef struct Compare {
    int n;
    RunConfig rc[MODELS_MAX]; /* per model: its training configuration, out = DIR/<model> */
    ResultRow rows[MODELS_MAX];
    char dir[OPT_STR_MAX];
    char command[8192];       /* the command line, shell-quoted, for results.md */
    int chart_k;
} Compare;

static void print_help(void)
{
    char usage[2048];
    snprintf(usage, sizeof usage, USAGE, model_names());
    opt_print_help(g_run_options, g_n_run_options, usage, stdout);
}

/* Takes --models out of argv; the rest are training options. --model is
 * refused rather than silently overridden. */
static int take_models(int argc, char **argv, char **rest, int *n_rest, const char **models, Err *err)
{
    *models = NULL, *n_rest = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--models")) {
            if (i + 1 >= argc) return err_set(err, "--models needs a value");
            *models = argv[++i];
        } else if (!strncmp(a, "--models=", 9)) {
            *models = a + 9;
        } else if (!strcmp(a, "--model") || !strncmp(a, "--model=", 8)) {
            return err_set(err, "--model: compare trains the models listed by --models");
        } else {
            rest[(*n_rest)++] = argv[i];
        }
    }
    return 0;
}

/* Splits "a,b,c" into names; each must be a registered model, listed once. */
static int parse_models(const char *list, char names[][32], int *n, Err *err)
{
    *n = 0;
    if (!list || !*list) return err_set(err, "--models is required: a comma-separated list of %s", model_names());
    for (const char *p = list;; p++) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= 32) return err_set(err, "--models: bad list '%s' (expected A,B,...)", list);
        if (*n == MODELS_MAX) return err_set(err, "--models: more than %d models", MODELS_MAX);
        snprintf(names[*n], 32, "%.*s", (int)len, p);
        if (!model_class_find(names[*n]))
            return err_set(err, "--models: unknown model '%s' (expected one of: %s)", names[*n], model_names());
        for (int i = 0; i < *n; i++)
            if (!strcmp(names[i], names[*n])) return err_set(err, "--models: '%s' is listed twice", names[*n]);
        (*n)++;
        p += len;
        if (!*p) return 0;
    }
}

/* What `cltower train <options> --model <model>` would use (the command line
 * wins, so the appended --model beats a model in --config), with RUN_DIR =
 * DIR/<model>. */
static int model_config(RunConfig *rc, const char *model, int argc, char **argv, const char *dir, Err *err)
{
    char **av = xmalloc((size_t)(argc + 2) * sizeof *av);
    memcpy(av, argv, (size_t)argc * sizeof *av);
    av[argc] = (char *)"--model", av[argc + 1] = (char *)model;
    int help, ret = run_config_parse(rc, argc + 2, av, &help, err);
    free(av);
    if (ret < 0) return -1;
    if (run_config_validate(rc, err) < 0) return err_prefix(err, "model %s", model);
    if (snprintf(rc->out, sizeof rc->out, "%s/%s", dir, model) >= (int)sizeof rc->out)
        return err_set(err, "--out: path too long");
    return 0;
}

/* Appends arg to the command line, single-quoted unless it is plainly safe. */
static void append_quoted(char *cmd, size_t cap, const char *arg)
{
    size_t n = strlen(cmd);
    int plain = *arg && strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+=.,/:@%") ==
                             strlen(arg);
    n += (size_t)snprintf(cmd + n, cap - n, plain ? " %s" : " '", arg);
    for (const char *p = arg; !plain && *p && n < cap; p++)
        n += (size_t)snprintf(cmd + n, cap - n, *p == '\'' ? "'\\''" : "%c", *p);
    if (!plain && n < cap) snprintf(cmd + n, cap - n, "'");
}

/* The chart's cut-off: 50 when it is among --k (the default), else the largest. */
static int chart_k(const IntList *ks)
{
    int k = 0;
    for (int j = 0; j < ks->n; j++) {
        if (ks->v[j] == 50) return 50;
        k = MAX(k, ks->v[j]);
    }
    return k;
}

/* Parses the command line into c. Returns 0, 1 for --help, or -1 with a
 * usage error. */
static int compare_parse(Compare *c, int argc, char **argv, Err *err)
{
    char **rest = xmalloc((size_t)MAX(argc, 1) * sizeof *rest);
    const char *models;
    char names[MODELS_MAX][32];
    int n_rest, help = 0;
    int ret = take_models(argc, argv, rest, &n_rest, &models, err);
    if (ret == 0) ret = run_config_parse(&c->rc[0], n_rest, rest, &help, err);
    if (ret == 0 && help) ret = 1;
    if (ret == 0 && !c->rc[0].data[0]) ret = err_set(err, "--data is required");
    if (ret == 0 && !c->rc[0].out[0]) ret = err_set(err, "--out is required (the comparison directory)");
    if (ret == 0) ret = parse_models(models, names, &c->n, err);
    if (ret == 0) snprintf(c->dir, sizeof c->dir, "%s", c->rc[0].out);
    for (int i = 0; ret == 0 && i < c->n; i++) ret = model_config(&c->rc[i], names[i], n_rest, rest, c->dir, err);
    /* One split for all: no model's defaults may touch the data options. */
    for (int i = 1; ret == 0 && i < c->n; i++)
        if (!run_config_same_data(&c->rc[0], &c->rc[i]))
            ret = err_set(err, "model %s: its defaults change the data options; compare needs one split for all",
                          c->rc[i].model);
    free(rest);
    if (ret != 0) return ret;
    snprintf(c->command, sizeof c->command, "cltower compare");
    for (int i = 0; i < argc; i++) append_quoted(c->command, sizeof c->command, argv[i]);
    c->chart_k = chart_k(&c->rc[0].ks);
    return 0;
}

/* ---- running ------------------------------------------------------------------ */

/* An existing DIR/<model> without metrics.json or a checkpoint is a run
 * interrupted before its first checkpoint (train removes failed ones):
 * replaced, as long as it looks like a run. */
static int clear_unfinished(const char *run_dir, Err *err)
{
    if (!path_exists(run_dir)) return 0;
    char *cfg = path_join(run_dir, "config");
    int ours = path_exists(cfg);
    free(cfg);
    if (!ours) return err_set(err, "%s exists but is not a run directory (no config)", run_dir);
    printf("  %s: unfinished run without a checkpoint, starting it afresh\n", run_dir);
    return rm_rf(run_dir) < 0 ? err_set(err, "%s: cannot remove", run_dir) : 0;
}

/* Continues an interrupted run from its checkpoint (`cltower train --resume`);
 * it reloads the data, since a checkpoint is only valid with its own config. */
static int resume_one(const RunConfig *rc, Err *err)
{
    Run r;
    TrainResult res;
    int ret = run_resume(&r, rc->out, rc->threads, rc->quiet, &res, err);
    run_close(&r);
    return ret;
}

/* Trains one model on base's data into rc->out. */
static int train_one(const Run *base, const RunConfig *rc, Err *err)
{
    /* r borrows base's dataset, split and catalogue; only the model is its own. */
    Run r = *base;
    r.rc = *rc;
    r.m = NULL;
    TrainResult res;
    int ret = run_create_model(&r, err);
    if (ret == 0) ret = run_train_into_dir(&r, &res, err);
    model_free(r.m);
    return ret;
}

static void print_summary(const Compare *c, int i)
{
    const ResultRow *r = &c->rows[i];
    const Metrics *m = &r->test;
    char took[32];
    results_duration(r->train_seconds, took, sizeof took);
    printf("[%d/%d] %s: test HR@%d %.4f, NDCG@%d %.4f, Recall@%d %.4f", i + 1, c->n, r->model, m->ks[0], m->hr[0],
           m->ks[0], m->ndcg[0], m->ks[m->nk - 1], m->recall[m->nk - 1]);
    if (r->best_epoch > 0) printf("; best epoch %d of %d, trained in %s", r->best_epoch, r->epochs_run, took);
    printf("\n");
}

static int compare_model(Compare *c, const Run *base, int i, Err *err)
{
    const RunConfig *rc = &c->rc[i];
    char *metrics = path_join(rc->out, "metrics.json"), *ckpt = path_join(rc->out, "checkpoint.bin");
    int ret = 0;
    if (path_exists(metrics) && !rc->overwrite) {
        printf("[%d/%d] %s: already trained, skipped (%s exists; --overwrite retrains)\n", i + 1, c->n, rc->model,
               metrics);
    } else if (path_exists(ckpt) && !rc->overwrite) {
        printf("[%d/%d] %s: resuming from %s (--overwrite starts afresh)\n", i + 1, c->n, rc->model, ckpt);
        fflush(stdout);
        ret = resume_one(rc, err);
    } else {
        const char *defaults = model_class_find(rc->model)->defaults;
        printf("[%d/%d] %s: training (defaults: %s)\n", i + 1, c->n, rc->model, defaults ? defaults : "none");
        fflush(stdout);
        ret = rc->overwrite ? 0 : clear_unfinished(rc->out, err);
        if (ret == 0) ret = train_one(base, rc, err);
    }
    if (ret == 0) ret = results_read_run(&c->rows[i], metrics, &rc->ks, c->chart_k, err);
    if (ret == 0 && strcmp(c->rows[i].model, rc->model) != 0)
        ret = err_set(err, "%s: a run of model %s, not %s", metrics, c->rows[i].model, rc->model);
    if (ret == 0) print_summary(c, i);
    fflush(stdout);
    free(metrics), free(ckpt);
    return ret;
}

typedef void (*ResultsWriter)(FILE *f, const Comparison *cmp);

static int write_one(const char *dir, const char *name, ResultsWriter write, const Comparison *cmp, Err *err)
{
    char *path = path_join(dir, name);
    AtomicFile af;
    int ret = af_open(&af, path, err);
    if (ret == 0) {
        write(af.f, cmp);
        ret = af_commit(&af, err);
    }
    free(path);
    return ret;
}

/* Writes the tables and the chart for the first n models. */
static int write_results(const Compare *c, const Run *base, int n, Err *err)
{
    const RunConfig *rc = &c->rc[0];
    Comparison cmp = {c->command, rc->data, rc->format, rc->protocol, base->ds.n_users, base->ds.n_items,
                      base->ds.n_inter, base->ds.n_feats, base->split.n_train_inter, base->split.valid.n,
                      base->split.test.n, rc->ks, c->chart_k, c->rows, n};
    char chart[64];
    snprintf(chart, sizeof chart, RESULTS_CHART_FMT, c->chart_k);
    return write_one(c->dir, "results.md", results_markdown, &cmp, err) < 0 ||
                   write_one(c->dir, "results.json", results_json, &cmp, err) < 0 ||
                   write_one(c->dir, chart, results_svg, &cmp, err) < 0
               ? -1
               : 0;
}

static int compare_run(Compare *c, Err *err)
{
    run_set_threads(c->rc[0].threads);
    Run base;
    memset(&base, 0, sizeof base);
    base.rc = c->rc[0]; /* compare_parse checked that all models share it */
    /* Bad data fails before DIR exists. */
    if (run_load_data(&base, err) < 0) return -1;
    int ret = mkdir_p(c->dir, err);
    for (int i = 0; i < c->n && ret == 0; i++) {
        ret = compare_model(c, &base, i, err);
        if (ret == 0) ret = write_results(c, &base, i + 1, err);
    }
    run_close(&base);
    if (ret == 0) printf("results: %s/results.md (also results.json, " RESULTS_CHART_FMT ")\n", c->dir, c->chart_k);
    return ret;
}

int cmd_compare(int argc, char **argv)
{
    Compare *c = xcalloc(1, sizeof *c);
    Err err;
    int ret = compare_parse(c, argc, argv, &err), code = EXIT_OK;
    if (ret == 1) print_help();
    else if (ret < 0) code = cli_error("compare", EXIT_USAGE, err.msg);
    else if (compare_run(c, &err) < 0) code = cli_error("compare", EXIT_FAIL, err.msg);
    free(c);
    return code;
}
