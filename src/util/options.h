/* options.h — table-driven command-line and config-file options.
 *
 * One table (OptSpec[]) per subcommand describes every option once: its name,
 * type, default, range and help. The same table parses `--name value`,
 * `--name=value`, boolean `--name` / `--no-name`, `key = value` config files
 * (`--config FILE`; the command line wins), prints --help, and writes the
 * configuration actually used. Values land in a plain struct via offsetof, so
 * the rest of the program reads ordinary fields. */
#ifndef CLT_OPTIONS_H
#define CLT_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "util/common.h"

enum { OPT_STR_MAX = 512, OPT_LIST_MAX = 16 };

typedef enum { OPT_INT, OPT_FLOAT, OPT_STR, OPT_BOOL, OPT_INT_LIST } OptType;

typedef struct IntList {
    int v[OPT_LIST_MAX];
    int n;
} IntList;

typedef struct OptSpec {
    const char *name;    /* long name without "--" */
    OptType type;
    size_t offset;       /* field offset in the target struct */
    const char *def;     /* default value as text ("" = empty / unset) */
    const char *help;
    double lo, hi;       /* inclusive numeric range (ints, floats, list items) */
    const char *choices; /* for strings: "a|b|c", NULL = free text */
} OptSpec;

/* Sets every field to its default. */
void opt_defaults(const OptSpec *specs, int n, void *target);
/* Parses argv (after the subcommand). Recognizes --config FILE (applied first).
 * Returns 0, or -1 with a one-line message (caller exits 2). Sets *help when
 * --help/-h is present. */
int opt_parse_argv(const OptSpec *specs, int n, void *target, int argc, char **argv, int *help, Err *err);
/* Applies a `key = value` file ('#' comments, blank lines allowed). */
int opt_parse_file(const OptSpec *specs, int n, void *target, const char *path, Err *err);
/* Sets one option from text; `name` may be "no-X" for a boolean X. */
int opt_set(const OptSpec *specs, int n, void *target, const char *name, const char *value, Err *err);
/* Writes `key = value` lines for every option (a config file opt_parse_file reads back). */
void opt_write(const OptSpec *specs, int n, const void *target, FILE *f);
void opt_print_help(const OptSpec *specs, int n, const char *usage, FILE *f);
/* Parses "10,20,50" into a list (each in [lo, hi]). */
int parse_int_list(const char *s, IntList *out, double lo, double hi, Err *err);

#endif
