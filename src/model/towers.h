/* towers.h — pieces shared by the two-tower models.
 *
 * ItemInput: the input representation of an item, shared by both towers:
 *   x_i = E_item[i] + mean_{f in feats(i)} E_feat[f]     (features optional)
 * CandidateSet: the columns of the sampled softmax for one batch: the unique
 *   positive items of the batch plus optional uniform extra negatives, each
 *   with its log-Q correction, and the column of every row's positive.
 * HistBatch: a batch of histories cut to the last max_len items, as flat
 *   token ids with per-row offsets (for pooling) or padded (B, T) rows. */
#ifndef CLT_TOWERS_H
#define CLT_TOWERS_H

#include "model/model.h"

typedef struct ItemInput {
    int item_emb;   /* param index: (n_items, D) */
    int feat_emb;   /* param index: (n_feats, D), -1 if features are off */
    int D;
    const Catalog *cat;
    float *tmp;     /* (cap, D) scratch for the feature part */
    int64_t cap;
} ItemInput;

void item_input_declare(ItemInput *ii, ParamStore *ps, const Catalog *cat, int D, int use_features, float init_std);
/* out (N, D) = x_ids; id -1 gives zeros. */
void item_input_forward(ItemInput *ii, ParamStore *ps, float *out, const int32_t *ids, int64_t N);
void item_input_backward(ItemInput *ii, ParamStore *ps, const float *dout, const int32_t *ids, int64_t N);
void item_input_free(ItemInput *ii);

typedef struct CandidateSet {
    int32_t *items;   /* (M) unique candidate items */
    float *logq;      /* (M) log-Q correction of each column */
    int32_t *target;  /* (N) column of each row's positive, -1 = no positive */
    int M, cap_m;
    int64_t cap_n;
    int32_t *col_of;  /* (n_items) item -> column during a build, else -1 */
} CandidateSet;

void cands_init(CandidateSet *cs, int32_t n_items, int64_t max_rows, int max_extra);
void cands_free(CandidateSet *cs);
/* pos (N): positive item per row (-1 = none). Adds n_extra uniform items.
 * With logq, column m gets log P(item in the set) under popularity sampling
 * of the positives and uniform sampling of the extras. */
void cands_build(CandidateSet *cs, const Catalog *cat, const int32_t *pos, int64_t N, int n_extra, int logq, Rng *rng);
/* Every item as a candidate, no correction (full softmax). */
void cands_build_full(CandidateSet *cs, const int32_t *pos, int64_t N, int32_t n_items);

/* Histories of a batch, flattened: tokens of row b are tok[ptr[b] .. ptr[b+1]),
 * the last min(len, max_len) items of the history, oldest first. */
typedef struct HistBatch {
    int32_t *tok;    /* (B * max_len) */
    int32_t *ptr;    /* (B + 1) */
    int32_t *pos;    /* (B) positive item (target) per row or -1 */
    int B, max_len;
} HistBatch;

/* The retrieval loss of a batch: sampled (or full) softmax of N query
 * vectors against the candidate items. Use:
 *   retrieval_candidates(...)        -> rl->cs.items[0 .. M) to encode
 *   (model fills rl->v (M, D) with its item tower outputs for them)
 *   loss = retrieval_loss(...)       -> dq += dL/dq, rl->dv = dL/dv
 *   (model backpropagates rl->dv through its item tower)               */
typedef struct RetrievalLoss {
    CandidateSet cs;
    float *logits;   /* (rows, cols) of the largest batch seen; grows on demand */
    int64_t logits_cap;
    float *v, *dv;   /* (max_cols, D) candidate item vectors and their gradient */
    int64_t max_rows;
    int max_cols, D;
    int full;        /* every item is a candidate */
} RetrievalLoss;

void retrieval_init(RetrievalLoss *rl, const ModelConfig *cfg, int32_t n_items, int64_t max_rows, int D);
void retrieval_free(RetrievalLoss *rl);
void retrieval_candidates(RetrievalLoss *rl, const ModelConfig *cfg, const Catalog *cat, const int32_t *pos,
                          int64_t N, Rng *rng);
/* Mean loss over rows with a positive; accumulates dq (N, D) and sets rl->dv. */
double retrieval_loss(RetrievalLoss *rl, const ModelConfig *cfg, const float *q, float *dq, int64_t N);

/* The last step of a tower: raw vectors, or L2-normalized ones (cosine). */
void tower_output_forward(float *out, float *norm, const float *raw, int64_t N, int D, int cosine);
void tower_output_backward(float *draw, const float *dout, const float *out, const float *norm, int64_t N, int D,
                           int cosine);

/* item_vectors of a tower that encodes up to `chunk` items per call (its
 * planned batch): out (n_items, m->dim), encode(m, ids, n, rows) chunk by chunk. */
typedef void (*ItemEncodeFn)(Model *m, const int32_t *ids, int n, float *out);
void item_vectors_chunked(Model *m, int32_t chunk, ItemEncodeFn encode, float *out);

void histbatch_init(HistBatch *hb, int max_rows, int max_len);
void histbatch_free(HistBatch *hb);
void histbatch_add(HistBatch *hb, const int32_t *items, int32_t len, int32_t target);
static inline void histbatch_clear(HistBatch *hb) { hb->B = 0, hb->ptr[0] = 0; }

#endif
