#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

void fill_normal(float *x, int64_t n, float scale, Rng *rng)
{
    for (int64_t i = 0; i < n; i++) x[i] = scale * rng_normal(rng);
}

double dot_f64(const float *a, const float *b, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static float *g_allocs[4096];
static int g_nallocs;

static void free_test_floats(void)
{
    for (int i = 0; i < g_nallocs; i++) free(g_allocs[i]);
}

float *test_floats(int64_t n)
{
    if (g_nallocs == 0) atexit(free_test_floats);
    float *p = xcalloc((size_t)(n ? n : 1), sizeof(float));
    if (g_nallocs < 4096) g_allocs[g_nallocs++] = p;
    return p;
}

static double central_difference(double (*fwd)(void *), void *ctx, float *x, double eps)
{
    float x0 = *x;
    *x = x0 + (float)eps;
    double fp = fwd(ctx);
    *x = x0 - (float)eps;
    double fm = fwd(ctx);
    *x = x0;
    /* Use the step actually taken in float, not the nominal eps. */
    double h = (double)(x0 + (float)eps) - (double)(x0 - (float)eps);
    return (fp - fm) / h;
}

int gradcheck(const char *label, double (*fwd)(void *), void (*bwd)(void *), void *ctx, GcVar *vars, int nvars,
              const GcOptions *opt)
{
    GcOptions o = {5e-3, 2e-2, 2e-3, 200};
    if (opt) o = *opt;
    for (int v = 0; v < nvars; v++) memset(vars[v].g, 0, (size_t)vars[v].n * sizeof(float));
    bwd(ctx);
    int bad = 0;
    Rng rng;
    rng_seed(&rng, 1234, 99);
    for (int v = 0; v < nvars; v++) {
        GcVar *var = &vars[v];
        float *analytic = xmalloc((size_t)var->n * sizeof(float));
        memcpy(analytic, var->g, (size_t)var->n * sizeof(float));
        int64_t probes = var->n <= o.max_probe ? var->n : o.max_probe;
        double worst = 0;
        int64_t worst_i = -1;
        double worst_a = 0, worst_num = 0;
        for (int64_t p = 0; p < probes; p++) {
            int64_t i = var->n <= o.max_probe ? p : (int64_t)rng_below(&rng, (uint64_t)var->n);
            double a = analytic[i], num = 0, ratio = 0;
            /* A kink (ReLU) within eps of the point skews a central difference;
             * a smaller step then agrees. Try eps, eps/4, eps/16 before failing. */
            for (int attempt = 0; attempt < 3; attempt++) {
                num = central_difference(fwd, ctx, var->x + i, o.eps / (double)(1 << (2 * attempt)));
                double err = fabs(num - a), allowed = o.atol + o.rtol * fmax(fabs(num), fabs(a));
                ratio = err / allowed;
                if (ratio <= 1) break;
            }
            if (ratio > 1) bad++;
            if (ratio > worst) worst = ratio, worst_i = i, worst_a = a, worst_num = num;
        }
        if (bad)
            fprintf(stderr, "    gradcheck %s/%s: worst element %lld analytic %.6g numeric %.6g (%.1fx tolerance)\n",
                    label, var->name, (long long)worst_i, worst_a, worst_num, worst);
        free(analytic);
    }
    return bad;
}
