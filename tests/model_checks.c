#include "model_checks.h"

#include <stdio.h>

#include "model_fixture.h"
#include "test.h"

/* Every row of a sparse tensor holding a gradient is listed in its RowSet:
 * the lazy update reads only those rows and param_zero_grad clears only
 * those, so an unlisted row would be skipped (lazy) or keep its gradient
 * forever (dense, --lazy-adam false). */
static void check_sparse_rows_listed(const char *model, ParamStore *ps)
{
    for (int i = 0; i < ps->n; i++) {
        const Tensor *t = &ps->t[i];
        if (!t->sparse) continue;
        for (int32_t r = 0; r < t->rows; r++) {
            const float *g = ps->grad + t->off + (int64_t)r * t->cols;
            int nonzero = 0;
            for (int32_t c = 0; c < t->cols; c++) nonzero |= g[c] != 0.0f;
            if (nonzero && !t->touched.mark[r])
                test_fail(__FILE__, __LINE__, "%s: %s row %d has a gradient but is not in its RowSet", model, t->name, r);
        }
    }
}

void fixture_check_overfits(const char *model, const char *extra)
{
    ModelFixture f;
    fixture_data(&f, 12, 6, 30, 3);
    if (fixture_model(&f, model, extra) < 0) {
        test_fail(__FILE__, __LINE__, "cannot build %s", model);
        return;
    }
    AdamConfig ac = {0.01f, 0.9f, 0.999f, 1e-8f, 0, 0, 5.0f, 1};
    double first = 0, last = 0;
    for (int s = 0; s < 300; s++) {
        param_zero_grad(&f.m->params);
        last = fixture_step(&f, 12);
        if (s == 0) first = last;
        if (s < 3) check_sparse_rows_listed(model, &f.m->params);
        adam_step(&f.m->params, &ac);
    }
    if (!(last < 0.5 * first)) {
        test_fail(__FILE__, __LINE__, "%s: loss %.4f -> %.4f", model, first, last);
        for (int k = 0; k < f.m->n_loss_parts; k++) fprintf(stderr, "      %s %.4f\n", f.m->loss_names[k], f.m->loss_parts[k]);
    }
    fixture_free(&f);
}
