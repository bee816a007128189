/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The jemalloc arena (aml/arena/jemalloc.h), over memkind's fixed kinds.
 *
 * State, behind arena->state (malloc'd, so the public header needs no
 * memkind types):
 * - regions: every region mapped from the area, with its fixed kind, in a
 *   list from the newest, published by a release store and never changed
 *   after, so that any thread walks it without a lock. Allocation tries
 *   the newest, then the older ones, and only when all fail maps another
 *   region, large enough for the request;
 * - a state byte per 16 bytes of each region (malloc'd beside it): 0 for
 *   no block held from memkind there, class + 1 for a live block of up to
 *   4 KiB, JEMALLOC_LIVE_BIG for a live larger or aligned block,
 *   JEMALLOC_FREE for a block freed by the user and kept in a cache. It
 *   is what makes free() safe: memkind_free() on anything but a block
 *   jemalloc returned would corrupt its heap, and jemalloc cannot tell an
 *   interior pointer from a block start. Every block starts on 16 bytes
 *   (jemalloc's classes are multiples of 16 from 16 B up, requests are
 *   rounded to one of ours, and larger blocks are page-aligned);
 * - caches of blocks of up to 4 KiB freed by the user, per size class,
 *   kept allocated in memkind and handed out again by the next malloc of
 *   their class: one per thread and arena, touched by its thread only,
 *   and one shared, under the lock, that takes a thread cache's overflow
 *   and refills it. memkind serves fixed kinds without jemalloc's thread
 *   cache (get_tcache_flag() in memkind_arena.c: MALLOCX_TCACHE_NONE for
 *   every kind made at run time), so each memkind_malloc and memkind_free
 *   of a fixed kind takes jemalloc's bin lock and costs ~150 ns here,
 *   against ~10 ns for MEMKIND_DEFAULT (docs/arena.md). Small requests
 *   are rounded up to their class before they reach memkind, so that any
 *   cached block of a class serves any request of it;
 * - held: a hash set of every block held from memkind, live or cached,
 *   changed under the lock where memkind is called (~150 ns a call
 *   anyway), so that fini gives them back in time of their number: a scan
 *   of the state bytes took seconds for the regions of upstream AML's
 *   workflow (tens of GiB, so a table of a GiB and more).
 *
 * The common paths, a malloc served and a free kept by the thread's
 * cache, take no lock and do no read-modify-write: malloc stores the
 * block's byte, free loads it and stores JEMALLOC_FREE, plain moves, yet
 * any thread may free any block and a double free is seen whichever
 * thread frees (as in the scalable arena, aml/src/arena/scalable.c). A
 * lock taken by an atomic exchange cost 9-10 ns per malloc+free once a
 * process had a second thread (docs/arena.md). Larger blocks take an
 * exchange of their byte, so that of two racing frees one fails.
 *
 * Thread caches: each thread keeps a small array of (arena, cache) slots
 * in thread-local storage. fini clears the slots of its caches in every
 * thread, so a slot never outlives its arena and a new arena at the same
 * address finds none. A process-wide registry mutex (a leaf: nothing else
 * is locked under it) guards the slots' writes and each arena's list of
 * caches; a pthread key's destructor hands the caches of an exiting thread
 * back. The destructor unlinks them under the registry and counts them in
 * the arena's `exiting`, then flushes them under the arena's lock; fini
 * frees the caches still linked and waits for `exiting` to drop to zero,
 * so a thread may exit while another finalises the arena. fini then gives
 * every block held back to memkind, cached ones included.
 *
 * The lock guards growth, the shared cache, held and the statistics. memkind
 * calls happen outside it (jemalloc has its own locks), except
 * memkind_create_fixed() for growth.
 *
 * fork() (aml/src/fork.h): prepare takes the lock, so the shared cache and
 * the regions are whole in the child; the child makes it new and forgets
 * the threads that were handing back caches. The registry is an
 * AML_FORK_LEAF mutex. memkind's jemalloc takes its own locks under ours
 * (growth) and has its own fork handlers, which it registers when it
 * loads, so they run after ours in prepare.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* memkind's fixed kinds need room for jemalloc's first extents. */
#define JEMALLOC_REGION_MIN ((size_t)4 << 20)

/* Classes: 16 B steps up to 128 B, then four per power of two to 4 KiB. */
#define JEMALLOC_CLASSES    28
#define JEMALLOC_CACHED_MAX ((size_t)4096)
/* A class keeps up to 16 KiB, and 2 to 64 blocks, in each cache. */
#define JEMALLOC_CACHE_BYTES ((size_t)16 << 10)
#define JEMALLOC_CACHE_DEPTH 64
/* State bytes (besides 0 and class + 1). */
#define JEMALLOC_LIVE_BIG 0xfe
#define JEMALLOC_FREE     0xff
/* Slots of (arena, cache) per thread. */
#define JEMALLOC_NSLOTS 8

struct jemalloc_region {
	void *base;
	size_t size;
	memkind_t kind;
	/* The next older region; NULL for the first. */
	struct jemalloc_region *older;
	/* One byte per 16 bytes of the region, read and written with
	 * __atomic builtins (relaxed: another thread learns of a block
	 * through the user's own synchronisation). */
	unsigned char *state;
};

/* Free blocks of one class in a thread's cache, the newest last. An
 * array, not a list through the blocks: the arena never writes to a block
 * the user freed, so a write after free cannot lead it astray. */
struct jemalloc_bin {
	uint32_t count;
	/* At cap, half the blocks go to the shared cache. */
	uint32_t cap;
	void *blocks[JEMALLOC_CACHE_DEPTH];
};

struct jemalloc_tslot;

struct jemalloc_tcache {
	struct jemalloc_bin bins[JEMALLOC_CLASSES];
	struct aml_arena_jemalloc_state *arena;
	/* Links of the arena's list, and the slot that holds the cache
	 * (all three under the registry). */
	struct jemalloc_tcache *next;
	struct jemalloc_tcache *prev;
	struct jemalloc_tslot *slot;
};

/* Written under the registry, read by their thread without it. */
struct jemalloc_tslot {
	_Atomic(uintptr_t) arena;
	_Atomic(struct jemalloc_tcache *) cache;
};

struct aml_arena_jemalloc_state {
	/* Taken by jemalloc_lock(). */
	atomic_bool lock;
	const struct aml_area *area;
	size_t region_size;
	_Atomic(struct jemalloc_region *) newest;
	struct aml_arena_stats stats;
	struct aml_fork_hook fork;
	/* Caches of live threads (under the registry). */
	struct jemalloc_tcache *caches;
	/* Caches being flushed by exiting threads. */
	_Atomic size_t exiting;
	/* The shared cache, per class. */
	void *cache[JEMALLOC_CLASSES][JEMALLOC_CACHE_DEPTH];
	unsigned char ncached[JEMALLOC_CLASSES];
	/* Every block held from memkind (live or cached), for fini: an
	 * open-addressing hash set (linear probing, backward-shift
	 * deletion), a power of two of slots, at most half used, written
	 * under the lock by the paths that call memkind only. */
	uintptr_t *held;
	size_t held_mask;
	size_t nheld;
};

static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;
static pthread_key_t registry_key;
static bool registry_ok;
static struct aml_fork_hook registry_hook;
/* In libaml.so, initial-exec: an offset from the GOT instead of a call to
 * __tls_get_addr (as the scalable arena's slots). */
#if defined(__PIC__) && !defined(__PIE__)
#define TSLOTS_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define TSLOTS_TLS_MODEL
#endif
static _Thread_local struct jemalloc_tslot
        tslots[JEMALLOC_NSLOTS] TSLOTS_TLS_MODEL;

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

/*
 * The lock is a flag taken by an atomic exchange and given back by a
 * release store; it is off the common paths, which the thread caches
 * serve. It is held for a few loads and stores, but for growth (an mmap
 * and memkind_create_fixed()): a waiter spins a little, then yields. In a
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

static inline struct aml_arena_jemalloc_state *
jemalloc_state_of(const struct aml_arena *a)
{
	return ((struct aml_arena_jemalloc *)a->data)->state;
}

/* ---- The set of blocks held, under the lock ---- */

static size_t jemalloc_hash(uintptr_t p, size_t mask)
{
	/* Fibonacci hashing; blocks are 16-byte aligned. */
	return (size_t)(((uint64_t)p * 0x9e3779b97f4a7c15ULL) >> 17) & mask;
}

static void jemalloc_put(uintptr_t *table, size_t mask, uintptr_t p)
{
	size_t i = jemalloc_hash(p, mask);
	while (table[i] != 0)
		i = (i + 1) & mask;
	table[i] = p;
}

/* Record a block held; AML_ENOMEM if the set cannot grow. */
static int jemalloc_hold(struct aml_arena_jemalloc_state *s, void *p)
{
	if (2 * (s->nheld + 1) > s->held_mask + 1) {
		size_t n = 2 * (s->held_mask + 1);
		uintptr_t *t = calloc(n, sizeof(*t));
		if (t == NULL)
			return AML_ENOMEM;
		for (size_t i = 0; i <= s->held_mask; i++)
			if (s->held[i] != 0)
				jemalloc_put(t, n - 1, s->held[i]);
		free(s->held);
		s->held = t;
		s->held_mask = n - 1;
	}
	jemalloc_put(s->held, s->held_mask, (uintptr_t)p);
	s->nheld++;
	return 0;
}

/* Forget a block held, shifting back the entries of its probe run. */
static void jemalloc_unhold(struct aml_arena_jemalloc_state *s, void *p)
{
	size_t mask = s->held_mask, i = jemalloc_hash((uintptr_t)p, mask);
	while (s->held[i] != (uintptr_t)p) {
		if (s->held[i] == 0)
			return; /* not held: nothing to forget */
		i = (i + 1) & mask;
	}
	for (size_t j = (i + 1) & mask; s->held[j] != 0; j = (j + 1) & mask) {
		size_t home = jemalloc_hash(s->held[j], mask);
		/* Move j to i if i lies in [home, j) cyclically. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			s->held[i] = s->held[j];
			i = j;
		}
	}
	s->held[i] = 0;
	s->nheld--;
}

/* ---- Regions and state bytes ---- */

/* The region that holds @p p, or NULL. */
static inline struct jemalloc_region *
jemalloc_region_of(const struct aml_arena_jemalloc_state *s, const void *p)
{
	uintptr_t a = (uintptr_t)p;
	for (struct jemalloc_region *r =
	             atomic_load_explicit(&s->newest, memory_order_acquire);
	     r != NULL; r = r->older)
		if (a - (uintptr_t)r->base < r->size)
			return r;
	return NULL;
}

/* The state byte of @p p in @p r; @p p is in the region. */
static inline unsigned char *jemalloc_byte(const struct jemalloc_region *r,
                                           const void *p)
{
	return &r->state[((uintptr_t)p - (uintptr_t)r->base) >> 4];
}

static inline unsigned char jemalloc_byte_load(const unsigned char *b)
{
	return __atomic_load_n(b, __ATOMIC_RELAXED);
}

static inline void jemalloc_byte_store(unsigned char *b, unsigned char v)
{
	__atomic_store_n(b, v, __ATOMIC_RELAXED);
}

/*
 * The state byte of the block at @p p if @p p is in a region and on 16
 * bytes, with its region in *@p region; NULL otherwise. The byte tells
 * whether @p p starts a block.
 */
static inline unsigned char *
jemalloc_block(const struct aml_arena_jemalloc_state *s,
               const void *p,
               struct jemalloc_region **region)
{
	struct jemalloc_region *r = jemalloc_region_of(s, p);
	if (UNLIKELY(r == NULL || ((uintptr_t)p & 15) != 0))
		return NULL;
	*region = r;
	return jemalloc_byte(r, p);
}

/*
 * Map a region for a request of @p need bytes and make it a fixed kind:
 * region_size << @p attempt bytes, or twice the request if that is more.
 * Called with the lock held.
 */
static bool
jemalloc_grow(struct aml_arena_jemalloc_state *s, size_t need, unsigned attempt)
{
	size_t page = aml_page_size();
	size_t size = s->region_size;
	if (size > (SIZE_MAX >> 2) || need > PTRDIFF_MAX / 4) {
		aml_errno = AML_ENOMEM;
		return false;
	}
	size <<= attempt;
	if (need > size / 2) {
		/* Room for jemalloc's rounding of huge sizes and its
		 * metadata. */
		size = (2 * need + JEMALLOC_REGION_MIN + page - 1) &
		       ~(page - 1);
	}
	/* The area first: it refuses sizes no table should be made for. */
	void *base = aml_area_mmap(s->area, size, NULL);
	if (base == NULL)
		return false;
	struct jemalloc_region *r = malloc(sizeof(*r));
	/* Zero pages: only the bytes of blocks are ever touched. */
	unsigned char *state = r != NULL ? calloc(size >> 4, 1) : NULL;
	memkind_t kind;
	if (state == NULL ||
	    memkind_create_fixed(base, size, &kind) != MEMKIND_SUCCESS) {
		aml_area_munmap(s->area, base, size);
		free(state);
		free(r);
		aml_errno = AML_ENOMEM;
		return false;
	}
	*r = (struct jemalloc_region){
	        .base = base,
	        .size = size,
	        .kind = kind,
	        .older = atomic_load_explicit(&s->newest, memory_order_relaxed),
	        .state = state,
	};
	atomic_store_explicit(&s->newest, r, memory_order_release);
	s->stats.maps++;
	s->stats.mapped_bytes += size;
	if (s->stats.mapped_bytes > s->stats.peak_mapped_bytes)
		s->stats.peak_mapped_bytes = s->stats.mapped_bytes;
	return true;
}

static void *jemalloc_try(memkind_t kind, size_t size, size_t align)
{
	if (align <= AML_ARENA_ALIGNMENT)
		return memkind_malloc(kind, size);
	void *p = NULL;
	return memkind_posix_memalign(kind, &p, align, size) == 0 ? p : NULL;
}

/*
 * A block from memkind, with its region in *@p region: from the newest
 * region, else the older ones, newest first. Blocks freed in a region go
 * back to its kind only: without the older ones, memory freed anywhere
 * but in the newest region was never used again, and a workflow that
 * frees and reallocates large blocks mapped a new region for most of them
 * until the area was full (12.9 GiB mapped for a live set of at most
 * 8 GiB in tests/arena_workflow_test.cc).
 */
static void *__attribute__((noinline))
jemalloc_obtain(struct aml_arena_jemalloc_state *s,
                size_t size,
                size_t align,
                struct jemalloc_region **region)
{
	/*
	 * jemalloc spreads threads over several arenas per kind, each with
	 * its own extents, so a fresh region can fail a request too: grow up
	 * to three times, doubling the region each time.
	 */
	for (unsigned attempt = 0;; attempt++) {
		struct jemalloc_region *seen =
		        atomic_load_explicit(&s->newest, memory_order_acquire);
		for (struct jemalloc_region *r = seen; r != NULL;
		     r = r->older) {
			void *p = jemalloc_try(r->kind, size, align);
			if (p == NULL)
				continue;
			if (UNLIKELY((uintptr_t)p - (uintptr_t)r->base >=
			                     r->size ||
			             ((uintptr_t)p & 15) != 0)) {
				/* Not where the state bytes can say it. */
				memkind_free(r->kind, p);
				aml_errno = AML_ENOMEM;
				return NULL;
			}
			jemalloc_lock(s);
			int err = jemalloc_hold(s, p);
			jemalloc_unlock(s);
			if (err != 0) {
				memkind_free(r->kind, p);
				aml_errno = err;
				return NULL;
			}
			*region = r;
			return p;
		}
		if (attempt == 3) {
			aml_errno = AML_ENOMEM;
			return NULL;
		}
		jemalloc_lock(s);
		/* Another thread may have grown the arena meanwhile. */
		bool grown =
		        atomic_load_explicit(&s->newest,
		                             memory_order_relaxed) != seen ||
		        jemalloc_grow(s, size + align, attempt);
		jemalloc_unlock(s);
		if (!grown)
			return NULL;
	}
}

/* Give back to memkind the @p n blocks at @p v (their bytes are
 * JEMALLOC_FREE, and no cache holds them). */
static void
jemalloc_give_back(struct aml_arena_jemalloc_state *s, void **v, uint32_t n)
{
	if (n == 0)
		return;
	jemalloc_lock(s);
	for (uint32_t i = 0; i < n; i++)
		jemalloc_unhold(s, v[i]);
	jemalloc_unlock(s);
	for (uint32_t i = 0; i < n; i++) {
		struct jemalloc_region *r = jemalloc_region_of(s, v[i]);
		jemalloc_byte_store(jemalloc_byte(r, v[i]), 0);
		memkind_free(r->kind, v[i]);
	}
}

/* Put the @p n blocks of class @p cls at @p v in the shared cache (under
 * the lock), as many as fit; returns how many did. */
static uint32_t jemalloc_shared_put(struct aml_arena_jemalloc_state *s,
                                    unsigned cls,
                                    void **v,
                                    uint32_t n)
{
	uint32_t room = jemalloc_cache_depth(cls) - s->ncached[cls];
	uint32_t put = n < room ? n : room;
	memcpy(&s->cache[cls][s->ncached[cls]], v, put * sizeof(*v));
	s->ncached[cls] = (unsigned char)(s->ncached[cls] + put);
	return put;
}

/* ---- Thread caches ---- */

static void jemalloc_cache_flush(struct jemalloc_tcache *c)
{
	struct aml_arena_jemalloc_state *s = c->arena;
	uint32_t put[JEMALLOC_CLASSES];
	jemalloc_lock(s);
	for (unsigned k = 0; k < JEMALLOC_CLASSES; k++)
		put[k] = jemalloc_shared_put(s, k, c->bins[k].blocks,
		                             c->bins[k].count);
	jemalloc_unlock(s);
	for (unsigned k = 0; k < JEMALLOC_CLASSES; k++) {
		struct jemalloc_bin *bin = &c->bins[k];
		jemalloc_give_back(s, bin->blocks + put[k],
		                   bin->count - put[k]);
		bin->count = 0;
	}
}

static void jemalloc_cache_unlink(struct jemalloc_tcache *c)
{
	struct aml_arena_jemalloc_state *s = c->arena;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->caches = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	atomic_store_explicit(&c->slot->arena, 0, memory_order_relaxed);
	atomic_store_explicit(&c->slot->cache, NULL, memory_order_relaxed);
}

/* The pthread key's destructor: hand back the caches of an exiting
 * thread (its slots are @p arg). */
static void registry_thread_exit(void *arg)
{
	struct jemalloc_tslot *mine = arg;
	struct jemalloc_tcache *gone = NULL;
	pthread_mutex_lock(&registry);
	for (unsigned i = 0; i < JEMALLOC_NSLOTS; i++) {
		struct jemalloc_tcache *c = atomic_load_explicit(
		        &mine[i].cache, memory_order_relaxed);
		if (c == NULL)
			continue;
		jemalloc_cache_unlink(c);
		atomic_fetch_add_explicit(&c->arena->exiting, 1,
		                          memory_order_relaxed);
		c->next = gone;
		gone = c;
	}
	pthread_mutex_unlock(&registry);
	while (gone != NULL) {
		struct jemalloc_tcache *c = gone;
		gone = c->next;
		struct aml_arena_jemalloc_state *s = c->arena;
		jemalloc_cache_flush(c);
		free(c);
		/* After this, fini may free the arena. */
		atomic_fetch_sub_explicit(&s->exiting, 1, memory_order_release);
	}
}

static void registry_init(void)
{
	if (pthread_key_create(&registry_key, registry_thread_exit) != 0)
		return;
	aml_fork_register_mutex(&registry_hook, AML_FORK_LEAF, &registry, NULL);
	registry_ok = true;
}

static struct jemalloc_tcache *__attribute__((noinline))
jemalloc_cache_get_slow(struct aml_arena_jemalloc_state *s)
{
	for (unsigned i = 1; i < JEMALLOC_NSLOTS; i++)
		if (atomic_load_explicit(&tslots[i].arena,
		                         memory_order_relaxed) == (uintptr_t)s)
			return atomic_load_explicit(&tslots[i].cache,
			                            memory_order_relaxed);
	struct jemalloc_tcache *c = NULL;
	pthread_mutex_lock(&registry);
	for (unsigned i = 0; i < JEMALLOC_NSLOTS; i++) {
		if (atomic_load_explicit(&tslots[i].cache,
		                         memory_order_relaxed) != NULL)
			continue;
		if (pthread_setspecific(registry_key, tslots) != 0 ||
		    (c = calloc(1, sizeof(*c))) == NULL)
			break;
		for (unsigned k = 0; k < JEMALLOC_CLASSES; k++)
			c->bins[k].cap = jemalloc_cache_depth(k);
		c->arena = s;
		c->slot = &tslots[i];
		c->next = s->caches;
		if (c->next != NULL)
			c->next->prev = c;
		s->caches = c;
		atomic_store_explicit(&tslots[i].cache, c,
		                      memory_order_relaxed);
		atomic_store_explicit(&tslots[i].arena, (uintptr_t)s,
		                      memory_order_relaxed);
		break;
	}
	pthread_mutex_unlock(&registry);
	return c; /* NULL: no slot or no memory, go without a cache */
}

/* The calling thread's cache for the arena if it is in the first slot,
 * else NULL. */
static inline struct jemalloc_tcache *
jemalloc_cache_first(const struct aml_arena_jemalloc_state *s)
{
	if (LIKELY(atomic_load_explicit(&tslots[0].arena,
	                                memory_order_relaxed) == (uintptr_t)s))
		return atomic_load_explicit(&tslots[0].cache,
		                            memory_order_relaxed);
	return NULL;
}

/* ---- Ops ---- */

/* A block of class @p cls: from a cache not in the first slot, or after a
 * refill of the cache from the shared one, or from memkind. */
static void *__attribute__((noinline))
jemalloc_small_alloc_slow(struct aml_arena_jemalloc_state *s, unsigned cls)
{
	struct jemalloc_tcache *c = jemalloc_cache_first(s);
	if (c == NULL)
		c = jemalloc_cache_get_slow(s);
	struct jemalloc_bin *bin = c != NULL ? &c->bins[cls] : NULL;
	void *b = NULL;
	if (bin != NULL && bin->count > 0) {
		b = bin->blocks[--bin->count];
	} else {
		/* Refill: half a bin from the shared cache. */
		uint32_t want = bin != NULL ? bin->cap / 2 : 1;
		jemalloc_lock(s);
		if (s->ncached[cls] > 0) {
			b = s->cache[cls][--s->ncached[cls]];
			while (bin != NULL && bin->count + 1 < want &&
			       s->ncached[cls] > 0)
				bin->blocks[bin->count++] =
				        s->cache[cls][--s->ncached[cls]];
		}
		jemalloc_unlock(s);
	}
	struct jemalloc_region *r;
	if (b != NULL) {
		r = jemalloc_region_of(s, b);
	} else {
		b = jemalloc_obtain(s, jemalloc_class_size(cls),
		                    AML_ARENA_ALIGNMENT, &r);
		if (b == NULL)
			return NULL;
	}
	jemalloc_byte_store(jemalloc_byte(r, b), (unsigned char)(cls + 1));
	return b;
}

static void *__attribute__((noinline))
jemalloc_big_alloc(struct aml_arena_jemalloc_state *s,
                   size_t size,
                   size_t align)
{
	if (size > PTRDIFF_MAX - align) {
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	struct jemalloc_region *r;
	void *p = jemalloc_obtain(s, size, align, &r);
	if (p != NULL)
		jemalloc_byte_store(jemalloc_byte(r, p), JEMALLOC_LIVE_BIG);
	return p;
}

static void *jemalloc_alloc(struct aml_arena *arena, size_t size, size_t align)
{
	struct aml_arena_jemalloc_state *s = jemalloc_state_of(arena);
	if (UNLIKELY(size > JEMALLOC_CACHED_MAX || align > AML_ARENA_ALIGNMENT))
		return jemalloc_big_alloc(s, size, align);
	unsigned cls = jemalloc_class(size);
	struct jemalloc_tcache *c = jemalloc_cache_first(s);
	if (UNLIKELY(c == NULL))
		return jemalloc_small_alloc_slow(s, cls);
	struct jemalloc_bin *bin = &c->bins[cls];
	if (UNLIKELY(bin->count == 0))
		return jemalloc_small_alloc_slow(s, cls);
	void *b = bin->blocks[--bin->count];
	struct jemalloc_region *r = jemalloc_region_of(s, b);
	jemalloc_byte_store(jemalloc_byte(r, b), (unsigned char)(cls + 1));
	return b;
}

/* Free a larger block: its byte, exchanged, tells which of two racing
 * frees gives it back. */
static int __attribute__((noinline))
jemalloc_big_release(struct aml_arena_jemalloc_state *s,
                     struct jemalloc_region *r,
                     unsigned char *byte,
                     void *ptr)
{
	if (__atomic_exchange_n(byte, 0, __ATOMIC_RELAXED) != JEMALLOC_LIVE_BIG)
		return AML_EINVAL;
	jemalloc_lock(s);
	jemalloc_unhold(s, ptr);
	jemalloc_unlock(s);
	memkind_free(r->kind, ptr);
	return 0;
}

/* Give back the older half of a full bin, to the shared cache, and to
 * memkind what it cannot take; the newer half moves down. */
static int __attribute__((noinline))
jemalloc_drain(struct aml_arena_jemalloc_state *s,
               struct jemalloc_bin *bin,
               unsigned cls)
{
	uint32_t keep = bin->cap / 2, n = bin->count - keep;
	jemalloc_lock(s);
	uint32_t put = jemalloc_shared_put(s, cls, bin->blocks, n);
	jemalloc_unlock(s);
	jemalloc_give_back(s, bin->blocks + put, n - put);
	memmove(bin->blocks, bin->blocks + n, keep * sizeof(void *));
	bin->count = keep;
	return 0;
}

/* Free the block at @p ptr, of class @p cls, already marked free, into a
 * cache not in the first slot, or to the shared cache without one. */
static int __attribute__((noinline))
jemalloc_small_release_slow(struct aml_arena_jemalloc_state *s,
                            void *ptr,
                            unsigned cls)
{
	struct jemalloc_tcache *c = jemalloc_cache_get_slow(s);
	if (c == NULL) {
		jemalloc_lock(s);
		uint32_t put = jemalloc_shared_put(s, cls, &ptr, 1);
		jemalloc_unlock(s);
		jemalloc_give_back(s, &ptr, 1 - put);
		return 0;
	}
	struct jemalloc_bin *bin = &c->bins[cls];
	bin->blocks[bin->count] = ptr;
	if (++bin->count >= bin->cap)
		return jemalloc_drain(s, bin, cls);
	return 0;
}

static int jemalloc_release(struct aml_arena *arena, void *ptr)
{
	struct aml_arena_jemalloc_state *s = jemalloc_state_of(arena);
	struct jemalloc_region *r;
	unsigned char *byte = jemalloc_block(s, ptr, &r);
	if (UNLIKELY(byte == NULL))
		return AML_EINVAL;
	unsigned v = jemalloc_byte_load(byte);
	if (UNLIKELY(v == 0 || v >= JEMALLOC_LIVE_BIG)) {
		if (v == JEMALLOC_LIVE_BIG)
			return jemalloc_big_release(s, r, byte, ptr);
		return AML_EINVAL;
	}
	unsigned cls = v - 1;
	jemalloc_byte_store(byte, JEMALLOC_FREE);
	struct jemalloc_tcache *c = jemalloc_cache_first(s);
	if (UNLIKELY(c == NULL))
		return jemalloc_small_release_slow(s, ptr, cls);
	struct jemalloc_bin *bin = &c->bins[cls];
	bin->blocks[bin->count] = ptr;
	if (UNLIKELY(++bin->count >= bin->cap))
		return jemalloc_drain(s, bin, cls);
	return 0;
}

static int jemalloc_usable_size(const struct aml_arena *arena,
                                const void *ptr,
                                size_t *out)
{
	struct aml_arena_jemalloc_state *s = jemalloc_state_of(arena);
	struct jemalloc_region *r;
	unsigned char *byte = jemalloc_block(s, ptr, &r);
	unsigned v = byte != NULL ? jemalloc_byte_load(byte) : 0;
	if (v == 0 || v == JEMALLOC_FREE)
		return AML_EINVAL;
	/* memkind takes a non-const pointer but only reads the block. */
	*out = memkind_malloc_usable_size(r->kind, (void *)(uintptr_t)ptr);
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

/* The threads that were handing back caches do not exist in the child:
 * fini must not wait for them (their blocks go back at fini). */
static void jemalloc_fork_child(struct aml_fork_hook *hook)
{
	struct aml_arena_jemalloc_state *s = jemalloc_forked(hook);
	atomic_store_explicit(&s->exiting, 0, memory_order_relaxed);
	jemalloc_unlock(s);
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
	pthread_once(&registry_once, registry_init);
	if (!registry_ok)
		return AML_ENOMEM;
	struct aml_arena_jemalloc_state *s = calloc(1, sizeof(*s));
	uintptr_t *held = s != NULL ? calloc(64, sizeof(*held)) : NULL;
	if (held == NULL) {
		free(s);
		return AML_ENOMEM;
	}
	s->held = held;
	s->held_mask = 63;
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
	pthread_mutex_lock(&registry);
	while (s->caches != NULL) {
		struct jemalloc_tcache *c = s->caches;
		jemalloc_cache_unlink(c);
		free(c);
	}
	pthread_mutex_unlock(&registry);
	/* Threads flushing their caches on exit still use the lock. */
	while (atomic_load_explicit(&s->exiting, memory_order_acquire) != 0)
		sched_yield();
	aml_fork_unregister(&s->fork);
	/* memkind_destroy_kind() of a kind with blocks still allocated
	 * leaves blocks of libc's heap behind (fault_arena_test saw 16;
	 * why, inside memkind, is not known): free the blocks held, cached
	 * ones included, first. */
	for (size_t i = 0; i <= s->held_mask; i++)
		if (s->held[i] != 0)
			memkind_free(
			        jemalloc_region_of(s, (void *)s->held[i])->kind,
			        (void *)s->held[i]);
	free(s->held);
	struct jemalloc_region *r =
	        atomic_load_explicit(&s->newest, memory_order_relaxed);
	while (r != NULL) {
		struct jemalloc_region *older = r->older;
		memkind_destroy_kind(r->kind);
		aml_area_munmap(s->area, r->base, r->size);
		free(r->state);
		free(r);
		r = older;
	}
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
