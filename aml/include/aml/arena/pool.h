/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file pool.h
 * The pool arena: objects of one size and alignment, from slabs.
 *
 * Slabs of @p slab_size bytes (AML_ARENA_POOL_SLAB_SIZE, 64 KiB, by
 * default) are mapped from the area; each starts with a header (free list,
 * counts and one bit per object) followed by the objects. Allocation pops
 * the free list of a slab with room, in O(1); free finds the slab (O(log
 * slabs)), checks the pointer is the start of a live object, and pushes it
 * back. When every object of a slab is free the slab is unmapped, except
 * one empty slab kept to absorb malloc/free cycles. reset() keeps one slab.
 *
 * aml_arena_malloc() of at most the object size (0 included) gives one
 * object; larger sizes, and alignments above the pool's, are AML_EINVAL.
 * Double frees, interior and foreign pointers are AML_EINVAL.
 *
 * Not thread-safe: use one per thread, or wrap it in aml/arena/locked.h.
 */
#ifndef AML_ARENA_POOL_H
#define AML_ARENA_POOL_H

#include <stddef.h>

#include <aml/arena.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Default slab size: 64 KiB. */
#define AML_ARENA_POOL_SLAB_SIZE ((size_t)64 << 10)

/** Storage for one pool. Pass &x.base to the aml_arena_*() functions. */
struct aml_arena_pool {
	/** Generic handle. Keep first. */
	struct aml_arena base;
	/** @privatesection */
	/* Private: use the aml_arena_pool_*() functions. */
	const struct aml_area *area;
	/** Object size, rounded up to the alignment. */
	size_t object_size;
	size_t alignment;
	size_t slab_size;
	/** Offset of the first object in a slab; objects per slab. */
	size_t first_offset;
	size_t per_slab;
	/** log2(object_size) if it is a power of two, else 0. */
	unsigned object_shift;
	/** Every slab, by address; meta is the slab header. */
	struct aml_arena_index slabs;
	/** Slabs with free objects, doubly linked through their headers. */
	void *partial;
	/** Empty slabs in the partial list (at most one is kept). */
	size_t nempty;
	/** The slab of the last free (a one-entry lookup cache). */
	void *hint;
	struct aml_arena_stats stats;
};

/** Declare storage for a pool (see aml_arena_pool_init()). */
#define AML_ARENA_POOL_DECL(name) struct aml_arena_pool name

/**
 * Initialise a pool. Maps nothing until the first allocation.
 * @param[out] pool the storage to initialise.
 * @param area where slabs come from; must outlive the pool.
 * @param object_size bytes per object, at least 1.
 * @param alignment of each object: 0 for AML_ARENA_ALIGNMENT, else a power
 *        of two up to half the slab size (objects are aligned to at least
 *        AML_ARENA_ALIGNMENT whatever is asked).
 * @param slab_size 0 for AML_ARENA_POOL_SLAB_SIZE, else a power of two
 *        multiple of the page size, large enough for a header and one
 *        object.
 * @return 0; AML_EINVAL for a NULL pool or area, or a bad size or
 *         alignment. The storage is untouched on error.
 */
int aml_arena_pool_init(struct aml_arena_pool *pool,
                        const struct aml_area *area,
                        size_t object_size,
                        size_t alignment,
                        size_t slab_size);

/** Give every slab back to the area. Objects become invalid. The handle
 * then answers AML_EINVAL to every call until the storage is initialised
 * again. NULL is a
 * no-op. */
void aml_arena_pool_fini(struct aml_arena_pool *pool);

/**
 * aml_arena_pool_init() into one allocation.
 * @param[out] out receives the arena; NULL on error.
 * @param area,object_size,alignment,slab_size as for aml_arena_pool_init().
 * @return as aml_arena_pool_init(), or AML_ENOMEM.
 */
int aml_arena_pool_create(struct aml_arena **out,
                          const struct aml_area *area,
                          size_t object_size,
                          size_t alignment,
                          size_t slab_size);

/** Finalise and free a pool from aml_arena_pool_create(); set *arena to
 * NULL. NULL, a pointer to NULL and an arena of another kind are left
 * alone. */
void aml_arena_pool_destroy(struct aml_arena **arena);

#ifdef __cplusplus
}
#endif

#endif /* AML_ARENA_POOL_H */
