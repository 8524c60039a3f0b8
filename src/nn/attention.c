#include "nn/attention.h"

#include "nn/fastmath.h"
#include "nn/layers.h"

#include <math.h>
#include <omp.h>
#include <string.h>

int64_t attention_plan(int64_t *att_off, const int32_t *seq_ptr, int S, int NH)
{
    att_off[0] = 0;
    for (int s = 0; s < S; s++) {
        int64_t L = seq_ptr[s + 1] - seq_ptr[s];
        att_off[s + 1] = att_off[s] + (int64_t)NH * L * L;
    }
    return att_off[S];
}

/* tr (hs, L) = one head's keys (or values) of a sequence, transposed. The
 * scores of a query against keys 0 .. n-1 are then hs vector multiply-adds
 * along the keys, instead of n dot products of hs floats that each end in a
 * horizontal sum: 1.4x faster attention at Books scale. */
static void head_transpose(float *tr, const float *x0, int L, int C3, int hs)
{
    for (int t = 0; t < L; t++)
        for (int i = 0; i < hs; i++) tr[(int64_t)i * L + t] = x0[(int64_t)t * C3 + i];
}

/* r[t] = scale * sum_i x[i] tr[i][t] for t = 0 .. n-1. */
static inline void dots_transposed(float *r, const float *x, const float *tr, int L, int n, int hs, float scale)
{
    for (int t = 0; t < n; t++) r[t] = 0;
    for (int i = 0; i < hs; i++) {
        float xi = scale * x[i];
        const float *row = tr + (int64_t)i * L;
#pragma omp simd
        for (int t = 0; t < n; t++) r[t] += xi * row[t];
    }
}

int64_t attention_scratch_floats(int C, int NH, int max_len, int threads)
{
    return (int64_t)threads * (C / NH) * max_len;
}

/* Threads for a kernel call, and a check that the batch fits sc. */
static int scratch_threads(const AttnScratch *sc, const int32_t *seq_ptr, int S)
{
    for (int s = 0; s < S; s++)
        if (seq_ptr[s + 1] - seq_ptr[s] > sc->max_len) die("attention: sequence of %d tokens > planned %d",
                                                            seq_ptr[s + 1] - seq_ptr[s], sc->max_len);
    return MAX(1, MIN(omp_get_max_threads(), sc->threads));
}

/* This thread's (hs, max_len) block. */
static float *thread_tr(const AttnScratch *sc, int hs)
{
    return sc->tr + (int64_t)omp_get_thread_num() * hs * sc->max_len;
}

/* The query rows of sequence s computed under qs, and its first out row. */
static void query_span(const QuerySel *qs, const int32_t *seq_ptr, int s, int *t0, int64_t *out_row)
{
    *t0 = qs ? qs->q_first[s] : 0;
    *out_row = qs ? qs->out_ptr[s] : seq_ptr[s];
}

/* Attention dropout of one (sequence, head): its mask is the (L, L) block at
 * index `at` of a dropout_mask(seed) over the whole att buffer, drawn only
 * where used (rows t0.., the causal triangle). mask == NULL: no dropout. */
typedef struct {
    float *mask;
    uint64_t seed, at;
    float p;
} HeadDrop;

/* One (sequence, head): causal softmax(q k^T / sqrt(hs)) (dropped out) @ v
 * for queries t0 .. L-1; out points at query t0's row. tr: (hs, L) scratch. */
static void head_forward(float *out, float *att, HeadDrop d, const float *qkv, int L, int t0, int C, int hs, int h,
                         float *tr)
{
    int C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    const float *q0 = qkv + h * hs, *k0 = qkv + C + h * hs, *v0 = qkv + 2 * C + h * hs;
    head_transpose(tr, k0, L, C3, hs);
    for (int t1 = t0; t1 < L; t1++) {
        float *a = att + (int64_t)t1 * L;
        dots_transposed(a, q0 + (int64_t)t1 * C3, tr, L, t1 + 1, hs, scale);
        float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
        for (int t2 = 0; t2 <= t1; t2++) mx = a[t2] > mx ? a[t2] : mx;
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int t2 = 0; t2 <= t1; t2++) {
            a[t2] = fast_expf(a[t2] - mx);
            sum += a[t2];
        }
        float inv = 1.0f / sum;
        for (int t2 = 0; t2 <= t1; t2++) a[t2] *= inv;
        for (int t2 = t1 + 1; t2 < L; t2++) a[t2] = 0;
        float *m = d.mask ? d.mask + (int64_t)t1 * L : NULL;
        if (m)
            for (int t2 = 0; t2 <= t1; t2++) m[t2] = dropout_value(d.seed, d.at + (uint64_t)(t1 * L + t2), d.p);
        float *o = out + (int64_t)(t1 - t0) * C + h * hs;
        for (int i = 0; i < hs; i++) o[i] = 0; /* hs floats: a loop, not a libc call */
        for (int t2 = 0; t2 <= t1; t2++) {
            float w = m ? a[t2] * m[t2] : a[t2];
            const float *v = v0 + (int64_t)t2 * C3;
            for (int i = 0; i < hs; i++) o[i] += w * v[i];
        }
    }
}

void attention_forward(float *out, float *att, float *drop, const float *qkv, const int32_t *seq_ptr,
                       const int64_t *att_off, const QuerySel *qs, int S, int C, int NH, float p, Rng *rng,
                       const AttnScratch *sc)
{
    int hs = C / NH, nt = scratch_threads(sc, seq_ptr, S);
    int use_drop = p > 0 && drop;
    uint64_t seed = use_drop ? rng_u64(rng) : 0; /* as dropout_mask would draw it */
#pragma omp parallel for schedule(dynamic, 4) collapse(2) num_threads(nt) if (seq_ptr[S] > 64)
    for (int s = 0; s < S; s++)
        for (int h = 0; h < NH; h++) {
            int L = seq_ptr[s + 1] - seq_ptr[s], t0;
            int64_t base = seq_ptr[s], ao = att_off[s] + (int64_t)h * L * L, orow;
            query_span(qs, seq_ptr, s, &t0, &orow);
            HeadDrop d = {use_drop ? drop + ao : NULL, seed, (uint64_t)ao, p};
            head_forward(out + orow * C, att + ao, d, qkv + base * 3 * C, L, t0, C, hs, h, thread_tr(sc, hs));
        }
}

/* dout points at query t0's row, as out in head_forward. tr: (hs, L) scratch. */
static void head_backward(float *dqkv, float *datt, const float *dout, const float *att, const float *drop,
                          const float *qkv, int L, int t0, int C, int hs, int h, float *tr)
{
    int C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    const float *q0 = qkv + h * hs, *k0 = qkv + C + h * hs, *v0 = qkv + 2 * C + h * hs;
    float *dq0 = dqkv + h * hs, *dk0 = dqkv + C + h * hs, *dv0 = dqkv + 2 * C + h * hs;
    /* This (sequence, head) owns these columns of these rows: zeroed here,
     * where they are about to be used, not in a serial pass over all of dqkv. */
    for (int t = 0; t < L; t++)
        for (int i = 0; i < hs; i++) dq0[(int64_t)t * C3 + i] = dk0[(int64_t)t * C3 + i] = dv0[(int64_t)t * C3 + i] = 0;
    head_transpose(tr, v0, L, C3, hs);
    for (int t1 = t0; t1 < L; t1++) {
        const float *a = att + (int64_t)t1 * L, *g = dout + (int64_t)(t1 - t0) * C + h * hs;
        const float *mrow = drop ? drop + (int64_t)t1 * L : NULL;
        float *da = datt + (int64_t)t1 * L;
        /* out = sum (a * drop) v  =>  dv += (a * drop) g,  da = drop * (g . v) */
        dots_transposed(da, g, tr, L, t1 + 1, hs, 1.0f);
        for (int t2 = 0; t2 <= t1; t2++) {
            float m = mrow ? mrow[t2] : 1.0f, w = a[t2] * m;
            float *dv = dv0 + (int64_t)t2 * C3;
            for (int i = 0; i < hs; i++) dv[i] += w * g[i];
            da[t2] *= m;
        }
        /* softmax backward: ds = a * (da - sum(a * da)) */
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int t2 = 0; t2 <= t1; t2++) sum += a[t2] * da[t2];
        const float *q = q0 + (int64_t)t1 * C3;
        float *dq = dq0 + (int64_t)t1 * C3;
        for (int t2 = 0; t2 <= t1; t2++) {
            float ds = scale * a[t2] * (da[t2] - sum);
            const float *k = k0 + (int64_t)t2 * C3;
            float *dk = dk0 + (int64_t)t2 * C3;
            for (int i = 0; i < hs; i++) {
                dq[i] += ds * k[i];
                dk[i] += ds * q[i];
            }
        }
    }
}

void attention_backward(float *dqkv, float *datt, const float *dout, const float *att, const float *drop,
                        const float *qkv, const int32_t *seq_ptr, const int64_t *att_off, const QuerySel *qs, int S,
                        int C, int NH, const AttnScratch *sc)
{
    int hs = C / NH, nt = scratch_threads(sc, seq_ptr, S);
    /* (sequence, head) pairs write disjoint rows/columns of dqkv: no races. */
#pragma omp parallel for schedule(dynamic, 4) collapse(2) num_threads(nt) if (seq_ptr[S] > 64)
    for (int s = 0; s < S; s++)
        for (int h = 0; h < NH; h++) {
            int L = seq_ptr[s + 1] - seq_ptr[s], t0;
            int64_t base = seq_ptr[s], ao = att_off[s] + (int64_t)h * L * L, orow;
            query_span(qs, seq_ptr, s, &t0, &orow);
            head_backward(dqkv + base * 3 * C, datt + ao, dout + orow * C, att + ao, drop ? drop + ao : NULL,
                          qkv + base * 3 * C, L, t0, C, hs, h, thread_tr(sc, hs));
        }
}
