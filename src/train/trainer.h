/* trainer.h — the training loop: epochs of shuffled mini-batches, Adam,
 * evaluation on valid after each epoch, early stopping with patience, the
 * best epoch's weights restored at the end and evaluated on test. */
#ifndef CLT_TRAINER_H
#define CLT_TRAINER_H

#include "eval/buckets.h"
#include "eval/evaluate.h"
#include "model/model.h"
#include "train/checkpoint.h"
#include "train/config.h"

typedef struct TrainResult {
    int best_epoch, epochs_run;
    Metrics valid, test;
    double train_seconds;            /* training steps only (no evaluation) */
    double examples_per_second;
    double eval_seconds;             /* final test evaluation */
    double valid_eval_seconds;       /* all valid evaluations during training */
    int64_t examples_per_epoch;
    BucketReport buckets[OPT_LIST_MAX]; /* test slices, one per cut-off in --k */
    int n_buckets;
} TrainResult;

/* Evaluates es and fills one bucket report per cut-off of ks. */
void evaluate_with_buckets(Model *m, const Dataset *ds, const EvalSet *es, const EvalOptions *eo, Metrics *out,
                           BucketReport *buckets, int *n_buckets, double *seconds);

/* Checkpointing of a train_model call (docs/CHECKPOINTS.md). */
typedef struct TrainCheckpoint {
    const char *path;         /* written at every epoch end and every rc->checkpoint_every steps */
    const char *config_text;  /* the run configuration, stored in the checkpoint */
    TrainState *resume;       /* NULL: start afresh; else continue from this state (taken over) */
    int64_t halt_at_step;     /* tests: fail right after the checkpoint at this optimizer step,
                                 as if killed there (0: never) */
} TrainCheckpoint;

/* log (optional) receives one JSON line per epoch; ck (optional) enables
 * checkpoints and resuming. Fails only when a checkpoint cannot be written
 * or the resumed state does not fit the data. */
int train_model(Model *m, const Dataset *ds, const Split *split, const RunConfig *rc, FILE *log,
                const TrainCheckpoint *ck, TrainResult *res, Err *err);
/* The metric early stopping selects on ("auto" resolved by protocol). */
const char *train_select_metric(const RunConfig *rc, Protocol p);

#endif
