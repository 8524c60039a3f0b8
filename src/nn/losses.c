#include "nn/losses.h"

#include <math.h>
#include <string.h>

#include "nn/layers.h"

double sampled_softmax_forward(float *logits, const float *q, const float *c, const int32_t *target,
                               const float *logq, const float *row_w, int64_t N, int M, int D, float inv_temp,
                               int64_t *count)
{
    matmul_nt(logits, q, c, N, M, D, inv_temp, 0.0f);
    if (logq) {
#pragma omp parallel for schedule(static) if (N * M > (1 << 15))
        for (int64_t n = 0; n < N; n++)
            for (int m = 0; m < M; m++) logits[n * M + m] -= logq[m];
    }
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

double infonce_forward_backward(float *dz1, float *dz2, float *logits, const float *z1, const float *z2,
                                const int32_t *diag, const float *row_w, int64_t N, int D, float inv_temp,
                                float scale)
{
    /* Two directions of one sampled softmax each; the candidates of one view
     * are the rows of the other, the positive is the same row. */
    double loss = sampled_softmax_forward(logits, z1, z2, diag, NULL, row_w, N, (int)N, D, inv_temp, NULL);
    sampled_softmax_backward(dz1, dz2, logits, z1, z2, diag, row_w, N, (int)N, D, inv_temp, 0.5f * scale);
    loss += sampled_softmax_forward(logits, z2, z1, diag, NULL, row_w, N, (int)N, D, inv_temp, NULL);
    sampled_softmax_backward(dz2, dz1, logits, z2, z1, diag, row_w, N, (int)N, D, inv_temp, 0.5f * scale);
    return 0.5 * loss;
}
