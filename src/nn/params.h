/* params.h — a model's parameters: named tensors in one flat buffer.
 *
 * As in llm.c, all parameters live in one allocation (and their gradients in
 * a second one of the same layout), each tensor at a named offset. A model
 * declares its tensors with param_add() at build time, calls param_alloc(),
 * and keeps plain float pointers into the buffers. Save/load, the optimizer
 * and gradient clipping then work on any model without model-specific code.
 *
 * Row-sparse tensors (embedding tables): a step touches only a few rows, so
 * their gradient rows are tracked in a RowSet; zeroing and the (lazy) Adam
 * update visit only those rows. That is what makes a 300k-item table cheap. */
#ifndef CLT_PARAMS_H
#define CLT_PARAMS_H

#include <stdint.h>
#include <stdio.h>

#include "util/common.h"
#include "util/rng.h"

enum { PARAM_MAX_TENSORS = 128, PARAM_NAME_MAX = 48 };

typedef enum { INIT_ZERO, INIT_ONE, INIT_NORMAL, INIT_UNIFORM, INIT_XAVIER } InitKind;

/* Rows of a sparse tensor touched since the last clear: a list plus a marker
 * per row so each row is listed once. */
typedef struct RowSet {
    int32_t *rows;   /* (n) touched row ids */
    uint8_t *mark;   /* (n_rows) 1 if listed */
    int32_t n, n_rows;
} RowSet;

void rowset_add(RowSet *rs, int32_t row);
void rowset_add_many(RowSet *rs, const int32_t *rows, int64_t n);
void rowset_clear(RowSet *rs);

typedef struct Tensor {
    char name[PARAM_NAME_MAX];
    int64_t rows, cols;  /* 2-D view; vectors have rows = 1 */
    size_t off;          /* offset in data/grad (floats) */
    InitKind init;
    float init_scale;    /* std (normal), bound (uniform), gain (xavier) */
    int sparse;          /* row-sparse gradients and lazy updates */
    int no_decay;        /* excluded from weight decay (biases, LayerNorm) */
    RowSet touched;      /* sparse tensors only */
} Tensor;

typedef struct ParamStore {
    Tensor t[PARAM_MAX_TENSORS];
    int n;
    size_t size;         /* total floats */
    float *data, *grad;  /* (size) each */
    float *adam_m, *adam_v; /* (size) each, allocated on the first optimizer step */
    int64_t step;        /* optimizer steps taken */
} ParamStore;

/* Declares a tensor; returns its index. Call before param_alloc(). */
int param_add(ParamStore *ps, const char *name, int64_t rows, int64_t cols, InitKind init, float scale);
/* Marks tensor idx as row-sparse (embedding table) / excluded from decay. */
void param_set_sparse(ParamStore *ps, int idx);
void param_set_no_decay(ParamStore *ps, int idx);
/* Allocates data and grad and initializes every tensor from rng. */
void param_alloc(ParamStore *ps, Rng *rng);
void param_free(ParamStore *ps);
static inline float *param_data(ParamStore *ps, int idx) { return ps->data + ps->t[idx].off; }
static inline float *param_grad(ParamStore *ps, int idx) { return ps->grad + ps->t[idx].off; }
static inline RowSet *param_rows(ParamStore *ps, int idx) { return &ps->t[idx].touched; }
int param_find(const ParamStore *ps, const char *name);

/* Zeroes gradients (only touched rows of sparse tensors). */
void param_zero_grad(ParamStore *ps);
/* Global L2 norm of the gradient (touched rows only for sparse tensors). */
double param_grad_norm(ParamStore *ps);
void param_scale_grad(ParamStore *ps, float s);

typedef struct AdamConfig {
    float lr, beta1, beta2, eps;
    float weight_decay;  /* decoupled (AdamW) when adamw, else L2 added to the gradient */
    int adamw;
    float clip_norm;     /* clip the global gradient norm to this (0 = off) */
    int lazy;            /* sparse tensors: update only the rows this step touched */
} AdamConfig;

/* One Adam(W) step over all tensors. Sparse tensors, when cfg->lazy: update
 * of the touched rows only (TensorFlow's LazyAdam): cheap on a big catalogue,
 * but a row no batch touches keeps still instead of moving on its momentum.
 * Otherwise every element of every tensor is updated, as torch.optim.Adam
 * does (the rows not touched have a zero gradient). Returns the gradient norm
 * before clipping. */
double adam_step(ParamStore *ps, const AdamConfig *cfg);

/* Binary (de)serialization of the tensors: a table of names and shapes, then
 * the data. Loading checks that names and shapes match the declared model.
 * with_optimizer also writes/reads the Adam moments and step. */
int param_write(const ParamStore *ps, FILE *f, int with_optimizer);
int param_read(ParamStore *ps, FILE *f, int with_optimizer, const char *path, Err *err);
/* Copies all parameter values (same layout) — used to keep the best epoch. */
void param_copy_data(ParamStore *dst, const ParamStore *src);

#endif
