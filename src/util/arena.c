#include "util/arena.h"

#include "util/common.h"

struct ArenaBlock {
    ArenaBlock *next;
    void *mem;
};

static void *arena_alloc(Arena *a, size_t bytes)
{
    ArenaBlock *b = xmalloc(sizeof *b);
    b->mem = xalloc_floats((bytes + sizeof(float) - 1) / sizeof(float));
    memset(b->mem, 0, bytes ? bytes : 1);
    b->next = a->head;
    a->head = b;
    a->bytes += bytes;
    return b->mem;
}

float *arena_floats(Arena *a, size_t n) { return arena_alloc(a, n * sizeof(float)); }
int32_t *arena_i32(Arena *a, size_t n) { return arena_alloc(a, n * sizeof(int32_t)); }
int64_t *arena_i64(Arena *a, size_t n) { return arena_alloc(a, n * sizeof(int64_t)); }

void arena_free(Arena *a)
{
    for (ArenaBlock *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b->mem);
        free(b);
    }
    a->head = NULL;
    a->bytes = 0;
}
