#include "util/progress.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "util/timer.h"

void progress_begin(Progress *p, const char *label, int64_t total, const char *unit, int quiet)
{
    memset(p, 0, sizeof *p);
    p->out = stderr;
    snprintf(p->label, sizeof p->label, "%s", label);
    p->unit = unit;
    p->total = total;
    p->quiet = quiet;
    p->tty = isatty(fileno(stderr));
    p->interval = p->tty ? 0.2 : 10.0;
    p->start = p->last_print = now_seconds();
}

void progress_set_extra(Progress *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->extra, sizeof p->extra, fmt, ap);
    va_end(ap);
}

static void format_eta(double s, char *buf, size_t n)
{
    if (s < 0 || s > 1e7) snprintf(buf, n, "--:--");
    else if (s >= 3600) snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, ((int)s / 60) % 60, (int)s % 60);
    else snprintf(buf, n, "%02d:%02d", (int)s / 60, (int)s % 60);
}

static void print_line(Progress *p, double now, int final)
{
    double el = now - p->start;
    double rate = el > 0 ? (double)p->done / el : 0;
    double frac = p->total > 0 ? (double)p->done / (double)p->total : 0;
    char eta[32];
    format_eta(rate > 0 && !final ? (double)(p->total - p->done) / rate : el, eta, sizeof eta);
    const char *eta_label = final ? "took" : "eta";
    if (p->tty) {
        char bar[26];
        int fill = (int)(frac * 24 + 0.5);
        for (int i = 0; i < 24; i++) bar[i] = i < fill ? '#' : '.';
        bar[24] = '\0';
        fprintf(p->out, "\r%s [%s] %3d%% %.0f %s/s %s %s %s\033[K%s", p->label, bar, (int)(frac * 100),
                rate, p->unit, eta_label, eta, p->extra, final ? "\n" : "");
    } else {
        fprintf(p->out, "%s %lld/%lld (%d%%) %.0f %s/s %s %s %s\n", p->label, (long long)p->done,
                (long long)p->total, (int)(frac * 100), rate, p->unit, eta_label, eta, p->extra);
    }
    fflush(p->out);
}

void progress_add(Progress *p, int64_t n)
{
    p->done += n;
    if (p->quiet) return;
    double now = now_seconds();
    if (now - p->last_print >= p->interval) {
        p->last_print = now;
        print_line(p, now, 0);
    }
}

double progress_end(Progress *p)
{
    double now = now_seconds();
    if (!p->quiet) print_line(p, now, 1);
    return now - p->start;
}
