/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scalable arena (aml/arena/scalable.h).
 *
 * Small blocks live in spans of 64 KiB, mapped from the area aligned to
 * their size, so a block's span is its address with the low bits cleared:
 *
 *   [struct aml_scalable_span: links, class, counts, one state byte per
 *    16 bytes of span | pad to a multiple of the block size | block first
 *    | ... ]
 *
 * Block i of a span starts i * block_size bytes after the span, so a
 * power-of-two class keeps its blocks aligned to their size.
 *
 * Who holds a free block: a thread's cache (a list per class through the
 * blocks' first word, without a lock: only its thread touches it), or its
 * span (the span's free list, or the never-used tail from fresh on), under
 * the arena's mutex. nused counts the blocks out of the span: live or in a
 * cache. A span with blocks of its own is on its class's partial list.
 *
 * The state byte of a block (one per 16 bytes of span, at the block's
 * offset / 16) is 1 while it is live (handed to the user) and
 * 0 otherwise; malloc stores 1, free checks 1 and stores 0. Stores and
 * loads of one byte are plain moves: the hot paths take no lock and do no
 * read-modify-write, yet any thread may free any block, and double frees
 * are seen whichever thread frees. A free must also find the span in the
 * arena's span map, a two-level radix tree over addresses below 2^48
 * (written under the mutex, read without it), so a pointer the arena did
 * not hand out is never dereferenced. A thread remembers the spans it freed
 * into lately with their class (its cache's memo), so that most frees skip
 * the map; dropping a span raises the map's gen, which voids every memo.
 *
 * Caches: each thread keeps a small array of (arena, cache) slots in
 * thread-local storage. fini clears the slots of its caches in every
 * thread, so a slot never outlives its arena and a new arena at the same
 * address finds none. A process-wide registry mutex (a leaf: nothing else is
 * locked under it) guards the slots' writes and each arena's list of
 * caches; a pthread key's destructor hands the caches of an exiting thread
 * back. The destructor unlinks them under the registry and counts them in
 * the arena's `exiting`, then flushes them under the arena's mutex; fini
 * frees the caches still linked and waits for `exiting` to drop to zero,
 * so a thread may exit while another finalises the arena.
 *
 * Large blocks (above 8 KiB, or aligned above 16 B) go to a buddy arena
 * under the arena's mutex; the buddy also answers for every pointer not in
 * a span, so foreign pointers get its checks.
 *
 * fork() (aml/src/fork.h): the arena's mutex is an AML_FORK_ARENA lock,
 * the registry an AML_FORK_LEAF one. The child forgets the threads that
 * were handing back caches (`exiting`): they do not exist there.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/arena/scalable.h>
#include <aml/device.h>
#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/arena/internal.h"
#include "aml/src/error_detail.h"
#include "aml/src/fork.h"

#define SPAN_SHIFT      16
#define SPAN_SIZE       ((uintptr_t)1 << SPAN_SHIFT)
#define SPAN_MAX_BLOCKS (SPAN_SIZE / 16)
#define NCLASSES        AML_ARENA_SCALABLE_CLASSES
#define NSLOTS          8
#define MEMO_LEN        8
/* The span map: 16 + 16 bits of span number, addresses below 2^48. */
#define MAP_BITS 16
#define MAP_LEN  ((size_t)1 << MAP_BITS)

#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

struct aml_scalable_span {
	/* Links of the class's partial list, and of every span. */
	struct aml_scalable_span *next;
	struct aml_scalable_span *prev;
	struct aml_scalable_span *all_next;
	struct aml_scalable_span *all_prev;
	/* Blocks given back, linked through their first word. */
	void *free;
	uint32_t cls;
	/* Blocks out of the span: live, or in a thread's cache. */
	uint32_t nused;
	/* Blocks from index fresh to end - 1 were never handed out. */
	uint32_t fresh;
	/* Indexes of the first block and one past the last. */
	uint32_t first;
	uint32_t end;
	bool on_partial;
	/* 1 while the block at offset 16 * i of the span is live. One byte
	 * per 16 bytes, not per block, so that the bytes of the few blocks
	 * of a large class lie on different cache lines: two threads that
	 * took neighbour batches of one span do not share a line. */
	_Atomic unsigned char state[SPAN_MAX_BLOCKS];
};

struct aml_scalable_map {
	/* Raised each time a span leaves the map: the threads' span memos
	 * (struct scalable_cache) from before are then stale. */
	_Atomic uint64_t gen;
	_Atomic(uintptr_t) l1[MAP_LEN];
};

/* Free blocks of one class in a thread's cache. */
struct scalable_bin {
	void *head;
	/* Written by the cache's thread only; other threads read it with
	 * bin_count_peek() (aml_arena_scalable_usage()). */
	uint32_t count;
	/* At cap, half the blocks go back to their spans. */
	uint32_t cap;
};

struct scalable_cache {
	struct scalable_bin bins[NCLASSES];
	/* The spans this thread freed into lately, each as its address +
	 * class + 1, at its span number mod MEMO_LEN; 0 is none. Valid while
	 * memo_gen is the map's gen: no span has left the map since they were
	 * found in it, so each is still a span, of that class. A free that
	 * finds its span here reads its class without the map's two dependent
	 * loads and the span's, which the next malloc of the loop waits for. */
	uintptr_t memo[MEMO_LEN];
	uint64_t memo_gen;
	struct aml_arena_scalable *arena;
	/* Links of the arena's list, and the slot that holds the cache: its
	 * entries of its thread's slot_arena and slot_cache (all under the
	 * registry). */
	struct scalable_cache *next;
	struct scalable_cache *prev;
	_Atomic(uintptr_t) *slot_arena;
	_Atomic(struct scalable_cache *) *slot_cache;
};

struct aml_scalable_state {
	struct aml_fork_hook fork;
	/* Caches of live threads (under the registry). */
	struct scalable_cache *caches;
	/* Caches being flushed by exiting threads. */
	_Atomic size_t exiting;
	/* The statistics (aml/arena/scalable.h), under the arena's mutex:
	 * blocks out of the spans per class (live or in a cache), large
	 * blocks and their usable bytes, and the bytes of both together. */
	size_t out[NCLASSES];
	size_t large_blocks;
	size_t large_bytes;
	size_t held;
	size_t peak_held;
	size_t cap;
	size_t refused;
};

static const uint32_t class_size[NCLASSES] = {
        16,   32,   48,   64,   80,   96,   112,  128,  160,  192,  224,
        256,  320,  384,  448,  512,  640,  768,  896,  1024, 1280, 1536,
        1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
};

static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;
static pthread_key_t registry_key;
static bool registry_ok;
static struct aml_fork_hook registry_hook;
/* In libaml.so, initial-exec: an offset from the GOT instead of a call to
 * __tls_get_addr (128 bytes of the static TLS surplus when the library is
 * loaded by dlopen). Linked into an executable, the default local-exec
 * spares even that load. */
#if defined(__PIC__) && !defined(__PIE__)
#define SLOTS_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define SLOTS_TLS_MODEL
#endif
/* A thread's slots: (slot_arena[i], slot_cache[i]), written under the
 * registry, read by their thread without it. Two arrays, not one of
 * pairs: gcc 12 loads a thread-local atomic at a nonzero offset into its
 * symbol with three instructions (address of the block, add, load), at
 * offset 0 with one; the hot paths read entry 0 of both. */
static _Thread_local _Atomic(uintptr_t) slot_arena[NSLOTS] SLOTS_TLS_MODEL;
static _Thread_local _Atomic(struct scalable_cache *)
        slot_cache[NSLOTS] SLOTS_TLS_MODEL;

/* The count of another thread's bin, which that thread may be writing.
 * The owner writes with plain instructions, as before the statistics (an
 * _Atomic count made gcc split its `subl $1, mem` into a load, a subtract
 * and a store on the hot paths). An aligned 32-bit load is one
 * instruction, so a reader sees the old or the new value: what a relaxed
 * load would see. The read is volatile, so that it happens once, here,
 * and hidden from ThreadSanitizer, for which the owner's writes are not
 * atomic. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NO_TSAN __attribute__((no_sanitize("thread")))
#endif
#endif
#ifndef NO_TSAN
#if defined(__SANITIZE_THREAD__)
#define NO_TSAN __attribute__((no_sanitize_thread))
#else
#define NO_TSAN
#endif
#endif
static NO_TSAN uint32_t bin_count_peek(const struct scalable_bin *bin)
{
	return *(const volatile uint32_t *)&bin->count;
}

static inline unsigned size_class(size_t size)
{
	if (size <= 128)
		return (unsigned)((size + 15) >> 4) - 1;
	size_t s = size - 1;
	unsigned e = 63 - (unsigned)__builtin_clzll(s);
	return 8 + (e - 7) * 4 + (unsigned)((s >> (e - 2)) & 3);
}

/* The class of every small size, by 16-byte steps: class_of16[(size + 15)
 * >> 4]. Every class above 128 B is a multiple of 16, so the sizes of a
 * step share a class. One load instead of size_class()'s branch and, above
 * 128 B, a bit scan and five more instructions on each malloc. Filled by
 * registry_init(), which every init runs first. */
static uint8_t class_of16[AML_ARENA_SCALABLE_SMALL_MAX / 16 + 1];
_Static_assert(NCLASSES <= UINT8_MAX, "a class fits class_of16");

static inline struct aml_scalable_span *span_base(const void *p)
{
	return (struct aml_scalable_span *)((uintptr_t)p & ~(SPAN_SIZE - 1));
}

/* The span of @p p in the map, or NULL. */
static inline struct aml_scalable_span *
span_find(const struct aml_arena_scalable *self, const void *p)
{
	uintptr_t key = (uintptr_t)p >> SPAN_SHIFT;
	if (UNLIKELY(key >> (2 * MAP_BITS) != 0))
		return NULL;
	_Atomic(uintptr_t) *l2 = (_Atomic(uintptr_t) *)atomic_load_explicit(
	        &self->map->l1[key >> MAP_BITS], memory_order_acquire);
	if (l2 == NULL)
		return NULL;
	return (struct aml_scalable_span *)atomic_load_explicit(
	        &l2[key & (MAP_LEN - 1)], memory_order_acquire);
}

/* The state byte of the block at @p p, if @p p is the start of a live
 * block of a span of the arena, with its class in *cls; NULL otherwise
 * (and *in_span false if @p p is in no span). */
static inline _Atomic unsigned char *
block_state(const struct aml_arena_scalable *self,
            const void *p,
            bool *in_span,
            unsigned *cls)
{
	struct aml_scalable_span *s = span_find(self, p);
	*in_span = s != NULL;
	if (s == NULL)
		return NULL;
	/* Only the bytes of blocks' first 16 bytes are ever set: a byte that
	 * is 1 with no offset within those 16 bytes makes @p p the start of a
	 * live block, without a division by the block size. The map holds
	 * a span under its own address, so @p p's low bits are its offset. */
	uintptr_t off = (uintptr_t)p & (SPAN_SIZE - 1);
	*cls = s->cls;
	if ((off & 15) != 0 || atomic_load_explicit(&s->state[off >> 4],
	                                            memory_order_relaxed) != 1)
		return NULL;
	return &s->state[off >> 4];
}

/* ---- Spans, under the mutex ---- */

static void partial_link(struct aml_arena_scalable *self,
                         struct aml_scalable_span *s)
{
	struct aml_scalable_span **head = &self->partial[s->cls];
	s->prev = NULL;
	s->next = *head;
	if (*head != NULL)
		(*head)->prev = s;
	*head = s;
	s->on_partial = true;
}

static void partial_unlink(struct aml_arena_scalable *self,
                           struct aml_scalable_span *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		self->partial[s->cls] = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	s->on_partial = false;
}

static void note_peak(struct aml_arena_scalable *self)
{
	size_t total =
	        self->stats.mapped_bytes + self->large.stats.mapped_bytes;
	if (total > self->stats.peak_mapped_bytes)
		self->stats.peak_mapped_bytes = total;
}

static void map_set(struct aml_arena_scalable *self,
                    struct aml_scalable_span *s,
                    uintptr_t value)
{
	uintptr_t key = (uintptr_t)s >> SPAN_SHIFT;
	_Atomic(uintptr_t) *l2 = (_Atomic(uintptr_t) *)atomic_load_explicit(
	        &self->map->l1[key >> MAP_BITS], memory_order_relaxed);
	atomic_store_explicit(&l2[key & (MAP_LEN - 1)], value,
	                      memory_order_release);
}

/* Make room in the map for the span at @p s; false without memory. */
static bool map_reserve(struct aml_arena_scalable *self, const void *s)
{
	uintptr_t key = (uintptr_t)s >> SPAN_SHIFT;
	if (key >> (2 * MAP_BITS) != 0)
		return false; /* above 2^48: no x86-64 user address */
	_Atomic(uintptr_t) *l1 = &self->map->l1[key >> MAP_BITS];
	if (atomic_load_explicit(l1, memory_order_relaxed) != 0)
		return true;
	void *l2 = calloc(MAP_LEN, sizeof(uintptr_t));
	if (l2 == NULL)
		return false;
	atomic_store_explicit(l1, (uintptr_t)l2, memory_order_release);
	return true;
}

static struct aml_scalable_span *span_new(struct aml_arena_scalable *self,
                                          unsigned cls)
{
	struct aml_scalable_span *s =
	        aml_arena_map(self->area, &self->stats, SPAN_SIZE, SPAN_SIZE);
	if (s == NULL)
		return NULL;
	if (!map_reserve(self, s)) {
		aml_arena_unmap(self->area, &self->stats, s, SPAN_SIZE);
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	note_peak(self);
	size_t bs = class_size[cls];
	/* Fresh pages are zero, but an area need not promise it. */
	memset(s, 0, sizeof(*s));
	s->cls = cls;
	s->first = (uint32_t)((sizeof(*s) + bs - 1) / bs);
	s->end = (uint32_t)(SPAN_SIZE / bs);
	s->fresh = s->first;
	s->all_next = self->spans;
	if (self->spans != NULL)
		self->spans->all_prev = s;
	self->spans = s;
	partial_link(self, s);
	self->nempty[cls]++;
	map_set(self, s, (uintptr_t)s);
	return s;
}

static void span_drop(struct aml_arena_scalable *self,
                      struct aml_scalable_span *s)
{
	partial_unlink(self, s);
	if (s->all_prev != NULL)
		s->all_prev->all_next = s->all_next;
	else
		self->spans = s->all_next;
	if (s->all_next != NULL)
		s->all_next->all_prev = s->all_prev;
	map_set(self, s, 0);
	atomic_fetch_add_explicit(&self->map->gen, 1, memory_order_release);
	aml_arena_unmap(self->area, &self->stats, s, SPAN_SIZE);
}

/* Up to @p n free blocks of class @p cls, linked through their first
 * word, into *@p head; returns how many (0: aml_errno set). */
static uint32_t spans_take(struct aml_arena_scalable *self,
                           unsigned cls,
                           uint32_t n,
                           void **head)
{
	uint32_t got = 0;
	void *list = NULL;
	size_t bs = class_size[cls];
	while (got < n) {
		struct aml_scalable_span *s = self->partial[cls];
		if (s == NULL && (s = span_new(self, cls)) == NULL)
			break;
		if (s->nused == 0)
			self->nempty[cls]--;
		while (got < n) {
			void *b = s->free;
			if (b != NULL) {
				s->free = *(void **)b;
			} else if (s->fresh < s->end) {
				b = (char *)s + (size_t)s->fresh++ * bs;
			} else {
				break;
			}
			*(void **)b = list;
			list = b;
			s->nused++;
			got++;
		}
		if (s->free == NULL && s->fresh == s->end)
			partial_unlink(self, s);
	}
	struct aml_scalable_state *st = self->state;
	st->out[cls] += got;
	st->held += (size_t)got * bs;
	if (st->held > st->peak_held)
		st->peak_held = st->held;
	*head = list;
	return got;
}

/* How many blocks of class @p cls, up to @p n, fit under the cap. */
static uint32_t
under_cap(const struct aml_arena_scalable *self, unsigned cls, uint32_t n)
{
	const struct aml_scalable_state *st = self->state;
	if (LIKELY(st->cap == 0))
		return n;
	size_t room = st->held < st->cap ? st->cap - st->held : 0;
	size_t fit = room / class_size[cls];
	return fit < n ? (uint32_t)fit : n;
}

/* Refuse an allocation of @p size bytes at the cap (under the mutex). */
static void *refuse(struct aml_arena_scalable *self, size_t size)
{
	struct aml_scalable_state *st = self->state;
	st->refused++;
	aml_errno = aml_error_explain(
	        AML_ENOMEM,
	        "scalable arena: %zu more bytes would pass its cap of %zu "
	        "bytes (%zu held: in use, or free in threads' caches)",
	        size, st->cap, st->held);
	return NULL;
}

/* Give back @p n blocks of the list at @p head to their spans. */
static void spans_put(struct aml_arena_scalable *self, void *head, uint32_t n)
{
	while (n-- > 0 && head != NULL) {
		void *b = head;
		head = *(void **)b;
		struct aml_scalable_span *s = span_base(b);
		self->state->out[s->cls]--;
		self->state->held -= class_size[s->cls];
		*(void **)b = s->free;
		s->free = b;
		if (!s->on_partial)
			partial_link(self, s);
		if (--s->nused == 0) {
			if (self->nempty[s->cls] > 0) {
				span_drop(self, s);
			} else {
				/* Kept: start again from the fresh tail. */
				self->nempty[s->cls]++;
				s->free = NULL;
				s->fresh = s->first;
			}
		}
	}
}

/* ---- Thread caches ---- */

/* Every free block of @p c back to its span (under the arena's mutex). */
static void cache_flush_locked(struct scalable_cache *c)
{
	for (unsigned i = 0; i < NCLASSES; i++) {
		spans_put(c->arena, c->bins[i].head, c->bins[i].count);
		c->bins[i].head = NULL;
		c->bins[i].count = 0;
	}
}

static void cache_flush_all(struct scalable_cache *c)
{
	struct aml_arena_scalable *self = c->arena;
	pthread_mutex_lock(&self->mutex);
	cache_flush_locked(c);
	pthread_mutex_unlock(&self->mutex);
}

static void cache_unlink(struct scalable_cache *c)
{
	struct aml_scalable_state *st = c->arena->state;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		st->caches = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	atomic_store_explicit(c->slot_arena, 0, memory_order_relaxed);
	atomic_store_explicit(c->slot_cache, NULL, memory_order_relaxed);
}

/* The pthread key's destructor: hand back the caches of an exiting
 * thread (its slot_cache is @p arg). */
static void registry_thread_exit(void *arg)
{
	_Atomic(struct scalable_cache *) *mine = arg;
	struct scalable_cache *gone = NULL;
	pthread_mutex_lock(&registry);
	for (unsigned i = 0; i < NSLOTS; i++) {
		struct scalable_cache *c =
		        atomic_load_explicit(&mine[i], memory_order_relaxed);
		if (c == NULL)
			continue;
		cache_unlink(c);
		atomic_fetch_add_explicit(&c->arena->state->exiting, 1,
		                          memory_order_relaxed);
		c->next = gone;
		gone = c;
	}
	pthread_mutex_unlock(&registry);
	while (gone != NULL) {
		struct scalable_cache *c = gone;
		gone = c->next;
		struct aml_scalable_state *st = c->arena->state;
		cache_flush_all(c);
		free(c);
		/* After this, fini may free the arena. */
		atomic_fetch_sub_explicit(&st->exiting, 1,
		                          memory_order_release);
	}
}

static void registry_init(void)
{
	for (size_t i = 1; i < sizeof(class_of16); i++)
		class_of16[i] = (uint8_t)size_class(i * 16);
	if (pthread_key_create(&registry_key, registry_thread_exit) != 0)
		return;
	aml_fork_register_mutex(&registry_hook, AML_FORK_LEAF, &registry, NULL);
	registry_ok = true;
}

static struct scalable_cache *__attribute__((noinline))
cache_get_slow(struct aml_arena_scalable *self)
{
	for (unsigned i = 1; i < NSLOTS; i++)
		if (atomic_load_explicit(&slot_arena[i],
		                         memory_order_relaxed) ==
		    (uintptr_t)self)
			return atomic_load_explicit(&slot_cache[i],
			                            memory_order_relaxed);
	struct scalable_cache *c = NULL;
	pthread_mutex_lock(&registry);
	for (unsigned i = 0; i < NSLOTS; i++) {
		if (atomic_load_explicit(&slot_cache[i],
		                         memory_order_relaxed) != NULL)
			continue;
		if (pthread_setspecific(registry_key, slot_cache) != 0 ||
		    (c = calloc(1, sizeof(*c))) == NULL)
			break;
		for (unsigned k = 0; k < NCLASSES; k++) {
			/* About 16 KiB per class: a cache holds little
			 * memory back from other threads and from the area. */
			uint32_t cap = (uint32_t)((16 << 10) / class_size[k]);
			c->bins[k].cap = cap < 2 ? 2 : cap > 128 ? 128 : cap;
		}
		c->arena = self;
		c->slot_arena = &slot_arena[i];
		c->slot_cache = &slot_cache[i];
		c->next = self->state->caches;
		if (c->next != NULL)
			c->next->prev = c;
		self->state->caches = c;
		atomic_store_explicit(&slot_cache[i], c, memory_order_relaxed);
		atomic_store_explicit(&slot_arena[i], (uintptr_t)self,
		                      memory_order_relaxed);
		break;
	}
	pthread_mutex_unlock(&registry);
	return c; /* NULL: no slot or no memory, go without a cache */
}

/* The calling thread's cache for the arena if it is in the first slot,
 * else NULL: the hot paths hand anything else to a slow path, by a tail
 * call, so that they save no register. */
static inline struct scalable_cache *
cache_first(const struct aml_arena_scalable *self)
{
	if (UNLIKELY(atomic_load_explicit(&slot_arena[0],
	                                  memory_order_relaxed) !=
	             (uintptr_t)self))
		return NULL;
	struct scalable_cache *c =
	        atomic_load_explicit(&slot_cache[0], memory_order_relaxed);
	/* A slot's cache is set before its arena and cleared after it, and
	 * fini does not run while the thread uses the arena: said here, so
	 * that the hot paths test one word, not two. */
	if (c == NULL)
		__builtin_unreachable();
	return c;
}

/* The calling thread's cache for the arena, or NULL (none can be made). */
static struct scalable_cache *cache_get(struct aml_arena_scalable *self)
{
	struct scalable_cache *c = cache_first(self);
	return c != NULL ? c : cache_get_slow(self);
}

static inline void mark(void *b, unsigned char live)
{
	struct aml_scalable_span *s = span_base(b);
	atomic_store_explicit(&s->state[((uintptr_t)b & (SPAN_SIZE - 1)) >> 4],
	                      live, memory_order_relaxed);
}

/* ---- Ops ---- */

/* A block of class @p cls: from a cache not in the first slot, or after
 * a refill of the cache from the spans, or from the spans without a cache
 * when the thread cannot have one. */
static void *__attribute__((noinline))
small_alloc_slow(struct aml_arena_scalable *self, unsigned cls)
{
	struct scalable_cache *c = cache_get(self);
	struct scalable_bin *bin = c != NULL ? &c->bins[cls] : NULL;
	void *b = bin != NULL ? bin->head : NULL;
	if (b != NULL) {
		bin->head = *(void **)b;
		bin->count--;
		mark(b, 1);
		return b;
	}
	pthread_mutex_lock(&self->mutex);
	uint32_t batch = bin != NULL ? bin->cap / 2 : 1;
	uint32_t want = under_cap(self, cls, batch);
	if (UNLIKELY(want == 0) && c != NULL) {
		/* Not one block fits under the cap: this thread's own free
		 * blocks may make room. */
		cache_flush_locked(c);
		want = under_cap(self, cls, batch);
	}
	if (UNLIKELY(want == 0)) {
		refuse(self, class_size[cls]);
		pthread_mutex_unlock(&self->mutex);
		return NULL;
	}
	void *list;
	uint32_t n = spans_take(self, cls, want, &list);
	/* The cache's count changes under the mutex, with the arena's count
	 * of blocks out of the spans, so that the usage adds up. */
	if (n != 0 && bin != NULL) {
		bin->head = *(void **)list;
		bin->count = n - 1;
	}
	pthread_mutex_unlock(&self->mutex);
	if (n == 0)
		return NULL;
	mark(list, 1);
	return list;
}

/* The usable size the buddy arena will give a large block (buddy.c):
 * pages beyond a region, else a power-of-two chunk of at least 64 B. The
 * cap is checked against it before anything is mapped. */
static size_t
large_usable(const struct aml_arena_scalable *self, size_t size, size_t align)
{
	size_t region = self->large.region_size;
	if (size > region || align > region) {
		size_t page = aml_page_size();
		return (size + page - 1) / page * page;
	}
	size_t need = size > align ? size : align;
	size_t chunk = AML_ARENA_BUDDY_MIN_CHUNK;
	while (chunk < need)
		chunk <<= 1;
	return chunk;
}

static void *__attribute__((noinline))
large_alloc(struct aml_arena_scalable *self, size_t size, size_t align)
{
	struct aml_scalable_state *st = self->state;
	pthread_mutex_lock(&self->mutex);
	if (st->cap != 0) {
		size_t want = large_usable(self, size, align);
		if (want > st->cap || st->held > st->cap - want) {
			refuse(self, want);
			pthread_mutex_unlock(&self->mutex);
			return NULL;
		}
	}
	void *p = aml_arena_aligned_alloc(&self->large.base, align, size);
	size_t usable;
	if (p != NULL &&
	    aml_arena_usable_size(&self->large.base, p, &usable) == 0) {
		st->large_blocks++;
		st->large_bytes += usable;
		st->held += usable;
		if (st->held > st->peak_held)
			st->peak_held = st->held;
	}
	note_peak(self);
	pthread_mutex_unlock(&self->mutex);
	return p;
}

/* The arena of a handle: base is the first member of the storage, which
 * data also points to; a cast spares the hot paths a load. */
static inline struct aml_arena_scalable *self_of(struct aml_arena *arena)
{
	return (struct aml_arena_scalable *)(void *)arena;
}

static void *scalable_alloc(struct aml_arena *arena, size_t size, size_t align)
{
	struct aml_arena_scalable *self = self_of(arena);
	if (UNLIKELY(size > AML_ARENA_SCALABLE_SMALL_MAX ||
	             align > AML_ARENA_ALIGNMENT))
		return large_alloc(self, size, align);
	unsigned cls = class_of16[(size + 15) >> 4];
	struct scalable_cache *c = cache_first(self);
	if (UNLIKELY(c == NULL))
		return small_alloc_slow(self, cls);
	struct scalable_bin *bin = &c->bins[cls];
	void *b = bin->head;
	if (UNLIKELY(b == NULL))
		return small_alloc_slow(self, cls);
	bin->head = *(void **)b;
	bin->count--;
	mark(b, 1);
	return b;
}

static int __attribute__((noinline))
large_release(struct aml_arena_scalable *self, void *ptr)
{
	struct aml_scalable_state *st = self->state;
	pthread_mutex_lock(&self->mutex);
	size_t usable;
	int err = aml_arena_usable_size(&self->large.base, ptr, &usable);
	if (err == 0)
		err = aml_arena_free(&self->large.base, ptr);
	if (err == 0) {
		st->large_blocks--;
		st->large_bytes -= usable;
		st->held -= usable;
	}
	pthread_mutex_unlock(&self->mutex);
	return err;
}

/* Give back the older half of a full bin: the blocks after the first
 * cap/2. */
static int __attribute__((noinline))
cache_drain(struct aml_arena_scalable *self, struct scalable_bin *bin)
{
	uint32_t keep = bin->cap / 2;
	void *last = bin->head;
	for (uint32_t i = 1; i < keep; i++)
		last = *(void **)last;
	pthread_mutex_lock(&self->mutex);
	spans_put(self, *(void **)last, bin->count - keep);
	/* Under the mutex, as in small_alloc_slow(). */
	bin->count = keep;
	pthread_mutex_unlock(&self->mutex);
	*(void **)last = NULL;
	return 0;
}

/* Free the block at @p ptr, of class @p cls, already marked free, into a
 * cache not in the first slot, or to its span without a cache. */
static int __attribute__((noinline))
small_release_slow(struct aml_arena_scalable *self, void *ptr, unsigned cls)
{
	struct scalable_cache *c = cache_get(self);
	if (c == NULL) {
		*(void **)ptr = NULL;
		pthread_mutex_lock(&self->mutex);
		spans_put(self, ptr, 1);
		pthread_mutex_unlock(&self->mutex);
		return 0;
	}
	struct scalable_bin *bin = &c->bins[cls];
	*(void **)ptr = bin->head;
	bin->head = ptr;
	if (++bin->count >= bin->cap)
		return cache_drain(self, bin);
	return 0;
}

/* Push the block at @p ptr, of class @p cls, already marked free, on
 * its bin of @p c. */
static inline int bin_push(struct aml_arena_scalable *self,
                           struct scalable_cache *c,
                           void *ptr,
                           uintptr_t cls)
{
	struct scalable_bin *bin = &c->bins[cls];
	*(void **)ptr = bin->head;
	bin->head = ptr;
	if (UNLIKELY(++bin->count >= bin->cap))
		return cache_drain(self, bin);
	return 0;
}

/* The free of @p ptr, whose span is not in the memo of @p c (the calling
 * thread's cache in the first slot, or NULL): found in the map, and
 * remembered. */
static int __attribute__((noinline))
release_unmemoized(struct aml_arena_scalable *self,
                   struct scalable_cache *c,
                   void *ptr)
{
	uint64_t gen =
	        atomic_load_explicit(&self->map->gen, memory_order_acquire);
	bool in_span;
	unsigned cls;
	_Atomic unsigned char *state = block_state(self, ptr, &in_span, &cls);
	if (UNLIKELY(!in_span))
		return large_release(self, ptr);
	if (state == NULL)
		return AML_EINVAL;
	atomic_store_explicit(state, 0, memory_order_relaxed);
	if (UNLIKELY(c == NULL))
		return small_release_slow(self, ptr, cls);
	if (c->memo_gen != gen) {
		memset(c->memo, 0, sizeof(c->memo));
		c->memo_gen = gen;
	}
	/* Found after gen was read: had the span left the map since, gen
	 * would have changed too, and the next free would forget it. */
	uintptr_t base = (uintptr_t)span_base(ptr);
	c->memo[(base >> SPAN_SHIFT) % MEMO_LEN] = base + cls + 1;
	return bin_push(self, c, ptr, cls);
}

static int scalable_release(struct aml_arena *arena, void *ptr)
{
	struct aml_arena_scalable *self = self_of(arena);
	struct scalable_cache *c = cache_first(self);
	uintptr_t base = (uintptr_t)span_base(ptr);
	if (UNLIKELY(c == NULL))
		return release_unmemoized(self, NULL, ptr);
	/* Unsigned: a memo of another span, or none, is NCLASSES or more. */
	uintptr_t cls = c->memo[(base >> SPAN_SHIFT) % MEMO_LEN] - base - 1;
	if (UNLIKELY(cls >= NCLASSES ||
	             c->memo_gen != atomic_load_explicit(&self->map->gen,
	                                                 memory_order_relaxed)))
		return release_unmemoized(self, c, ptr);
	/* As block_state(), with the span known. */
	uintptr_t off = (uintptr_t)ptr & (SPAN_SIZE - 1);
	_Atomic unsigned char *state =
	        &((struct aml_scalable_span *)base)->state[off >> 4];
	if (UNLIKELY((off & 15) != 0 ||
	             atomic_load_explicit(state, memory_order_relaxed) != 1))
		return AML_EINVAL;
	atomic_store_explicit(state, 0, memory_order_relaxed);
	return bin_push(self, c, ptr, cls);
}

static int scalable_usable_size(const struct aml_arena *arena,
                                const void *ptr,
                                size_t *out)
{
	struct aml_arena_scalable *self = arena->data;
	bool in_span;
	unsigned cls;
	_Atomic unsigned char *state = block_state(self, ptr, &in_span, &cls);
	if (!in_span) {
		pthread_mutex_lock(&self->mutex);
		int err = aml_arena_usable_size(&self->large.base, ptr, out);
		pthread_mutex_unlock(&self->mutex);
		return err;
	}
	if (state == NULL)
		return AML_EINVAL;
	*out = class_size[cls];
	return 0;
}

static int scalable_stats(const struct aml_arena *arena,
                          struct aml_arena_stats *out)
{
	struct aml_arena_scalable *self = arena->data;
	pthread_mutex_lock(&self->mutex);
	struct aml_arena_stats s = self->stats, l = self->large.stats;
	pthread_mutex_unlock(&self->mutex);
	*out = (struct aml_arena_stats){
	        .mapped_bytes = s.mapped_bytes + l.mapped_bytes,
	        .peak_mapped_bytes = s.peak_mapped_bytes,
	        .maps = s.maps + l.maps,
	        .unmaps = s.unmaps + l.unmaps,
	};
	return 0;
}

static const struct aml_arena_ops aml_arena_scalable_ops = {
        .alloc = scalable_alloc,
        .release = scalable_release,
        .usable_size = scalable_usable_size,
        .resize = NULL,
        .reset = NULL,
        .stats = scalable_stats,
};

/* In the child of a fork: the mutex is new, and threads that were
 * handing back their caches do not exist there, so fini must not wait for
 * them (their blocks stay out of the spans until fini). */
static void scalable_fork_child(struct aml_fork_hook *hook)
{
	aml_fork_mutex_child(hook);
	struct aml_scalable_state *st =
	        AML_FORK_OBJECT(hook, struct aml_scalable_state, fork);
	atomic_store_explicit(&st->exiting, 0, memory_order_relaxed);
}

static const struct aml_fork_ops scalable_fork_ops = {
        .level = AML_FORK_ARENA,
        .prepare = aml_fork_mutex_prepare,
        .parent = aml_fork_mutex_parent,
        .child = scalable_fork_child,
};

int aml_arena_scalable_init(struct aml_arena_scalable *arena,
                            const struct aml_area *area)
{
	/* Storage that holds a live arena is left to it (aml/src/fork.h). */
	if (arena == NULL || aml_fork_registered(AML_FORK_ARENA, arena))
		return AML_EINVAL;
	*arena = (struct aml_arena_scalable){.base = {.ops = NULL}};
	if (area == NULL)
		return AML_EINVAL;
	pthread_once(&registry_once, registry_init);
	if (!registry_ok)
		return AML_ENOMEM;
	int err = aml_arena_buddy_init(&arena->large, area, 0);
	if (err != 0)
		return err;
	arena->state = calloc(1, sizeof(*arena->state));
	arena->map = calloc(1, sizeof(*arena->map));
	if (arena->state == NULL || arena->map == NULL ||
	    pthread_mutex_init(&arena->mutex, NULL) != 0) {
		free(arena->state);
		free(arena->map);
		aml_arena_buddy_fini(&arena->large);
		*arena = (struct aml_arena_scalable){.base = {.ops = NULL}};
		return AML_ENOMEM;
	}
	arena->area = area;
	arena->base.data = arena;
	arena->base.ops = &aml_arena_scalable_ops;
	aml_fork_register_object(&arena->state->fork, &scalable_fork_ops, arena,
	                         &arena->mutex);
	return 0;
}

void aml_arena_scalable_fini(struct aml_arena_scalable *arena)
{
	if (arena == NULL || arena->state == NULL)
		return; /* never initialised, or finalised already */
	struct aml_scalable_state *st = arena->state;
	pthread_mutex_lock(&registry);
	while (st->caches != NULL) {
		struct scalable_cache *c = st->caches;
		cache_unlink(c);
		free(c);
	}
	pthread_mutex_unlock(&registry);
	/* Threads flushing their caches on exit still use the mutex. */
	while (atomic_load_explicit(&st->exiting, memory_order_acquire) != 0)
		sched_yield();
	aml_fork_unregister(&st->fork);
	while (arena->spans != NULL) {
		struct aml_scalable_span *s = arena->spans;
		arena->spans = s->all_next;
		aml_arena_unmap(arena->area, &arena->stats, s, SPAN_SIZE);
	}
	for (size_t i = 0; i < MAP_LEN; i++)
		free((void *)atomic_load_explicit(&arena->map->l1[i],
		                                  memory_order_relaxed));
	free(arena->map);
	arena->map = NULL;
	aml_arena_buddy_fini(&arena->large);
	pthread_mutex_destroy(&arena->mutex);
	free(st);
	memset(arena->partial, 0, sizeof(arena->partial));
	memset(arena->nempty, 0, sizeof(arena->nempty));
	arena->state = NULL;
	/* Every later call through the handle is AML_EINVAL. */
	arena->base.ops = NULL;
}

int aml_arena_scalable_create(struct aml_arena **out,
                              const struct aml_area *area)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_arena_scalable *arena = malloc(sizeof(*arena));
	if (arena == NULL)
		return AML_ENOMEM;
	int err = aml_arena_scalable_init(arena, area);
	if (err != 0) {
		free(arena);
		return err;
	}
	*out = &arena->base;
	return 0;
}

void aml_arena_scalable_destroy(struct aml_arena **arena)
{
	if (arena == NULL || *arena == NULL ||
	    (*arena)->ops != &aml_arena_scalable_ops)
		return;
	struct aml_arena_scalable *self = (*arena)->data;
	aml_arena_scalable_fini(self);
	free(self);
	*arena = NULL;
}

/* ---- Statistics ---- */

/* The scalable arena of a handle, or NULL for another kind. */
static struct aml_arena_scalable *scalable_of(const struct aml_arena *arena)
{
	if (arena == NULL || arena->ops != &aml_arena_scalable_ops)
		return NULL;
	return arena->data;
}

int aml_arena_scalable_usage(const struct aml_arena *arena,
                             struct aml_arena_usage *out)
{
	struct aml_arena_scalable *self = scalable_of(arena);
	if (out == NULL || self == NULL) {
		if (out != NULL)
			*out = (struct aml_arena_usage){0};
		return AML_EINVAL;
	}
	struct aml_scalable_state *st = self->state;
	size_t cached[NCLASSES] = {0};
	/* The mutex first: the registry is a leaf. Caches change their
	 * counts against the spans' under the mutex (refill, drain, flush),
	 * so the difference is the live blocks but for those in a cached
	 * malloc or free at this instant. */
	pthread_mutex_lock(&self->mutex);
	pthread_mutex_lock(&registry);
	for (struct scalable_cache *c = st->caches; c != NULL; c = c->next)
		for (unsigned k = 0; k < NCLASSES; k++)
			cached[k] += bin_count_peek(&c->bins[k]);
	pthread_mutex_unlock(&registry);
	struct aml_arena_usage u = {
	        .bytes_in_use = st->large_bytes,
	        .live_allocations = st->large_blocks,
	        .bytes_held = st->held,
	        .peak_bytes_held = st->peak_held,
	        .cap_bytes = st->cap,
	        .refused = st->refused,
	};
	for (unsigned k = 0; k < NCLASSES; k++) {
		/* A cache of an exiting thread, off the list and not yet
		 * flushed, counts as live; one in the middle of a cached
		 * malloc or free may put cached above out for a moment. */
		size_t live =
		        st->out[k] > cached[k] ? st->out[k] - cached[k] : 0;
		u.live_allocations += live;
		u.bytes_in_use += live * class_size[k];
	}
	pthread_mutex_unlock(&self->mutex);
	*out = u;
	return 0;
}

int aml_arena_scalable_set_cap(struct aml_arena *arena, size_t cap_bytes)
{
	struct aml_arena_scalable *self = scalable_of(arena);
	if (self == NULL)
		return AML_EINVAL;
	pthread_mutex_lock(&self->mutex);
	self->state->cap = cap_bytes;
	pthread_mutex_unlock(&self->mutex);
	return 0;
}

/* Under the mutex: the live blocks of every span, then the large ones. */
static void foreach_locked(struct aml_arena_scalable *self,
                           void (*fn)(void *ptr, size_t size, void *arg),
                           void *arg)
{
	for (struct aml_scalable_span *s = self->spans; s != NULL;
	     s = s->all_next) {
		size_t bs = class_size[s->cls];
		/* Blocks past fresh were never handed out. */
		for (uint32_t i = s->first; i < s->fresh; i++) {
			size_t off = (size_t)i * bs;
			if (atomic_load_explicit(&s->state[off >> 4],
			                         memory_order_relaxed) == 1)
				fn((char *)s + off, bs, arg);
		}
	}
	aml_arena_buddy_foreach(&self->large, fn, arg);
}

int aml_arena_scalable_foreach(const struct aml_arena *arena,
                               void (*fn)(void *ptr, size_t size, void *arg),
                               void *arg)
{
	struct aml_arena_scalable *self = scalable_of(arena);
	if (self == NULL || fn == NULL)
		return AML_EINVAL;
	pthread_mutex_lock(&self->mutex);
	foreach_locked(self, fn, arg);
	pthread_mutex_unlock(&self->mutex);
	return 0;
}

/* Where aml_arena_scalable_report() prints, and the last page located:
 * blocks of one page cost one aml_topology_locate(). */
struct report_line {
	FILE *out;
	const struct aml_topology *topology;
	uintptr_t page;
	int id;
};

static void report_block(void *ptr, size_t size, void *arg)
{
	struct report_line *line = arg;
	fprintf(line->out, "  %#zx %zu bytes", (size_t)(uintptr_t)ptr, size);
	if (line->topology == NULL) {
		fputc('\n', line->out);
		return;
	}
	uintptr_t page = (uintptr_t)ptr & ~(uintptr_t)(aml_page_size() - 1);
	if (page != line->page) {
		line->page = page;
		if (aml_topology_locate(line->topology, (void *)page, 1,
		                        &line->id) != 0)
			line->id = AML_EINVAL;
	}
	const struct aml_device *d =
	        line->id >= 0
	                ? aml_topology_device(line->topology, (size_t)line->id)
	                : NULL;
	if (d != NULL)
		fprintf(line->out, " on %s (device %d)", d->name, line->id);
	else if (line->id == AML_ENODEV)
		fprintf(line->out, " untouched");
	fputc('\n', line->out);
}

int aml_arena_scalable_report(const struct aml_arena *arena,
                              FILE *out,
                              const struct aml_topology *topology)
{
	struct aml_arena_usage u;
	if (out == NULL || aml_arena_scalable_usage(arena, &u) != 0)
		return AML_EINVAL;
	struct aml_arena_scalable *self = arena->data;
	fprintf(out,
	        "scalable arena: live blocks %zu, bytes in use %zu, held %zu "
	        "(peak %zu), ",
	        u.live_allocations, u.bytes_in_use, u.bytes_held,
	        u.peak_bytes_held);
	if (u.cap_bytes != 0)
		fprintf(out, "cap %zu, refused %zu\n", u.cap_bytes, u.refused);
	else
		fprintf(out, "cap none, refused %zu\n", u.refused);
	struct report_line line = {
	        .out = out, .topology = topology, .page = 0, .id = 0};
	pthread_mutex_lock(&self->mutex);
	foreach_locked(self, report_block, &line);
	pthread_mutex_unlock(&self->mutex);
	return 0;
}
