#include "util/common.h"

#include <stdarg.h>

/* Messages quote input (ids, JSON keys, header names) that may hold control
 * characters; '?' replaces them so a message stays one printable line. */
static void err_one_line(char *msg)
{
    for (unsigned char *p = (unsigned char *)msg; *p; p++)
        if (*p < 0x20 || *p == 0x7f) *p = '?';
}

int err_set(Err *err, const char *fmt, ...)
{
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err_one_line(err->msg);
    return -1;
}

int err_prefix(Err *err, const char *fmt, ...)
{
    if (!err) return -1;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t cap = sizeof err->msg, pl = strlen(prefix), ml = strlen(err->msg);
    if (pl + 2 + ml + 1 > cap) ml = cap - pl - 3; /* keep the prefix, truncate the old tail */
    memmove(err->msg + pl + 2, err->msg, ml);
    err->msg[pl + 2 + ml] = '\0';
    memcpy(err->msg, prefix, pl);
    err->msg[pl] = ':';
    err->msg[pl + 1] = ' ';
    err_one_line(err->msg);
    return -1;
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cltower: internal error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory allocating %zu bytes", n);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) die("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) die("out of memory reallocating %zu bytes", n);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

float *xalloc_floats(size_t n)
{
    void *p = NULL;
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, bytes) != 0) die("out of memory allocating %zu floats", n);
    return p;
}

void i32vec_push(I32Vec *a, int32_t x)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = xrealloc(a->v, (size_t)a->cap * sizeof *a->v);
    }
    a->v[a->n++] = x;
}

void i32vec_free(I32Vec *a)
{
    free(a->v);
    memset(a, 0, sizeof *a);
}

int token_in_list(const char *list, char sep, const char *value)
{
    size_t len = strlen(value);
    for (const char *p = list; *p;) {
        const char *c = strchr(p, sep);
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n == len && !strncmp(p, value, n)) return 1;
        if (!c) break;
        p = c + 1;
    }
    return 0;
}
