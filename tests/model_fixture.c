#include "model_fixture.h"

#include <stdio.h>

#include "gradcheck.h"
#include "test.h"

void fixture_data(ModelFixture *f, int users, int len, int n_items, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    EventLog log;
    evlog_init(&log);
    Rng r;
    rng_seed(&r, seed, 77);
    char u[32], it[32], ft[32];
    for (int i = 0; i < n_items; i++) {
        snprintf(it, sizeof it, "%d", i);
        int nf = 1 + (int)rng_below(&r, 3);
        for (int k = 0; k < nf; k++) {
            snprintf(ft, sizeof ft, "f%d", (int)rng_below(&r, 7));
            evlog_add_item_feature(&log, it, strlen(it), ft, strlen(ft));
        }
    }
    for (int x = 0; x < users; x++) {
        snprintf(u, sizeof u, "%d", x);
        int n = 3 + (int)rng_below(&r, (uint64_t)len);
        for (int t = 0; t < n; t++) {
            /* A little structure: items drift upward so sequences are learnable. */
            int item = (x * 7 + t * 3 + (int)rng_below(&r, 4)) % n_items;
            snprintf(it, sizeof it, "%d", item);
            evlog_add(&log, u, strlen(u), it, strlen(it), t);
        }
    }
    BuildOptions bo = {0};
    Err err;
    if (dataset_build(&log, &bo, &f->ds, &err) < 0) die("fixture: %s", err.msg);
    if (split_make(&f->ds, PROTO_LOO, seed, &f->split, &err) < 0) die("fixture: %s", err.msg);
    catalog_from_dataset(&f->cat, &f->ds, &f->split);
}

int fixture_model(ModelFixture *f, const char *model, const char *extra)
{
    opt_defaults(g_run_options, g_n_run_options, &f->rc);
    Err err;
    run_config_model_defaults(&f->rc, model, &err);
    const char *base[] = {"dim=8", "max-len=6", "batch-size=16", "hidden=12", "heads=2", "layers=2",
                          "dropout=0", "emb-dropout=0", "init-std=0.3"};
    for (size_t i = 0; i < ARRAY_LEN(base); i++) {
        char kv[64];
        snprintf(kv, sizeof kv, "%s", base[i]);
        char *eq = strchr(kv, '=');
        *eq = '\0';
        opt_set(g_run_options, g_n_run_options, &f->rc, kv, eq + 1, &err);
    }
    if (extra) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", extra);
        for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
            char *eq = strchr(tok, '=');
            *eq = '\0';
            if (opt_set(g_run_options, g_n_run_options, &f->rc, tok, eq + 1, &err) < 0) die("fixture: %s", err.msg);
        }
    }
    f->m = model_create_for_users(model, &f->rc.mc, &f->cat, f->ds.n_users, 3, &err);
    if (!f->m) {
        fprintf(stderr, "    fixture_model: %s\n", err.msg);
        return -1;
    }
    f->n_ex = split_examples(&f->split, f->ds.n_users, f->m->cls->per_sequence, &f->ex);
    return 0;
}

double fixture_step(ModelFixture *f, int n)
{
    rng_seed(&f->rng_neg, 5, RNG_NEGATIVES);
    rng_seed(&f->rng_drop, 5, RNG_DROPOUT);
    rng_seed(&f->rng_aug, 5, RNG_AUGMENT);
    TrainCtx ctx = {&f->ds, &f->split, &f->rng_neg, &f->rng_drop, &f->rng_aug};
    return f->m->cls->train_step(f->m, &ctx, f->ex, (int)MIN((int64_t)n, f->n_ex));
}

void fixture_free(ModelFixture *f)
{
    model_free(f->m);
    free(f->ex);
    catalog_free(&f->cat);
    split_free(&f->split);
    dataset_free(&f->ds);
}

static ModelFixture *g_fx;
static int g_fx_n;

static double fx_loss(void *p)
{
    (void)p;
    param_zero_grad(&g_fx->m->params);
    return fixture_step(g_fx, g_fx_n);
}

static void fx_grad(void *p)
{
    (void)p;
    ParamStore *ps = &g_fx->m->params;
    /* Sparse tensors only zero touched rows; start from an all-zero gradient. */
    memset(ps->grad, 0, ps->size * sizeof(float));
    fixture_step(g_fx, g_fx_n);
}

int fixture_gradcheck(ModelFixture *f, int n, int probe)
{
    ParamStore *ps = &f->m->params;
    g_fx = f, g_fx_n = n;
    int bad = 0;
    GcOptions o = {5e-3, 3e-2, 3e-3, probe};
    for (int t = 0; t < ps->n; t++) {
        GcVar v = {ps->t[t].name, ps->data + ps->t[t].off, ps->grad + ps->t[t].off, ps->t[t].rows * ps->t[t].cols};
        /* gradcheck zeroes v.g before calling fx_grad; fx_grad refills all. */
        bad += gradcheck(f->m->cls->name, fx_loss, fx_grad, NULL, &v, 1, &o);
    }
    return bad;
}
