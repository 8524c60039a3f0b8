#include "nn/losses.h"

#include <string.h>

#include "nn/layers.h"

double sampled_softmax_forward(float *logits, const float *q, const float *c, const int32_t *target,
                               const float *logq, int64_t N, int M, int D, float inv_temp, int64_t *count)
{
    matmul_nt(logits, q, c, N, M, D, inv_temp, 0.0f);
    if (logq) {
#pragma omp parallel for schedule(static) if (N * M > (1 << 15))
        for (int64_t n = 0; n < N; n++)
            for (int m = 0; m < M; m++) logits[n * M + m] -= logq[m];
    }
    return softmax_xent_forward(logits, target, N, M, count);
}

void sampled_softmax_backward(float *dq, float *dc, float *probs, const float *q, const float *c,
                              const int32_t *target, int64_t N, int M, int D, float inv_temp, float scale)
{
    /* dlogits = scale * (probs - onehot); ignored rows contribute nothing. */
#pragma omp parallel for schedule(static) if (N * M > (1 << 15))
    for (int64_t n = 0; n < N; n++) {
        float *p = probs + n * M;
        if (target[n] < 0) {
            memset(p, 0, (size_t)M * sizeof *p);
            continue;
        }
        for (int m = 0; m < M; m++) p[m] *= scale;
        p[target[n]] -= scale;
    }
    /* logits = inv_temp * q c^T  =>  dq = inv_temp * dlogits c,  dc = inv_temp * dlogits^T q */
    if (dq) matmul_nn(dq, probs, c, N, D, M, inv_temp, 1.0f);
    if (dc) matmul_tn(dc, probs, q, M, D, N, inv_temp, 1.0f);
}
