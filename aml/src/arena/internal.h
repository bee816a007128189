/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the arenas in aml/src/arena: the sorted index of regions, and
 * mapping through the area while counting in struct aml_arena_stats.
 */
#ifndef AML_SRC_ARENA_INTERNAL_H
#define AML_SRC_ARENA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <aml/arena.h>

/* Round @p x up to @p align, a power of two; the caller rules out overflow. */
static inline uintptr_t aml_arena_align_up(uintptr_t x, size_t align)
{
	return (x + align - 1) & ~(uintptr_t)(align - 1);
}

/*
 * Add [start, start + size) with @p meta; it must not overlap an entry.
 * Returns 0 or AML_ENOMEM (the index is unchanged).
 */
int aml_arena_index_insert(struct aml_arena_index *index,
                           uintptr_t start,
                           size_t size,
                           void *meta);

/* The entry whose range holds @p addr, or NULL. O(log n). */
struct aml_arena_index_entry *
aml_arena_index_find(const struct aml_arena_index *index, uintptr_t addr);

/* Remove @p entry, a pointer into index->entries. */
void aml_arena_index_remove(struct aml_arena_index *index,
                            struct aml_arena_index_entry *entry);

/* Free the index's memory (not the regions). */
void aml_arena_index_fini(struct aml_arena_index *index);

/* aml_area_mmap() with @p alignment (0: the page size), counted in @p st. */
void *aml_arena_map(const struct aml_area *area,
                    struct aml_arena_stats *st,
                    size_t size,
                    size_t alignment);

/* aml_area_munmap(), counted in @p st. */
void aml_arena_unmap(const struct aml_area *area,
                     struct aml_arena_stats *st,
                     void *ptr,
                     size_t size);

struct aml_arena_buddy;

/* Call @p fn on every live block of a buddy arena (address, usable size):
 * chunks of regions and large blocks, by address. For the arenas built
 * on a buddy (the scalable arena's large blocks); the caller serialises. */
void aml_arena_buddy_foreach(const struct aml_arena_buddy *buddy,
                             void (*fn)(void *ptr, size_t size, void *arg),
                             void *arg);

#endif /* AML_SRC_ARENA_INTERNAL_H */
