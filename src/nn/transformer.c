#include "nn/transformer.h"

#include <omp.h>
#include <stdio.h>

#include "nn/attention.h"
#include "nn/layers.h"

/* Element-wise loops fork threads only when the work pays for it. */
enum { OMP_MIN = 1 << 15 };

static int add(ParamStore *ps, const char *prefix, const char *name, int64_t r, int64_t c, InitKind k, float s)
{
    char full[PARAM_NAME_MAX];
    snprintf(full, sizeof full, "%s.%s", prefix, name);
    int i = param_add(ps, full, r, c, k, s);
    if (k != INIT_NORMAL) param_set_no_decay(ps, i); /* biases and LayerNorm */
    return i;
}

void tblock_declare(TBlock *b, ParamStore *ps, const char *prefix, int C, int H, int NH, float init_std)
{
    b->C = C, b->H = H, b->NH = NH;
    b->wqkv = add(ps, prefix, "wqkv", 3 * C, C, INIT_NORMAL, init_std);
    b->bqkv = add(ps, prefix, "bqkv", 1, 3 * C, INIT_ZERO, 0);
    b->wo = add(ps, prefix, "wo", C, C, INIT_NORMAL, init_std);
    b->bo = add(ps, prefix, "bo", 1, C, INIT_ZERO, 0);
    b->ln1w = add(ps, prefix, "ln1w", 1, C, INIT_ONE, 0);
    b->ln1b = add(ps, prefix, "ln1b", 1, C, INIT_ZERO, 0);
    b->w1 = add(ps, prefix, "w1", H, C, INIT_NORMAL, init_std);
    b->b1 = add(ps, prefix, "b1", 1, H, INIT_ZERO, 0);
    b->w2 = add(ps, prefix, "w2", C, H, INIT_NORMAL, init_std);
    b->b2 = add(ps, prefix, "b2", 1, C, INIT_ZERO, 0);
    b->ln2w = add(ps, prefix, "ln2w", 1, C, INIT_ONE, 0);
    b->ln2b = add(ps, prefix, "ln2b", 1, C, INIT_ZERO, 0);
}

void tblock_acts_plan(TBlockActs *a, Arena *ar, int64_t N, int64_t max_att, int C, int H)
{
    a->qkv = arena_floats(ar, (size_t)(N * 3 * C));
    a->att = arena_floats(ar, (size_t)max_att);
    a->adrop = arena_floats(ar, (size_t)max_att);
    float **nc[] = {&a->a, &a->p, &a->pmask, &a->r1, &a->y, &a->f, &a->fmask, &a->r2, &a->z};
    for (size_t i = 0; i < sizeof nc / sizeof nc[0]; i++) *nc[i] = arena_floats(ar, (size_t)(N * C));
    a->h = arena_floats(ar, (size_t)(N * H));
    a->g = arena_floats(ar, (size_t)(N * H));
    a->gth = arena_floats(ar, (size_t)(N * H));
    float **n1[] = {&a->mean1, &a->rstd1, &a->mean2, &a->rstd2};
    for (size_t i = 0; i < sizeof n1 / sizeof n1[0]; i++) *n1[i] = arena_floats(ar, (size_t)N);
}

void tblock_scratch_plan(TBlockScratch *s, Arena *ar, int64_t N, int64_t max_att, int C, int H, int NH,
                         int max_len)
{
    int threads = MAX(omp_get_num_procs(), omp_get_max_threads());
    s->attn = (AttnScratch){arena_floats(ar, (size_t)attention_scratch_floats(C, NH, max_len, threads)), threads,
                            max_len};
    s->dqkv = arena_floats(ar, (size_t)(N * 3 * C));
    s->datt = arena_floats(ar, (size_t)max_att);
    float **nc[] = {&s->da, &s->dp, &s->dr1, &s->dy, &s->df};
    for (size_t i = 0; i < sizeof nc / sizeof nc[0]; i++) *nc[i] = arena_floats(ar, (size_t)(N * C));
    s->dg = arena_floats(ar, (size_t)(N * H));
}

#define W(i) param_data(ps, b->i)
#define G(i) param_grad(ps, b->i)

/* Token row of out row r: r itself without a selection. */
static inline int64_t token_of(const QuerySel *qs, int64_t r) { return qs ? qs->rows[r] : r; }

void tblock_forward(const TBlock *b, ParamStore *ps, TBlockActs *a, TBlockScratch *s, const float *x,
                    const int32_t *seq_ptr, const int64_t *att_off, const QuerySel *qs, int S, float p_attn,
                    float p_hidden, Rng *rng)
{
    int64_t N = seq_ptr[S], No = qs ? qs->out_ptr[S] : N;
    int C = b->C, H = b->H;
    linear_forward(a->qkv, x, W(wqkv), W(bqkv), N, C, 3 * C);
    attention_forward(a->a, a->att, p_attn > 0 ? a->adrop : NULL, a->qkv, seq_ptr, att_off, qs, S, C, b->NH, p_attn,
                      rng, &s->attn);
    N = No; /* from here on, one row per output row */
    linear_forward(a->p, a->a, W(wo), W(bo), N, C, C);
    dropout_forward(a->r1, a->pmask, a->p, N * C, p_hidden, rng);
#pragma omp parallel for schedule(static) if (N * C > OMP_MIN)
    for (int64_t r = 0; r < N; r++)
        for (int j = 0; j < C; j++) a->r1[r * C + j] += x[token_of(qs, r) * C + j];
    layernorm_forward(a->y, a->mean1, a->rstd1, a->r1, W(ln1w), W(ln1b), N, C);
    linear_forward(a->h, a->y, W(w1), W(b1), N, C, H);
    gelu_forward_keep(a->g, a->gth, a->h, N * H);
    linear_forward(a->f, a->g, W(w2), W(b2), N, H, C);
    dropout_forward(a->r2, a->fmask, a->f, N * C, p_hidden, rng);
    vec_add(a->r2, a->y, N * C);
    layernorm_forward(a->z, a->mean2, a->rstd2, a->r2, W(ln2w), W(ln2b), N, C);
}

void tblock_backward(const TBlock *b, ParamStore *ps, const TBlockActs *a, TBlockScratch *s, float *dx,
                     const float *dz, const float *x, const int32_t *seq_ptr, const int64_t *att_off,
                     const QuerySel *qs, int S, float p_attn)
{
    int64_t N = qs ? qs->out_ptr[S] : seq_ptr[S], NC = N * b->C, NH = N * b->H; /* output rows */
    int C = b->C, H = b->H;
    /* z = LN2(r2), r2 = y + dropout(f): dy starts as d(r2); df = d(r2) * fmask.
     * Fresh buffers (dy, df, dg, dr1, dp, da) are written, not zeroed and
     * accumulated (the _set variants): one pass less over each. */
    layernorm_backward_set(s->dy, G(ln2w), G(ln2b), dz, a->r2, W(ln2w), a->mean2, a->rstd2, N, C);
#pragma omp parallel for schedule(static) if (NC > OMP_MIN)
    for (int64_t k = 0; k < NC; k++) s->df[k] = s->dy[k] * a->fmask[k];
    linear_backward_set(s->dg, G(w2), G(b2), s->df, a->g, W(w2), N, H, C);
    gelu_backward_inplace(s->dg, a->h, a->gth, NH); /* dg is now d(h) */
    linear_backward(s->dy, G(w1), G(b1), s->dg, a->y, W(w1), N, C, H);
    layernorm_backward_set(s->dr1, G(ln1w), G(ln1b), s->dy, a->r1, W(ln1w), a->mean1, a->rstd1, N, C);
    /* r1 = x + dropout(p): dx += dr1, dp = dr1 * pmask (written, as df) */
#pragma omp parallel for schedule(static) if (NC > OMP_MIN)
    for (int64_t r = 0; r < N; r++)
        for (int j = 0; j < C; j++) {
            dx[token_of(qs, r) * C + j] += s->dr1[r * C + j]; /* rows are distinct tokens: no race */
            s->dp[r * C + j] = s->dr1[r * C + j] * a->pmask[r * C + j];
        }
    linear_backward_set(s->da, G(wo), G(bo), s->dp, a->a, W(wo), N, C, C);
    int64_t Nt = seq_ptr[S]; /* q, k, v: every token; attention_backward writes all of dqkv */
    attention_backward(s->dqkv, s->datt, s->da, a->att, p_attn > 0 ? a->adrop : NULL, a->qkv, seq_ptr, att_off, qs, S,
                       C, b->NH, &s->attn);
    linear_backward(dx, G(wqkv), G(bqkv), s->dqkv, x, W(wqkv), Nt, C, 3 * C);
}
