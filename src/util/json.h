/* json.h — a small streaming JSON writer (metrics, logs, HTTP responses).
 * Handles commas, nesting and string escaping; reading JSON uses cJSON. */
#ifndef CLT_JSON_H
#define CLT_JSON_H

#include <stdio.h>

enum { JSON_MAX_DEPTH = 32 };

typedef struct JsonWriter {
    FILE *f;
    int depth;
    int count[JSON_MAX_DEPTH]; /* members written at each level */
    int pretty;
} JsonWriter;

void jw_init(JsonWriter *w, FILE *f, int pretty);
/* key is NULL inside arrays and at top level. */
void jw_object_begin(JsonWriter *w, const char *key);
void jw_object_end(JsonWriter *w);
void jw_array_begin(JsonWriter *w, const char *key);
void jw_array_end(JsonWriter *w);
void jw_string(JsonWriter *w, const char *key, const char *v);
void jw_number(JsonWriter *w, const char *key, double v);
void jw_int(JsonWriter *w, const char *key, long long v);
void jw_bool(JsonWriter *w, const char *key, int v);
/* Writes a JSON string literal with escaping. */
void json_write_escaped(FILE *f, const char *s);

#endif
