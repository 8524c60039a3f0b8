/* Baselines gru4rec and dat: whole-model finite-difference gradients (every
 * parameter tensor, through both towers and every loss term), training
 * progress on one batch, and the behaviours the models promise (stop-gradient
 * mimic targets, zero augmented vector for unknown users, clear errors). */
#include <math.h>
#include <stdio.h>

#include "model/dat.h"
#include "model_checks.h"
#include "model_fixture.h"
#include "test.h"

/* Whole-model check on a fresh fixture; dat's mimic targets are frozen so the
 * objective is the one the analytic gradient descends. Returns the loss
 * parts of the last step through parts (may be NULL). */
static void check_model_grad(const char *model, const char *extra, uint64_t seed, double *parts)
{
    ModelFixture f;
    fixture_data(&f, 10, 7, 30, seed);
    if (fixture_model(&f, model, extra) < 0) {
        test_fail(__FILE__, __LINE__, "cannot build %s %s", model, extra);
        return;
    }
    if (!strcmp(model, "dat")) dat_freeze_targets(f.m);
    int bad = fixture_gradcheck(&f, 8, 30);
    if (bad) test_fail(__FILE__, __LINE__, "%s %s: %d mismatching gradient elements", model, extra, bad);
    if (parts)
        for (int k = 0; k < f.m->n_loss_parts; k++) parts[k] = f.m->loss_parts[k];
    fixture_free(&f);
}

/* ---- gru4rec ---- */

TEST(grad_model_gru4rec_two_layers_sampled_negatives) { check_model_grad("gru4rec", "negatives=4", 21, NULL); }
TEST(grad_model_gru4rec_cosine_full_without_features)
{
    check_model_grad("gru4rec", "layers=1 loss=full cosine=true temperature=0.5 features=false", 22, NULL);
}
/* The fixture resets the dropout stream every step, so the masks are the
 * same in every finite-difference evaluation. */
TEST(grad_model_gru4rec_with_dropout) { check_model_grad("gru4rec", "dropout=0.3 emb-dropout=0.2 logq=false", 23, NULL); }
TEST(train_gru4rec_overfits_a_batch) { fixture_check_overfits("gru4rec", NULL); }

/* ---- dat ---- */

TEST(grad_model_dat_cosine_sampled_all_losses)
{
    double parts[3] = {0};
    check_model_grad("dat", "negatives=15 lambda-mimic=0.7 cal-weight=0.5", 24, parts);
    CHECK(parts[1] > 0 && parts[2] > 0); /* mimic and CAL took part */
}
TEST(grad_model_dat_dot_full_without_features)
{
    double parts[3] = {0};
    check_model_grad("dat", "loss=full cosine=false temperature=1 features=false cal-weight=2", 25, parts);
    CHECK(parts[2] > 0); /* categories come from the catalogue, not the feature embeddings */
}
TEST(train_dat_overfits_a_batch) { fixture_check_overfits("dat", NULL); }

/* Switching the mimic weight on changes only the augmented tables' gradients. */
TEST(dat_mimic_loss_moves_only_augmented_vectors)
{
    ModelFixture f, g;
    fixture_data(&f, 10, 7, 30, 26);
    fixture_data(&g, 10, 7, 30, 26);
    REQUIRE(fixture_model(&f, "dat", "lambda-mimic=0") == 0);
    REQUIRE(fixture_model(&g, "dat", "lambda-mimic=2") == 0);
    /* One step first, so the zero-initialized augmented vectors differ from their targets. */
    AdamConfig ac = {0.01f, 0.9f, 0.999f, 1e-8f, 0, 0, 5.0f, 1};
    ModelFixture *fx[2] = {&f, &g};
    for (int i = 0; i < 2; i++) {
        param_zero_grad(&fx[i]->m->params);
        fixture_step(fx[i], 8);
        adam_step(&fx[i]->m->params, &ac);
    }
    param_copy_data(&g.m->params, &f.m->params);
    for (int i = 0; i < 2; i++) {
        memset(fx[i]->m->params.grad, 0, fx[i]->m->params.size * sizeof(float));
        fixture_step(fx[i], 8);
    }
    ParamStore *a = &f.m->params, *b = &g.m->params;
    int aug_changed = 0;
    for (int t = 0; t < a->n; t++) {
        int64_t n = a->t[t].rows * a->t[t].cols, diff = 0;
        for (int64_t k = 0; k < n; k++) diff += fabsf(param_grad(a, t)[k] - param_grad(b, t)[k]) > 1e-6f;
        if (!strncmp(a->t[t].name, "aug_", 4)) aug_changed += diff > 0;
        else if (diff) test_fail(__FILE__, __LINE__, "tensor %s got mimic gradient in %lld elements", a->t[t].name, (long long)diff);
    }
    CHECK_EQ_INT(aug_changed, 2);
    fixture_free(&f);
    fixture_free(&g);
}

/* A user outside the training table (id -1, or past n_users) gets a_u = 0,
 * which is also what the row of a user no step has seen holds (the comirec
 * protocol's evaluation users). */
TEST(dat_unknown_user_uses_zero_augmented_vector)
{
    ModelFixture f;
    fixture_data(&f, 10, 7, 30, 27);
    REQUIRE(fixture_model(&f, "dat", NULL) == 0);
    AdamConfig ac = {0.01f, 0.9f, 0.999f, 1e-8f, 0, 0, 5.0f, 1};
    for (int s = 0; s < 20; s++) {
        param_zero_grad(&f.m->params);
        fixture_step(&f, 8);
        adam_step(&f.m->params, &ac);
    }
    int32_t items[3] = {1, 4, 7};
    int32_t trained = f.ex[0].user, untrained = f.ds.n_users - 1; /* the steps saw the first users only */
    REQUIRE(f.ex[7].user < untrained);
    Hist h[5] = {{items, 3, -1}, {items, 3, f.ds.n_users + 5}, {items, 3, untrained}, {items, 3, trained},
                 {items, 0, -1}};
    int D = f.m->dim;
    float *u = xcalloc((size_t)5 * D, sizeof *u);
    f.m->cls->user_vectors(f.m, h, 5, u);
    double same = 0, diff = 0;
    for (int j = 0; j < D; j++) {
        same += fabs(u[j] - u[D + j]) + fabs(u[j] - u[2 * D + j]);
        diff += fabs(u[j] - u[3 * D + j]);
    }
    CHECK(same == 0);
    CHECK(diff > 1e-4);
    for (int j = 0; j < 5 * D; j++) CHECK(isfinite(u[j])); /* the empty history too */
    free(u);
    fixture_free(&f);
}

TEST(dat_and_gru4rec_reject_bce_and_dat_needs_users)
{
    ModelFixture f;
    fixture_data(&f, 6, 5, 20, 28);
    CHECK_EQ_INT(fixture_model(&f, "dat", "loss=bce"), -1);
    CHECK_EQ_INT(fixture_model(&f, "gru4rec", "loss=bce"), -1);
    REQUIRE(fixture_model(&f, "dat", NULL) == 0);
    Err err;
    Model *m = model_create("dat", &f.m->cfg, &f.cat, 1, &err);
    CHECK(m == NULL);
    CHECK(strstr(err.msg, "number of training users") != NULL);
    fixture_free(&f);
}
