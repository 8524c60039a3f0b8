#include "data/loader.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>

#include "util/fileio.h"

const FormatInfo g_formats[] = {
    {"seq", load_seq, "one user per line: user item item ... (SASRec/ICLRec files)"},
    {"comirec", load_comirec, "CSV user_id,item_id,cate_id,timestamp or user_id,item_id,timestamp (ComiRec)"},
    {"tmall", load_tmall, "IJCAI-15 user_log_format1.csv (header; time_stamp mmdd; action_type)"},
    {"taobao", load_taobao, "UserBehavior.csv: user,item,category,behavior,timestamp (no header)"},
    {"recbole", load_recbole, "RecBole atomic .inter file (TSV with typed header)"},
    {"movielens", load_movielens, "ml-100k u.data or ml-1m ratings.dat (+ u.item / movies.dat genres)"},
    {NULL, NULL, NULL},
};

const FormatInfo *format_find(const char *name)
{
    for (const FormatInfo *f = g_formats; f->name; f++)
        if (!strcmp(f->name, name)) return f;
    return NULL;
}

int dataset_load(const LoadOptions *opt, Dataset *ds, Err *err)
{
    const FormatInfo *fmt = format_find(opt->format);
    if (!fmt) return err_set(err, "unknown data format '%s' (expected seq, comirec, tmall, taobao, recbole or movielens)", opt->format);
    EventLog log;
    evlog_init(&log);
    if (fmt->load(opt, &log, err) < 0) {
        evlog_free(&log);
        return -1;
    }
    if (opt->item_features && *opt->item_features && load_item_features(opt->item_features, &log, err) < 0) {
        evlog_free(&log);
        return -1;
    }
    if (dataset_build(&log, &opt->build, ds, err) < 0) return err_prefix(err, "%s", opt->path);
    return 0;
}

int split_fields(char *line, char delim, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *d = strchr(p, delim);
        if (n < max) fields[n] = p;
        n++;
        if (!d) break;
        *d = '\0';
        p = d + 1;
    }
    return n;
}

int split_ws(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        if (n < max) fields[n] = p;
        n++;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (!*p) break;
        *p++ = '\0';
    }
    return n;
}

int parse_i64(const char *s, int64_t *out)
{
    if (!*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno) return -1;
    *out = v;
    return 0;
}

int parse_f64(const char *s, double *out)
{
    if (!*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int list_contains(const char *list, const char *value)
{
    return !list || !*list || token_in_list(list, ',', value);
}

/* ---- row-by-row reading ---------------------------------------------------- */

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t') return 0;
    return 1;
}

/* Spreadsheet exports often start with a UTF-8 byte-order mark; it would
 * otherwise become part of the first id or header name. */
static char *skip_bom(char *line, int64_t lineno)
{
    return lineno == 1 && !strncmp(line, "\xEF\xBB\xBF", 3) ? line + 3 : line;
}

/* split_fields for a multi-character separator ("::"). */
static int split_str(char *line, const char *sep, char **fields, int max)
{
    size_t sl = strlen(sep);
    int n = 0;
    for (char *p = line;;) {
        char *d = strstr(p, sep);
        if (n < max) fields[n] = p;
        n++;
        if (!d) break;
        *d = '\0';
        p = d + sl;
    }
    return n;
}

int64_t for_each_row(const char *path, const char *sep, RowFn fn, void *ctx, Err *err)
{
    LineReader lr;
    if (lr_open(&lr, path, err) < 0) return -1;
    Row r = {.path = path};
    char *line;
    size_t len;
    int rc = 0, failed = 0;
    int64_t rows = 0;
    while (!failed && (rc = lr_next(&lr, &line, &len, err)) == 1) {
        line = skip_bom(line, lr.lineno);
        if (is_blank(line)) continue; /* e.g. the trailing blank lines of u.genre */
        r.lineno = lr.lineno;
        r.index = rows++;
        r.n = sep[1] ? split_str(line, sep, r.f, ROW_MAX_FIELDS) : split_fields(line, sep[0], r.f, ROW_MAX_FIELDS);
        if (r.n > ROW_MAX_FIELDS)
            failed = row_error(&r, err, "expected at most %d fields, got %d", ROW_MAX_FIELDS, r.n);
        else failed = fn(ctx, &r, err);
    }
    lr_close(&lr);
    return failed || rc < 0 ? -1 : rows;
}

int row_error(const Row *r, Err *err, const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(err, "%s:%lld: %s", r->path, (long long)r->lineno, msg);
}

int row_expect_fields(const Row *r, int want, const char *layout, Err *err)
{
    if (r->n == want) return 0;
    return row_error(r, err, "expected %d fields (%s), got %d", want, layout, r->n);
}

int row_id(const Row *r, int col, const char *what, Err *err)
{
    if (r->f[col][0]) return 0;
    return row_error(r, err, "expected a non-empty %s (field %d), got an empty field", what, col + 1);
}

int row_i64(const Row *r, int col, const char *what, int64_t *out, Err *err)
{
    errno = 0; /* parse_i64 may fail before strtoll runs; only strtoll sets ERANGE */
    if (parse_i64(r->f[col], out) == 0) return 0;
    if (errno == ERANGE) /* the digits overflow int64 */
        return row_error(r, err, "expected %s within the 64-bit integer range, got '%.40s'", what, r->f[col]);
    return row_error(r, err, "expected an integer %s (field %d), got '%.40s'", what, col + 1, r->f[col]);
}

int row_f64(const Row *r, int col, const char *what, double *out, Err *err)
{
    if (parse_f64(r->f[col], out) == 0) return 0;
    return row_error(r, err, "expected a number for %s (field %d), got '%.40s'", what, col + 1, r->f[col]);
}

int find_field(char *const *fields, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(fields[i], name)) return i;
    return -1;
}

int peek_first_line(const char *path, char *buf, size_t cap, Err *err)
{
    LineReader lr;
    if (lr_open(&lr, path, err) < 0) return -1;
    char *line;
    size_t len;
    int rc;
    buf[0] = '\0';
    while ((rc = lr_next(&lr, &line, &len, err)) == 1) {
        line = skip_bom(line, lr.lineno);
        if (is_blank(line)) continue;
        snprintf(buf, cap, "%s", line);
        break;
    }
    lr_close(&lr);
    return rc < 0 ? -1 : 0;
}

int check_action_list(const char *actions, const char *allowed, Err *err)
{
    if (!actions || !*actions) return 0; /* "" = keep every action */
    for (const char *p = actions;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        char value[64];
        if (n == 0 || n >= sizeof value)
            return err_set(err, "--actions '%s': expected a comma-separated list of %s", actions, allowed);
        memcpy(value, p, n);
        value[n] = '\0';
        if (!list_contains(allowed, value))
            return err_set(err, "--actions '%s': expected values among %s, got '%s'", actions, allowed, value);
        if (!c) break;
        p = c + 1;
    }
    return 0;
}

int require_events(const char *path, const EventLog *log, int64_t data_rows, Err *err)
{
    if (log->n_events > 0) return 0;
    if (data_rows == 0) return err_set(err, "%s: no interactions (empty file?)", path);
    return err_set(err, "%s: no interactions kept: the --actions / --min-rating filters dropped all %lld rows", path,
                   (long long)data_rows);
}
