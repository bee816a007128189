/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file buddy.h
 * The buddy arena: power-of-two chunks with coalescing.
 *
 * Regions of @p region_size bytes (a power of two; AML_ARENA_BUDDY_REGION_SIZE,
 * 2 MiB, by default) are mapped from the area aligned to their size, and
 * split into chunks of 2^k bytes, from AML_ARENA_BUDDY_MIN_CHUNK (64 B) to
 * the whole region. A request takes the smallest chunk that holds it (and
 * whose natural alignment is enough); a freed chunk merges with its buddy
 * while the buddy is free. A region whose chunks are all free again is
 * unmapped, except one kept to absorb malloc/free cycles.
 *
 * Requests larger than a region, or aligned beyond it, bypass the chunks:
 * each is mapped from the area on its own and unmapped when freed.
 *
 * A freed chunk of 64 B to 4 KiB first goes to a small cache per order,
 * from which the next request of its order is served without a split or a
 * merge; cached chunks are merged (and their region given back) as soon as
 * their region holds no live block and another empty region is kept, or
 * when a request finds no free chunk.
 *
 * Chunk states (one byte per 64 B) live in ordinary malloc'd memory, not in
 * the regions, so that chunks stay powers of two; they cost 1/64 of the
 * mapped size. Double frees, interior and foreign pointers are AML_EINVAL.
 *
 * Not thread-safe: use one per thread, or wrap it in aml/arena/locked.h.
 */
#ifndef AML_ARENA_BUDDY_H
#define AML_ARENA_BUDDY_H

#include <stddef.h>

#include <aml/arena.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Smallest chunk: 64 B, a cache line. malloc(0) and malloc(1) take one. */
#define AML_ARENA_BUDDY_MIN_CHUNK 64

/** Default region size: 2 MiB, a huge page. */
#define AML_ARENA_BUDDY_REGION_SIZE ((size_t)2 << 20)

/** Orders of the chunks a freed-chunk cache keeps: 64 B to 4 KiB. */
#define AML_ARENA_BUDDY_CACHE_ORDERS 7

/** Largest region size: 1 GiB. */
#define AML_ARENA_BUDDY_REGION_MAX ((size_t)1 << 30)

/** Storage for one buddy arena. Pass &x.base to the aml_arena_*()
 * functions. */
struct aml_arena_buddy {
	/** Generic handle. Keep first. */
	struct aml_arena base;
	/** @privatesection */
	/* Private: use the aml_arena_buddy_*() functions. */
	const struct aml_area *area;
	size_t region_size;
	/** log2(region_size). */
	unsigned max_order;
	/** Free chunks of 2^k bytes, doubly linked through the chunks. */
	void *free_lists[31];
	/** Regions (meta: their chunk states) and large blocks (meta NULL),
	 * by address. */
	struct aml_arena_index regions;
	/** Regions without a live block (at most one is kept). */
	size_t nempty;
	/** Recently freed chunks of 64 B to 4 KiB, per order: lists through
	 * the chunks, reused before any split (see buddy.c). */
	void *cache[AML_ARENA_BUDDY_CACHE_ORDERS];
	unsigned char ncached[AML_ARENA_BUDDY_CACHE_ORDERS];
	struct aml_arena_stats stats;
};

/** Declare storage for a buddy arena (see aml_arena_buddy_init()). */
#define AML_ARENA_BUDDY_DECL(name) struct aml_arena_buddy name

/**
 * Initialise a buddy arena. Maps nothing until the first allocation.
 * @param[out] arena the storage to initialise.
 * @param area where regions come from; must outlive the arena. It must
 *        honour aml_area_mmap_options.alignment.
 * @param region_size 0 for AML_ARENA_BUDDY_REGION_SIZE, else a power of
 *        two from the page size to AML_ARENA_BUDDY_REGION_MAX.
 * @return 0; AML_EINVAL for a NULL arena or area, or a bad region size.
 *         The storage is untouched on error.
 */
int aml_arena_buddy_init(struct aml_arena_buddy *arena,
                         const struct aml_area *area,
                         size_t region_size);

/** Give every region and large block back to the area. Blocks become
 * invalid. The handle then answers AML_EINVAL to every call until the
 * storage is initialised again. NULL is a no-op. */
void aml_arena_buddy_fini(struct aml_arena_buddy *arena);

/**
 * aml_arena_buddy_init() into one allocation.
 * @param[out] out receives the arena; NULL on error.
 * @param area,region_size as for aml_arena_buddy_init().
 * @return as aml_arena_buddy_init(), or AML_ENOMEM.
 */
int aml_arena_buddy_create(struct aml_arena **out,
                           const struct aml_area *area,
                           size_t region_size);

/** Finalise and free an arena from aml_arena_buddy_create(); set *arena to
 * NULL. NULL, a pointer to NULL and an arena of another kind are left
 * alone. */
void aml_arena_buddy_destroy(struct aml_arena **arena);

#ifdef __cplusplus
}
#endif

#endif /* AML_ARENA_BUDDY_H */
