#include "model_checks.h"

#include <stdio.h>

#include "model_fixture.h"
#include "test.h"

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
        adam_step(&f.m->params, &ac);
    }
    if (!(last < 0.5 * first)) {
        test_fail(__FILE__, __LINE__, "%s: loss %.4f -> %.4f", model, first, last);
        for (int k = 0; k < f.m->n_loss_parts; k++) fprintf(stderr, "      %s %.4f\n", f.m->loss_names[k], f.m->loss_parts[k]);
    }
    fixture_free(&f);
}
