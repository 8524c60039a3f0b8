/* strtab.h — interning of raw ids (strings) to dense indices.
 *
 * Raw user/item/category ids are kept as strings so that any id a file uses
 * ("A1B2C3", "42", "2661.0") round-trips unchanged to exports and the server.
 * Open addressing with linear probing; strings live in one growing pool. */
#ifndef CLT_STRTAB_H
#define CLT_STRTAB_H

#include <stdint.h>
#include <stddef.h>

typedef struct StrTab {
    char *pool;           /* NUL-terminated strings back to back */
    size_t pool_len, pool_cap;
    int64_t *off;         /* (n) offset of string i in pool */
    int32_t n, cap;       /* strings, capacity of off[] */
    int32_t *slots;       /* hash slots holding index+1, 0 = empty */
    uint32_t nslots;      /* power of two */
} StrTab;

void strtab_init(StrTab *t);
void strtab_free(StrTab *t);
/* Returns the index of s, adding it if new. len excludes the NUL. */
int32_t strtab_intern(StrTab *t, const char *s, size_t len);
/* Returns the index of s or -1. */
int32_t strtab_find(const StrTab *t, const char *s, size_t len);
static inline const char *strtab_get(const StrTab *t, int32_t i) { return t->pool + t->off[i]; }

#endif
