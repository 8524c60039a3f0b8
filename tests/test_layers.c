/* Finite-difference gradient tests for every basic layer and loss, plus
 * reference-value tests of the forward passes. */
#include <string.h>

#include "gradcheck.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "test.h"

/* A generic "layer under test": one input, optional weight and bias, output
 * projected on R. Each test fills a context and two small functions. */
typedef struct {
    int64_t N;
    int C, OC;
    float *x, *w, *b, *out, *R, *dx, *dw, *db;
    float *aux1, *aux2;   /* saved statistics (layernorm mean/rstd, l2 norms) */
    int32_t *ids, *ptr;
    float p;
} LayerCtx;

static Rng g_rng;
static void seed(uint64_t s) { rng_seed(&g_rng, s, 1); }

/* ---- linear ---- */
static double linear_fwd(void *p)
{
    LayerCtx *c = p;
    linear_forward(c->out, c->x, c->w, c->b, c->N, c->C, c->OC);
    return dot_f64(c->out, c->R, c->N * c->OC);
}
static void linear_bwd(void *p)
{
    LayerCtx *c = p;
    linear_fwd(c);
    linear_backward(c->dx, c->dw, c->db, c->R, c->x, c->w, c->N, c->C, c->OC);
}

TEST(grad_linear)
{
    seed(1);
    LayerCtx c = {.N = 7, .C = 5, .OC = 4};
    c.x = test_floats(35), c.w = test_floats(20), c.b = test_floats(4), c.out = test_floats(28), c.R = test_floats(28);
    c.dx = test_floats(35), c.dw = test_floats(20), c.db = test_floats(4);
    fill_normal(c.x, 35, 1, &g_rng), fill_normal(c.w, 20, 0.5f, &g_rng), fill_normal(c.b, 4, 0.5f, &g_rng);
    fill_normal(c.R, 28, 1, &g_rng);
    GcVar v[] = {{"x", c.x, c.dx, 35}, {"w", c.w, c.dw, 20}, {"b", c.b, c.db, 4}};
    CHECK_EQ_INT(gradcheck("linear", linear_fwd, linear_bwd, &c, v, 3, NULL), 0);
}

TEST(linear_forward_reference)
{
    /* out = x W^T + b by hand: x = [1 2], W = [[1 0],[2 -1],[0.5 0.5]], b = [0 1 -1] */
    float x[2] = {1, 2}, w[6] = {1, 0, 2, -1, 0.5f, 0.5f}, b[3] = {0, 1, -1}, out[3];
    linear_forward(out, x, w, b, 1, 2, 3);
    CHECK_NEAR(out[0], 1, 1e-6);
    CHECK_NEAR(out[1], 1, 1e-6);
    CHECK_NEAR(out[2], 0.5, 1e-6);
}

/* The GEMM tally behind the training log's gemm_gflop counts 2 M N K per
 * product called outside a parallel region (both the row-split path and the
 * direct one), and nothing for products inside one. */
TEST(gemm_tally_counts_products_outside_parallel_regions)
{
    float *a = test_floats(600 * 8), *b = test_floats(8 * 16), *c = test_floats(600 * 16);
    GemmTally g0 = gemm_tally();
    matmul_nn(c, a, b, 600, 16, 8, 1, 0); /* >= 512 rows, <= 128 columns: the row split */
    matmul_nt(c, a, b, 2, 8, 16, 1, 0);
#pragma omp parallel num_threads(2)
#pragma omp single
    matmul_nn(c, a, b, 4, 4, 4, 1, 0); /* inside a region: not counted */
    GemmTally g1 = gemm_tally();
    CHECK_NEAR(g1.flops - g0.flops, 2.0 * 600 * 16 * 8 + 2.0 * 2 * 8 * 16, 0);
    CHECK_EQ_INT((int)(g1.calls - g0.calls), 2);
    CHECK(g1.seconds >= g0.seconds);
}

/* ---- activations ---- */
typedef void (*ActFwd)(float *, const float *, int64_t);
typedef void (*ActBwd)(float *, const float *, const float *, int64_t);
static ActFwd g_act_fwd;
static ActBwd g_act_bwd;
static double act_fwd(void *p)
{
    LayerCtx *c = p;
    g_act_fwd(c->out, c->x, c->N);
    return dot_f64(c->out, c->R, c->N);
}
static void act_bwd(void *p)
{
    LayerCtx *c = p;
    act_fwd(c);
    g_act_bwd(c->dx, c->R, c->x, c->N);
}

static int check_activation(const char *name, ActFwd f, ActBwd b)
{
    LayerCtx c = {.N = 64};
    c.x = test_floats(64), c.out = test_floats(64), c.R = test_floats(64), c.dx = test_floats(64);
    fill_normal(c.x, 64, 1.5f, &g_rng), fill_normal(c.R, 64, 1, &g_rng);
    for (int i = 0; i < 64; i++) /* keep away from the ReLU kink */
        if (c.x[i] > -0.05f && c.x[i] < 0.05f) c.x[i] = 0.3f;
    g_act_fwd = f, g_act_bwd = b;
    GcVar v[] = {{"x", c.x, c.dx, 64}};
    return gradcheck(name, act_fwd, act_bwd, &c, v, 1, NULL);
}

TEST(grad_relu) { seed(2); CHECK_EQ_INT(check_activation("relu", relu_forward, relu_backward), 0); }
TEST(grad_gelu) { seed(3); CHECK_EQ_INT(check_activation("gelu", gelu_forward, gelu_backward), 0); }

/* gate2's backward takes the forward OUTPUT, so it gets its own wrapper. */
static void gate2_backward_from_input(float *dinp, const float *dout, const float *inp, int64_t n)
{
    float *out = test_floats(n);
    gate2_forward(out, inp, n);
    gate2_backward(dinp, dout, out, n);
}
TEST(grad_gate2) { seed(4); CHECK_EQ_INT(check_activation("gate2", gate2_forward, gate2_backward_from_input), 0); }

TEST(gelu_reference_values)
{
    /* torch.nn.functional.gelu(x, approximate="tanh") */
    float x[3] = {-1.0f, 0.5f, 2.0f}, y[3];
    gelu_forward(y, x, 3);
    CHECK_NEAR(y[0], -0.15880801, 1e-6);
    CHECK_NEAR(y[1], 0.34571401, 1e-6);
    CHECK_NEAR(y[2], 1.95459769, 1e-6);
}

/* ---- layernorm ---- */
static double ln_fwd(void *p)
{
    LayerCtx *c = p;
    layernorm_forward(c->out, c->aux1, c->aux2, c->x, c->w, c->b, c->N, c->C);
    return dot_f64(c->out, c->R, c->N * c->C);
}
static void ln_bwd(void *p)
{
    LayerCtx *c = p;
    ln_fwd(c);
    layernorm_backward(c->dx, c->dw, c->db, c->R, c->x, c->w, c->aux1, c->aux2, c->N, c->C);
}

TEST(grad_layernorm)
{
    seed(5);
    LayerCtx c = {.N = 6, .C = 8};
    int64_t n = 48;
    c.x = test_floats(n), c.w = test_floats(8), c.b = test_floats(8), c.out = test_floats(n), c.R = test_floats(n);
    c.dx = test_floats(n), c.dw = test_floats(8), c.db = test_floats(8), c.aux1 = test_floats(6), c.aux2 = test_floats(6);
    fill_normal(c.x, n, 1, &g_rng), fill_normal(c.w, 8, 1, &g_rng), fill_normal(c.b, 8, 1, &g_rng);
    fill_normal(c.R, n, 1, &g_rng);
    GcVar v[] = {{"x", c.x, c.dx, n}, {"w", c.w, c.dw, 8}, {"b", c.b, c.db, 8}};
    CHECK_EQ_INT(gradcheck("layernorm", ln_fwd, ln_bwd, &c, v, 3, NULL), 0);
    /* Forward property: with w=1, b=0 every row has mean 0 and variance ~1. */
    for (int i = 0; i < 8; i++) c.w[i] = 1, c.b[i] = 0;
    ln_fwd(&c);
    double m = 0, var = 0;
    for (int i = 0; i < 8; i++) m += c.out[i];
    for (int i = 0; i < 8; i++) var += (c.out[i] - m / 8) * (c.out[i] - m / 8);
    CHECK_NEAR(m / 8, 0, 1e-5);
    CHECK_NEAR(var / 8, 1, 1e-3);
}

/* ---- embedding and embedding bag ---- */
static double emb_fwd(void *p)
{
    LayerCtx *c = p;
    embedding_forward(c->out, c->w, c->ids, c->N, c->C);
    return dot_f64(c->out, c->R, c->N * c->C);
}
static void emb_bwd(void *p)
{
    LayerCtx *c = p;
    emb_fwd(c);
    embedding_backward(c->dw, NULL, c->R, c->ids, c->N, c->C);
}

TEST(grad_embedding_with_padding_and_repeats)
{
    seed(6);
    int32_t ids[6] = {2, 0, -1, 2, 4, 1};
    LayerCtx c = {.N = 6, .C = 3, .ids = ids};
    c.w = test_floats(15), c.dw = test_floats(15), c.out = test_floats(18), c.R = test_floats(18);
    fill_normal(c.w, 15, 1, &g_rng), fill_normal(c.R, 18, 1, &g_rng);
    GcVar v[] = {{"table", c.w, c.dw, 15}};
    CHECK_EQ_INT(gradcheck("embedding", emb_fwd, emb_bwd, &c, v, 1, NULL), 0);
    emb_fwd(&c);
    CHECK(c.out[2 * 3] == 0 && c.out[2 * 3 + 1] == 0); /* padding row is zero */
    CHECK(c.dw[3 * 3] == 0);                             /* row 3 never used: no gradient */
}

TEST(embedding_rowset_marks_touched_rows_once)
{
    float table[5 * 2] = {0}, dtable[5 * 2] = {0}, dout[4 * 2] = {1, 1, 1, 1, 1, 1, 1, 1};
    int32_t ids[4] = {3, 1, 3, -1};
    RowSet rs = {xmalloc(5 * sizeof(int32_t)), xcalloc(5, 1), 0, 5};
    (void)table;
    embedding_backward(dtable, &rs, dout, ids, 4, 2);
    CHECK_EQ_INT(rs.n, 2);
    CHECK_NEAR(dtable[3 * 2], 2, 0);
    CHECK_NEAR(dtable[1 * 2 + 1], 1, 0);
    rowset_clear(&rs);
    CHECK_EQ_INT(rs.n, 0);
    CHECK(rs.mark[3] == 0);
    free(rs.rows), free(rs.mark);
}

static int32_t g_bag[5] = {2, -1, 0, 2, 1}; /* indirect rows: repeats and a -1 */
static double bag_fwd(void *p)
{
    LayerCtx *c = p;
    embedding_bag_forward(c->out, c->w, c->ptr, c->ids, c->aux1 ? g_bag : NULL, c->N, c->C);
    return dot_f64(c->out, c->R, c->N * c->C);
}
static void bag_bwd(void *p)
{
    LayerCtx *c = p;
    bag_fwd(c);
    embedding_bag_backward(c->dw, NULL, c->R, c->ptr, c->ids, c->aux1 ? g_bag : NULL, c->N, c->C);
}

TEST(grad_embedding_bag_mean)
{
    seed(7);
    int32_t ptr[5] = {0, 2, 2, 5, 6}, ids[6] = {0, 3, 1, 1, 4, 2}; /* bag 1 is empty */
    LayerCtx c = {.N = 4, .C = 3, .ids = ids, .ptr = ptr};
    c.w = test_floats(15), c.dw = test_floats(15), c.out = test_floats(12), c.R = test_floats(12);
    fill_normal(c.w, 15, 1, &g_rng), fill_normal(c.R, 12, 1, &g_rng);
    GcVar v[] = {{"table", c.w, c.dw, 15}};
    CHECK_EQ_INT(gradcheck("embedding_bag", bag_fwd, bag_bwd, &c, v, 1, NULL), 0);
    bag_fwd(&c);
    CHECK_NEAR(c.out[0], 0.5 * (c.w[0] + c.w[9]), 1e-6);
    CHECK(c.out[3] == 0 && c.out[4] == 0 && c.out[5] == 0);
    /* Indirect bags (bag[n] picks the row of ptr), as used for item feature lists. */
    c.N = 5;
    c.aux1 = test_floats(1); /* flag: use g_bag */
    c.out = test_floats(15), c.R = test_floats(15);
    fill_normal(c.R, 15, 1, &g_rng);
    CHECK_EQ_INT(gradcheck("embedding_bag_indirect", bag_fwd, bag_bwd, &c, v, 1, NULL), 0);
    bag_fwd(&c);
    CHECK_NEAR(c.out[0], (c.w[3] + c.w[3] + c.w[12]) / 3.0, 1e-6); /* bag 2 = ids {1, 1, 4} */
    CHECK(c.out[3] == 0);                                           /* bag -1 */
}

/* The column-split sums (bias and LayerNorm parameter gradients, embedding
 * scatters) fork threads only above 32k elements, beyond the gradient tests'
 * sizes: here they run threaded and must equal plain serial loops bit for bit
 * (each column keeps its row order). Ids repeat heavily, as in a batch. */
TEST(threaded_column_sums_equal_serial_loops)
{
    enum { N = 3000, D = 24, ROWS = 50 };
    seed(31);
    float *x = test_floats(N * D), *got = test_floats(ROWS * D), *want = test_floats(ROWS * D);
    fill_normal(x, N * D, 1, &g_rng);
    int32_t *ids = xmalloc(N * sizeof *ids), *ptr = xmalloc((N + 1) * sizeof *ptr), *bag_ids = xmalloc(2 * N * sizeof *bag_ids);
    ptr[0] = 0;
    for (int n = 0; n < N; n++) {
        ids[n] = n % 7 == 3 ? -1 : (int32_t)rng_below(&g_rng, ROWS);
        int len = n % 3;
        for (int k = 0; k < len; k++) bag_ids[ptr[n] + k] = (int32_t)rng_below(&g_rng, ROWS);
        ptr[n + 1] = ptr[n] + len;
    }
    colsum_add(got, x, N, D); /* row sums: D columns, N rows */
    for (int n = 0; n < N; n++)
        for (int d = 0; d < D; d++) want[d] += x[n * D + d];
    CHECK(memcmp(got, want, D * sizeof *got) == 0);

    memset(got, 0, ROWS * D * sizeof *got), memset(want, 0, ROWS * D * sizeof *want);
    RowSet rs = {xmalloc(ROWS * sizeof(int32_t)), xcalloc(ROWS, 1), 0, ROWS};
    embedding_backward(got, &rs, x, ids, N, D);
    for (int n = 0; n < N; n++)
        for (int d = 0; ids[n] >= 0 && d < D; d++) want[ids[n] * D + d] += x[n * D + d];
    CHECK(memcmp(got, want, ROWS * D * sizeof *got) == 0);
    CHECK_EQ_INT(rs.n, ROWS);
    rowset_clear(&rs);

    memset(got, 0, ROWS * D * sizeof *got), memset(want, 0, ROWS * D * sizeof *want);
    embedding_bag_backward(got, &rs, x, ptr, bag_ids, NULL, N, D);
    for (int n = 0; n < N; n++)
        for (int32_t k = ptr[n]; k < ptr[n + 1]; k++)
            for (int d = 0; d < D; d++) want[bag_ids[k] * D + d] += 1.0f / (float)(ptr[n + 1] - ptr[n]) * x[n * D + d];
    CHECK(memcmp(got, want, ROWS * D * sizeof *got) == 0);
    CHECK_EQ_INT(rs.n, ROWS);
    free(rs.rows), free(rs.mark), free(ids), free(ptr), free(bag_ids);
}

/* ---- dropout ---- */
static float *g_mask;
static double drop_fwd(void *p)
{
    LayerCtx *c = p;
    for (int64_t i = 0; i < c->N; i++) c->out[i] = c->x[i] * g_mask[i]; /* fixed mask: deterministic */
    return dot_f64(c->out, c->R, c->N);
}
static void drop_bwd(void *p)
{
    LayerCtx *c = p;
    drop_fwd(c);
    dropout_backward(c->dx, c->R, g_mask, c->N);
}

TEST(grad_dropout_and_rate)
{
    seed(8);
    int64_t n = 20000;
    float *x = test_floats(n), *out = test_floats(n), *mask = test_floats(n);
    for (int64_t i = 0; i < n; i++) x[i] = 1.0f;
    dropout_forward(out, mask, x, n, 0.25f, &g_rng);
    double kept = 0, mean = 0;
    for (int64_t i = 0; i < n; i++) kept += mask[i] > 0, mean += out[i];
    CHECK_NEAR(kept / n, 0.75, 0.02);   /* keep rate */
    CHECK_NEAR(mean / n, 1.0, 0.03);    /* inverted dropout keeps the expectation */
    LayerCtx c = {.N = 50};
    c.x = test_floats(50), c.out = test_floats(50), c.R = test_floats(50), c.dx = test_floats(50);
    fill_normal(c.x, 50, 1, &g_rng), fill_normal(c.R, 50, 1, &g_rng);
    g_mask = mask;
    GcVar v[] = {{"x", c.x, c.dx, 50}};
    CHECK_EQ_INT(gradcheck("dropout", drop_fwd, drop_bwd, &c, v, 1, NULL), 0);
}

/* ---- l2 normalize ---- */
static double l2_fwd(void *p)
{
    LayerCtx *c = p;
    l2norm_forward(c->out, c->aux1, c->x, c->N, c->C);
    return dot_f64(c->out, c->R, c->N * c->C);
}
static void l2_bwd(void *p)
{
    LayerCtx *c = p;
    l2_fwd(c);
    l2norm_backward(c->dx, c->R, c->out, c->aux1, c->N, c->C);
}

TEST(grad_l2norm)
{
    seed(9);
    LayerCtx c = {.N = 5, .C = 6};
    c.x = test_floats(30), c.out = test_floats(30), c.R = test_floats(30), c.dx = test_floats(30), c.aux1 = test_floats(5);
    fill_normal(c.x, 30, 1, &g_rng), fill_normal(c.R, 30, 1, &g_rng);
    GcVar v[] = {{"x", c.x, c.dx, 30}};
    CHECK_EQ_INT(gradcheck("l2norm", l2_fwd, l2_bwd, &c, v, 1, NULL), 0);
    l2_fwd(&c);
    CHECK_NEAR(dot_f64(c.out, c.out, 6), 1.0, 1e-5);
}

/* ---- softmax cross-entropy ---- */
static int32_t g_targets[6] = {2, -1, 0, 4, 1, 3};
static double xent_fwd(void *p)
{
    LayerCtx *c = p;
    memcpy(c->out, c->x, (size_t)(c->N * c->C) * sizeof(float));
    return softmax_xent_forward(c->out, g_targets, c->N, c->C, NULL);
}
static void xent_bwd(void *p)
{
    LayerCtx *c = p;
    xent_fwd(c);
    softmax_xent_backward(c->dx, c->out, g_targets, c->N, c->C, 1.0f);
}

TEST(grad_softmax_xent_with_ignored_rows)
{
    seed(10);
    LayerCtx c = {.N = 6, .C = 5};
    c.x = test_floats(30), c.out = test_floats(30), c.dx = test_floats(30);
    fill_normal(c.x, 30, 2, &g_rng);
    GcVar v[] = {{"logits", c.x, c.dx, 30}};
    CHECK_EQ_INT(gradcheck("softmax_xent", xent_fwd, xent_bwd, &c, v, 1, NULL), 0);
    /* Reference: uniform logits give log(C) per counted row. */
    float z[10] = {0};
    int32_t t[2] = {1, 3};
    int64_t cnt;
    CHECK_NEAR(softmax_xent_forward(z, t, 2, 5, &cnt), 2 * log(5.0), 1e-6);
    CHECK_EQ_INT(cnt, 2);
}

/* ---- bce and mse ---- */
static float g_labels[8] = {1, 0, 1, 0, 1, 1, 0, 0}, g_weights[8] = {1, 1, 0, 1, 2, 1, 1, 0.5f};
static double bce_fwd_c(void *p)
{
    LayerCtx *c = p;
    return bce_forward(c->x, g_labels, g_weights, c->N);
}
static void bce_bwd_c(void *p)
{
    LayerCtx *c = p;
    bce_backward(c->dx, c->x, g_labels, g_weights, c->N, 1.0f);
}

TEST(grad_bce)
{
    seed(11);
    LayerCtx c = {.N = 8};
    c.x = test_floats(8), c.dx = test_floats(8);
    fill_normal(c.x, 8, 2, &g_rng);
    GcVar v[] = {{"logits", c.x, c.dx, 8}};
    CHECK_EQ_INT(gradcheck("bce", bce_fwd_c, bce_bwd_c, &c, v, 1, NULL), 0);
    float big[2] = {60.0f, -60.0f}, lab[2] = {1, 0};
    CHECK_NEAR(bce_forward(big, lab, NULL, 2), 0.0, 1e-12); /* stable at saturation */
    float zero[1] = {0}, one[1] = {1};
    CHECK_NEAR(bce_forward(zero, one, NULL, 1), log(2.0), 1e-7);
}

static double mse_fwd_c(void *p)
{
    LayerCtx *c = p;
    return mse_forward(c->x, c->R, g_weights, c->N, c->C);
}
static void mse_bwd_c(void *p)
{
    LayerCtx *c = p;
    mse_backward(c->dx, c->x, c->R, g_weights, c->N, c->C, 1.0f);
}

TEST(grad_mse_mimic)
{
    seed(12);
    LayerCtx c = {.N = 8, .C = 3};
    c.x = test_floats(24), c.R = test_floats(24), c.dx = test_floats(24);
    fill_normal(c.x, 24, 1, &g_rng), fill_normal(c.R, 24, 1, &g_rng);
    GcVar v[] = {{"a", c.x, c.dx, 24}};
    CHECK_EQ_INT(gradcheck("mse", mse_fwd_c, mse_bwd_c, &c, v, 1, NULL), 0);
}

/* ---- sampled softmax with log-Q ---- */
typedef struct {
    float *q, *c, *logits, *dq, *dc, *logq, *w;
    int32_t *target;
    int N, M, D;
    float inv_temp;
} SsCtx;

static double ss_fwd(void *p)
{
    SsCtx *s = p;
    return sampled_softmax_forward(s->logits, s->q, s->c, s->target, s->logq, s->w, s->N, s->M, s->D, s->inv_temp, NULL);
}
static void ss_bwd(void *p)
{
    SsCtx *s = p;
    ss_fwd(s);
    sampled_softmax_backward(s->dq, s->dc, s->logits, s->q, s->c, s->target, s->w, s->N, s->M, s->D, s->inv_temp, 1.0f);
}

TEST(grad_sampled_softmax_logq)
{
    seed(13);
    int32_t target[5] = {0, 3, -1, 1, 3};
    SsCtx s = {.N = 5, .M = 6, .D = 4, .inv_temp = 2.5f, .target = target};
    s.q = test_floats(20), s.c = test_floats(24), s.logits = test_floats(30), s.dq = test_floats(20);
    s.dc = test_floats(24), s.logq = test_floats(6);
    fill_normal(s.q, 20, 0.7f, &g_rng), fill_normal(s.c, 24, 0.7f, &g_rng), fill_normal(s.logq, 6, 1, &g_rng);
    GcVar v[] = {{"q", s.q, s.dq, 20}, {"c", s.c, s.dc, 24}};
    CHECK_EQ_INT(gradcheck("sampled_softmax", ss_fwd, ss_bwd, &s, v, 2, NULL), 0);
    /* With per-row weights (the short-history boost of the user InfoNCE). */
    float w[5] = {0.5f, 2.0f, 1.0f, 0.0f, 1.5f};
    s.w = w;
    CHECK_EQ_INT(gradcheck("sampled_softmax_weighted", ss_fwd, ss_bwd, &s, v, 2, NULL), 0);
    s.w = NULL;
    /* Reference value for one row, computed by hand from the definition. */
    int32_t t1[1] = {1};
    float q[2] = {1, 0}, c[4] = {1, 0, 0, 1}, lq[2] = {0.5f, 0}, lg[2];
    double loss = sampled_softmax_forward(lg, q, c, t1, lq, NULL, 1, 2, 2, 1.0f, NULL);
    /* logits: [1 - 0.5, 0 - 0] = [0.5, 0]; loss = -log(e^0 / (e^0.5 + e^0)) */
    CHECK_NEAR(loss, log(exp(0.5) + 1.0), 1e-6);
}

/* The fused forward+backward the trainers use equals the pair above. */
TEST(sampled_softmax_fused_equals_pair)
{
    seed(14);
    int32_t target[5] = {2, 3, -1, 0, 3};
    float w[5] = {0.5f, 2.0f, 1.0f, 0.0f, 1.5f};
    SsCtx s = {.N = 5, .M = 7, .D = 4, .inv_temp = 1.7f, .target = target};
    s.q = test_floats(20), s.c = test_floats(28), s.logits = test_floats(35), s.dq = test_floats(20);
    s.dc = test_floats(28), s.logq = test_floats(7);
    float *dq2 = test_floats(20), *dc2 = test_floats(28), *lg2 = test_floats(sampled_softmax_scratch(5, 7, 4));
    fill_normal(s.q, 20, 0.7f, &g_rng), fill_normal(s.c, 28, 0.7f, &g_rng), fill_normal(s.logq, 7, 1, &g_rng);
    for (int pass = 0; pass < 2; pass++) {
        s.w = pass ? w : NULL;
        memset(s.dq, 0, 20 * sizeof(float)), memset(s.dc, 0, 28 * sizeof(float));
        memset(dq2, 0, 20 * sizeof(float)), memset(dc2, 0, 28 * sizeof(float));
        double l1 = ss_fwd(&s);
        sampled_softmax_backward(s.dq, s.dc, s.logits, s.q, s.c, s.target, s.w, s.N, s.M, s.D, s.inv_temp, 0.3f);
        double l2 = sampled_softmax_forward_backward(dq2, dc2, lg2, s.q, s.c, s.target, s.logq, s.w, s.N, s.M, s.D,
                                                     s.inv_temp, 0.3f);
        CHECK_NEAR(l1, l2, 1e-6);
        for (int k = 0; k < 20; k++) CHECK_NEAR(s.dq[k], dq2[k], 1e-6);
        for (int k = 0; k < 28; k++) CHECK_NEAR(s.dc[k], dc2[k], 1e-6);
    }
}

/* ---- Adam ---- */
TEST(adam_matches_reference_steps)
{
    /* One scalar, gradient 2x + 1 of f = x^2 + x; reference values from
     * torch.optim.Adam(lr=0.1) starting at x = 1.0 (computed by hand with the
     * same formulas: m, v with bias correction). */
    ParamStore ps = {0};
    int i = param_add(&ps, "x", 1, 1, INIT_ONE, 0);
    Rng r;
    rng_seed(&r, 1, 2);
    param_alloc(&ps, &r);
    AdamConfig cfg = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    double x = 1.0, m = 0, v = 0;
    for (int step = 1; step <= 5; step++) {
        float *w = param_data(&ps, i);
        param_zero_grad(&ps);
        param_grad(&ps, i)[0] = 2 * w[0] + 1;
        adam_step(&ps, &cfg);
        double g = 2 * x + 1;
        m = 0.9 * m + 0.1 * g;
        v = 0.999 * v + 0.001 * g * g;
        x -= 0.1 * (m / (1 - pow(0.9, step))) / (sqrt(v / (1 - pow(0.999, step))) + 1e-8);
        CHECK_NEAR(w[0], x, 1e-5);
    }
    param_free(&ps);
}

/* A 4 x 2 sparse embedding table of ones. */
static int ones_embedding(ParamStore *ps)
{
    int e = param_add(ps, "emb", 4, 2, INIT_ONE, 0);
    param_set_sparse(ps, e);
    Rng r;
    rng_seed(&r, 1, 2);
    param_alloc(ps, &r);
    return e;
}

TEST(adam_lazy_sparse_rows_and_clipping)
{
    ParamStore ps = {0};
    int e = ones_embedding(&ps);
    AdamConfig cfg = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .clip_norm = 1.0f, .lazy = 1};
    float dout[2] = {3, 4};
    int32_t id = 2;
    embedding_backward(param_grad(&ps, e), param_rows(&ps, e), dout, &id, 1, 2);
    double norm = adam_step(&ps, &cfg);
    CHECK_NEAR(norm, 5.0, 1e-6);
    float *w = param_data(&ps, e);
    CHECK_NEAR(w[0], 1.0, 0);                  /* untouched row: no update at all */
    CHECK_NEAR(w[2 * 2], 1.0 - 0.1, 1e-5);     /* first Adam step moves by lr*sign(g) */
    CHECK_NEAR(ps.grad[2 * 2], 3.0 / 5.0, 1e-6); /* clipped to norm 1 */
    param_zero_grad(&ps);
    CHECK(ps.grad[2 * 2] == 0 && param_rows(&ps, e)->n == 0);
    param_free(&ps);
}

/* Row 2 gets a gradient at step 1 only, row 1 at step 2 only, row 0 never.
 * Lazy: row 2 stays where step 1 left it. Dense (torch.optim.Adam): row 2
 * moves again at step 2 on its momentum (m = 0.9 m1, v = 0.999 v1), row 0
 * (m = v = 0) does not move. */
static void adam_two_steps(int lazy, float out[8])
{
    ParamStore ps = {0};
    int e = ones_embedding(&ps);
    AdamConfig cfg = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .lazy = lazy};
    float dout[2] = {3, -4};
    for (int32_t id = 2; id >= 1; id--) {
        param_zero_grad(&ps);
        embedding_backward(param_grad(&ps, e), param_rows(&ps, e), dout, &id, 1, 2);
        adam_step(&ps, &cfg);
    }
    memcpy(out, param_data(&ps, e), 8 * sizeof(float));
    param_free(&ps);
}

TEST(adam_dense_moves_untouched_rows_on_momentum)
{
    float lazy[8], dense[8];
    adam_two_steps(1, lazy);
    adam_two_steps(0, dense);
    const float g[2] = {3, -4};
    for (int c = 0; c < 2; c++) {
        double m1 = 0.1 * g[c], v1 = 0.001 * g[c] * g[c];
        double step1 = 0.1 * (m1 / 0.1) / (sqrt(v1 / 0.001) + 1e-8); /* = lr * sign(g) */
        double m2 = 0.9 * m1, v2 = 0.999 * v1, bc1 = 1 - 0.81, bc2 = 1 - 0.999 * 0.999;
        double step2 = 0.1 * (m2 / bc1) / (sqrt(v2 / bc2) + 1e-8);
        CHECK_NEAR(lazy[2 * 2 + c], 1.0 - step1, 1e-6);
        CHECK_NEAR(dense[2 * 2 + c], 1.0 - step1 - step2, 1e-6);
        double row1 = 0.1 * (0.1 * g[c] / bc1) / (sqrt(0.001 * g[c] * g[c] / bc2) + 1e-8);
        CHECK_NEAR(lazy[1 * 2 + c], 1.0 - row1, 1e-6); /* row 1's first update, the same in both */
        CHECK_NEAR(dense[1 * 2 + c], 1.0 - row1, 1e-6);
        CHECK(lazy[c] == 1.0f && dense[c] == 1.0f);
    }
    CHECK(fabs(dense[2 * 2] - lazy[2 * 2]) > 0.05); /* the momentum step is not small */
}

TEST(params_write_read_roundtrip)
{
    ParamStore a = {0}, b = {0};
    param_add(&a, "w", 3, 4, INIT_NORMAL, 1.0f);
    param_add(&a, "b", 1, 4, INIT_ZERO, 0);
    param_add(&b, "w", 3, 4, INIT_ZERO, 0);
    param_add(&b, "b", 1, 4, INIT_ONE, 0);
    Rng r;
    rng_seed(&r, 5, 2);
    param_alloc(&a, &r);
    param_alloc(&b, &r);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK_EQ_INT(param_write(&a, f, 0), 0);
    fclose(f);
    f = fmemopen(buf, len, "rb");
    Err err;
    CHECK_EQ_INT(param_read(&b, f, 0, "mem", &err), 0);
    fclose(f);
    CHECK(memcmp(a.data, b.data, a.size * sizeof(float)) == 0);
    /* A model with a different shape is refused with a message naming the tensor. */
    ParamStore c = {0};
    param_add(&c, "w", 3, 5, INIT_ZERO, 0);
    param_add(&c, "b", 1, 4, INIT_ZERO, 0);
    param_alloc(&c, &r);
    f = fmemopen(buf, len, "rb");
    CHECK_EQ_INT(param_read(&c, f, 0, "mem", &err), -1);
    CHECK(strstr(err.msg, "tensor 0 is w") != NULL);
    fclose(f);
    free(buf);
    param_free(&a), param_free(&b), param_free(&c);
}

/* The checker itself must fail on a wrong gradient, or every test above is void. */
static double wrong_fwd(void *p) { return linear_fwd(p); }
static void wrong_bwd(void *p)
{
    LayerCtx *c = p;
    linear_bwd(c);
    c->dw[3] *= 1.1f; /* a 10% error in one element */
}

TEST(gradcheck_detects_a_wrong_gradient)
{
    seed(14);
    LayerCtx c = {.N = 4, .C = 3, .OC = 2};
    c.x = test_floats(12), c.w = test_floats(6), c.b = test_floats(2), c.out = test_floats(8), c.R = test_floats(8);
    c.dx = test_floats(12), c.dw = test_floats(6), c.db = test_floats(2);
    fill_normal(c.x, 12, 1, &g_rng), fill_normal(c.w, 6, 1, &g_rng), fill_normal(c.R, 8, 1, &g_rng);
    GcVar v[] = {{"w", c.w, c.dw, 6}};
    fprintf(stderr, "    (a gradcheck failure report is expected here)\n");
    CHECK_EQ_INT(gradcheck("wrong_linear", wrong_fwd, wrong_bwd, &c, v, 1, NULL), 1);
}

/* ---- InfoNCE ---- */
typedef struct {
    float *z1, *z2, *d1, *d2, *logits, *w, *scratch1, *scratch2;
    int32_t diag[6];
} NceCtx;

static double nce_fwd(void *p)
{
    NceCtx *c = p;
    return infonce_forward_backward(c->scratch1, c->scratch2, c->logits, c->z1, c->z2, c->diag, c->w, 6, 4, 5.0f, 1.0f);
}
static void nce_bwd(void *p)
{
    NceCtx *c = p;
    infonce_forward_backward(c->d1, c->d2, c->logits, c->z1, c->z2, c->diag, c->w, 6, 4, 5.0f, 1.0f);
}

TEST(grad_infonce_symmetric_weighted)
{
    seed(15);
    NceCtx c;
    for (int i = 0; i < 6; i++) c.diag[i] = i;
    c.z1 = test_floats(24), c.z2 = test_floats(24), c.d1 = test_floats(24), c.d2 = test_floats(24);
    c.logits = test_floats(sampled_softmax_scratch(6, 6, 4)), c.scratch1 = test_floats(24), c.scratch2 = test_floats(24);
    float w[6] = {1, 2, 0.5f, 1, 1, 3};
    c.w = w;
    fill_normal(c.z1, 24, 0.5f, &g_rng), fill_normal(c.z2, 24, 0.5f, &g_rng);
    GcVar v[] = {{"z1", c.z1, c.d1, 24}, {"z2", c.z2, c.d2, 24}};
    CHECK_EQ_INT(gradcheck("infonce", nce_fwd, nce_bwd, &c, v, 2, NULL), 0);
    /* Identical, well separated views give a loss near zero; swapped rows a large one. */
    float e[4 * 4] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, *lg = test_floats(sampled_softmax_scratch(4, 4, 4)),
          d[16] = {0};
    int32_t dg[4] = {0, 1, 2, 3};
    CHECK(infonce_forward_backward(d, d, lg, e, e, dg, NULL, 4, 4, 20.0f, 1.0f) < 1e-6);
}

/* ---- causal cumulative mean ---- */
static int32_t g_cm_ptr[4] = {0, 3, 4, 8};
static double cm_fwd(void *p)
{
    LayerCtx *c = p;
    cummean_forward(c->out, c->x, g_cm_ptr, 3, c->C);
    return dot_f64(c->out, c->R, 8 * c->C);
}
static void cm_bwd(void *p)
{
    LayerCtx *c = p;
    cm_fwd(c);
    cummean_backward(c->dx, c->R, g_cm_ptr, 3, c->C);
}

TEST(grad_cummean_packed)
{
    seed(16);
    LayerCtx c = {.N = 8, .C = 3};
    c.x = test_floats(24), c.out = test_floats(24), c.R = test_floats(24), c.dx = test_floats(24);
    fill_normal(c.x, 24, 1, &g_rng), fill_normal(c.R, 24, 1, &g_rng);
    GcVar v[] = {{"x", c.x, c.dx, 24}};
    CHECK_EQ_INT(gradcheck("cummean", cm_fwd, cm_bwd, &c, v, 1, NULL), 0);
    cm_fwd(&c);
    CHECK_NEAR(c.out[2 * 3], (c.x[0] + c.x[3] + c.x[6]) / 3, 1e-6);  /* third token of sequence 0 */
    CHECK_NEAR(c.out[4 * 3 + 1], c.x[4 * 3 + 1], 1e-6);               /* first token of sequence 2: itself */
    CHECK_NEAR(c.out[3 * 3], c.x[3 * 3], 1e-6);                       /* sequence 1 (one token) */
}
