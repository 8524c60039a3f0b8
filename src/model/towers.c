#include "model/towers.h"

#include <math.h>

#include "nn/layers.h"
#include "nn/losses.h"

void item_input_declare(ItemInput *ii, ParamStore *ps, const Catalog *cat, int D, int use_features, float init_std)
{
    memset(ii, 0, sizeof *ii);
    ii->D = D;
    ii->cat = cat;
    ii->item_emb = param_add(ps, "item_emb", cat->n_items, D, INIT_NORMAL, init_std);
    param_set_sparse(ps, ii->item_emb);
    ii->feat_emb = -1;
    if (use_features && cat->n_feats > 0) {
        ii->feat_emb = param_add(ps, "feat_emb", cat->n_feats, D, INIT_NORMAL, init_std);
        param_set_sparse(ps, ii->feat_emb);
    }
}

static float *item_input_scratch(ItemInput *ii, int64_t N)
{
    if (N > ii->cap) {
        free(ii->tmp);
        ii->cap = N;
        ii->tmp = xalloc_floats((size_t)(N * ii->D));
    }
    return ii->tmp;
}

void item_input_forward(ItemInput *ii, ParamStore *ps, float *out, const int32_t *ids, int64_t N)
{
    embedding_forward(out, param_data(ps, ii->item_emb), ids, N, ii->D);
    if (ii->feat_emb < 0) return;
    float *f = item_input_scratch(ii, N);
    embedding_bag_forward(f, param_data(ps, ii->feat_emb), ii->cat->feat_ptr, ii->cat->feat, ids, N, ii->D);
    int64_t n = N * ii->D;
    for (int64_t k = 0; k < n; k++) out[k] += f[k];
}

void item_input_backward(ItemInput *ii, ParamStore *ps, const float *dout, const int32_t *ids, int64_t N)
{
    embedding_backward(param_grad(ps, ii->item_emb), param_rows(ps, ii->item_emb), dout, ids, N, ii->D);
    if (ii->feat_emb >= 0)
        embedding_bag_backward(param_grad(ps, ii->feat_emb), param_rows(ps, ii->feat_emb), dout, ii->cat->feat_ptr,
                               ii->cat->feat, ids, N, ii->D);
}

void item_input_free(ItemInput *ii)
{
    free(ii->tmp);
    ii->tmp = NULL;
    ii->cap = 0;
}

/* ---- candidate sets ------------------------------------------------------- */

void cands_init(CandidateSet *cs, int32_t n_items, int64_t max_rows, int max_extra)
{
    memset(cs, 0, sizeof *cs);
    cs->cap_n = max_rows;
    cs->cap_m = (int)MIN((int64_t)n_items, max_rows + max_extra);
    cs->items = xmalloc((size_t)MAX(cs->cap_m, n_items) * sizeof *cs->items);
    cs->logq = xmalloc((size_t)MAX(cs->cap_m, n_items) * sizeof *cs->logq);
    cs->target = xmalloc((size_t)max_rows * sizeof *cs->target);
    cs->col_of = xmalloc((size_t)n_items * sizeof *cs->col_of);
    for (int32_t i = 0; i < n_items; i++) cs->col_of[i] = -1;
}

void cands_free(CandidateSet *cs)
{
    free(cs->items);
    free(cs->logq);
    free(cs->target);
    free(cs->col_of);
    memset(cs, 0, sizeof *cs);
}

static int cands_add(CandidateSet *cs, int32_t item)
{
    if (cs->col_of[item] < 0) {
        cs->col_of[item] = cs->M;
        cs->items[cs->M++] = item;
    }
    return cs->col_of[item];
}

void cands_build(CandidateSet *cs, const Catalog *cat, const int32_t *pos, int64_t N, int n_extra, int logq, Rng *rng)
{
    if (N > cs->cap_n) die("cands_build: %lld rows > capacity %lld", (long long)N, (long long)cs->cap_n);
    cs->M = 0;
    int64_t draws = 0;
    for (int64_t n = 0; n < N; n++) {
        cs->target[n] = pos[n] >= 0 ? cands_add(cs, pos[n]) : -1;
        draws += pos[n] >= 0;
    }
    for (int e = 0; e < n_extra && cs->M < cat->n_items; e++) cands_add(cs, (int32_t)rng_below(rng, (uint64_t)cat->n_items));
    for (int m = 0; m < cs->M; m++) cs->col_of[cs->items[m]] = -1;
    if (!logq) {
        memset(cs->logq, 0, (size_t)cs->M * sizeof *cs->logq);
        return;
    }
    /* P(item j in the set) = 1 - (1 - p_j)^draws * (1 - 1/n_items)^n_extra, with
     * p_j the (add-one smoothed) training frequency: the positives of a batch
     * are draws from the interaction distribution. */
    double denom = (double)cat->total + cat->n_items;
    double log_miss_extra = n_extra * log1p(-1.0 / cat->n_items);
    for (int m = 0; m < cs->M; m++) {
        double p = ((double)cat->count[cs->items[m]] + 1.0) / denom;
        double log_miss = (double)draws * log1p(-p) + log_miss_extra;
        cs->logq[m] = (float)log(-expm1(log_miss));
    }
}

void cands_build_full(CandidateSet *cs, const int32_t *pos, int64_t N, int32_t n_items)
{
    cs->M = n_items;
    for (int32_t i = 0; i < n_items; i++) cs->items[i] = i, cs->logq[i] = 0;
    for (int64_t n = 0; n < N; n++) cs->target[n] = pos[n];
}

/* ---- retrieval loss ---------------------------------------------------------- */

void retrieval_init(RetrievalLoss *rl, const ModelConfig *cfg, int32_t n_items, int64_t max_rows, int D)
{
    memset(rl, 0, sizeof *rl);
    rl->full = !strcmp(cfg->loss, "full");
    rl->max_rows = max_rows;
    rl->D = D;
    rl->max_cols = rl->full ? n_items : (int)MIN((int64_t)n_items, max_rows + cfg->negatives);
    cands_init(&rl->cs, n_items, max_rows, cfg->negatives);
    rl->v = xalloc_floats((size_t)rl->max_cols * D);
    rl->dv = xalloc_floats((size_t)rl->max_cols * D);
}

void retrieval_free(RetrievalLoss *rl)
{
    cands_free(&rl->cs);
    free(rl->logits);
    free(rl->v);
    free(rl->dv);
    memset(rl, 0, sizeof *rl);
}

void retrieval_candidates(RetrievalLoss *rl, const ModelConfig *cfg, const Catalog *cat, const int32_t *pos,
                          int64_t N, Rng *rng)
{
    if (rl->full) cands_build_full(&rl->cs, pos, N, cat->n_items);
    else cands_build(&rl->cs, cat, pos, N, cfg->negatives, cfg->logq, rng);
}

double retrieval_loss(RetrievalLoss *rl, const ModelConfig *cfg, const float *q, float *dq, int64_t N)
{
    int M = rl->cs.M;
    float inv_temp = (float)(1.0 / cfg->temperature);
    /* the mean over counted rows: their number first, so the fused
     * forward/backward can scale the gradient in the same pass */
    int64_t count = 0;
    for (int64_t n = 0; n < N; n++) count += rl->cs.target[n] >= 0;
    if (count == 0) return 0;
    /* A block of rows by the actual candidates, not the worst case (all
     * items for --loss full); grows rarely. */
    int64_t need = sampled_softmax_scratch(N, M, rl->D);
    if (need > rl->logits_cap) {
        free(rl->logits);
        rl->logits_cap = need + need / 4;
        rl->logits = xalloc_floats((size_t)rl->logits_cap);
    }
    vec_zero(rl->dv, (int64_t)M * rl->D);
    double loss = sampled_softmax_forward_backward(dq, rl->dv, rl->logits, q, rl->v, rl->cs.target,
                                                   rl->full ? NULL : rl->cs.logq, NULL, N, M, rl->D, inv_temp,
                                                   1.0f / (float)count);
    return loss / (double)count;
}

void tower_output_forward(float *out, float *norm, const float *raw, int64_t N, int D, int cosine)
{
    if (cosine) l2norm_forward(out, norm, raw, N, D);
    else if (out != raw) memcpy(out, raw, (size_t)(N * D) * sizeof *out);
}

void tower_output_backward(float *draw, const float *dout, const float *out, const float *norm, int64_t N, int D,
                           int cosine)
{
    if (cosine) {
        l2norm_backward(draw, dout, out, norm, N, D);
    } else if (draw != dout) {
        for (int64_t k = 0; k < N * D; k++) draw[k] += dout[k];
    }
}

void item_vectors_chunked(Model *m, int32_t chunk, ItemEncodeFn encode, float *out)
{
    int32_t *ids = xmalloc((size_t)chunk * sizeof *ids);
    for (int32_t b0 = 0; b0 < m->cat->n_items; b0 += chunk) {
        int32_t nb = MIN(chunk, m->cat->n_items - b0);
        for (int32_t k = 0; k < nb; k++) ids[k] = b0 + k;
        encode(m, ids, nb, out + (int64_t)b0 * m->dim);
    }
    free(ids);
}

/* ---- history batches --------------------------------------------------------- */

void histbatch_init(HistBatch *hb, int max_rows, int max_len)
{
    hb->tok = xmalloc((size_t)max_rows * (size_t)max_len * sizeof *hb->tok);
    hb->ptr = xmalloc(((size_t)max_rows + 1) * sizeof *hb->ptr);
    hb->pos = xmalloc((size_t)max_rows * sizeof *hb->pos);
    hb->max_len = max_len;
    histbatch_clear(hb);
}

void histbatch_free(HistBatch *hb)
{
    free(hb->tok);
    free(hb->ptr);
    free(hb->pos);
    memset(hb, 0, sizeof *hb);
}

void histbatch_add(HistBatch *hb, const int32_t *items, int32_t len, int32_t target)
{
    int32_t take = MIN(len, hb->max_len), start = hb->ptr[hb->B];
    memcpy(hb->tok + start, items + (len - take), (size_t)take * sizeof *items);
    hb->pos[hb->B] = target;
    hb->ptr[++hb->B] = start + take;
}
