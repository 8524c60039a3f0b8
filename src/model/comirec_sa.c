/* comirec-sa — ComiRec with self-attentive interest extraction (Cen et al.,
 * KDD 2020).
 *
 * User tower: the item inputs x_t of the last max_len history items, plus
 * learned position embeddings in the attention input (ComiRec's code), pooled
 * into K interests by multi-head self-attentive pooling (nn/selfatt.h):
 *   A = softmax_t(W2 tanh(W1 (x + P) + b1)),   V = A^T x     (d_a = --hidden, 0: 4D)
 * Training: the interest with the largest dot product with the target item
 * vector is the query of the sampled softmax (hard read-out). Item tower and
 * evaluation contract: model/multi_interest.h. */
#include "model/multi_interest.h"
#include "nn/selfatt.h"

typedef struct {
    MultiInterest mi;       /* first: m->impl points at both */
    SelfAttPool sa;
    SelfAttActs acts;
} ComirecSa;

static void sa_forward(Model *m)
{
    ComirecSa *s = m->impl;
    selfatt_forward(&s->sa, &m->params, &s->acts, s->mi.caps_raw, s->mi.x, s->mi.hb.ptr, s->mi.hb.B);
}

static void sa_backward(Model *m)
{
    ComirecSa *s = m->impl;
    selfatt_backward(&s->sa, &m->params, &s->acts, s->mi.dx, s->mi.dcaps_raw, s->mi.x, s->mi.hb.ptr, s->mi.hb.B);
}

static int sa_build(Model *m, Err *err)
{
    const ModelConfig *c = &m->cfg;
    ComirecSa *s = xcalloc(1, sizeof *s);
    m->impl = s;
    if (mi_init(m, &s->mi, READOUT_ARGMAX, 0, err) < 0) return -1;
    s->mi.extract_forward = sa_forward, s->mi.extract_backward = sa_backward;
    int da = c->hidden > 0 ? c->hidden : 4 * c->dim; /* ComiRec: hidden_size * 4 */
    selfatt_declare(&s->sa, &m->params, "sa", c->dim, da, c->interests, c->max_len, (float)c->init_std);
    selfatt_plan(&s->sa, &s->acts, &s->mi.arena, (int64_t)c->batch_size * c->max_len);
    return 0;
}

const ModelClass model_comirec_sa = {
    .name = "comirec-sa",
    .summary = "multi-interest: self-attentive pooling with positions, argmax read-out (Cen et al. 2020)",
    .per_sequence = 0,
    .trainable = 1,
    .defaults = "interests=4 max-len=20 epochs=100 patience=10",
    .build = sa_build,
    .train_step = mi_train_step,
    .user_vectors = mi_user_vectors,
    .item_vectors = mi_item_vectors,
    .destroy = mi_destroy,
};
