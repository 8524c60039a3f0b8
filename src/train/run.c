#include "train/run.h"

#include <glob.h>
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/report.h"
#include "train/modelfile.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/timer.h"

void run_set_threads(int threads)
{
    if (threads > 0) omp_set_num_threads(threads);
}

int run_load_data(Run *r, Err *err)
{
    LoadOptions lo;
    run_config_load_options(&r->rc, &lo);
    double t0 = now_seconds();
    if (dataset_load(&lo, &r->ds, err) < 0) return -1;
    Protocol p;
    protocol_parse(r->rc.protocol, &p);
    if (split_make(&r->ds, p, (uint64_t)r->rc.seed, &r->split, err) < 0) {
        dataset_free(&r->ds);
        return err_prefix(err, "%s", r->rc.data);
    }
    catalog_from_dataset(&r->cat, &r->ds, &r->split);
    r->loaded = 1;
    if (!r->rc.quiet)
        fprintf(stderr, "data: %s (%s): %d users, %d items, %lld interactions, %d features; %s split: %lld train "
                "interactions, %d valid / %d test users (%.1fs)\n", r->rc.data, r->rc.format, r->ds.n_users,
                r->ds.n_items, (long long)r->ds.n_inter, r->ds.n_feats, r->rc.protocol,
                (long long)r->split.n_train_inter, r->split.valid.n, r->split.test.n, now_seconds() - t0);
    return 0;
}

int run_create_model(Run *r, Err *err)
{
    r->m = model_create_for_users(r->rc.model, &r->rc.mc, &r->cat, r->ds.n_users, (uint64_t)r->rc.seed, err);
    return r->m ? 0 : -1;
}

int run_open(Run *r, const char *run_dir, Err *err)
{
    memset(r, 0, sizeof *r);
    if (!is_directory(run_dir)) return err_set(err, "%s: not a run directory", run_dir);
    char *cfg = path_join(run_dir, "config"), *weights = path_join(run_dir, "model.bin");
    int rc = run_config_read(&r->rc, cfg, err);
    r->rc.quiet = 1;
    if (rc == 0) rc = run_load_data(r, err);
    if (rc == 0) rc = run_create_model(r, err);
    if (rc == 0) {
        ModelFileInfo info;
        rc = modelfile_read(weights, r->m, 0, &info, err);
        if (rc == 0) modelfile_info_free(&info);
    }
    free(cfg);
    free(weights);
    if (rc < 0) run_close(r);
    return rc;
}

void run_close(Run *r)
{
    model_free(r->m);
    if (r->loaded) {
        catalog_free(&r->cat);
        split_free(&r->split);
        dataset_free(&r->ds);
    }
    memset(r, 0, sizeof *r);
}

/* Writes the results into the run directory (config and log are already there). */
static int save_run(const Run *r, const char *config_text, const TrainResult *res, Err *err)
{
    const char *dir = r->rc.out;
    char *model = path_join(dir, "model.bin"), *metrics = path_join(dir, "metrics.json");
    int rc = modelfile_write(model, r->m, config_text, 0, NULL, 0, err) < 0 || catalog_write(&r->cat, dir, err) < 0 ||
             run_write_metrics(r, res, metrics, err) < 0 ? -1 : 0;
    free(model), free(metrics);
    return rc;
}

static int prepare_run_dir(const RunConfig *rc, Err *err)
{
    if (path_exists(rc->out)) {
        if (!rc->overwrite) return err_set(err, "%s already exists (pass --overwrite to replace it)", rc->out);
        rm_rf(rc->out);
    }
    if (mkdir_p(rc->out, err) < 0) return -1;
    /* The config comes first: resuming an interrupted run needs it. */
    char *cfg = path_join(rc->out, "config");
    int ret = run_config_write(rc, cfg, err);
    free(cfg);
    return ret;
}

/* Opens train_log.jsonl for appending; a resumed run first cuts it back to
 * the epochs its checkpoint holds (a killed run may have logged more). */
static FILE *open_log(const char *dir, const TrainState *resume, Err *err)
{
    char *path = path_join(dir, "train_log.jsonl");
    FILE *log = NULL;
    struct stat sb;
    if (!resume) {
        if (!(log = fopen(path, "w"))) err_set(err, "%s: cannot write", path);
    } else if (stat(path, &sb) != 0 || sb.st_size < resume->log_bytes) {
        err_set(err, "%s: missing or shorter than the %lld bytes the checkpoint expects", path,
                (long long)resume->log_bytes);
    } else if (truncate(path, (off_t)resume->log_bytes) != 0 || !(log = fopen(path, "a"))) {
        err_set(err, "%s: cannot truncate and append", path);
    }
    /* An append stream's position before its first write is unspecified;
     * the trainer ftell()s it for the next checkpoint. */
    if (log) fseek(log, 0, SEEK_END);
    free(path);
    return log;
}

/* Trains into the run directory (continuing from resume if given), writes
 * the results, then drops the checkpoint, which a finished run no longer needs. */
static int train_in_dir(Run *r, const char *config_text, TrainState *resume, TrainResult *res, Err *err)
{
    FILE *log = open_log(r->rc.out, resume, err);
    if (!log) {
        if (resume) train_state_free(resume);
        return -1;
    }
    char *ckpt = path_join(r->rc.out, "checkpoint.bin");
    TrainCheckpoint ck = {ckpt, config_text, resume, 0};
    int rc = train_model(r->m, &r->ds, &r->split, &r->rc, log, &ck, res, err);
    fclose(log);
    if (rc == 0) rc = save_run(r, config_text, res, err);
    if (rc == 0) unlink(ckpt);
    free(ckpt);
    return rc;
}

int run_train_into_dir(Run *r, TrainResult *res, Err *err)
{
    char *text = run_config_text(&r->rc);
    int rc = prepare_run_dir(&r->rc, err) < 0 || train_in_dir(r, text, NULL, res, err) < 0 ? -1 : 0;
    if (rc < 0) rm_rf(r->rc.out); /* never leave a half-written run behind */
    free(text);
    return rc;
}

/* Peeks at the checkpoint (intact? written with this config?) before the
 * data is loaded, which may take minutes. *config_text: the text it holds. */
static int check_checkpoint(const char *ckpt, const char *cfg, const RunConfig *rc, char **config_text, Err *err)
{
    ModelFileInfo info;
    if (modelfile_peek(ckpt, &info, err) < 0) return -1;
    char *text = run_config_text(rc);
    int ret = 0;
    if (!info.with_optimizer) ret = err_set(err, "%s: no trainer state (a model file, not a checkpoint)", ckpt);
    else if (strcmp(info.config_text, text) != 0)
        ret = err_set(err, "%s: differs from the configuration %s was written with", cfg, ckpt);
    free(text);
    *config_text = info.config_text;
    info.config_text = NULL;
    modelfile_info_free(&info);
    return ret;
}

/* Reloads dir's config, data and model, then the checkpoint into the model
 * and *st; *config_text is the configuration the checkpoint was written with. */
static int open_for_resume(Run *r, const char *dir, int threads, int quiet, TrainState *st, char **config_text,
                           Err *err)
{
    char *cfg = path_join(dir, "config"), *metrics = path_join(dir, "metrics.json"),
         *ckpt = path_join(dir, "checkpoint.bin");
    int rc = 0;
    if (!is_directory(dir)) rc = err_set(err, "%s: not a run directory", dir);
    else if (path_exists(metrics)) rc = err_set(err, "%s: training already finished (metrics.json exists)", dir);
    else if (!path_exists(ckpt))
        rc = err_set(err, "%s: no checkpoint to resume from (the run stopped before its first one)", ckpt);
    if (rc == 0) rc = run_config_read(&r->rc, cfg, err);
    if (rc == 0) rc = check_checkpoint(ckpt, cfg, &r->rc, config_text, err);
    if (rc == 0) {
        snprintf(r->rc.out, sizeof r->rc.out, "%s", dir);
        if (threads >= 0) r->rc.threads = threads;
        r->rc.quiet |= quiet;
        run_set_threads(r->rc.threads);
        rc = run_load_data(r, err);
    }
    if (rc == 0) rc = run_create_model(r, err);
    if (rc == 0) rc = checkpoint_read(ckpt, r->m, st, NULL, err);
    free(cfg), free(metrics), free(ckpt);
    return rc;
}

/* A run killed while writing a checkpoint leaves its temp file behind. */
static void remove_stale_temp_files(const char *dir)
{
    char *pattern = path_join(dir, "*.tmp.*");
    glob_t g;
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) unlink(g.gl_pathv[i]);
        globfree(&g);
    }
    free(pattern);
}

int run_resume(Run *r, const char *dir, int threads, int quiet, TrainResult *res, Err *err)
{
    memset(r, 0, sizeof *r);
    TrainState st;
    char *text = NULL;
    if (open_for_resume(r, dir, threads, quiet, &st, &text, err) < 0) {
        free(text);
        return -1;
    }
    remove_stale_temp_files(dir);
    int B = r->m->cfg.batch_size;
    fprintf(stderr, "resuming %s at epoch %d, batch %lld of %lld\n", dir, st.epoch, (long long)st.step,
            (long long)((st.n_ex + B - 1) / B));
    int rc = train_in_dir(r, text, &st, res, err);
    free(text);
    return rc;
}

int run_write_metrics(const Run *r, const TrainResult *res, const char *path, Err *err)
{
    AtomicFile af;
    if (af_open(&af, path, err) < 0) return -1;
    JsonWriter w;
    jw_init(&w, af.f, 1);
    jw_object_begin(&w, NULL);
    jw_string(&w, "model", r->rc.model);
    jw_string(&w, "protocol", r->rc.protocol);
    jw_string(&w, "data", r->rc.data);
    report_metrics_json(&w, "valid", &res->valid);
    report_metrics_json(&w, "test", &res->test);
    report_buckets_json(&w, "test_buckets", res->buckets, res->n_buckets);
    jw_number(&w, "train_seconds", res->train_seconds);
    jw_number(&w, "train_examples_per_second", res->examples_per_second);
    jw_number(&w, "eval_seconds", res->eval_seconds);
    jw_number(&w, "eval_users_per_second", res->eval_seconds > 0 ? (double)res->test.users / res->eval_seconds : 0);
    jw_int(&w, "best_epoch", res->best_epoch);
    jw_int(&w, "epochs_run", res->epochs_run);
    jw_int(&w, "examples_per_epoch", res->examples_per_epoch);
    jw_string(&w, "select_metric", train_select_metric(&r->rc, r->split.protocol));
    jw_int(&w, "seed", r->rc.seed);
    jw_object_end(&w);
    return af_commit(&af, err);
}
