/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scratchpad (aml/scratchpad.h): tiles of a slow array cached in slots
 * of a fast area, copied by a dma engine, evicted in LRU order.
 *
 * Four files share the state of internal.h, in layers whose calls go down
 * only: this one (lifecycle, synchronous pull and push, queries, fork()) on
 * top calls async.c (copies in flight, requests, the asynchronous
 * variants), which calls slots.c (checks, layouts and synchronous copies,
 * slot transitions), which calls index.c (the table and the LRU list). No
 * file below calls this one.
 *
 * State, all guarded by sp->lock:
 * - slots[i]: the tile it holds (has_tile), its user pins, its dirty bit, and
 *   the copy in flight to or from it (xfer, at most one at a time).
 * - hash: tile -> slot for every slot with has_tile. Up to 2^16 tiles, an
 *   array indexed by tile (direct: one load finds a tile, one store indexes
 *   or forgets one); beyond, where the array would cost more memory per
 *   tile, open addressing with linear probing at load <= 1/2, so that a
 *   hit is O(1) whatever the number of tiles (a scan would be O(nslots)
 *   per pull).
 * - the LRU list, doubly linked through the slots by index: exactly the
 *   slots with no pin and no copy in flight, i.e. the evictable ones. Empty
 *   slots go to the head, released ones to the tail, and the victim is the
 *   head, so empty slots are used before any tile is evicted.
 * - state->live: every copy (one in flight, or done and not yet waited by
 *   all its handles), so that fini can complete and free them.
 * - state->tickets: the request handles given out (aml/src/handle.h).
 *
 * A copy is shared by every handle on it: an asynchronous pull that hits a
 * tile whose load is in flight gets a ticket on the same copy (nrefs
 * counts the handles), and a synchronous pull that hits it joins it for
 * the time of its wait. The first waiter takes the dma request and waits
 * without the lock (state WAITING); the others sleep on sp->done until the
 * first has completed the copy (state DONE). A copy outlives its end until
 * its last handle is waited, so a handle stays valid whatever happens to
 * the slot meanwhile; waiting a handle frees its ticket, so the handle is
 * good for one wait.
 *
 * Synchronous copies (pull misses, pushes, write-backs of victims) run with
 * the lock held: it keeps a victim's write-back ordered before any reload
 * of its tile by another thread, at the price of serialising misses across
 * threads (documented in the header).
 *
 * fork() (aml/src/fork.h): prepare takes the lock, so the child's copy is
 * consistent; the child makes the lock and condition variable new. A copy
 * a thread was waiting for without the lock (WAITING) has lost its waiter
 * (REDO). Its dma request stays in the copy's record, and is valid in the
 * child (aml/dma.h): the child's next waiter waits for it, so that no copy
 * is left in the engine to land later in a slot or tile reused by then,
 * and copies again only if that request had ended already (async.c). Pins
 * of threads that are gone stay.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/device.h>
#include <aml/dma.h>
#include <aml/error.h>
#include <aml/layout.h>
#include <aml/scratchpad.h>
#include <aml/tiling.h>

#include "aml/src/dma/seq_internal.h"
#include "aml/src/scratchpad/async.h"
#include "aml/src/scratchpad/index.h"
#include "aml/src/scratchpad/internal.h"
#include "aml/src/scratchpad/slots.h"

/* ---- Pull ---- */

int aml_scratchpad_pull(struct aml_scratchpad *sp,
                        size_t tile,
                        unsigned flags,
                        size_t *slot)
{
	int err = aml_scratchpad_check_pull(sp, tile, flags, slot);
	if (err != 0)
		return err;
	pthread_mutex_lock(&sp->lock);
	size_t pos = aml_scratchpad_hash_find(sp, tile);
	if (pos != AML_SCRATCHPAD_NONE) {
		size_t v = sp->hash[pos] - 1;
		aml_scratchpad_pin(sp, v);
		struct aml_scratchpad_xfer *x = sp->slots[v].xfer;
		if (x != NULL && x->kind == AML_SCRATCHPAD_TO_SLOT) {
			/* Its load is in flight: join it. */
			x->nrefs++;
			err = aml_scratchpad_request_wait(sp, x);
		}
		if (err != 0)
			aml_scratchpad_unpin(sp, v);
		else
			aml_scratchpad_count_hit(sp, v, flags);
		pthread_mutex_unlock(&sp->lock);
		if (err == 0)
			*slot = v;
		return err;
	}
	size_t v;
	err = aml_scratchpad_miss(sp, tile, flags, &v);
	pthread_mutex_unlock(&sp->lock);
	if (err == 0)
		*slot = v;
	return err;
}

/* ---- Push, release, dirty, flush ---- */

int aml_scratchpad_push(struct aml_scratchpad *sp, size_t slot)
{
	if (!aml_scratchpad_is_ready(sp))
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	int err = aml_scratchpad_check_pinned(sp, slot);
	if (err == 0 && sp->slots[slot].xfer != NULL)
		err = AML_EBUSY;
	if (err != 0) {
		pthread_mutex_unlock(&sp->lock);
		return err;
	}
	err = aml_scratchpad_copy(sp, slot, sp->slots[slot].tile,
	                          AML_SCRATCHPAD_TO_TILE);
	/* A failed copy may have written part of the tile: only the slot
	 * holds the data now, and eviction must write it back. */
	sp->slots[slot].dirty = err != 0;
	if (err == 0)
		sp->stats.pushes++;
	pthread_mutex_unlock(&sp->lock);
	return err;
}

int aml_scratchpad_release(struct aml_scratchpad *sp, size_t slot)
{
	if (!aml_scratchpad_is_ready(sp))
		return AML_EINVAL;
	if (slot >= sp->nslots)
		return AML_EDOM;
	pthread_mutex_lock(&sp->lock);
	int err = AML_EPERM;
	if (sp->slots[slot].pins != 0) {
		aml_scratchpad_unpin(sp, slot);
		err = 0;
	}
	pthread_mutex_unlock(&sp->lock);
	return err;
}

int aml_scratchpad_mark_dirty(struct aml_scratchpad *sp, size_t slot)
{
	if (!aml_scratchpad_is_ready(sp))
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	int err = aml_scratchpad_check_pinned(sp, slot);
	if (err == 0)
		sp->slots[slot].dirty = true;
	pthread_mutex_unlock(&sp->lock);
	return err;
}

/* Write back every dirty slot with no copy in flight. Lock held (or no
 * other thread, in fini). */
static int scratchpad_flush_locked(struct aml_scratchpad *sp)
{
	int first = 0;
	for (size_t i = 0; i < sp->nslots; i++) {
		struct aml_scratchpad_slot *s = &sp->slots[i];
		if (!s->has_tile || !s->dirty || s->xfer != NULL)
			continue;
		int err = aml_scratchpad_copy(sp, i, s->tile,
		                              AML_SCRATCHPAD_TO_TILE);
		if (err != 0) {
			if (first == 0)
				first = err;
			continue;
		}
		s->dirty = false;
		sp->stats.writebacks++;
	}
	return first;
}

int aml_scratchpad_flush(struct aml_scratchpad *sp)
{
	if (!aml_scratchpad_is_ready(sp))
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	int err = scratchpad_flush_locked(sp);
	pthread_mutex_unlock(&sp->lock);
	return err;
}

/* ---- Queries ---- */

void *aml_scratchpad_slot_ptr(const struct aml_scratchpad *sp, size_t slot)
{
	if (!aml_scratchpad_is_ready(sp)) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	if (slot >= sp->nslots) {
		aml_errno = AML_EDOM;
		return NULL;
	}
	return aml_scratchpad_slot_addr(sp, slot);
}

/* The tile of an occupied slot, or an error; lock held. */
static int
scratchpad_tile_of(const struct aml_scratchpad *sp, size_t slot, size_t *tile)
{
	if (slot >= sp->nslots)
		return AML_EDOM;
	if (!sp->slots[slot].has_tile)
		return AML_EINVAL;
	*tile = sp->slots[slot].tile;
	return 0;
}

int aml_scratchpad_slot_layout(struct aml_scratchpad *sp,
                               size_t slot,
                               struct aml_layout *out)
{
	if (!aml_scratchpad_is_ready(sp) || out == NULL)
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	size_t tile;
	int err = scratchpad_tile_of(sp, slot, &tile);
	pthread_mutex_unlock(&sp->lock);
	if (err != 0)
		return err;
	struct aml_layout sl, tl;
	err = aml_scratchpad_layouts(sp, slot, tile, &sl, &tl);
	if (err == 0)
		*out = sl;
	return err;
}

int aml_scratchpad_slot_tile(struct aml_scratchpad *sp,
                             size_t slot,
                             size_t *out)
{
	if (!aml_scratchpad_is_ready(sp) || out == NULL)
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	int err = scratchpad_tile_of(sp, slot, out);
	pthread_mutex_unlock(&sp->lock);
	return err;
}

int aml_scratchpad_stats(struct aml_scratchpad *sp,
                         struct aml_scratchpad_stats *out)
{
	if (!aml_scratchpad_is_ready(sp) || out == NULL)
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	*out = sp->stats;
	pthread_mutex_unlock(&sp->lock);
	return 0;
}

size_t aml_scratchpad_nslots(const struct aml_scratchpad *sp)
{
	if (!aml_scratchpad_is_ready(sp)) {
		aml_errno = AML_EINVAL;
		return 0;
	}
	return sp->nslots;
}

/* ---- fork() ---- */

static struct aml_scratchpad *scratchpad_forked(struct aml_fork_hook *hook)
{
	return AML_FORK_OBJECT(hook, struct aml_scratchpad_state, fork)->owner;
}

static void scratchpad_fork_child(struct aml_fork_hook *hook)
{
	struct aml_scratchpad *sp = scratchpad_forked(hook);
	aml_fork_mutex_child(hook);
	pthread_cond_init(&sp->done, NULL);
	for (struct aml_scratchpad_xfer *x = sp->state->live; x != NULL;
	     x = x->next)
		if (x->state == AML_SCRATCHPAD_WAITING)
			x->state = AML_SCRATCHPAD_REDO;
}

static const struct aml_fork_ops scratchpad_fork_ops = {
        .level = AML_FORK_SCRATCHPAD,
        .prepare = aml_fork_mutex_prepare,
        .parent = aml_fork_mutex_parent,
        .child = scratchpad_fork_child,
};

/* ---- Lifecycle ---- */

/* Slot geometry from the tiling: dense bytes of tile 0 (the largest),
 * aligned stride, total. AML_EINVAL on overflow. */
static int scratchpad_geometry(const struct aml_tiling *tiling,
                               size_t nslots,
                               size_t *slot_bytes,
                               size_t *stride,
                               size_t *total)
{
	struct aml_layout tl;
	int err = aml_tiling_tile_layout(tiling, 0, &tl);
	if (err != 0)
		return err;
	if (aml_layout_base(&tl) == NULL)
		return AML_EINVAL; /* shape only: nothing to copy from */
	size_t bytes = tl.element_size;
	for (size_t d = 0; d < tl.ndims; d++)
		if (__builtin_mul_overflow(bytes, tl.dims[d], &bytes))
			return AML_EINVAL;
	size_t a = AML_SCRATCHPAD_SLOT_ALIGN;
	if (bytes > SIZE_MAX - (a - 1))
		return AML_EINVAL;
	*slot_bytes = bytes;
	*stride = (bytes + a - 1) / a * a;
	if (__builtin_mul_overflow(*stride, nslots, total))
		return AML_EINVAL;
	/* The area rounds up to pages: refuse here what it would refuse,
	 * before allocating the bookkeeping. */
	if (*total > SIZE_MAX - (aml_page_size() - 1))
		return AML_EINVAL;
	return 0;
}

int aml_scratchpad_init(struct aml_scratchpad *sp,
                        const struct aml_tiling *tiling,
                        const struct aml_area *area,
                        struct aml_dma *dma,
                        size_t nslots)
{
	/* Storage that holds a live scratchpad is left to it
	 * (aml/src/fork.h). */
	if (sp == NULL || aml_fork_registered(AML_FORK_SCRATCHPAD, sp))
		return AML_EINVAL;
	sp->ready = 0;
	if (tiling == NULL || area == NULL || dma == NULL || nslots == 0)
		return AML_EINVAL;
	size_t ntiles = aml_tiling_ntiles(tiling);
	if (ntiles == 0)
		return AML_EINVAL;
	size_t slot_bytes, stride, total;
	int err = scratchpad_geometry(tiling, nslots, &slot_bytes, &stride,
	                              &total);
	if (err != 0)
		return err;
	size_t mask;
	size_t cap = aml_scratchpad_index_size(ntiles, nslots, &mask);
	/* Slots first: a device too small for them is the likely failure,
	 * and costs no bookkeeping allocation sized by nslots. */
	char *scratch = aml_area_mmap(area, total, NULL);
	if (scratch == NULL)
		return aml_errno != 0 ? aml_errno : AML_ENOMEM;
	struct aml_scratchpad_slot *slots = calloc(nslots, sizeof(*slots));
	size_t *hash = calloc(cap, sizeof(*hash));
	struct aml_scratchpad_state *state = calloc(1, sizeof(*state));
	if (slots == NULL || hash == NULL || state == NULL) {
		err = AML_ENOMEM;
		goto err_meta;
	}
	aml_handle_pool_init(&state->tickets,
	                     sizeof(struct aml_scratchpad_ticket));
	*sp = (struct aml_scratchpad){
	        .tiling = tiling,
	        .area = area,
	        .dma = dma,
	        .ntiles = ntiles,
	        .nslots = nslots,
	        .slot_bytes = slot_bytes,
	        .slot_stride = stride,
	        .scratch = scratch,
	        .scratch_bytes = total,
	        .slots = slots,
	        .hash = hash,
	        .hash_mask = mask,
	        .state = state,
	        .lru_head = AML_SCRATCHPAD_NONE,
	        .lru_tail = AML_SCRATCHPAD_NONE,
	};
	/* Only a lack of resources can fail default ones. */
	if (pthread_mutex_init(&sp->lock, NULL) != 0) {
		err = AML_ENOMEM;
		goto err_map;
	}
	if (pthread_cond_init(&sp->done, NULL) != 0) {
		err = AML_ENOMEM;
		goto err_lock;
	}
	for (size_t i = 0; i < nslots; i++) {
		slots[i].prev = slots[i].next = AML_SCRATCHPAD_NONE;
		slots[i].hpos = AML_SCRATCHPAD_NONE;
		aml_scratchpad_lru_add(sp, i);
	}
	state->copier = aml_dma_seq_copier(dma);
	aml_scratchpad_plan_full(sp);
	state->owner = sp;
	aml_fork_register_object(&state->fork, &scratchpad_fork_ops, sp,
	                         &sp->lock);
	sp->ready = 1;
	return 0;

err_lock:
	pthread_mutex_destroy(&sp->lock);
err_map:
	sp->ready = 0;
err_meta:
	free(state);
	free(hash);
	free(slots);
	aml_area_munmap(area, scratch, total);
	return err;
}

void aml_scratchpad_fini(struct aml_scratchpad *sp)
{
	if (!aml_scratchpad_is_ready(sp))
		return;
	struct aml_scratchpad_state *st = sp->state;
	aml_fork_unregister(&st->fork);
	pthread_mutex_lock(&sp->lock);
	/* Complete every copy, so none writes into unmapped slots. */
	for (struct aml_scratchpad_xfer *x = st->live; x != NULL; x = x->next)
		aml_scratchpad_settle(sp, x);
	scratchpad_flush_locked(sp);
	while (st->live != NULL) {
		struct aml_scratchpad_xfer *x = st->live;
		st->live = x->next;
		free(x);
	}
	aml_handle_pool_fini(&st->tickets);
	pthread_mutex_unlock(&sp->lock);
	aml_area_munmap(sp->area, sp->scratch, sp->scratch_bytes);
	free(sp->hash);
	free(sp->slots);
	free(st->full.tile_addr);
	free(st);
	pthread_cond_destroy(&sp->done);
	pthread_mutex_destroy(&sp->lock);
	sp->scratch = NULL;
	sp->state = NULL;
	sp->hash = NULL;
	sp->slots = NULL;
	sp->ready = 0;
}

int aml_scratchpad_create(struct aml_scratchpad **out,
                          const struct aml_tiling *tiling,
                          const struct aml_area *area,
                          struct aml_dma *dma,
                          size_t nslots)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_scratchpad *sp = malloc(sizeof(*sp));
	if (sp == NULL)
		return AML_ENOMEM;
	int err = aml_scratchpad_init(sp, tiling, area, dma, nslots);
	if (err != 0) {
		free(sp);
		return err;
	}
	*out = sp;
	return 0;
}

void aml_scratchpad_destroy(struct aml_scratchpad **sp)
{
	if (sp == NULL || *sp == NULL)
		return;
	aml_scratchpad_fini(*sp);
	free(*sp);
	*sp = NULL;
}