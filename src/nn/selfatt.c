#include "nn/selfatt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/fastmath.h"
#include "nn/layers.h"

enum { OMP_MIN = 1 << 15 };

void selfatt_declare(SelfAttPool *s, ParamStore *ps, const char *prefix, int D, int da, int K, int max_len,
                     float pos_std)
{
    char name[PARAM_NAME_MAX];
    s->D = D, s->da = da, s->K = K, s->L = max_len;
    snprintf(name, sizeof name, "%s.w1", prefix);
    s->w1 = param_add(ps, name, da, D, INIT_XAVIER, 1.0f);
    snprintf(name, sizeof name, "%s.b1", prefix);
    s->b1 = param_add(ps, name, 1, da, INIT_ZERO, 0);
    snprintf(name, sizeof name, "%s.w2", prefix);
    s->w2 = param_add(ps, name, K, da, INIT_XAVIER, 1.0f);
    param_set_no_decay(ps, s->b1);
    s->pos = -1;
    if (max_len > 0) {
        snprintf(name, sizeof name, "%s.pos", prefix);
        s->pos = param_add(ps, name, max_len, D, INIT_NORMAL, pos_std);
    }
}

void selfatt_plan(const SelfAttPool *s, SelfAttActs *a, Arena *ar, int64_t max_tokens)
{
    a->xa = arena_floats(ar, (size_t)(max_tokens * s->D));
    a->dxa = arena_floats(ar, (size_t)(max_tokens * s->D));
    a->h = arena_floats(ar, (size_t)(max_tokens * s->da));
    a->dh = arena_floats(ar, (size_t)(max_tokens * s->da));
    a->a = arena_floats(ar, (size_t)(max_tokens * s->K));
    a->ds = arena_floats(ar, (size_t)(max_tokens * s->K));
}

/* Softmax over the tokens of each row, separately for each of the K columns. */
static void row_softmax(float *a, const int32_t *ptr, int B, int K)
{
#pragma omp parallel for schedule(static) if ((int64_t)ptr[B] * K > OMP_MIN)
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++) {
            float mx = -INFINITY, sum = 0;
            for (int64_t t = ptr[b]; t < ptr[b + 1]; t++) mx = fmaxf(mx, a[t * K + k]);
            for (int64_t t = ptr[b]; t < ptr[b + 1]; t++) sum += a[t * K + k] = fast_expf(a[t * K + k] - mx);
            for (int64_t t = ptr[b]; t < ptr[b + 1]; t++) a[t * K + k] /= sum;
        }
}

void selfatt_forward(const SelfAttPool *s, ParamStore *ps, SelfAttActs *a, float *out, const float *x,
                     const int32_t *ptr, int B)
{
    int D = s->D, K = s->K;
    int64_t T = ptr[B];
    memcpy(a->xa, x, (size_t)(T * D) * sizeof *x);
    if (s->pos >= 0) {
        const float *P = param_data(ps, s->pos);
        for (int b = 0; b < B; b++)
            for (int64_t t = ptr[b]; t < ptr[b + 1]; t++)
                for (int d = 0; d < D; d++) a->xa[t * D + d] += P[(t - ptr[b]) * D + d];
    }
    linear_forward(a->h, a->xa, param_data(ps, s->w1), param_data(ps, s->b1), T, D, s->da);
    for (int64_t k = 0; k < T * s->da; k++) a->h[k] = fast_tanhf(a->h[k]);
    linear_forward(a->a, a->h, param_data(ps, s->w2), NULL, T, s->da, K);
    row_softmax(a->a, ptr, B, K);
#pragma omp parallel for schedule(static) if (T * K * D > OMP_MIN)
    for (int b = 0; b < B; b++) {
        float *o = out + (int64_t)b * K * D;
        memset(o, 0, (size_t)K * D * sizeof *o);
        for (int64_t t = ptr[b]; t < ptr[b + 1]; t++)
            for (int k = 0; k < K; k++)
                for (int d = 0; d < D; d++) o[k * D + d] += a->a[t * K + k] * x[t * D + d];
    }
}

/* dA_tk = dout_bk . x_t, then through the row softmax into the scores:
 * ds_tk = A_tk (dA_tk - sum_t' A_t'k dA_t'k). Also dx_t += sum_k A_tk dout_bk. */
static void pool_backward(const SelfAttPool *s, SelfAttActs *a, float *dx, const float *dout, const float *x,
                          const int32_t *ptr, int B)
{
    int D = s->D, K = s->K;
#pragma omp parallel for schedule(static) if ((int64_t)ptr[B] * K * D > OMP_MIN)
    for (int b = 0; b < B; b++) {
        const float *g = dout + (int64_t)b * K * D;
        for (int64_t t = ptr[b]; t < ptr[b + 1]; t++)
            for (int k = 0; k < K; k++) {
                float da = 0;
                for (int d = 0; d < D; d++) da += g[k * D + d] * x[t * D + d];
                a->ds[t * K + k] = da;
                for (int d = 0; dx && d < D; d++) dx[t * D + d] += a->a[t * K + k] * g[k * D + d];
            }
        for (int k = 0; k < K; k++) {
            float dot = 0;
            for (int64_t t = ptr[b]; t < ptr[b + 1]; t++) dot += a->a[t * K + k] * a->ds[t * K + k];
            for (int64_t t = ptr[b]; t < ptr[b + 1]; t++) a->ds[t * K + k] = a->a[t * K + k] * (a->ds[t * K + k] - dot);
        }
    }
}

void selfatt_backward(const SelfAttPool *s, ParamStore *ps, SelfAttActs *a, float *dx, const float *dout,
                      const float *x, const int32_t *ptr, int B)
{
    int D = s->D, da = s->da;
    int64_t T = ptr[B];
    pool_backward(s, a, dx, dout, x, ptr, B);
    memset(a->dh, 0, (size_t)(T * da) * sizeof(float));
    linear_backward(a->dh, param_grad(ps, s->w2), NULL, a->ds, a->h, param_data(ps, s->w2), T, da, s->K);
    for (int64_t k = 0; k < T * da; k++) a->dh[k] *= 1.0f - a->h[k] * a->h[k]; /* tanh' from its output */
    memset(a->dxa, 0, (size_t)(T * D) * sizeof(float));
    linear_backward(a->dxa, param_grad(ps, s->w1), param_grad(ps, s->b1), a->dh, a->xa, param_data(ps, s->w1), T, D,
                    da);
    if (dx)
        for (int64_t k = 0; k < T * D; k++) dx[k] += a->dxa[k];
    if (s->pos < 0) return;
    float *dP = param_grad(ps, s->pos);
    for (int b = 0; b < B; b++)
        for (int64_t t = ptr[b]; t < ptr[b + 1]; t++)
            for (int d = 0; d < D; d++) dP[(t - ptr[b]) * D + d] += a->dxa[t * D + d];
}
