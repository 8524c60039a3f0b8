#include "util/strtab.h"

#include "util/common.h"

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

void strtab_init(StrTab *t)
{
    memset(t, 0, sizeof *t);
    t->nslots = 1024;
    t->slots = xcalloc(t->nslots, sizeof *t->slots);
}

void strtab_free(StrTab *t)
{
    free(t->pool);
    free(t->off);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static uint32_t probe(const StrTab *t, const char *s, size_t len, int *found)
{
    uint32_t mask = t->nslots - 1, i = (uint32_t)hash_bytes(s, len) & mask;
    for (;; i = (i + 1) & mask) {
        int32_t v = t->slots[i];
        if (v == 0) {
            *found = 0;
            return i;
        }
        const char *c = t->pool + t->off[v - 1];
        if (strncmp(c, s, len) == 0 && c[len] == '\0') {
            *found = 1;
            return i;
        }
    }
}

static void grow_slots(StrTab *t)
{
    uint32_t n = t->nslots * 2;
    int32_t *slots = xcalloc(n, sizeof *slots);
    for (int32_t k = 0; k < t->n; k++) {
        const char *s = t->pool + t->off[k];
        uint32_t i = (uint32_t)hash_bytes(s, strlen(s)) & (n - 1);
        while (slots[i]) i = (i + 1) & (n - 1);
        slots[i] = k + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
}

int32_t strtab_find(const StrTab *t, const char *s, size_t len)
{
    int found;
    uint32_t i = probe(t, s, len, &found);
    return found ? t->slots[i] - 1 : -1;
}

int32_t strtab_intern(StrTab *t, const char *s, size_t len)
{
    int found;
    uint32_t i = probe(t, s, len, &found);
    if (found) return t->slots[i] - 1;
    if (t->n == INT32_MAX - 1) die("more than 2^31 distinct ids");
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->off = xrealloc(t->off, (size_t)t->cap * sizeof *t->off);
    }
    if (t->pool_len + len + 1 > t->pool_cap) {
        t->pool_cap = MAX(t->pool_cap * 2, t->pool_len + len + 1 + 4096);
        t->pool = xrealloc(t->pool, t->pool_cap);
    }
    memcpy(t->pool + t->pool_len, s, len);
    t->pool[t->pool_len + len] = '\0';
    t->off[t->n] = (int64_t)t->pool_len;
    t->pool_len += len + 1;
    t->slots[i] = ++t->n;
    if ((uint64_t)t->n * 2 > t->nslots) grow_slots(t);
    return t->n - 1;
}
