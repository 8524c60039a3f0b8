#include "nn/params.h"

#include <math.h>

void rowset_add(RowSet *rs, int32_t row)
{
    if (rs->mark[row]) return;
    rs->mark[row] = 1;
    rs->rows[rs->n++] = row;
}

void rowset_add_many(RowSet *rs, const int32_t *rows, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (rows[i] >= 0) rowset_add(rs, rows[i]);
}

void rowset_clear(RowSet *rs)
{
    for (int32_t i = 0; i < rs->n; i++) rs->mark[rs->rows[i]] = 0;
    rs->n = 0;
}

int param_add(ParamStore *ps, const char *name, int64_t rows, int64_t cols, InitKind init, float scale)
{
    if (ps->n == PARAM_MAX_TENSORS) die("too many parameter tensors");
    if (ps->data) die("param_add after param_alloc");
    Tensor *t = &ps->t[ps->n];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rows = rows;
    t->cols = cols;
    t->init = init;
    t->init_scale = scale;
    t->off = ps->size;
    /* Keep every tensor 64-byte aligned inside the flat buffer. */
    ps->size += ((size_t)(rows * cols) + 15) & ~(size_t)15;
    return ps->n++;
}

void param_set_sparse(ParamStore *ps, int idx) { ps->t[idx].sparse = 1; }
void param_set_no_decay(ParamStore *ps, int idx) { ps->t[idx].no_decay = 1; }

int param_find(const ParamStore *ps, const char *name)
{
    for (int i = 0; i < ps->n; i++)
        if (!strcmp(ps->t[i].name, name)) return i;
    return -1;
}

static void init_tensor(Tensor *t, float *w, Rng *rng)
{
    int64_t n = t->rows * t->cols;
    switch (t->init) {
    case INIT_ZERO: memset(w, 0, (size_t)n * sizeof *w); break;
    case INIT_ONE:
        for (int64_t i = 0; i < n; i++) w[i] = 1.0f;
        break;
    case INIT_NORMAL:
        for (int64_t i = 0; i < n; i++) w[i] = t->init_scale * rng_normal(rng);
        break;
    case INIT_UNIFORM:
        for (int64_t i = 0; i < n; i++) w[i] = t->init_scale * (2.0f * rng_float(rng) - 1.0f);
        break;
    case INIT_XAVIER: {
        /* Glorot uniform for a (out=rows, in=cols) weight. */
        float bound = t->init_scale * sqrtf(6.0f / (float)(t->rows + t->cols));
        for (int64_t i = 0; i < n; i++) w[i] = bound * (2.0f * rng_float(rng) - 1.0f);
        break;
    }
    }
}

void param_alloc(ParamStore *ps, Rng *rng)
{
    ps->data = xalloc_floats(ps->size);
    ps->grad = xalloc_floats(ps->size);
    memset(ps->data, 0, ps->size * sizeof(float));
    memset(ps->grad, 0, ps->size * sizeof(float));
    for (int i = 0; i < ps->n; i++) {
        Tensor *t = &ps->t[i];
        init_tensor(t, ps->data + t->off, rng);
        if (t->sparse) {
            t->touched.n_rows = (int32_t)t->rows;
            t->touched.rows = xmalloc((size_t)t->rows * sizeof(int32_t));
            t->touched.mark = xcalloc((size_t)t->rows, 1);
        }
    }
}

void param_free(ParamStore *ps)
{
    for (int i = 0; i < ps->n; i++) {
        free(ps->t[i].touched.rows);
        free(ps->t[i].touched.mark);
    }
    free(ps->data);
    free(ps->grad);
    free(ps->adam_m);
    free(ps->adam_v);
    memset(ps, 0, sizeof *ps);
}

/* Calls fn(offset, count) for every gradient range that may be non-zero:
 * whole dense tensors, touched rows of sparse ones. */
#define FOR_EACH_GRAD_RANGE(ps, OFF, CNT, BODY)                                   \
    for (int ti_ = 0; ti_ < (ps)->n; ti_++) {                                    \
        Tensor *t_ = &(ps)->t[ti_];                                              \
        if (!t_->sparse) {                                                       \
            size_t OFF = t_->off, CNT = (size_t)(t_->rows * t_->cols);           \
            BODY;                                                                \
        } else {                                                                 \
            for (int32_t r_ = 0; r_ < t_->touched.n; r_++) {                     \
                size_t OFF = t_->off + (size_t)t_->touched.rows[r_] * (size_t)t_->cols; \
                size_t CNT = (size_t)t_->cols;                                   \
                BODY;                                                            \
            }                                                                    \
        }                                                                        \
    }

void param_zero_grad(ParamStore *ps)
{
    FOR_EACH_GRAD_RANGE(ps, off, cnt, memset(ps->grad + off, 0, cnt * sizeof(float)));
    for (int i = 0; i < ps->n; i++)
        if (ps->t[i].sparse) rowset_clear(&ps->t[i].touched);
}

double param_grad_norm(ParamStore *ps)
{
    double ss = 0;
    FOR_EACH_GRAD_RANGE(ps, off, cnt, {
        const float *g = ps->grad + off;
        for (size_t k = 0; k < cnt; k++) ss += (double)g[k] * g[k];
    });
    return sqrt(ss);
}

void param_scale_grad(ParamStore *ps, float s)
{
    FOR_EACH_GRAD_RANGE(ps, off, cnt, {
        float *g = ps->grad + off;
        for (size_t k = 0; k < cnt; k++) g[k] *= s;
    });
}

/* The Adam update of n contiguous elements. */
static void adam_range(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                       const AdamConfig *c, float decay, float bc1, float bc2)
{
    for (size_t k = 0; k < n; k++) {
        float gk = g[k];
        if (!c->adamw) gk += decay * w[k];
        m[k] = c->beta1 * m[k] + (1.0f - c->beta1) * gk;
        v[k] = c->beta2 * v[k] + (1.0f - c->beta2) * gk * gk;
        float mhat = m[k] / bc1, vhat = v[k] / bc2;
        w[k] -= c->lr * (mhat / (sqrtf(vhat) + c->eps) + (c->adamw ? decay * w[k] : 0.0f));
    }
}

double adam_step(ParamStore *ps, const AdamConfig *cfg)
{
    if (!ps->adam_m) {
        ps->adam_m = xalloc_floats(ps->size);
        ps->adam_v = xalloc_floats(ps->size);
        memset(ps->adam_m, 0, ps->size * sizeof(float));
        memset(ps->adam_v, 0, ps->size * sizeof(float));
    }
    double norm = param_grad_norm(ps);
    if (cfg->clip_norm > 0 && norm > cfg->clip_norm) param_scale_grad(ps, (float)(cfg->clip_norm / norm));
    ps->step++;
    float bc1 = 1.0f - powf(cfg->beta1, (float)ps->step), bc2 = 1.0f - powf(cfg->beta2, (float)ps->step);
    for (int i = 0; i < ps->n; i++) {
        Tensor *t = &ps->t[i];
        float decay = t->no_decay ? 0.0f : cfg->weight_decay;
        if (!t->sparse || !cfg->lazy) {
            size_t n = (size_t)(t->rows * t->cols), chunk = 4096;
            /* Large dense tensors update in parallel chunks; tiny ones are not worth a fork. */
#pragma omp parallel for schedule(static) if (n > 65536)
            for (size_t b = 0; b < n; b += chunk) {
                size_t o = t->off + b, cnt = MIN(chunk, n - b);
                adam_range(ps->data + o, ps->grad + o, ps->adam_m + o, ps->adam_v + o, cnt, cfg, decay, bc1, bc2);
            }
        } else {
            const RowSet *rs = &t->touched;
#pragma omp parallel for schedule(static) if (rs->n > 256)
            for (int32_t r = 0; r < rs->n; r++) {
                size_t o = t->off + (size_t)rs->rows[r] * (size_t)t->cols;
                adam_range(ps->data + o, ps->grad + o, ps->adam_m + o, ps->adam_v + o, (size_t)t->cols, cfg, decay,
                           bc1, bc2);
            }
        }
    }
    return norm;
}

/* ---- serialization ---------------------------------------------------------- */

static const char PARAM_MAGIC[8] = "CLTPARM1";

int param_write(const ParamStore *ps, FILE *f, int with_optimizer)
{
    int32_t n = ps->n, opt = with_optimizer && ps->adam_m;
    fwrite(PARAM_MAGIC, 1, 8, f);
    fwrite(&n, sizeof n, 1, f);
    fwrite(&opt, sizeof opt, 1, f);
    for (int i = 0; i < ps->n; i++) {
        const Tensor *t = &ps->t[i];
        fwrite(t->name, 1, PARAM_NAME_MAX, f);
        fwrite(&t->rows, sizeof t->rows, 1, f);
        fwrite(&t->cols, sizeof t->cols, 1, f);
    }
    for (int i = 0; i < ps->n; i++) {
        const Tensor *t = &ps->t[i];
        size_t cnt = (size_t)(t->rows * t->cols);
        fwrite(ps->data + t->off, sizeof(float), cnt, f);
        if (opt) {
            fwrite(ps->adam_m + t->off, sizeof(float), cnt, f);
            fwrite(ps->adam_v + t->off, sizeof(float), cnt, f);
        }
    }
    int64_t step = ps->step;
    fwrite(&step, sizeof step, 1, f);
    return ferror(f) ? -1 : 0;
}

int param_read(ParamStore *ps, FILE *f, int with_optimizer, const char *path, Err *err)
{
    char magic[8];
    int32_t n, opt;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, PARAM_MAGIC, 8) != 0 || fread(&n, sizeof n, 1, f) != 1 ||
        fread(&opt, sizeof opt, 1, f) != 1)
        return err_set(err, "%s: not a cltower parameter block (bad magic)", path);
    if (n != ps->n) return err_set(err, "%s: has %d tensors, the model expects %d", path, n, ps->n);
    for (int i = 0; i < n; i++) {
        char name[PARAM_NAME_MAX];
        int64_t rows, cols;
        if (fread(name, 1, PARAM_NAME_MAX, f) != PARAM_NAME_MAX || fread(&rows, sizeof rows, 1, f) != 1 ||
            fread(&cols, sizeof cols, 1, f) != 1)
            return err_set(err, "%s: truncated tensor table", path);
        name[PARAM_NAME_MAX - 1] = '\0';
        const Tensor *t = &ps->t[i];
        if (strcmp(name, t->name) || rows != t->rows || cols != t->cols)
            return err_set(err, "%s: tensor %d is %s (%lld x %lld), the model expects %s (%lld x %lld)", path, i, name,
                           (long long)rows, (long long)cols, t->name, (long long)t->rows, (long long)t->cols);
    }
    int load_opt = with_optimizer && opt;
    if (load_opt && !ps->adam_m) {
        ps->adam_m = xalloc_floats(ps->size);
        ps->adam_v = xalloc_floats(ps->size);
        memset(ps->adam_m, 0, ps->size * sizeof(float));
        memset(ps->adam_v, 0, ps->size * sizeof(float));
    }
    for (int i = 0; i < n; i++) {
        const Tensor *t = &ps->t[i];
        size_t cnt = (size_t)(t->rows * t->cols);
        if (fread(ps->data + t->off, sizeof(float), cnt, f) != cnt) return err_set(err, "%s: truncated data", path);
        if (!opt) continue;
        if (load_opt) {
            if (fread(ps->adam_m + t->off, sizeof(float), cnt, f) != cnt ||
                fread(ps->adam_v + t->off, sizeof(float), cnt, f) != cnt)
                return err_set(err, "%s: truncated optimizer state", path);
        } else if (fseek(f, (long)(2 * cnt * sizeof(float)), SEEK_CUR) != 0) {
            return err_set(err, "%s: truncated optimizer state", path);
        }
    }
    int64_t step;
    if (fread(&step, sizeof step, 1, f) != 1) return err_set(err, "%s: truncated (no step count)", path);
    if (load_opt) ps->step = step;
    return 0;
}

void param_copy_data(ParamStore *dst, const ParamStore *src)
{
    if (dst->size != src->size) die("param_copy_data: layouts differ");
    memcpy(dst->data, src->data, src->size * sizeof(float));
}
