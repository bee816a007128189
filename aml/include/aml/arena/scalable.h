/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file scalable.h
 * The scalable arena: thread-safe, with a cache per thread.
 *
 * Requests up to AML_ARENA_SCALABLE_SMALL_MAX (8 KiB) with the default
 * alignment are rounded up to one of 32 size classes (16 B steps up to
 * 128 B, then four classes per power of two) and served from spans of
 * AML_ARENA_SCALABLE_SPAN_SIZE (64 KiB) bytes mapped from the area and
 * aligned to their size. Each thread that calls the arena gets a cache of
 * free blocks per class (jemalloc's tcache): malloc pops from it, free
 * pushes to it, neither takes a lock nor does an atomic read-modify-write.
 * An empty cache is refilled, and a full one half emptied, in batches from
 * the spans under the arena's mutex. A block may be freed by any thread:
 * it goes to the freeing thread's cache.
 *
 * Larger requests, and alignments above AML_ARENA_ALIGNMENT, go to a buddy
 * arena (aml/arena/buddy.h) over the same area, under the mutex.
 *
 * A thread's caches go back to their arenas when the thread exits; fini
 * takes the caches of threads still alive. A thread caches for at most 8
 * arenas at once; beyond that, it calls the spans under the mutex.
 * Empty spans are unmapped, except one per class. Double frees (seen by
 * a live byte per block, kept without atomic read-modify-writes), interior
 * and foreign pointers (looked up in a map of the arena's spans) are
 * AML_EINVAL; two threads that free one block at the same instant may not
 * be told.
 *
 * fork(): as aml/arena/locked.h; in the child, blocks in the caches of the
 * threads that do not exist there stay unused until fini.
 *
 * Statistics and a cap (aml_arena_scalable_usage(), _set_cap(), _foreach(),
 * _report()) cost the hot paths nothing: malloc and free do exactly what
 * they did without them. The arena counts, under its mutex, the blocks
 * that leave and re-enter its spans (refills and drains of the caches) and
 * the large blocks; a thread's cache already counts its free blocks. So
 * live blocks = blocks out of the spans - blocks in every cache + large
 * blocks, summed when asked. Hence:
 * - bytes_in_use and live_allocations are exact when no thread is
 *   allocating, freeing or exiting in the arena during the call (e.g.
 *   after the threads are joined); while threads work, they may be off by
 *   the blocks those threads move at that instant (one batch each).
 * - bytes_held (what the cap counts) is exact at every instant: blocks out
 *   of the spans (live, or free in a cache) plus large blocks.
 * - peak_bytes_held is the exact peak of bytes_held. The true peak of
 *   bytes_in_use lies between peak_bytes_held - the bytes the caches held
 *   at that moment, and peak_bytes_held. A cache holds less than 16 KiB
 *   per size class (at most AML_ARENA_SCALABLE_CACHE_MAX bytes for all
 *   classes), per thread that used the arena.
 * - The cap bounds bytes_held, so the live bytes never pass it. A cache
 *   refill takes only what fits under the cap; when not even one block
 *   fits, the calling thread's own caches go back to the spans and the
 *   refill is tried once more. So one thread alone is refused exactly when
 *   its live bytes plus the request's usable size (its size class, or the
 *   large block's chunk or pages) would pass the cap; with several
 *   threads, a request may be refused while up to the other threads'
 *   cached bytes are still below the cap.
 * - foreach and report walk the spans and the large blocks under the
 *   mutex (no record per block): they list exactly the live blocks when
 *   no other thread allocates or frees meanwhile.
 */
#ifndef AML_ARENA_SCALABLE_H
#define AML_ARENA_SCALABLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <aml/arena.h>
#include <aml/arena/buddy.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest request served from the size classes: 8 KiB. */
#define AML_ARENA_SCALABLE_SMALL_MAX ((size_t)8 << 10)

/** Bytes per span: 64 KiB. */
#define AML_ARENA_SCALABLE_SPAN_SIZE ((size_t)64 << 10)

/** Number of size classes. */
#define AML_ARENA_SCALABLE_CLASSES 32

/** Most free bytes one thread's cache holds for one arena, all classes:
 * the most by which peak_bytes_held may exceed the true peak in use, per
 * thread (see the top of this file). */
#define AML_ARENA_SCALABLE_CACHE_MAX ((size_t)512 << 10)

struct aml_topology;

/** Storage for one scalable arena. Pass &x.base to the aml_arena_*()
 * functions. */
struct aml_arena_scalable {
	/** Generic handle. Keep first. */
	struct aml_arena base;
	/** @privatesection */
	/* Private: use the aml_arena_scalable_*() functions. */
	const struct aml_area *area;
	/** Guards everything below but the span map's reads. */
	pthread_mutex_t mutex;
	/** Spans with free blocks, per class (a private type). */
	struct aml_scalable_span *partial[AML_ARENA_SCALABLE_CLASSES];
	/** Every span. */
	struct aml_scalable_span *spans;
	/** Empty spans per class (at most one is kept). */
	uint32_t nempty[AML_ARENA_SCALABLE_CLASSES];
	/** Large blocks. */
	struct aml_arena_buddy large;
	/** Spans by address, read without the mutex (a private type). */
	struct aml_scalable_map *map;
	/** State allocated by init: caches, fork hook (a private type). */
	struct aml_scalable_state *state;
	/** Spans only, but the peak of spans and large blocks together;
	 * aml_arena_stats() adds the large blocks' counts. */
	struct aml_arena_stats stats;
};

/** Declare storage for a scalable arena (see aml_arena_scalable_init()). */
#define AML_ARENA_SCALABLE_DECL(name) struct aml_arena_scalable name

/**
 * Initialise a scalable arena. Maps nothing until the first allocation.
 * @param[out] arena the storage to initialise.
 * @param area where spans and large blocks come from; must outlive the
 *        arena and honour aml_area_mmap_options.alignment.
 * @return 0; AML_EINVAL for a NULL argument, or storage that holds a live
 *         arena (left as it is); AML_ENOMEM. On any other error a non-NULL
 *         @p arena is left finalised: fini is a no-op on it and every call
 *         through it AML_EINVAL.
 */
int aml_arena_scalable_init(struct aml_arena_scalable *arena,
                            const struct aml_area *area);

/** Give every span and large block back to the area, and free the caches
 * of every thread. Blocks become invalid. No thread may call the arena
 * during or after fini; threads that used it may still be running or
 * exit at any time. The handle then answers AML_EINVAL to every call until
 * the storage is initialised again. NULL and a second fini are no-ops. */
void aml_arena_scalable_fini(struct aml_arena_scalable *arena);

/**
 * aml_arena_scalable_init() into one allocation.
 * @param[out] out receives the arena; NULL on error.
 * @param area as for aml_arena_scalable_init().
 * @return as aml_arena_scalable_init(), or AML_ENOMEM.
 */
int aml_arena_scalable_create(struct aml_arena **out,
                              const struct aml_area *area);

/** Finalise and free an arena from aml_arena_scalable_create(); set *arena
 * to NULL. NULL, a pointer to NULL and an arena of another kind are left
 * alone. */
void aml_arena_scalable_destroy(struct aml_arena **arena);

/**
 * The blocks of a scalable arena: in use, held, peak, cap (see the top of
 * this file for how exact each is).
 * @param arena a scalable arena.
 * @param[out] out the counts; zeroed on error.
 * @return 0; AML_EINVAL for NULL arguments or an arena of another kind
 *         (or finalised).
 * Thread-safety: any thread, at any time; takes the arena's mutex.
 */
int aml_arena_scalable_usage(const struct aml_arena *arena,
                             struct aml_arena_usage *out);

/**
 * Cap the bytes the arena holds (struct aml_arena_usage.bytes_held): an
 * allocation that would pass it fails with AML_ENOMEM, maps and takes
 * nothing, counts in `refused`, and says why in aml_error_detail(). A cap
 * below what the arena holds already refuses new blocks until enough are
 * freed; nothing held is taken back.
 * @param arena a scalable arena.
 * @param cap_bytes the cap; 0 removes it.
 * @return 0; AML_EINVAL for a NULL arena or one of another kind.
 * Thread-safety: any thread, at any time.
 */
int aml_arena_scalable_set_cap(struct aml_arena *arena, size_t cap_bytes);

/**
 * Call @p fn on every live block of the arena: its address and usable
 * size, spans first, then large blocks, in no promised order.
 * @param arena a scalable arena.
 * @param fn called under the arena's mutex: it must not call the arena
 *        (that would deadlock), nor keep the pointer as a promise that the
 *        block stays live.
 * @param arg passed to @p fn.
 * @return 0; AML_EINVAL for a NULL @p arena or @p fn, or an arena of
 *         another kind.
 * Thread-safety: any thread; blocks other threads' refills and large
 * blocks meanwhile, not their cached malloc and free.
 */
int aml_arena_scalable_foreach(const struct aml_arena *arena,
                               void (*fn)(void *ptr, size_t size, void *arg),
                               void *arg);

/**
 * Print the usage (one line) then one line per live block: address, usable
 * size, and with a @p topology the device that holds the block's first
 * page ("on NAME (device N)", or "untouched" for a page that holds no
 * memory yet), as aml_area_capped_report() does for mappings:
 *
 *     scalable arena: live blocks 1, bytes in use 1024, held 16384
 *     (peak 65536), cap 65536, refused 1
 *       0x7f0536093000 1024 bytes on mcdram (device 1)
 *
 * (the first line is one line).
 * @param arena a scalable arena.
 * @param out where to print.
 * @param topology NULL, or the topology to locate blocks with
 *        (aml_topology_locate(), one call per page with live blocks).
 * @return 0; AML_EINVAL for a NULL @p arena or @p out, or an arena of
 *         another kind.
 * Thread-safety: as aml_arena_scalable_foreach().
 */
int aml_arena_scalable_report(const struct aml_arena *arena,
                              FILE *out,
                              const struct aml_topology *topology);

#ifdef __cplusplus
}
#endif

#endif /* AML_ARENA_SCALABLE_H */
