/* cl_epidtn — Contrastive-Learning-Enhanced Personalized Interaction Dual
 * Tower Network (Yang, Wang, Li, PLOS One 2025), as specified in
 * docs/MODEL.md; every equation there maps to a function here.
 *
 * User tower (per token t of a packed causal sequence):
 *   x_t  = E_item[i_t] + mean E_feat[feats(i_t)]           (ItemInput; [mask] -> E_mask)
 *   c_t  = causal mean of x_0..x_t                           (history summary)
 *   g_t  = 2 sigmoid(MLP_ug(c_t))            [gates]        (PEPNet gate, path 2)
 *   h_t  = SeqEncoder(g_t * x_t)_t                           (SASRec Transformer)
 *   a_t  = MLP_au(stopgrad(c_t))             [enhance]      (inductive augmented vector, path 1)
 *   u_t  = h_t + W_p a_t                     [enhance]
 * Item tower:
 *   x_i  = E_item[i] + mean E_feat[feats(i)]
 *   g_i  = 2 sigmoid(MLP_ig(E_pop[bucket(i)] + mean E_feat[feats(i)]))   [gates]
 *   a_i  = MLP_ai(stopgrad(x_i))             [enhance]      (inductive augmented item vector)
 *   v_i  = g_i * x_i + MLP_iv([g_i * x_i ; a_i])      [item-mlp]
 * Loss = sampled softmax with log-Q over the batch's next items (or full
 * softmax, or SASRec's BCE with one negative), each position of each
 * sequence predicting the next item,
 *   + lambda (||a_t - sg(v_pos)||^2 + ||a_pos - sg(u_t)||^2)       [enhance, DAT mimic]
 *   + alpha InfoNCE(u(view1), u(view2))                            [cl-user, CL4SRec views]
 *   + beta  InfoNCE(v(view1), v(view2)) over uniformly drawn items [cl-item, feature masking]
 * With all four switches off this is a plain Transformer two-tower model:
 * `--model sasrec` (sasrec.c) is exactly that. */
#include "model/cl_epidtn.h"

#include <math.h>

#include "model/seq_batch.h"
#include "model/seq_encoder.h"
#include "model/towers.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/mlp.h"
#include "util/arena.h"
#include "util/fileio.h"
#include "util/npy.h"

/* Activations of one item-tower pass over n items (candidates or a view). */
typedef struct ItemActs {
    int64_t cap;
    const int32_t *ids;
    float *x;                 /* (cap, C) input (filled by the caller) */
    float *gin, *gpre, *gate; /* (cap, C) gate input, pre-activation, 2 sigmoid */
    float *fmean;             /* (cap, C) feature part of the gate input */
    int32_t *bk;              /* (cap) popularity bucket of each item */
    float *xt;                /* (cap, C) gated input */
    float *ai;                /* (cap, C) augmented item vectors a_i = MLP_ai(sg(x)) */
    const float *ai_in;       /* input of MLP_ai in the last forward: x, or its frozen copy */
    float *x_frozen;          /* (cap, C) tests: the stop-gradient input, recorded once */
    int have_frozen;
    Mlp2Acts ai_acts;
    float *z;                 /* (cap, 2C) [xt ; ai] */
    float *mo;                /* (cap, C) MLP output */
    float *v_raw, *vnorm;     /* (cap, C), (cap) */
    Mlp2Acts ig, iv;
    float *dv_raw, *dxt, *dz, *dgate, *dgpre, *dgin, *dx, *dai; /* gradients */
} ItemActs;

/* Masked item inputs for the item-side contrastive views. */
typedef struct ItemView {
    int32_t *id;      /* (n) item id, or -1 when the id slot is masked */
    int32_t *fptr;    /* (n+1) kept features */
    int32_t *fids;
    float *tmp, *pre, *mask; /* (n, C) feature part, pre-dropout input, dropout mask */
    float *dout, *dpre;      /* (n, C) gradient of the tower output, of the pre-dropout input */
    ItemActs acts;
    float *out, *z, *dz;      /* (n, C) tower output, normalized, gradient */
    float *znorm;             /* (n) */
} ItemView;

typedef struct ClEpidtn {
    int C, B, L, S_max;
    int enhance, gates, cl_user, cl_item, item_mlp, bce, cosine;
    ItemInput in;
    SeqEncoder enc;
    Mlp2 ug, au, ig, iv;
    Mlp2 ai;
    int mask_emb, wp, pop_emb, wq;
    int32_t *bucket;          /* (n_items) popularity bucket of each item */
    Arena arena;
    SeqBatch sb;
    /* user side, (T_max, C) unless noted; from the encoder's output on
     * (u, a, uo, ...) one row per output row of the encoder, n_out of them */
    float *x_raw, *c, *gpre, *gate, *x_in, *a, *u, *uo, *unorm /* (T_max) */;
    float *c_out;             /* c at the output rows: MLP_au's input */
    int64_t n_out;
    float *duo, *du, *da, *dx_in, *dgate, *dgpre, *dc, *dx_raw;
    Mlp2Acts ug_acts, au_acts;
    int32_t *tok_ids;         /* (T_max) token ids with [mask] as -1 for ItemInput */
    /* main loss */
    RetrievalLoss rl;
    ItemActs cand;
    int32_t *neg, *bce_col;   /* (T_max) BCE negatives, (2 T_max) candidate column of pos/neg */
    float *bce_logit, *bce_label, *bce_dlogit; /* (2 T_max) */
    uint32_t *seen_mark;      /* (n_items) BCE: marks the user's items */
    uint32_t seen_epoch;
    /* contrastive */
    float *z1, *z2, *z1n, *z2n, *zn1, *zn2, *dz1, *dz2, *dz1n, *dz2n, *cl_logits, *cl_w;
    int32_t *diag;
    ItemView view[2];
    int32_t *cl_ids;
    int32_t *cl_mark;
    int n_cl;
    /* Finite-difference tests: the mimic targets are stop-gradients, so the
     * objective the analytic gradient descends treats them as constants. With
     * freeze set, the first call records them and later calls reuse them. */
    int last_main, last_n;      /* causal sequences and examples of the last step (for dumps) */
    int freeze;
    float *frozen_v, *frozen_u;  /* (Tm, C) the mimic targets of the last step */
    float *frozen_c;             /* (T_max, C) */
    int have_frozen, have_frozen_c;
    const float *au_in;         /* input of MLP_au in the last forward: c, or its frozen copy */
} ClEpidtn;

/* ---- item tower ------------------------------------------------------------- */

static void item_acts_plan(ClEpidtn *s, ItemActs *a, int64_t cap)
{
    Arena *ar = &s->arena;
    size_t nc = (size_t)(cap * s->C);
    a->cap = cap;
    a->bk = arena_i32(ar, (size_t)cap);
    float **bufs[] = {&a->x, &a->gin, &a->gpre, &a->gate, &a->fmean, &a->xt, &a->ai, &a->mo, &a->v_raw, &a->dv_raw,
                      &a->dxt, &a->dgate, &a->dgpre, &a->dgin, &a->dx, &a->dai};
    for (size_t i = 0; i < ARRAY_LEN(bufs); i++) *bufs[i] = arena_floats(ar, nc);
    a->z = arena_floats(ar, 2 * nc);
    a->dz = arena_floats(ar, 2 * nc);
    a->vnorm = arena_floats(ar, (size_t)cap);
    if (s->gates) mlp2_plan(&s->ig, &a->ig, ar, cap);
    if (s->item_mlp) mlp2_plan(&s->iv, &a->iv, ar, cap);
    if (s->enhance) {
        mlp2_plan(&s->ai, &a->ai_acts, ar, cap);
        a->x_frozen = arena_floats(ar, nc);
    }
}

/* v (n, C) = item tower of inputs a->x for items ids. */
static void item_forward(Model *m, ClEpidtn *s, ItemActs *a, const int32_t *ids, int64_t n, float *v)
{
    ParamStore *ps = &m->params;
    int C = s->C;
    size_t nc = (size_t)(n * C);
    if (n > a->cap) die("item tower: %lld items over plan %lld", (long long)n, (long long)a->cap);
    a->ids = ids;
    if (s->gates) {
        /* gate input: popularity bucket + the item's features (not its id) */
        for (int64_t k = 0; k < n; k++) a->bk[k] = s->bucket[ids[k]];
        embedding_forward(a->gin, param_data(ps, s->pop_emb), a->bk, n, C);
        if (s->in.feat_emb >= 0) {
            embedding_bag_forward(a->fmean, param_data(ps, s->in.feat_emb), m->cat->feat_ptr, m->cat->feat, ids, n, C);
            vec_add(a->gin, a->fmean, (int64_t)nc);
        }
        mlp2_forward(&s->ig, ps, &a->ig, a->gpre, a->gin, n);
        gate2_forward(a->gate, a->gpre, (int64_t)nc);
        vec_mul(a->xt, a->gate, a->x, (int64_t)nc);
    } else {
        memcpy(a->xt, a->x, nc * sizeof(float));
    }
    if (s->enhance) {
        a->ai_in = a->x;
        if (s->freeze) { /* sg(x) is a constant of the objective */
            if (!a->have_frozen) memcpy(a->x_frozen, a->x, nc * sizeof(float));
            a->have_frozen = 1;
            a->ai_in = a->x_frozen;
        }
        mlp2_forward(&s->ai, ps, &a->ai_acts, a->ai, a->ai_in, n);
    }
    memcpy(a->v_raw, a->xt, nc * sizeof(float));
    if (s->item_mlp) {
        const float *zin = a->xt;
        if (s->enhance) {
            for (int64_t k = 0; k < n; k++) {
                memcpy(a->z + k * 2 * C, a->xt + k * C, (size_t)C * sizeof(float));
                memcpy(a->z + k * 2 * C + C, a->ai + k * C, (size_t)C * sizeof(float));
            }
            zin = a->z;
        }
        mlp2_forward(&s->iv, ps, &a->iv, a->mo, zin, n);
        for (size_t k = 0; k < nc; k++) a->v_raw[k] += a->mo[k];
    } else if (s->enhance) {
        linear_forward(a->mo, a->ai, param_data(ps, s->wq), NULL, n, C, C);
        for (size_t k = 0; k < nc; k++) a->v_raw[k] += a->mo[k];
    }
    tower_output_forward(v, a->vnorm, a->v_raw, n, C, s->cosine);
}

/* dv (n, C) -> parameter gradients and a->dx (input gradient, overwritten).
 * a->dai must hold any extra gradient for the augmented vectors (mimic). */
static void item_backward(Model *m, ClEpidtn *s, ItemActs *a, int64_t n, const float *v, const float *dv)
{
    ParamStore *ps = &m->params;
    int C = s->C;
    size_t nc = (size_t)(n * C), bytes = nc * sizeof(float);
    vec_zero(a->dv_raw, (int64_t)nc);
    tower_output_backward(a->dv_raw, dv, v, a->vnorm, n, C, s->cosine);
    memcpy(a->dxt, a->dv_raw, bytes);
    if (s->item_mlp) {
        const float *zin = s->enhance ? a->z : a->xt;
        vec_zero(a->dz, 2 * (int64_t)nc);
        mlp2_backward(&s->iv, ps, &a->iv, a->dz, a->dv_raw, zin, n);
        if (s->enhance) {
            for (int64_t k = 0; k < n; k++)
                for (int j = 0; j < C; j++) {
                    a->dxt[k * C + j] += a->dz[k * 2 * C + j];
                    a->dai[k * C + j] += a->dz[k * 2 * C + C + j];
                }
        } else {
            vec_add(a->dxt, a->dz, (int64_t)nc);
        }
    } else if (s->enhance) {
        linear_backward(a->dai, param_grad(ps, s->wq), NULL, a->dv_raw, a->ai, param_data(ps, s->wq), n, C, C);
    }
    if (s->enhance) mlp2_backward(&s->ai, ps, &a->ai_acts, NULL, a->dai, a->ai_in, n); /* no dx: sg(x) */
    if (!s->gates) {
        memcpy(a->dx, a->dxt, bytes);
        return;
    }
    vec_mul(a->dx, a->dxt, a->gate, (int64_t)nc);
    vec_mul(a->dgate, a->dxt, a->x, (int64_t)nc);
    vec_zero(a->dgpre, (int64_t)nc);
    gate2_backward(a->dgpre, a->dgate, a->gate, (int64_t)nc);
    vec_zero(a->dgin, (int64_t)nc);
    mlp2_backward(&s->ig, ps, &a->ig, a->dgin, a->dgpre, a->gin, n);
    embedding_backward(param_grad(ps, s->pop_emb), NULL, a->dgin, a->bk, n, C);
    if (s->in.feat_emb >= 0)
        embedding_bag_backward(param_grad(ps, s->in.feat_emb), param_rows(ps, s->in.feat_emb), a->dgin,
                               m->cat->feat_ptr, m->cat->feat, a->ids, n, C);
}

/* ---- user tower --------------------------------------------------------------- */

/* Fills s->uo (N, C): the user vector at every token of s->sb. */
/* Sequences 0 .. S_all-1 output every position, the rest their last
 * (seq_encoder.h); s->uo gets s->n_out rows. */
static void user_forward(Model *m, ClEpidtn *s, int S_all, int train, Rng *rng)
{
    ParamStore *ps = &m->params;
    SeqBatch *b = &s->sb;
    int C = s->C, S = b->S;
    int64_t N = seqbatch_tokens(b), nc = N * C;
    for (int64_t t = 0; t < N; t++) s->tok_ids[t] = b->tok[t] >= 0 ? b->tok[t] : -1;
    item_input_forward(&s->in, ps, s->x_raw, s->tok_ids, N);
    for (int64_t t = 0; t < N; t++)
        if (b->tok[t] == SEQ_MASK) memcpy(s->x_raw + t * C, param_data(ps, s->mask_emb), (size_t)C * sizeof(float));
    if (s->gates || s->enhance) cummean_forward(s->c, s->x_raw, b->ptr, S, C);
    const float *xin = s->x_raw;
    if (s->gates) {
        mlp2_forward(&s->ug, ps, &s->ug_acts, s->gpre, s->c, N);
        gate2_forward(s->gate, s->gpre, nc);
        vec_mul(s->x_in, s->gate, s->x_raw, nc);
        xin = s->x_in;
    }
    const float *h = seqenc_forward(&s->enc, ps, xin, b->ptr, S, S_all, train, rng);
    int64_t No = s->n_out = seqenc_out_ptr(&s->enc)[S];
    size_t out_bytes = (size_t)(No * C) * sizeof(float);
    memcpy(s->u, h, out_bytes);
    if (s->enhance) {
        s->au_in = s->c;
        if (s->enc.use_qs) {
            for (int64_t r = 0; r < No; r++)
                memcpy(s->c_out + r * C, s->c + (int64_t)s->enc.rows[r] * C, (size_t)C * sizeof(float));
            s->au_in = s->c_out;
        }
        if (s->freeze && train) { /* sg(c) is a constant of the objective */
            if (!s->have_frozen_c) memcpy(s->frozen_c, s->au_in, out_bytes);
            s->have_frozen_c = 1;
            s->au_in = s->frozen_c;
        }
        mlp2_forward(&s->au, ps, &s->au_acts, s->a, s->au_in, No);
        matmul_nt(s->u, s->a, param_data(ps, s->wp), No, C, C, 1.0f, 1.0f);
    }
    tower_output_forward(s->uo, s->unorm, s->u, No, C, s->cosine);
}

/* s->duo (N, C) and s->da (mimic part, N, C) -> all user-tower gradients. */
static void user_backward(Model *m, ClEpidtn *s)
{
    ParamStore *ps = &m->params;
    SeqBatch *b = &s->sb;
    int C = s->C, S = b->S;
    int64_t N = seqbatch_tokens(b), nc = N * C, No = s->n_out;
    size_t bytes = (size_t)nc * sizeof(float);
    memset(s->du, 0, (size_t)(No * C) * sizeof(float));
    tower_output_backward(s->du, s->duo, s->uo, s->unorm, No, C, s->cosine);
    if (s->enhance) {
        /* u = h + a Wp^T: da += du Wp, dWp += du^T a; a = MLP_au(sg(c)): no dc. */
        linear_backward(s->da, param_grad(ps, s->wp), NULL, s->du, s->a, param_data(ps, s->wp), No, C, C);
        mlp2_backward(&s->au, ps, &s->au_acts, NULL, s->da, s->au_in, No);
    }
    vec_zero(s->dx_in, nc);
    seqenc_backward(&s->enc, ps, s->du, s->dx_in);
    if (s->gates) {
        vec_mul(s->dx_raw, s->dx_in, s->gate, nc);
        vec_mul(s->dgate, s->dx_in, s->x_raw, nc);
        vec_zero(s->dgpre, nc);
        gate2_backward(s->dgpre, s->dgate, s->gate, nc);
        vec_zero(s->dc, nc);
        mlp2_backward(&s->ug, ps, &s->ug_acts, s->dc, s->dgpre, s->c, N);
        cummean_backward(s->dx_raw, s->dc, b->ptr, S, C);
    } else {
        memcpy(s->dx_raw, s->dx_in, bytes);
    }
    float *dmask = param_grad(ps, s->mask_emb);
    for (int64_t t = 0; t < N; t++)
        if (b->tok[t] == SEQ_MASK)
            for (int j = 0; j < C; j++) dmask[j] += s->dx_raw[t * C + j];
    item_input_backward(&s->in, ps, s->dx_raw, s->tok_ids, N);
}

/* ---- losses ------------------------------------------------------------------------ */

/* Mimic losses on the Nq positive (token, next item) pairs; v holds the
 * candidates' tower outputs, col the positive's column per token. */
/* dst = src / ||src|| (a constant target: no gradient flows through it). */
static void unit_target(float *dst, const float *src, int C)
{
    float ss = 0;
    for (int j = 0; j < C; j++) ss += src[j] * src[j];
    float inv = 1.0f / fmaxf(sqrtf(ss), 1e-12f);
    for (int j = 0; j < C; j++) dst[j] = src[j] * inv;
}

/* Mimic losses on the Nq positive (token, next item) pairs; v holds the
 * candidates' tower outputs, col the positive's column per token. The
 * targets are the unit directions of the other tower's vectors: bounded,
 * whatever scale the dot-product towers drift to (W_p and the item MLP
 * restore the scale). */
static double mimic_loss(ClEpidtn *s, const float *v, const int32_t *col, int64_t Nq, float lambda)
{
    int C = s->C;
    int64_t pairs = 0;
    for (int64_t t = 0; t < Nq; t++) pairs += col[t] >= 0;
    if (pairs == 0) return 0;
    double lu = 0, li = 0;
    float sc = 2.0f * lambda / (float)pairs;
    for (int64_t t = 0; t < Nq; t++) {
        if (col[t] < 0) continue;
        float *vt = s->frozen_v + t * C, *ut = s->frozen_u + t * C;
        if (!(s->freeze && s->have_frozen)) {
            unit_target(vt, v + (int64_t)col[t] * C, C);
            unit_target(ut, s->uo + t * C, C);
        }
        const float *at = s->a + t * C, *ai = s->cand.ai + (int64_t)col[t] * C;
        for (int j = 0; j < C; j++) {
            float eu = at[j] - vt[j], ei = ai[j] - ut[j];
            lu += (double)eu * eu, li += (double)ei * ei;
            s->da[t * C + j] += sc * eu;                     /* only a_t moves: v is a stop-gradient target */
            s->cand.dai[(int64_t)col[t] * C + j] += sc * ei; /* only a_i moves: u is the target */
        }
    }
    s->have_frozen = s->freeze;
    return lambda * (lu + li) / (double)pairs;
}

void cl_epidtn_freeze_targets(Model *m)
{
    ClEpidtn *s = m->impl;
    s->freeze = 1;
    s->have_frozen = s->have_frozen_c = s->cand.have_frozen = s->view[0].acts.have_frozen = 0;
    s->view[1].acts.have_frozen = 0;
}

/* SASRec's loss: per position, BCE on the next item vs one uniformly drawn
 * item the user never interacted with. */
static double bce_loss(Model *m, ClEpidtn *s, const TrainCtx *ctx, int64_t Nq)
{
    SeqBatch *b = &s->sb;
    int C = s->C;
    int32_t n_items = m->cat->n_items;
    /* negatives */
    for (int sq = 0; sq < b->S && b->ptr[sq] < Nq; sq++) {
        int32_t u = b->user[sq];
        const int32_t *seq = ds_user_seq(ctx->ds, u);
        int32_t len = ds_user_len(ctx->ds, u);
        if (++s->seen_epoch == 0) memset(s->seen_mark, 0, (size_t)n_items * sizeof *s->seen_mark), s->seen_epoch = 1;
        for (int32_t j = 0; j < len; j++) s->seen_mark[seq[j]] = s->seen_epoch;
        for (int32_t t = b->ptr[sq]; t < b->ptr[sq + 1]; t++) {
            int32_t neg;
            int tries = 0;
            do neg = (int32_t)rng_below(ctx->rng_neg, (uint64_t)n_items);
            while (s->seen_mark[neg] == s->seen_epoch && ++tries < 100);
            s->neg[t] = neg;
        }
    }
    /* candidates = positives then negatives (de-duplicated, no correction) */
    CandidateSet *cs = &s->rl.cs;
    int32_t *both = s->bce_col; /* first as item list, then as columns */
    memcpy(both, b->tgt, (size_t)Nq * sizeof *both);
    memcpy(both + Nq, s->neg, (size_t)Nq * sizeof *both);
    cands_build(cs, m->cat, both, 2 * Nq, 0, 0, NULL);
    memcpy(both, cs->target, (size_t)(2 * Nq) * sizeof *both);
    int M = cs->M;
    item_input_forward(&s->in, &m->params, s->cand.x, cs->items, M);
    item_forward(m, s, &s->cand, cs->items, M, s->rl.v);
    for (int64_t k = 0; k < 2 * Nq; k++) {
        const float *u = s->uo + (k % Nq) * C, *v = s->rl.v + (int64_t)both[k] * C;
        float d = 0;
        for (int j = 0; j < C; j++) d += u[j] * v[j];
        s->bce_logit[k] = d / (float)m->cfg.temperature;
        s->bce_label[k] = k < Nq ? 1.0f : 0.0f;
    }
    double loss = bce_forward(s->bce_logit, s->bce_label, NULL, 2 * Nq) / (double)Nq;
    memset(s->bce_dlogit, 0, (size_t)(2 * Nq) * sizeof(float));
    bce_backward(s->bce_dlogit, s->bce_logit, s->bce_label, NULL, 2 * Nq, 1.0f / (float)Nq);
    vec_zero(s->rl.dv, (int64_t)M * C);
    float it = (float)(1.0 / m->cfg.temperature);
    for (int64_t k = 0; k < 2 * Nq; k++) {
        float g = s->bce_dlogit[k] * it;
        float *du = s->duo + (k % Nq) * C, *dv = s->rl.dv + (int64_t)both[k] * C;
        const float *u = s->uo + (k % Nq) * C, *v = s->rl.v + (int64_t)both[k] * C;
        for (int j = 0; j < C; j++) du[j] += g * v[j], dv[j] += g * u[j];
    }
    return loss;
}

/* Main loss: sampled/full softmax (or BCE) of every training position. */
static double main_loss(Model *m, ClEpidtn *s, const TrainCtx *ctx, int64_t Nq)
{
    if (s->bce) return bce_loss(m, s, ctx, Nq);
    RetrievalLoss *rl = &s->rl;
    retrieval_candidates(rl, &m->cfg, m->cat, s->sb.tgt, Nq, ctx->rng_neg);
    item_input_forward(&s->in, &m->params, s->cand.x, rl->cs.items, rl->cs.M);
    item_forward(m, s, &s->cand, rl->cs.items, rl->cs.M, rl->v);
    return retrieval_loss(rl, &m->cfg, s->uo, s->duo, Nq);
}

/* Short histories weigh more in the user InfoNCE: w ~ 1/sqrt(len), clipped
 * to [1/3, 3] of the batch mean, normalized to mean 1. */
static void short_history_weights(ClEpidtn *s, const TrainCtx *ctx, const Example *ex, int n, int boost)
{
    double sum = 0;
    for (int k = 0; k < n; k++) {
        s->cl_w[k] = boost ? 1.0f / sqrtf((float)MAX(1, ex[k].pos)) : 1.0f;
        sum += s->cl_w[k];
    }
    for (int k = 0; k < n; k++) s->cl_w[k] = (float)fmin(3.0, fmax(1.0 / 3.0, s->cl_w[k] * n / sum));
    sum = 0;
    for (int k = 0; k < n; k++) sum += s->cl_w[k];
    for (int k = 0; k < n; k++) s->cl_w[k] = (float)(s->cl_w[k] * n / sum);
}

/* User InfoNCE between the two views (sequences first_view .. +n and +n .. +2n). */
static double user_cl_loss(Model *m, ClEpidtn *s, int first_view, int n)
{
    int C = s->C;
    const int32_t *ptr = seqenc_out_ptr(&s->enc); /* a view's last row: its representation */
    for (int k = 0; k < n; k++) {
        int64_t t1 = ptr[first_view + k + 1] - 1, t2 = ptr[first_view + n + k + 1] - 1;
        memcpy(s->z1 + (int64_t)k * C, s->uo + t1 * C, (size_t)C * sizeof(float));
        memcpy(s->z2 + (int64_t)k * C, s->uo + t2 * C, (size_t)C * sizeof(float));
    }
    l2norm_forward(s->z1n, s->zn1, s->z1, n, C);
    l2norm_forward(s->z2n, s->zn2, s->z2, n, C);
    size_t bytes = (size_t)n * C * sizeof(float);
    memset(s->dz1n, 0, bytes), memset(s->dz2n, 0, bytes);
    float alpha = (float)m->cfg.alpha_cl, it = (float)(1.0 / m->cfg.cl_temperature);
    double loss = infonce_forward_backward(s->dz1n, s->dz2n, s->cl_logits, s->z1n, s->z2n, s->diag, s->cl_w, n, C,
                                           it, alpha / (float)n);
    memset(s->dz1, 0, bytes), memset(s->dz2, 0, bytes);
    l2norm_backward(s->dz1, s->dz1n, s->z1n, s->zn1, n, C);
    l2norm_backward(s->dz2, s->dz2n, s->z2n, s->zn2, n, C);
    for (int k = 0; k < n; k++) {
        int64_t t1 = ptr[first_view + k + 1] - 1, t2 = ptr[first_view + n + k + 1] - 1;
        for (int j = 0; j < C; j++) {
            s->duo[t1 * C + j] += s->dz1[(int64_t)k * C + j];
            s->duo[t2 * C + j] += s->dz2[(int64_t)k * C + j];
        }
    }
    return alpha * loss / n;
}

/* One feature-masked view of items ids: each slot (id, each feature) is
 * dropped with probability feat_mask_ratio, at least one kept; then a light
 * dropout (what distinguishes two views of an item without features). */
static void item_view_build(Model *m, ClEpidtn *s, ItemView *v, const int32_t *ids, int n, Rng *rng)
{
    const Catalog *cat = m->cat;
    float p = (float)m->cfg.feat_mask_ratio;
    int use_f = s->in.feat_emb >= 0;
    v->fptr[0] = 0;
    for (int k = 0; k < n; k++) {
        int32_t it = ids[k], f0 = cat->feat_ptr[it], nf = use_f ? cat->feat_ptr[it + 1] - f0 : 0;
        int32_t at = v->fptr[k], kept_f = 0;
        int keep_id = rng_float(rng) >= p;
        for (int32_t j = 0; j < nf; j++)
            if (rng_float(rng) >= p) v->fids[at + kept_f++] = cat->feat[f0 + j];
        if (!keep_id && kept_f == 0) { /* every slot masked: keep one at random */
            int32_t pick = (int32_t)rng_below(rng, (uint64_t)(nf + 1));
            if (pick == nf) keep_id = 1;
            else v->fids[at + kept_f++] = cat->feat[f0 + pick];
        }
        v->id[k] = keep_id ? it : -1;
        v->fptr[k + 1] = at + kept_f;
    }
    ParamStore *ps = &m->params;
    int C = s->C;
    embedding_forward(v->pre, param_data(ps, s->in.item_emb), v->id, n, C);
    if (use_f) {
        embedding_bag_forward(v->tmp, param_data(ps, s->in.feat_emb), v->fptr, v->fids, NULL, n, C);
        for (int64_t k = 0; k < (int64_t)n * C; k++) v->pre[k] += v->tmp[k];
    }
    dropout_forward(v->acts.x, v->mask, v->pre, (int64_t)n * C, 0.1f, rng);
}

static void item_view_backward(Model *m, ClEpidtn *s, ItemView *v, int n)
{
    ParamStore *ps = &m->params;
    int C = s->C;
    vec_zero(v->dpre, (int64_t)n * C);
    dropout_backward(v->dpre, v->acts.dx, v->mask, (int64_t)n * C);
    embedding_backward(param_grad(ps, s->in.item_emb), param_rows(ps, s->in.item_emb), v->dpre, v->id, n, C);
    if (s->in.feat_emb >= 0)
        embedding_bag_backward(param_grad(ps, s->in.feat_emb), param_rows(ps, s->in.feat_emb), v->dpre, v->fptr,
                               v->fids, NULL, n, C);
}

/* Item InfoNCE over n_cl distinct uniformly drawn items (uniform, not by
 * popularity: this is what reaches the long tail). */
static double item_cl_loss(Model *m, ClEpidtn *s, Rng *rng)
{
    int n = s->n_cl, C = s->C;
    int32_t n_items = m->cat->n_items;
    for (int k = 0; k < n; k++) {
        int32_t it;
        do it = (int32_t)rng_below(rng, (uint64_t)n_items);
        while (s->cl_mark[it]);
        s->cl_mark[it] = 1;
        s->cl_ids[k] = it;
    }
    for (int k = 0; k < n; k++) s->cl_mark[s->cl_ids[k]] = 0;
    for (int w = 0; w < 2; w++) {
        ItemView *v = &s->view[w];
        item_view_build(m, s, v, s->cl_ids, n, rng);
        memset(v->acts.dai, 0, (size_t)n * C * sizeof(float));
        item_forward(m, s, &v->acts, s->cl_ids, n, v->out);
        l2norm_forward(v->z, v->znorm, v->out, n, C);
        memset(v->dz, 0, (size_t)n * C * sizeof(float));
    }
    float beta = (float)m->cfg.beta_cl, it = (float)(1.0 / m->cfg.cl_temperature);
    double loss = infonce_forward_backward(s->view[0].dz, s->view[1].dz, s->cl_logits, s->view[0].z, s->view[1].z,
                                           s->diag, NULL, n, C, it, beta / (float)n);
    for (int w = 0; w < 2; w++) {
        ItemView *v = &s->view[w];
        memset(v->dout, 0, (size_t)n * C * sizeof(float));
        l2norm_backward(v->dout, v->dz, v->z, v->znorm, n, C);
        item_backward(m, s, &v->acts, n, v->out, v->dout);
        item_view_backward(m, s, v, n);
    }
    return beta * loss / n;
}

/* ---- the ModelClass ---------------------------------------------------------------- */

double cl_epidtn_train_step(Model *m, const TrainCtx *ctx, const Example *ex, int n)
{
    ClEpidtn *s = m->impl;
    SeqBatch *b = &s->sb;
    seqbatch_clear(b);
    for (int k = 0; k < n; k++) seqbatch_add_causal(b, ds_user_seq(ctx->ds, ex[k].user), ex[k].pos, ex[k].user);
    int n_main = b->S;
    int64_t Nq = seqbatch_tokens(b);
    s->last_main = n_main, s->last_n = n;
    if (s->cl_user)
        for (int w = 0; w < 2; w++)
            for (int k = 0; k < n; k++) seqbatch_add_view(b, ds_user_seq(ctx->ds, ex[k].user), ex[k].pos, &m->cfg, ctx->rng_aug);
    user_forward(m, s, n_main, 1, ctx->rng_drop);
    size_t bytes = (size_t)(s->n_out * s->C) * sizeof(float);
    memset(s->duo, 0, bytes);
    memset(s->da, 0, bytes);
    vec_zero(s->cand.dai, (int64_t)s->cand.cap * s->C);
    double parts[4] = {main_loss(m, s, ctx, Nq), 0, 0, 0};
    const int32_t *col = s->bce ? s->bce_col : s->rl.cs.target;
    if (s->enhance) parts[1] = mimic_loss(s, s->rl.v, col, Nq, (float)m->cfg.lambda_mimic);
    item_backward(m, s, &s->cand, s->rl.cs.M, s->rl.v, s->rl.dv);
    item_input_backward(&s->in, &m->params, s->cand.dx, s->rl.cs.items, s->rl.cs.M);
    if (s->cl_user) {
        short_history_weights(s, ctx, ex, n, m->cfg.cl_short_boost);
        parts[2] = user_cl_loss(m, s, n_main, n);
    }
    if (s->cl_item) parts[3] = item_cl_loss(m, s, ctx->rng_aug);
    static const char *names[4] = {"main", "mimic", "cl_user", "cl_item"};
    double loss = 0;
    m->n_loss_parts = 0;
    for (int k = 0; k < 4; k++) {
        loss += parts[k];
        if (k == 0 || (k == 1 && s->enhance) || (k == 2 && s->cl_user) || (k == 3 && s->cl_item)) {
            m->loss_names[m->n_loss_parts] = names[k];
            m->loss_parts[m->n_loss_parts++] = parts[k];
        }
    }
    user_backward(m, s);
    return loss;
}

void cl_epidtn_user_vectors(Model *m, const Hist *h, int n, float *out)
{
    ClEpidtn *s = m->impl;
    for (int b0 = 0; b0 < n; b0 += s->B) {
        int nb = MIN(s->B, n - b0);
        seqbatch_clear(&s->sb);
        for (int k = 0; k < nb; k++) seqbatch_add_history(&s->sb, h[b0 + k].items, h[b0 + k].len);
        user_forward(m, s, 0, 0, NULL);
        const int32_t *optr = seqenc_out_ptr(&s->enc);
        for (int k = 0; k < nb; k++)
            memcpy(out + (int64_t)(b0 + k) * s->C, s->uo + (int64_t)(optr[k + 1] - 1) * s->C,
                   (size_t)s->C * sizeof(float));
    }
}

void cl_epidtn_item_vectors(Model *m, float *out)
{
    ClEpidtn *s = m->impl;
    int64_t chunk = s->cand.cap;
    int32_t *ids = xmalloc((size_t)chunk * sizeof *ids);
    for (int32_t b0 = 0; b0 < m->cat->n_items; b0 += (int32_t)chunk) {
        int nb = (int)MIN(chunk, (int64_t)(m->cat->n_items - b0));
        for (int k = 0; k < nb; k++) ids[k] = b0 + k;
        item_input_forward(&s->in, &m->params, s->cand.x, ids, nb);
        item_forward(m, s, &s->cand, ids, nb, out + (int64_t)b0 * s->C);
    }
    free(ids);
}

/* Equal-frequency popularity buckets by training count (ties by id). */
static int cmp_count_desc(const void *pa, const void *pb, void *ctx)
{
    const int64_t *cnt = ctx;
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    if (cnt[a] != cnt[b]) return cnt[a] > cnt[b] ? -1 : 1;
    return a - b;
}

static void make_buckets(ClEpidtn *s, const Catalog *cat, int nb)
{
    int32_t n = cat->n_items, *order = xmalloc((size_t)n * sizeof *order);
    for (int32_t i = 0; i < n; i++) order[i] = i;
    qsort_r(order, (size_t)n, sizeof *order, cmp_count_desc, cat->count);
    s->bucket = xmalloc((size_t)n * sizeof *s->bucket);
    for (int32_t r = 0; r < n; r++) s->bucket[order[r]] = (int32_t)((int64_t)r * nb / n);
    free(order);
}

static void declare_params(Model *m, ClEpidtn *s)
{
    const ModelConfig *c = &m->cfg;
    ParamStore *ps = &m->params;
    int C = s->C, Hg = c->hidden > 0 ? c->hidden : C;
    float std = (float)c->init_std;
    item_input_declare(&s->in, ps, m->cat, C, c->use_features, std);
    s->mask_emb = param_add(ps, "mask_emb", 1, C, INIT_NORMAL, std);
    seqenc_declare(&s->enc, ps, c);
    if (s->gates) {
        mlp2_declare(&s->ug, ps, "user_gate", C, Hg, C, std, 1);
        mlp2_declare(&s->ig, ps, "item_gate", C, Hg, C, std, 1);
        s->pop_emb = param_add(ps, "pop_emb", c->pop_buckets, C, INIT_NORMAL, std);
    }
    if (s->enhance) {
        mlp2_declare(&s->au, ps, "aug_user", C, Hg, C, std, 0);
        s->wp = param_add(ps, "aug_user_proj", C, C, INIT_NORMAL, std);
        mlp2_declare(&s->ai, ps, "aug_item", C, Hg, C, std, 0);
        if (!s->item_mlp) s->wq = param_add(ps, "aug_item_proj", C, C, INIT_NORMAL, std);
    }
    if (s->item_mlp) mlp2_declare(&s->iv, ps, "item_mlp", s->enhance ? 2 * C : C, Hg, C, std, 1);
}

static void plan_buffers(Model *m, ClEpidtn *s)
{
    Arena *ar = &s->arena;
    int C = s->C, B = s->B;
    int64_t T = (int64_t)s->S_max * s->L, Tm = (int64_t)B * s->L;
    seqbatch_init(&s->sb, s->S_max, s->L);
    seqenc_plan(&s->enc, ar, s->S_max, T);
    float **uc[] = {&s->x_raw, &s->c, &s->gpre, &s->gate, &s->x_in, &s->a, &s->u, &s->uo, &s->duo, &s->du,
                    &s->da, &s->dx_in, &s->dgate, &s->dgpre, &s->dc, &s->dx_raw};
    for (size_t i = 0; i < ARRAY_LEN(uc); i++) *uc[i] = arena_floats(ar, (size_t)(T * C));
    s->unorm = arena_floats(ar, (size_t)T);
    s->tok_ids = arena_i32(ar, (size_t)T);
    if (s->gates) mlp2_plan(&s->ug, &s->ug_acts, ar, T);
    if (s->enhance) {
        mlp2_plan(&s->au, &s->au_acts, ar, T);
        s->frozen_v = arena_floats(ar, (size_t)(Tm * C));
        s->frozen_u = arena_floats(ar, (size_t)(Tm * C));
        s->frozen_c = arena_floats(ar, (size_t)(T * C));
        s->c_out = arena_floats(ar, (size_t)(T * C));
    }
    /* Main-loss candidates: every training position's next item (+ extras),
     * twice that for BCE's negatives; also the item_vectors chunk. */
    int64_t rows = s->bce ? 2 * Tm : Tm;
    retrieval_init(&s->rl, &m->cfg, m->cat->n_items, rows, C);
    item_acts_plan(s, &s->cand, s->rl.max_cols);
    if (s->bce) {
        s->neg = arena_i32(ar, (size_t)Tm);
        s->bce_col = arena_i32(ar, (size_t)(2 * Tm));
        s->bce_logit = arena_floats(ar, (size_t)(2 * Tm));
        s->bce_label = arena_floats(ar, (size_t)(2 * Tm));
        s->bce_dlogit = arena_floats(ar, (size_t)(2 * Tm));
        s->seen_mark = xcalloc((size_t)m->cat->n_items, sizeof *s->seen_mark);
    }
    int ncl = MAX(B, s->n_cl);
    s->diag = arena_i32(ar, (size_t)ncl);
    for (int k = 0; k < ncl; k++) s->diag[k] = k;
    s->cl_logits = arena_floats(ar, (size_t)sampled_softmax_scratch(ncl, ncl, C));
    float **zb[] = {&s->z1, &s->z2, &s->z1n, &s->z2n, &s->dz1, &s->dz2, &s->dz1n, &s->dz2n};
    for (size_t i = 0; i < ARRAY_LEN(zb); i++) *zb[i] = arena_floats(ar, (size_t)B * C);
    s->zn1 = arena_floats(ar, (size_t)B), s->zn2 = arena_floats(ar, (size_t)B), s->cl_w = arena_floats(ar, (size_t)B);
    if (s->cl_item) {
        int n = s->n_cl;
        s->cl_ids = arena_i32(ar, (size_t)n);
        s->cl_mark = arena_i32(ar, (size_t)m->cat->n_items);
        for (int w = 0; w < 2; w++) {
            ItemView *v = &s->view[w];
            v->id = arena_i32(ar, (size_t)n);
            v->fptr = arena_i32(ar, (size_t)n + 1);
            v->fids = arena_i32(ar, (size_t)m->cat->feat_ptr[m->cat->n_items] + 1);
            float **vb[] = {&v->tmp, &v->pre, &v->mask, &v->dout, &v->dpre, &v->out, &v->z, &v->dz};
            for (size_t i = 0; i < ARRAY_LEN(vb); i++) *vb[i] = arena_floats(ar, (size_t)n * C);
            v->znorm = arena_floats(ar, (size_t)n);
            item_acts_plan(s, &v->acts, n);
        }
    }
}

int cl_epidtn_build_flags(Model *m, int enhance, int gates, int cl_user, int cl_item, Err *err)
{
    const ModelConfig *c = &m->cfg;
    if (c->dim % c->heads != 0) return err_set(err, "%s: --dim %d is not divisible by --heads %d", m->cls->name, c->dim, c->heads);
    if (c->layers > SEQ_MAX_LAYERS) return err_set(err, "%s: at most %d --layers", m->cls->name, SEQ_MAX_LAYERS);
    ClEpidtn *s = xcalloc(1, sizeof *s);
    m->impl = s;
    s->C = c->dim, s->B = c->batch_size, s->L = c->max_len;
    s->enhance = enhance, s->gates = gates, s->cl_user = cl_user, s->cl_item = cl_item;
    s->item_mlp = c->item_mlp, s->bce = !strcmp(c->loss, "bce"), s->cosine = c->cosine;
    s->S_max = s->B * (cl_user ? 3 : 1);
    s->n_cl = (int)MIN((int64_t)c->cl_items, (int64_t)m->cat->n_items / 2);
    if (s->cl_item && s->n_cl < 2) s->cl_item = 0; /* a catalogue too small for item views */
    if (s->gates) make_buckets(s, m->cat, c->pop_buckets);
    declare_params(m, s);
    plan_buffers(m, s);
    return 0;
}

static int cl_build(Model *m, Err *err)
{
    const ModelConfig *c = &m->cfg;
    return cl_epidtn_build_flags(m, c->enhance, c->gates, c->cl_user, c->cl_item, err);
}

void cl_epidtn_destroy(Model *m)
{
    ClEpidtn *s = m->impl;
    if (!s) return;
    item_input_free(&s->in);
    seqbatch_free(&s->sb);
    retrieval_free(&s->rl);
    arena_free(&s->arena);
    free(s->bucket);
    free(s->seen_mark);
    free(s);
}

const ModelClass model_cl_epidtn = {
    .name = "cl-epidtn",
    .summary = "Transformer user tower + dual-path personalized enhancement + contrastive learning (flagship)",
    .per_sequence = 1,
    .trainable = 1,
    /* Tuned on Amazon Beauty (docs/RESULTS.md): dropout as ICLRec's SASRec, the
     * item MLP head off (it overfit), 2048 uniform extra negatives (mixed
     * negative sampling: the in-batch positives alone under-sample the tail). */
    .defaults = "dropout=0.5 emb-dropout=0.5 epochs=200 patience=10 negatives=2048 item-mlp=false",
    .build = cl_build,
    .train_step = cl_epidtn_train_step,
    .user_vectors = cl_epidtn_user_vectors,
    .item_vectors = cl_epidtn_item_vectors,
    .destroy = cl_epidtn_destroy,
};

/* ---- debug dump of the last training batch (PyTorch parity test) ---------- */

static int dump_i32(const char *dir, const char *name, const int32_t *v, int64_t n, Err *err)
{
    char *p = path_join(dir, name);
    int rc = npy_write_i32(p, v, &n, 1, err);
    free(p);
    return rc;
}

static int dump_f32(const char *dir, const char *name, const float *v, int64_t rows, int64_t cols, Err *err)
{
    char *p = path_join(dir, name);
    int64_t shape[2] = {rows, cols};
    int rc = npy_write_f32(p, v, shape, cols > 0 ? 2 : 1, err);
    free(p);
    return rc;
}

int cl_epidtn_dump(Model *m, const char *dir, Err *err)
{
    ClEpidtn *s = m->impl;
    const SeqBatch *b = &s->sb;
    int64_t N = seqbatch_tokens(b), Nq = b->ptr[s->last_main];
    int C = s->C, rc = 0;
    const CandidateSet *cs = &s->rl.cs;
    int32_t meta[4] = {s->last_main, s->last_n, (int32_t)Nq, s->n_cl};
    rc |= dump_i32(dir, "meta.npy", meta, 4, err);
    rc |= dump_i32(dir, "tok.npy", b->tok, N, err);
    rc |= dump_i32(dir, "ptr.npy", b->ptr, b->S + 1, err);
    rc |= dump_i32(dir, "tgt.npy", b->tgt, N, err);
    rc |= dump_i32(dir, "cand_items.npy", cs->items, cs->M, err);
    rc |= dump_f32(dir, "cand_logq.npy", cs->logq, cs->M, 0, err);
    rc |= dump_i32(dir, "cand_col.npy", s->bce ? s->bce_col : cs->target, s->bce ? 2 * Nq : Nq, err);
    rc |= dump_f32(dir, "uo.npy", s->uo, s->n_out, C, err); /* the encoder's output rows */
    rc |= dump_f32(dir, "cand_v.npy", s->rl.v, cs->M, C, err);
    rc |= dump_i32(dir, "feat_ptr.npy", m->cat->feat_ptr, m->cat->n_items + 1, err);
    rc |= dump_i32(dir, "feat.npy", m->cat->feat, MAX(m->cat->feat_ptr[m->cat->n_items], 1), err);
    if (s->gates) rc |= dump_i32(dir, "bucket.npy", s->bucket, m->cat->n_items, err);
    if (s->cl_user) rc |= dump_f32(dir, "cl_w.npy", s->cl_w, s->last_n, 0, err);
    if (s->cl_item) {
        rc |= dump_i32(dir, "cl_ids.npy", s->cl_ids, s->n_cl, err);
        for (int w = 0; w < 2; w++) {
            const ItemView *v = &s->view[w];
            char name[32];
            snprintf(name, sizeof name, "view%d_id.npy", w), rc |= dump_i32(dir, name, v->id, s->n_cl, err);
            snprintf(name, sizeof name, "view%d_fptr.npy", w), rc |= dump_i32(dir, name, v->fptr, s->n_cl + 1, err);
            snprintf(name, sizeof name, "view%d_fids.npy", w);
            rc |= dump_i32(dir, name, v->fids, MAX(v->fptr[s->n_cl], 1), err);
            snprintf(name, sizeof name, "view%d_mask.npy", w), rc |= dump_f32(dir, name, v->mask, s->n_cl, C, err);
        }
    }
    return rc ? -1 : 0;
}
