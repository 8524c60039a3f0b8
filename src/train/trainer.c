#include "train/trainer.h"

#include <math.h>

#include "nn/layers.h"
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

/* One train_model call: the model, its options and the state it advances. */
typedef struct Trainer {
    Model *m;
    const Dataset *ds;
    const RunConfig *rc;
    TrainCtx ctx;             /* its RNG pointers point into s */
    TrainState *s;
    FILE *log;
    const TrainCheckpoint *ck;
    const char *metric;       /* early stopping selects on this valid metric */
    EvalOptions eo;
    GemmTally gemm;           /* the GEMMs of this process's part of the current epoch */
} Trainer;

static int save_checkpoint(Trainer *t, Err *err)
{
    if (!t->ck || !t->ck->path) return 0;
    if (t->log) {
        fflush(t->log);
        t->s->log_bytes = ftell(t->log);
    }
    if (checkpoint_write(t->ck->path, t->m, t->ck->config_text, t->s, err) < 0) return -1;
    if (t->ck->halt_at_step && t->m->params.step == t->ck->halt_at_step)
        return err_set(err, "halted after the checkpoint at step %lld", (long long)t->ck->halt_at_step);
    return 0;
}

static void shuffle_examples(Example *ex, int64_t n_ex, Rng *r)
{
    for (int64_t i = n_ex - 1; i > 0; i--) {
        int64_t j = (int64_t)rng_below(r, (uint64_t)i + 1);
        Example tmp = ex[i];
        ex[i] = ex[j];
        ex[j] = tmp;
    }
}

/* Runs the rest of the current epoch: from batch s->step on (0 draws the
 * epoch's shuffle first, of the previous epoch's order). */
static int run_epoch(Trainer *t, Err *err)
{
    Model *m = t->m;
    TrainState *s = t->s;
    const RunConfig *rc = t->rc;
    AdamConfig ac = {.lr = (float)rc->lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                     .weight_decay = (float)rc->weight_decay, .adamw = rc->adamw,
                     .clip_norm = (float)rc->clip_norm, .lazy = run_config_lazy_adam(rc)};
    if (s->step == 0) shuffle_examples(s->order, s->n_ex, &s->shuffle);
    int B = m->cfg.batch_size;
    char label[64];
    snprintf(label, sizeof label, "epoch %d/%d", s->epoch, rc->epochs);
    Progress p;
    progress_begin(&p, label, s->n_ex, "ex", rc->quiet);
    progress_add(&p, MIN(s->step * B, s->n_ex));
    EpochStats *st = &s->partial;
    GemmTally g0 = gemm_tally();
    double ema = NAN, t0 = now_seconds();
    for (int64_t b = s->step * B; b < s->n_ex; b += B) {
        int n = (int)MIN((int64_t)B, s->n_ex - b);
        param_zero_grad(&m->params);
        double loss = m->cls->train_step(m, &t->ctx, s->order + b, n);
        adam_step(&m->params, &ac);
        st->loss_sum += loss;
        for (int k = 0; k < m->n_loss_parts; k++) st->parts[k] += m->loss_parts[k];
        st->steps++;
        s->step++;
        ema = isnan(ema) ? loss : 0.98 * ema + 0.02 * loss;
        progress_set_extra(&p, "loss %.4f", ema);
        progress_add(&p, n);
        /* Mid-epoch checkpoint (the epoch's last batch gets the epoch-end one);
         * writing it does not count as training time. */
        if (rc->checkpoint_every > 0 && m->params.step % rc->checkpoint_every == 0 && b + B < s->n_ex) {
            st->seconds += now_seconds() - t0;
            if (save_checkpoint(t, err) < 0) return -1;
            t0 = now_seconds();
        }
    }
    st->examples = s->n_ex;
    st->seconds += now_seconds() - t0;
    GemmTally g1 = gemm_tally();
    t->gemm = (GemmTally){g1.flops - g0.flops, g1.seconds - g0.seconds, g1.calls - g0.calls};
    if (!rc->quiet && p.tty) progress_end(&p);
    return 0;
}

static void log_epoch(FILE *log, const Model *m, int epoch, const EpochStats *st, const GemmTally *g,
                      const Metrics *valid, double valid_s, const char *metric, int improved)
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
    /* GEMM work and time inside those seconds (after a resume: this process's part) */
    jw_number(&w, "gemm_gflop", g->flops * 1e-9);
    jw_number(&w, "gemm_seconds", g->seconds);
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

/* After an epoch's last batch: evaluates on valid when due, logs the epoch
 * and applies early stopping (keeping the best weights). */
static void finish_epoch(Trainer *t)
{
    TrainState *s = t->s;
    const EpochStats *st = &s->partial;
    const RunConfig *rc = t->rc;
    int epoch = s->epoch;
    s->train_seconds += st->seconds;
    s->epochs_run = epoch;
    if (epoch % rc->eval_every != 0 && epoch != rc->epochs) {
        log_epoch(t->log, t->m, epoch, st, &t->gemm, NULL, 0, t->metric, 0);
        return;
    }
    Metrics mv;
    double vs;
    evaluate(t->m, t->ds, &t->ctx.split->valid, &t->eo, &mv, NULL, &vs);
    s->valid_eval_seconds += vs;
    double val = metrics_get(&mv, t->metric);
    int improved = val > s->best_val;
    if (!rc->quiet)
        fprintf(stderr, "epoch %d/%d: loss %.4f, %.0f ex/s, valid %s %.4f%s (%.1fs)\n", epoch, rc->epochs,
                st->loss_sum / (double)MAX(st->steps, 1), (double)st->examples / st->seconds, t->metric, val,
                improved ? " *" : "", st->seconds + vs);
    log_epoch(t->log, t->m, epoch, st, &t->gemm, &mv, vs, t->metric, improved);
    if (improved) {
        s->best_val = val, s->bad = 0, s->best_epoch = epoch, s->best_valid = mv;
        memcpy(s->best, t->m->params.data, s->n_params * sizeof(float));
    } else if (++s->bad >= rc->patience) {
        if (!rc->quiet) fprintf(stderr, "early stop: no %s gain in %d evaluations\n", t->metric, s->bad);
        s->stopped = 1;
    }
}

static int train_epochs(Trainer *t, Err *err)
{
    TrainState *s = t->s;
    while (!s->stopped && s->epoch <= t->rc->epochs) {
        if (run_epoch(t, err) < 0) return -1;
        finish_epoch(t);
        s->epoch++;
        s->step = 0;
        memset(&s->partial, 0, sizeof s->partial);
        if (save_checkpoint(t, err) < 0) return -1;
    }
    return 0;
}

/* A fresh state, or the checkpoint's when it fits this data. */
static int start_state(Trainer *t, const Split *split, TrainState *s, Err *err)
{
    Example *ex;
    int64_t n_ex = split_examples(split, t->ds->n_users, t->m->cls->per_sequence, &ex);
    if (!t->ck || !t->ck->resume) {
        train_state_init(s, (uint64_t)t->rc->seed, ex, n_ex, &t->m->params);
        return 0;
    }
    free(ex);
    *s = *t->ck->resume;
    memset(t->ck->resume, 0, sizeof *t->ck->resume);
    if (s->n_ex == n_ex) return 0;
    err_set(err, "%s: holds %lld training examples, the data gives %lld (data changed since?)", t->ck->path,
            (long long)s->n_ex, (long long)n_ex);
    train_state_free(s);
    return -1;
}

int train_model(Model *m, const Dataset *ds, const Split *split, const RunConfig *rc, FILE *log,
                const TrainCheckpoint *ck, TrainResult *res, Err *err)
{
    memset(res, 0, sizeof *res);
    TrainState s;
    Trainer t = {.m = m, .ds = ds, .rc = rc, .ctx = {ds, split, &s.neg, &s.drop, &s.aug}, .s = &s, .log = log,
                 .ck = ck, .metric = train_select_metric(rc, split->protocol)};
    eval_options(rc, split, "valid", &t.eo);
    if (m->cls->trainable && rc->epochs > 0) {
        if (start_state(&t, split, &s, err) < 0) return -1;
        int rc_train = train_epochs(&t, err);
        memcpy(m->params.data, s.best, s.n_params * sizeof(float));
        res->best_epoch = s.best_epoch, res->epochs_run = s.epochs_run, res->valid = s.best_valid;
        res->train_seconds = s.train_seconds, res->valid_eval_seconds = s.valid_eval_seconds;
        res->examples_per_epoch = s.n_ex;
        res->examples_per_second = s.train_seconds > 0 ? (double)s.n_ex * s.epochs_run / s.train_seconds : 0;
        train_state_free(&s);
        if (rc_train < 0) return -1;
    } else {
        evaluate(m, ds, &split->valid, &t.eo, &res->valid, NULL, &res->valid_eval_seconds);
    }
    eval_options(rc, split, "test", &t.eo);
    evaluate_with_buckets(m, ds, &split->test, &t.eo, &res->test, res->buckets, &res->n_buckets, &res->eval_seconds);
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
