/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file bump.h
 * The bump arena: linear allocation, freed all at once by reset.
 *
 * Blocks are carved one after the other from regions of @p region_size
 * bytes (AML_ARENA_BUMP_REGION_SIZE, 2 MiB, by default) mapped from the
 * area; when a region is full the arena maps another. A block larger than
 * a region gets a region of its own.
 *
 * aml_arena_free() checks its pointer (a live block of this arena, else
 * AML_EINVAL) and then forgets it: the memory of the last block allocated
 * is reused, a block with a region of its own is unmapped at once, and the
 * rest waits for aml_arena_reset(), which keeps one region and unmaps the
 * others. A freed block is marked, so a double free returns AML_EINVAL
 * until the memory is reused. Each block carries a 16-byte header.
 *
 * Not thread-safe: use one per thread, or wrap it in aml/arena/locked.h.
 */
#ifndef AML_ARENA_BUMP_H
#define AML_ARENA_BUMP_H

#include <stddef.h>

#include <aml/arena.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Default region size: 2 MiB, a huge page. */
#define AML_ARENA_BUMP_REGION_SIZE ((size_t)2 << 20)

/** Storage for one bump arena. Pass &x.base to the aml_arena_*() functions. */
struct aml_arena_bump {
	/** Generic handle. Keep first. */
	struct aml_arena base;
	/** @privatesection */
	/* Private: use the aml_arena_bump_*() functions. */
	const struct aml_area *area;
	size_t region_size;
	/** Every region, by address; meta is the region's used end. */
	struct aml_arena_index regions;
	/** The region blocks are carved from; NULL before the first. */
	char *current;
	/** Next free byte and end of the current region. */
	char *top;
	char *end;
	/** The last block, and top before it was carved. */
	char *last;
	char *last_top;
	struct aml_arena_stats stats;
};

/** Declare storage for a bump arena (see aml_arena_bump_init()). */
#define AML_ARENA_BUMP_DECL(name) struct aml_arena_bump name

/**
 * Initialise a bump arena. Maps nothing until the first allocation.
 * @param[out] arena the storage to initialise.
 * @param area where regions come from; must outlive the arena.
 * @param region_size 0 for AML_ARENA_BUMP_REGION_SIZE, else a multiple of
 *        the page size.
 * @return 0; AML_EINVAL for a NULL arena or area, or a bad region size.
 *         The storage is untouched on error.
 */
int aml_arena_bump_init(struct aml_arena_bump *arena,
                        const struct aml_area *area,
                        size_t region_size);

/** Give every region back to the area. Blocks become invalid. The handle
 * then answers AML_EINVAL to every call until the storage is initialised
 * again. NULL is a
 * no-op. */
void aml_arena_bump_fini(struct aml_arena_bump *arena);

/**
 * aml_arena_bump_init() into one allocation.
 * @param[out] out receives the arena; NULL on error.
 * @param area,region_size as for aml_arena_bump_init().
 * @return as aml_arena_bump_init(), or AML_ENOMEM.
 */
int aml_arena_bump_create(struct aml_arena **out,
                          const struct aml_area *area,
                          size_t region_size);

/** Finalise and free an arena from aml_arena_bump_create(); set *arena to
 * NULL. NULL, a pointer to NULL and an arena of another kind are left
 * alone. */
void aml_arena_bump_destroy(struct aml_arena **arena);

#ifdef __cplusplus
}
#endif

#endif /* AML_ARENA_BUMP_H */
