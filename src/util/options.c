#include "util/options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>

#include "util/fileio.h"

static const OptSpec *find_spec(const OptSpec *specs, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(specs[i].name, name)) return &specs[i];
    return NULL;
}

int parse_int_list(const char *s, IntList *out, double lo, double hi, Err *err)
{
    out->n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || (*end && *end != ','))
            return err_set(err, "expected a comma-separated list of integers, got '%s'", s);
        if (v < lo || v > hi) return err_set(err, "list value %ld out of range [%g, %g]", v, lo, hi);
        if (out->n == OPT_LIST_MAX) return err_set(err, "list '%s' has more than %d values", s, OPT_LIST_MAX);
        out->v[out->n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (out->n == 0) return err_set(err, "expected at least one integer");
    return 0;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on")) *out = 1;
    else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off")) *out = 0;
    else return -1;
    return 0;
}

static int set_value(const OptSpec *s, void *target, const char *v, Err *err)
{
    char *field = (char *)target + s->offset;
    char *end;
    switch (s->type) {
    case OPT_INT: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno) return err_set(err, "--%s: expected an integer, got '%s'", s->name, v);
        if (x < s->lo || x > s->hi)
            return err_set(err, "--%s: %lld is out of range [%.0f, %.0f]", s->name, x, s->lo, s->hi);
        *(int *)field = (int)x;
        return 0;
    }
    case OPT_FLOAT: {
        errno = 0;
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x))
            return err_set(err, "--%s: expected a number, got '%s'", s->name, v);
        if (x < s->lo || x > s->hi) return err_set(err, "--%s: %g is out of range [%g, %g]", s->name, x, s->lo, s->hi);
        *(double *)field = x;
        return 0;
    }
    case OPT_STR:
        if (strlen(v) >= OPT_STR_MAX) return err_set(err, "--%s: value longer than %d bytes", s->name, OPT_STR_MAX - 1);
        if (s->choices && !token_in_list(s->choices, '|', v))
            return err_set(err, "--%s: expected one of %s, got '%s'", s->name, s->choices, v);
        strcpy(field, v);
        return 0;
    case OPT_BOOL: {
        int b;
        if (parse_bool(v, &b) < 0) return err_set(err, "--%s: expected true or false, got '%s'", s->name, v);
        *(int *)field = b;
        return 0;
    }
    case OPT_INT_LIST:
        if (parse_int_list(v, (IntList *)field, s->lo, s->hi, err) < 0) return err_prefix(err, "--%s", s->name);
        return 0;
    }
    return err_set(err, "--%s: bad option type", s->name);
}

void opt_defaults(const OptSpec *specs, int n, void *target)
{
    for (int i = 0; i < n; i++)
        if (set_value(&specs[i], target, specs[i].def, NULL) < 0 && specs[i].type != OPT_STR)
            die("bad default '%s' for option --%s", specs[i].def, specs[i].name);
}

int opt_set(const OptSpec *specs, int n, void *target, const char *name, const char *value, Err *err)
{
    const OptSpec *s = find_spec(specs, n, name);
    if (!s && !strncmp(name, "no-", 3)) {
        s = find_spec(specs, n, name + 3);
        if (s && s->type == OPT_BOOL) {
            if (value) {
                int b;
                if (parse_bool(value, &b) < 0) return err_set(err, "--%s: expected true or false, got '%s'", name, value);
                *(int *)((char *)target + s->offset) = !b;
            } else {
                *(int *)((char *)target + s->offset) = 0;
            }
            return 0;
        }
    }
    if (!s) return err_set(err, "unknown option --%s (see --help)", name);
    if (!value) {
        if (s->type != OPT_BOOL) return err_set(err, "--%s needs a value", name);
        value = "true";
    }
    return set_value(s, target, value, err);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

int opt_parse_file(const OptSpec *specs, int n, void *target, const char *path, Err *err)
{
    LineReader lr;
    if (lr_open(&lr, path, err) < 0) return -1;
    char *line;
    size_t len;
    int rc, ret = 0;
    while ((rc = lr_next(&lr, &line, &len, err)) == 1) {
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            ret = err_set(err, "%s:%lld: expected 'key = value', got '%s'", path, (long long)lr.lineno, s);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (opt_set(specs, n, target, key, val, err) < 0) {
            ret = err_prefix(err, "%s:%lld", path, (long long)lr.lineno);
            break;
        }
    }
    if (rc < 0) ret = -1;
    lr_close(&lr);
    return ret;
}

int opt_parse_argv(const OptSpec *specs, int n, void *target, int argc, char **argv, int *help, Err *err)
{
    *help = 0;
    /* The config file goes first so that any option on the command line wins. */
    for (int i = 0; i < argc; i++) {
        const char *cfg = NULL;
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) return err_set(err, "--config needs a file name");
            cfg = argv[i + 1];
        } else if (!strncmp(argv[i], "--config=", 9)) {
            cfg = argv[i] + 9;
        }
        if (cfg && opt_parse_file(specs, n, target, cfg, err) < 0) return -1;
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || !a[2]) return err_set(err, "unexpected argument '%s' (see --help)", a);
        char name[128];
        const char *eq = strchr(a + 2, '=');
        size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (nl >= sizeof name) return err_set(err, "option name too long: %s", a);
        memcpy(name, a + 2, nl);
        name[nl] = '\0';
        if (!strcmp(name, "config")) {
            if (!eq) i++;
            continue;
        }
        const char *value = eq ? eq + 1 : NULL;
        const OptSpec *s = find_spec(specs, n, name);
        int is_flag = (!s && !strncmp(name, "no-", 3)) || (s && s->type == OPT_BOOL);
        /* A boolean takes an explicit value only as --name=value, so that
         * `--flag positional` can never swallow the next word. */
        if (!value && !is_flag && s) {
            if (i + 1 >= argc) return err_set(err, "--%s needs a value", name);
            value = argv[++i];
        }
        if (opt_set(specs, n, target, name, value, err) < 0) return -1;
    }
    return 0;
}

void opt_write(const OptSpec *specs, int n, const void *target, FILE *f)
{
    for (int i = 0; i < n; i++) {
        const OptSpec *s = &specs[i];
        const char *field = (const char *)target + s->offset;
        fprintf(f, "%s = ", s->name);
        switch (s->type) {
        case OPT_INT: fprintf(f, "%d", *(const int *)field); break;
        case OPT_FLOAT: fprintf(f, "%.9g", *(const double *)field); break;
        case OPT_STR: fputs(field, f); break;
        case OPT_BOOL: fputs(*(const int *)field ? "true" : "false", f); break;
        case OPT_INT_LIST: {
            const IntList *l = (const IntList *)field;
            for (int j = 0; j < l->n; j++) fprintf(f, "%s%d", j ? "," : "", l->v[j]);
            break;
        }
        }
        fputc('\n', f);
    }
}

void opt_print_help(const OptSpec *specs, int n, const char *usage, FILE *f)
{
    fprintf(f, "%s\n\nOptions:\n", usage);
    for (int i = 0; i < n; i++) {
        const OptSpec *s = &specs[i];
        char left[96];
        const char *meta = s->type == OPT_INT ? " N" : s->type == OPT_FLOAT ? " X" : s->type == OPT_STR ? " S"
                         : s->type == OPT_INT_LIST ? " N,N,..." : "";
        if (s->type == OPT_BOOL) snprintf(left, sizeof left, "--[no-]%s", s->name);
        else snprintf(left, sizeof left, "--%s%s", s->name, meta);
        fprintf(f, "  %-28s %s", left, s->help);
        if (s->choices) fprintf(f, " {%s}", s->choices);
        if (s->def && *s->def) fprintf(f, " [%s]", s->def);
        fputc('\n', f);
    }
    fprintf(f, "  %-28s %s\n  %-28s %s\n", "--config FILE", "read 'key = value' lines first (command line wins)",
            "--help", "show this help");
}
