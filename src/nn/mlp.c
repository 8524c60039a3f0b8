#include "nn/mlp.h"

#include <stdio.h>

#include "nn/layers.h"

void mlp2_declare(Mlp2 *m, ParamStore *ps, const char *prefix, int in, int hid, int out, float init_std, int zero_out)
{
    char name[PARAM_NAME_MAX];
    m->in = in, m->hid = hid, m->out = out;
    snprintf(name, sizeof name, "%s.w1", prefix);
    m->w1 = param_add(ps, name, hid, in, INIT_XAVIER, 1.0f);
    snprintf(name, sizeof name, "%s.b1", prefix);
    m->b1 = param_add(ps, name, 1, hid, INIT_ZERO, 0);
    snprintf(name, sizeof name, "%s.w2", prefix);
    m->w2 = param_add(ps, name, out, hid, zero_out ? INIT_ZERO : INIT_NORMAL, init_std);
    snprintf(name, sizeof name, "%s.b2", prefix);
    m->b2 = param_add(ps, name, 1, out, INIT_ZERO, 0);
    param_set_no_decay(ps, m->b1);
    param_set_no_decay(ps, m->b2);
}

void mlp2_plan(const Mlp2 *m, Mlp2Acts *a, Arena *ar, int64_t max_rows)
{
    a->h_pre = arena_floats(ar, (size_t)(max_rows * m->hid));
    a->h = arena_floats(ar, (size_t)(max_rows * m->hid));
    a->th = arena_floats(ar, (size_t)(max_rows * m->hid));
    a->dh = arena_floats(ar, (size_t)(max_rows * m->hid));
}

void mlp2_forward(const Mlp2 *m, ParamStore *ps, Mlp2Acts *a, float *y, const float *x, int64_t N)
{
    linear_forward(a->h_pre, x, param_data(ps, m->w1), param_data(ps, m->b1), N, m->in, m->hid);
    gelu_forward_keep(a->h, a->th, a->h_pre, N * m->hid);
    linear_forward(y, a->h, param_data(ps, m->w2), param_data(ps, m->b2), N, m->hid, m->out);
}

void mlp2_backward(const Mlp2 *m, ParamStore *ps, Mlp2Acts *a, float *dx, const float *dy, const float *x, int64_t N)
{
    linear_backward_set(a->dh, param_grad(ps, m->w2), param_grad(ps, m->b2), dy, a->h, param_data(ps, m->w2), N,
                        m->hid, m->out);
    gelu_backward_inplace(a->dh, a->h_pre, a->th, N * m->hid); /* dh is now d(h_pre) */
    linear_backward(dx, param_grad(ps, m->w1), param_grad(ps, m->b1), a->dh, x, param_data(ps, m->w1), N, m->in,
                    m->hid);
}
