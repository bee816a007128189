/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic arena functions: check arguments, then dispatch to the ops. Also
 * the helpers every arena shares (aml/src/arena/internal.h): a sorted array
 * of regions, searched by binary search, and counted area mappings.
 *
 * The generic realloc needs only usable_size, alloc and release: a block
 * large enough stays in place, otherwise a new one is allocated, the data
 * copied and the old block freed, in that order, so that a failure leaves
 * the old block as it was.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/arena.h>
#include <aml/error.h>

#include "aml/src/arena/internal.h"

static bool arena_is_valid(const struct aml_arena *arena)
{
	return arena != NULL && arena->ops != NULL;
}

static void *arena_alloc(struct aml_arena *arena, size_t size, size_t align)
{
	if (!arena_is_valid(arena) || size > PTRDIFF_MAX) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	/* malloc(0) is a unique block of the smallest size, as in glibc. */
	return arena->ops->alloc(
	        arena, size != 0 ? size : 1,
	        align > AML_ARENA_ALIGNMENT ? align : AML_ARENA_ALIGNMENT);
}

void *aml_arena_calloc(struct aml_arena *arena, size_t n, size_t size)
{
	if (size != 0 && n > PTRDIFF_MAX / size) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	void *p = arena_alloc(arena, n * size, AML_ARENA_ALIGNMENT);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}

void *
aml_arena_aligned_alloc(struct aml_arena *arena, size_t alignment, size_t size)
{
	if (alignment == 0 || (alignment & (alignment - 1)) != 0 ||
	    alignment > AML_ARENA_ALIGNMENT_MAX) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	return arena_alloc(arena, size, alignment);
}

void *aml_arena_realloc(struct aml_arena *arena, void *ptr, size_t size)
{
	if (ptr == NULL)
		return aml_arena_malloc(arena, size);
	size_t old;
	if (!arena_is_valid(arena) || size > PTRDIFF_MAX ||
	    arena->ops->usable_size(arena, ptr, &old) != 0) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	if (size == 0)
		size = 1;
	if (arena->ops->resize != NULL)
		return arena->ops->resize(arena, ptr, size);
	if (size <= old)
		return ptr;
	void *p = arena->ops->alloc(arena, size, AML_ARENA_ALIGNMENT);
	if (p == NULL)
		return NULL;
	memcpy(p, ptr, old);
	arena->ops->release(arena, ptr);
	return p;
}

int aml_arena_usable_size(const struct aml_arena *arena,
                          const void *ptr,
                          size_t *out)
{
	if (out != NULL)
		*out = 0;
	if (!arena_is_valid(arena) || ptr == NULL || out == NULL)
		return AML_EINVAL;
	return arena->ops->usable_size(arena, ptr, out);
}

int aml_arena_reset(struct aml_arena *arena)
{
	if (!arena_is_valid(arena))
		return AML_EINVAL;
	if (arena->ops->reset == NULL)
		return AML_ENOTSUP;
	return arena->ops->reset(arena);
}

int aml_arena_stats(const struct aml_arena *arena, struct aml_arena_stats *out)
{
	if (out != NULL)
		*out = (struct aml_arena_stats){0};
	if (!arena_is_valid(arena) || out == NULL)
		return AML_EINVAL;
	if (arena->ops->stats == NULL)
		return AML_ENOTSUP;
	return arena->ops->stats(arena, out);
}

/* ---- Shared helpers ---- */

/* Index of the first entry that starts after @p addr. */
static size_t index_upper_bound(const struct aml_arena_index *index,
                                uintptr_t addr)
{
	size_t lo = 0, hi = index->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (index->entries[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int aml_arena_index_insert(struct aml_arena_index *index,
                           uintptr_t start,
                           size_t size,
                           void *meta)
{
	if (index->n == index->cap) {
		size_t cap = index->cap != 0 ? 2 * index->cap : 16;
		struct aml_arena_index_entry *e =
		        realloc(index->entries, cap * sizeof(*e));
		if (e == NULL)
			return AML_ENOMEM;
		index->entries = e;
		index->cap = cap;
	}
	size_t at = index_upper_bound(index, start);
	memmove(&index->entries[at + 1], &index->entries[at],
	        (index->n - at) * sizeof(index->entries[0]));
	index->entries[at] = (struct aml_arena_index_entry){
	        .start = start, .size = size, .meta = meta};
	index->n++;
	return 0;
}

struct aml_arena_index_entry *
aml_arena_index_find(const struct aml_arena_index *index, uintptr_t addr)
{
	size_t at = index_upper_bound(index, addr);
	if (at == 0)
		return NULL;
	struct aml_arena_index_entry *e = &index->entries[at - 1];
	return addr - e->start < e->size ? e : NULL;
}

void aml_arena_index_remove(struct aml_arena_index *index,
                            struct aml_arena_index_entry *entry)
{
	size_t at = (size_t)(entry - index->entries);
	memmove(entry, entry + 1, (index->n - at - 1) * sizeof(*entry));
	index->n--;
}

void aml_arena_index_fini(struct aml_arena_index *index)
{
	free(index->entries);
	*index = (struct aml_arena_index){0};
}

void *aml_arena_map(const struct aml_area *area,
                    struct aml_arena_stats *st,
                    size_t size,
                    size_t alignment)
{
	struct aml_area_mmap_options opts = {.alignment = alignment};
	void *p = aml_area_mmap(area, size, alignment != 0 ? &opts : NULL);
	if (p == NULL)
		return NULL;
	st->maps++;
	st->mapped_bytes += size;
	if (st->mapped_bytes > st->peak_mapped_bytes)
		st->peak_mapped_bytes = st->mapped_bytes;
	return p;
}

void aml_arena_unmap(const struct aml_area *area,
                     struct aml_arena_stats *st,
                     void *ptr,
                     size_t size)
{
	/* Only ever called on a mapping of this arena: cannot fail. */
	aml_area_munmap(area, ptr, size);
	st->unmaps++;
	st->mapped_bytes -= size;
}
