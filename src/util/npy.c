#include "util/npy.h"

#include <stdio.h>

#include "util/fileio.h"

static int npy_write(const char *path, const void *data, size_t elem, const char *descr, const int64_t *shape,
                     int ndim, Err *err)
{
    char dims[256] = "";
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%lld,%s", (long long)shape[i],
                 ndim > 1 && i < ndim - 1 ? " " : "");
        count *= (size_t)shape[i];
    }
    if (ndim > 1) dims[strlen(dims) - 1] = '\0'; /* (a, b) not (a, b,) */
    char header[512];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    /* magic(6) + version(2) + len(2) + header, padded with spaces to a multiple of 64, ending in \n */
    int total = 10 + n + 1, pad = (64 - total % 64) % 64;
    AtomicFile af;
    if (af_open(&af, path, err) < 0) return -1;
    uint16_t hlen = (uint16_t)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, af.f);
    fwrite(&hlen, 2, 1, af.f);
    fwrite(header, 1, (size_t)n, af.f);
    for (int i = 0; i < pad; i++) fputc(' ', af.f);
    fputc('\n', af.f);
    fwrite(data, elem, count, af.f);
    return af_commit(&af, err);
}

int npy_write_f32(const char *path, const float *data, const int64_t *shape, int ndim, Err *err)
{
    return npy_write(path, data, 4, "<f4", shape, ndim, err);
}

int npy_write_i32(const char *path, const int32_t *data, const int64_t *shape, int ndim, Err *err)
{
    return npy_write(path, data, 4, "<i4", shape, ndim, err);
}

int npy_read_f32(const char *path, float **data, int64_t *shape, int *ndim, Err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(err, "%s: cannot open", path);
    char magic[8], header[1024];
    uint16_t hlen;
    int rc = -1;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "\x93NUMPY\x01", 7) != 0 || fread(&hlen, 2, 1, f) != 1 ||
        hlen >= sizeof header || fread(header, 1, hlen, f) != hlen) {
        err_set(err, "%s: not a .npy file (version 1.0)", path);
    } else {
        header[hlen] = '\0';
        char *sh = strstr(header, "'shape': (");
        if (!strstr(header, "'<f4'") || !sh || strstr(header, "'fortran_order': True")) {
            err_set(err, "%s: expected a C-order float32 array", path);
        } else {
            *ndim = 0;
            size_t count = 1;
            for (char *p = sh + 10; *p && *p != ')' && *ndim < 4;) {
                long long v = strtoll(p, &p, 10);
                shape[(*ndim)++] = v;
                count *= (size_t)v;
                while (*p == ',' || *p == ' ') p++;
            }
            *data = xmalloc(count * sizeof(float) + 1);
            if (fread(*data, sizeof(float), count, f) != count) {
                free(*data);
                err_set(err, "%s: truncated data", path);
            } else {
                rc = 0;
            }
        }
    }
    fclose(f);
    return rc;
}
