/* mlp.h — a two-layer perceptron, the small network used for gates,
 * augmented-vector generators and tower heads:
 *   y = W2 gelu(W1 x + b1) + b2        x (N, in), y (N, out)
 * With zero_out the output layer starts at zero, so a gate 2*sigmoid(y)
 * starts at exactly 1 (identity) and a residual head starts as a no-op. */
#ifndef CLT_MLP_H
#define CLT_MLP_H

#include "nn/params.h"
#include "util/arena.h"

typedef struct Mlp2 {
    int w1, b1, w2, b2;   /* parameter indices */
    int in, hid, out;
} Mlp2;

typedef struct Mlp2Acts {
    float *h_pre, *h, *th; /* (N, hid); th: the tanh inside GELU, kept for backward */
    float *dh;            /* (N, hid) backward scratch: d(h), then d(h_pre) in place */
} Mlp2Acts;

void mlp2_declare(Mlp2 *m, ParamStore *ps, const char *prefix, int in, int hid, int out, float init_std, int zero_out);
void mlp2_plan(const Mlp2 *m, Mlp2Acts *a, Arena *ar, int64_t max_rows);
void mlp2_forward(const Mlp2 *m, ParamStore *ps, Mlp2Acts *a, float *y, const float *x, int64_t N);
/* Accumulates parameter gradients and dx (dx may be NULL). */
void mlp2_backward(const Mlp2 *m, ParamStore *ps, Mlp2Acts *a, float *dx, const float *dy, const float *x, int64_t N);

#endif
