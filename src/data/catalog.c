#include "data/catalog.h"

#include "data/loader.h"
#include "util/fileio.h"

static void copy_strtab(StrTab *dst, const StrTab *src)
{
    strtab_init(dst);
    for (int32_t i = 0; i < src->n; i++) {
        const char *s = strtab_get(src, i);
        strtab_intern(dst, s, strlen(s));
    }
}

void catalog_from_dataset(Catalog *c, const Dataset *ds, const Split *split)
{
    memset(c, 0, sizeof *c);
    c->n_items = ds->n_items;
    c->n_feats = ds->n_feats;
    size_t nf = (size_t)ds->feat_ptr[ds->n_items];
    c->feat_ptr = xmalloc(((size_t)c->n_items + 1) * sizeof *c->feat_ptr);
    memcpy(c->feat_ptr, ds->feat_ptr, ((size_t)c->n_items + 1) * sizeof *c->feat_ptr);
    c->feat = xmalloc((nf + 1) * sizeof *c->feat);
    memcpy(c->feat, ds->feat, nf * sizeof *c->feat);
    c->count = xmalloc((size_t)c->n_items * sizeof *c->count);
    split_item_counts(ds, split, c->count);
    for (int32_t i = 0; i < c->n_items; i++) c->total += c->count[i];
    copy_strtab(&c->item_ids, &ds->item_ids);
    copy_strtab(&c->feat_ids, &ds->feat_ids);
}

void catalog_free(Catalog *c)
{
    free(c->feat_ptr);
    free(c->feat);
    free(c->count);
    strtab_free(&c->item_ids);
    strtab_free(&c->feat_ids);
    memset(c, 0, sizeof *c);
}

static int write_features(const Catalog *c, const char *path, Err *err)
{
    AtomicFile af;
    if (af_open(&af, path, err) < 0) return -1;
    for (int32_t k = 0; k < c->n_feats; k++) fprintf(af.f, "%s\n", strtab_get(&c->feat_ids, k));
    return af_commit(&af, err);
}

static int write_items(const Catalog *c, const char *path, Err *err)
{
    AtomicFile af;
    if (af_open(&af, path, err) < 0) return -1;
    fprintf(af.f, "# item_id\ttrain_count\tfeatures\n");
    for (int32_t i = 0; i < c->n_items; i++) {
        fprintf(af.f, "%s\t%lld\t", strtab_get(&c->item_ids, i), (long long)c->count[i]);
        for (int32_t k = c->feat_ptr[i]; k < c->feat_ptr[i + 1]; k++)
            fprintf(af.f, "%s%s", k > c->feat_ptr[i] ? "," : "", strtab_get(&c->feat_ids, c->feat[k]));
        fputc('\n', af.f);
    }
    return af_commit(&af, err);
}

int catalog_write(const Catalog *c, const char *dir, Err *err)
{
    char *fp = path_join(dir, "features.tsv"), *ip = path_join(dir, "items.tsv");
    int rc = write_features(c, fp, err) < 0 || write_items(c, ip, err) < 0 ? -1 : 0;
    free(fp);
    free(ip);
    return rc;
}

static int read_features(Catalog *c, const char *path, Err *err)
{
    LineReader lr;
    if (lr_open(&lr, path, err) < 0) return -1;
    char *line;
    size_t len;
    int rc;
    while ((rc = lr_next(&lr, &line, &len, err)) == 1) {
        int32_t before = c->feat_ids.n;
        if (len == 0 || strtab_intern(&c->feat_ids, line, len) != before) {
            lr_close(&lr);
            return err_set(err, "%s:%lld: expected one new feature id per line", path, (long long)lr.lineno);
        }
    }
    lr_close(&lr);
    c->n_feats = c->feat_ids.n;
    return rc;
}

static int read_items(Catalog *c, const char *path, Err *err)
{
    LineReader lr;
    if (lr_open(&lr, path, err) < 0) return -1;
    I32Vec ptr = {0}, feat = {0};
    int64_t cap = 0;
    char *line, *f[3];
    size_t len;
    int rc, ret = 0;
    i32vec_push(&ptr, 0);
    while ((rc = lr_next(&lr, &line, &len, err)) == 1) {
        if (line[0] == '#' || len == 0) continue;
        int64_t cnt;
        if (split_fields(line, '\t', f, 3) != 3 || parse_i64(f[1], &cnt) < 0 || cnt < 0) {
            ret = err_set(err, "%s:%lld: expected 'item_id<TAB>count<TAB>features'", path, (long long)lr.lineno);
            break;
        }
        int32_t id = strtab_intern(&c->item_ids, f[0], strlen(f[0]));
        if (id != c->n_items) {
            ret = err_set(err, "%s:%lld: duplicate item id '%s'", path, (long long)lr.lineno, f[0]);
            break;
        }
        if (c->n_items == cap) c->count = xrealloc(c->count, (size_t)(cap = cap ? 2 * cap : 1024) * sizeof *c->count);
        c->count[c->n_items++] = cnt;
        c->total += cnt;
        char *fs[4096];
        int nf = *f[2] ? split_fields(f[2], ',', fs, 4096) : 0;
        for (int k = 0; k < MIN(nf, 4096) && ret == 0; k++) {
            int32_t fid = strtab_find(&c->feat_ids, fs[k], strlen(fs[k]));
            if (fid < 0) ret = err_set(err, "%s:%lld: feature '%s' is not in features.tsv", path, (long long)lr.lineno, fs[k]);
            i32vec_push(&feat, fid);
        }
        if (ret < 0) break;
        i32vec_push(&ptr, (int32_t)feat.n);
    }
    lr_close(&lr);
    if (rc < 0) ret = -1;
    if (ret == 0 && c->n_items == 0) ret = err_set(err, "%s: no items", path);
    c->feat_ptr = ptr.v;
    c->feat = feat.v ? feat.v : xmalloc(sizeof(int32_t));
    return ret;
}

int catalog_read(Catalog *c, const char *dir, Err *err)
{
    memset(c, 0, sizeof *c);
    strtab_init(&c->item_ids);
    strtab_init(&c->feat_ids);
    char *fp = path_join(dir, "features.tsv"), *ip = path_join(dir, "items.tsv");
    int rc = read_features(c, fp, err) < 0 || read_items(c, ip, err) < 0 ? -1 : 0;
    free(fp);
    free(ip);
    if (rc < 0) catalog_free(c);
    return rc;
}
