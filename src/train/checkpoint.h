/* checkpoint.h — the trainer's complete state between two optimizer steps,
 * and RUN_DIR/checkpoint.bin, the file that holds it.
 *
 * A checkpoint is a model file (train/modelfile.h: magic, version, length,
 * CRC-32, written atomically) with the Adam state included and a TrainState
 * in its "extra" blob. TrainState is everything train_model() carries from one
 * step to the next, so continuing from it repeats the uninterrupted run bit
 * for bit (same seed, same --threads): the data position (epoch, batches done,
 * the epoch's example order), every RNG stream the training draws from, the
 * epoch's loss sums so far, early stopping (best epoch, best metric, patience
 * counter, the best weights themselves) and how many bytes of
 * train_log.jsonl belong to finished epochs. Model parameters, Adam moments
 * (dense and lazily updated sparse rows alike: both live in the full-size
 * adam_m/adam_v buffers) and the step count come from the parameter block. */
#ifndef CLT_CHECKPOINT_H
#define CLT_CHECKPOINT_H

#include "eval/metrics.h"
#include "model/model.h"

/* One epoch's running sums (what its train_log.jsonl line reports). */
typedef struct EpochStats {
    double loss_sum;
    double parts[LOSS_PARTS_MAX]; /* summed loss terms of the model */
    int64_t steps, examples;
    double seconds;
} EpochStats;

typedef struct TrainState {
    /* data position */
    int epoch;          /* epoch in progress, 1-based; > rc->epochs once all ran */
    int64_t step;       /* its batches done; 0: not begun (its shuffle not drawn yet) */
    int64_t n_ex;
    Example *order;     /* (n_ex) the example order; the epoch's shuffle once step > 0 */
    EpochStats partial; /* the epoch's sums over its first `step` batches */
    /* random streams */
    Rng shuffle, neg, drop, aug;
    /* early stopping */
    int best_epoch;     /* 0: no evaluation yet */
    int bad;            /* evaluations since the last improvement */
    int stopped;        /* patience ran out: no more epochs */
    double best_val;
    Metrics best_valid;
    size_t n_params;
    float *best;        /* (n_params) weights of best_epoch */
    /* totals so far */
    int epochs_run;
    double train_seconds, valid_eval_seconds;
    int64_t log_bytes;  /* train_log.jsonl bytes written by finished epochs */
} TrainState;

/* A fresh state: epoch 1, RNG streams from seed, order = the n_ex examples
 * (taken over, freed by train_state_free), best = a copy of the weights. */
void train_state_init(TrainState *s, uint64_t seed, Example *order, int64_t n_ex, const ParamStore *ps);
void train_state_free(TrainState *s);

/* Writes the weights, Adam state and s to path atomically. */
int checkpoint_write(const char *path, Model *m, const char *config_text, const TrainState *s, Err *err);
/* Loads path into m (weights, Adam state) and s, and *config_text (malloc'ed;
 * config_text may be NULL) for the caller to compare with the run's configuration. Refuses, naming the
 * file, a truncated, corrupted or foreign file and one that does not fit m.
 * (train_model checks s->n_ex against the data.) */
int checkpoint_read(const char *path, Model *m, TrainState *s, char **config_text, Err *err);

#endif
