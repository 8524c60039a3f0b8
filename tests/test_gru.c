/* The GRU layer: finite-difference gradients (inputs, both weight matrices,
 * both biases) over packed sequences of different lengths, and the forward
 * against a direct per-sequence evaluation of the PyTorch equations. */
#include <math.h>
#include <string.h>

#include "gradcheck.h"
#include "nn/gru.h"
#include "test.h"

/* Lengths deliberately unsorted, with ties and a length-1 sequence. */
static const int32_t k_ptr[] = {0, 3, 4, 9, 11, 16, 17};
enum { S = 6, N = 17, LMAX = 5, I = 4, H = 3 };

typedef struct {
    Gru g;
    ParamStore ps;
    Arena ar;
    GruActs acts;
    float *x, *dx, *out, *R;
} GruCtx;

static void gru_ctx_init(GruCtx *c, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    gru_declare(&c->g, &c->ps, "gru", I, H);
    Rng rng;
    rng_seed(&rng, seed, 1);
    param_alloc(&c->ps, &rng);
    /* Weights and biases away from their (zero-bias) initialization so every
     * gate sits in its curved region. */
    fill_normal(c->ps.data, (int64_t)c->ps.size, 0.6f, &rng);
    gru_plan(&c->g, &c->acts, &c->ar, S, LMAX, N);
    c->x = test_floats(N * I), c->dx = test_floats(N * I), c->out = test_floats(N * H), c->R = test_floats(N * H);
    fill_normal(c->x, N * I, 1, &rng);
    fill_normal(c->R, N * H, 1, &rng);
}

static void gru_ctx_free(GruCtx *c)
{
    arena_free(&c->ar);
    param_free(&c->ps);
}

static double gru_fwd(void *p)
{
    GruCtx *c = p;
    gru_forward(&c->g, &c->ps, &c->acts, c->out, c->x, k_ptr, S);
    return dot_f64(c->out, c->R, N * H);
}

static void gru_bwd(void *p)
{
    GruCtx *c = p;
    gru_fwd(c);
    gru_backward(&c->g, &c->ps, &c->acts, c->dx, c->R);
}

TEST(grad_gru_packed_sequences)
{
    GruCtx c;
    gru_ctx_init(&c, 7);
    ParamStore *ps = &c.ps;
    GcVar v[] = {{"x", c.x, c.dx, N * I},
                 {"w_ih", param_data(ps, c.g.w_ih), param_grad(ps, c.g.w_ih), 3 * H * I},
                 {"w_hh", param_data(ps, c.g.w_hh), param_grad(ps, c.g.w_hh), 3 * H * H},
                 {"b_ih", param_data(ps, c.g.b_ih), param_grad(ps, c.g.b_ih), 3 * H},
                 {"b_hh", param_data(ps, c.g.b_hh), param_grad(ps, c.g.b_hh), 3 * H}};
    CHECK_EQ_INT(gradcheck("gru", gru_fwd, gru_bwd, &c, v, 5, NULL), 0);
    gru_ctx_free(&c);
}

static float sig(float x) { return 1.0f / (1.0f + expf(-x)); }

/* h' for one token by the equations, weights as stacked [r ; z ; n] rows. */
static void ref_step(float *hnew, const float *x, const float *h, const float *wi, const float *wh, const float *bi,
                     const float *bh)
{
    float a[3][H], b[3][H];
    for (int gt = 0; gt < 3; gt++)
        for (int j = 0; j < H; j++) {
            int row = gt * H + j;
            a[gt][j] = bi[row], b[gt][j] = bh[row];
            for (int i = 0; i < I; i++) a[gt][j] += wi[row * I + i] * x[i];
            for (int i = 0; i < H; i++) b[gt][j] += wh[row * H + i] * h[i];
        }
    for (int j = 0; j < H; j++) {
        float r = sig(a[0][j] + b[0][j]), z = sig(a[1][j] + b[1][j]);
        float n = tanhf(a[2][j] + r * b[2][j]);
        hnew[j] = (1 - z) * n + z * h[j];
    }
}

TEST(gru_forward_matches_per_sequence_reference)
{
    GruCtx c;
    gru_ctx_init(&c, 8);
    ParamStore *ps = &c.ps;
    gru_fwd(&c);
    double worst = 0;
    for (int s = 0; s < S; s++) {
        float h[H] = {0};
        for (int32_t t = k_ptr[s]; t < k_ptr[s + 1]; t++) {
            float hn[H];
            ref_step(hn, c.x + t * I, h, param_data(ps, c.g.w_ih), param_data(ps, c.g.w_hh),
                     param_data(ps, c.g.b_ih), param_data(ps, c.g.b_hh));
            memcpy(h, hn, sizeof h);
            for (int j = 0; j < H; j++) worst = fmax(worst, fabs(h[j] - c.out[t * H + j]));
        }
    }
    CHECK(worst < 1e-5);
    /* The schedule: 5 steps with 6, 4, 3, 2, 2 sequences running. */
    CHECK_EQ_INT(c.acts.T, 5);
    CHECK_EQ_INT(c.acts.step_off[1], 6);
    CHECK_EQ_INT(c.acts.step_off[2] - c.acts.step_off[1], 4);
    CHECK_EQ_INT(c.acts.step_off[5] - c.acts.step_off[4], 2);
    gru_ctx_free(&c);
}
