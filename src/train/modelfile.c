#include "train/modelfile.h"

#include <zlib.h>

#include "util/fileio.h"

static const char MAGIC[8] = "CLTOWER";
enum { MODELFILE_VERSION = 1, FLAG_OPTIMIZER = 1 };

static void put_blob(FILE *f, const void *p, uint32_t n)
{
    fwrite(&n, sizeof n, 1, f);
    if (n) fwrite(p, 1, n, f);
}

int modelfile_write(const char *path, Model *m, const char *config_text, int with_optimizer, const void *extra,
                    size_t extra_len, Err *err)
{
    char *payload = NULL;
    size_t plen = 0;
    FILE *mem = open_memstream(&payload, &plen);
    put_blob(mem, m->cls->name, (uint32_t)strlen(m->cls->name));
    put_blob(mem, config_text, (uint32_t)strlen(config_text));
    param_write(&m->params, mem, with_optimizer);
    uint64_t el = extra_len;
    fwrite(&el, sizeof el, 1, mem);
    if (extra_len) fwrite(extra, 1, extra_len, mem);
    fclose(mem);

    uint32_t version = MODELFILE_VERSION, flags = with_optimizer ? FLAG_OPTIMIZER : 0;
    uint64_t len64 = plen;
    uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)payload, (uInt)plen);
    AtomicFile af;
    if (af_open(&af, path, err) < 0) {
        free(payload);
        return -1;
    }
    fwrite(MAGIC, 1, 8, af.f);
    fwrite(&version, sizeof version, 1, af.f);
    fwrite(&flags, sizeof flags, 1, af.f);
    fwrite(&len64, sizeof len64, 1, af.f);
    fwrite(&crc, sizeof crc, 1, af.f);
    fwrite(payload, 1, plen, af.f);
    free(payload);
    return af_commit(&af, err);
}

/* Reads and verifies the whole file; returns the payload (malloc'ed). */
static char *read_verified(const char *path, size_t *plen, uint32_t *flags_out, Err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(err, "%s: cannot open model file", path);
        return NULL;
    }
    char magic[8];
    uint32_t version, flags, crc;
    uint64_t len;
    char *payload = NULL;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, 8) != 0) {
        err_set(err, "%s: not a cltower model file (bad magic)", path);
    } else if (fread(&version, 4, 1, f) != 1 || fread(&flags, 4, 1, f) != 1 || fread(&len, 8, 1, f) != 1 ||
               fread(&crc, 4, 1, f) != 1) {
        err_set(err, "%s: truncated header", path);
    } else if (version != MODELFILE_VERSION) {
        err_set(err, "%s: format version %u, this cltower reads version %d", path, version, MODELFILE_VERSION);
    } else if (len > ((uint64_t)1 << 40)) {
        err_set(err, "%s: corrupted header (payload length %llu)", path, (unsigned long long)len);
    } else {
        payload = xmalloc((size_t)len + 1);
        size_t got = fread(payload, 1, (size_t)len, f);
        if (got != len) {
            err_set(err, "%s: truncated: %zu of %llu payload bytes", path, got, (unsigned long long)len);
        } else if ((uint32_t)crc32(0L, (const Bytef *)payload, (uInt)len) != crc) {
            err_set(err, "%s: checksum mismatch: the file is corrupted", path);
        } else if (fgetc(f) != EOF) {
            err_set(err, "%s: trailing bytes after the payload", path);
        } else {
            fclose(f);
            *plen = (size_t)len;
            *flags_out = flags;
            return payload;
        }
        free(payload);
        payload = NULL;
    }
    fclose(f);
    return NULL;
}

static int get_blob(FILE *f, char **out)
{
    uint32_t n;
    if (fread(&n, sizeof n, 1, f) != 1) return -1;
    *out = xmalloc((size_t)n + 1);
    if (n && fread(*out, 1, n, f) != n) return -1;
    (*out)[n] = '\0';
    return 0;
}

static int parse_header(FILE *mem, ModelFileInfo *info, const char *path, Err *err)
{
    char *name = NULL;
    memset(info, 0, sizeof *info);
    int bad = get_blob(mem, &name) < 0 || get_blob(mem, &info->config_text) < 0;
    if (!bad) snprintf(info->model, sizeof info->model, "%s", name);
    free(name);
    return bad ? err_set(err, "%s: malformed payload", path) : 0;
}

int modelfile_peek(const char *path, ModelFileInfo *info, Err *err)
{
    size_t plen;
    uint32_t flags;
    char *payload = read_verified(path, &plen, &flags, err);
    if (!payload) return -1;
    FILE *mem = fmemopen(payload, plen, "rb");
    int rc = parse_header(mem, info, path, err);
    info->with_optimizer = (flags & FLAG_OPTIMIZER) != 0;
    fclose(mem);
    free(payload);
    return rc;
}

int modelfile_read(const char *path, Model *m, int with_optimizer, ModelFileInfo *info, Err *err)
{
    size_t plen;
    uint32_t flags;
    char *payload = read_verified(path, &plen, &flags, err);
    if (!payload) return -1;
    FILE *mem = fmemopen(payload, plen, "rb");
    int rc = parse_header(mem, info, path, err);
    info->with_optimizer = (flags & FLAG_OPTIMIZER) != 0;
    if (rc == 0 && strcmp(info->model, m->cls->name) != 0)
        rc = err_set(err, "%s: holds a %s model, expected %s", path, info->model, m->cls->name);
    if (rc == 0) rc = param_read(&m->params, mem, with_optimizer, path, err);
    uint64_t el = 0;
    if (rc == 0 && fread(&el, sizeof el, 1, mem) != 1) rc = err_set(err, "%s: malformed payload (extra)", path);
    if (rc == 0 && el) {
        info->extra = xmalloc((size_t)el);
        info->extra_len = (size_t)el;
        if (fread(info->extra, 1, (size_t)el, mem) != el) rc = err_set(err, "%s: malformed payload (extra)", path);
    }
    fclose(mem);
    free(payload);
    if (rc < 0) modelfile_info_free(info);
    return rc;
}

void modelfile_info_free(ModelFileInfo *info)
{
    free(info->config_text);
    free(info->extra);
    memset(info, 0, sizeof *info);
}
