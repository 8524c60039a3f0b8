/* Model-level tests: whole-model finite-difference gradients (every
 * parameter tensor, through both towers and the loss), training progress,
 * and the model file (round trip, corruption and truncation detection). */
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "model/cl_epidtn.h"
#include "model_checks.h"
#include "model_fixture.h"
#include "test.h"
#include "train/modelfile.h"
#include "util/fileio.h"


TEST(train_youtubednn_overfits_a_batch) { fixture_check_overfits("youtubednn", NULL); }

TEST(mostpop_ranks_by_training_count)
{
    ModelFixture f;
    fixture_data(&f, 20, 6, 15, 4);
    REQUIRE(fixture_model(&f, "mostpop", NULL) == 0);
    float *v = xmalloc((size_t)f.cat.n_items * sizeof *v), u;
    f.m->cls->item_vectors(f.m, v);
    Hist h = {NULL, 0, -1};
    f.m->cls->user_vectors(f.m, &h, 1, &u);
    for (int32_t i = 0; i < f.cat.n_items; i++) CHECK_NEAR(u * v[i], (double)f.cat.count[i], 0);
    free(v);
    fixture_free(&f);
}

static const char *model_path(const char *name) { return test_write_file(name, ""); }

TEST(modelfile_roundtrip_and_corruption)
{
    ModelFixture f, g;
    fixture_data(&f, 12, 6, 30, 5);
    fixture_data(&g, 12, 6, 30, 5);
    REQUIRE(fixture_model(&f, "youtubednn", NULL) == 0);
    REQUIRE(fixture_model(&g, "youtubednn", "init-std=0.01") == 0);
    const char *path = model_path("m.bin");
    Err err;
    REQUIRE(modelfile_write(path, f.m, "dim = 8\n", 0, "xyz", 3, &err) == 0);
    ModelFileInfo info;
    REQUIRE(modelfile_read(path, g.m, 0, &info, &err) == 0);
    CHECK(memcmp(f.m->params.data, g.m->params.data, f.m->params.size * sizeof(float)) == 0);
    CHECK_STR(info.config_text, "dim = 8\n");
    CHECK_EQ_INT(info.extra_len, 3);
    modelfile_info_free(&info);

    /* Flip one byte in the middle: the checksum catches it. */
    FILE *fp = fopen(path, "r+b");
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, size / 2, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, size / 2, SEEK_SET);
    fputc(c ^ 0x5a, fp);
    fclose(fp);
    CHECK_EQ_INT(modelfile_read(path, g.m, 0, &info, &err), -1);
    CHECK(strstr(err.msg, "checksum") != NULL);

    /* Truncate: detected as such. */
    REQUIRE(modelfile_write(path, f.m, "", 0, NULL, 0, &err) == 0);
    CHECK_EQ_INT(truncate(path, size / 3), 0);
    CHECK_EQ_INT(modelfile_read(path, g.m, 0, &info, &err), -1);
    CHECK(strstr(err.msg, "truncated") != NULL);
    fixture_free(&f);
    fixture_free(&g);
}

/* ---- sequence models: every component's gradient through the whole model ---- */

/* Whole-model finite-difference check on a fresh fixture. cl-epidtn's mimic
 * targets are stop-gradients: frozen so the objective is the one the
 * analytic gradient descends. */
static void check_model_grad(const char *model, const char *extra, uint64_t seed)
{
    ModelFixture f;
    fixture_data(&f, 10, 7, 30, seed);
    if (fixture_model(&f, model, extra) < 0) {
        test_fail(__FILE__, __LINE__, "cannot build %s %s", model, extra);
        return;
    }
    if (!strcmp(model, "cl-epidtn")) cl_epidtn_freeze_targets(f.m);
    int bad = fixture_gradcheck(&f, 8, 30);
    if (bad) test_fail(__FILE__, __LINE__, "%s %s: %d mismatching gradient elements", model, extra, bad);
    fixture_free(&f);
}

TEST(grad_model_youtubednn_sampled_logq_negatives) { check_model_grad("youtubednn", "negatives=5 logq=true", 1); }
TEST(grad_model_youtubednn_cosine_full_softmax)
{
    check_model_grad("youtubednn", "loss=full cosine=true temperature=0.2 features=false", 2);
}
TEST(grad_model_sasrec_sampled_softmax) { check_model_grad("sasrec", "negatives=4", 11); }
TEST(grad_model_sasrec_bce_one_negative) { check_model_grad("sasrec", "loss=bce negatives=1", 12); }
TEST(grad_model_cl_epidtn_all_components)
{
    check_model_grad("cl-epidtn", "negatives=3 cl-items=8 lambda-mimic=0.7 alpha-cl=0.5 beta-cl=0.5", 13);
}
TEST(grad_model_cl_epidtn_cosine_full_no_item_mlp)
{
    check_model_grad("cl-epidtn", "loss=full cosine=true temperature=0.5 item-mlp=false cl-items=8", 14);
}
TEST(grad_model_cl_epidtn_bce_without_features)
{
    check_model_grad("cl-epidtn", "loss=bce features=false cl-items=8 no-cl-user=true", 15);
}

TEST(train_sasrec_overfits_a_batch) { fixture_check_overfits("sasrec", NULL); }
TEST(train_cl_epidtn_overfits_a_batch) { fixture_check_overfits("cl-epidtn", "cl-items=8 cosine=true temperature=0.2"); }

/* "Towers do not receive gradients from the mimic loss": switching the mimic
 * weight on changes the gradients of the augmented-vector parameters only. */
TEST(mimic_loss_moves_only_augmented_vectors)
{
    ModelFixture f, g;
    fixture_data(&f, 10, 7, 30, 16);
    fixture_data(&g, 10, 7, 30, 16);
    REQUIRE(fixture_model(&f, "cl-epidtn", "lambda-mimic=0 no-cl-user=true no-cl-item=true") == 0);
    REQUIRE(fixture_model(&g, "cl-epidtn", "lambda-mimic=2 no-cl-user=true no-cl-item=true") == 0);
    memset(f.m->params.grad, 0, f.m->params.size * sizeof(float));
    memset(g.m->params.grad, 0, g.m->params.size * sizeof(float));
    fixture_step(&f, 8);
    fixture_step(&g, 8);
    ParamStore *a = &f.m->params, *b = &g.m->params;
    int aug_changed = 0;
    for (int t = 0; t < a->n; t++) {
        int is_aug = !strncmp(a->t[t].name, "aug_", 4);
        int64_t n = a->t[t].rows * a->t[t].cols, diff = 0;
        for (int64_t k = 0; k < n; k++) diff += fabsf(param_grad(a, t)[k] - param_grad(b, t)[k]) > 1e-6f;
        if (is_aug) aug_changed += diff > 0;
        else if (diff) test_fail(__FILE__, __LINE__, "tensor %s got mimic gradient in %lld elements", a->t[t].name, (long long)diff);
    }
    CHECK(aug_changed >= 2); /* aug_user MLP and aug_item rows did move */
    fixture_free(&f);
    fixture_free(&g);
}
