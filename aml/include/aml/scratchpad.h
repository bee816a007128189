/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file scratchpad.h
 * Scratchpads: a fast area used as an explicitly managed cache of the tiles
 * of an array in a slow one.
 *
 * The source is an array in slow memory (DDR, CXL) cut into tiles by a
 * tiling (aml/tiling.h), usually aml_tiling_nd with IN_PLACE storage. The
 * scratch is @p nslots slots mapped once, at init, from a fast area (HBM,
 * MCDRAM). Each slot holds one tile densely: the tile's elements in the
 * array's storage order, with no gap (a dense layout of the tile's dims;
 * aml_scratchpad_slot_layout()). A RESIZE border tile fills the start of its
 * slot. Copies between a tile and a slot go through a dma engine
 * (aml/dma.h) given by the caller, as layout to layout copies.
 *
 * Life of a slot:
 * - aml_scratchpad_pull() finds the tile in a slot (a hit: no copy) or loads
 *   it into a free slot (a miss), and pins the slot: its reference count
 *   goes up by one, and a pinned slot is never evicted.
 * - The caller reads and writes the slot (aml_scratchpad_slot_ptr()), and
 *   either writes it back now with aml_scratchpad_push(), or marks it dirty
 *   (aml_scratchpad_mark_dirty(), or the AML_SCRATCHPAD_DIRTY flag of a
 *   pull) so that it is written back when evicted, flushed or finalised.
 * - aml_scratchpad_release() drops the pin. A slot with no pin and no copy
 *   in flight keeps its tile (a later pull of it is a hit) until it is
 *   evicted.
 *
 * Eviction is LRU: a miss takes an empty slot if there is one, else the
 * slot released least recently, writing its tile back first if it is dirty.
 * When every slot is pinned or has a copy in flight, a miss is AML_EBUSY and
 * changes nothing.
 *
 * Asynchronous variants, aml_scratchpad_async_pull() and
 * aml_scratchpad_async_push(), submit the copy to the dma engine and return
 * a request; aml_scratchpad_wait() waits for it. A request handle stays
 * valid, whatever else happens to the scratchpad, until it is waited, and
 * is good for one wait (a copy of it waited again is refused); every
 * request must be waited (aml_scratchpad_fini() frees those that were not,
 * which makes their handles invalid). A slot is not evictable while a copy
 * to or from it is in flight, even if no one pins it.
 *
 * Double buffering, the canonical use: pull tile i + 1 while computing on
 * tile i. Two slots suffice for a read-only loop (three if tiles are written
 * back by eviction and the loop must never stall on a write-back):
 * @code
 * size_t n = aml_tiling_ntiles(tiling), cur, next = 0;
 * struct aml_scratchpad_request *rcur, *rnext = NULL;
 * aml_scratchpad_async_pull(&sp, 0, 0, &cur, &rcur);
 * for (size_t i = 0; i < n; i++) {
 *         if (i + 1 < n)   // in flight while tile i is computed on
 *                 aml_scratchpad_async_pull(&sp, i + 1, 0, &next, &rnext);
 *         aml_scratchpad_wait(&sp, &rcur);
 *         compute(aml_scratchpad_slot_ptr(&sp, cur));
 *         aml_scratchpad_mark_dirty(&sp, cur);   // if compute wrote it
 *         aml_scratchpad_release(&sp, cur);      // now evictable
 *         cur = next;
 *         rcur = rnext;
 * }
 * aml_scratchpad_flush(&sp);   // write back the dirty tiles still cached
 * @endcode
 * (Error checks left out.) tests/scratchpad_async_test.cc runs this loop.
 *
 * Why no ops table: there is one implementation, and the eviction policy
 * is internal to it. The storage struct is the handle; an ops table can be
 * put first in it when a second policy appears, without changing calls.
 *
 * Errors: a NULL argument is AML_EINVAL; a tile at or past
 * aml_tiling_ntiles() and a slot at or past nslots are AML_EDOM; an action
 * that needs a pin on a slot with none (release, push, mark_dirty) is
 * AML_EPERM; AML_EBUSY when no slot can be evicted or a copy to or from the
 * slot is in flight. Every such error changes nothing. Functions returning
 * a pointer return NULL and set aml_errno.
 *
 * A copy that fails never loses what the caller wrote: a failed push (or
 * an asynchronous one that cannot be submitted) leaves the slot dirty; a
 * failed write-back of a victim fails the pull and leaves the victim
 * cached and dirty; a failed flush leaves the slots dirty; a failed load
 * leaves its slot empty (its previous tile was written back first). Only
 * fini, which cannot report errors, drops the dirty slots it cannot write
 * back: call aml_scratchpad_flush() before it to know.
 *
 * Thread-safety: every function but init and fini may be called from
 * several threads at once on one scratchpad (one mutex). Two threads may
 * even wait for one request at once: one of them waits for it, the other
 * gets AML_EINVAL and changes nothing. Synchronous copies (pull misses,
 * push, write-backs on eviction) run while the scratchpad is locked, so
 * threads sharing a scratchpad serialise their misses; waits for
 * asynchronous copies do not hold the lock.
 *
 * fork(): the child of a fork() may use and finalise the scratchpad,
 * whatever other threads were doing with it (aml/dma.h, "fork()"): a copy
 * in flight completes when the child waits for it (through its dma
 * request, also when the thread that was waiting for it is gone, so that
 * no copy of it lands later in a reused slot or tile), and slots pinned
 * by threads that are gone stay pinned. For that, aml keeps initialised
 * scratchpads in a list: finalise the storage before it is freed or goes out of
 * scope.
 */
#ifndef AML_SCRATCHPAD_H
#define AML_SCRATCHPAD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/area.h>
#include <aml/dma.h>
#include <aml/layout.h>
#include <aml/tiling.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Flag of a pull: the caller will write the slot; write it back when it is
 * evicted, flushed or finalised. */
#define AML_SCRATCHPAD_DIRTY 1u

/**
 * Flag of a pull: the caller will write every element of the tile before
 * reading any (an output tile). A miss loads nothing, so the slot's
 * content is undefined until written; the slot is dirty, as with
 * AML_SCRATCHPAD_DIRTY. A hit keeps the slot's content. Saves the read of
 * a tile that is only written, as a write-allocate without fetch does.
 */
#define AML_SCRATCHPAD_OVERWRITE 2u

/** Slots are aligned to this many bytes (a cache line). */
#define AML_SCRATCHPAD_SLOT_ALIGN 64

/** Counters of a scratchpad, since init. */
struct aml_scratchpad_stats {
	/** Pulls that succeeded, synchronous and asynchronous. */
	uint64_t pulls;
	/** Pulls that found their tile in a slot: no copy. */
	uint64_t hits;
	/** Pulls that loaded their tile into a slot: one copy. */
	uint64_t misses;
	/** Copies submitted to the dma engine: loads, pushes, write-backs. */
	uint64_t copies;
	/** Explicit pushes (synchronous and asynchronous). */
	uint64_t pushes;
	/** Dirty tiles written back by eviction, flush or fini. */
	uint64_t writebacks;
	/** Slots whose tile was dropped to make room for another. */
	uint64_t evictions;
	/** Bytes copied from tiles to slots. */
	uint64_t bytes_pulled;
	/** Bytes copied from slots to tiles (pushes and write-backs). */
	uint64_t bytes_pushed;
};

/** One slot's bookkeeping (private: struct aml_scratchpad's state). */
struct aml_scratchpad_slot;

/** Requests and copies in flight (private: struct aml_scratchpad's). */
struct aml_scratchpad_state;

/** A copy in flight, until aml_scratchpad_wait(); opaque. */
struct aml_scratchpad_request;

/** Storage for a scratchpad. Use the aml_scratchpad_*() functions. */
struct aml_scratchpad {
	/** @privatesection */
	/* Private: use the aml_scratchpad_*() functions. */
	/** The source tiling; not owned. */
	const struct aml_tiling *tiling;
	/** Where the slots are mapped from; not owned. */
	const struct aml_area *area;
	/** The copy engine; not owned. */
	struct aml_dma *dma;
	/** Number of tiles of the tiling. */
	size_t ntiles;
	/** Number of slots, >= 1. */
	size_t nslots;
	/** Bytes of the largest (first) tile, made dense. */
	size_t slot_bytes;
	/** Bytes from one slot to the next (slot_bytes aligned). */
	size_t slot_stride;
	/** The slots, nslots * slot_stride bytes from the area. */
	char *scratch;
	/** Bytes mapped at scratch. */
	size_t scratch_bytes;
	/** Per-slot state, nslots entries. */
	struct aml_scratchpad_slot *slots;
	/** Tile to slot, entries of slot + 1 (0: none): with hash_mask 0, one
	 * per tile at the tile's id; else open addressing, hash_mask + 1
	 * entries. */
	size_t *hash;
	size_t hash_mask;
	/** LRU list of evictable slots (no pin, no copy): head is evicted
	 * first; empty slots go to the head, released ones to the tail. */
	size_t lru_head;
	size_t lru_tail;
	/** Copies in flight and request handles (freed by fini). */
	struct aml_scratchpad_state *state;
	struct aml_scratchpad_stats stats;
	/** Guards everything above that changes after init. */
	pthread_mutex_t lock;
	/** Signalled when an asynchronous copy completes. */
	pthread_cond_t done;
	/** Nonzero between a successful init and fini. */
	int ready;
};

/** Declare storage for a scratchpad (see aml_scratchpad_init()). */
#define AML_SCRATCHPAD_DECL(name) struct aml_scratchpad name

/**
 * Initialise a scratchpad: map @p nslots slots from @p area, each large
 * enough for the densest copy of the largest tile of @p tiling.
 *
 * Bookkeeping, in the process's heap: 56 bytes per slot, and a table from
 * tiles to slots of 8 bytes per tile for a tiling of at most 65536 tiles
 * (16 to 32 bytes per slot beyond, hashed). With a seq engine on the
 * memcpy copier (aml/dma/seq.h) and such a tiling, another 8 bytes per
 * tile hold the tiles' addresses, read from @p tiling here: the tables
 * take 1 MiB at most.
 *
 * @param[out] sp the storage. On error it is left finalised, whatever it
 *             held: aml_scratchpad_fini() is a no-op on it and every
 *             other call AML_EINVAL.
 * @param tiling the source: tiles of an array with a base (not shape-only).
 *        Not owned; must outlive the scratchpad, and so must its array.
 * @param area where the slots live (the fast memory). Not owned; must
 *        outlive the scratchpad.
 * @param dma the engine that copies tiles and slots. Not owned; must
 *        outlive the scratchpad.
 * @param nslots number of slots, >= 1.
 * @return 0; AML_EINVAL for a NULL argument, nslots 0, a shape-only tiling,
 *         or slots whose total size overflows a size_t, and for storage
 *         that holds a live scratchpad (initialised, not finalised), which
 *         is left as it is; AML_ENOMEM (or what aml_area_mmap() fails
 *         with) when the slots or the bookkeeping cannot be allocated;
 *         AML_ENOMEM when its mutex or condition variable cannot be made
 *         (only a lack of resources fails them). Nothing is left allocated
 *         on error.
 */
int aml_scratchpad_init(struct aml_scratchpad *sp,
                        const struct aml_tiling *tiling,
                        const struct aml_area *area,
                        struct aml_dma *dma,
                        size_t nslots);

/**
 * Finalise: wait for every copy in flight, write back every dirty slot
 * (errors are ignored: call aml_scratchpad_flush() first to see them), give
 * the slots back to the area and free the bookkeeping. Requests not yet
 * waited are freed, and their handles become invalid. NULL, storage whose
 * init failed and storage already finalised are no-ops. Not to be called
 * while another thread uses the scratchpad.
 */
void aml_scratchpad_fini(struct aml_scratchpad *sp);

/**
 * aml_scratchpad_init() into one allocation.
 * @param[out] out receives the scratchpad; NULL on error.
 * @param tiling,area,dma,nslots as for aml_scratchpad_init().
 * @return as aml_scratchpad_init(); AML_EINVAL for a NULL @p out.
 */
int aml_scratchpad_create(struct aml_scratchpad **out,
                          const struct aml_tiling *tiling,
                          const struct aml_area *area,
                          struct aml_dma *dma,
                          size_t nslots);

/**
 * Finalise and free a scratchpad from aml_scratchpad_create(), and set
 * *@p sp to NULL. NULL and a pointer to NULL are no-ops.
 */
void aml_scratchpad_destroy(struct aml_scratchpad **sp);

/**
 * Get tile @p tile into a slot and pin it; return once the slot holds the
 * tile. A hit copies nothing; a miss evicts (see the file comment) and
 * loads. If an asynchronous pull of the tile is in flight, waits for it.
 *
 * @param sp the scratchpad.
 * @param tile the id of a tile of the scratchpad's tiling.
 * @param flags 0, AML_SCRATCHPAD_DIRTY to mark the slot dirty, or
 *        AML_SCRATCHPAD_OVERWRITE for a tile the caller only writes (a miss
 *        copies nothing).
 * @param[out] slot receives the slot index; untouched on error.
 * @return 0; AML_EINVAL for a NULL argument or unknown flags; AML_EDOM for
 *         a tile out of range; AML_EBUSY when every slot is pinned or busy;
 *         the dma's error if the copy (load, or write-back of the victim)
 *         failed: then the slot is not pinned, and a failed write-back
 *         leaves the victim as it was.
 */
int aml_scratchpad_pull(struct aml_scratchpad *sp,
                        size_t tile,
                        unsigned flags,
                        size_t *slot);

/**
 * aml_scratchpad_pull() that does not wait for the load: the slot is pinned
 * and named at once, its content is the tile once aml_scratchpad_wait()
 * returns 0. A hit, and a miss with AML_SCRATCHPAD_OVERWRITE (nothing to
 * load), return a request that is already complete. Writing back a dirty
 * victim is synchronous.
 *
 * @param sp,tile,flags as for aml_scratchpad_pull().
 * @param[out] slot receives the slot index; untouched on error.
 * @param[out] request receives the request to wait; NULL on error.
 * @return as aml_scratchpad_pull(); AML_ENOMEM when the request cannot be
 *         allocated, a hit's included (every request gets a handle that a
 *         wait checks): then nothing changed, no pin was taken and nothing
 *         was evicted or loaded, and the pull may be retried.
 */
int aml_scratchpad_async_pull(struct aml_scratchpad *sp,
                              size_t tile,
                              unsigned flags,
                              size_t *slot,
                              struct aml_scratchpad_request **request);

/**
 * Write slot @p slot back to its tile and return when done; the slot is
 * then clean. The caller must hold a pin on it.
 * @return 0; AML_EINVAL for a NULL @p sp; AML_EDOM for a slot out of range;
 *         AML_EPERM for a slot with no pin; AML_EINVAL for a slot that
 *         holds no tile (its load failed); AML_EBUSY while a copy to or
 *         from the slot is in flight (wait its request first); the dma's
 *         error: the slot is then dirty, whether or not it was marked, so
 *         eviction, flush or fini write it back (a failed copy may have
 *         written part of the tile, and the slot alone holds the data).
 */
int aml_scratchpad_push(struct aml_scratchpad *sp, size_t slot);

/**
 * aml_scratchpad_push() that does not wait: the slot is clean (unless
 * marked dirty again) once aml_scratchpad_wait() returns 0; it is not
 * evictable until then. Do not write the slot before that.
 * @param sp the scratchpad.
 * @param slot a slot the caller holds a pin on.
 * @param[out] request receives the request to wait; NULL on error.
 * @return as aml_scratchpad_push(); AML_EINVAL for a NULL @p request;
 *         AML_ENOMEM. After AML_ENOMEM or the dma's error (the copy could
 *         not be submitted), the slot is dirty, as after a failed push.
 */
int aml_scratchpad_async_push(struct aml_scratchpad *sp,
                              size_t slot,
                              struct aml_scratchpad_request **request);

/**
 * Wait for the copy of *@p request, free the request and set *@p request
 * to NULL. Several requests may share one copy (two pulls of a tile in
 * flight): each is waited.
 * @return 0; the copy's error (a failed pull leaves its slot empty once its
 *         pins are released; a failed push leaves the slot dirty);
 *         AML_EINVAL for a NULL argument or a NULL *@p request, and,
 *         changing nothing, for a handle that names no request of @p sp
 *         not yet waited (waited already, another scratchpad's, made
 *         up).
 */
int aml_scratchpad_wait(struct aml_scratchpad *sp,
                        struct aml_scratchpad_request **request);

/**
 * Drop one pin of slot @p slot. When no pin and no copy remain, the slot is
 * evictable, and the most recently released.
 * @return 0; AML_EINVAL for a NULL @p sp; AML_EDOM for a slot out of range;
 *         AML_EPERM for a slot with no pin.
 */
int aml_scratchpad_release(struct aml_scratchpad *sp, size_t slot);

/**
 * Mark pinned slot @p slot dirty: it is written back when evicted, flushed
 * or finalised.
 * @return 0; AML_EINVAL for a NULL @p sp or a slot that holds no tile (its
 *         load failed); AML_EDOM for a slot out of range; AML_EPERM for a
 *         slot with no pin.
 */
int aml_scratchpad_mark_dirty(struct aml_scratchpad *sp, size_t slot);

/**
 * Write back every dirty slot that has no copy in flight, pinned or not;
 * they are then clean. Tiles stay cached.
 * @return 0; AML_EINVAL for a NULL @p sp; the first dma error (the slots
 *         that failed stay dirty).
 */
int aml_scratchpad_flush(struct aml_scratchpad *sp);

/**
 * Address of the first element of slot @p slot. Fixed for the scratchpad's
 * life, whatever tile the slot holds. O(1).
 * @return the address, in the area's memory, owned by the scratchpad; NULL
 *         with aml_errno = AML_EINVAL (NULL @p sp) or AML_EDOM (slot out of
 *         range).
 */
void *aml_scratchpad_slot_ptr(const struct aml_scratchpad *sp, size_t slot);

/**
 * The dense layout of the tile slot @p slot holds, over the slot's memory:
 * the tile's element size, order and dims, no padding.
 * @param sp the scratchpad.
 * @param slot the slot.
 * @param[out] out receives the layout; untouched on error.
 * @return 0; AML_EINVAL for a NULL argument or a slot that holds no tile;
 *         AML_EDOM for a slot out of range.
 */
int aml_scratchpad_slot_layout(struct aml_scratchpad *sp,
                               size_t slot,
                               struct aml_layout *out);

/**
 * The tile slot @p slot holds (or is loading).
 * @param sp the scratchpad.
 * @param slot the slot.
 * @param[out] out receives the tile id; untouched on error.
 * @return 0; AML_EINVAL for a NULL argument or a slot that holds no tile;
 *         AML_EDOM for a slot out of range.
 */
int aml_scratchpad_slot_tile(struct aml_scratchpad *sp,
                             size_t slot,
                             size_t *out);

/**
 * The counters since init.
 * @param sp the scratchpad.
 * @param[out] out receives a copy.
 * @return 0; AML_EINVAL for a NULL argument.
 */
int aml_scratchpad_stats(struct aml_scratchpad *sp,
                         struct aml_scratchpad_stats *out);

/**
 * Number of slots.
 * @return nslots; 0 with aml_errno = AML_EINVAL for a NULL @p sp.
 */
size_t aml_scratchpad_nslots(const struct aml_scratchpad *sp);

#ifdef __cplusplus
}
#endif

#endif /* AML_SCRATCHPAD_H */
