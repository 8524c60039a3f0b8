/* gru4rec — GRU4Rec (Hidasi, Karatzoglou, Baltrunas, Tikk, ICLR 2016) in
 * its modern sequential form (RecBole's GRU4Rec): a GRU reads the behaviour
 * sequence and its state after each item is the user vector for the next.
 *   x_t   = E_item[i_t] + mean E_feat[feats(i_t)]          (ItemInput, shared with the item tower)
 *   h^0_t = Dropout_emb(x_t)
 *   h^l   = GRU_l(Dropout(h^{l-1}))  l = 1 .. --layers   (hidden = --dim; no dropout before GRU_1)
 *   u_t   = h^L_t,   v_i = x_i                           (both L2-normalized with --cosine)
 * Trained causally as sasrec: one packed sequence per user, every position
 * predicting the next item with the sampled softmax + log-Q (or the full
 * softmax). A history's user vector is the state after its last item. */
#include "model/seq_batch.h"
#include "model/towers.h"
#include "nn/gru.h"
#include "nn/layers.h"
#include "util/arena.h"

enum { GRU4REC_MAX_LAYERS = 8 };

typedef struct {
    ItemInput in;
    Gru gru[GRU4REC_MAX_LAYERS];
    GruActs acts[GRU4REC_MAX_LAYERS];
    int D, B, L, layers;
    float p_emb, p_hid;
    SeqBatch sb;
    RetrievalLoss rl;
    Arena arena;
    /* per token, (T, D) with T = B * L */
    float *x;                              /* item inputs */
    float *gin[GRU4REC_MAX_LAYERS];        /* input of GRU_l after dropout */
    float *mask[GRU4REC_MAX_LAYERS];       /* its dropout mask */
    float *h[GRU4REC_MAX_LAYERS];          /* output of GRU_l */
    float *u, *unorm;                      /* (T, D), (T) user vectors */
    float *du, *dh, *din;                  /* gradients */
    float *v_raw, *v_norm, *dv_raw;        /* (max_cols, D), (max_cols), (max_cols, D) candidates */
} Gru4Rec;

static int g4r_build(Model *m, Err *err)
{
    const ModelConfig *c = &m->cfg;
    if (!strcmp(c->loss, "bce")) return err_set(err, "gru4rec: --loss bce is not supported; use sampled or full");
    if (c->layers > GRU4REC_MAX_LAYERS) return err_set(err, "gru4rec: at most %d --layers", GRU4REC_MAX_LAYERS);
    Gru4Rec *s = xcalloc(1, sizeof *s);
    m->impl = s;
    s->D = c->dim, s->B = c->batch_size, s->L = c->max_len, s->layers = c->layers;
    s->p_emb = (float)c->emb_dropout, s->p_hid = (float)c->dropout;
    ParamStore *ps = &m->params;
    item_input_declare(&s->in, ps, m->cat, s->D, c->use_features, (float)c->init_std);
    int64_t T = (int64_t)s->B * s->L, D = s->D;
    Arena *a = &s->arena;
    for (int l = 0; l < s->layers; l++) {
        char name[16];
        snprintf(name, sizeof name, "gru%d", l);
        gru_declare(&s->gru[l], ps, name, s->D, s->D);
        gru_plan(&s->gru[l], &s->acts[l], a, s->B, s->L, T);
        s->gin[l] = arena_floats(a, (size_t)(T * D)), s->mask[l] = arena_floats(a, (size_t)(T * D));
        s->h[l] = arena_floats(a, (size_t)(T * D));
    }
    seqbatch_init(&s->sb, s->B, s->L);
    retrieval_init(&s->rl, c, m->cat->n_items, T, s->D);
    s->x = arena_floats(a, (size_t)(T * D));
    s->u = arena_floats(a, (size_t)(T * D)), s->unorm = arena_floats(a, (size_t)T);
    s->du = arena_floats(a, (size_t)(T * D)), s->dh = arena_floats(a, (size_t)(T * D));
    s->din = arena_floats(a, (size_t)(T * D));
    int64_t mc = s->rl.max_cols;
    s->v_raw = arena_floats(a, (size_t)(mc * D)), s->dv_raw = arena_floats(a, (size_t)(mc * D));
    s->v_norm = arena_floats(a, (size_t)mc);
    return 0;
}

/* s->u (N, D): the user vector after every token of s->sb. An empty
 * history's [mask] token (id < 0) reads as a zero input. */
static void user_forward(Model *m, Gru4Rec *s, int train, Rng *rng)
{
    ParamStore *ps = &m->params;
    const SeqBatch *b = &s->sb;
    int64_t N = seqbatch_tokens(b), nd = N * s->D;
    item_input_forward(&s->in, ps, s->x, b->tok, N);
    for (int l = 0; l < s->layers; l++) {
        float p = train ? (l == 0 ? s->p_emb : s->p_hid) : 0.0f;
        dropout_forward(s->gin[l], s->mask[l], l == 0 ? s->x : s->h[l - 1], nd, p, rng);
        gru_forward(&s->gru[l], ps, &s->acts[l], s->h[l], s->gin[l], b->ptr, b->S);
    }
    tower_output_forward(s->u, s->unorm, s->h[s->layers - 1], N, s->D, m->cfg.cosine);
}

/* s->du (N, D) -> every user-tower gradient. */
static void user_backward(Model *m, Gru4Rec *s)
{
    ParamStore *ps = &m->params;
    const SeqBatch *b = &s->sb;
    int64_t N = seqbatch_tokens(b), nd = N * s->D;
    size_t bytes = (size_t)nd * sizeof(float);
    memset(s->dh, 0, bytes);
    tower_output_backward(s->dh, s->du, s->u, s->unorm, N, s->D, m->cfg.cosine);
    for (int l = s->layers - 1; l >= 0; l--) {
        memset(s->din, 0, bytes);
        gru_backward(&s->gru[l], ps, &s->acts[l], s->din, s->dh);
        memset(s->dh, 0, bytes); /* now the gradient of GRU_l's input before dropout */
        dropout_backward(s->dh, s->din, s->mask[l], nd);
    }
    item_input_backward(&s->in, ps, s->dh, b->tok, N);
}

/* Item tower: out (n, D) for ids (the shared item input, normalized with --cosine). */
static void item_forward(Model *m, const int32_t *ids, int n, float *out)
{
    Gru4Rec *s = m->impl;
    item_input_forward(&s->in, &m->params, s->v_raw, ids, n);
    tower_output_forward(out, s->v_norm, s->v_raw, n, s->D, m->cfg.cosine);
}

static double g4r_train_step(Model *m, const TrainCtx *ctx, const Example *ex, int n)
{
    Gru4Rec *s = m->impl;
    SeqBatch *b = &s->sb;
    seqbatch_clear(b);
    for (int k = 0; k < n; k++) seqbatch_add_causal(b, ds_user_seq(ctx->ds, ex[k].user), ex[k].pos, ex[k].user);
    int64_t N = seqbatch_tokens(b);
    if (N == 0) return 0;
    user_forward(m, s, 1, ctx->rng_drop);
    RetrievalLoss *rl = &s->rl;
    retrieval_candidates(rl, &m->cfg, m->cat, b->tgt, N, ctx->rng_neg);
    int M = rl->cs.M;
    item_forward(m, rl->cs.items, M, rl->v);
    memset(s->du, 0, (size_t)(N * s->D) * sizeof(float));
    double loss = retrieval_loss(rl, &m->cfg, s->u, s->du, N);
    memset(s->dv_raw, 0, (size_t)M * s->D * sizeof(float));
    tower_output_backward(s->dv_raw, rl->dv, rl->v, s->v_norm, M, s->D, m->cfg.cosine);
    item_input_backward(&s->in, &m->params, s->dv_raw, rl->cs.items, M);
    user_backward(m, s);
    return loss;
}

static void g4r_user_vectors(Model *m, const Hist *h, int n, float *out)
{
    Gru4Rec *s = m->impl;
    for (int b0 = 0; b0 < n; b0 += s->B) {
        int nb = MIN(s->B, n - b0);
        seqbatch_clear(&s->sb);
        for (int k = 0; k < nb; k++) seqbatch_add_history(&s->sb, h[b0 + k].items, h[b0 + k].len);
        user_forward(m, s, 0, NULL);
        for (int k = 0; k < nb; k++) /* the state after the last item */
            memcpy(out + (int64_t)(b0 + k) * s->D, s->u + (int64_t)(s->sb.ptr[k + 1] - 1) * s->D,
                   (size_t)s->D * sizeof(float));
    }
}

static void g4r_item_vectors(Model *m, float *out)
{
    item_vectors_chunked(m, ((Gru4Rec *)m->impl)->rl.max_cols, item_forward, out);
}

static void g4r_destroy(Model *m)
{
    Gru4Rec *s = m->impl;
    if (!s) return;
    item_input_free(&s->in);
    seqbatch_free(&s->sb);
    retrieval_free(&s->rl);
    arena_free(&s->arena);
    free(s);
}

const ModelClass model_gru4rec = {
    .name = "gru4rec",
    .summary = "GRU over the behaviour sequence, shared item embeddings (Hidasi et al. 2016, RecBole form)",
    .per_sequence = 1,
    .trainable = 1,
    /* One GRU layer and dropout 0.3 on the input embeddings as RecBole's
     * GRU4Rec defaults (--dropout acts between stacked layers only); early
     * stopping as the other sequence models. */
    .defaults = "layers=1 emb-dropout=0.3 dropout=0.3 epochs=200 patience=10",
    .build = g4r_build,
    .train_step = g4r_train_step,
    .user_vectors = g4r_user_vectors,
    .item_vectors = g4r_item_vectors,
    .destroy = g4r_destroy,
};
