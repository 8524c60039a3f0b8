/* model.h — the model interface: one struct of function pointers.
 *
 * A model is a pair of towers. The trainer only ever calls train_step (forward
 * and backward on a batch of examples, gradients left in m->params) and the
 * evaluator only user_vectors and item_vectors; scores are dot products of the
 * two. Parameters live in a ParamStore, so saving, loading, the optimizer and
 * checkpoints need no model-specific code. A new baseline is one new file in
 * src/model/ implementing a ModelClass, plus one line in registry.c. */
#ifndef CLT_MODEL_H
#define CLT_MODEL_H

#include "data/catalog.h"
#include "data/dataset.h"
#include "data/split.h"
#include "nn/params.h"
#include "util/rng.h"

/* Hyperparameters of every model (each model reads the fields it uses). */
typedef struct ModelConfig {
    int dim;              /* output vector size of both towers */
    int max_len;          /* most recent history items the user tower sees */
    int hidden;           /* MLP hidden size (0 = dim) */
    int layers;           /* Transformer blocks / GRU layers */
    int heads;            /* attention heads */
    double dropout;
    double emb_dropout;
    int batch_size;       /* examples per training step (buffers are planned for it) */
    char loss[32];        /* sampled | full | bce */
    int negatives;        /* extra uniformly drawn negatives per batch (bce: per position) */
    int logq;             /* subtract log Q (sampling-bias correction) */
    int cosine;           /* L2-normalize both towers' outputs */
    double temperature;   /* logits are divided by this */
    int use_features;     /* add item side-feature embeddings */
    double init_std;      /* std of normal initialization */
    /* CL-EPIDTN and DAT */
    int enhance;          /* dual-path adaptive-mimic augmented vectors */
    int gates;            /* personalized feature gates */
    int cl_user;          /* sequence-view contrastive loss */
    int cl_item;          /* item-feature-view contrastive loss */
    double lambda_mimic, alpha_cl, beta_cl, cl_temperature;
    double crop_ratio, mask_ratio, reorder_ratio, feat_mask_ratio;
    int cl_short_boost;   /* weight short-history users more in the user InfoNCE */
    int cl_items;         /* uniformly sampled items per step for the item InfoNCE */
    int pop_buckets;      /* popularity buckets for the item gate */
    int item_mlp;         /* item tower: residual MLP head over the item input */
    /* multi-interest models */
    int interests;        /* K */
    int routing_iters;
    double label_power;   /* label-aware attention sharpness */
    double cal_weight;    /* DAT category alignment loss */
} ModelConfig;

typedef struct Model Model;

/* A history handed to the user tower: the items in time order (oldest
 * first), and the dense user id when the user is known to the training data
 * (-1 for a new user, e.g. a serving request). Inductive towers ignore it. */
typedef struct Hist {
    const int32_t *items;
    int32_t len;
    int32_t user;
} Hist;

/* What train_step may read besides its examples. */
typedef struct TrainCtx {
    const Dataset *ds;
    const Split *split;
    Rng *rng_neg;      /* negative sampling */
    Rng *rng_drop;     /* dropout masks */
    Rng *rng_aug;      /* contrastive augmentations */
} TrainCtx;

typedef struct ModelClass {
    const char *name;
    const char *summary;
    int per_sequence;  /* 1: one example per user, every position trains (causal); 0: one per target */
    int trainable;     /* 0: no parameters to fit (mostpop) */
    /* The model's documented default hyperparameters, "key=value" pairs
     * separated by spaces, applied over the global defaults and under any
     * config file or command-line value (e.g. "lr=0.001 dropout=0.2"). */
    const char *defaults;
    /* Declares parameters (param_add) and plans buffers; m->cfg/cat are set. */
    int (*build)(Model *m, Err *err);
    /* Forward and backward on n examples; leaves gradients in m->params and
     * returns the mean loss. */
    double (*train_step)(Model *m, const TrainCtx *ctx, const Example *ex, int n);
    /* out (n, n_interests, dim) for n histories (eval mode: no dropout). */
    void (*user_vectors)(Model *m, const Hist *h, int n, float *out);
    /* out (n_items, dim). */
    void (*item_vectors)(Model *m, float *out);
    void (*destroy)(Model *m);
} ModelClass;

enum { LOSS_PARTS_MAX = 8 };

struct Model {
    const ModelClass *cls;
    /* The terms of the last train_step's loss (e.g. main, mimic, cl_user),
     * weighted as they enter the total; the trainer averages and logs them. */
    const char *loss_names[LOSS_PARTS_MAX];
    double loss_parts[LOSS_PARTS_MAX];
    int n_loss_parts;
    ModelConfig cfg;
    const Catalog *cat;
    ParamStore params;
    int dim;           /* vector size used for scoring */
    int n_interests;   /* user vectors per user (1 unless multi-interest) */
    int32_t n_users;   /* users known at training time, for transductive towers (dat); 0 if unknown */
    void *impl;        /* the model's own state (activations, buffers) */
};

const ModelClass *model_class_find(const char *name);
int model_count(void);
const ModelClass *model_class_at(int i);
/* Comma-separated names of all models, for help and errors. */
const char *model_names(void);
/* Builds the model and initializes its parameters from seed. */
Model *model_create(const char *name, const ModelConfig *cfg, const Catalog *cat, uint64_t seed, Err *err);
/* The same, with the number of users known at training time (m->n_users). */
Model *model_create_for_users(const char *name, const ModelConfig *cfg, const Catalog *cat, int32_t n_users,
                              uint64_t seed, Err *err);
void model_free(Model *m);

#endif
