#include "nn/cal.h"

#include <string.h>

#include "nn/layers.h"

void cal_plan(CalActs *a, Arena *ar, int64_t max_rows, int D, int32_t n_groups)
{
    memset(a, 0, sizeof *a);
    a->max_rows = max_rows, a->D = D, a->n_groups = n_groups;
    a->fill = arena_i32(ar, (size_t)n_groups + 1);
    a->used = arena_i32(ar, (size_t)max_rows);
    a->start = arena_i32(ar, (size_t)max_rows + 1);
    a->rows = arena_i32(ar, (size_t)max_rows);
    a->xc = arena_floats(ar, (size_t)(max_rows * D)), a->dxc = arena_floats(ar, (size_t)(max_rows * D));
    size_t dd = (size_t)D * D;
    a->cov_major = arena_floats(ar, dd), a->cov = arena_floats(ar, dd), a->g_major = arena_floats(ar, dd);
    a->mean = arena_floats(ar, (size_t)D);
}

static inline int32_t group_size(const CalActs *a, int g) { return a->start[g + 1] - a->start[g]; }

/* Sorts the counted rows by category (counting sort touching only the
 * categories present, so a large catalogue of categories costs nothing). */
static void group_rows(CalActs *a, const int32_t *grp, int64_t M)
{
    a->n_used = 0;
    for (int64_t k = 0; k < M; k++) {
        int32_t g = grp[k];
        if (g < 0) continue;
        if (g >= a->n_groups) die("cal: category %d of row %lld over plan %d", g, (long long)k, a->n_groups);
        if (a->fill[g]++ == 0) a->used[a->n_used++] = g;
    }
    a->start[0] = 0;
    for (int u = 0; u < a->n_used; u++) {
        int32_t g = a->used[u], n = a->fill[g];
        a->fill[g] = a->start[u]; /* now the fill cursor */
        a->start[u + 1] = a->start[u] + n;
    }
    for (int64_t k = 0; k < M; k++)
        if (grp[k] >= 0) a->rows[a->fill[grp[k]]++] = (int32_t)k;
    for (int u = 0; u < a->n_used; u++) a->fill[a->used[u]] = 0;
    a->major = -1;
    for (int u = 0; u < a->n_used; u++) {
        int32_t n = group_size(a, u);
        if (n < 2) continue;
        if (a->major < 0 || n > group_size(a, a->major) || (n == group_size(a, a->major) && a->used[u] < a->used[a->major]))
            a->major = u;
    }
}

/* xc rows of category u = its vectors minus their mean. */
static void center_group(CalActs *a, const float *v, int u)
{
    int D = a->D;
    int32_t b = a->start[u], n = group_size(a, u);
    float *x = a->xc + (int64_t)b * D;
    memset(a->mean, 0, (size_t)D * sizeof(float));
    for (int32_t k = 0; k < n; k++)
        for (int j = 0; j < D; j++) a->mean[j] += v[(int64_t)a->rows[b + k] * D + j];
    for (int j = 0; j < D; j++) a->mean[j] /= (float)n;
    for (int32_t k = 0; k < n; k++)
        for (int j = 0; j < D; j++) x[(int64_t)k * D + j] = v[(int64_t)a->rows[b + k] * D + j] - a->mean[j];
}

/* cov (D, D) = xc_u^T xc_u / (n - 1). */
static void group_cov(const CalActs *a, int u, float *cov)
{
    int32_t n = group_size(a, u);
    matmul_tn(cov, a->xc + (int64_t)a->start[u] * a->D, a->xc + (int64_t)a->start[u] * a->D, a->D, a->D, n,
              1.0f / (float)(n - 1), 0.0f);
}

double cal_forward(CalActs *a, const float *v, const int32_t *grp, int64_t M)
{
    if (M > a->max_rows) die("cal: %lld rows over plan %lld", (long long)M, (long long)a->max_rows);
    group_rows(a, grp, M);
    if (a->major < 0) return 0;
    int64_t dd = (int64_t)a->D * a->D;
    for (int u = 0; u < a->n_used; u++)
        if (group_size(a, u) >= 2) center_group(a, v, u);
    group_cov(a, a->major, a->cov_major);
    memset(a->g_major, 0, (size_t)dd * sizeof(float));
    double loss = 0;
    for (int u = 0; u < a->n_used; u++) {
        if (u == a->major || group_size(a, u) < 2) continue;
        group_cov(a, u, a->cov);
        for (int64_t k = 0; k < dd; k++) {
            float diff = a->cov_major[k] - a->cov[k];
            loss += (double)diff * diff;
            a->g_major[k] += 2.0f * diff;
        }
    }
    return loss;
}

/* dv rows of category u += coef * xc_u G (G symmetric: d/dx_k of <G, Cov> is
 * 2/(n-1) G x_k, and the mean's share vanishes since the x_k sum to zero). */
static void group_backward(CalActs *a, float *dv, int u, const float *G, float coef)
{
    int D = a->D;
    int32_t b = a->start[u], n = group_size(a, u);
    matmul_nn(a->dxc, a->xc + (int64_t)b * D, G, n, D, D, coef, 0.0f);
    for (int32_t k = 0; k < n; k++) {
        float *dst = dv + (int64_t)a->rows[b + k] * D;
        const float *src = a->dxc + (int64_t)k * D;
        for (int j = 0; j < D; j++) dst[j] += src[j];
    }
}

void cal_backward(CalActs *a, float *dv, float scale)
{
    if (a->major < 0) return;
    int64_t dd = (int64_t)a->D * a->D;
    for (int u = 0; u < a->n_used; u++) {
        int32_t n = group_size(a, u);
        if (u == a->major || n < 2) continue;
        group_cov(a, u, a->cov);
        for (int64_t k = 0; k < dd; k++) a->cov[k] = -2.0f * (a->cov_major[k] - a->cov[k]); /* dCAL/dCov_u */
        group_backward(a, dv, u, a->cov, 2.0f * scale / (float)(n - 1));
    }
    group_backward(a, dv, a->major, a->g_major, 2.0f * scale / (float)(group_size(a, a->major) - 1));
}
