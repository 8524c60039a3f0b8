/* config.h — everything a training run is configured by, in one struct, and
 * the option table that fills it from defaults, the model's own defaults, a
 * config file and the command line (in that order). RUN_DIR/config is this
 * struct written out, so `cltower eval` and `--resume` rebuild the exact run. */
#ifndef CLT_CONFIG_H
#define CLT_CONFIG_H

#include "data/loader.h"
#include "data/split.h"
#include "model/model.h"
#include "util/options.h"

typedef struct RunConfig {
    /* data */
    char data[OPT_STR_MAX];
    char format[32];
    char item_features[OPT_STR_MAX];
    char actions[128];
    double min_rating;
    int dedup, min_item_inter, min_user_inter, kcore_iterative;
    char protocol[16];
    /* model */
    char model[32];
    ModelConfig mc;
    /* optimization */
    int epochs, patience, eval_every, threads, seed;
    double lr, weight_decay, clip_norm;
    int adamw;
    char lazy_adam[8];      /* auto | true | false */
    /* evaluation */
    IntList ks;
    char select_metric[32];
    char exclude_seen[8];   /* auto | true | false | zero */
    /* output */
    char out[OPT_STR_MAX];
    int quiet;
    int overwrite;
    int checkpoint_every;   /* optimizer steps between mid-epoch checkpoints (0: epoch ends only) */
} RunConfig;

extern const OptSpec g_run_options[];
extern const int g_n_run_options;

/* Defaults, then the model's defaults (model named on the command line or in
 * --config), then the config file, then the command line. Returns 0, or -1
 * with a usage error (exit 2). */
int run_config_parse(RunConfig *rc, int argc, char **argv, int *help, Err *err);
/* Applies the model's documented defaults (ModelClass.defaults) to rc. */
int run_config_model_defaults(RunConfig *rc, const char *model, Err *err);
/* Semantic checks that need more than one field (model exists, format, ...). */
int run_config_validate(const RunConfig *rc, Err *err);
int run_config_write(const RunConfig *rc, const char *path, Err *err);
/* The `key = value` lines run_config_write writes (malloc'ed): what a
 * checkpoint stores to check that RUN_DIR/config still matches it. */
char *run_config_text(const RunConfig *rc);
/* Reads RUN_DIR/config back (for eval, export, serve, resume). */
int run_config_read(RunConfig *rc, const char *path, Err *err);

void run_config_load_options(const RunConfig *rc, LoadOptions *lo);
/* 1 if a and b load and split the same data, so one Run's data serves both. */
int run_config_same_data(const RunConfig *a, const RunConfig *b);
/* A SeenMode (eval/evaluate.h). */
int run_config_exclude_seen(const RunConfig *rc, Protocol p);
/* 1: Adam updates only the embedding rows a step touched (AdamConfig.lazy). */
int run_config_lazy_adam(const RunConfig *rc);

#endif
