#include "nn/routing.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "util/common.h"

/* Loops fork threads only when the work pays for it. */
enum { OMP_MIN = 1 << 15 };
#define SQUASH_EPS 1e-9f

/* ---- squash ------------------------------------------------------------------ */

/* u = s(n2) z with n2 = |z|^2 and s = n2 / ((1 + n2) sqrt(n2 + eps)). */
static void squash_vec(float *u, const float *z, int D)
{
    float n2 = 0;
    for (int d = 0; d < D; d++) n2 += z[d] * z[d];
    float s = n2 / ((1.0f + n2) * sqrtf(n2 + SQUASH_EPS));
    for (int d = 0; d < D; d++) u[d] = s * z[d];
}

/* dz += s du + 2 s'(n2) (z . du) z, with s' written without a 1/n2 so that
 * z = 0 (an interest no behaviour routes to) is no special case. */
static void squash_vec_backward(float *dz, const float *du, const float *z, int D)
{
    float n2 = 0, zdu = 0;
    for (int d = 0; d < D; d++) n2 += z[d] * z[d], zdu += z[d] * du[d];
    float r = sqrtf(n2 + SQUASH_EPS), q = 1.0f + n2;
    float s = n2 / (q * r);
    float ds = 1.0f / (q * q * r) - 0.5f * n2 / (q * r * r * r);
    float c = 2.0f * ds * zdu;
    for (int d = 0; d < D; d++) dz[d] += s * du[d] + c * z[d];
}

void squash_forward(float *out, const float *inp, int64_t N, int D)
{
#pragma omp parallel for schedule(static) if (N * D > OMP_MIN)
    for (int64_t n = 0; n < N; n++) squash_vec(out + n * D, inp + n * D, D);
}

void squash_backward(float *dinp, const float *dout, const float *inp, int64_t N, int D)
{
#pragma omp parallel for schedule(static) if (N * D > OMP_MIN)
    for (int64_t n = 0; n < N; n++) squash_vec_backward(dinp + n * D, dout + n * D, inp + n * D, D);
}

/* ---- dynamic routing ----------------------------------------------------------- */

void routing_plan(RoutingActs *a, Arena *ar, int64_t max_tokens, int64_t max_rows, int K, int D, int iters)
{
    a->K = K, a->D = D, a->R = iters;
    a->b = arena_floats(ar, (size_t)(max_tokens * K));
    a->w = arena_floats(ar, (size_t)(max_tokens * iters * K));
    a->z = arena_floats(ar, (size_t)(max_rows * iters * K * D));
    a->u = arena_floats(ar, (size_t)(max_rows * iters * K * D));
    a->gb = arena_floats(ar, (size_t)(max_tokens * K));
    a->dw = arena_floats(ar, (size_t)(max_tokens * K));
    a->du = arena_floats(ar, (size_t)(max_rows * K * D));
    a->dz = arena_floats(ar, (size_t)(max_rows * K * D));
}

/* The prediction vector of token t for interest k (see the layouts in routing.h). */
static inline const float *uhat_at(const float *uhat, int64_t t, int k, int64_t sk, int K, int D)
{
    return uhat + t * (sk ? (int64_t)K * D : D) + k * sk;
}

/* One row's state: tokens t0 .. t0+n, interests in use nk. */
typedef struct {
    int64_t t0, row;
    int n, nk;
} RouteRow;

/* w_t. = softmax over the interests in use of b_t. (zeros beyond). */
static void coupling(float *w, const float *b, int nk, int K)
{
    float mx = b[0], sum = 0;
    for (int k = 1; k < nk; k++) mx = fmaxf(mx, b[k]);
    for (int k = 0; k < nk; k++) sum += w[k] = expf(b[k] - mx);
    for (int k = 0; k < K; k++) w[k] = k < nk ? w[k] / sum : 0;
}

/* z_k = sum_t w_tk uhat_tk, u_k = squash(z_k) for the iteration r of a row. */
static void capsules(RoutingActs *a, RouteRow rr, int r, const float *uhat, int64_t sk)
{
    int K = a->K, D = a->D, R = a->R;
    float *z = a->z + ((rr.row * R + r) * K) * D, *u = a->u + ((rr.row * R + r) * K) * D;
    memset(z, 0, (size_t)K * D * sizeof *z);
    for (int i = 0; i < rr.n; i++) {
        const float *w = a->w + ((rr.t0 + i) * R + r) * K;
        for (int k = 0; k < rr.nk; k++) {
            const float *v = uhat_at(uhat, rr.t0 + i, k, sk, K, D);
            for (int d = 0; d < D; d++) z[k * D + d] += w[k] * v[d];
        }
    }
    for (int k = 0; k < K; k++) squash_vec(u + k * D, z + k * D, D);
}

static void route_row(RoutingActs *a, float *out, const float *uhat, int64_t sk, RouteRow rr, const float *b0,
                      int frozen)
{
    int K = a->K, D = a->D, R = a->R;
    float *b = a->b + rr.t0 * K;
    for (int i = 0; i < rr.n && !frozen; i++)
        for (int k = 0; k < K; k++) b[i * K + k] = b0 ? b0[i * K + k] : 0;
    /* Frozen: the last iteration's weights are already in a->w. */
    for (int r = frozen ? R - 1 : 0; r < R; r++) {
        for (int i = 0; i < rr.n && !frozen; i++) coupling(a->w + ((rr.t0 + i) * R + r) * K, b + i * K, rr.nk, K);
        capsules(a, rr, r, uhat, sk);
        if (r == R - 1) break;
        const float *u = a->u + ((rr.row * R + r) * K) * D;
        for (int i = 0; i < rr.n; i++)
            for (int k = 0; k < rr.nk; k++) {
                const float *v = uhat_at(uhat, rr.t0 + i, k, sk, K, D);
                float dot = 0;
                for (int d = 0; d < D; d++) dot += u[k * D + d] * v[d];
                b[i * K + k] += dot;
            }
    }
    memcpy(out, a->u + ((rr.row * R + R - 1) * K) * D, (size_t)K * D * sizeof *out);
}

void routing_forward(RoutingActs *a, float *out, const float *uhat, int64_t sk, const int32_t *ptr, int B,
                     const int32_t *nk, const float *b0, int frozen)
{
    int K = a->K, D = a->D;
#pragma omp parallel for schedule(dynamic, 4) if ((int64_t)ptr[B] * K * D * a->R > OMP_MIN)
    for (int row = 0; row < B; row++) {
        RouteRow rr = {ptr[row], row, ptr[row + 1] - ptr[row], nk ? nk[row] : K};
        route_row(a, out + (int64_t)row * K * D, uhat, sk, rr, b0, frozen);
    }
}

/* Iteration r of a row, backward: du (K, D) holds dL/du_r on entry (the
 * logit-update part is added here), a->gb holds dL/db after iteration r and
 * leaves holding dL/db before it (unless stop_grad). */
static void route_row_backward(RoutingActs *a, float *duhat, float *du, const float *uhat, int64_t sk, RouteRow rr,
                               int r, int stop_grad)
{
    int K = a->K, D = a->D, R = a->R;
    const float *z = a->z + ((rr.row * R + r) * K) * D, *u = a->u + ((rr.row * R + r) * K) * D;
    float *gb = a->gb + rr.t0 * K, *dw = a->dw + rr.t0 * K, *dz = a->dz + rr.row * K * D;
    /* b_tk(after) = b_tk(before) + u_k . uhat_tk: the logit gradient passes
     * through unchanged and feeds u_k and uhat_tk. */
    for (int i = 0; i < rr.n && r < R - 1; i++)
        for (int k = 0; k < rr.nk; k++) {
            const float *v = uhat_at(uhat, rr.t0 + i, k, sk, K, D);
            float *dv = (float *)uhat_at(duhat, rr.t0 + i, k, sk, K, D), g = gb[i * K + k];
            for (int d = 0; d < D; d++) du[k * D + d] += g * v[d], dv[d] += g * u[k * D + d];
        }
    memset(dz, 0, (size_t)K * D * sizeof *dz);
    for (int k = 0; k < rr.nk; k++) squash_vec_backward(dz + k * D, du + k * D, z + k * D, D);
    for (int i = 0; i < rr.n; i++) {
        const float *w = a->w + ((rr.t0 + i) * R + r) * K;
        float dot = 0;
        for (int k = 0; k < rr.nk; k++) {
            const float *v = uhat_at(uhat, rr.t0 + i, k, sk, K, D);
            float *dv = (float *)uhat_at(duhat, rr.t0 + i, k, sk, K, D), g = 0;
            for (int d = 0; d < D; d++) g += dz[k * D + d] * v[d], dv[d] += w[k] * dz[k * D + d];
            dw[i * K + k] = g;
            dot += w[k] * g;
        }
        /* softmax backward into the logits that made w (b0 is a constant: skip at r = 0) */
        for (int k = 0; k < rr.nk && !stop_grad && r > 0; k++) gb[i * K + k] += w[k] * (dw[i * K + k] - dot);
    }
}

void routing_backward(RoutingActs *a, float *duhat, const float *dout, const float *uhat, int64_t sk,
                      const int32_t *ptr, int B, const int32_t *nk, int stop_grad)
{
    int K = a->K, D = a->D, R = a->R;
#pragma omp parallel for schedule(dynamic, 4) if ((int64_t)ptr[B] * K * D * R > OMP_MIN)
    for (int row = 0; row < B; row++) {
        RouteRow rr = {ptr[row], row, ptr[row + 1] - ptr[row], nk ? nk[row] : K};
        float *du = a->du + (int64_t)row * K * D;
        memset(a->gb + rr.t0 * K, 0, (size_t)rr.n * K * sizeof(float));
        memcpy(du, dout + (int64_t)row * K * D, (size_t)K * D * sizeof *du);
        for (int r = R - 1; r >= (stop_grad ? R - 1 : 0); r--) {
            if (r < R - 1) memset(du, 0, (size_t)K * D * sizeof *du);
            route_row_backward(a, duhat, du, uhat, sk, rr, r, stop_grad);
        }
    }
}

/* ---- position-wise bilinear maps ------------------------------------------------ */

/* One sgemv / sger per token: the float dot products of a plain loop would
 * not vectorize (without -ffast-math), and this map is most of the model's
 * arithmetic (K*D*D per token). Inside the parallel loops OpenBLAS runs
 * single-threaded. */
void posmap_forward(float *uhat, const float *x, const float *w, const int32_t *ptr, int B, int KD, int D)
{
#pragma omp parallel for schedule(dynamic, 4) if ((int64_t)ptr[B] * KD * D > OMP_MIN)
    for (int b = 0; b < B; b++)
        for (int64_t t = ptr[b]; t < ptr[b + 1]; t++)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, KD, D, 1.0f, w + (t - ptr[b]) * KD * D, D, x + t * D, 1, 0.0f,
                        uhat + t * KD, 1);
}

void posmap_backward(float *dx, float *dw, const float *duhat, const float *x, const float *w, const int32_t *ptr,
                     int B, int KD, int D)
{
    int L = 0;
    for (int b = 0; b < B; b++) L = MAX(L, ptr[b + 1] - ptr[b]);
    int64_t work = (int64_t)ptr[B] * KD * D;
    /* dx_t += W[p]^T duhat_t: rows own their tokens. */
#pragma omp parallel for schedule(dynamic, 4) if (work > OMP_MIN)
    for (int b = 0; b < B; b++)
        for (int64_t t = ptr[b]; t < ptr[b + 1] && dx; t++)
            cblas_sgemv(CblasRowMajor, CblasTrans, KD, D, 1.0f, w + (t - ptr[b]) * KD * D, D, duhat + t * KD, 1, 1.0f,
                        dx + t * D, 1);
    /* dW[p] += duhat_t x_t^T: positions own their map, each gathers its tokens across rows. */
#pragma omp parallel for schedule(dynamic, 1) if (work > OMP_MIN)
    for (int p = 0; p < L; p++)
        for (int b = 0; b < B && dw; b++) {
            int64_t t = (int64_t)ptr[b] + p;
            if (t < ptr[b + 1])
                cblas_sger(CblasRowMajor, KD, D, 1.0f, duhat + t * KD, 1, x + t * D, 1, dw + (int64_t)p * KD * D, D);
        }
}

/* ---- label-aware attention --------------------------------------------------------- */

static inline float signed_pow(float s, float p) { return p == 0 ? 0 : copysignf(powf(fabsf(s), p), s); }
/* d signed_pow / ds = p |s|^(p-1); |s| kept off 0 where p < 1 would make it infinite. */
static inline float signed_pow_grad(float s, float p)
{
    if (p == 0) return 0;
    if (p == 1) return 1;
    return p * powf(fmaxf(fabsf(s), 1e-6f), p - 1);
}

static float dotf(const float *a, const float *b, int D)
{
    float s = 0;
    for (int d = 0; d < D; d++) s += a[d] * b[d];
    return s;
}

void label_attention_forward(float *q, float *a, const float *c, const float *y, const int32_t *nk, int B, int K,
                             int D, float p)
{
#pragma omp parallel for schedule(static) if ((int64_t)B * K * D > OMP_MIN)
    for (int b = 0; b < B; b++) {
        int n = nk ? nk[b] : K;
        const float *cb = c + (int64_t)b * K * D, *yb = y + (int64_t)b * D;
        float *ab = a + (int64_t)b * K, *qb = q + (int64_t)b * D, mx = -INFINITY, sum = 0;
        for (int k = 0; k < n; k++) mx = fmaxf(mx, ab[k] = signed_pow(dotf(cb + k * D, yb, D), p));
        for (int k = 0; k < n; k++) sum += ab[k] = expf(ab[k] - mx);
        for (int k = 0; k < K; k++) ab[k] = k < n ? ab[k] / sum : 0;
        memset(qb, 0, (size_t)D * sizeof *qb);
        for (int k = 0; k < n; k++)
            for (int d = 0; d < D; d++) qb[d] += ab[k] * cb[k * D + d];
    }
}

void label_attention_backward(float *dc, float *dy, const float *dq, const float *a, const float *c, const float *y,
                              const int32_t *nk, int B, int K, int D, float p)
{
    if (K > 64) die("label_attention_backward: %d interests > 64", K);
#pragma omp parallel for schedule(static) if ((int64_t)B * K * D > OMP_MIN)
    for (int b = 0; b < B; b++) {
        int n = nk ? nk[b] : K;
        const float *cb = c + (int64_t)b * K * D, *yb = y + (int64_t)b * D, *ab = a + (int64_t)b * K;
        const float *g = dq + (int64_t)b * D;
        float *dcb = dc + (int64_t)b * K * D, *dyb = dy + (int64_t)b * D;
        float da[64], dot = 0; /* K <= 64 (the --interests bound) */
        for (int k = 0; k < n; k++) dot += ab[k] * (da[k] = dotf(g, cb + k * D, D));
        for (int k = 0; k < n; k++) {
            float ds = ab[k] * (da[k] - dot) * signed_pow_grad(dotf(cb + k * D, yb, D), p);
            for (int d = 0; d < D; d++) {
                dcb[k * D + d] += ab[k] * g[d] + ds * yb[d];
                dyb[d] += ds * cb[k * D + d];
            }
        }
    }
}

/* ---- hard read-out ------------------------------------------------------------------- */

void interest_select_forward(float *q, int32_t *sel, const float *c, const float *y, const int32_t *nk, int B, int K,
                             int D)
{
    for (int b = 0; b < B; b++) {
        int n = nk ? nk[b] : K, best = 0;
        const float *cb = c + (int64_t)b * K * D, *yb = y + (int64_t)b * D;
        float top = dotf(cb, yb, D);
        for (int k = 1; k < n; k++) {
            float s = dotf(cb + k * D, yb, D);
            if (s > top) top = s, best = k;
        }
        sel[b] = best;
        memcpy(q + (int64_t)b * D, cb + best * D, (size_t)D * sizeof *q);
    }
}

void interest_select_backward(float *dc, const float *dq, const int32_t *sel, int B, int K, int D)
{
    for (int b = 0; b < B; b++) {
        float *dcb = dc + ((int64_t)b * K + sel[b]) * D;
        for (int d = 0; d < D; d++) dcb[d] += dq[(int64_t)b * D + d];
    }
}
