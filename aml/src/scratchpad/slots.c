/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scratchpad's slots (see scratchpad.c for the design): what the
 * synchronous and the asynchronous paths share. Argument checks; the two
 * layouts of a copy, the tile as a strided view of the source and the same
 * shape dense over the slot; synchronous copies, counted; and the
 * transitions of a slot: claimed for a tile (its victim written back and
 * forgotten), pinned and unpinned by pulls and releases, counted as a hit or
 * a miss.
 *
 * Invariant kept by every transition: a slot is on the LRU list exactly
 * when it has no pin and no copy in flight (index.c).
 *
 * Layers (internal.h): async.c and scratchpad.c call this file; it calls
 * only index.c, never async.c or scratchpad.c.
 */
#include "aml/src/scratchpad/slots.h"

#include <stdbool.h>
#include <stddef.h>

#include <aml/dma.h>
#include <aml/error.h>
#include <aml/layout.h>
#include <aml/scratchpad.h>
#include <aml/tiling.h>

#include "aml/src/scratchpad/index.h"
#include "aml/src/scratchpad/internal.h"

/* ---- Checks ---- */

bool aml_scratchpad_is_ready(const struct aml_scratchpad *sp)
{
	return sp != NULL && sp->ready;
}

/* Common checks of the functions that take a pinned slot; lock held. */
int aml_scratchpad_check_pinned(const struct aml_scratchpad *sp, size_t slot)
{
	if (slot >= sp->nslots)
		return AML_EDOM;
	const struct aml_scratchpad_slot *s = &sp->slots[slot];
	if (s->pins == 0)
		return AML_EPERM;
	if (!s->has_tile)
		return AML_EINVAL;
	return 0;
}

int aml_scratchpad_check_pull(const struct aml_scratchpad *sp,
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

/* ---- Layouts and copies ---- */

void *aml_scratchpad_slot_addr(const struct aml_scratchpad *sp, size_t slot)
{
	return sp->scratch + slot * sp->slot_stride;
}

/* The tile as a strided view of the source, and the same shape dense over
 * the slot: the two ends of every copy. */
int aml_scratchpad_layouts(const struct aml_scratchpad *sp,
                           size_t slot,
                           size_t tile,
                           struct aml_layout *slot_layout,
                           struct aml_layout *tile_layout)
{
	int err = aml_tiling_tile_layout(sp->tiling, tile, tile_layout);
	if (err != 0)
		return err;
	err = aml_layout_init(slot_layout, aml_scratchpad_slot_addr(sp, slot),
	                      tile_layout->order, tile_layout->element_size,
	                      tile_layout->ndims, tile_layout->dims, NULL);
	if (err != 0)
		return err;
	/* Tile 0 is the largest tile of a tiling; a tiling breaking that
	 * would overrun the slot. */
	if (aml_layout_bytes(slot_layout) > sp->slot_bytes)
		return AML_FAILURE;
	return 0;
}

/* Synchronous copy between slot and tile, counted. */
int aml_scratchpad_copy(struct aml_scratchpad *sp,
                        size_t slot,
                        size_t tile,
                        enum aml_scratchpad_copy kind)
{
	struct aml_layout sl, tl;
	int err = aml_scratchpad_layouts(sp, slot, tile, &sl, &tl);
	if (err != 0)
		return err;
	if (kind == AML_SCRATCHPAD_TO_SLOT)
		err = aml_dma_copy(sp->dma, &sl, &tl);
	else
		err = aml_dma_copy(sp->dma, &tl, &sl);
	if (err != 0)
		return err;
	sp->stats.copies++;
	if (kind == AML_SCRATCHPAD_TO_SLOT)
		sp->stats.bytes_pulled += aml_layout_bytes(&sl);
	else
		sp->stats.bytes_pushed += aml_layout_bytes(&sl);
	return 0;
}

/* ---- Transitions ---- */

/*
 * Take the least recently used evictable slot for @tile: write back its
 * tile if dirty, forget it, and index the slot under @tile. The slot leaves
 * the LRU list; the caller pins it or puts it back. On error nothing
 * changed.
 */
int aml_scratchpad_claim(struct aml_scratchpad *sp, size_t tile, size_t *out)
{
	size_t v = sp->lru_head;
	if (v == AML_SCRATCHPAD_NONE)
		return AML_EBUSY;
	struct aml_scratchpad_slot *s = &sp->slots[v];
	if (s->has_tile && s->dirty) {
		int err = aml_scratchpad_copy(sp, v, s->tile,
		                              AML_SCRATCHPAD_TO_TILE);
		if (err != 0)
			return err;
		sp->stats.writebacks++;
		s->dirty = false;
	}
	if (s->has_tile) {
		aml_scratchpad_hash_remove(sp, v);
		sp->stats.evictions++;
	}
	aml_scratchpad_lru_remove(sp, v);
	s->tile = tile;
	s->has_tile = true;
	s->dirty = false;
	aml_scratchpad_hash_insert(sp, v);
	*out = v;
	return 0;
}

/* Undo a claim whose load could not start: the slot is empty and first in
 * line again. */
void aml_scratchpad_unclaim(struct aml_scratchpad *sp, size_t slot)
{
	aml_scratchpad_hash_remove(sp, slot);
	sp->slots[slot].has_tile = false;
	aml_scratchpad_lru_add(sp, slot);
}

/* Pinned slots are not evictable. */
void aml_scratchpad_pin(struct aml_scratchpad *sp, size_t slot)
{
	aml_scratchpad_lru_remove(sp, slot);
	sp->slots[slot].pins++;
}

/* The last pin makes the slot evictable again, unless a copy is in
 * flight. */
void aml_scratchpad_unpin(struct aml_scratchpad *sp, size_t slot)
{
	sp->slots[slot].pins--;
	aml_scratchpad_lru_add(sp, slot);
}

void aml_scratchpad_count_hit(struct aml_scratchpad *sp,
                              size_t slot,
                              unsigned flags)
{
	if (flags & (AML_SCRATCHPAD_DIRTY | AML_SCRATCHPAD_OVERWRITE))
		sp->slots[slot].dirty = true;
	sp->stats.pulls++;
	sp->stats.hits++;
}

void aml_scratchpad_count_miss(struct aml_scratchpad *sp,
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
