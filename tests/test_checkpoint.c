/* Checkpoints: the trainer state survives a write/read round trip, training
 * resumed from a mid-epoch checkpoint ends exactly where an uninterrupted run
 * does, and damaged or foreign files are refused with a message naming them. */
#include <unistd.h>

#include "model_fixture.h"
#include "test.h"
#include "train/checkpoint.h"
#include "train/modelfile.h"
#include "train/trainer.h"

/* A fixture with several batches per epoch and every source of randomness
 * on (negatives, dropout; cl-epidtn adds augmentations). */
static int make_model_fixture(ModelFixture *f, const char *model)
{
    fixture_data(f, 200, 8, 40, 11);
    const char *cfg = "epochs=3 patience=10 checkpoint-every=5 dropout=0.1 emb-dropout=0.1 negatives=3";
    if (fixture_model(f, model, cfg) < 0) return -1;
    f->rc.quiet = 1;
    return 0;
}

/* cl-epidtn draws from every RNG stream. */
static int make_fixture(ModelFixture *f) { return make_model_fixture(f, "cl-epidtn"); }

/* A state that differs from a fresh one in every field. */
static void advance_state(ModelFixture *f, TrainState *s)
{
    Example *order = xmalloc((size_t)f->n_ex * sizeof *order);
    memcpy(order, f->ex, (size_t)f->n_ex * sizeof *order);
    train_state_init(s, 9, order, f->n_ex, &f->m->params);
    for (int64_t i = 0; i < f->n_ex / 2; i++) { /* any order but the initial one */
        Example t = s->order[i];
        s->order[i] = s->order[f->n_ex - 1 - i];
        s->order[f->n_ex - 1 - i] = t;
    }
    rng_u64(&s->shuffle), rng_u64(&s->neg), rng_u64(&s->drop), rng_u64(&s->drop), rng_u64(&s->aug);
    s->epoch = 2, s->step = 3, s->best_epoch = 1, s->bad = 1, s->stopped = 0, s->epochs_run = 1;
    s->partial = (EpochStats){1.5, {0.5, 0.25}, 3, 48, 0.125};
    s->best_val = 0.375;
    IntList ks = {{10, 20}, 2};
    metrics_init(&s->best_valid, &ks);
    s->best_valid.hr[1] = 0.5, s->best_valid.ndcg[0] = 0.25, s->best_valid.users = 7;
    s->best[0] = 42.0f;
    s->train_seconds = 2.5, s->valid_eval_seconds = 0.5, s->log_bytes = 123;
}

static int same_rng(Rng a, Rng b) { return rng_u64(&a) == rng_u64(&b) && rng_u64(&a) == rng_u64(&b); }

TEST(checkpoint_roundtrip_restores_trainer_state)
{
    ModelFixture f, g;
    REQUIRE(make_fixture(&f) == 0);
    REQUIRE(make_fixture(&g) == 0);
    /* Two optimizer steps: Adam moments exist, sparse rows have lazy state. */
    AdamConfig ac = {0.01f, 0.9f, 0.999f, 1e-8f, 0, 0, 5, 1};
    for (int i = 0; i < 2; i++) {
        param_zero_grad(&f.m->params);
        fixture_step(&f, 16);
        adam_step(&f.m->params, &ac);
    }
    TrainState s, r;
    advance_state(&f, &s);
    const char *path = test_write_file("ck.bin", "");
    Err err;
    REQUIRE(checkpoint_write(path, f.m, "dim = 8\n", &s, &err) == 0);
    char *text = NULL;
    REQUIRE(checkpoint_read(path, g.m, &r, &text, &err) == 0);
    CHECK_STR(text, "dim = 8\n");
    free(text);

    ParamStore *a = &f.m->params, *b = &g.m->params;
    size_t bytes = a->size * sizeof(float);
    CHECK(memcmp(a->data, b->data, bytes) == 0);
    REQUIRE(b->adam_m && b->adam_v);
    CHECK(memcmp(a->adam_m, b->adam_m, bytes) == 0);
    CHECK(memcmp(a->adam_v, b->adam_v, bytes) == 0);
    CHECK_EQ_INT(b->step, 2);

    CHECK_EQ_INT(r.epoch, 2);
    CHECK_EQ_INT(r.step, 3);
    CHECK_EQ_INT(r.best_epoch, 1);
    CHECK_EQ_INT(r.bad, 1);
    CHECK_EQ_INT(r.epochs_run, 1);
    CHECK_EQ_INT(r.n_ex, s.n_ex);
    CHECK(memcmp(r.order, s.order, (size_t)s.n_ex * sizeof *s.order) == 0);
    CHECK(memcmp(&r.partial, &s.partial, sizeof s.partial) == 0);
    CHECK(same_rng(r.shuffle, s.shuffle) && same_rng(r.neg, s.neg));
    CHECK(same_rng(r.drop, s.drop) && same_rng(r.aug, s.aug));
    CHECK(!same_rng(r.drop, s.aug));
    CHECK(r.best_val == s.best_val);
    CHECK_EQ_INT(r.best_valid.nk, 2);
    CHECK_EQ_INT(r.best_valid.ks[1], 20);
    CHECK(r.best_valid.hr[1] == 0.5 && r.best_valid.ndcg[0] == 0.25);
    CHECK_EQ_INT(r.best_valid.users, 7);
    REQUIRE(r.n_params == s.n_params);
    CHECK(memcmp(r.best, s.best, s.n_params * sizeof(float)) == 0);
    CHECK(r.train_seconds == 2.5 && r.valid_eval_seconds == 0.5);
    CHECK_EQ_INT(r.log_bytes, 123);
    train_state_free(&s);
    train_state_free(&r);
    fixture_free(&f);
    fixture_free(&g);
}

/* Trains f's model for f->rc.epochs; halt_at > 0 stops after that step's checkpoint. */
static int train(ModelFixture *f, const char *ckpt, TrainState *resume, int64_t halt_at, TrainResult *res, Err *err)
{
    TrainCheckpoint ck = {ckpt, "cfg\n", resume, halt_at};
    return train_model(f->m, &f->ds, &f->split, &f->rc, NULL, &ck, res, err);
}

/* Trains model uninterrupted, and again "killed" in epoch 2 right after a
 * mid-epoch checkpoint and resumed in a new model object; the two must end
 * bit-identical. */
static void check_resume(const char *model)
{
    ModelFixture u, k, r;
    if (make_model_fixture(&u, model) < 0 || make_model_fixture(&k, model) < 0 || make_model_fixture(&r, model) < 0) {
        test_fail(__FILE__, __LINE__, "%s: cannot build the fixture", model);
        return;
    }
    int64_t per_epoch = (u.n_ex + u.rc.mc.batch_size - 1) / u.rc.mc.batch_size;
    REQUIRE(per_epoch > 6);
    TrainResult ru, rr, tmp;
    Err err;
    REQUIRE(train(&u, test_write_file("u.bin", ""), NULL, 0, &ru, &err) == 0);
    const char *path = test_write_file("k.bin", "");
    int64_t halt = (per_epoch + 5) / 5 * 5;
    CHECK(halt % per_epoch != 0);
    CHECK_EQ_INT(train(&k, path, NULL, halt, &tmp, &err), -1);
    CHECK(strstr(err.msg, "halted") != NULL);
    TrainState st;
    char *text = NULL;
    REQUIRE(checkpoint_read(path, r.m, &st, &text, &err) == 0);
    free(text);
    CHECK_EQ_INT(st.epoch, 2);
    CHECK_EQ_INT(st.step, halt - per_epoch);
    REQUIRE(train(&r, path, &st, 0, &rr, &err) == 0);

    CHECK_EQ_INT(rr.best_epoch, ru.best_epoch);
    CHECK_EQ_INT(rr.epochs_run, ru.epochs_run);
    CHECK(memcmp(rr.valid.ndcg, ru.valid.ndcg, sizeof ru.valid.ndcg) == 0);
    CHECK(memcmp(rr.test.hr, ru.test.hr, sizeof ru.test.hr) == 0);
    CHECK(memcmp(rr.test.ndcg, ru.test.ndcg, sizeof ru.test.ndcg) == 0);
    size_t bytes = u.m->params.size * sizeof(float);
    if (memcmp(u.m->params.data, r.m->params.data, bytes) != 0 ||
        memcmp(u.m->params.adam_m, r.m->params.adam_m, bytes) != 0 || u.m->params.step != r.m->params.step)
        test_fail(__FILE__, __LINE__, "%s: resumed weights or Adam state differ from the uninterrupted run", model);
    fixture_free(&u);
    fixture_free(&k);
    fixture_free(&r);
}

TEST(checkpoint_resume_mid_epoch_equals_uninterrupted) { check_resume("cl-epidtn"); }

/* Every other trainable model: none may keep training state outside TrainState. */
TEST(checkpoint_resume_every_model)
{
    for (int i = 0; i < model_count(); i++) {
        const ModelClass *c = model_class_at(i);
        if (c->trainable && strcmp(c->name, "cl-epidtn") != 0) check_resume(c->name);
    }
}

/* Expects checkpoint_read(path) to fail with a message containing both the
 * path and what. */
static void check_refused(ModelFixture *f, const char *path, const char *what)
{
    TrainState st;
    char *text = NULL;
    Err err;
    if (checkpoint_read(path, f->m, &st, &text, &err) == 0) {
        test_fail(__FILE__, __LINE__, "%s: accepted, expected '%s'", path, what);
        train_state_free(&st);
        free(text);
        return;
    }
    if (!strstr(err.msg, path) || !strstr(err.msg, what))
        test_fail(__FILE__, __LINE__, "message '%s' lacks the path or '%s'", err.msg, what);
}

TEST(checkpoint_refuses_truncated_corrupted_and_foreign_files)
{
    ModelFixture f;
    REQUIRE(make_fixture(&f) == 0);
    TrainState s;
    advance_state(&f, &s);
    const char *path = test_write_file("bad.bin", "");
    Err err;
    REQUIRE(checkpoint_write(path, f.m, "", &s, &err) == 0);
    FILE *fp = fopen(path, "r+b");
    REQUIRE(fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, size - 9, SEEK_SET); /* inside the trainer state */
    int c = fgetc(fp);
    fseek(fp, size - 9, SEEK_SET);
    fputc(c ^ 1, fp);
    fclose(fp);
    check_refused(&f, path, "checksum mismatch");

    for (long cut = 0; cut < size; cut += size / 7 + 1) {
        REQUIRE(checkpoint_write(path, f.m, "", &s, &err) == 0);
        REQUIRE(truncate(path, cut) == 0);
        check_refused(&f, path, cut < 8 ? "bad magic" : "truncated");
    }
    /* A model file is not a checkpoint. */
    REQUIRE(modelfile_write(path, f.m, "", 0, NULL, 0, &err) == 0);
    check_refused(&f, path, "not a checkpoint");
    check_refused(&f, "/nonexistent/ck.bin", "cannot open");
    train_state_free(&s);
    fixture_free(&f);
}
