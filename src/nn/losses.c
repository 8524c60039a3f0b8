#include "nn/losses.h"

#include <math.h>
#include <string.h>

#include "nn/layers.h"

/* logits (N, M) = inv_temp * q c^T - logq. With logq the rows start as -logq
 * and sgemm accumulates onto them (beta = 1): with beta = 0 OpenBLAS zeroes
 * the output first, so this saves a zeroing pass and a subtraction pass over
 * a matrix far larger than the caches. */
static void sampled_logits(float *logits, const float *q, const float *c, const float *logq, int64_t N, int M, int D,
                           float inv_temp)
{
    if (!logq) {
        matmul_nt(logits, q, c, N, M, D, inv_temp, 0.0f);
        return;
    }
#pragma omp parallel for schedule(static) if (N * M > (1 << 15))
    for (int64_t n = 0; n < N; n++)
        for (int m = 0; m < M; m++) logits[n * M + m] = -logq[m];
    matmul_nt(logits, q, c, N, M, D, inv_temp, 1.0f);
}

double sampled_softmax_forward(float *logits, const float *q, const float *c, const int32_t *target,
                               const float *logq, const float *row_w, int64_t N, int M, int D, float inv_temp,
                               int64_t *count)
{
    sampled_logits(logits, q, c, logq, N, M, D, inv_temp);
    if (!row_w) return softmax_xent_forward(logits, target, N, M, count);
    softmax_xent_forward(logits, target, N, M, count);
    double loss = 0;
    for (int64_t n = 0; n < N; n++)
        if (target[n] >= 0) loss += -row_w[n] * log(fmax((double)logits[n * M + target[n]], 1e-30));
    return loss;
}

void sampled_softmax_backward(float *dq, float *dc, float *probs, const float *q, const float *c,
                              const int32_t *target, const float *row_w, int64_t N, int M, int D, float inv_temp,
                              float scale)
{
    /* dlogits = scale * (probs - onehot); ignored rows contribute nothing. */
#pragma omp parallel for schedule(static) if (N * M > (1 << 15))
    for (int64_t n = 0; n < N; n++) {
        float *p = probs + n * M;
        if (target[n] < 0) {
            memset(p, 0, (size_t)M * sizeof *p);
            continue;
        }
        float sc = row_w ? scale * row_w[n] : scale;
        for (int m = 0; m < M; m++) p[m] *= sc;
        p[target[n]] -= sc;
    }
    /* logits = inv_temp * q c^T  =>  dq = inv_temp * dlogits c,  dc = inv_temp * dlogits^T q */
    if (dq) matmul_nn(dq, probs, c, N, D, M, inv_temp, 1.0f);
    if (dc) matmul_tn(dc, probs, q, M, D, N, inv_temp, 1.0f);
}

/* Row blocks of SS_ROWS queries go through all three steps (logits, softmax
 * and its gradient, the two gradient products) while the block's (SS_ROWS, M)
 * slice (3 MB at M = 3k) is still in cache. Done whole, the (N, M) matrix
 * (~1.5k x 3k floats for cl-epidtn, 17 MB) went to memory and back five times
 * (written by sgemm, read and rewritten by the softmax, packed by each
 * gradient sgemm): the blocked loss is 1.2x faster (1 thread). dc sums the
 * blocks' contributions (a different order of the same float sum).
 *
 * The block's rows stay unnormalized, e = exp(z - max): with f_n = scale w_n /
 * sum_n and t_n the target, dlogits = diag(f) e - onehot(t) scale w, so
 *   dq_n += inv_temp (f_n (e c)_n - scale w_n c_{t_n})
 *   dc   += inv_temp e^T (diag(f) q)  and  dc_{t_n} -= inv_temp scale w_n q_n:
 * f is applied to (SS_ROWS, D) matrices instead of a pass over (SS_ROWS, M).
 * Scratch after the logits block: e c, diag(f) q (each SS_ROWS x D) and f. */
enum { SS_ROWS = 256 };

int64_t sampled_softmax_scratch(int64_t N, int M, int D)
{
    int64_t r = MIN(N, (int64_t)SS_ROWS);
    return r * M + 2 * r * D + r;
}

/* dq rows of one block from ec = e c (see above); ignored rows have f = 0 and no target term. */
static void block_dq(float *dq, const float *ec, const float *f, const float *c, const int32_t *target,
                     const float *row_w, int64_t nr, int D, float inv_temp, float scale)
{
    for (int64_t n = 0; n < nr; n++) {
        if (target[n] < 0) continue;
        float g = inv_temp * scale * (row_w ? row_w[n] : 1.0f), fi = inv_temp * f[n];
        const float *ct = c + (int64_t)target[n] * D;
        for (int d = 0; d < D; d++) dq[n * D + d] += fi * ec[n * D + d] - g * ct[d];
    }
}

/* dc's target term of one block: dc_{t_n} -= inv_temp scale w_n q_n (serial: targets repeat). */
static void block_dc_targets(float *dc, const float *q, const int32_t *target, const float *row_w, int64_t nr, int D,
                             float inv_temp, float scale)
{
    for (int64_t n = 0; n < nr; n++) {
        if (target[n] < 0) continue;
        float g = inv_temp * scale * (row_w ? row_w[n] : 1.0f);
        float *dt = dc + (int64_t)target[n] * D;
        for (int d = 0; d < D; d++) dt[d] -= g * q[n * D + d];
    }
}

double sampled_softmax_forward_backward(float *dq, float *dc, float *logits, const float *q, const float *c,
                                        const int32_t *target, const float *logq, const float *row_w, int64_t N,
                                        int M, int D, float inv_temp, float scale)
{
    int64_t rows = MIN(N, (int64_t)SS_ROWS);
    float *ec = logits + rows * M, *fq = ec + rows * D, *f = fq + rows * D;
    double loss = 0;
    for (int64_t r0 = 0; r0 < N; r0 += SS_ROWS) {
        int64_t nr = MIN(SS_ROWS, N - r0);
        const float *qb = q + r0 * D, *wb = row_w ? row_w + r0 : NULL;
        const int32_t *tb = target + r0;
        sampled_logits(logits, qb, c, logq, nr, M, D, inv_temp);
        loss += softmax_xent_exp_rows(logits, f, tb, wb, nr, M, scale);
        /* logits = inv_temp * q c^T  =>  dq = inv_temp * dlogits c,  dc = inv_temp * dlogits^T q */
        if (dq) {
            matmul_nn(ec, logits, c, nr, D, M, 1.0f, 0.0f);
            block_dq(dq + r0 * D, ec, f, c, tb, wb, nr, D, inv_temp, scale);
        }
        if (dc) {
            for (int64_t n = 0; n < nr; n++)
                for (int d = 0; d < D; d++) fq[n * D + d] = f[n] * qb[n * D + d];
            matmul_tn(dc, logits, fq, M, D, nr, inv_temp, 1.0f);
            block_dc_targets(dc, qb, tb, wb, nr, D, inv_temp, scale);
        }
    }
    return loss;
}

double infonce_forward_backward(float *dz1, float *dz2, float *logits, const float *z1, const float *z2,
                                const int32_t *diag, const float *row_w, int64_t N, int D, float inv_temp,
                                float scale)
{
    /* Two directions of one sampled softmax each; the candidates of one view
     * are the rows of the other, the positive is the same row. */
    double loss = sampled_softmax_forward_backward(dz1, dz2, logits, z1, z2, diag, NULL, row_w, N, (int)N, D,
                                                   inv_temp, 0.5f * scale);
    loss += sampled_softmax_forward_backward(dz2, dz1, logits, z2, z1, diag, NULL, row_w, N, (int)N, D, inv_temp,
                                             0.5f * scale);
    return 0.5 * loss;
}
