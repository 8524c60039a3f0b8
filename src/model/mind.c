/* mind — Multi-Interest Network with Dynamic routing (Li et al., CIKM 2019).
 *
 * User tower: the item inputs x_j of the last max_len history items, one
 * shared bilinear map S (D x D), behaviour-to-interest routing (nn/routing.h)
 * into K_u = max(1, min(K, floor(log2 n))) interest capsules for n history
 * items, then MIND's user-embedding layers per interest:
 *   u_k = W2 relu(W1 c_k + b1) + b2          (H = --hidden, 0: D)
 * Training: label-aware attention of the interests on the target item
 * vector (power p = --label-power), sampled softmax with log-Q. The routing
 * is differentiated exactly, through every iteration (the initial logits b0
 * are constants). Item tower and evaluation contract: model/multi_interest.h. */
#include <math.h>

#include "model/multi_interest.h"
#include "nn/layers.h"
#include "nn/routing.h"

typedef struct {
    MultiInterest mi;       /* first: m->impl points at both */
    int S;                  /* (D, D) bilinear map, shared by the interests */
    int w1, b1, w2, b2;     /* user embedding layers (H, D), (H), (D, H), (D) */
    int H;
    RoutingActs ra;
    float *b0;              /* (L, K) initial routing logits, fixed */
    float *uhat, *duhat;    /* (T, D) S x_j */
    float *c, *dc;          /* (B, K, D) interest capsules */
    float *h_pre, *h, *dh_pre, *dh; /* (B*K, H) */
} Mind;

/* MIND draws the initial routing logits from N(0, 1) (ComiRec's MIND: a
 * truncated normal, redrawn every batch). We draw them once per (history
 * position, interest) slot from a fixed seed: they still break the symmetry
 * of the shared map, and a user's interests become a deterministic function
 * of the history, so evaluation and serving are reproducible and a saved
 * model needs nothing besides its parameters. */
static void draw_initial_logits(float *b0, int64_t n)
{
    Rng r;
    rng_seed(&r, 0x4d494e44 /* "MIND" */, RNG_INIT);
    for (int64_t i = 0; i < n; i++) {
        float v;
        do v = rng_normal(&r);
        while (fabsf(v) > 2.0f);
        b0[i] = v;
    }
}

static void mind_forward(Model *m)
{
    Mind *s = m->impl;
    MultiInterest *mi = &s->mi;
    ParamStore *ps = &m->params;
    int B = mi->hb.B, T = mi->hb.ptr[B], D = mi->D, BK = B * mi->K;
    linear_forward(s->uhat, mi->x, param_data(ps, s->S), NULL, T, D, D);
    routing_forward(&s->ra, s->c, s->uhat, 0, mi->hb.ptr, B, mi->nk, s->b0, 0);
    linear_forward(s->h_pre, s->c, param_data(ps, s->w1), param_data(ps, s->b1), BK, D, s->H);
    relu_forward(s->h, s->h_pre, (int64_t)BK * s->H);
    linear_forward(mi->caps_raw, s->h, param_data(ps, s->w2), param_data(ps, s->b2), BK, s->H, D);
}

static void mind_backward(Model *m)
{
    Mind *s = m->impl;
    MultiInterest *mi = &s->mi;
    ParamStore *ps = &m->params;
    int B = mi->hb.B, T = mi->hb.ptr[B], D = mi->D, BK = B * mi->K, H = s->H;
    memset(s->dh, 0, (size_t)BK * H * sizeof(float));
    memset(s->dh_pre, 0, (size_t)BK * H * sizeof(float));
    memset(s->dc, 0, (size_t)BK * D * sizeof(float));
    memset(s->duhat, 0, (size_t)T * D * sizeof(float));
    linear_backward(s->dh, param_grad(ps, s->w2), param_grad(ps, s->b2), mi->dcaps_raw, s->h, param_data(ps, s->w2),
                    BK, H, D);
    relu_backward(s->dh_pre, s->dh, s->h_pre, (int64_t)BK * H);
    linear_backward(s->dc, param_grad(ps, s->w1), param_grad(ps, s->b1), s->dh_pre, s->c, param_data(ps, s->w1), BK,
                    D, H);
    routing_backward(&s->ra, s->duhat, s->dc, s->uhat, 0, mi->hb.ptr, B, mi->nk, 0);
    linear_backward(mi->dx, param_grad(ps, s->S), NULL, s->duhat, mi->x, param_data(ps, s->S), T, D, D);
}

static int mind_build(Model *m, Err *err)
{
    const ModelConfig *c = &m->cfg;
    Mind *s = xcalloc(1, sizeof *s);
    m->impl = s;
    if (mi_init(m, &s->mi, READOUT_LABEL_ATTENTION, 1, err) < 0) return -1;
    s->mi.extract_forward = mind_forward, s->mi.extract_backward = mind_backward;
    ParamStore *ps = &m->params;
    int64_t D = c->dim, K = c->interests, B = c->batch_size, T = B * c->max_len;
    s->H = c->hidden > 0 ? c->hidden : c->dim;
    s->S = param_add(ps, "mind_S", D, D, INIT_XAVIER, 1.0f);
    s->w1 = param_add(ps, "mind_w1", s->H, D, INIT_XAVIER, 1.0f);
    s->b1 = param_add(ps, "mind_b1", 1, s->H, INIT_ZERO, 0);
    s->w2 = param_add(ps, "mind_w2", D, s->H, INIT_XAVIER, 1.0f);
    s->b2 = param_add(ps, "mind_b2", 1, D, INIT_ZERO, 0);
    param_set_no_decay(ps, s->b1);
    param_set_no_decay(ps, s->b2);
    Arena *a = &s->mi.arena;
    routing_plan(&s->ra, a, T, B, (int)K, (int)D, c->routing_iters);
    s->b0 = arena_floats(a, (size_t)(c->max_len * K));
    draw_initial_logits(s->b0, c->max_len * K);
    s->uhat = arena_floats(a, (size_t)(T * D)), s->duhat = arena_floats(a, (size_t)(T * D));
    s->c = arena_floats(a, (size_t)(B * K * D)), s->dc = arena_floats(a, (size_t)(B * K * D));
    s->h_pre = arena_floats(a, (size_t)(B * K * s->H)), s->h = arena_floats(a, (size_t)(B * K * s->H));
    s->dh_pre = arena_floats(a, (size_t)(B * K * s->H)), s->dh = arena_floats(a, (size_t)(B * K * s->H));
    return 0;
}

const ModelClass model_mind = {
    .name = "mind",
    .summary = "multi-interest: B2I dynamic routing, label-aware attention (Li et al. 2019)",
    .per_sequence = 0,
    .trainable = 1,
    .defaults = "interests=4 routing-iters=3 label-power=2 max-len=20 epochs=100 patience=10",
    .build = mind_build,
    .train_step = mi_train_step,
    .user_vectors = mi_user_vectors,
    .item_vectors = mi_item_vectors,
    .destroy = mi_destroy,
};
