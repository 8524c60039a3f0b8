/* Multi-interest baselines (mind, comirec-dr, comirec-sa): finite-difference
 * checks of every new layer (squash, routing in both gradient modes, the
 * position-wise bilinear maps, self-attentive pooling, label-aware attention,
 * the argmax read-out), whole-model gradient checks, training progress, and
 * multi-interest evaluation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/evaluate.h"
#include "gradcheck.h"
#include "model/multi_interest.h"
#include "model_checks.h"
#include "model_fixture.h"
#include "nn/routing.h"
#include "nn/selfatt.h"
#include "test.h"

static Rng g_rng;
static void seed(uint64_t s) { rng_seed(&g_rng, s, 4); }

/* Rows of lengths 3, 1, 0 (an empty history) and 5: packed, no padding. */
static const int32_t g_ptr[] = {0, 3, 4, 4, 9};
enum { NB = 4, NT = 9, LMAX = 5 };

/* ---- squash ---- */
typedef struct {
    float *x, *out, *R, *dx;
    int N, D;
} SquashCtx;

static double squash_fwd(void *p)
{
    SquashCtx *c = p;
    squash_forward(c->out, c->x, c->N, c->D);
    return dot_f64(c->out, c->R, (int64_t)c->N * c->D);
}
static void squash_bwd(void *p)
{
    SquashCtx *c = p;
    squash_fwd(c);
    squash_backward(c->dx, c->R, c->x, c->N, c->D);
}

TEST(grad_squash)
{
    seed(1);
    SquashCtx c = {.N = 6, .D = 5};
    int n = c.N * c.D;
    c.x = test_floats(n), c.out = test_floats(n), c.R = test_floats(n), c.dx = test_floats(n);
    fill_normal(c.x, n, 1.0f, &g_rng), fill_normal(c.R, n, 1.0f, &g_rng);
    for (int d = 0; d < c.D; d++) c.x[d] *= 0.05f, c.x[c.D + d] *= 4.0f; /* near zero; large */
    GcVar v[] = {{"x", c.x, c.dx, n}};
    CHECK_EQ_INT(gradcheck("squash", squash_fwd, squash_bwd, &c, v, 1, NULL), 0);
}

TEST(squash_reference_values)
{
    /* |x| = 5: |u| = 25/26, direction kept; zero stays zero. */
    float x[4] = {3, 4, 0, 0}, u[4];
    squash_forward(u, x, 2, 2);
    CHECK_NEAR(u[0], 3.0 / 5 * 25 / 26, 1e-6);
    CHECK_NEAR(u[1], 4.0 / 5 * 25 / 26, 1e-6);
    CHECK_NEAR(u[2], 0, 0);
    CHECK_NEAR(u[3], 0, 0);
}

/* ---- routing ---- */
typedef struct {
    RoutingActs ra;
    Arena ar;
    float *uhat, *duhat, *out, *R, *b0;
    int32_t nk[NB];
    int64_t sk;
    int K, D, stop_grad, frozen;
} RouteCtx;

static double route_fwd(void *p)
{
    RouteCtx *c = p;
    routing_forward(&c->ra, c->out, c->uhat, c->sk, g_ptr, NB, c->nk, c->b0, c->frozen);
    return dot_f64(c->out, c->R, (int64_t)NB * c->K * c->D);
}
static void route_bwd(void *p)
{
    RouteCtx *c = p;
    route_fwd(c);
    routing_backward(&c->ra, c->duhat, c->R, c->uhat, c->sk, g_ptr, NB, c->nk, c->stop_grad);
}

/* shared: one map for all interests (MIND); else per-interest (ComiRec-DR). */
static int check_routing(int shared, int with_b0, int stop_grad, int iters)
{
    RouteCtx c = {.K = 3, .D = 4, .stop_grad = stop_grad};
    memset(&c.ar, 0, sizeof c.ar);
    c.sk = shared ? 0 : c.D;
    int64_t nu = (int64_t)NT * (shared ? 1 : c.K) * c.D, no = (int64_t)NB * c.K * c.D;
    routing_plan(&c.ra, &c.ar, NT, NB, c.K, c.D, iters);
    c.uhat = test_floats(nu), c.duhat = test_floats(nu), c.out = test_floats(no), c.R = test_floats(no);
    c.b0 = with_b0 ? test_floats(LMAX * c.K) : NULL;
    fill_normal(c.uhat, nu, 0.7f, &g_rng), fill_normal(c.R, no, 1.0f, &g_rng);
    if (c.b0) fill_normal(c.b0, LMAX * c.K, 1.0f, &g_rng);
    int32_t nk[NB] = {2, 3, 1, 3}; /* fewer interests in use than slots in row 0 */
    memcpy(c.nk, nk, sizeof nk);
    if (stop_grad) { /* route once, then finite differences with the weights frozen */
        route_fwd(&c);
        c.frozen = 1;
    }
    GcVar v[] = {{"uhat", c.uhat, c.duhat, nu}};
    int bad = gradcheck("routing", route_fwd, route_bwd, &c, v, 1, NULL);
    arena_free(&c.ar);
    return bad;
}

TEST(grad_routing_shared_map_full) { seed(2); CHECK_EQ_INT(check_routing(1, 1, 0, 3), 0); }
TEST(grad_routing_per_interest_full) { seed(3); CHECK_EQ_INT(check_routing(0, 0, 0, 3), 0); }
TEST(grad_routing_one_iteration) { seed(4); CHECK_EQ_INT(check_routing(1, 1, 0, 1), 0); }
TEST(grad_routing_stop_gradient) { seed(5); CHECK_EQ_INT(check_routing(0, 0, 1, 3), 0); }
TEST(grad_routing_stop_gradient_shared) { seed(6); CHECK_EQ_INT(check_routing(1, 1, 1, 2), 0); }

/* One behaviour, one interest: routing is squash(uhat); unused slots and
 * empty rows are zero; with b0 = 0 every iteration's coupling sums to 1. */
TEST(routing_reference_values)
{
    RoutingActs ra;
    Arena ar = {0};
    int32_t ptr[] = {0, 1, 1, 3};
    int32_t nk[] = {1, 2, 2};
    routing_plan(&ra, &ar, 3, 3, 2, 2, 3);
    float uhat[] = {3, 4, 1, 0, 0, 1}, out[12], sq[2];
    routing_forward(&ra, out, uhat, 0, ptr, 3, nk, NULL, 0);
    squash_forward(sq, uhat, 1, 2);
    CHECK_NEAR(out[0], sq[0], 1e-6);
    CHECK_NEAR(out[1], sq[1], 1e-6);
    CHECK_NEAR(out[2], 0, 0);   /* row 0, slot 1 unused */
    CHECK_NEAR(out[4] + out[5] + out[6] + out[7], 0, 0); /* empty row */
    for (int t = 1; t < 3; t++)
        for (int r = 0; r < 3; r++) CHECK_NEAR(ra.w[(t * 3 + r) * 2] + ra.w[(t * 3 + r) * 2 + 1], 1, 1e-6);
    arena_free(&ar);
}

/* ---- position-wise bilinear maps ---- */
typedef struct {
    float *x, *w, *uhat, *R, *dx, *dw;
    int KD, D;
} PosmapCtx;

static double posmap_fwd(void *p)
{
    PosmapCtx *c = p;
    posmap_forward(c->uhat, c->x, c->w, g_ptr, NB, c->KD, c->D);
    return dot_f64(c->uhat, c->R, (int64_t)NT * c->KD);
}
static void posmap_bwd(void *p)
{
    PosmapCtx *c = p;
    posmap_fwd(c);
    posmap_backward(c->dx, c->dw, c->R, c->x, c->w, g_ptr, NB, c->KD, c->D);
}

TEST(grad_posmap)
{
    seed(7);
    PosmapCtx c = {.KD = 6, .D = 3};
    int64_t nx = NT * c.D, nw = (int64_t)LMAX * c.KD * c.D, nu = (int64_t)NT * c.KD;
    c.x = test_floats(nx), c.dx = test_floats(nx), c.w = test_floats(nw), c.dw = test_floats(nw);
    c.uhat = test_floats(nu), c.R = test_floats(nu);
    fill_normal(c.x, nx, 1, &g_rng), fill_normal(c.w, nw, 1, &g_rng), fill_normal(c.R, nu, 1, &g_rng);
    GcVar v[] = {{"x", c.x, c.dx, nx}, {"w", c.w, c.dw, nw}};
    CHECK_EQ_INT(gradcheck("posmap", posmap_fwd, posmap_bwd, &c, v, 2, NULL), 0);
}

/* ---- label-aware attention and the argmax read-out ---- */
typedef struct {
    float *c, *y, *q, *a, *R, *dc, *dy;
    int32_t *nk;
    int B, K, D, hard;
    int32_t sel[8];
    float p;
} ReadCtx;

static double read_fwd(void *p)
{
    ReadCtx *c = p;
    if (c->hard) interest_select_forward(c->q, c->sel, c->c, c->y, c->nk, c->B, c->K, c->D);
    else label_attention_forward(c->q, c->a, c->c, c->y, c->nk, c->B, c->K, c->D, c->p);
    return dot_f64(c->q, c->R, (int64_t)c->B * c->D);
}
static void read_bwd(void *p)
{
    ReadCtx *c = p;
    read_fwd(c);
    if (c->hard) interest_select_backward(c->dc, c->R, c->sel, c->B, c->K, c->D);
    else label_attention_backward(c->dc, c->dy, c->R, c->a, c->c, c->y, c->nk, c->B, c->K, c->D, c->p);
}

static int check_readout(int hard, float p, int with_nk)
{
    static int32_t nk[] = {1, 3, 2, 4, 4};
    ReadCtx c = {.B = 5, .K = 4, .D = 3, .hard = hard, .p = p, .nk = with_nk ? nk : NULL};
    int64_t nc = (int64_t)c.B * c.K * c.D, ny = (int64_t)c.B * c.D;
    c.c = test_floats(nc), c.dc = test_floats(nc), c.y = test_floats(ny), c.dy = test_floats(ny);
    c.q = test_floats(ny), c.R = test_floats(ny), c.a = test_floats(c.B * c.K);
    fill_normal(c.c, nc, 1, &g_rng), fill_normal(c.y, ny, 1, &g_rng), fill_normal(c.R, ny, 1, &g_rng);
    GcVar v[] = {{"c", c.c, c.dc, nc}, {"y", c.y, c.dy, ny}};
    return gradcheck(hard ? "interest_select" : "label_attention", read_fwd, read_bwd, &c, v, hard ? 1 : 2, NULL);
}

TEST(grad_label_attention_power2_dynamic_k) { seed(8); CHECK_EQ_INT(check_readout(0, 2.0f, 1), 0); }
TEST(grad_label_attention_power1) { seed(9); CHECK_EQ_INT(check_readout(0, 1.0f, 0), 0); }
TEST(grad_label_attention_power_fractional) { seed(10); CHECK_EQ_INT(check_readout(0, 1.5f, 1), 0); }
TEST(grad_interest_select) { seed(11); CHECK_EQ_INT(check_readout(1, 0, 1), 0); }

TEST(label_attention_reference_values)
{
    /* p = 0: the mean of the interests in use; a large p: the best match. */
    float c[6] = {1, 0, 0, 1, 5, 5}, y[2] = {2, 0}, q[2], a[3];
    int32_t nk[] = {2};
    label_attention_forward(q, a, c, y, nk, 1, 3, 2, 0);
    CHECK_NEAR(q[0], 0.5, 1e-6);
    CHECK_NEAR(q[1], 0.5, 1e-6);
    CHECK_NEAR(a[2], 0, 0);
    label_attention_forward(q, a, c, y, nk, 1, 3, 2, 30);
    CHECK_NEAR(q[0], 1, 1e-6);
    CHECK_NEAR(q[1], 0, 1e-6);
    int32_t sel;
    interest_select_forward(q, &sel, c, y, NULL, 1, 3, 2); /* all three in use: (5, 5) wins */
    CHECK_EQ_INT(sel, 2);
}

/* ---- self-attentive pooling ---- */
typedef struct {
    SelfAttPool sa;
    SelfAttActs acts;
    ParamStore ps;
    Arena ar;
    float *x, *dx, *out, *R;
    const int32_t *ptr;
    int B;
} SaCtx;

static double sa_fwd(void *p)
{
    SaCtx *c = p;
    selfatt_forward(&c->sa, &c->ps, &c->acts, c->out, c->x, c->ptr, c->B);
    return dot_f64(c->out, c->R, (int64_t)c->B * c->sa.K * c->sa.D);
}
static void sa_bwd(void *p)
{
    SaCtx *c = p;
    sa_fwd(c);
    selfatt_backward(&c->sa, &c->ps, &c->acts, c->dx, c->R, c->x, c->ptr, c->B);
}

static void sa_setup(SaCtx *c, int with_pos)
{
    memset(c, 0, sizeof *c);
    c->ptr = g_ptr, c->B = NB;
    selfatt_declare(&c->sa, &c->ps, "sa", 4, 6, 3, with_pos ? LMAX : 0, 0.5f);
    param_alloc(&c->ps, &g_rng);
    selfatt_plan(&c->sa, &c->acts, &c->ar, NT);
    int64_t nx = NT * 4, no = (int64_t)NB * 3 * 4;
    c->x = test_floats(nx), c->dx = test_floats(nx), c->out = test_floats(no), c->R = test_floats(no);
    fill_normal(c->x, nx, 1, &g_rng), fill_normal(c->R, no, 1, &g_rng);
    fill_normal(param_data(&c->ps, c->sa.b1), 6, 0.3f, &g_rng);
}

static int check_selfatt(int with_pos)
{
    SaCtx c;
    sa_setup(&c, with_pos);
    GcVar v[8] = {{"x", c.x, c.dx, NT * 4}};
    int nv = 1;
    for (int t = 0; t < c.ps.n; t++, nv++)
        v[nv] = (GcVar){c.ps.t[t].name, param_data(&c.ps, t), param_grad(&c.ps, t), c.ps.t[t].rows * c.ps.t[t].cols};
    int bad = gradcheck("selfatt", sa_fwd, sa_bwd, &c, v, nv, NULL);
    param_free(&c.ps);
    arena_free(&c.ar);
    return bad;
}

TEST(grad_selfatt_pool_with_positions) { seed(12); CHECK_EQ_INT(check_selfatt(1), 0); }
TEST(grad_selfatt_pool_without_positions) { seed(13); CHECK_EQ_INT(check_selfatt(0), 0); }

/* Padding-free: a row's interests do not depend on the other rows of the
 * batch; each interest is a convex combination of the row's item vectors. */
TEST(selfatt_rows_are_independent)
{
    seed(14);
    SaCtx c;
    sa_setup(&c, 1);
    sa_fwd(&c);
    int32_t one[] = {0, 5};
    float *alone = test_floats(3 * 4);
    selfatt_forward(&c.sa, &c.ps, &c.acts, alone, c.x + 4 * 4, one, 1); /* row 3 by itself */
    for (int k = 0; k < 12; k++) CHECK_NEAR(alone[k], c.out[3 * 12 + k], 1e-6);
    for (int k = 0; k < 12; k++) CHECK_NEAR(c.out[2 * 12 + k], 0, 0); /* the empty row */
    for (int k = 0; k < 12; k++) CHECK_NEAR(c.out[1 * 12 + k], c.x[3 * 4 + k % 4], 1e-6); /* one item: itself */
    param_free(&c.ps);
    arena_free(&c.ar);
}

/* ---- whole models ---- */

static int longest_first(const void *a, const void *b)
{
    const Example *x = a, *y = b;
    return x->pos != y->pos ? (x->pos < y->pos) - (x->pos > y->pos) : (x->user > y->user) - (x->user < y->user);
}

/* Finite-difference check of every tensor on a fresh fixture, on the
 * examples with the longest histories (several interests in use, many
 * behaviours to route). comirec-dr's coupling weights are a stop-gradient:
 * frozen so the objective is the one the analytic gradient descends. */
static void check_model_grad(const char *model, const char *extra, uint64_t seed_)
{
    ModelFixture f;
    fixture_data(&f, 10, 9, 30, seed_);
    if (fixture_model(&f, model, extra) < 0) {
        test_fail(__FILE__, __LINE__, "cannot build %s %s", model, extra);
        return;
    }
    qsort(f.ex, (size_t)f.n_ex, sizeof *f.ex, longest_first);
    mi_freeze_routing(f.m);
    int bad = fixture_gradcheck(&f, 8, 30);
    if (bad) test_fail(__FILE__, __LINE__, "%s %s: %d mismatching gradient elements", model, extra, bad);
    fixture_free(&f);
}

TEST(grad_model_mind_sampled_logq_negatives) { check_model_grad("mind", "negatives=5 logq=true max-len=10 init-std=1", 21); }
TEST(grad_model_mind_cosine_full_power1) { check_model_grad("mind", "loss=full cosine=true temperature=0.5 label-power=1 features=false routing-iters=2 max-len=10", 22); }
TEST(grad_model_comirec_dr_sampled) { check_model_grad("comirec-dr", "negatives=5", 23); }
TEST(grad_model_comirec_dr_cosine_full) { check_model_grad("comirec-dr", "loss=full cosine=true temperature=0.5 interests=3", 24); }
TEST(grad_model_comirec_sa_sampled) { check_model_grad("comirec-sa", "negatives=5", 25); }
TEST(grad_model_comirec_sa_cosine_full) { check_model_grad("comirec-sa", "loss=full cosine=true temperature=0.5 features=false hidden=10", 26); }

TEST(train_mind_overfits_a_batch) { fixture_check_overfits("mind", NULL); }
TEST(train_comirec_dr_overfits_a_batch) { fixture_check_overfits("comirec-dr", NULL); }
TEST(train_comirec_sa_overfits_a_batch) { fixture_check_overfits("comirec-sa", NULL); }

/* user_vectors writes (n, K, D) with every slot filled: MIND users with
 * fewer interests in use repeat their first interest. */
TEST(mind_user_vectors_fill_unused_slots)
{
    ModelFixture f;
    fixture_data(&f, 10, 7, 30, 27);
    REQUIRE(fixture_model(&f, "mind", "interests=3") == 0);
    CHECK_EQ_INT(f.m->n_interests, 3);
    int32_t items[] = {1, 2, 3, 4, 5};
    Hist h[] = {{items, 1, -1}, {items, 3, -1}, {items, 5, -1}}; /* K_u = 1, 1, 2 */
    int D = f.m->dim;
    float *u = xmalloc((size_t)3 * 3 * D * sizeof *u);
    f.m->cls->user_vectors(f.m, h, 3, u);
    for (int d = 0; d < D; d++) {
        for (int r = 0; r < 2; r++)
            for (int k = 1; k < 3; k++) CHECK_NEAR(u[(r * 3 + k) * D + d], u[r * 3 * D + d], 0);
        CHECK_NEAR(u[(6 + 2) * D + d], u[6 * D + d], 0);
    }
    int differ = 0; /* the two interests of the third user are distinct */
    for (int d = 0; d < D; d++) differ |= u[7 * D + d] != u[6 * D + d];
    CHECK(differ);
    free(u);
    fixture_free(&f);
}

/* evaluate() with n_interests > 1: per-interest top-N merged; every user is
 * counted and the metrics are sane after a little training. */
static void check_evaluates(const char *model)
{
    ModelFixture f;
    fixture_data(&f, 40, 8, 25, 28);
    REQUIRE(fixture_model(&f, model, "interests=3") == 0);
    REQUIRE(f.m->n_interests == 3);
    AdamConfig ac = {0.01f, 0.9f, 0.999f, 1e-8f, 0, 0, 5.0f, 1};
    for (int s = 0; s < 40; s++) {
        param_zero_grad(&f.m->params);
        fixture_step(&f, 16);
        adam_step(&f.m->params, &ac);
    }
    IntList ks = {{5, 20}, 2};
    EvalOptions eo = {ks, 1, 1, "test"};
    Metrics m;
    int32_t *ranked = xmalloc((size_t)f.split.test.n * 20 * sizeof *ranked);
    evaluate(f.m, &f.ds, &f.split.test, &eo, &m, ranked, NULL);
    CHECK_EQ_INT(m.users, f.split.test.n);
    CHECK(m.hr[1] > 0 && m.hr[1] <= 1);
    CHECK(m.hr[0] <= m.hr[1] && m.ndcg[1] > 0 && m.ndcg[1] <= 1);
    for (int32_t e = 0; e < f.split.test.n; e++) /* merged lists hold no repeated item */
        for (int j = 0; j < 20; j++)
            for (int i = 0; i < j; i++)
                if (ranked[e * 20 + j] >= 0 && ranked[e * 20 + i] == ranked[e * 20 + j])
                    test_fail(__FILE__, __LINE__, "%s: user %d ranks item %d twice", model, e, ranked[e * 20 + j]);
    free(ranked);
    fixture_free(&f);
}

TEST(multi_interest_evaluate_mind) { check_evaluates("mind"); }
TEST(multi_interest_evaluate_comirec_dr) { check_evaluates("comirec-dr"); }
TEST(multi_interest_evaluate_comirec_sa) { check_evaluates("comirec-sa"); }
