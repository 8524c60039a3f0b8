#include "util/json.h"

#include <math.h>

void jw_init(JsonWriter *w, FILE *f, int pretty)
{
    w->f = f;
    w->depth = 0;
    w->count[0] = 0;
    w->pretty = pretty;
}

void json_write_escaped(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void member(JsonWriter *w, const char *key)
{
    if (w->count[w->depth]++ > 0) fputc(',', w->f);
    if (w->pretty && w->depth > 0) {
        fputc('\n', w->f);
        for (int i = 0; i < w->depth; i++) fputs("  ", w->f);
    }
    if (key) {
        json_write_escaped(w->f, key);
        fputs(w->pretty ? ": " : ":", w->f);
    }
}

static void open_scope(JsonWriter *w, const char *key, char c)
{
    member(w, key);
    fputc(c, w->f);
    if (w->depth + 1 < JSON_MAX_DEPTH) w->count[++w->depth] = 0;
}

static void close_scope(JsonWriter *w, char c)
{
    int had = w->count[w->depth] > 0;
    if (w->depth > 0) w->depth--;
    if (w->pretty && had) {
        fputc('\n', w->f);
        for (int i = 0; i < w->depth; i++) fputs("  ", w->f);
    }
    fputc(c, w->f);
    if (w->depth == 0 && w->pretty) fputc('\n', w->f);
}

void jw_object_begin(JsonWriter *w, const char *key) { open_scope(w, key, '{'); }
void jw_object_end(JsonWriter *w) { close_scope(w, '}'); }
void jw_array_begin(JsonWriter *w, const char *key) { open_scope(w, key, '['); }
void jw_array_end(JsonWriter *w) { close_scope(w, ']'); }

void jw_string(JsonWriter *w, const char *key, const char *v)
{
    member(w, key);
    json_write_escaped(w->f, v);
}

void jw_number(JsonWriter *w, const char *key, double v)
{
    member(w, key);
    if (isfinite(v)) fprintf(w->f, "%.10g", v);
    else fputs("null", w->f);
}

void jw_int(JsonWriter *w, const char *key, long long v)
{
    member(w, key);
    fprintf(w->f, "%lld", v);
}

void jw_bool(JsonWriter *w, const char *key, int v)
{
    member(w, key);
    fputs(v ? "true" : "false", w->f);
}
