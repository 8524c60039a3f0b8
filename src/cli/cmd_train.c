/* cltower train — load data, split, train with early stopping, write RUN_DIR. */
#include <stdio.h>

#include "cli/cli.h"
#include "eval/report.h"
#include "train/modelfile.h"
#include "train/run.h"
#include "util/fileio.h"

static const char *USAGE =
    "usage: cltower train --data PATH --format FMT --model MODEL --protocol PROTO --out RUN_DIR [options]\n\n"
    "Trains a two-tower model with early stopping on the valid split and writes RUN_DIR/\n"
    "{config, model.bin, items.tsv, features.tsv, metrics.json, train_log.jsonl}.";

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

/* Writes everything but the log into the (already created) run directory. */
static int save_run(const Run *r, const TrainResult *res, Err *err)
{
    const char *dir = r->rc.out;
    char *cfg = path_join(dir, "config"), *model = path_join(dir, "model.bin"), *metrics = path_join(dir, "metrics.json");
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    opt_write(g_run_options, g_n_run_options, &r->rc, mem);
    fclose(mem);
    int rc = run_config_write(&r->rc, cfg, err) < 0 || modelfile_write(model, r->m, text, 0, NULL, 0, err) < 0 ||
             catalog_write(&r->cat, dir, err) < 0 || run_write_metrics(r, res, metrics, err) < 0 ? -1 : 0;
    free(text), free(cfg), free(model), free(metrics);
    return rc;
}

static int prepare_run_dir(const RunConfig *rc, Err *err)
{
    if (path_exists(rc->out)) {
        if (!rc->overwrite) return err_set(err, "%s already exists (pass --overwrite to replace it)", rc->out);
        rm_rf(rc->out);
    }
    return mkdir_p(rc->out, err);
}

static int train_and_save(Run *r, Err *err)
{
    char *log_path = path_join(r->rc.out, "train_log.jsonl");
    FILE *log = fopen(log_path, "w");
    free(log_path);
    if (!log) return err_set(err, "%s: cannot write train_log.jsonl", r->rc.out);
    TrainResult res;
    int rc = train_model(r->m, &r->ds, &r->split, &r->rc, log, &res, err);
    fclose(log);
    if (rc == 0) rc = save_run(r, &res, err);
    if (rc == 0) {
        const char *names[2] = {"valid", "test"};
        const Metrics *ms[2] = {&res.valid, &res.test};
        printf("model %s, protocol %s, best epoch %d of %d, %.0f train examples/s, test eval %.0f users/s\n",
               r->rc.model, r->rc.protocol, res.best_epoch, res.epochs_run, res.examples_per_second,
               res.eval_seconds > 0 ? (double)res.test.users / res.eval_seconds : 0);
        report_table(stdout, names, ms, 2);
        printf("run written to %s\n", r->rc.out);
    }
    return rc;
}

int cmd_train(int argc, char **argv)
{
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
    if (prepare_run_dir(&r.rc, &err) < 0 || train_and_save(&r, &err) < 0) {
        rm_rf(r.rc.out); /* never leave a half-written run behind */
        run_close(&r);
        return cli_error("train", EXIT_FAIL, err.msg);
    }
    run_close(&r);
    return EXIT_OK;
}
