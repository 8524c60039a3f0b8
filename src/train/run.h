/* run.h — a run: its configuration, the data it was trained on, the split,
 * the catalogue and the model. Train creates one; eval (and later export,
 * serve, resume) reopen one from RUN_DIR, reloading the data and rebuilding
 * the split deterministically from the saved configuration.
 *
 * RUN_DIR holds: config, model.bin, items.tsv, features.tsv, metrics.json,
 * train_log.jsonl; and checkpoint.bin while it trains (docs/CHECKPOINTS.md). */
#ifndef CLT_RUN_H
#define CLT_RUN_H

#include "data/catalog.h"
#include "model/model.h"
#include "train/config.h"
#include "train/trainer.h"

typedef struct Run {
    RunConfig rc;
    Dataset ds;
    Split split;
    Catalog cat;
    Model *m;
    int loaded;   /* ds, split and cat are valid */
} Run;

/* Loads the data named by r->rc, splits it and builds the catalogue; prints a
 * one-line summary unless quiet. */
int run_load_data(Run *r, Err *err);
/* Creates the model named by r->rc (needs the catalogue). */
int run_create_model(Run *r, Err *err);
/* Reopens RUN_DIR: config, data, model weights. */
int run_open(Run *r, const char *run_dir, Err *err);
void run_close(Run *r);

/* Creates RUN_DIR (r->rc.out, replaced when rc.overwrite), trains r->m into
 * it with early stopping and writes the run; removes RUN_DIR on failure, so
 * no half-written run is left behind. While training, RUN_DIR/checkpoint.bin
 * holds the latest checkpoint; it is removed once the run is written. */
int run_train_into_dir(Run *r, TrainResult *res, Err *err);
/* Continues the interrupted run in dir from its checkpoint, with its config
 * (threads >= 0 and quiet override), and writes the run as
 * run_train_into_dir would have. On failure dir is left as it was. The
 * caller run_close()s r either way. */
int run_resume(Run *r, const char *dir, int threads, int quiet, TrainResult *res, Err *err);
int run_write_metrics(const Run *r, const TrainResult *res, const char *path, Err *err);
/* The threads option: 0 leaves OpenMP's default (all cores). */
void run_set_threads(int threads);

#endif
