/* adam_dense — what `--lazy-adam false` (every row of an embedding table
 * updated each step, as torch.optim.Adam) costs against the lazy update of
 * the touched rows only, per optimizer step, for one item table.
 *
 * usage: bench_adam_dense ITEMS [DIM] [TOUCHED] [threads]
 *   ITEMS rows of DIM floats (default 64); TOUCHED distinct rows get a
 *   gradient each step (default 12,800 = 256 sequences x 50 positions, an
 *   upper bound for one batch). Prints the median of 15 steps of each, in ms,
 *   and their difference times the steps of one epoch is the extra epoch time. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn/params.h"
#include "util/common.h"
#include "util/timer.h"

enum { REPS = 15 };

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median milliseconds of one adam_step with `touched` rows holding a gradient. */
static double step_ms(ParamStore *ps, int e, int32_t touched, int lazy)
{
    AdamConfig cfg = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .lazy = lazy};
    int32_t stride = ps->t[e].rows / touched, cols = ps->t[e].cols;
    double ms[REPS];
    for (int r = 0; r < REPS; r++) {
        param_zero_grad(ps);
        for (int32_t k = 0; k < touched; k++) {
            int32_t row = k * stride;
            rowset_add(param_rows(ps, e), row);
            for (int32_t c = 0; c < cols; c++) param_grad(ps, e)[(int64_t)row * cols + c] = 1e-3f * (float)(c + 1);
        }
        double t0 = now_seconds();
        adam_step(ps, &cfg);
        ms[r] = 1e3 * (now_seconds() - t0);
    }
    qsort(ms, REPS, sizeof ms[0], cmp_double);
    return ms[REPS / 2];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_adam_dense ITEMS [DIM] [TOUCHED] [threads]\n");
        return 2;
    }
    int32_t items = atoi(argv[1]), dim = argc > 2 ? atoi(argv[2]) : 64, touched = argc > 3 ? atoi(argv[3]) : 12800;
    if (argc > 4) omp_set_num_threads(atoi(argv[4]));
    if (items < 1 || dim < 1 || touched < 1 || touched > items) {
        fprintf(stderr, "bench_adam_dense: need 1 <= TOUCHED <= ITEMS and DIM >= 1\n");
        return 2;
    }
    ParamStore ps = {0};
    int e = param_add(&ps, "item_emb", items, dim, INIT_NORMAL, 0.02f);
    param_set_sparse(&ps, e);
    Rng rng;
    rng_seed(&rng, 1, 0);
    param_alloc(&ps, &rng);
    double lazy = step_ms(&ps, e, touched, 1), dense = step_ms(&ps, e, touched, 0);
    printf("items %d dim %d touched %d threads %d: lazy %.3f ms/step, dense %.3f ms/step, dense - lazy %.3f ms/step\n",
           items, dim, touched, omp_get_max_threads(), lazy, dense, dense - lazy);
    param_free(&ps);
    return 0;
}
