/* Gradient checks for causal multi-head attention over packed sequences and
 * the Transformer block, plus forward properties (causality, no leakage
 * across packed sequences). */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "gradcheck.h"
#include "nn/attention.h"
#include "nn/transformer.h"
#include "test.h"

enum { S = 3, C = 8, NH = 2, NTOK = 9 };
static const int32_t SEQ_PTR[S + 1] = {0, 4, 5, 9}; /* lengths 4, 1, 4 */
/* A query selection: every row of sequence 0, the last of 1, rows 2-3 of 2. */
enum { NOUT = 7 };
static const int32_t Q_FIRST[S] = {0, 0, 2}, OUT_PTR[S + 1] = {0, 4, 5, 7}, ROWS[NOUT] = {0, 1, 2, 3, 4, 7, 8};
static const QuerySel SEL = {Q_FIRST, OUT_PTR, ROWS};

typedef struct {
    float *qkv, *dqkv, *out, *R, *att, *datt, *drop;
    int64_t att_off[S + 1];
    float p;
    const QuerySel *qs;
    AttnScratch sc;
} AttCtx;

static int64_t out_rows(const QuerySel *qs) { return qs ? qs->out_ptr[S] : NTOK; }

static double att_fwd(void *p)
{
    AttCtx *c = p;
    Rng r;
    rng_seed(&r, 9, 1); /* same dropout mask every call */
    attention_forward(c->out, c->att, c->p > 0 ? c->drop : NULL, c->qkv, SEQ_PTR, c->att_off, c->qs, S, C, NH, c->p,
                      &r, &c->sc);
    return dot_f64(c->out, c->R, out_rows(c->qs) * C);
}
static void att_bwd(void *p)
{
    AttCtx *c = p;
    att_fwd(c);
    attention_backward(c->dqkv, c->datt, c->R, c->att, c->p > 0 ? c->drop : NULL, c->qkv, SEQ_PTR, c->att_off, c->qs,
                       S, C, NH, &c->sc);
}

static AttCtx make_att(float p)
{
    Rng r;
    rng_seed(&r, 3, 1);
    AttCtx c = {.p = p};
    int64_t n = attention_plan(c.att_off, SEQ_PTR, S, NH);
    c.qkv = test_floats(NTOK * 3 * C), c.dqkv = test_floats(NTOK * 3 * C), c.out = test_floats(NTOK * C);
    c.R = test_floats(NTOK * C), c.att = test_floats(n), c.datt = test_floats(n), c.drop = test_floats(n);
    fill_normal(c.qkv, NTOK * 3 * C, 1, &r), fill_normal(c.R, NTOK * C, 1, &r);
    int threads = omp_get_max_threads(), max_len = 4; /* the longest test sequence */
    c.sc = (AttnScratch){test_floats(attention_scratch_floats(C, NH, max_len, threads)), threads, max_len};
    return c;
}

TEST(grad_attention_packed_causal)
{
    AttCtx c = make_att(0);
    GcVar v[] = {{"qkv", c.qkv, c.dqkv, NTOK * 3 * C}};
    CHECK_EQ_INT(gradcheck("attention", att_fwd, att_bwd, &c, v, 1, NULL), 0);
}

TEST(grad_attention_with_dropout)
{
    AttCtx c = make_att(0.3f);
    GcVar v[] = {{"qkv", c.qkv, c.dqkv, NTOK * 3 * C}};
    CHECK_EQ_INT(gradcheck("attention_dropout", att_fwd, att_bwd, &c, v, 1, NULL), 0);
}

TEST(grad_attention_query_selection)
{
    AttCtx c = make_att(0.3f);
    c.qs = &SEL;
    GcVar v[] = {{"qkv", c.qkv, c.dqkv, NTOK * 3 * C}};
    CHECK_EQ_INT(gradcheck("attention_selection", att_fwd, att_bwd, &c, v, 1, NULL), 0);
}

TEST(attention_is_causal_and_sequences_are_isolated)
{
    AttCtx c = make_att(0);
    att_fwd(&c);
    float before[NTOK * C];
    memcpy(before, c.out, sizeof before);
    /* Changing token 3 (last of sequence 0) and token 5 (first of sequence 2)
     * may only change outputs at or after them in their own sequence. */
    for (int k = 0; k < 3 * C; k++) c.qkv[3 * 3 * C + k] += 1.0f;
    att_fwd(&c);
    for (int t = 0; t < 3; t++)
        for (int k = 0; k < C; k++) CHECK(c.out[t * C + k] == before[t * C + k]);
    for (int t = 4; t < NTOK; t++)
        for (int k = 0; k < C; k++) CHECK(c.out[t * C + k] == before[t * C + k]);
    /* A length-1 sequence attends only to itself: its output is its own v. */
    for (int k = 0; k < C; k++) CHECK_NEAR(c.out[4 * C + k], c.qkv[4 * 3 * C + 2 * C + k], 1e-6);
    /* Rows of the attention weights sum to one. */
    double sum = 0;
    for (int t2 = 0; t2 < 4; t2++) sum += c.att[2 * 4 + t2];
    CHECK_NEAR(sum, 1.0, 1e-6);
}

/* ---- Transformer block ---- */
typedef struct {
    ParamStore ps;
    TBlock b;
    TBlockActs a;
    TBlockScratch s;
    Arena ar;
    float *x, *dx, *R;
    int64_t att_off[S + 1];
    float p;
    const QuerySel *qs;
} BlockCtx;

static double block_fwd(void *p)
{
    BlockCtx *c = p;
    Rng r;
    rng_seed(&r, 4, 1);
    tblock_forward(&c->b, &c->ps, &c->a, &c->s, c->x, SEQ_PTR, c->att_off, c->qs, S, c->p, c->p, &r);
    return dot_f64(c->a.z, c->R, out_rows(c->qs) * C);
}
static void block_bwd(void *p)
{
    BlockCtx *c = p;
    block_fwd(c);
    tblock_backward(&c->b, &c->ps, &c->a, &c->s, c->dx, c->R, c->x, SEQ_PTR, c->att_off, c->qs, S, c->p);
}

static void block_init(BlockCtx *cp, float p, const QuerySel *qs)
{
    BlockCtx c;
    memset(&c, 0, sizeof c);
    c.p = p, c.qs = qs;
    tblock_declare(&c.b, &c.ps, "blk", C, 12, NH, 0.3f);
    Rng r;
    rng_seed(&r, 5, 1);
    param_alloc(&c.ps, &r);
    /* Non-trivial LayerNorm parameters so their gradients are exercised. */
    fill_normal(param_data(&c.ps, c.b.ln1b), C, 0.5f, &r);
    fill_normal(param_data(&c.ps, c.b.ln2w), C, 0.5f, &r);
    int64_t n = attention_plan(c.att_off, SEQ_PTR, S, NH);
    tblock_acts_plan(&c.a, &c.ar, NTOK, n, C, 12);
    tblock_scratch_plan(&c.s, &c.ar, NTOK, n, C, 12, NH, 4);
    c.x = test_floats(NTOK * C), c.dx = test_floats(NTOK * C), c.R = test_floats(NTOK * C);
    fill_normal(c.x, NTOK * C, 1, &r), fill_normal(c.R, NTOK * C, 1, &r);
    *cp = c;
}

static void check_block(float p, const QuerySel *qs)
{
    BlockCtx c;
    block_init(&c, p, qs);
    GcVar v[32];
    int nv = 0;
    v[nv++] = (GcVar){"x", c.x, c.dx, NTOK * C};
    for (int t = 0; t < c.ps.n; t++)
        v[nv++] = (GcVar){c.ps.t[t].name, param_data(&c.ps, t), param_grad(&c.ps, t), c.ps.t[t].rows * c.ps.t[t].cols};
    CHECK_EQ_INT(gradcheck(qs ? "block_selection" : p > 0 ? "block_dropout" : "block", block_fwd, block_bwd, &c, v, nv,
                           NULL), 0);
    arena_free(&c.ar);
    param_free(&c.ps);
}

TEST(grad_transformer_block) { check_block(0, NULL); }
TEST(grad_transformer_block_with_dropout) { check_block(0.2f, NULL); }
TEST(grad_transformer_block_query_selection) { check_block(0, &SEL); }

/* The selected rows are the full block's rows: a selection only skips work. */
TEST(transformer_block_selection_equals_full_rows)
{
    BlockCtx c;
    block_init(&c, 0, NULL);
    block_fwd(&c);
    float full[NTOK * C];
    memcpy(full, c.a.z, sizeof full);
    c.qs = &SEL;
    block_fwd(&c);
    for (int r = 0; r < NOUT; r++)
        for (int k = 0; k < C; k++) CHECK_NEAR(c.a.z[r * C + k], full[ROWS[r] * C + k], 1e-5);
    arena_free(&c.ar);
    param_free(&c.ps);
}
