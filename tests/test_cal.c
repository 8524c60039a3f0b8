/* The Category Alignment Loss layer: finite-difference gradient, a value
 * computed by hand, and the choice of the major category. */
#include <string.h>

#include "gradcheck.h"
#include "nn/cal.h"
#include "test.h"

typedef struct {
    CalActs acts;
    Arena ar;
    const int32_t *grp;
    int64_t M;
    int D;
    float *v, *dv, scale;
} CalCtx;

static double cal_fwd(void *p)
{
    CalCtx *c = p;
    return c->scale * cal_forward(&c->acts, c->v, c->grp, c->M);
}

static void cal_bwd(void *p)
{
    CalCtx *c = p;
    cal_fwd(c);
    cal_backward(&c->acts, c->dv, c->scale);
}

TEST(grad_cal_categories)
{
    /* major category 4 (5 rows), category 1 (4), category 9 (2), category 3
     * (1 row: no covariance, no loss), two rows without a category. */
    static const int32_t grp[] = {4, 1, 4, 9, -1, 4, 1, 3, 4, 1, 9, 4, -1, 1};
    enum { M = 14, D = 3 };
    CalCtx c = {.grp = grp, .M = M, .D = D, .scale = 0.7f};
    cal_plan(&c.acts, &c.ar, 32, D, 10);
    c.v = test_floats(M * D), c.dv = test_floats(M * D);
    Rng rng;
    rng_seed(&rng, 3, 1);
    fill_normal(c.v, M * D, 1, &rng);
    GcVar var = {"v", c.v, c.dv, M * D};
    CHECK_EQ_INT(gradcheck("cal", cal_fwd, cal_bwd, &c, &var, 1, NULL), 0);
    /* Rows outside the loss get no gradient. */
    for (int j = 0; j < D; j++) CHECK(c.dv[4 * D + j] == 0 && c.dv[7 * D + j] == 0 && c.dv[12 * D + j] == 0);
    CHECK_EQ_INT(c.acts.used[c.acts.major], 4);
    /* The per-category counters are left clean for the next call. */
    for (int g = 0; g < 10; g++) CHECK_EQ_INT(c.acts.fill[g], 0);
    arena_free(&c.ar);
}

TEST(cal_value_by_hand)
{
    /* major (id 0): (1,0), (-1,0), (0,0): Cov = [[1,0],[0,0]];
     * id 1: (0,1), (0,-1): Cov = [[0,0],[0,2]]; diff = [[1,0],[0,-2]] -> 5.
     * id 2 has one row, the last row no category. */
    float v[] = {1, 0, 0, 1, -1, 0, 0, -1, 0, 0, 5, 5, 7, 7};
    int32_t grp[] = {0, 1, 0, 1, 0, 2, -1};
    CalActs a;
    Arena ar = {0};
    cal_plan(&a, &ar, 7, 2, 5);
    CHECK_NEAR(cal_forward(&a, v, grp, 7), 5.0, 1e-6);
    /* Only one category with two or more rows: nothing to align. */
    int32_t lone[] = {0, 1, 0, 2, 0, 2, -1};
    memcpy(grp, lone, sizeof lone);
    grp[3] = 3, grp[5] = 4;
    CHECK_NEAR(cal_forward(&a, v, grp, 7), 0.0, 0);
    arena_free(&ar);
}

TEST(cal_major_tie_goes_to_lower_category)
{
    /* three categories of two rows each, first seen in order 5, 2, 7 */
    float v[12] = {1, 2, 3, 4, 0, 1, 2, 0, 5, 5, 1, 1};
    int32_t grp[] = {5, 2, 7, 5, 2, 7};
    CalActs a;
    Arena ar = {0};
    cal_plan(&a, &ar, 6, 2, 8);
    cal_forward(&a, v, grp, 6);
    CHECK_EQ_INT(a.used[a.major], 2);
    arena_free(&ar);
}
