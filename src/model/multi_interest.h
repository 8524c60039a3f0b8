/* multi_interest.h — what the multi-interest baselines (mind.c,
 * comirec_dr.c, comirec_sa.c) share, so that each model file is only its
 * interest extractor:
 *
 *   - the item tower: v_i = x_i, the item input (id + features; ItemInput),
 *     shared with the user tower as in ComiRec;
 *   - per-target training on the last max_len history items (HistBatch);
 *   - the read-out of one vector per example for the sampled softmax against
 *     the target: label-aware attention (MIND) or the interest closest to
 *     the target (ComiRec's argmax);
 *   - user_vectors' output contract (n, K, D) with every slot filled: a user
 *     with fewer interests in use (MIND's dynamic K_u) gets its first
 *     interest repeated in the unused slots. Evaluation merges the
 *     per-interest top-N lists by score and drops repeated items, so a
 *     repeated interest adds nothing to the ranking.
 *
 * A model embeds MultiInterest as the FIRST member of its state, so m->impl
 * points at both, and sets the extractor: item inputs x (T, D) of the packed
 * history tokens in hb -> raw interests (B, K, D). */
#ifndef CLT_MULTI_INTEREST_H
#define CLT_MULTI_INTEREST_H

#include "model/towers.h"
#include "util/arena.h"

typedef struct MultiInterest MultiInterest;

typedef enum { READOUT_ARGMAX, READOUT_LABEL_ATTENTION } MiReadout;

struct MultiInterest {
    ItemInput in;
    HistBatch hb;
    RetrievalLoss rl;
    Arena arena;             /* these buffers and the extractor's */
    int B, K, D;
    int dynamic_k;           /* K_u = max(1, min(K, floor(log2 n))) for n history items */
    MiReadout readout;
    /* reads mi->x, mi->nk and mi->hb; writes mi->caps_raw */
    void (*extract_forward)(Model *m);
    /* reads mi->dcaps_raw; accumulates parameter gradients and mi->dx */
    void (*extract_backward)(Model *m);
    /* Tests: stop-gradient routing made exact for finite differences (the
     * next training step records its coupling weights, later ones reuse them). */
    int freeze, frozen_ready;
    int32_t *nk;             /* (B) interests in use per row */
    int32_t *sel;            /* (B) argmax read-out choice */
    float *x, *dx;           /* (T, D) item inputs of the history tokens */
    float *caps_raw, *dcaps_raw; /* (B, K, D) extractor output */
    float *caps, *dcaps;     /* (B, K, D) interest vectors (tower output) */
    float *caps_norm;        /* (B*K) */
    float *tgt, *dtgt;       /* (B, D) target item vectors */
    float *q, *dq;           /* (B, D) read-out */
    float *att;              /* (B, K) label-aware attention weights */
    float *v_raw, *dv_raw, *v_norm; /* (M, D), (M, D), (M) candidate item vectors before the output step */
};

/* Declares the item input and plans the shared buffers; call from build
 * after allocating the model state (m->impl) and before the extractor's own
 * parameters. */
int mi_init(Model *m, MultiInterest *mi, MiReadout readout, int dynamic_k, Err *err);
double mi_train_step(Model *m, const TrainCtx *ctx, const Example *ex, int n);
void mi_user_vectors(Model *m, const Hist *h, int n, float *out);
void mi_item_vectors(Model *m, float *out);
void mi_destroy(Model *m);
/* Tests only: see `freeze` above. */
void mi_freeze_routing(Model *m);

#endif
