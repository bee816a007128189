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
 */
#ifndef AML_ARENA_SCALABLE_H
#define AML_ARENA_SCALABLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

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

#ifdef __cplusplus
}
#endif

#endif /* AML_ARENA_SCALABLE_H */
