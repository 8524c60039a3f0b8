/* Model-level tests: whole-model finite-difference gradients (every
 * parameter tensor, through both towers and the loss), training progress,
 * and the model file (round trip, corruption and truncation detection). */
#include <stdio.h>
#include <unistd.h>

#include "model_fixture.h"
#include "test.h"
#include "train/modelfile.h"
#include "util/fileio.h"

TEST(grad_model_youtubednn_sampled_logq_negatives)
{
    ModelFixture f;
    fixture_data(&f, 12, 6, 30, 1);
    REQUIRE(fixture_model(&f, "youtubednn", "negatives=5 logq=true") == 0);
    CHECK_EQ_INT(fixture_gradcheck(&f, 10, 40), 0);
    fixture_free(&f);
}

TEST(grad_model_youtubednn_cosine_full_softmax)
{
    ModelFixture f;
    fixture_data(&f, 12, 6, 30, 2);
    REQUIRE(fixture_model(&f, "youtubednn", "loss=full cosine=true temperature=0.2 features=false") == 0);
    CHECK_EQ_INT(fixture_gradcheck(&f, 10, 40), 0);
    fixture_free(&f);
}

/* A few hundred Adam steps on one batch must drive the loss well down: the
 * gradient is not only right locally but usable. */
static void check_overfits(const char *model, const char *extra)
{
    ModelFixture f;
    fixture_data(&f, 12, 6, 30, 3);
    if (fixture_model(&f, model, extra) < 0) {
        test_fail(__FILE__, __LINE__, "cannot build %s", model);
        return;
    }
    AdamConfig ac = {0.01f, 0.9f, 0.999f, 1e-8f, 0, 0, 5.0f};
    double first = 0, last = 0;
    for (int s = 0; s < 300; s++) {
        param_zero_grad(&f.m->params);
        last = fixture_step(&f, 12);
        if (s == 0) first = last;
        adam_step(&f.m->params, &ac);
    }
    if (!(last < 0.5 * first)) test_fail(__FILE__, __LINE__, "%s: loss %.4f -> %.4f", model, first, last);
    fixture_free(&f);
}

TEST(train_youtubednn_overfits_a_batch) { check_overfits("youtubednn", NULL); }

TEST(mostpop_ranks_by_training_count)
{
    ModelFixture f;
    fixture_data(&f, 20, 6, 15, 4);
    REQUIRE(fixture_model(&f, "mostpop", NULL) == 0);
    float *v = xmalloc((size_t)f.cat.n_items * sizeof *v), u;
    f.m->cls->item_vectors(f.m, v);
    Hist h = {NULL, 0};
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
