#include "train/trainer.h"

#include <math.h>

#include "util/json.h"
#include "util/progress.h"
#include "util/timer.h"

const char *train_select_metric(const RunConfig *rc, Protocol p)
{
    if (strcmp(rc->select_metric, "auto") != 0) return rc->select_metric;
    return p == PROTO_LOO ? "NDCG@10" : "Recall@50";
}

static void eval_options(const RunConfig *rc, const Split *split, const char *label, EvalOptions *eo)
{
    eo->ks = rc->ks;
    eo->exclude_seen = run_config_exclude_seen(rc, split->protocol);
    eo->quiet = 1;
    eo->label = label;
}

typedef struct {
    double loss_sum;
    double parts[LOSS_PARTS_MAX]; /* summed loss terms of the model */
    int64_t steps, examples;
    double seconds;
} EpochStats;

static void run_epoch(Model *m, const TrainCtx *ctx, Example *ex, int64_t n_ex, const RunConfig *rc, int epoch,
                      EpochStats *st, Rng *shuffle)
{
    AdamConfig ac = {(float)rc->lr, 0.9f, 0.999f, 1e-8f, (float)rc->weight_decay, rc->adamw, (float)rc->clip_norm};
    /* Shuffle a copy of the example order (Example is 8 bytes). */
    for (int64_t i = n_ex - 1; i > 0; i--) {
        int64_t j = (int64_t)rng_below(shuffle, (uint64_t)i + 1);
        Example t = ex[i];
        ex[i] = ex[j];
        ex[j] = t;
    }
    char label[64];
    snprintf(label, sizeof label, "epoch %d", epoch);
    Progress p;
    progress_begin(&p, label, n_ex, "ex", rc->quiet);
    int B = m->cfg.batch_size;
    double ema = NAN, t0 = now_seconds();
    memset(st, 0, sizeof *st);
    for (int64_t b = 0; b < n_ex; b += B) {
        int n = (int)MIN((int64_t)B, n_ex - b);
        param_zero_grad(&m->params);
        double loss = m->cls->train_step(m, ctx, ex + b, n);
        adam_step(&m->params, &ac);
        st->loss_sum += loss;
        for (int k = 0; k < m->n_loss_parts; k++) st->parts[k] += m->loss_parts[k];
        st->steps++;
        ema = isnan(ema) ? loss : 0.98 * ema + 0.02 * loss;
        progress_set_extra(&p, "loss %.4f", ema);
        progress_add(&p, n);
    }
    st->examples = n_ex;
    st->seconds = now_seconds() - t0;
    if (!rc->quiet && p.tty) progress_end(&p);
}

static void log_epoch(FILE *log, const Model *m, int epoch, const EpochStats *st, const Metrics *valid,
                      double valid_s, const char *metric, int improved)
{
    if (!log) return;
    JsonWriter w;
    jw_init(&w, log, 0);
    jw_object_begin(&w, NULL);
    jw_int(&w, "epoch", epoch);
    double steps = (double)MAX(st->steps, 1);
    jw_number(&w, "loss", st->loss_sum / steps);
    if (m->n_loss_parts > 1) {
        jw_object_begin(&w, "loss_parts");
        for (int k = 0; k < m->n_loss_parts; k++) jw_number(&w, m->loss_names[k], st->parts[k] / steps);
        jw_object_end(&w);
    }
    jw_number(&w, "train_seconds", st->seconds);
    jw_number(&w, "examples_per_second", st->seconds > 0 ? (double)st->examples / st->seconds : 0);
    if (valid) {
        jw_object_begin(&w, "valid");
        for (int j = 0; j < valid->nk; j++) {
            char key[32];
            snprintf(key, sizeof key, "HR@%d", valid->ks[j]), jw_number(&w, key, valid->hr[j]);
            snprintf(key, sizeof key, "Recall@%d", valid->ks[j]), jw_number(&w, key, valid->recall[j]);
            snprintf(key, sizeof key, "NDCG@%d", valid->ks[j]), jw_number(&w, key, valid->ndcg[j]);
        }
        jw_object_end(&w);
        jw_number(&w, "valid_seconds", valid_s);
        jw_string(&w, "select_metric", metric);
        jw_bool(&w, "improved", improved);
    }
    jw_object_end(&w);
    fputc('\n', log);
    fflush(log);
}

int train_model(Model *m, const Dataset *ds, const Split *split, const RunConfig *rc, FILE *log, TrainResult *res,
                Err *err)
{
    memset(res, 0, sizeof *res);
    const char *metric = train_select_metric(rc, split->protocol);
    EvalOptions eo;
    eval_options(rc, split, "valid", &eo);
    if (m->cls->trainable && rc->epochs > 0) {
        Example *ex;
        int64_t n_ex = split_examples(split, ds->n_users, m->cls->per_sequence, &ex);
        res->examples_per_epoch = n_ex;
        Rng r_shuffle, r_neg, r_drop, r_aug;
        rng_seed(&r_shuffle, (uint64_t)rc->seed, RNG_SHUFFLE);
        rng_seed(&r_neg, (uint64_t)rc->seed, RNG_NEGATIVES);
        rng_seed(&r_drop, (uint64_t)rc->seed, RNG_DROPOUT);
        rng_seed(&r_aug, (uint64_t)rc->seed, RNG_AUGMENT);
        TrainCtx ctx = {ds, split, &r_neg, &r_drop, &r_aug};
        /* The best epoch's weights, restored at the end. */
        float *best = xalloc_floats(m->params.size);
        size_t best_bytes = m->params.size * sizeof(float);
        double best_val = -1;
        int bad = 0;
        for (int epoch = 1; epoch <= rc->epochs; epoch++) {
            EpochStats st;
            run_epoch(m, &ctx, ex, n_ex, rc, epoch, &st, &r_shuffle);
            res->train_seconds += st.seconds;
            res->epochs_run = epoch;
            int last = epoch == rc->epochs;
            if (epoch % rc->eval_every != 0 && !last) {
                log_epoch(log, m, epoch, &st, NULL, 0, metric, 0);
                continue;
            }
            Metrics mv;
            double vs;
            evaluate(m, ds, &split->valid, &eo, &mv, NULL, &vs);
            res->valid_eval_seconds += vs;
            double val = metrics_get(&mv, metric);
            int improved = val > best_val;
            if (!rc->quiet)
                fprintf(stderr, "epoch %d: loss %.4f, %.0f ex/s, valid %s %.4f%s (%.1fs)\n", epoch,
                        st.loss_sum / (double)MAX(st.steps, 1), (double)st.examples / st.seconds, metric, val,
                        improved ? " *" : "", st.seconds + vs);
            log_epoch(log, m, epoch, &st, &mv, vs, metric, improved);
            if (improved) {
                best_val = val, bad = 0, res->best_epoch = epoch, res->valid = mv;
                memcpy(best, m->params.data, best_bytes);
            } else if (++bad >= rc->patience) {
                if (!rc->quiet) fprintf(stderr, "early stop: no %s gain in %d evaluations\n", metric, bad);
                break;
            }
        }
        memcpy(m->params.data, best, best_bytes);
        free(best);
        free(ex);
        res->examples_per_second = res->train_seconds > 0 ? (double)n_ex * res->epochs_run / res->train_seconds : 0;
    } else {
        evaluate(m, ds, &split->valid, &eo, &res->valid, NULL, &res->valid_eval_seconds);
    }
    eval_options(rc, split, "test", &eo);
    evaluate_with_buckets(m, ds, &split->test, &eo, &res->test, res->buckets, &res->n_buckets, &res->eval_seconds);
    (void)err;
    return 0;
}

void evaluate_with_buckets(Model *m, const Dataset *ds, const EvalSet *es, const EvalOptions *eo, Metrics *out,
                           BucketReport *buckets, int *n_buckets, double *seconds)
{
    int kmax = eval_max_k(&eo->ks);
    int32_t *ranked = xmalloc((size_t)MAX(es->n, 1) * kmax * sizeof *ranked);
    evaluate(m, ds, es, eo, out, ranked, seconds);
    for (int j = 0; j < eo->ks.n; j++) bucket_report(&buckets[j], ds, es, m->cat, ranked, kmax, eo->ks.v[j]);
    *n_buckets = eo->ks.n;
    free(ranked);
}
