#include "nn/gru.h"

#include <stdio.h>
#include <string.h>

#include "nn/fastmath.h"
#include "nn/layers.h"

void gru_declare(Gru *g, ParamStore *ps, const char *prefix, int I, int H)
{
    char name[PARAM_NAME_MAX];
    g->I = I, g->H = H;
    /* Xavier-uniform weights as RecBole's GRU4Rec, zero biases. */
    snprintf(name, sizeof name, "%s.w_ih", prefix);
    g->w_ih = param_add(ps, name, 3 * H, I, INIT_XAVIER, 1.0f);
    snprintf(name, sizeof name, "%s.w_hh", prefix);
    g->w_hh = param_add(ps, name, 3 * H, H, INIT_XAVIER, 1.0f);
    snprintf(name, sizeof name, "%s.b_ih", prefix);
    g->b_ih = param_add(ps, name, 1, 3 * H, INIT_ZERO, 0);
    snprintf(name, sizeof name, "%s.b_hh", prefix);
    g->b_hh = param_add(ps, name, 1, 3 * H, INIT_ZERO, 0);
    param_set_no_decay(ps, g->b_ih);
    param_set_no_decay(ps, g->b_hh);
}

void gru_plan(const Gru *g, GruActs *a, Arena *ar, int max_seqs, int max_len, int64_t max_tokens)
{
    memset(a, 0, sizeof *a);
    a->max_seqs = max_seqs, a->max_len = max_len, a->max_tokens = max_tokens;
    size_t nt = (size_t)max_tokens, H = (size_t)g->H, I = (size_t)g->I;
    a->row_tok = arena_i32(ar, nt);
    a->step_off = arena_i32(ar, (size_t)max_len + 1);
    a->order = arena_i32(ar, (size_t)max_seqs);
    a->bucket = arena_i32(ar, (size_t)max_len + 1);
    a->x = arena_floats(ar, nt * I), a->dx = arena_floats(ar, nt * I);
    a->gate = arena_floats(ar, nt * 3 * H);
    a->hn = arena_floats(ar, nt * H), a->hprev = arena_floats(ar, nt * H), a->h = arena_floats(ar, nt * H);
    a->dh = arena_floats(ar, nt * H);
    a->dgi = arena_floats(ar, nt * 3 * H), a->dgh = arena_floats(ar, nt * 3 * H);
    a->gh = arena_floats(ar, (size_t)max_seqs * 3 * H);
}

/* Time-major order of a packed batch: sequences longest first (a stable
 * counting sort by length), then row k of step t is token t of the k-th. */
static void gru_schedule(GruActs *a, const int32_t *ptr, int S)
{
    int L = a->max_len;
    int32_t *at = a->bucket;
    if (S > a->max_seqs) die("gru: %d sequences over plan %d", S, a->max_seqs);
    if ((int64_t)ptr[S] > a->max_tokens) die("gru: %d tokens over plan %lld", ptr[S], (long long)a->max_tokens);
    memset(at, 0, ((size_t)L + 1) * sizeof *at);
    a->T = 0;
    for (int s = 0; s < S; s++) {
        int32_t len = ptr[s + 1] - ptr[s];
        if (len < 1 || len > L) die("gru: sequence %d has %d tokens (expected 1..%d)", s, len, L);
        at[len]++;
        a->T = MAX(a->T, len);
    }
    for (int32_t len = L, next = 0; len >= 1; len--) {
        int32_t c = at[len];
        at[len] = next;
        next += c;
    }
    for (int s = 0; s < S; s++) a->order[at[ptr[s + 1] - ptr[s]]++] = s;
    a->step_off[0] = 0;
    int run = S; /* sequences still running at step t: order[0 .. run) */
    for (int t = 0; t < a->T; t++) {
        while (run > 0 && ptr[a->order[run - 1] + 1] - ptr[a->order[run - 1]] <= t) run--;
        for (int k = 0; k < run; k++) a->row_tok[a->step_off[t] + k] = ptr[a->order[k]] + t;
        a->step_off[t + 1] = a->step_off[t] + run;
    }
    a->N = ptr[S];
}

static inline float sigmoidf_fast(float x) { return 1.0f / (1.0f + fast_expf(-x)); }

/* One step for n rows. g (n, 3H): in the input pre-activations W_i x + b_i,
 * out the gates r, z, n; gh (n, 3H) the recurrent pre-activations. */
static void cell_forward(float *g, float *hn, float *h, const float *gh, const float *hp, int64_t n, int H)
{
    for (int64_t k = 0; k < n; k++) {
        float *gk = g + k * 3 * H;
        const float *ghk = gh + k * 3 * H;
        for (int j = 0; j < H; j++) {
            float r = sigmoidf_fast(gk[j] + ghk[j]);
            float z = sigmoidf_fast(gk[H + j] + ghk[H + j]);
            float hnj = ghk[2 * H + j];
            float nj = fast_tanhf(gk[2 * H + j] + r * hnj);
            gk[j] = r, gk[H + j] = z, gk[2 * H + j] = nj;
            hn[k * H + j] = hnj;
            h[k * H + j] = (1.0f - z) * nj + z * hp[k * H + j];
        }
    }
}

void gru_forward(const Gru *g, ParamStore *ps, GruActs *a, float *out, const float *x, const int32_t *seq_ptr, int S)
{
    int I = g->I, H = g->H;
    size_t rowb = (size_t)H * sizeof(float);
    gru_schedule(a, seq_ptr, S);
    for (int64_t k = 0; k < a->N; k++) memcpy(a->x + k * I, x + (int64_t)a->row_tok[k] * I, (size_t)I * sizeof(float));
    linear_forward(a->gate, a->x, param_data(ps, g->w_ih), param_data(ps, g->b_ih), a->N, I, 3 * H);
    for (int t = 0; t < a->T; t++) {
        int64_t r0 = a->step_off[t], n = a->step_off[t + 1] - r0;
        float *hp = a->hprev + r0 * H;
        /* the n sequences of step t are the first n rows of step t-1 */
        if (t == 0) memset(hp, 0, (size_t)n * rowb);
        else memcpy(hp, a->h + (int64_t)a->step_off[t - 1] * H, (size_t)n * rowb);
        linear_forward(a->gh, hp, param_data(ps, g->w_hh), param_data(ps, g->b_hh), n, H, 3 * H);
        cell_forward(a->gate + r0 * 3 * H, a->hn + r0 * H, a->h + r0 * H, a->gh, hp, n, H);
    }
    for (int64_t k = 0; k < a->N; k++) memcpy(out + (int64_t)a->row_tok[k] * H, a->h + k * H, rowb);
}

/* Back through one step: dh (n, H) -> dgi, dgh (n, 3H) (overwritten) and the
 * direct part z * dh of the previous state's gradient into dhp (NULL at t = 0). */
static void cell_backward(float *dgi, float *dgh, float *dhp, const float *dh, const float *g, const float *hn,
                          const float *hp, int64_t n, int H)
{
    for (int64_t k = 0; k < n; k++) {
        const float *gk = g + k * 3 * H;
        float *di = dgi + k * 3 * H, *dr = dgh + k * 3 * H;
        for (int j = 0; j < H; j++) {
            float r = gk[j], z = gk[H + j], nj = gk[2 * H + j], d = dh[k * H + j];
            float dan = d * (1.0f - z) * (1.0f - nj * nj);          /* through tanh */
            float dar = dan * hn[k * H + j] * r * (1.0f - r);        /* through r's sigmoid */
            float daz = d * (hp[k * H + j] - nj) * z * (1.0f - z);   /* through z's sigmoid */
            di[j] = dar, di[H + j] = daz, di[2 * H + j] = dan;
            dr[j] = dar, dr[H + j] = daz, dr[2 * H + j] = dan * r;
            if (dhp) dhp[k * H + j] += d * z;
        }
    }
}

void gru_backward(const Gru *g, ParamStore *ps, GruActs *a, float *dx, const float *dout)
{
    int I = g->I, H = g->H;
    int64_t N = a->N;
    const float *w_hh = param_data(ps, g->w_hh);
    for (int64_t k = 0; k < N; k++) memcpy(a->dh + k * H, dout + (int64_t)a->row_tok[k] * H, (size_t)H * sizeof(float));
    for (int t = a->T - 1; t >= 0; t--) {
        int64_t r0 = a->step_off[t], n = a->step_off[t + 1] - r0;
        float *dhp = t > 0 ? a->dh + (int64_t)a->step_off[t - 1] * H : NULL;
        cell_backward(a->dgi + r0 * 3 * H, a->dgh + r0 * 3 * H, dhp, a->dh + r0 * H, a->gate + r0 * 3 * H,
                      a->hn + r0 * H, a->hprev + r0 * H, n, H);
        if (dhp) matmul_nn(dhp, a->dgh + r0 * 3 * H, w_hh, n, H, 3 * H, 1.0f, 1.0f); /* (n,3H) @ (3H,H) */
    }
    /* Weight gradients once over all steps (hprev holds every step's input state). */
    linear_backward(NULL, param_grad(ps, g->w_hh), param_grad(ps, g->b_hh), a->dgh, a->hprev, w_hh, N, H, 3 * H);
    linear_backward(NULL, param_grad(ps, g->w_ih), param_grad(ps, g->b_ih), a->dgi, a->x, param_data(ps, g->w_ih), N,
                    I, 3 * H);
    if (!dx) return;
    matmul_nn(a->dx, a->dgi, param_data(ps, g->w_ih), N, I, 3 * H, 1.0f, 0.0f);
    for (int64_t k = 0; k < N; k++) {
        float *dst = dx + (int64_t)a->row_tok[k] * I;
        const float *src = a->dx + k * I;
        for (int i = 0; i < I; i++) dst[i] += src[i];
    }
}
