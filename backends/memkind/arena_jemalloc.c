/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The jemalloc arena (aml/arena/jemalloc.h), over memkind's fixed kinds.
 *
 * State, behind arena->state (malloc'd, so the public header needs no
 * memkind types):
 * - regions: every region mapped from the area, with its fixed kind, in
 *   the order they were made; allocation tries the newest, then the older
 *   ones, and only when all fail maps another region, large enough for
 *   the request;
 * - live: an open-addressing hash set (linear probing, backward-shift
 *   deletion) of every live block and its kind. It is what makes free()
 *   safe: memkind_free() on anything but a block jemalloc returned would
 *   corrupt its heap, and jemalloc cannot tell an interior pointer from a
 *   block start. It costs one probe per malloc and per free.
 *
 * - cache: blocks of up to 4 KiB freed by the user, per size class, kept
 *   allocated in memkind and handed out again by the next malloc of their
 *   class. memkind serves fixed kinds without jemalloc's thread cache
 *   (get_tcache_flag() in memkind_arena.c: MALLOCX_TCACHE_NONE for every
 *   kind made at run time), so each memkind_malloc and memkind_free of a
 *   fixed kind takes jemalloc's bin lock and costs ~150 ns here, against
 *   ~10 ns for MEMKIND_DEFAULT (docs/arena.md). Small requests are
 *   rounded up to their class before they reach memkind, so that any
 *   cached block of a class serves any request of it. A cached block
 *   stays in live, marked cached: freeing it again is AML_EINVAL, and
 *   handing it out again costs a lookup where an erase and an insert
 *   cost a probe run each.
 *
 * Thread-safety: one lock guards regions, live and cache. memkind calls happen
 * outside it (jemalloc has its own locks), except memkind_create_fixed()
 * and memkind_destroy_kind() for growth and fini. A block is inserted in
 * live after memkind returned it, and removed before memkind_free(), so a
 * racing double free finds it at most once.
 *
 * fork() (aml/src/fork.h): prepare takes the lock, so regions and live
 * are whole in the child; the child makes it new. memkind's jemalloc takes
 * its own locks under ours (growth) and has its own fork handlers, which
 * it registers when it loads, so they run after ours in prepare.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <memkind.h>
#if defined(__GLIBC__) &&                                                      \
        (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
#include <sys/single_threaded.h>
#define JEMALLOC_SINGLE_THREADED() __libc_single_threaded
#else
#define JEMALLOC_SINGLE_THREADED() 0
#endif

#include <aml/arena/jemalloc.h>
#include <aml/device.h>
#include <aml/error.h>

#include "aml/src/fork.h"

/* memkind's fixed kinds need room for jemalloc's first extents. */
#define JEMALLOC_REGION_MIN ((size_t)4 << 20)

struct jemalloc_region {
	void *base;
	size_t size;
	memkind_t kind;
};

struct jemalloc_slot {
	/* 0 when empty. */
	uintptr_t ptr;
	memkind_t kind;
	/* Size class of the block, or JEMALLOC_UNCACHED. */
	unsigned cls;
	/* In the cache: not live for free() and usable_size(). */
	bool cached;
};

/* Classes: 16 B steps up to 128 B, then four per power of two to 4 KiB. */
#define JEMALLOC_CLASSES    28
#define JEMALLOC_CACHED_MAX ((size_t)4096)
#define JEMALLOC_UNCACHED   JEMALLOC_CLASSES
/* A class keeps up to 16 KiB, and 2 to 64 blocks. */
#define JEMALLOC_CACHE_BYTES ((size_t)16 << 10)
#define JEMALLOC_CACHE_DEPTH 64

struct aml_arena_jemalloc_state {
	/* Taken by jemalloc_lock(). */
	atomic_bool lock;
	const struct aml_area *area;
	size_t region_size;
	struct jemalloc_region *regions;
	size_t nregions;
	size_t cap;
	/* The hash set: a power of two of slots, at most half used. */
	struct jemalloc_slot *live;
	size_t live_mask;
	size_t nlive;
	struct aml_arena_stats stats;
	struct aml_fork_hook fork;
	/* Cached blocks per class (their kind is in live). */
	void *cache[JEMALLOC_CLASSES][JEMALLOC_CACHE_DEPTH];
	unsigned char ncached[JEMALLOC_CLASSES];
};

/* Size class of a request of @p size <= JEMALLOC_CACHED_MAX bytes. */
static unsigned jemalloc_class(size_t size)
{
	if (size <= 128)
		return size == 0 ? 0 : (unsigned)((size - 1) >> 4);
	unsigned p = 63 - (unsigned)__builtin_clzll(size - 1);
	return 8 + (p - 7) * 4 +
	       (unsigned)(((size - 1) - ((size_t)1 << p)) >> (p - 2));
}

static size_t jemalloc_class_size(unsigned cls)
{
	if (cls < 8)
		return (size_t)(cls + 1) << 4;
	unsigned q = cls - 8, p = 7 + q / 4;
	return ((size_t)1 << p) + (size_t)(q % 4 + 1) * ((size_t)1 << (p - 2));
}

static unsigned jemalloc_cache_depth(unsigned cls)
{
	size_t n = JEMALLOC_CACHE_BYTES / jemalloc_class_size(cls);
	return n < 2                      ? 2
	       : n > JEMALLOC_CACHE_DEPTH ? JEMALLOC_CACHE_DEPTH
	                                  : (unsigned)n;
}

static size_t jemalloc_hash(uintptr_t p, size_t mask)
{
	/* Fibonacci hashing; blocks are 8-byte aligned at least. */
	return (size_t)(((uint64_t)p * 0x9e3779b97f4a7c15ULL) >> 17) & mask;
}

static struct jemalloc_slot *
jemalloc_lookup(const struct aml_arena_jemalloc_state *s, uintptr_t p)
{
	for (size_t i = jemalloc_hash(p, s->live_mask);;
	     i = (i + 1) & s->live_mask) {
		if (s->live[i].ptr == p)
			return &s->live[i];
		if (s->live[i].ptr == 0)
			return NULL;
	}
}

static void
jemalloc_put(struct jemalloc_slot *table, size_t mask, struct jemalloc_slot x)
{
	size_t i = jemalloc_hash(x.ptr, mask);
	while (table[i].ptr != 0)
		i = (i + 1) & mask;
	table[i] = x;
}

/* Record a live block; AML_ENOMEM if the table cannot grow. */
static int jemalloc_insert(struct aml_arena_jemalloc_state *s,
                           void *p,
                           memkind_t kind,
                           unsigned cls)
{
	if (2 * (s->nlive + 1) > s->live_mask + 1) {
		size_t n = 2 * (s->live_mask + 1);
		struct jemalloc_slot *t = calloc(n, sizeof(*t));
		if (t == NULL)
			return AML_ENOMEM;
		for (size_t i = 0; i <= s->live_mask; i++)
			if (s->live[i].ptr != 0)
				jemalloc_put(t, n - 1, s->live[i]);
		free(s->live);
		s->live = t;
		s->live_mask = n - 1;
	}
	jemalloc_put(s->live, s->live_mask,
	             (struct jemalloc_slot){
	                     .ptr = (uintptr_t)p, .kind = kind, .cls = cls});
	s->nlive++;
	return 0;
}

/* Remove a slot, shifting back the entries of its probe run. */
static void jemalloc_erase(struct aml_arena_jemalloc_state *s,
                           struct jemalloc_slot *x)
{
	size_t i = (size_t)(x - s->live), mask = s->live_mask;
	for (size_t j = (i + 1) & mask; s->live[j].ptr != 0;
	     j = (j + 1) & mask) {
		size_t home = jemalloc_hash(s->live[j].ptr, mask);
		/* Move j to i if i lies in [home, j) cyclically. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			s->live[i] = s->live[j];
			i = j;
		}
	}
	s->live[i].ptr = 0;
	s->nlive--;
}

/*
 * The lock is a flag taken by an atomic exchange and given back by a
 * release store. Once a process has a second thread, glibc's
 * pthread_mutex_lock() and _unlock() cost two atomic read-modify-writes a
 * pair (12.6 ns here, against 5.5 ns for this one; 4 ns for the mutex in a
 * process that never had a thread), and malloc and free take the lock once
 * each. It is held for a few loads and stores, but for growth (an mmap and
 * memkind_create_fixed()): a waiter spins a little, then yields. In a
 * process with one thread (glibc's __libc_single_threaded, which only
 * that thread can clear, by making another), the flag is set by a plain
 * store, as glibc does for its own locks: nobody else can hold it.
 */
static void jemalloc_lock(struct aml_arena_jemalloc_state *s)
{
	if (JEMALLOC_SINGLE_THREADED()) {
		atomic_store_explicit(&s->lock, true, memory_order_relaxed);
		return;
	}
	unsigned spins = 0;
	while (atomic_load_explicit(&s->lock, memory_order_relaxed) ||
	       atomic_exchange_explicit(&s->lock, true, memory_order_acquire)) {
		if (++spins == 64) {
			spins = 0;
			sched_yield();
		}
	}
}

static void jemalloc_unlock(struct aml_arena_jemalloc_state *s)
{
	atomic_store_explicit(&s->lock, false, memory_order_release);
}

static struct aml_arena_jemalloc_state *
jemalloc_state_of(const struct aml_arena *a)
{
	return ((struct aml_arena_jemalloc *)a->data)->state;
}

/*
 * Map a region for a request of @p need bytes and make it a fixed kind:
 * region_size << @p attempt bytes, or twice the request if that is more.
 * Called with the lock held.
 */
static memkind_t
jemalloc_grow(struct aml_arena_jemalloc_state *s, size_t need, unsigned attempt)
{
	size_t page = aml_page_size();
	size_t size = s->region_size;
	if (size > (SIZE_MAX >> 2) || need > PTRDIFF_MAX / 4) {
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	size <<= attempt;
	if (need > size / 2) {
		/* Room for jemalloc's rounding of huge sizes and its
		 * metadata. */
		size = (2 * need + JEMALLOC_REGION_MIN + page - 1) &
		       ~(page - 1);
	}
	if (s->nregions == s->cap) {
		size_t cap = s->cap != 0 ? 2 * s->cap : 8;
		struct jemalloc_region *r =
		        realloc(s->regions, cap * sizeof(*r));
		if (r == NULL) {
			aml_errno = AML_ENOMEM;
			return NULL;
		}
		s->regions = r;
		s->cap = cap;
	}
	void *base = aml_area_mmap(s->area, size, NULL);
	if (base == NULL)
		return NULL;
	memkind_t kind;
	if (memkind_create_fixed(base, size, &kind) != MEMKIND_SUCCESS) {
		aml_area_munmap(s->area, base, size);
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	s->regions[s->nregions++] = (struct jemalloc_region){
	        .base = base, .size = size, .kind = kind};
	s->stats.maps++;
	s->stats.mapped_bytes += size;
	if (s->stats.mapped_bytes > s->stats.peak_mapped_bytes)
		s->stats.peak_mapped_bytes = s->stats.mapped_bytes;
	return kind;
}

static void *jemalloc_try(memkind_t kind, size_t size, size_t align)
{
	if (align <= AML_ARENA_ALIGNMENT)
		return memkind_malloc(kind, size);
	void *p = NULL;
	return memkind_posix_memalign(kind, &p, align, size) == 0 ? p : NULL;
}

/*
 * Try the regions older than the newest, newest first; on success *kind
 * is the one that served. Blocks freed in a region go back to its kind
 * only: without this, memory freed anywhere but in the newest region was
 * never used again, and a workflow that frees and reallocates large
 * blocks mapped a new region for most of them until the area was full
 * (12.9 GiB mapped for a live set of at most 8 GiB in
 * tests/arena_workflow_test.cc).
 */
static void *jemalloc_try_older(struct aml_arena_jemalloc_state *s,
                                size_t older,
                                size_t size,
                                size_t align,
                                memkind_t *kind)
{
	for (size_t i = older; i-- > 0;) {
		/* regions may move when another thread grows the array. */
		jemalloc_lock(s);
		memkind_t k = s->regions[i].kind;
		jemalloc_unlock(s);
		void *p = jemalloc_try(k, size, align);
		if (p != NULL) {
			*kind = k;
			return p;
		}
	}
	return NULL;
}

static void *jemalloc_alloc(struct aml_arena *arena, size_t size, size_t align)
{
	struct aml_arena_jemalloc_state *s = jemalloc_state_of(arena);
	if (size > PTRDIFF_MAX - align) {
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	unsigned cls = JEMALLOC_UNCACHED;
	if (size <= JEMALLOC_CACHED_MAX && align <= AML_ARENA_ALIGNMENT) {
		cls = jemalloc_class(size);
		size = jemalloc_class_size(cls);
		jemalloc_lock(s);
		if (s->ncached[cls] > 0) {
			void *p = s->cache[cls][--s->ncached[cls]];
			jemalloc_lookup(s, (uintptr_t)p)->cached = false;
			jemalloc_unlock(s);
			return p;
		}
		jemalloc_unlock(s);
	}
	void *p = NULL;
	memkind_t kind = NULL;
	/*
	 * jemalloc spreads threads over several arenas per kind, each with
	 * its own extents, so a fresh region can fail a request too: grow up
	 * to three times, doubling the region each time.
	 */
	for (unsigned attempt = 0;; attempt++) {
		jemalloc_lock(s);
		size_t seen = s->nregions;
		kind = seen != 0 ? s->regions[seen - 1].kind : NULL;
		jemalloc_unlock(s);
		if (kind != NULL &&
		    (p = jemalloc_try(kind, size, align)) != NULL)
			break;
		if (seen > 1 && (p = jemalloc_try_older(s, seen - 1, size,
		                                        align, &kind)) != NULL)
			break;
		if (attempt == 3) {
			aml_errno = AML_ENOMEM;
			return NULL;
		}
		jemalloc_lock(s);
		/* Another thread may have grown the arena meanwhile. */
		bool grown = s->nregions != seen ||
		             jemalloc_grow(s, size + align, attempt) != NULL;
		jemalloc_unlock(s);
		if (!grown)
			return NULL;
	}
	jemalloc_lock(s);
	int err = jemalloc_insert(s, p, kind, cls);
	jemalloc_unlock(s);
	if (err != 0) {
		memkind_free(kind, p);
		aml_errno = err;
		return NULL;
	}
	return p;
}

static int jemalloc_release(struct aml_arena *arena, void *ptr)
{
	struct aml_arena_jemalloc_state *s = jemalloc_state_of(arena);
	jemalloc_lock(s);
	struct jemalloc_slot *x = jemalloc_lookup(s, (uintptr_t)ptr);
	if (x == NULL || x->cached) {
		jemalloc_unlock(s);
		return AML_EINVAL;
	}
	memkind_t kind = x->kind;
	unsigned cls = x->cls;
	if (cls != JEMALLOC_UNCACHED &&
	    s->ncached[cls] < jemalloc_cache_depth(cls)) {
		x->cached = true;
		s->cache[cls][s->ncached[cls]++] = ptr;
		jemalloc_unlock(s);
		return 0;
	}
	jemalloc_erase(s, x);
	jemalloc_unlock(s);
	memkind_free(kind, ptr);
	return 0;
}

static int jemalloc_usable_size(const struct aml_arena *arena,
                                const void *ptr,
                                size_t *out)
{
	struct aml_arena_jemalloc_state *s = jemalloc_state_of(arena);
	jemalloc_lock(s);
	struct jemalloc_slot *x = jemalloc_lookup(s, (uintptr_t)ptr);
	memkind_t kind = x != NULL && !x->cached ? x->kind : NULL;
	jemalloc_unlock(s);
	if (kind == NULL)
		return AML_EINVAL;
	/* memkind takes a non-const pointer but only reads the block. */
	*out = memkind_malloc_usable_size(kind, (void *)(uintptr_t)ptr);
	return 0;
}

static int jemalloc_stats(const struct aml_arena *arena,
                          struct aml_arena_stats *out)
{
	struct aml_arena_jemalloc_state *s = jemalloc_state_of(arena);
	jemalloc_lock(s);
	*out = s->stats;
	jemalloc_unlock(s);
	return 0;
}

static struct aml_arena_jemalloc_state *
jemalloc_forked(struct aml_fork_hook *hook)
{
	return AML_FORK_OBJECT(hook, struct aml_arena_jemalloc_state, fork);
}

static void jemalloc_fork_prepare(struct aml_fork_hook *hook)
{
	jemalloc_lock(jemalloc_forked(hook));
}

static void jemalloc_fork_parent(struct aml_fork_hook *hook)
{
	jemalloc_unlock(jemalloc_forked(hook));
}

static void jemalloc_fork_child(struct aml_fork_hook *hook)
{
	jemalloc_unlock(jemalloc_forked(hook));
}

static const struct aml_fork_ops jemalloc_fork_ops = {
        .level = AML_FORK_ARENA,
        .prepare = jemalloc_fork_prepare,
        .parent = jemalloc_fork_parent,
        .child = jemalloc_fork_child,
};

static const struct aml_arena_ops aml_arena_jemalloc_ops = {
        .alloc = jemalloc_alloc,
        .release = jemalloc_release,
        .usable_size = jemalloc_usable_size,
        .resize = NULL,
        .reset = NULL,
        .stats = jemalloc_stats,
};

int aml_arena_jemalloc_init(struct aml_arena_jemalloc *arena,
                            const struct aml_area *area,
                            size_t region_size)
{
	if (region_size == 0)
		region_size = AML_ARENA_JEMALLOC_REGION_SIZE;
	if (arena == NULL || area == NULL ||
	    region_size % aml_page_size() != 0 ||
	    region_size < JEMALLOC_REGION_MIN || region_size > PTRDIFF_MAX)
		return AML_EINVAL;
	struct aml_arena_jemalloc_state *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return AML_ENOMEM;
	s->live = calloc(64, sizeof(*s->live));
	if (s->live == NULL) {
		free(s->live);
		free(s);
		return AML_ENOMEM;
	}
	s->live_mask = 63;
	s->area = area;
	s->region_size = region_size;
	aml_fork_register(&s->fork, &jemalloc_fork_ops);
	*arena = (struct aml_arena_jemalloc){
	        .base = {.ops = &aml_arena_jemalloc_ops, .data = arena},
	        .state = s,
	};
	return 0;
}

void aml_arena_jemalloc_fini(struct aml_arena_jemalloc *arena)
{
	if (arena == NULL || arena->state == NULL)
		return;
	struct aml_arena_jemalloc_state *s = arena->state;
	aml_fork_unregister(&s->fork);
	/* memkind_destroy_kind() of a kind with blocks still allocated
	 * leaves blocks of libc's heap behind (fault_arena_test saw 16;
	 * why, inside memkind, is not known): free the live blocks, cached
	 * ones included, first. */
	for (size_t i = 0; i <= s->live_mask; i++)
		if (s->live[i].ptr != 0)
			memkind_free(s->live[i].kind, (void *)s->live[i].ptr);
	for (size_t i = 0; i < s->nregions; i++) {
		memkind_destroy_kind(s->regions[i].kind);
		aml_area_munmap(s->area, s->regions[i].base,
		                s->regions[i].size);
	}
	free(s->regions);
	free(s->live);
	free(s);
	arena->state = NULL;
	/* Every later call through the handle is AML_EINVAL, where it used
	 * to reach the freed state (issue #13). */
	arena->base.ops = NULL;
}

int aml_arena_jemalloc_create(struct aml_arena **out,
                              const struct aml_area *area,
                              size_t region_size)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_arena_jemalloc *arena = malloc(sizeof(*arena));
	if (arena == NULL)
		return AML_ENOMEM;
	int err = aml_arena_jemalloc_init(arena, area, region_size);
	if (err != 0) {
		free(arena);
		return err;
	}
	*out = &arena->base;
	return 0;
}

void aml_arena_jemalloc_destroy(struct aml_arena **arena)
{
	if (arena == NULL || *arena == NULL ||
	    (*arena)->ops != &aml_arena_jemalloc_ops)
		return;
	struct aml_arena_jemalloc *self = (*arena)->data;
	aml_arena_jemalloc_fini(self);
	free(self);
	*arena = NULL;
}
