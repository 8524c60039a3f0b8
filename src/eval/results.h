/* results.h — a comparison of trained runs on one split of one dataset
 * (cltower compare): rows read back from each run's metrics.json, written as
 * a markdown table, JSON and an SVG bar chart of test Recall@K by item
 * popularity.
 *
 * Rows come from metrics.json rather than from memory so that a resumed
 * comparison (runs trained by an earlier invocation) goes through the same
 * path as a fresh one. The popularity buckets are those of eval/buckets.h:
 * the share of test targets in each fifth of the catalogue that made the top
 * K — micro-averaged over targets, so with several targets per user
 * (comirec protocol) it is per-target recall, and with one (loo) it equals the
 * HR@K of the users whose target is in the bucket. */
#ifndef CLT_RESULTS_H
#define CLT_RESULTS_H

#include <stdio.h>

#include "eval/buckets.h"
#include "eval/metrics.h"

typedef struct ResultRow {
    char model[32];
    Metrics test;                     /* at the comparison's cut-offs; NAN where the run lacks one */
    double train_seconds;             /* training steps only */
    int best_epoch, epochs_run;       /* best_epoch 0: nothing trained (mostpop) */
    int has_buckets;                  /* the run has test buckets at the chart's K */
    double pop_recall[POP_BUCKETS];   /* least popular fifth first */
    int64_t pop_targets[POP_BUCKETS];
} ResultRow;

typedef struct Comparison {
    const char *command;              /* the command line that produced it */
    const char *data, *format, *protocol;
    int64_t users, items, interactions, features;
    int64_t train_interactions, valid_users, test_users;
    IntList ks;                       /* table columns */
    int chart_k;                      /* cut-off of the popularity chart */
    const ResultRow *rows;
    int n;
} Comparison;

/* The chart's file name in the comparison directory, by chart_k. */
#define RESULTS_CHART_FMT "recall%d_by_popularity.svg"

/* Reads a run's metrics.json: test metrics at ks, buckets at chart_k. */
int results_read_run(ResultRow *row, const char *metrics_path, const IntList *ks, int chart_k, Err *err);
void results_markdown(FILE *f, const Comparison *c);
void results_json(FILE *f, const Comparison *c);
void results_svg(FILE *f, const Comparison *c);
/* A y axis for values in [0, max]: top = n * step, step 1, 2 or 5 times a
 * power of ten, about five ticks. */
void results_axis(double max, double *top, double *step);
/* "4.2s", "42s", "3m05s", "2h07m". */
void results_duration(double seconds, char *buf, size_t n);

#endif
