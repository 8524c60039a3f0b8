#include "train/run.h"

#include <omp.h>

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
