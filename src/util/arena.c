#include "util/arena.h"

#include "util/common.h"

struct ArenaBlock {
    ArenaBlock *next;
    void *mem;
};

static void *arena_alloc(Arena *a, size_t bytes, int zero)
{
    ArenaBlock *b = xmalloc(sizeof *b);
    b->mem = xalloc_floats((bytes + sizeof(float) - 1) / sizeof(float));
    if (zero) memset(b->mem, 0, bytes ? bytes : 1);
    b->next = a->head;
    a->head = b;
    a->bytes += bytes;
    return b->mem;
}

/* Float buffers are activations and gradients, always written before they
 * are read: not zeroing them saves touching every page of a worst-case plan
 * (hundreds of MB for long sequences) that a typical batch never reaches. */
float *arena_floats(Arena *a, size_t n) { return arena_alloc(a, n * sizeof(float), 0); }
int32_t *arena_i32(Arena *a, size_t n) { return arena_alloc(a, n * sizeof(int32_t), 1); }
int64_t *arena_i64(Arena *a, size_t n) { return arena_alloc(a, n * sizeof(int64_t), 1); }

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
