/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bump arena (aml/arena/bump.h).
 *
 * Regions live in arena->regions, by address. Blocks are carved from the
 * current region only: [current, top) is in use, [top, end) free. Retired
 * regions keep their used end as the index entry's meta; a region made for
 * one large block has meta NULL and is unmapped when that block is freed.
 *
 * Each block is preceded by a 16-byte header: its size, and a tag equal to
 * its own address xor BUMP_LIVE (or BUMP_DEAD once freed). free() accepts a
 * pointer only if it is 16-aligned, inside the used part of a region and
 * behind a header whose tag matches: a pointer into the middle of a block
 * or a stale one fails the tag check, and reading the header is safe
 * because it lies inside a region this arena mapped. (A forged header can
 * fool the check; no arena without per-block tables can do better.)
 *
 * Only the last block gives its memory back on free: top returns to where
 * it was before that block was carved. That is what makes
 * malloc+free in a loop cost two pointer updates.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/arena/bump.h>
#include <aml/device.h>
#include <aml/error.h>

#include "aml/src/arena/internal.h"

#define BUMP_HEADER 16
#define BUMP_LIVE   ((uintptr_t)0x5bd1e995a3c59ac3ULL)
#define BUMP_DEAD   ((uintptr_t)0x9e3779b97f4a7c15ULL)

struct bump_header {
	size_t size;
	uintptr_t tag;
};

_Static_assert(sizeof(struct bump_header) == BUMP_HEADER, "bump header");

static struct bump_header *bump_header_of(const void *ptr)
{
	return (struct bump_header *)((uintptr_t)ptr - BUMP_HEADER);
}

static void *
bump_carve(struct aml_arena_bump *self, char *p, size_t size, bool in_current)
{
	struct bump_header *h = bump_header_of(p);
	h->size = size;
	h->tag = (uintptr_t)p ^ BUMP_LIVE;
	if (in_current) {
		self->last = p;
		self->last_top = self->top;
		self->top = p + size;
	}
	return p;
}

/* Map a region for one block that does not fit a normal region. */
static void *
bump_alloc_single(struct aml_arena_bump *self, size_t size, size_t align)
{
	size_t page = aml_page_size();
	size_t offset = aml_arena_align_up(BUMP_HEADER, align);
	size_t len = aml_arena_align_up(offset + size, page);
	char *r = aml_arena_map(self->area, &self->stats, len,
	                        align > page ? align : 0);
	if (r == NULL)
		return NULL;
	if (aml_arena_index_insert(&self->regions, (uintptr_t)r, len, NULL)) {
		aml_arena_unmap(self->area, &self->stats, r, len);
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	return bump_carve(self, r + offset, size, false);
}

static void *bump_alloc(struct aml_arena *arena, size_t size, size_t align)
{
	struct aml_arena_bump *self = arena->data;
	if (self->current != NULL) {
		uintptr_t p = aml_arena_align_up(
		        (uintptr_t)self->top + BUMP_HEADER, align);
		if (p <= (uintptr_t)self->end &&
		    size <= (uintptr_t)self->end - p)
			return bump_carve(self, (char *)p, size, true);
	}
	size_t offset = aml_arena_align_up(BUMP_HEADER, align);
	if (align > aml_page_size() || size > self->region_size - offset)
		return bump_alloc_single(self, size, align);

	char *r = aml_arena_map(self->area, &self->stats, self->region_size, 0);
	if (r == NULL)
		return NULL;
	if (aml_arena_index_insert(&self->regions, (uintptr_t)r,
	                           self->region_size, NULL) != 0) {
		aml_arena_unmap(self->area, &self->stats, r, self->region_size);
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	/* Retire the current region: remember how far it was used. */
	if (self->current != NULL)
		aml_arena_index_find(&self->regions, (uintptr_t)self->current)
		        ->meta = self->top;
	self->current = r;
	self->top = r;
	self->end = r + self->region_size;
	return bump_carve(self, r + offset, size, true);
}

/* The region of a live block at @p ptr, or NULL. */
static struct aml_arena_index_entry *
bump_find_block(const struct aml_arena_bump *self, const void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	if (p % AML_ARENA_ALIGNMENT != 0)
		return NULL;
	struct aml_arena_index_entry *e =
	        aml_arena_index_find(&self->regions, p);
	if (e == NULL || p - e->start < BUMP_HEADER)
		return NULL;
	uintptr_t used;
	if (e->start == (uintptr_t)self->current)
		used = (uintptr_t)self->top;
	else if (e->meta != NULL)
		used = (uintptr_t)e->meta;
	else
		used = e->start + e->size;
	if (p >= used)
		return NULL;
	const struct bump_header *h = bump_header_of(ptr);
	if (h->tag != (p ^ BUMP_LIVE) || h->size > used - p)
		return NULL;
	return e;
}

static int bump_release(struct aml_arena *arena, void *ptr)
{
	struct aml_arena_bump *self = arena->data;
	/* Fast path: the last block needs no region lookup, it is in the
	 * current region by construction. */
	if (ptr == self->last &&
	    bump_header_of(ptr)->tag == ((uintptr_t)ptr ^ BUMP_LIVE)) {
		bump_header_of(ptr)->tag = (uintptr_t)ptr ^ BUMP_DEAD;
		self->top = self->last_top;
		self->last = NULL;
		return 0;
	}
	struct aml_arena_index_entry *e = bump_find_block(self, ptr);
	if (e == NULL)
		return AML_EINVAL;
	bump_header_of(ptr)->tag = (uintptr_t)ptr ^ BUMP_DEAD;
	if (e->start != (uintptr_t)self->current && e->meta == NULL) {
		void *r = (void *)e->start;
		size_t len = e->size;
		aml_arena_index_remove(&self->regions, e);
		aml_arena_unmap(self->area, &self->stats, r, len);
	} else if (ptr == self->last) {
		self->top = self->last_top;
		self->last = NULL;
	}
	return 0;
}

static int
bump_usable_size(const struct aml_arena *arena, const void *ptr, size_t *out)
{
	const struct aml_arena_bump *self = arena->data;
	if (bump_find_block(self, ptr) == NULL)
		return AML_EINVAL;
	*out = bump_header_of(ptr)->size;
	return 0;
}

static void *bump_resize(struct aml_arena *arena, void *ptr, size_t size)
{
	struct aml_arena_bump *self = arena->data;
	struct bump_header *h = bump_header_of(ptr);
	/* The last block grows and shrinks in place while the region has
	 * room. */
	if (ptr == self->last &&
	    size <= (uintptr_t)self->end - (uintptr_t)ptr) {
		h->size = size;
		self->top = (char *)ptr + size;
		return ptr;
	}
	if (size <= h->size)
		return ptr;
	size_t old = h->size;
	void *p = bump_alloc(arena, size, AML_ARENA_ALIGNMENT);
	if (p == NULL)
		return NULL;
	memcpy(p, ptr, old);
	bump_release(arena, ptr);
	return p;
}

static int bump_reset(struct aml_arena *arena)
{
	struct aml_arena_bump *self = arena->data;
	/* Unmap every region but the current one, from the end so that
	 * removals do not move the entries still to visit. */
	for (size_t i = self->regions.n; i-- > 0;) {
		struct aml_arena_index_entry *e = &self->regions.entries[i];
		if (e->start == (uintptr_t)self->current)
			continue;
		void *r = (void *)e->start;
		size_t len = e->size;
		aml_arena_index_remove(&self->regions, e);
		aml_arena_unmap(self->area, &self->stats, r, len);
	}
	self->top = self->current;
	self->last = NULL;
	self->last_top = NULL;
	return 0;
}

static int bump_stats(const struct aml_arena *arena,
                      struct aml_arena_stats *out)
{
	const struct aml_arena_bump *self = arena->data;
	*out = self->stats;
	return 0;
}

static const struct aml_arena_ops aml_arena_bump_ops = {
        .alloc = bump_alloc,
        .release = bump_release,
        .usable_size = bump_usable_size,
        .resize = bump_resize,
        .reset = bump_reset,
        .stats = bump_stats,
};

int aml_arena_bump_init(struct aml_arena_bump *arena,
                        const struct aml_area *area,
                        size_t region_size)
{
	if (region_size == 0)
		region_size = AML_ARENA_BUMP_REGION_SIZE;
	if (arena == NULL || area == NULL || region_size % aml_page_size() ||
	    region_size > PTRDIFF_MAX)
		return AML_EINVAL;
	*arena = (struct aml_arena_bump){
	        .base = {.ops = &aml_arena_bump_ops, .data = arena},
	        .area = area,
	        .region_size = region_size,
	};
	return 0;
}

void aml_arena_bump_fini(struct aml_arena_bump *arena)
{
	if (arena == NULL)
		return;
	for (size_t i = 0; i < arena->regions.n; i++) {
		struct aml_arena_index_entry *e = &arena->regions.entries[i];
		aml_arena_unmap(arena->area, &arena->stats, (void *)e->start,
		                e->size);
	}
	aml_arena_index_fini(&arena->regions);
	arena->current = arena->top = arena->end = NULL;
	arena->last = arena->last_top = NULL;
	/* Every later call through the handle is AML_EINVAL. */
	arena->base.ops = NULL;
}

int aml_arena_bump_create(struct aml_arena **out,
                          const struct aml_area *area,
                          size_t region_size)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_arena_bump *arena = malloc(sizeof(*arena));
	if (arena == NULL)
		return AML_ENOMEM;
	int err = aml_arena_bump_init(arena, area, region_size);
	if (err != 0) {
		free(arena);
		return err;
	}
	*out = &arena->base;
	return 0;
}

void aml_arena_bump_destroy(struct aml_arena **arena)
{
	if (arena == NULL || *arena == NULL ||
	    (*arena)->ops != &aml_arena_bump_ops)
		return;
	struct aml_arena_bump *self = (*arena)->data;
	aml_arena_bump_fini(self);
	free(self);
	*arena = NULL;
}
