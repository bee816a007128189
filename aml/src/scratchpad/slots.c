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
#include <stdlib.h>
#include <string.h>

#include <aml/copier.h>
#include <aml/dma.h>
#include <aml/dma/plan.h>
#include <aml/error.h>
#include <aml/layout.h>
#include <aml/scratchpad.h>
#include <aml/tiling.h>
#include <aml/tiling/nd.h>

#include "aml/src/dma/plan_rows.h"
#include "aml/src/dma/seq_internal.h"
#include "aml/src/scratchpad/index.h"
#include "aml/src/scratchpad/internal.h"

/* ---- Checks ---- */

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

/* Whether tile layout @p tl has the shape the full-tile plans were made
 * for: then they copy it, at its address. */
static bool scratchpad_is_full(const struct aml_scratchpad_template *full,
                               const struct aml_layout *tl)
{
	if (!full->ready || tl->element_size != full->element_size ||
	    tl->ndims != full->ndims)
		return false;
	for (size_t d = 0; d < tl->ndims; d++) {
		if (tl->dims[d] != full->dims[d] ||
		    tl->strides[d] != full->strides[d])
			return false;
	}
	return true;
}

void aml_scratchpad_plan_full(struct aml_scratchpad *sp)
{
	struct aml_scratchpad_template *full = &sp->state->full;
	struct aml_layout sl, tl;
	full->ready = false;
	if (aml_scratchpad_layouts(sp, 0, 0, &sl, &tl) != 0 ||
	    aml_dma_plan_layouts(&full->plan[AML_SCRATCHPAD_TO_SLOT], &sl,
	                         &tl) != 0 ||
	    aml_dma_plan_layouts(&full->plan[AML_SCRATCHPAD_TO_TILE], &tl,
	                         &sl) != 0)
		return;
	full->element_size = tl.element_size;
	full->ndims = tl.ndims;
	memcpy(full->dims, tl.dims, sizeof(full->dims));
	memcpy(full->strides, tl.strides, sizeof(full->strides));
	full->ready = true;
	full->uniform =
	        aml_tiling_is_nd(sp->tiling) &&
	        aml_tiling_tile_layout(sp->tiling, sp->ntiles - 1, &tl) == 0 &&
	        scratchpad_is_full(full, &tl);
	const struct aml_copier *copier = sp->state->copier;
	full->direct = full->uniform && copier != NULL &&
	               copier->ops == aml_copier_memcpy.ops &&
	               full->plan[AML_SCRATCHPAD_TO_SLOT].nouter <= 1 &&
	               full->plan[AML_SCRATCHPAD_TO_TILE].nouter <= 1;
	full->tile_addr = NULL;
	if (!full->direct || sp->ntiles > AML_SCRATCHPAD_DIRECT_MAX)
		return;
	char **addr = malloc(sp->ntiles * sizeof(*addr));
	if (addr == NULL)
		return; /* misses call tile_ptr */
	for (size_t t = 0; t < sp->ntiles; t++) {
		addr[t] = aml_tiling_tile_ptr(sp->tiling, t);
		if (addr[t] == NULL) {
			free(addr);
			return;
		}
	}
	full->tile_addr = addr;
}

/*
 * The rows of a full-tile copy between slot @slot and tile @tile, copied
 * here with the rows aml_dma_plan_copy() copies for the memcpy copier
 * (aml_dma_plan_copy_rows()), without setting the plan's addresses,
 * calling through, and checking again a plan init made. The miss of a small
 * tile pays that bookkeeping on every pull. Forced inline, as
 * scratchpad_copy().
 */
static inline __attribute__((always_inline)) int
scratchpad_copy_direct(struct aml_scratchpad *sp,
                       size_t slot,
                       size_t tile,
                       enum aml_scratchpad_copy kind)
{
	const struct aml_scratchpad_template *full = &sp->state->full;
	char *tile_addr = full->tile_addr != NULL
	                          ? full->tile_addr[tile]
	                          : aml_tiling_tile_ptr(sp->tiling, tile);
	if (tile_addr == NULL)
		return aml_errno;
	char *slot_addr = aml_scratchpad_slot_addr(sp, slot);
	const struct aml_dma_plan *plan = &full->plan[kind];
	char *dst = kind == AML_SCRATCHPAD_TO_SLOT ? slot_addr : tile_addr;
	const char *src =
	        kind == AML_SCRATCHPAD_TO_SLOT ? tile_addr : slot_addr;
	aml_dma_plan_copy_rows(plan, dst, src, 0,
	                       plan->nouter == 0 ? 1 : plan->dims[0]);
	return 0;
}

/*
 * The plan of the copy between slot @slot and tile @tile, in *out: the
 * full-tile plan itself, its two addresses set (not a copy: the struct is
 * some 230 bytes, copied on every miss; the lock makes it ours), else one
 * planned from the layouts into @scratch.
 */
static int scratchpad_plan(struct aml_scratchpad *sp,
                           size_t slot,
                           size_t tile,
                           enum aml_scratchpad_copy kind,
                           struct aml_dma_plan *scratch,
                           const struct aml_dma_plan **out)
{
	struct aml_scratchpad_template *full = &sp->state->full;
	char *slot_addr = aml_scratchpad_slot_addr(sp, slot);
	char *tile_addr = NULL;
	struct aml_layout tl;
	if (full->uniform) {
		tile_addr = aml_tiling_tile_ptr(sp->tiling, tile);
		if (tile_addr == NULL)
			return aml_errno;
	} else {
		int err = aml_tiling_tile_layout(sp->tiling, tile, &tl);
		if (err != 0)
			return err;
		if (scratchpad_is_full(full, &tl))
			tile_addr = aml_layout_base(&tl);
	}
	if (tile_addr != NULL) {
		/* The slots are the scratchpad's own mapping: no tile of the
		 * array overlaps them, as init's plans checked for tile 0. */
		struct aml_dma_plan *plan = &full->plan[kind];
		plan->dst =
		        kind == AML_SCRATCHPAD_TO_SLOT ? slot_addr : tile_addr;
		plan->src =
		        kind == AML_SCRATCHPAD_TO_SLOT ? tile_addr : slot_addr;
		*out = plan;
		return 0;
	}
	struct aml_layout sl;
	int err = aml_layout_init(&sl, slot_addr, tl.order, tl.element_size,
	                          tl.ndims, tl.dims, NULL);
	if (err != 0)
		return err;
	/* Tile 0 is the largest tile of a tiling; a tiling breaking that
	 * would overrun the slot. */
	if (aml_layout_bytes(&sl) > sp->slot_bytes)
		return AML_FAILURE;
	*out = scratch;
	if (kind == AML_SCRATCHPAD_TO_SLOT)
		return aml_dma_plan_layouts(scratch, &sl, &tl);
	return aml_dma_plan_layouts(scratch, &tl, &sl);
}

int aml_scratchpad_submit(struct aml_scratchpad *sp,
                          size_t slot,
                          size_t tile,
                          enum aml_scratchpad_copy kind,
                          struct aml_dma_request **out,
                          size_t *bytes)
{
	struct aml_dma_plan scratch;
	const struct aml_dma_plan *plan;
	int err = scratchpad_plan(sp, slot, tile, kind, &scratch, &plan);
	if (err != 0)
		return err;
	*bytes = plan->bytes;
	return sp->dma->ops->submit(sp->dma, out, plan);
}

static void scratchpad_count_copy(struct aml_scratchpad *sp,
                                  enum aml_scratchpad_copy kind,
                                  size_t bytes)
{
	sp->stats.copies++;
	if (kind == AML_SCRATCHPAD_TO_SLOT)
		sp->stats.bytes_pulled += bytes;
	else
		sp->stats.bytes_pushed += bytes;
}

/* A synchronous copy through the engine or its copier: the path of every
 * copy but a full tile's on a memcpy seq engine. Out of line, so that the
 * inline fast path below stays small. */
static int __attribute__((noinline))
scratchpad_copy_planned(struct aml_scratchpad *sp,
                        size_t slot,
                        size_t tile,
                        enum aml_scratchpad_copy kind)
{
	struct aml_dma_plan scratch;
	const struct aml_dma_plan *plan;
	int err = scratchpad_plan(sp, slot, tile, kind, &scratch, &plan);
	if (err != 0)
		return err;
	const struct aml_copier *copier = sp->state->copier;
	if (copier != NULL) {
		/* A seq engine: its submit would run this very copy here,
		 * then its wait only free the request (seq_internal.h). */
		err = aml_dma_plan_copy(plan, 0, plan->bytes, copier);
	} else {
		struct aml_dma_request *request;
		err = sp->dma->ops->submit(sp->dma, &request, plan);
		if (err == 0)
			err = aml_dma_wait(sp->dma, &request);
	}
	if (err == 0)
		scratchpad_count_copy(sp, kind, plan->bytes);
	return err;
}

/* Synchronous copy between slot and tile, counted. Forced inline into a
 * miss (aml_scratchpad_miss()): GCC leaves a static function called from
 * two places out of line, and the calls were most of what a miss of a
 * small tile spent outside the copy and the locks. */
static inline __attribute__((always_inline)) int
scratchpad_copy(struct aml_scratchpad *sp,
                size_t slot,
                size_t tile,
                enum aml_scratchpad_copy kind)
{
	struct aml_scratchpad_template *full = &sp->state->full;
	if (!full->direct)
		return scratchpad_copy_planned(sp, slot, tile, kind);
	int err = scratchpad_copy_direct(sp, slot, tile, kind);
	if (err == 0)
		scratchpad_count_copy(sp, kind, full->plan[kind].bytes);
	return err;
}

int aml_scratchpad_copy(struct aml_scratchpad *sp,
                        size_t slot,
                        size_t tile,
                        enum aml_scratchpad_copy kind)
{
	return scratchpad_copy(sp, slot, tile, kind);
}

/* ---- Transitions ---- */

/*
 * Take the least recently used evictable slot for @tile: write back its
 * tile if dirty, forget it, and index the slot under @tile. The slot leaves
 * the LRU list; the caller pins it or puts it back. On error nothing
 * changed. @direct: the table's form (aml_scratchpad_index_direct()).
 */
static inline __attribute__((always_inline)) int scratchpad_claim(
        struct aml_scratchpad *sp, size_t tile, size_t *out, bool direct)
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
		aml_scratchpad_hash_remove_as(sp, v, direct);
		sp->stats.evictions++;
	}
	aml_scratchpad_lru_remove(sp, v);
	s->tile = tile;
	s->has_tile = true;
	s->dirty = false;
	aml_scratchpad_hash_insert_as(sp, v, direct);
	*out = v;
	return 0;
}

int aml_scratchpad_claim(struct aml_scratchpad *sp, size_t tile, size_t *out)
{
	return scratchpad_claim(sp, tile, out, aml_scratchpad_index_direct(sp));
}

/* Undo a claim whose load could not start: the slot is empty and first in
 * line again. */
void aml_scratchpad_unclaim(struct aml_scratchpad *sp, size_t slot)
{
	aml_scratchpad_hash_remove(sp, slot);
	sp->slots[slot].has_tile = false;
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

/* The claim, the load and the count of a synchronous miss in one
 * function, each inline (the victim's write-back and the planned copies
 * stay out of line), for a table of form @p direct. */
static inline __attribute__((always_inline)) int
scratchpad_miss(struct aml_scratchpad *sp,
                size_t tile,
                unsigned flags,
                size_t *out,
                bool direct)
{
	size_t v;
	int err = scratchpad_claim(sp, tile, &v, direct);
	if (err != 0)
		return err;
	if (!(flags & AML_SCRATCHPAD_OVERWRITE)) {
		err = scratchpad_copy(sp, v, tile, AML_SCRATCHPAD_TO_SLOT);
		if (err != 0) {
			aml_scratchpad_unclaim(sp, v);
			return err;
		}
	}
	aml_scratchpad_count_miss(sp, v, flags);
	*out = v;
	return 0;
}

/* One miss per form of the table, each compiled for its own: with the
 * direct table's stores and the hash table's calls in one function, GCC
 * kept the miss's values in registers the calls clobber, and a miss of a
 * 16 B tile (hashed) spilled and reloaded them around each call (135 ->
 * 161 instructions). Out of line, so that the dispatch below is two tail
 * calls, with no frame set up before it. */
static int __attribute__((noinline)) scratchpad_miss_hashed(
        struct aml_scratchpad *sp, size_t tile, unsigned flags, size_t *out)
{
	return scratchpad_miss(sp, tile, flags, out, false);
}

static int __attribute__((noinline)) scratchpad_miss_direct(
        struct aml_scratchpad *sp, size_t tile, unsigned flags, size_t *out)
{
	return scratchpad_miss(sp, tile, flags, out, true);
}

int aml_scratchpad_miss(struct aml_scratchpad *sp,
                        size_t tile,
                        unsigned flags,
                        size_t *out)
{
	if (aml_scratchpad_index_direct(sp))
		return scratchpad_miss_direct(sp, tile, flags, out);
	return scratchpad_miss_hashed(sp, tile, flags, out);
}
