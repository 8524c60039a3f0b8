/* registry.c — the list of models. Adding a model: one file, one line here. */
#include <stdio.h>

#include "model/model.h"

extern const ModelClass model_mostpop;
extern const ModelClass model_youtubednn;
extern const ModelClass model_sasrec;
extern const ModelClass model_cl_epidtn;
extern const ModelClass model_gru4rec;
extern const ModelClass model_dat;
extern const ModelClass model_mind;
extern const ModelClass model_comirec_sa;
extern const ModelClass model_comirec_dr;

static const ModelClass *const g_models[] = {
    &model_mostpop,
    &model_youtubednn,
    &model_sasrec,
    &model_cl_epidtn,
    &model_gru4rec,
    &model_dat,
    &model_mind,
    &model_comirec_sa,
    &model_comirec_dr,
};

const ModelClass *model_class_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(g_models); i++)
        if (!strcmp(g_models[i]->name, name)) return g_models[i];
    return NULL;
}

int model_count(void) { return (int)ARRAY_LEN(g_models); }
const ModelClass *model_class_at(int i) { return g_models[i]; }

const char *model_names(void)
{
    static char buf[512];
    if (!buf[0])
        for (size_t i = 0; i < ARRAY_LEN(g_models); i++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? ", " : "", g_models[i]->name);
    return buf;
}

Model *model_create(const char *name, const ModelConfig *cfg, const Catalog *cat, uint64_t seed, Err *err)
{
    return model_create_for_users(name, cfg, cat, 0, seed, err);
}

Model *model_create_for_users(const char *name, const ModelConfig *cfg, const Catalog *cat, int32_t n_users,
                              uint64_t seed, Err *err)
{
    const ModelClass *cls = model_class_find(name);
    if (!cls) {
        err_set(err, "unknown model '%s' (expected one of: %s)", name, model_names());
        return NULL;
    }
    Model *m = xcalloc(1, sizeof *m);
    m->cls = cls;
    m->cfg = *cfg;
    m->cat = cat;
    m->dim = cfg->dim;
    m->n_interests = 1;
    m->n_users = n_users;
    if (cls->build(m, err) < 0) {
        model_free(m);
        return NULL;
    }
    Rng rng;
    rng_seed(&rng, seed, RNG_INIT);
    param_alloc(&m->params, &rng);
    return m;
}

void model_free(Model *m)
{
    if (!m) return;
    if (m->cls && m->cls->destroy) m->cls->destroy(m);
    param_free(&m->params);
    free(m);
}
