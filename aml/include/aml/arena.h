/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file arena.h
 * Arenas: allocators inside memory obtained from an area.
 *
 * An arena hands out blocks with malloc, calloc, aligned_alloc, realloc and
 * free semantics, from regions it maps through an area (aml/area.h), so
 * every block lives where the area places its pages (HBM, DDR, CXL...).
 * Arenas grow by mapping more regions and give whole regions back to the
 * area when nothing in them is in use. Implementations, one header each:
 * - aml/arena/bump.h: linear; free() forgets only the last block, reset()
 *   forgets everything. The fastest.
 * - aml/arena/pool.h: objects of one size and alignment, from slabs.
 * - aml/arena/buddy.h: power-of-two chunks with coalescing, for any size.
 * - aml/arena/jemalloc.h: jemalloc through memkind's fixed kinds, for
 *   general use; AML_ENOTSUP where aml was built without memkind.
 * - aml/arena/locked.h: a mutex around any other arena.
 * - aml/arena/scalable.h: size classes with a cache per thread; the
 *   thread-safe arena for general use, at the speed of jemalloc.
 *
 * Semantics common to every arena:
 * - Every block is aligned to at least AML_ARENA_ALIGNMENT (16, as
 *   max_align_t); aml_arena_aligned_alloc() takes any power of two up to
 *   AML_ARENA_ALIGNMENT_MAX (1 GiB).
 * - A size of 0 is valid and gives a unique, non-NULL block of the
 *   arena's smallest size, as glibc does; free it like any other.
 *   aml_arena_realloc(arena, p, 0) likewise shrinks @p p to that block,
 *   rather than freeing it (C23 leaves the case undefined; this choice
 *   never returns an ambiguous NULL).
 * - A size above PTRDIFF_MAX, or a calloc() count times size that
 *   overflows, is AML_EINVAL; a size the area cannot map is AML_ENOMEM.
 * - Freeing or reallocating a pointer the arena did not return, an
 *   interior or misaligned pointer, or (where the arena can tell) a block
 *   already freed returns AML_EINVAL and changes nothing.
 * - After an implementation's fini, every call through the handle is
 *   AML_EINVAL and maps nothing, until the storage is initialised again.
 *
 * Thread-safety: the scalable, jemalloc and locked arenas are thread-safe;
 * bump, pool and buddy are not (wrap them in a locked arena, or use one per
 * thread). The default where threads share an arena is the scalable one:
 * aml_arena_thread_safe_create() returns it.
 */
#ifndef AML_ARENA_H
#define AML_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include <aml/area.h>
#include <aml/error.h>

#ifdef __cplusplus
extern "C" {
#endif

struct aml_arena;

/** Alignment of every block, in bytes (that of max_align_t on x86-64). */
#define AML_ARENA_ALIGNMENT 16

/** Largest alignment aml_arena_aligned_alloc() accepts: 1 GiB. */
#define AML_ARENA_ALIGNMENT_MAX ((size_t)1 << 30)

/** What an arena took from its area (aml_arena_stats()). */
struct aml_arena_stats {
	/** Bytes now mapped from the area, metadata inside regions included. */
	size_t mapped_bytes;
	/** Most bytes ever mapped at once. */
	size_t peak_mapped_bytes;
	/** aml_area_mmap() calls that succeeded, since init. */
	size_t maps;
	/** aml_area_munmap() calls, since init. */
	size_t unmaps;
};

/**
 * What an arena's users hold (aml_arena_scalable_usage(),
 * aml_fast_memory_stats()): the blocks, where aml_arena_stats() tells the
 * regions. Kept apart from struct aml_arena_stats, which every arena fills
 * and embeds in its storage, because only the scalable arena counts its
 * blocks: see aml/arena/scalable.h for how exact each field is.
 */
struct aml_arena_usage {
	/** Usable bytes of the live blocks (aml_arena_usable_size() of each).
	 */
	size_t bytes_in_use;
	/** Blocks allocated and not yet freed. */
	size_t live_allocations;
	/** bytes_in_use, plus free blocks the arena keeps for its threads
	 * only (in their caches): what a cap counts. */
	size_t bytes_held;
	/** Most bytes_held at once, since init: at least the peak of
	 * bytes_in_use. */
	size_t peak_bytes_held;
	/** The cap on bytes_held; 0 for none. */
	size_t cap_bytes;
	/** Allocations refused with AML_ENOMEM because of the cap. */
	size_t refused;
};

/**
 * Operations of an arena implementation.
 *
 * The generic functions check their arguments before they call an op: the
 * arena is not NULL and has ops; sizes are at least 1 and at most
 * PTRDIFF_MAX; alignments are powers of two in [AML_ARENA_ALIGNMENT,
 * AML_ARENA_ALIGNMENT_MAX]; pointers are not NULL. Everything else (whether
 * a pointer is a live block of this arena) is the op's to check.
 */
struct aml_arena_ops {
	/**
	 * Allocate @p size bytes aligned to @p alignment. Required.
	 * @return the block, or NULL with aml_errno set (AML_ENOMEM when
	 *         the area is full, AML_EINVAL for a size or alignment the
	 *         implementation cannot serve).
	 */
	void *(*alloc)(struct aml_arena *arena, size_t size, size_t alignment);
	/**
	 * Free the block at @p ptr. Required.
	 * @return 0, or AML_EINVAL for a pointer that is not a live block of
	 *         this arena (nothing changes).
	 */
	int (*release)(struct aml_arena *arena, void *ptr);
	/**
	 * Usable size of the live block at @p ptr into *@p out. Required:
	 * the generic realloc uses it.
	 * @return 0, or AML_EINVAL for a pointer that is not a live block.
	 */
	int (*usable_size)(const struct aml_arena *arena,
	                   const void *ptr,
	                   size_t *out);
	/**
	 * Resize the live block at @p ptr to @p size bytes, keeping its
	 * contents up to the smaller size. Optional: NULL means the generic
	 * one (in place if the block is large enough, else allocate, copy,
	 * free). @return the block, or NULL with aml_errno set and @p ptr
	 * untouched.
	 */
	void *(*resize)(struct aml_arena *arena, void *ptr, size_t size);
	/**
	 * Forget every block at once. Optional: NULL means AML_ENOTSUP.
	 * @return 0 or AML_E*.
	 */
	int (*reset)(struct aml_arena *arena);
	/**
	 * Fill *@p out. Optional: NULL means AML_ENOTSUP.
	 * @return 0 or AML_E*.
	 */
	int (*stats)(const struct aml_arena *arena,
	             struct aml_arena_stats *out);
};

/** Private to the implementations: one region, slab or large block. */
struct aml_arena_index_entry {
	/** First byte. */
	uintptr_t start;
	/** Bytes from start. */
	size_t size;
	/** The implementation's data about the region. */
	void *meta;
};

/** Private to the implementations: regions sorted by address. */
struct aml_arena_index {
	/** n entries, sorted by start, not overlapping; room for cap. */
	struct aml_arena_index_entry *entries;
	/** Entries in use. */
	size_t n;
	/** Entries allocated. */
	size_t cap;
};

/** Generic arena handle. Implementations fill both fields. */
struct aml_arena {
	/** The implementation's operations. */
	const struct aml_arena_ops *ops;
	/** The implementation's state. */
	void *data;
};

/**
 * Allocate @p size bytes aligned to AML_ARENA_ALIGNMENT.
 * @return the block (not initialised), or NULL with aml_errno =
 *         AML_EINVAL (NULL arena, size above PTRDIFF_MAX or larger than
 *         the arena serves, e.g. a pool's object size), AML_ENOMEM (the area
 *         could not map more).
 * @note Inline; libaml.so also exports it as a function, for bindings.
 */
static inline void *aml_arena_malloc(struct aml_arena *arena, size_t size)
{
	/* Inline, as malloc and free are the calls of inner loops: one
	 * indirect call instead of two calls (bench/arena_bench.cc). */
	if (arena == NULL || arena->ops == NULL || size > PTRDIFF_MAX) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	/* malloc(0) is a unique block of the smallest size, as in glibc. */
	return arena->ops->alloc(arena, size != 0 ? size : 1,
	                         AML_ARENA_ALIGNMENT);
}

/**
 * Allocate @p n objects of @p size bytes each, zeroed.
 * @return the block, or NULL with aml_errno as aml_arena_malloc(), and
 *         AML_EINVAL when @p n * @p size overflows.
 */
void *aml_arena_calloc(struct aml_arena *arena, size_t n, size_t size);

/**
 * Allocate @p size bytes aligned to @p alignment. @p size need not be a
 * multiple of @p alignment.
 * @return the block, or NULL with aml_errno as aml_arena_malloc(), and
 *         AML_EINVAL when @p alignment is 0, not a power of two, above
 *         AML_ARENA_ALIGNMENT_MAX, or above what the arena serves (a
 *         pool's object alignment).
 */
void *
aml_arena_aligned_alloc(struct aml_arena *arena, size_t alignment, size_t size);

/**
 * Resize the block at @p ptr to @p size bytes, keeping its contents up to
 * the smaller of the two sizes; NULL @p ptr is aml_arena_malloc(). The block
 * may move; its alignment after a move is AML_ARENA_ALIGNMENT.
 * @return the block, or NULL with aml_errno = AML_EINVAL (NULL arena, size
 *         above PTRDIFF_MAX, @p ptr not a live block of the arena),
 *         AML_ENOMEM; on error @p ptr is untouched and still valid.
 */
void *aml_arena_realloc(struct aml_arena *arena, void *ptr, size_t size);

/**
 * Free the block at @p ptr. NULL is a no-op.
 * @return 0; AML_EINVAL for a NULL arena, or a pointer that is not a live
 *         block of the arena (nothing changes; double frees are detected by
 *         every arena but bump, see aml/arena/bump.h).
 * @note Inline; libaml.so also exports it as a function, for bindings.
 */
static inline int aml_arena_free(struct aml_arena *arena, void *ptr)
{
	if (arena == NULL || arena->ops == NULL)
		return AML_EINVAL;
	if (ptr == NULL)
		return 0;
	return arena->ops->release(arena, ptr);
}

/**
 * Usable size of the live block at @p ptr (at least what was asked).
 * @param arena the arena.
 * @param ptr a live block of @p arena.
 * @param[out] out the size; 0 on error.
 * @return 0; AML_EINVAL for NULL arguments or a pointer that is not a live
 *         block of the arena.
 */
int aml_arena_usable_size(const struct aml_arena *arena,
                          const void *ptr,
                          size_t *out);

/**
 * Forget every block at once: every pointer the arena returned becomes
 * invalid. Regions may be given back to the area (see each arena).
 * @return 0; AML_EINVAL for a NULL arena; AML_ENOTSUP where the
 *         implementation cannot (jemalloc).
 */
int aml_arena_reset(struct aml_arena *arena);

/**
 * What the arena took from its area.
 * @param arena the arena.
 * @param[out] out the statistics; zeroed on error.
 * @return 0; AML_EINVAL for NULL arguments; AML_ENOTSUP where the
 *         implementation keeps none.
 */
int aml_arena_stats(const struct aml_arena *arena, struct aml_arena_stats *out);

/**
 * Create aml's default thread-safe arena over @p area: the one to use when
 * threads share an arena, for blocks of any size and alignment. It is the
 * scalable arena (aml/arena/scalable.h), whose semantics and costs apply;
 * a later version may pick another implementation with the same
 * guarantees: thread-safe, every size and alignment of the generic API,
 * blocks given back to the area when free.
 * @param[out] out receives the arena; NULL on error.
 * @param area where the arena's memory comes from; must outlive it and
 *        honour aml_area_mmap_options.alignment.
 * @return 0; AML_EINVAL for a NULL @p out or @p area; AML_ENOMEM.
 * Thread-safety: the call itself may run on any thread; the arena it
 * returns may be used from any number of threads at once.
 */
int aml_arena_thread_safe_create(struct aml_arena **out,
                                 const struct aml_area *area);

/**
 * Destroy an arena from aml_arena_thread_safe_create(): give its memory
 * back to the area and set *arena to NULL. Blocks become invalid; no
 * thread may use the arena during or after the call. NULL, a pointer to
 * NULL and an arena of another implementation than the default one are
 * left alone.
 */
void aml_arena_thread_safe_destroy(struct aml_arena **arena);

#ifdef __cplusplus
}
#endif

#endif /* AML_ARENA_H */
