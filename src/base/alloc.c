/* alloc.c - where the library's objects get their memory: the heap by
 * default, or a caller's allocator (bp_alloc_set), e.g. one buffer cut by
 * bp_arena, so that a device trains with no malloc at all. Each object keeps
 * the allocator it was created with (bp__alloc) for its later growth and its
 * free, so the setting is read only at creation. */
#include "base.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The calling thread's allocator for objects it creates; alloc NULL: the heap.
 * Per thread like bp_last_error: threads that create objects at the same time
 * never see each other's setting. */
static _Thread_local bp_allocator current;

void bp_alloc_set(const bp_allocator *a)
{
    if (a && a->alloc)
        current = *a;
    else
        memset(&current, 0, sizeof current);
}

bp__alloc bp__alloc_current(void) { return current; }

size_t bp__alloc_bytes(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return 0;
    size_t bytes = (n ? n : 1) * (size ? size : 1);
    if (bytes > SIZE_MAX - (BP_ARENA_ALIGN - 1)) return 0;
    return (bytes + BP_ARENA_ALIGN - 1) / BP_ARENA_ALIGN * BP_ARENA_ALIGN;
}

static void *arena_alloc(void *ctx, size_t size, size_t align);

void *bp__alloc_calloc(const bp__alloc *a, size_t n, size_t size)
{
    if (!a->alloc) return bp__calloc(n, size);
    size_t bytes = bp__alloc_bytes(n, size);
    if (!bytes) {
        bp__fail(BP_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    void *p = a->alloc(a->ctx, bytes, BP_ARENA_ALIGN);
    if (!p) {
        if (a->alloc != arena_alloc) /* the arena said how much was left */
            bp__fail(BP_ERR_NOMEM, "the allocator (bp_alloc_set) gave no memory for %zu bytes",
                     bytes);
        return NULL;
    }
    return memset(p, 0, bytes);
}

void bp__heap_free(void *p)
{
#ifndef BP_NO_HEAP /* then nothing came from the heap (bp__calloc fails) */
    free(p);
#else
    (void)p;
#endif
}

void bp__alloc_free(const bp__alloc *a, void *p)
{
    if (!p) return;
    if (!a->alloc)
        bp__heap_free(p);
    else if (a->free)
        a->free(a->ctx, p);
}

/* ---------------------------------------------------------------- arena */

void bp_arena_init(bp_arena *a, void *buf, size_t size)
{
    uintptr_t at = (uintptr_t)buf, aligned = (at + BP_ARENA_ALIGN - 1) & ~(uintptr_t)(BP_ARENA_ALIGN - 1);
    size_t skip = (size_t)(aligned - at);
    a->base = buf ? (unsigned char *)buf + (skip < size ? skip : size) : NULL;
    a->size = buf && skip < size ? size - skip : 0;
    a->used = 0;
}

/* The next `size` bytes at a multiple of `align` from the (aligned) base, or
 * NULL with a message; never past the end. */
static void *arena_alloc(void *ctx, size_t size, size_t align)
{
    bp_arena *a = ctx;
    size_t start = (a->used + align - 1) / align * align;
    if (start < a->used || start > a->size || size > a->size - start) {
        bp__fail(BP_ERR_NOMEM, "arena: %zu bytes asked with %zu of its %zu left (size the "
                 "buffer with bp_train_memory)", size, a->size - a->used, a->size);
        return NULL;
    }
    a->used = start + size;
    return a->base + start;
}

/* Nothing is given back one piece at a time: bp_arena_reset frees it all. */
static void arena_free(void *ctx, void *p) { (void)ctx, (void)p; }

bp_allocator bp_arena_allocator(bp_arena *a)
{
    return (bp_allocator){arena_alloc, arena_free, a};
}

size_t bp_arena_used(const bp_arena *a) { return a->used; }
void bp_arena_reset(bp_arena *a) { a->used = 0; }
