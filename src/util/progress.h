/* progress.h — progress output for long loops.
 *
 * On a terminal: one self-overwriting line with a bar, rate and ETA. Otherwise
 * (logs, CI): a plain line at most every `interval` seconds, so logs stay
 * readable. Quiet mode prints nothing. */
#ifndef CLT_PROGRESS_H
#define CLT_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct Progress {
    FILE *out;
    char label[96];
    const char *unit;    /* "ex", "users", ... */
    int64_t total, done;
    double start, last_print, interval;
    int tty, quiet;
    char extra[96];      /* e.g. "loss 4.213" appended to the line */
} Progress;

void progress_begin(Progress *p, const char *label, int64_t total, const char *unit, int quiet);
/* Adds n to the count; prints when due. */
void progress_add(Progress *p, int64_t n);
void progress_set_extra(Progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the final line (always, unless quiet) and returns elapsed seconds. */
double progress_end(Progress *p);

#endif
