/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file jemalloc.h
 * The jemalloc arena: a general-purpose allocator over an area, through
 * memkind's fixed kinds.
 *
 * The arena maps a region of @p region_size bytes
 * (AML_ARENA_JEMALLOC_REGION_SIZE, 64 MiB, by default) from the area and hands
 * it to memkind_create_fixed(), whose jemalloc arena then serves every request
 * from it. When no region can serve a request (the newest is tried first), the
 * arena maps another (large enough for the request) with its own fixed kind.
 * Regions are given back only by fini: jemalloc keeps its extents.
 *
 * memkind serves its fixed kinds without jemalloc's thread cache, so each
 * of its calls takes a lock inside jemalloc (~150 ns per malloc and free):
 * the arena keeps freed blocks of up to 4 KiB in caches per size class (a
 * cache per thread, and one shared that takes their overflow; 16 KiB per
 * class in each at most) and serves requests of their class from them. A
 * thread's cache goes back to the shared one when the thread exits.
 *
 * Every block the arena holds from memkind has a state byte (one per
 * 16 bytes of region, allocated beside it: 1/16 of the region's size, in
 * zero pages until touched), so that a pointer the arena did not return,
 * an interior pointer and a double free are AML_EINVAL and never reach
 * memkind_free(), whichever thread frees. aml_arena_reset() is
 * AML_ENOTSUP.
 *
 * Thread-safe: any thread may allocate and free any block. A malloc
 * served and a free kept by the thread's cache take no lock; a lock (a
 * flag that waiters spin on, then yield) guards growth, the shared cache
 * and the statistics, jemalloc its own state. Two threads that free the
 * same block of up to 4 KiB at the same instant (a race in the caller)
 * may both succeed; freed one after the other, the second is AML_EINVAL.
 *
 * Available where aml was built with memkind
 * (aml_backend_is_built(AML_BACKEND_MEMKIND)); elsewhere init and create
 * return AML_ENOTSUP.
 */
#ifndef AML_ARENA_JEMALLOC_H
#define AML_ARENA_JEMALLOC_H

#include <stddef.h>

#include <aml/arena.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Default region size: 64 MiB. */
#define AML_ARENA_JEMALLOC_REGION_SIZE ((size_t)64 << 20)

/** Storage for one jemalloc arena. Pass &x.base to the aml_arena_*()
 * functions. */
struct aml_arena_jemalloc {
	/** Generic handle. Keep first. */
	struct aml_arena base;
	/** @privatesection */
	/* Private: use the aml_arena_jemalloc_*() functions. */
	/** Regions, kinds, state bytes, caches and the lock (malloc'd). */
	struct aml_arena_jemalloc_state *state;
};

/** Declare storage for a jemalloc arena (see aml_arena_jemalloc_init()). */
#define AML_ARENA_JEMALLOC_DECL(name) struct aml_arena_jemalloc name

/**
 * Initialise a jemalloc arena. Maps nothing until the first allocation.
 * @param[out] arena the storage to initialise.
 * @param area where regions come from; must outlive the arena.
 * @param region_size 0 for AML_ARENA_JEMALLOC_REGION_SIZE, else a multiple
 *        of the page size of at least 4 MiB (memkind's smallest useful
 *        fixed kind).
 * @return 0; AML_EINVAL for a NULL arena or area, or a bad region size;
 *         AML_ENOTSUP where aml was built without memkind; AML_ENOMEM.
 *         The storage is untouched on error.
 */
int aml_arena_jemalloc_init(struct aml_arena_jemalloc *arena,
                            const struct aml_area *area,
                            size_t region_size);

/** Give every block held back to memkind (those in threads' caches too),
 * destroy the fixed kinds and give every region back to the area. Blocks
 * become invalid. No other thread may use the arena meanwhile; threads
 * that used it may exit before, during or after fini. The handle then answers
 * AML_EINVAL to every call until the storage is initialised again. NULL and a
 * second fini are no-ops. */
void aml_arena_jemalloc_fini(struct aml_arena_jemalloc *arena);

/**
 * aml_arena_jemalloc_init() into one allocation.
 * @param[out] out receives the arena; NULL on error.
 * @param area,region_size as for aml_arena_jemalloc_init().
 * @return as aml_arena_jemalloc_init(), or AML_ENOMEM.
 */
int aml_arena_jemalloc_create(struct aml_arena **out,
                              const struct aml_area *area,
                              size_t region_size);

/** Finalise and free an arena from aml_arena_jemalloc_create(); set *arena
 * to NULL. NULL, a pointer to NULL and an arena of another kind are left
 * alone. */
void aml_arena_jemalloc_destroy(struct aml_arena **arena);

#ifdef __cplusplus
}
#endif

#endif /* AML_ARENA_JEMALLOC_H */
