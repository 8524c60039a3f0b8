/* youtubednn — YouTube DNN candidate generation (Covington et al. 2016) as a
 * two-tower model:
 *   user tower:  u = W2 relu(W1 mean_{j in last L items} x_j + b1) + b2
 *   item tower:  v_i = x_i            (x = item id + mean feature embedding)
 * The item input embeddings are shared by both towers (as ComiRec's YouTube
 * DNN). Trained with in-batch sampled softmax + log-Q correction (or full
 * softmax). Optional cosine scoring with a temperature. */
#include "model/towers.h"
#include "nn/layers.h"
#include "util/arena.h"

typedef struct {
    ItemInput in;
    int w1, b1, w2, b2;   /* user MLP parameter indices */
    int D, H, B;
    HistBatch hb;
    RetrievalLoss rl;
    int32_t *arange;      /* (B*L) 0, 1, 2, ...: pools tokens with embedding_bag */
    Arena arena;
    /* activations for B rows / T = B*L tokens */
    float *tok_x;         /* (T, D) item inputs of the history tokens */
    float *pooled;        /* (B, D) */
    float *h_pre, *h;     /* (B, H) */
    float *u_raw, *u;     /* (B, D) */
    float *u_norm;        /* (B) */
    float *v_raw, *v_norm;/* (M, D), (M) candidate item vectors before normalization */
    /* gradients */
    float *d_tok_x, *d_pooled, *d_h_pre, *d_h, *d_u_raw, *d_u, *d_v_raw;
} YoutubeDnn;

static int ytdnn_build(Model *m, Err *err)
{
    const ModelConfig *c = &m->cfg;
    if (!strcmp(c->loss, "bce")) return err_set(err, "youtubednn: --loss bce is for sequence models; use sampled or full");
    YoutubeDnn *s = xcalloc(1, sizeof *s);
    m->impl = s;
    s->D = c->dim;
    s->H = c->hidden > 0 ? c->hidden : c->dim;
    s->B = c->batch_size;
    ParamStore *ps = &m->params;
    item_input_declare(&s->in, ps, m->cat, s->D, c->use_features, (float)c->init_std);
    s->w1 = param_add(ps, "user_w1", s->H, s->D, INIT_XAVIER, 1.0f);
    s->b1 = param_add(ps, "user_b1", 1, s->H, INIT_ZERO, 0);
    s->w2 = param_add(ps, "user_w2", s->D, s->H, INIT_XAVIER, 1.0f);
    s->b2 = param_add(ps, "user_b2", 1, s->D, INIT_ZERO, 0);
    param_set_no_decay(ps, s->b1);
    param_set_no_decay(ps, s->b2);

    int64_t B = s->B, T = B * c->max_len, D = s->D, H = s->H;
    histbatch_init(&s->hb, s->B, c->max_len);
    retrieval_init(&s->rl, c, m->cat->n_items, B, s->D);
    Arena *a = &s->arena;
    s->arange = arena_i32(a, (size_t)T);
    for (int64_t k = 0; k < T; k++) s->arange[k] = (int32_t)k;
    s->tok_x = arena_floats(a, T * D), s->d_tok_x = arena_floats(a, T * D);
    s->pooled = arena_floats(a, B * D), s->d_pooled = arena_floats(a, B * D);
    s->h_pre = arena_floats(a, B * H), s->d_h_pre = arena_floats(a, B * H);
    s->h = arena_floats(a, B * H), s->d_h = arena_floats(a, B * H);
    s->u_raw = arena_floats(a, B * D), s->d_u_raw = arena_floats(a, B * D);
    s->u = arena_floats(a, B * D), s->d_u = arena_floats(a, B * D);
    s->u_norm = arena_floats(a, B);
    s->v_raw = arena_floats(a, (size_t)s->rl.max_cols * D), s->d_v_raw = arena_floats(a, (size_t)s->rl.max_cols * D);
    s->v_norm = arena_floats(a, (size_t)s->rl.max_cols);
    return 0;
}

/* User tower forward on the histories in s->hb: fills s->u (B, D). */
static void user_forward(Model *m, YoutubeDnn *s)
{
    ParamStore *ps = &m->params;
    int B = s->hb.B, T = s->hb.ptr[B];
    item_input_forward(&s->in, ps, s->tok_x, s->hb.tok, T);
    embedding_bag_forward(s->pooled, s->tok_x, s->hb.ptr, s->arange, NULL, B, s->D);
    linear_forward(s->h_pre, s->pooled, param_data(ps, s->w1), param_data(ps, s->b1), B, s->D, s->H);
    relu_forward(s->h, s->h_pre, (int64_t)B * s->H);
    linear_forward(s->u_raw, s->h, param_data(ps, s->w2), param_data(ps, s->b2), B, s->H, s->D);
    tower_output_forward(s->u, s->u_norm, s->u_raw, B, s->D, m->cfg.cosine);
}

static void user_backward(Model *m, YoutubeDnn *s)
{
    ParamStore *ps = &m->params;
    int B = s->hb.B, T = s->hb.ptr[B], D = s->D, H = s->H;
    memset(s->d_u_raw, 0, (size_t)B * D * sizeof(float));
    memset(s->d_h, 0, (size_t)B * H * sizeof(float));
    memset(s->d_h_pre, 0, (size_t)B * H * sizeof(float));
    memset(s->d_pooled, 0, (size_t)B * D * sizeof(float));
    memset(s->d_tok_x, 0, (size_t)T * D * sizeof(float));
    tower_output_backward(s->d_u_raw, s->d_u, s->u, s->u_norm, B, D, m->cfg.cosine);
    linear_backward(s->d_h, param_grad(ps, s->w2), param_grad(ps, s->b2), s->d_u_raw, s->h, param_data(ps, s->w2), B,
                    H, D);
    relu_backward(s->d_h_pre, s->d_h, s->h_pre, (int64_t)B * H);
    linear_backward(s->d_pooled, param_grad(ps, s->w1), param_grad(ps, s->b1), s->d_h_pre, s->pooled,
                    param_data(ps, s->w1), B, D, H);
    embedding_bag_backward(s->d_tok_x, NULL, s->d_pooled, s->hb.ptr, s->arange, NULL, B, D);
    item_input_backward(&s->in, ps, s->d_tok_x, s->hb.tok, T);
}

/* Item tower: v (n, D) for ids. */
static void item_forward(Model *m, YoutubeDnn *s, const int32_t *ids, int n, float *raw, float *norm, float *out)
{
    item_input_forward(&s->in, &m->params, raw, ids, n);
    tower_output_forward(out, norm, raw, n, s->D, m->cfg.cosine);
}

static double ytdnn_train_step(Model *m, const TrainCtx *ctx, const Example *ex, int n)
{
    YoutubeDnn *s = m->impl;
    histbatch_clear(&s->hb);
    for (int k = 0; k < n; k++) {
        const int32_t *seq = ds_user_seq(ctx->ds, ex[k].user);
        histbatch_add(&s->hb, seq, ex[k].pos, seq[ex[k].pos]);
    }
    user_forward(m, s);
    RetrievalLoss *rl = &s->rl;
    retrieval_candidates(rl, &m->cfg, m->cat, s->hb.pos, n, ctx->rng_neg);
    int M = rl->cs.M;
    item_forward(m, s, rl->cs.items, M, s->v_raw, s->v_norm, rl->v);
    memset(s->d_u, 0, (size_t)n * s->D * sizeof(float));
    double loss = retrieval_loss(rl, &m->cfg, s->u, s->d_u, n);
    memset(s->d_v_raw, 0, (size_t)M * s->D * sizeof(float));
    tower_output_backward(s->d_v_raw, rl->dv, rl->v, s->v_norm, M, s->D, m->cfg.cosine);
    item_input_backward(&s->in, &m->params, s->d_v_raw, rl->cs.items, M);
    user_backward(m, s);
    return loss;
}

static void ytdnn_user_vectors(Model *m, const Hist *h, int n, float *out)
{
    YoutubeDnn *s = m->impl;
    for (int b = 0; b < n; b += s->B) {
        int nb = MIN(s->B, n - b);
        histbatch_clear(&s->hb);
        for (int k = 0; k < nb; k++) histbatch_add(&s->hb, h[b + k].items, h[b + k].len, -1);
        user_forward(m, s);
        memcpy(out + (size_t)b * s->D, s->u, (size_t)nb * s->D * sizeof(float));
    }
}

static void item_encode(Model *m, const int32_t *ids, int n, float *out)
{
    YoutubeDnn *s = m->impl;
    item_forward(m, s, ids, n, s->v_raw, s->v_norm, out);
}

static void ytdnn_item_vectors(Model *m, float *out)
{
    item_vectors_chunked(m, ((YoutubeDnn *)m->impl)->rl.max_cols, item_encode, out);
}

static void ytdnn_destroy(Model *m)
{
    YoutubeDnn *s = m->impl;
    if (!s) return;
    item_input_free(&s->in);
    histbatch_free(&s->hb);
    retrieval_free(&s->rl);
    arena_free(&s->arena);
    free(s);
}

const ModelClass model_youtubednn = {
    .name = "youtubednn",
    .summary = "mean-pooled history -> MLP user tower; id+feature item tower (Covington et al. 2016)",
    .per_sequence = 0,
    .trainable = 1,
    .build = ytdnn_build,
    .train_step = ytdnn_train_step,
    .user_vectors = ytdnn_user_vectors,
    .item_vectors = ytdnn_item_vectors,
    .destroy = ytdnn_destroy,
};
