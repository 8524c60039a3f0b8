/* comirec-dr — ComiRec with dynamic routing (Cen et al., KDD 2020).
 *
 * User tower: the item inputs e_j of the last max_len history items; the
 * capsule network's bilinear maps W_jk, one D x D map per (history position j,
 * interest k) as the paper's W_ij and ComiRec's code (bilinear_type 2); K
 * interests by routing (nn/routing.h) from zero initial logits:
 *   ê_jk = W_jk e_j,   interests = routing(ê), routing-iters iterations
 * Training: the interest with the largest dot product with the target item
 * vector is the query of the sampled softmax (hard read-out). As ComiRec's
 * code, the coupling weights are a stop-gradient: only the last iteration's
 * weighted sum and squash are differentiated. Item tower and evaluation
 * contract: model/multi_interest.h. */
#include "model/multi_interest.h"
#include "nn/routing.h"

typedef struct {
    MultiInterest mi;       /* first: m->impl points at both */
    int W;                  /* (L, K*D, D) bilinear maps */
    RoutingActs ra;
    float *uhat, *duhat;    /* (T, K, D) */
} ComirecDr;

static void dr_forward(Model *m)
{
    ComirecDr *s = m->impl;
    MultiInterest *mi = &s->mi;
    int B = mi->hb.B, KD = mi->K * mi->D;
    posmap_forward(s->uhat, mi->x, param_data(&m->params, s->W), mi->hb.ptr, B, KD, mi->D);
    int reuse = mi->freeze && mi->frozen_ready;
    routing_forward(&s->ra, mi->caps_raw, s->uhat, mi->D, mi->hb.ptr, B, NULL, NULL, reuse);
    mi->frozen_ready = mi->freeze;
}

static void dr_backward(Model *m)
{
    ComirecDr *s = m->impl;
    MultiInterest *mi = &s->mi;
    int B = mi->hb.B, KD = mi->K * mi->D;
    memset(s->duhat, 0, (size_t)mi->hb.ptr[B] * KD * sizeof(float));
    routing_backward(&s->ra, s->duhat, mi->dcaps_raw, s->uhat, mi->D, mi->hb.ptr, B, NULL, 1);
    posmap_backward(mi->dx, param_grad(&m->params, s->W), s->duhat, mi->x, param_data(&m->params, s->W), mi->hb.ptr,
                    B, KD, mi->D);
}

static int dr_build(Model *m, Err *err)
{
    const ModelConfig *c = &m->cfg;
    ComirecDr *s = xcalloc(1, sizeof *s);
    m->impl = s;
    if (mi_init(m, &s->mi, READOUT_ARGMAX, 0, err) < 0) return -1;
    s->mi.extract_forward = dr_forward, s->mi.extract_backward = dr_backward;
    int64_t D = c->dim, K = c->interests, B = c->batch_size, T = B * c->max_len;
    /* N(0, 1) as ComiRec's code: each map scales a vector by ~sqrt(D), so
     * the capsules start outside the flat region of squash near zero. */
    s->W = param_add(&m->params, "dr_W", c->max_len * K * D, D, INIT_NORMAL, 1.0f);
    Arena *a = &s->mi.arena;
    routing_plan(&s->ra, a, T, B, (int)K, (int)D, c->routing_iters);
    s->uhat = arena_floats(a, (size_t)(T * K * D)), s->duhat = arena_floats(a, (size_t)(T * K * D));
    return 0;
}

const ModelClass model_comirec_dr = {
    .name = "comirec-dr",
    .summary = "multi-interest: capsule routing with per-position bilinear maps, argmax read-out (Cen et al. 2020)",
    .per_sequence = 0,
    .trainable = 1,
    .defaults = "interests=4 routing-iters=3 max-len=20 epochs=100 patience=10",
    .build = dr_build,
    .train_step = mi_train_step,
    .user_vectors = mi_user_vectors,
    .item_vectors = mi_item_vectors,
    .destroy = mi_destroy,
};
