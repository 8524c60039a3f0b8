#include "model/multi_interest.h"

#include "nn/layers.h"
#include "nn/routing.h"

int mi_init(Model *m, MultiInterest *mi, MiReadout readout, int dynamic_k, Err *err)
{
    const ModelConfig *c = &m->cfg;
    if (!strcmp(c->loss, "bce")) return err_set(err, "%s: --loss bce is for sequence models; use sampled or full", m->cls->name);
    mi->B = c->batch_size, mi->K = c->interests, mi->D = c->dim;
    mi->readout = readout, mi->dynamic_k = dynamic_k;
    m->n_interests = mi->K;
    item_input_declare(&mi->in, &m->params, m->cat, mi->D, c->use_features, (float)c->init_std);
    histbatch_init(&mi->hb, mi->B, c->max_len);
    retrieval_init(&mi->rl, c, m->cat->n_items, mi->B, mi->D);
    Arena *a = &mi->arena;
    int64_t B = mi->B, T = B * c->max_len, K = mi->K, D = mi->D, M = mi->rl.max_cols;
    mi->nk = arena_i32(a, (size_t)B), mi->sel = arena_i32(a, (size_t)B);
    mi->x = arena_floats(a, (size_t)(T * D)), mi->dx = arena_floats(a, (size_t)(T * D));
    mi->caps_raw = arena_floats(a, (size_t)(B * K * D)), mi->dcaps_raw = arena_floats(a, (size_t)(B * K * D));
    mi->caps = arena_floats(a, (size_t)(B * K * D)), mi->dcaps = arena_floats(a, (size_t)(B * K * D));
    mi->caps_norm = arena_floats(a, (size_t)(B * K));
    mi->tgt = arena_floats(a, (size_t)(B * D)), mi->dtgt = arena_floats(a, (size_t)(B * D));
    mi->q = arena_floats(a, (size_t)(B * D)), mi->dq = arena_floats(a, (size_t)(B * D));
    mi->att = arena_floats(a, (size_t)(B * K));
    mi->v_raw = arena_floats(a, (size_t)(M * D)), mi->dv_raw = arena_floats(a, (size_t)(M * D));
    mi->v_norm = arena_floats(a, (size_t)M);
    return 0;
}

/* MIND's dynamic interest number: about log2 of what the user did, at least 1. */
static int interests_of(const MultiInterest *mi, int n)
{
    if (!mi->dynamic_k) return mi->K;
    int lg = 0;
    while (n >= 2 << lg) lg++; /* floor(log2 n) for n >= 1 */
    return MAX(1, MIN(mi->K, lg));
}

/* Rows in mi->hb -> mi->caps (B, K, D). */
static void user_forward(Model *m, MultiInterest *mi)
{
    int B = mi->hb.B, T = mi->hb.ptr[B];
    for (int b = 0; b < B; b++) mi->nk[b] = interests_of(mi, mi->hb.ptr[b + 1] - mi->hb.ptr[b]);
    item_input_forward(&mi->in, &m->params, mi->x, mi->hb.tok, T);
    mi->extract_forward(m);
    tower_output_forward(mi->caps, mi->caps_norm, mi->caps_raw, (int64_t)B * mi->K, mi->D, m->cfg.cosine);
}

static void user_backward(Model *m, MultiInterest *mi)
{
    int B = mi->hb.B, T = mi->hb.ptr[B];
    int64_t n = (int64_t)B * mi->K;
    memset(mi->dcaps_raw, 0, (size_t)(n * mi->D) * sizeof(float));
    tower_output_backward(mi->dcaps_raw, mi->dcaps, mi->caps, mi->caps_norm, n, mi->D, m->cfg.cosine);
    memset(mi->dx, 0, (size_t)T * mi->D * sizeof(float));
    mi->extract_backward(m);
    item_input_backward(&mi->in, &m->params, mi->dx, mi->hb.tok, T);
}

static void item_forward(Model *m, MultiInterest *mi, const int32_t *ids, int n, float *out)
{
    item_input_forward(&mi->in, &m->params, mi->v_raw, ids, n);
    tower_output_forward(out, mi->v_norm, mi->v_raw, n, mi->D, m->cfg.cosine);
}

/* q (B, D): the vector that meets the sampled softmax, from the interests
 * and the target item vectors. */
static void readout_forward(MultiInterest *mi, int B, float p)
{
    if (mi->readout == READOUT_LABEL_ATTENTION)
        label_attention_forward(mi->q, mi->att, mi->caps, mi->tgt, mi->nk, B, mi->K, mi->D, p);
    else
        interest_select_forward(mi->q, mi->sel, mi->caps, mi->tgt, mi->nk, B, mi->K, mi->D);
}

static void readout_backward(MultiInterest *mi, int B, float p)
{
    memset(mi->dcaps, 0, (size_t)B * mi->K * mi->D * sizeof(float));
    memset(mi->dtgt, 0, (size_t)B * mi->D * sizeof(float));
    if (mi->readout == READOUT_LABEL_ATTENTION)
        label_attention_backward(mi->dcaps, mi->dtgt, mi->dq, mi->att, mi->caps, mi->tgt, mi->nk, B, mi->K, mi->D, p);
    else
        interest_select_backward(mi->dcaps, mi->dq, mi->sel, B, mi->K, mi->D);
}

double mi_train_step(Model *m, const TrainCtx *ctx, const Example *ex, int n)
{
    MultiInterest *mi = m->impl;
    RetrievalLoss *rl = &mi->rl;
    int D = mi->D;
    float p = (float)m->cfg.label_power;
    histbatch_clear(&mi->hb);
    for (int k = 0; k < n; k++) {
        const int32_t *seq = ds_user_seq(ctx->ds, ex[k].user);
        histbatch_add(&mi->hb, seq, ex[k].pos, seq[ex[k].pos]);
    }
    user_forward(m, mi);
    retrieval_candidates(rl, &m->cfg, m->cat, mi->hb.pos, n, ctx->rng_neg);
    int M = rl->cs.M;
    item_forward(m, mi, rl->cs.items, M, rl->v);
    /* The target's item vector is its candidate column: one item tower pass. */
    for (int b = 0; b < n; b++) memcpy(mi->tgt + (int64_t)b * D, rl->v + (int64_t)rl->cs.target[b] * D, (size_t)D * sizeof(float));
    readout_forward(mi, n, p);
    memset(mi->dq, 0, (size_t)n * D * sizeof(float));
    double loss = retrieval_loss(rl, &m->cfg, mi->q, mi->dq, n);
    if (loss == 0) return 0; /* no row with a positive: no gradient (rl->dv untouched) */
    readout_backward(mi, n, p);
    for (int b = 0; b < n; b++) {
        float *dv = rl->dv + (int64_t)rl->cs.target[b] * D, *g = mi->dtgt + (int64_t)b * D;
        for (int d = 0; d < D; d++) dv[d] += g[d];
    }
    memset(mi->dv_raw, 0, (size_t)M * D * sizeof(float));
    tower_output_backward(mi->dv_raw, rl->dv, rl->v, mi->v_norm, M, D, m->cfg.cosine);
    item_input_backward(&mi->in, &m->params, mi->dv_raw, rl->cs.items, M);
    user_backward(m, mi);
    return loss;
}

void mi_user_vectors(Model *m, const Hist *h, int n, float *out)
{
    MultiInterest *mi = m->impl;
    size_t row = (size_t)mi->K * mi->D, vec = (size_t)mi->D * sizeof(float);
    for (int b = 0; b < n; b += mi->B) {
        int nb = MIN(mi->B, n - b);
        histbatch_clear(&mi->hb);
        for (int k = 0; k < nb; k++) histbatch_add(&mi->hb, h[b + k].items, h[b + k].len, -1);
        user_forward(m, mi);
        float *o = out + (size_t)b * row;
        memcpy(o, mi->caps, (size_t)nb * row * sizeof(float));
        for (int r = 0; r < nb; r++) /* unused slots repeat the first interest */
            for (int k = mi->nk[r]; k < mi->K; k++) memcpy(o + r * row + (size_t)k * mi->D, o + r * row, vec);
    }
}

static void item_encode(Model *m, const int32_t *ids, int n, float *out) { item_forward(m, m->impl, ids, n, out); }

void mi_item_vectors(Model *m, float *out)
{
    MultiInterest *mi = m->impl;
    item_vectors_chunked(m, mi->rl.max_cols, item_encode, out);
}

void mi_destroy(Model *m)
{
    MultiInterest *mi = m->impl;
    if (!mi) return;
    item_input_free(&mi->in);
    histbatch_free(&mi->hb);
    retrieval_free(&mi->rl);
    arena_free(&mi->arena);
    free(mi);
    m->impl = NULL;
}

void mi_freeze_routing(Model *m)
{
    MultiInterest *mi = m->impl;
    mi->freeze = 1;
}
