/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The buddy arena (aml/arena/buddy.h).
 *
 * A region of 2^max_order bytes, mapped aligned to its size, is split into
 * chunks of 2^k bytes (BUDDY_MIN_ORDER <= k <= max_order), each aligned to
 * its own size within the region; the buddy of the chunk at offset off is
 * at off ^ 2^k. Each region has a descriptor in malloc'd memory, with one
 * state byte per 64-byte slot: 0 inside a chunk, else the chunk's order
 * with BUDDY_FREE or BUDDY_USED. Free chunks are on free_lists[k], doubly
 * linked through a struct buddy_node written in the chunk itself, which
 * also names the region so that allocation needs no lookup.
 *
 * free() finds the region by binary search over the index of regions,
 * checks that the slot is the head of a used chunk (anything else is a
 * foreign, interior or already freed pointer: AML_EINVAL), then merges
 * with free buddies as far as they go. A region that becomes one free
 * chunk is unmapped, unless it is the only empty one (hysteresis, so that
 * a malloc/free loop does not map and unmap every time).
 *
 * Larger requests are "large blocks": index entries with meta NULL, mapped
 * and unmapped on their own.
 *
 * The cache. A malloc/free cycle on an otherwise empty region used to
 * split the region down to the chunk and merge it back, 15 list pushes
 * and unlinks for 64 B in 2 MiB, all in different cache lines of the
 * region: ~50 ns where glibc takes 6. So a freed chunk of order 6 to 12
 * (64 B to 4 KiB) first goes to a list per order (up to
 * BUDDY_CACHE_DEPTH chunks, state BUDDY_CACHED: neither free for its
 * buddy nor live for free()), and a request of that order pops it. Each
 * region counts its live blocks (nused); a region without one is
 * "empty" whether or not its chunks are merged. When a free leaves a
 * region empty while another is kept empty, its cached chunks are merged
 * and the region given back, as before; when a request finds no free
 * chunk, every cached chunk is merged first, so the cache never makes
 * the arena map a region it would not have mapped.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <aml/arena/buddy.h>
#include <aml/device.h>
#include <aml/error.h>

#include "aml/src/arena/internal.h"

#define BUDDY_MIN_ORDER  6
#define BUDDY_FREE       0x40
#define BUDDY_USED       0x80
#define BUDDY_CACHED     (BUDDY_FREE | BUDDY_USED)
#define BUDDY_ORDER_MASK 0x3f

#define BUDDY_CACHE_MAX_ORDER                                                  \
	(BUDDY_MIN_ORDER + AML_ARENA_BUDDY_CACHE_ORDERS - 1)
#define BUDDY_CACHE_DEPTH 8

_Static_assert(AML_ARENA_BUDDY_MIN_CHUNK == 1 << BUDDY_MIN_ORDER, "min chunk");

struct buddy_region {
	uintptr_t base;
	/* Live blocks in the region; cached chunks are not. */
	size_t nused;
	/* State of each 64-byte slot (see the top of the file). */
	unsigned char state[];
};

struct buddy_node {
	struct buddy_node *next;
	struct buddy_node *prev;
	struct buddy_region *region;
};

_Static_assert(sizeof(struct buddy_node) <= AML_ARENA_BUDDY_MIN_CHUNK,
               "a free chunk holds its node");

static unsigned buddy_log2_ceil(size_t x)
{
	return x <= 1 ? 0 : (unsigned)(64 - __builtin_clzll((x - 1)));
}

static void buddy_push(struct aml_arena_buddy *self,
                       struct buddy_region *r,
                       uintptr_t chunk,
                       unsigned k)
{
	struct buddy_node *n = (struct buddy_node *)chunk;
	struct buddy_node *head = self->free_lists[k];
	*n = (struct buddy_node){.next = head, .prev = NULL, .region = r};
	if (head != NULL)
		head->prev = n;
	self->free_lists[k] = n;
	r->state[(chunk - r->base) >> BUDDY_MIN_ORDER] =
	        (unsigned char)(BUDDY_FREE | k);
}

static void
buddy_unlink(struct aml_arena_buddy *self, struct buddy_node *n, unsigned k)
{
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		self->free_lists[k] = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
}

/* Free the chunk of order @p k at @p off in @p r (state already cleared):
 * merge it with its free buddies and put the result on its free list. */
static void buddy_merge(struct aml_arena_buddy *self,
                        struct buddy_region *r,
                        uintptr_t off,
                        unsigned k)
{
	while (k < self->max_order) {
		uintptr_t boff = off ^ ((uintptr_t)1 << k);
		if (r->state[boff >> BUDDY_MIN_ORDER] != (BUDDY_FREE | k))
			break;
		buddy_unlink(self, (struct buddy_node *)(r->base + boff), k);
		r->state[boff >> BUDDY_MIN_ORDER] = 0;
		off &= ~((uintptr_t)1 << k);
		k++;
	}
	buddy_push(self, r, r->base + off, k);
}

/* Merge the cached chunks of @p r (of every region if NULL); whether
 * there were any. */
static bool buddy_flush(struct aml_arena_buddy *self,
                        const struct buddy_region *r)
{
	bool any = false;
	for (unsigned i = 0; i < AML_ARENA_BUDDY_CACHE_ORDERS; i++) {
		struct buddy_node **link =
		        (struct buddy_node **)&self->cache[i];
		while (*link != NULL) {
			struct buddy_node *n = *link;
			if (r != NULL && n->region != r) {
				link = &n->next;
				continue;
			}
			*link = n->next;
			self->ncached[i]--;
			struct buddy_region *nr = n->region;
			uintptr_t off = (uintptr_t)n - nr->base;
			nr->state[off >> BUDDY_MIN_ORDER] = 0;
			buddy_merge(self, nr, off, i + BUDDY_MIN_ORDER);
			any = true;
		}
	}
	return any;
}

static int buddy_new_region(struct aml_arena_buddy *self)
{
	size_t slots = self->region_size >> BUDDY_MIN_ORDER;
	struct buddy_region *r = calloc(1, sizeof(*r) + slots);
	if (r == NULL)
		return AML_ENOMEM;
	size_t align =
	        self->region_size > aml_page_size() ? self->region_size : 0;
	void *p = aml_arena_map(self->area, &self->stats, self->region_size,
	                        align);
	if (p == NULL) {
		free(r);
		return aml_errno;
	}
	r->base = (uintptr_t)p;
	if (aml_arena_index_insert(&self->regions, r->base, self->region_size,
	                           r) != 0) {
		aml_arena_unmap(self->area, &self->stats, p, self->region_size);
		free(r);
		return AML_ENOMEM;
	}
	buddy_push(self, r, r->base, self->max_order);
	self->nempty++;
	return 0;
}

static void *
buddy_alloc_large(struct aml_arena_buddy *self, size_t size, size_t align)
{
	/* size <= PTRDIFF_MAX (the generic functions checked), so rounding
	 * to pages cannot wrap; whether the area can map that much is the
	 * area's to say (AML_ENOMEM), as for every other size. */
	size_t page = aml_page_size();
	size_t len = aml_arena_align_up(size, page);
	void *p = aml_arena_map(self->area, &self->stats, len,
	                        align > page ? align : 0);
	if (p == NULL)
		return NULL;
	if (aml_arena_index_insert(&self->regions, (uintptr_t)p, len, NULL)) {
		aml_arena_unmap(self->area, &self->stats, p, len);
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	return p;
}

static void *buddy_alloc(struct aml_arena *arena, size_t size, size_t align)
{
	struct aml_arena_buddy *self = arena->data;
	if (size > self->region_size || align > self->region_size)
		return buddy_alloc_large(self, size, align);
	unsigned k = buddy_log2_ceil(size);
	unsigned ka = buddy_log2_ceil(align);
	if (k < ka)
		k = ka;
	if (k < BUDDY_MIN_ORDER)
		k = BUDDY_MIN_ORDER;

	if (k <= BUDDY_CACHE_MAX_ORDER) {
		struct buddy_node *n = self->cache[k - BUDDY_MIN_ORDER];
		if (n != NULL) {
			self->cache[k - BUDDY_MIN_ORDER] = n->next;
			self->ncached[k - BUDDY_MIN_ORDER]--;
			struct buddy_region *r = n->region;
			if (r->nused++ == 0)
				self->nempty--;
			r->state[((uintptr_t)n - r->base) >> BUDDY_MIN_ORDER] =
			        (unsigned char)(BUDDY_USED | k);
			return n;
		}
	}

	unsigned j;
	for (;;) {
		j = k;
		while (j <= self->max_order && self->free_lists[j] == NULL)
			j++;
		/* Merged cached chunks may hold the request. */
		if (j <= self->max_order || !buddy_flush(self, NULL))
			break;
	}
	if (j > self->max_order) {
		int err = buddy_new_region(self);
		if (err != 0) {
			aml_errno = err;
			return NULL;
		}
		j = self->max_order;
	}
	struct buddy_node *n = self->free_lists[j];
	struct buddy_region *r = n->region;
	buddy_unlink(self, n, j);
	if (r->nused++ == 0)
		self->nempty--;
	uintptr_t chunk = (uintptr_t)n;
	while (j > k) {
		j--;
		buddy_push(self, r, chunk + ((uintptr_t)1 << j), j);
	}
	r->state[(chunk - r->base) >> BUDDY_MIN_ORDER] =
	        (unsigned char)(BUDDY_USED | k);
	return (void *)chunk;
}

/* Region entry and order of the used chunk at @p ptr; NULL if there is
 * none. A large block is reported with *order = 0. */
static struct aml_arena_index_entry *
buddy_find(const struct aml_arena_buddy *self, const void *ptr, unsigned *order)
{
	uintptr_t p = (uintptr_t)ptr;
	struct aml_arena_index_entry *e =
	        aml_arena_index_find(&self->regions, p);
	if (e == NULL)
		return NULL;
	if (e->meta == NULL) {
		*order = 0;
		return p == e->start ? e : NULL;
	}
	const struct buddy_region *r = e->meta;
	if ((p - r->base) % AML_ARENA_BUDDY_MIN_CHUNK != 0)
		return NULL;
	unsigned char st = r->state[(p - r->base) >> BUDDY_MIN_ORDER];
	if ((st & BUDDY_CACHED) != BUDDY_USED)
		return NULL;
	*order = st & BUDDY_ORDER_MASK;
	return e;
}

static void buddy_drop_region(struct aml_arena_buddy *self,
                              struct aml_arena_index_entry *e)
{
	struct buddy_region *r = e->meta;
	void *base = (void *)e->start;
	size_t len = e->size;
	aml_arena_index_remove(&self->regions, e);
	aml_arena_unmap(self->area, &self->stats, base, len);
	free(r);
}

static int buddy_release(struct aml_arena *arena, void *ptr)
{
	struct aml_arena_buddy *self = arena->data;
	unsigned k;
	struct aml_arena_index_entry *e = buddy_find(self, ptr, &k);
	if (e == NULL)
		return AML_EINVAL;
	if (e->meta == NULL) {
		size_t len = e->size;
		aml_arena_index_remove(&self->regions, e);
		aml_arena_unmap(self->area, &self->stats, ptr, len);
		return 0;
	}
	struct buddy_region *r = e->meta;
	uintptr_t off = (uintptr_t)ptr - r->base;
	if (--r->nused == 0) {
		if (self->nempty > 0) {
			/* Another region is empty already: give this one
			 * back, once it is one free chunk again. */
			r->state[off >> BUDDY_MIN_ORDER] = 0;
			buddy_merge(self, r, off, k);
			buddy_flush(self, r);
			buddy_unlink(self, (struct buddy_node *)r->base,
			             self->max_order);
			buddy_drop_region(self, e);
			return 0;
		}
		self->nempty++;
	}
	unsigned i = k - BUDDY_MIN_ORDER;
	if (k <= BUDDY_CACHE_MAX_ORDER &&
	    self->ncached[i] < BUDDY_CACHE_DEPTH) {
		struct buddy_node *n = ptr;
		n->next = self->cache[i];
		n->region = r;
		self->cache[i] = n;
		self->ncached[i]++;
		r->state[off >> BUDDY_MIN_ORDER] =
		        (unsigned char)(BUDDY_CACHED | k);
		return 0;
	}
	r->state[off >> BUDDY_MIN_ORDER] = 0;
	buddy_merge(self, r, off, k);
	return 0;
}

static int
buddy_usable_size(const struct aml_arena *arena, const void *ptr, size_t *out)
{
	const struct aml_arena_buddy *self = arena->data;
	unsigned k;
	struct aml_arena_index_entry *e = buddy_find(self, ptr, &k);
	if (e == NULL)
		return AML_EINVAL;
	*out = e->meta == NULL ? e->size : (size_t)1 << k;
	return 0;
}

static int buddy_reset(struct aml_arena *arena)
{
	struct aml_arena_buddy *self = arena->data;
	struct aml_arena_index_entry *keep = NULL;
	for (size_t i = self->regions.n; i-- > 0;) {
		struct aml_arena_index_entry *e = &self->regions.entries[i];
		if (e->meta != NULL && keep == NULL) {
			keep = e;
			continue;
		}
		void *base = (void *)e->start;
		size_t len = e->size;
		free(e->meta);
		aml_arena_index_remove(&self->regions, e);
		aml_arena_unmap(self->area, &self->stats, base, len);
	}
	memset(self->free_lists, 0, sizeof(self->free_lists));
	memset(self->cache, 0, sizeof(self->cache));
	memset(self->ncached, 0, sizeof(self->ncached));
	self->nempty = 0;
	if (self->regions.n == 1) {
		/* Entries only moved down past the kept one: it is first. */
		struct buddy_region *r = self->regions.entries[0].meta;
		r->nused = 0;
		memset(r->state, 0, self->region_size >> BUDDY_MIN_ORDER);
		buddy_push(self, r, r->base, self->max_order);
		self->nempty = 1;
	}
	return 0;
}

static int buddy_stats(const struct aml_arena *arena,
                       struct aml_arena_stats *out)
{
	const struct aml_arena_buddy *self = arena->data;
	*out = self->stats;
	return 0;
}

static const struct aml_arena_ops aml_arena_buddy_ops = {
        .alloc = buddy_alloc,
        .release = buddy_release,
        .usable_size = buddy_usable_size,
        .resize = NULL,
        .reset = buddy_reset,
        .stats = buddy_stats,
};

int aml_arena_buddy_init(struct aml_arena_buddy *arena,
                         const struct aml_area *area,
                         size_t region_size)
{
	if (region_size == 0)
		region_size = AML_ARENA_BUDDY_REGION_SIZE;
	if (arena == NULL || area == NULL || region_size < aml_page_size() ||
	    (region_size & (region_size - 1)) != 0 ||
	    region_size > AML_ARENA_BUDDY_REGION_MAX)
		return AML_EINVAL;
	*arena = (struct aml_arena_buddy){
	        .base = {.ops = &aml_arena_buddy_ops, .data = arena},
	        .area = area,
	        .region_size = region_size,
	        .max_order = buddy_log2_ceil(region_size),
	};
	return 0;
}

void aml_arena_buddy_fini(struct aml_arena_buddy *arena)
{
	if (arena == NULL)
		return;
	for (size_t i = 0; i < arena->regions.n; i++) {
		struct aml_arena_index_entry *e = &arena->regions.entries[i];
		aml_arena_unmap(arena->area, &arena->stats, (void *)e->start,
		                e->size);
		free(e->meta);
	}
	aml_arena_index_fini(&arena->regions);
	memset(arena->free_lists, 0, sizeof(arena->free_lists));
	memset(arena->cache, 0, sizeof(arena->cache));
	memset(arena->ncached, 0, sizeof(arena->ncached));
	arena->nempty = 0;
	/* Every later call through the handle is AML_EINVAL. */
	arena->base.ops = NULL;
}

int aml_arena_buddy_create(struct aml_arena **out,
                           const struct aml_area *area,
                           size_t region_size)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_arena_buddy *arena = malloc(sizeof(*arena));
	if (arena == NULL)
		return AML_ENOMEM;
	int err = aml_arena_buddy_init(arena, area, region_size);
	if (err != 0) {
		free(arena);
		return err;
	}
	*out = &arena->base;
	return 0;
}

void aml_arena_buddy_destroy(struct aml_arena **arena)
{
	if (arena == NULL || *arena == NULL ||
	    (*arena)->ops != &aml_arena_buddy_ops)
		return;
	struct aml_arena_buddy *self = (*arena)->data;
	aml_arena_buddy_fini(self);
	free(self);
	*arena = NULL;
}

void aml_arena_buddy_foreach(const struct aml_arena_buddy *buddy,
                             void (*fn)(void *ptr, size_t size, void *arg),
                             void *arg)
{
	for (size_t i = 0; i < buddy->regions.n; i++) {
		const struct aml_arena_index_entry *e =
		        &buddy->regions.entries[i];
		if (e->meta == NULL) {
			fn((void *)e->start, e->size, arg);
			continue;
		}
		/* A used chunk's head slot holds its order; every other slot
		 * is 0, free or cached. */
		const struct buddy_region *r = e->meta;
		size_t slots = e->size >> BUDDY_MIN_ORDER;
		for (size_t k = 0; k < slots; k++) {
			unsigned char st = r->state[k];
			if ((st & BUDDY_CACHED) == BUDDY_USED)
				fn((void *)(r->base + (k << BUDDY_MIN_ORDER)),
				   (size_t)1 << (st & BUDDY_ORDER_MASK), arg);
		}
	}
}
