/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pool arena (aml/arena/pool.h).
 *
 * A slab is slab_size bytes mapped from the area:
 *
 *   [struct pool_slab | live bits | pad to alignment | object 0 | object 1 ...]
 *
 * Objects are handed out from the slab's free list (objects freed before)
 * and, when it is empty, from the never-used tail (index fresh and up), so
 * a new slab costs no initialisation pass. A slab with free objects is on
 * the pool's partial list, a doubly linked list through the headers; a
 * full slab is on no list. The live bit of each object makes double frees
 * and foreign pointers detectable: free() accepts only the start of an
 * object below fresh whose bit is set.
 *
 * Invariants: nused == popcount(bits); a slab is on the partial list iff
 * nused < per_slab; nempty counts slabs with nused == 0 and is at most 1
 * after every free (a second empty slab is unmapped at once).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/arena/pool.h>
#include <aml/device.h>
#include <aml/error.h>

#include "aml/src/arena/internal.h"

struct pool_slab {
	/* Links of the partial list. */
	struct pool_slab *next;
	struct pool_slab *prev;
	/* Freed objects, linked through their first word. */
	void *free;
	/* Live objects. */
	size_t nused;
	/* Objects at index fresh and up were never handed out. */
	size_t fresh;
	/* One bit per object, set while it is live. */
	uint64_t bits[];
};

static size_t pool_bits_size(size_t per_slab)
{
	return (per_slab + 63) / 64 * sizeof(uint64_t);
}

static void __attribute__((noinline))
pool_link(struct aml_arena_pool *self, struct pool_slab *s)
{
	struct pool_slab *head = self->partial;
	s->prev = NULL;
	s->next = head;
	if (head != NULL)
		head->prev = s;
	self->partial = s;
}

static void __attribute__((noinline))
pool_unlink(struct aml_arena_pool *self, struct pool_slab *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		self->partial = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static struct pool_slab *pool_new_slab(struct aml_arena_pool *self)
{
	size_t align = self->alignment > aml_page_size() ? self->alignment : 0;
	struct pool_slab *s =
	        aml_arena_map(self->area, &self->stats, self->slab_size, align);
	if (s == NULL)
		return NULL;
	if (aml_arena_index_insert(&self->slabs, (uintptr_t)s, self->slab_size,
	                           s) != 0) {
		aml_arena_unmap(self->area, &self->stats, s, self->slab_size);
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	/* Fresh anonymous pages are zero, but an area need not promise it. */
	memset(s, 0, sizeof(*s) + pool_bits_size(self->per_slab));
	pool_link(self, s);
	self->nempty++;
	return s;
}

/* Hand out an object of slab s, which has a free one. */
static inline void *pool_take(struct aml_arena_pool *self, struct pool_slab *s)
{
	size_t i;
	char *obj = s->free;
	char *first = (char *)s + self->first_offset;
	if (obj != NULL) {
		s->free = *(void **)obj;
		i = self->object_shift != 0
		            ? (size_t)(obj - first) >> self->object_shift
		            : (size_t)(obj - first) / self->object_size;
	} else {
		i = s->fresh++;
		obj = first + i * self->object_size;
	}
	s->bits[i / 64] |= (uint64_t)1 << (i % 64);
	if (s->nused++ == 0)
		self->nempty--;
	if (__builtin_expect(s->nused == self->per_slab, 0))
		pool_unlink(self, s);
	return obj;
}

/* Out of line, so that the common path of pool_alloc saves no register. */
static void *__attribute__((noinline))
pool_alloc_slow(struct aml_arena_pool *self, size_t size, size_t align)
{
	if (size > self->object_size || align > self->alignment) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	struct pool_slab *s = self->partial;
	if (s == NULL && (s = pool_new_slab(self)) == NULL)
		return NULL;
	return pool_take(self, s);
}

static void *pool_alloc(struct aml_arena *arena, size_t size, size_t align)
{
	struct aml_arena_pool *self = arena->data;
	struct pool_slab *s = self->partial;
	if (__builtin_expect(s == NULL || size > self->object_size ||
	                             align > self->alignment,
	                     0))
		return pool_alloc_slow(self, size, align);
	return pool_take(self, s);
}

/* The slab of @p ptr through the index (the hint missed), or NULL. */
static struct pool_slab *__attribute__((noinline))
pool_slab_of(const struct aml_arena_pool *self, uintptr_t p)
{
	struct aml_arena_index_entry *e = aml_arena_index_find(&self->slabs, p);
	return e != NULL ? e->meta : NULL;
}

/* The slab of a live object at @p ptr and its index, or NULL. */
static inline struct pool_slab *
pool_find(const struct aml_arena_pool *self, const void *ptr, size_t *index)
{
	uintptr_t p = (uintptr_t)ptr;
	struct pool_slab *s = self->hint;
	if (__builtin_expect(s == NULL || p - (uintptr_t)s >= self->slab_size,
	                     0)) {
		s = pool_slab_of(self, p);
		if (s == NULL)
			return NULL;
	}
	uintptr_t first = (uintptr_t)s + self->first_offset;
	if (p < first)
		return NULL;
	size_t i;
	if (self->object_shift != 0) {
		/* Power-of-two objects: no division on the free path. */
		if (((p - first) & (self->object_size - 1)) != 0)
			return NULL;
		i = (p - first) >> self->object_shift;
	} else {
		if ((p - first) % self->object_size != 0)
			return NULL;
		i = (p - first) / self->object_size;
	}
	if (i >= s->fresh || !(s->bits[i / 64] & ((uint64_t)1 << (i % 64))))
		return NULL;
	*index = i;
	return s;
}

static void __attribute__((noinline))
pool_drop_slab(struct aml_arena_pool *self, struct pool_slab *s)
{
	pool_unlink(self, s);
	aml_arena_index_remove(
	        &self->slabs, aml_arena_index_find(&self->slabs, (uintptr_t)s));
	if (self->hint == s)
		self->hint = NULL;
	aml_arena_unmap(self->area, &self->stats, s, self->slab_size);
}

static int pool_release(struct aml_arena *arena, void *ptr)
{
	struct aml_arena_pool *self = arena->data;
	size_t i;
	struct pool_slab *s = pool_find(self, ptr, &i);
	if (s == NULL)
		return AML_EINVAL;
	self->hint = s;
	s->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
	*(void **)ptr = s->free;
	s->free = ptr;
	if (__builtin_expect(s->nused-- == self->per_slab, 0))
		pool_link(self, s);
	if (s->nused == 0) {
		/* Keep one empty slab; give any other back. */
		if (__builtin_expect(self->nempty > 0, 0)) {
			pool_drop_slab(self, s);
		} else {
			self->nempty++;
			s->free = NULL;
			s->fresh = 0;
		}
	}
	return 0;
}

static int
pool_usable_size(const struct aml_arena *arena, const void *ptr, size_t *out)
{
	const struct aml_arena_pool *self = arena->data;
	size_t i;
	if (pool_find(self, ptr, &i) == NULL)
		return AML_EINVAL;
	*out = self->object_size;
	return 0;
}

static int pool_reset(struct aml_arena *arena)
{
	struct aml_arena_pool *self = arena->data;
	if (self->slabs.n == 0)
		return 0;
	/* Keep the first slab, empty; unmap the others. */
	while (self->slabs.n > 1) {
		struct pool_slab *s = self->slabs.entries[1].meta;
		self->slabs.n--;
		memmove(&self->slabs.entries[1], &self->slabs.entries[2],
		        (self->slabs.n - 1) * sizeof(self->slabs.entries[0]));
		aml_arena_unmap(self->area, &self->stats, s, self->slab_size);
	}
	struct pool_slab *s = self->slabs.entries[0].meta;
	memset(s, 0, sizeof(*s) + pool_bits_size(self->per_slab));
	self->partial = s;
	self->nempty = 1;
	self->hint = NULL;
	return 0;
}

static int pool_stats(const struct aml_arena *arena,
                      struct aml_arena_stats *out)
{
	const struct aml_arena_pool *self = arena->data;
	*out = self->stats;
	return 0;
}

static const struct aml_arena_ops aml_arena_pool_ops = {
        .alloc = pool_alloc,
        .release = pool_release,
        .usable_size = pool_usable_size,
        .resize = NULL,
        .reset = pool_reset,
        .stats = pool_stats,
};

/* Objects per slab, or 0 if not even one fits. */
static size_t pool_per_slab(size_t slab, size_t object, size_t align)
{
	size_t n = (slab - sizeof(struct pool_slab)) / object;
	while (n > 0 && aml_arena_align_up(
	                        sizeof(struct pool_slab) + pool_bits_size(n),
	                        align) + n * object >
	                        slab)
		n--;
	return n;
}

int aml_arena_pool_init(struct aml_arena_pool *pool,
                        const struct aml_area *area,
                        size_t object_size,
                        size_t alignment,
                        size_t slab_size)
{
	size_t page = aml_page_size();
	if (slab_size == 0)
		slab_size = AML_ARENA_POOL_SLAB_SIZE;
	if ((alignment & (alignment - 1)) != 0)
		return AML_EINVAL;
	if (alignment < AML_ARENA_ALIGNMENT)
		alignment = AML_ARENA_ALIGNMENT;
	if (pool == NULL || area == NULL || object_size == 0 ||
	    slab_size < page || (slab_size & (slab_size - 1)) != 0 ||
	    slab_size > AML_ARENA_ALIGNMENT_MAX || alignment > slab_size / 2 ||
	    object_size > slab_size)
		return AML_EINVAL;
	size_t object = aml_arena_align_up(object_size, alignment);
	size_t per_slab = pool_per_slab(slab_size, object, alignment);
	if (per_slab == 0)
		return AML_EINVAL;
	*pool = (struct aml_arena_pool){
	        .base = {.ops = &aml_arena_pool_ops, .data = pool},
	        .area = area,
	        .object_size = object,
	        .alignment = alignment,
	        .slab_size = slab_size,
	        .first_offset = aml_arena_align_up(
	                sizeof(struct pool_slab) + pool_bits_size(per_slab),
	                alignment),
	        .per_slab = per_slab,
	        .object_shift = (object & (object - 1)) == 0
	                                ? (unsigned)__builtin_ctzll(object)
	                                : 0,
	};
	return 0;
}

void aml_arena_pool_fini(struct aml_arena_pool *pool)
{
	if (pool == NULL)
		return;
	for (size_t i = 0; i < pool->slabs.n; i++)
		aml_arena_unmap(pool->area, &pool->stats,
		                (void *)pool->slabs.entries[i].start,
		                pool->slab_size);
	aml_arena_index_fini(&pool->slabs);
	pool->partial = pool->hint = NULL;
	pool->nempty = 0;
	/* Every later call through the handle is AML_EINVAL. */
	pool->base.ops = NULL;
}

int aml_arena_pool_create(struct aml_arena **out,
                          const struct aml_area *area,
                          size_t object_size,
                          size_t alignment,
                          size_t slab_size)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_arena_pool *pool = malloc(sizeof(*pool));
	if (pool == NULL)
		return AML_ENOMEM;
	int err = aml_arena_pool_init(pool, area, object_size, alignment,
	                              slab_size);
	if (err != 0) {
		free(pool);
		return err;
	}
	*out = &pool->base;
	return 0;
}

void aml_arena_pool_destroy(struct aml_arena **arena)
{
	if (arena == NULL || *arena == NULL ||
	    (*arena)->ops != &aml_arena_pool_ops)
		return;
	struct aml_arena_pool *self = (*arena)->data;
	aml_arena_pool_fini(self);
	free(self);
	*arena = NULL;
}
