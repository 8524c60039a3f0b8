#include "train/checkpoint.h"

#include "train/modelfile.h"

/* The TrainState blob: this magic, then the fields in the order below, in
 * native byte order (a checkpoint resumes on the machine that wrote it; the
 * modelfile CRC guards the bytes). Bump the digit when the layout changes. */
static const char STATE_MAGIC[8] = "CLTSTAT1";

void train_state_init(TrainState *s, uint64_t seed, Example *order, int64_t n_ex, const ParamStore *ps)
{
    memset(s, 0, sizeof *s);
    s->epoch = 1;
    s->order = order;
    s->n_ex = n_ex;
    rng_seed(&s->shuffle, seed, RNG_SHUFFLE);
    rng_seed(&s->neg, seed, RNG_NEGATIVES);
    rng_seed(&s->drop, seed, RNG_DROPOUT);
    rng_seed(&s->aug, seed, RNG_AUGMENT);
    s->best_val = -1;
    s->n_params = ps->size;
    s->best = xalloc_floats(ps->size);
    memcpy(s->best, ps->data, ps->size * sizeof(float));
}

void train_state_free(TrainState *s)
{
    free(s->order);
    free(s->best);
    memset(s, 0, sizeof *s);
}

static void put(FILE *f, const void *p, size_t n) { fwrite(p, 1, n, f); }

static void put_metrics(FILE *f, const Metrics *m)
{
    int32_t nk = m->nk;
    put(f, &nk, sizeof nk);
    put(f, m->ks, (size_t)nk * sizeof *m->ks);
    put(f, m->hr, (size_t)nk * sizeof *m->hr);
    put(f, m->recall, (size_t)nk * sizeof *m->recall);
    put(f, m->ndcg, (size_t)nk * sizeof *m->ndcg);
    put(f, &m->users, sizeof m->users);
}

/* Serializes s into a malloc'ed blob. */
static char *state_encode(const TrainState *s, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    int32_t ints[6] = {s->epoch, s->best_epoch, s->bad, s->stopped, s->epochs_run, 0};
    uint64_t n_params = s->n_params;
    put(f, STATE_MAGIC, 8);
    put(f, ints, sizeof ints);
    put(f, &s->step, sizeof s->step);
    put(f, &s->n_ex, sizeof s->n_ex);
    put(f, s->order, (size_t)s->n_ex * sizeof *s->order);
    put(f, &s->partial, sizeof s->partial);
    Rng rngs[4] = {s->shuffle, s->neg, s->drop, s->aug};
    put(f, rngs, sizeof rngs);
    put(f, &s->best_val, sizeof s->best_val);
    put_metrics(f, &s->best_valid);
    put(f, &n_params, sizeof n_params);
    put(f, s->best, s->n_params * sizeof *s->best);
    put(f, &s->train_seconds, sizeof s->train_seconds);
    put(f, &s->valid_eval_seconds, sizeof s->valid_eval_seconds);
    put(f, &s->log_bytes, sizeof s->log_bytes);
    fclose(f);
    return buf;
}

int checkpoint_write(const char *path, Model *m, const char *config_text, const TrainState *s, Err *err)
{
    size_t len;
    char *blob = state_encode(s, &len);
    int rc = modelfile_write(path, m, config_text, 1, blob, len, err);
    free(blob);
    return rc;
}

/* Reads fixed-size fields from the blob; the first short read sets bad and
 * turns every later read into a no-op, so decoding checks once at the end. */
typedef struct {
    const char *p, *end;
    int bad;
} Reader;

static void get(Reader *r, void *out, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return;
    }
    memcpy(out, r->p, n);
    r->p += n;
}

static void get_metrics(Reader *r, Metrics *m)
{
    int32_t nk = 0;
    memset(m, 0, sizeof *m);
    get(r, &nk, sizeof nk);
    if (nk < 0 || nk > OPT_LIST_MAX) r->bad = 1;
    if (r->bad) return;
    m->nk = nk;
    get(r, m->ks, (size_t)nk * sizeof *m->ks);
    get(r, m->hr, (size_t)nk * sizeof *m->hr);
    get(r, m->recall, (size_t)nk * sizeof *m->recall);
    get(r, m->ndcg, (size_t)nk * sizeof *m->ndcg);
    get(r, &m->users, sizeof m->users);
}

/* The size checks come before each allocation so that a blob that passed the
 * CRC but was written for other data cannot make us allocate nonsense. */
static int state_decode(const char *blob, size_t len, const Model *m, TrainState *s, const char *path, Err *err)
{
    Reader r = {blob, blob + len, 0};
    char magic[8] = {0};
    int32_t ints[6] = {0};
    uint64_t n_params = 0;
    memset(s, 0, sizeof *s);
    get(&r, magic, 8);
    if (r.bad || memcmp(magic, STATE_MAGIC, 8) != 0) return err_set(err, "%s: no trainer state (not a checkpoint)", path);
    get(&r, ints, sizeof ints);
    s->epoch = ints[0], s->best_epoch = ints[1], s->bad = ints[2], s->stopped = ints[3], s->epochs_run = ints[4];
    get(&r, &s->step, sizeof s->step);
    get(&r, &s->n_ex, sizeof s->n_ex);
    if (s->n_ex < 0 || (uint64_t)s->n_ex > (uint64_t)(r.end - r.p) / sizeof *s->order) r.bad = 1;
    if (!r.bad) {
        s->order = xmalloc((size_t)MAX(s->n_ex, 1) * sizeof *s->order);
        get(&r, s->order, (size_t)s->n_ex * sizeof *s->order);
    }
    get(&r, &s->partial, sizeof s->partial);
    Rng rngs[4];
    get(&r, rngs, sizeof rngs);
    s->shuffle = rngs[0], s->neg = rngs[1], s->drop = rngs[2], s->aug = rngs[3];
    get(&r, &s->best_val, sizeof s->best_val);
    get_metrics(&r, &s->best_valid);
    get(&r, &n_params, sizeof n_params);
    if (n_params != m->params.size) r.bad = 1;
    if (!r.bad) {
        s->n_params = (size_t)n_params;
        s->best = xalloc_floats(s->n_params);
        get(&r, s->best, s->n_params * sizeof *s->best);
    }
    get(&r, &s->train_seconds, sizeof s->train_seconds);
    get(&r, &s->valid_eval_seconds, sizeof s->valid_eval_seconds);
    get(&r, &s->log_bytes, sizeof s->log_bytes);
    int64_t batches = (s->n_ex + m->cfg.batch_size - 1) / m->cfg.batch_size;
    if (r.bad || r.p != r.end || s->step < 0 || s->step > batches || s->epoch < 1) {
        train_state_free(s);
        return err_set(err, "%s: malformed trainer state", path);
    }
    return 0;
}

int checkpoint_read(const char *path, Model *m, TrainState *s, char **config_text, Err *err)
{
    ModelFileInfo info;
    if (config_text) *config_text = NULL;
    if (modelfile_read(path, m, 1, &info, err) < 0) return -1;
    int rc = 0;
    if (!info.extra) rc = err_set(err, "%s: no trainer state (a model file, not a checkpoint)", path);
    if (rc == 0) rc = state_decode(info.extra, info.extra_len, m, s, path, err);
    if (rc == 0 && config_text) {
        *config_text = info.config_text;
        info.config_text = NULL;
    }
    modelfile_info_free(&info);
    return rc;
}
