/* gradcheck.h — finite-difference gradient checks for the tests.
 *
 * A check gets a forward function returning the scalar loss for the current
 * values of every variable, and a backward function that runs forward and
 * backward and fills the analytic gradients (the harness zeroes them first).
 * Each variable's gradient is compared to central differences on up to
 * `max_probe` elements. The loss is usually sum(out * R) for a fixed random R,
 * accumulated in double, so backward starts from dout = R. */
#ifndef CLT_GRADCHECK_H
#define CLT_GRADCHECK_H

#include <stdint.h>

#include "util/rng.h"

typedef struct GcVar {
    const char *name;
    float *x;   /* values (perturbed in place, restored) */
    float *g;   /* analytic gradient buffer */
    int64_t n;
} GcVar;

typedef struct GcOptions {
    double eps;      /* finite-difference step (default 5e-3) */
    double rtol;     /* relative tolerance (default 2e-2) */
    double atol;     /* absolute tolerance (default 2e-3) */
    int max_probe;   /* elements probed per variable (default 200) */
} GcOptions;

/* Returns the number of mismatching elements (0 = pass); prints the worst. */
int gradcheck(const char *label, double (*fwd)(void *), void (*bwd)(void *), void *ctx, GcVar *vars, int nvars,
              const GcOptions *opt);

/* Helpers: fill with N(0, scale) values; sum(a*b) in double. */
void fill_normal(float *x, int64_t n, float scale, Rng *rng);
double dot_f64(const float *a, const float *b, int64_t n);
float *test_floats(int64_t n); /* zeroed, freed at exit */

#endif
