/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scratchpad's slots (slots.c): argument checks, the layouts and
 * synchronous copies between a slot and its tile, and the transitions of a
 * slot (claim, pin, unpin, hit, miss). The layer below async.c and
 * scratchpad.c, above index.c (internal.h): it calls index.c only.
 *
 * Every function here is called with sp->lock held, unless it says
 * otherwise, and trusts its arguments (the public functions checked them).
 */
#ifndef AML_SRC_SCRATCHPAD_SLOTS_H
#define AML_SRC_SCRATCHPAD_SLOTS_H

#include <stdbool.h>
#include <stddef.h>

#include <aml/error.h>
#include <aml/layout.h>
#include <aml/scratchpad.h>

#include "aml/src/scratchpad/index.h"
#include "aml/src/scratchpad/internal.h"

/* ---- Checks ---- */

/* Whether @p sp is initialised (no lock needed). Inline, as the
 * checks of a pull and the pins below: every pull and release takes
 * them. */
static inline bool aml_scratchpad_is_ready(const struct aml_scratchpad *sp)
{
	return sp != NULL && sp->ready;
}

/* Checks of a pull's arguments (no lock needed). */
static inline int aml_scratchpad_check_pull(const struct aml_scratchpad *sp,
                                            size_t tile,
                                            unsigned flags,
                                            const size_t *slot)
{
	if (!aml_scratchpad_is_ready(sp) || slot == NULL ||
	    (flags & ~(AML_SCRATCHPAD_DIRTY | AML_SCRATCHPAD_OVERWRITE)) != 0)
		return AML_EINVAL;
	if (tile >= sp->ntiles)
		return AML_EDOM;
	return 0;
}

/* Checks of a slot the caller must hold a pin on. */
int aml_scratchpad_check_pinned(const struct aml_scratchpad *sp, size_t slot);

/* ---- Layouts and copies ---- */

/* Address of slot @p slot (no lock needed: fixed from init to fini). */
void *aml_scratchpad_slot_addr(const struct aml_scratchpad *sp, size_t slot);
/* The two layouts of a copy between slot @p slot and tile @p tile (no lock
 * needed). */
int aml_scratchpad_layouts(const struct aml_scratchpad *sp,
                           size_t slot,
                           size_t tile,
                           struct aml_layout *slot_layout,
                           struct aml_layout *tile_layout);
/* Plan once the copies of a full tile (tile 0's shape), for
 * aml_scratchpad_submit(); a tiling it cannot plan is left to the general
 * path. Called by init, before any copy (no lock needed). */
void aml_scratchpad_plan_full(struct aml_scratchpad *sp);
/* Submit the copy between slot @p slot and tile @p tile to the engine:
 * the full-tile plan with its addresses set, else a plan of the two
 * layouts. *bytes receives the bytes it moves. */
int aml_scratchpad_submit(struct aml_scratchpad *sp,
                          size_t slot,
                          size_t tile,
                          enum aml_scratchpad_copy kind,
                          struct aml_dma_request **out,
                          size_t *bytes);
/* Synchronous copy between slot @p slot and tile @p tile, counted: through
 * a seq engine's copier with no dma request, else submitted and waited. */
int aml_scratchpad_copy(struct aml_scratchpad *sp,
                        size_t slot,
                        size_t tile,
                        enum aml_scratchpad_copy kind);

/* ---- Transitions ---- */

/* Evict the LRU slot for @p tile (write-back included); nothing changes on
 * error. */
int aml_scratchpad_claim(struct aml_scratchpad *sp, size_t tile, size_t *out);
/* Undo a claim whose load failed to start. */
void aml_scratchpad_unclaim(struct aml_scratchpad *sp, size_t slot);
/* Add a pin on slot @p slot, which holds a tile: it leaves the LRU list
 * (pinned slots are not evictable). */
static inline void aml_scratchpad_pin(struct aml_scratchpad *sp, size_t slot)
{
	aml_scratchpad_lru_remove(sp, slot);
	sp->slots[slot].pins++;
}

/* Drop a pin on slot @p slot, which has one. The last pin makes the slot
 * evictable again, unless a copy is in flight. */
static inline void aml_scratchpad_unpin(struct aml_scratchpad *sp, size_t slot)
{
	sp->slots[slot].pins--;
	aml_scratchpad_lru_add(sp, slot);
}
/* Count a pull that hit, and apply its flags. */
void aml_scratchpad_count_hit(struct aml_scratchpad *sp,
                              size_t slot,
                              unsigned flags);
/* Count a pull that missed, pin its freshly claimed slot and apply its
 * flags. */
static inline void aml_scratchpad_count_miss(struct aml_scratchpad *sp,
                                             size_t slot,
                                             unsigned flags)
{
	sp->slots[slot].pins = 1;
	sp->slots[slot].dirty =
	        (flags & (AML_SCRATCHPAD_DIRTY | AML_SCRATCHPAD_OVERWRITE)) !=
	        0;
	sp->stats.pulls++;
	sp->stats.misses++;
}
/* A synchronous miss of @p tile: claim a slot (aml_scratchpad_claim()),
 * load the tile into it unless @p flags has AML_SCRATCHPAD_OVERWRITE, pin
 * it and count the miss (aml_scratchpad_count_miss()); *out receives the
 * slot. On error nothing changed but a victim's write-back (the slot is
 * empty if its load failed). */
int aml_scratchpad_miss(struct aml_scratchpad *sp,
                        size_t tile,
                        unsigned flags,
                        size_t *out);

#endif /* AML_SRC_SCRATCHPAD_SLOTS_H */
