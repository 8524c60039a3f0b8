#include "model/seq_encoder.h"

#include <stdio.h>

#include "nn/attention.h"
#include "nn/layers.h"

void seqenc_declare(SeqEncoder *e, ParamStore *ps, const ModelConfig *cfg)
{
    memset(e, 0, sizeof *e);
    e->C = cfg->dim;
    e->max_len = cfg->max_len;
    e->layers = MIN(cfg->layers, SEQ_MAX_LAYERS);
    e->p_emb = (float)cfg->emb_dropout;
    e->p_hidden = e->p_attn = (float)cfg->dropout;
    int H = cfg->hidden > 0 ? cfg->hidden : 4 * cfg->dim;
    e->pos_emb = param_add(ps, "enc.pos_emb", cfg->max_len, e->C, INIT_NORMAL, (float)cfg->init_std);
    e->lnw = param_add(ps, "enc.lnw", 1, e->C, INIT_ONE, 0);
    e->lnb = param_add(ps, "enc.lnb", 1, e->C, INIT_ZERO, 0);
    param_set_no_decay(ps, e->lnw);
    param_set_no_decay(ps, e->lnb);
    for (int l = 0; l < e->layers; l++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "enc.blk%d", l);
        tblock_declare(&e->blk[l], ps, prefix, e->C, H, cfg->heads, (float)cfg->init_std);
    }
}

void seqenc_plan(SeqEncoder *e, Arena *ar, int max_seqs, int64_t max_tokens)
{
    int C = e->C, H = e->blk[0].H, NH = e->blk[0].NH;
    e->max_seqs = max_seqs;
    e->max_tokens = max_tokens;
    /* Worst case of sum L^2: as many full-length sequences as the tokens allow. */
    int64_t full = MIN((int64_t)max_seqs, max_tokens / e->max_len + 1);
    int64_t max_att = (int64_t)NH * full * e->max_len * e->max_len;
    e->att_off = arena_i64(ar, (size_t)max_seqs + 1);
    e->q_first = arena_i32(ar, (size_t)max_seqs);
    e->out_ptr = arena_i32(ar, (size_t)max_seqs + 1);
    e->rows = arena_i32(ar, (size_t)max_tokens);
    e->pos = arena_i32(ar, (size_t)max_tokens);
    float **nc[] = {&e->e, &e->eln, &e->emask, &e->x0, &e->d0, &e->d1};
    for (size_t i = 0; i < sizeof nc / sizeof nc[0]; i++) *nc[i] = arena_floats(ar, (size_t)(max_tokens * C));
    e->mean = arena_floats(ar, (size_t)max_tokens);
    e->rstd = arena_floats(ar, (size_t)max_tokens);
    for (int l = 0; l < e->layers; l++) tblock_acts_plan(&e->acts[l], ar, max_tokens, max_att, C, H);
    tblock_scratch_plan(&e->scr, ar, max_tokens, max_att, C, H, NH, e->max_len);
}

/* The output rows: every position of sequences 0 .. S_all-1, the last of the rest. */
static void plan_outputs(SeqEncoder *e, const int32_t *seq_ptr, int S, int S_all)
{
    e->use_qs = S_all < S;
    if (!e->use_qs) return;
    e->out_ptr[0] = 0;
    for (int s = 0; s < S; s++) {
        int L = seq_ptr[s + 1] - seq_ptr[s];
        e->q_first[s] = s < S_all ? 0 : L - 1;
        e->out_ptr[s + 1] = e->out_ptr[s] + L - e->q_first[s];
        for (int t = e->q_first[s]; t < L; t++) e->rows[e->out_ptr[s] + t - e->q_first[s]] = seq_ptr[s] + t;
    }
    e->qs = (QuerySel){e->q_first, e->out_ptr, e->rows};
}

const float *seqenc_forward(SeqEncoder *e, ParamStore *ps, const float *x, const int32_t *seq_ptr, int S, int S_all,
                            int train, Rng *rng)
{
    int C = e->C;
    int64_t N = seq_ptr[S];
    if (S > e->max_seqs || N > e->max_tokens) die("seqenc_forward: batch %d seqs / %lld tokens over plan", S, (long long)N);
    e->seq_ptr = seq_ptr;
    e->S = S;
    for (int s = 0; s < S; s++) {
        int L = seq_ptr[s + 1] - seq_ptr[s];
        if (L > e->max_len) die("seqenc_forward: sequence of %d tokens > max_len %d", L, e->max_len);
        for (int i = 0; i < L; i++) e->pos[seq_ptr[s] + i] = e->max_len - L + i;
    }
    attention_plan(e->att_off, seq_ptr, S, e->blk[0].NH);
    plan_outputs(e, seq_ptr, S, S_all);
    embedding_forward(e->e, param_data(ps, e->pos_emb), e->pos, N, C);
    vec_add(e->e, x, N * C);
    layernorm_forward(e->eln, e->mean, e->rstd, e->e, param_data(ps, e->lnw), param_data(ps, e->lnb), N, C);
    dropout_forward(e->x0, e->emask, e->eln, N * C, train ? e->p_emb : 0.0f, rng);
    const float *in = e->x0;
    float ph = train ? e->p_hidden : 0.0f;
    e->p_used_attn = train ? e->p_attn : 0.0f;
    for (int l = 0; l < e->layers; l++) {
        const QuerySel *qs = l == e->layers - 1 && e->use_qs ? &e->qs : NULL;
        tblock_forward(&e->blk[l], ps, &e->acts[l], &e->scr, in, seq_ptr, e->att_off, qs, S, e->p_used_attn, ph, rng);
        in = e->acts[l].z;
    }
    return in;
}

void seqenc_backward(SeqEncoder *e, ParamStore *ps, const float *dh, float *dx)
{
    int C = e->C, S = e->S;
    int64_t N = e->seq_ptr[S];
    const float *dz = dh;
    float *buf[2] = {e->d0, e->d1};
    for (int l = e->layers - 1; l >= 0; l--) {
        float *dxl = buf[l % 2];
        vec_zero(dxl, N * C);
        const float *xl = l == 0 ? e->x0 : e->acts[l - 1].z;
        const QuerySel *qs = l == e->layers - 1 && e->use_qs ? &e->qs : NULL;
        tblock_backward(&e->blk[l], ps, &e->acts[l], &e->scr, dxl, dz, xl, e->seq_ptr, e->att_off, qs, S,
                        e->p_used_attn);
        dz = dxl;
    }
    /* dz is now d(x0): back through dropout, LayerNorm, the position add. */
    float *deln = dz == e->d0 ? e->d1 : e->d0, *de = e->scr.da; /* da is free after the blocks */
    vec_zero(deln, N * C);
    dropout_backward(deln, dz, e->emask, N * C);
    layernorm_backward_set(de, param_grad(ps, e->lnw), param_grad(ps, e->lnb), deln, e->e, param_data(ps, e->lnw), e->mean,
                       e->rstd, N, C);
    embedding_backward(param_grad(ps, e->pos_emb), NULL, de, e->pos, N, C);
    vec_add(dx, de, N * C);
}
