/* common.h — the few definitions every module uses: checked allocation,
 * the error carrier, small helpers.
 *
 * Errors: functions that can fail on user input return 0 on success and -1 on
 * failure, after writing a one-line message into an Err. Messages name the file
 * and line when there is one ("data.csv:12: expected 4 columns, got 3"). The CLI
 * prints the message and exits non-zero; library code never exits on bad input.
 * Out-of-memory is not a user error: xmalloc aborts with a message. */
#ifndef CLT_COMMON_H
#define CLT_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

typedef struct Err {
    char msg[1024];
} Err;

/* Sets err->msg (printf-style) and returns -1 so callers can `return err_set(...)`.
 * Control characters (from quoted input) become '?': a message is one line. */
int err_set(Err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "prefix: " to an existing message (adds context on the way up). */
int err_prefix(Err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Aligned (64-byte) allocation for float buffers that feed sgemm/SIMD loops. */
float *xalloc_floats(size_t n);

/* True if `value` is one of the `sep`-separated tokens of `list`. */
int token_in_list(const char *list, char sep, const char *value);

/* Fatal internal error (a bug, not bad input): prints and aborts. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Growable array of int32 (used by loaders and samplers). */
typedef struct {
    int32_t *v;
    int64_t n, cap;
} I32Vec;
void i32vec_push(I32Vec *a, int32_t x);
void i32vec_free(I32Vec *a);

#endif
