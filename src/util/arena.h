/* arena.h — a bump allocator for buffers planned once (activations,
 * gradients, scratch): every buffer a model needs for its batch shape is
 * carved at build time and released together; hot loops never allocate. */
#ifndef CLT_ARENA_H
#define CLT_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct ArenaBlock ArenaBlock;

typedef struct Arena {
    ArenaBlock *head;
    size_t bytes;      /* total handed out, for memory reports */
} Arena;

/* 64-byte aligned. Float buffers are NOT zeroed; integer buffers are. */
float *arena_floats(Arena *a, size_t n);
int32_t *arena_i32(Arena *a, size_t n);
int64_t *arena_i64(Arena *a, size_t n);
void arena_free(Arena *a);

#endif
