/* loader.h — reading interaction logs in the supported formats.
 *
 * Each format is one file (load_<format>.c) with one function that reads the
 * file into an EventLog; dataset_load() picks it by name, adds the optional
 * item-features file and builds the Dataset. Errors name file:line and what
 * was expected. Gzipped input is read transparently. */
#ifndef CLT_LOADER_H
#define CLT_LOADER_H

#include "data/dataset.h"

typedef struct LoadOptions {
    const char *path;
    const char *format;        /* seq | comirec | tmall | taobao | recbole | movielens */
    const char *item_features; /* optional: JSON {"item": [ids]} or CSV item,feature ("" = none) */
    const char *actions;       /* tmall/taobao: comma list of action values to keep ("" = all) */
    double min_rating;         /* movielens/recbole: keep ratings >= this (0 = keep all) */
    BuildOptions build;
} LoadOptions;

typedef int (*FormatLoader)(const LoadOptions *opt, EventLog *log, Err *err);

typedef struct FormatInfo {
    const char *name;
    FormatLoader load;
    const char *summary;
} FormatInfo;

/* The formats table, NULL-terminated. */
extern const FormatInfo g_formats[];
const FormatInfo *format_find(const char *name);

int dataset_load(const LoadOptions *opt, Dataset *ds, Err *err);

/* Per-format readers (one file each). */
int load_seq(const LoadOptions *opt, EventLog *log, Err *err);
int load_comirec(const LoadOptions *opt, EventLog *log, Err *err);
int load_tmall(const LoadOptions *opt, EventLog *log, Err *err);
int load_taobao(const LoadOptions *opt, EventLog *log, Err *err);
int load_recbole(const LoadOptions *opt, EventLog *log, Err *err);
int load_movielens(const LoadOptions *opt, EventLog *log, Err *err);
/* Item side features (JSON object or CSV), for items already in the log. */
int load_item_features(const char *path, EventLog *log, Err *err);

/* ---- helpers shared by the readers -------------------------------------- */

/* Splits line in place at every `delim`; returns the number of fields (stops
 * filling after max but keeps counting). Fields are NUL-terminated. */
int split_fields(char *line, char delim, char **fields, int max);
/* Splits on runs of spaces/tabs (for whitespace-separated formats). */
int split_ws(char *line, char **fields, int max);
/* Strict integer / number parsing of a whole field (no trailing junk). */
int parse_i64(const char *s, int64_t *out);
int parse_f64(const char *s, double *out);
/* True if `value` is in the comma-separated `list` ("" matches everything). */
int list_contains(const char *list, const char *value);

/* ---- row-by-row reading of delimited text (the CSV/TSV/"::" formats) ---- */

enum { ROW_MAX_FIELDS = 256 };

/* One non-blank line, split in place. Fields past ROW_MAX_FIELDS are an error
 * reported by for_each_row, so a callback may index f[0 .. n) freely. */
typedef struct Row {
    const char *path;
    int64_t lineno; /* 1-based line number in the file (for messages) */
    int64_t index;  /* 0-based count of non-blank lines before this one (0 = header) */
    int n;          /* number of fields */
    char *f[ROW_MAX_FIELDS];
} Row;

typedef int (*RowFn)(void *ctx, Row *row, Err *err);

/* Calls fn for every non-blank line of path (plain or gzip) split on sep: one
 * character (",", "\t", "|") or a string such as MovieLens-1M's "::". Drops a
 * leading UTF-8 byte-order mark. Stops at the first error. Returns the number
 * of rows seen, or -1. */
int64_t for_each_row(const char *path, const char *sep, RowFn fn, void *ctx, Err *err);

/* Error helpers: each writes "path:line: expected ..., got ..." and returns -1
 * (or returns 0 when the field is fine). `what` names the field in messages. */
int row_error(const Row *r, Err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int row_expect_fields(const Row *r, int want, const char *layout, Err *err);
int row_id(const Row *r, int col, const char *what, Err *err);
int row_i64(const Row *r, int col, const char *what, int64_t *out, Err *err);
int row_f64(const Row *r, int col, const char *what, double *out, Err *err);

/* Index of the first field equal to name, or -1 (header lookups). */
int find_field(char *const *fields, int n, const char *name);
/* Copies the first non-blank line of path (truncated to cap-1 bytes) into buf;
 * buf is "" when the file has none. For sniffing a variant before reading. */
int peek_first_line(const char *path, char *buf, size_t cap, Err *err);
/* Checks every value of the --actions list is in `allowed` (comma list). */
int check_action_list(const char *actions, const char *allowed, Err *err);
/* The loaders' common last step: fails when nothing was read ("empty file")
 * or everything was filtered out (data_rows > 0, but no events). */
int require_events(const char *path, const EventLog *log, int64_t data_rows, Err *err);

#endif
