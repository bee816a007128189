/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scratchpad (aml/scratchpad.h): tiles of a slow array cached in slots
 * of a fast area, copied by a dma engine, evicted in LRU order.
 *
 * State, all guarded by sp->lock:
 * - slots[i]: the tile it holds (has_tile), its user pins, its dirty bit, and
 *   the copy in flight to or from it (xfer, at most one at a time).
 * - hash: tile -> slot for every slot with has_tile, open addressing with
 *   linear probing at load <= 1/2, so a hit is O(1) whatever the number of
 *   tiles (an array indexed by tile would cost memory per tile, and a scan
 *   O(nslots) per pull).
 * - the LRU list, doubly linked through the slots by index: exactly the
 *   slots with no pin and no copy in flight, i.e. the evictable ones. Empty
 *   slots go to the head, released ones to the tail, and the victim is the
 *   head, so empty slots are used before any tile is evicted.
 * - live: every request (one copy in flight, or done and not yet waited by
 *   all its handles), so that fini can complete and free them.
 *
 * A request is shared by every handle on one copy: an asynchronous pull
 * that hits a tile whose load is in flight gets the same request (nrefs
 * counts the handles), and a synchronous pull that hits it joins it for the
 * time of its wait. The first waiter takes the dma request and waits
 * without the lock (state WAITING); the others sleep on sp->done until the
 * first has completed the copy (state DONE). A request outlives its copy
 * until its last handle is waited, so a handle stays valid whatever happens
 * to the slot meanwhile.
 *
 * Synchronous copies (pull misses, pushes, write-backs of victims) run with
 * the lock held: it keeps a victim's write-back ordered before any reload
 * of its tile by another thread, at the price of serialising misses across
 * threads (documented in the header).
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

/* No slot: the end of the LRU list. */
#define SP_NONE SIZE_MAX

enum sp_kind { SP_PULL, SP_PUSH };

enum sp_state {
	/* The dma request is in dma, waiting for a waiter. */
	SP_IN_FLIGHT,
	/* A waiter took dma and waits for it without the lock. */
	SP_WAITING,
	/* The copy is over; err says how it went. */
	SP_DONE,
};

struct aml_scratchpad_slot {
	/* Valid when has_tile. */
	size_t tile;
	bool has_tile;
	/* Written by the user since the last copy back to the tile. */
	bool dirty;
	/* On the LRU list (pins == 0 and xfer == NULL). */
	bool in_lru;
	/* User pins: pulls not yet released. */
	size_t pins;
	/* The copy in flight to or from this slot, or NULL. */
	struct aml_scratchpad_request *xfer;
	/* LRU links, SP_NONE at the ends. */
	size_t prev;
	size_t next;
};

struct aml_scratchpad_request {
	struct aml_scratchpad *owner;
	/* Links of owner->live. */
	struct aml_scratchpad_request *prev;
	struct aml_scratchpad_request *next;
	/* The dma's request while SP_IN_FLIGHT, then NULL. */
	struct aml_dma_request *dma;
	size_t slot;
	enum sp_kind kind;
	enum sp_state state;
	/* Result of the copy, once SP_DONE. */
	int err;
	/* Handles on this request not yet waited. */
	size_t nrefs;
};

/* The request of a pull that hit a loaded tile: already complete, never
 * written, shared by every scratchpad. */
static struct aml_scratchpad_request scratchpad_done;

/* ---- Tile to slot index ---- */

static size_t scratchpad_home(const struct aml_scratchpad *sp, size_t tile)
{
	/* Fibonacci hashing: consecutive tiles spread over the table. */
	return (size_t)(((uint64_t)tile * 0x9E3779B97F4A7C15ull) >> 17) &
	       sp->hash_mask;
}

/* Position of @tile in the table, or SP_NONE. */
static size_t scratchpad_find_pos(const struct aml_scratchpad *sp, size_t tile)
{
	for (size_t i = scratchpad_home(sp, tile);;
	     i = (i + 1) & sp->hash_mask) {
		size_t e = sp->hash[i];
		if (e == 0)
			return SP_NONE;
		if (sp->slots[e - 1].tile == tile)
			return i;
	}
}

static void scratchpad_hash_insert(struct aml_scratchpad *sp, size_t slot)
{
	size_t i = scratchpad_home(sp, sp->slots[slot].tile);
	while (sp->hash[i] != 0)
		i = (i + 1) & sp->hash_mask;
	sp->hash[i] = slot + 1;
}

/* Remove the slot's tile; backward-shift deletion keeps every entry
 * reachable from its home without tombstones. */
static void scratchpad_hash_remove(struct aml_scratchpad *sp, size_t slot)
{
	size_t i = scratchpad_find_pos(sp, sp->slots[slot].tile);
	if (i == SP_NONE)
		return;
	sp->hash[i] = 0;
	for (size_t j = (i + 1) & sp->hash_mask; sp->hash[j] != 0;
	     j = (j + 1) & sp->hash_mask) {
		size_t k = scratchpad_home(sp, sp->slots[sp->hash[j] - 1].tile);
		/* Entry j may move to the hole i unless its home lies in
		 * (i, j] cyclically. */
		bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		sp->hash[i] = sp->hash[j];
		sp->hash[j] = 0;
		i = j;
	}
}

/* ---- LRU list ---- */

static void scratchpad_lru_remove(struct aml_scratchpad *sp, size_t slot)
{
	struct aml_scratchpad_slot *s = &sp->slots[slot];
	if (!s->in_lru)
		return;
	if (s->prev != SP_NONE)
		sp->slots[s->prev].next = s->next;
	else
		sp->lru_head = s->next;
	if (s->next != SP_NONE)
		sp->slots[s->next].prev = s->prev;
	else
		sp->lru_tail = s->prev;
	s->prev = s->next = SP_NONE;
	s->in_lru = false;
}

/* Make an evictable slot evictable: empty ones first in line, others last
 * (most recently released). */
static void scratchpad_lru_add(struct aml_scratchpad *sp, size_t slot)
{
	struct aml_scratchpad_slot *s = &sp->slots[slot];
	if (s->in_lru || s->pins != 0 || s->xfer != NULL)
		return;
	s->in_lru = true;
	if (!s->has_tile) {
		s->prev = SP_NONE;
		s->next = sp->lru_head;
		if (sp->lru_head != SP_NONE)
			sp->slots[sp->lru_head].prev = slot;
		else
			sp->lru_tail = slot;
		sp->lru_head = slot;
		return;
	}
	s->next = SP_NONE;
	s->prev = sp->lru_tail;
	if (sp->lru_tail != SP_NONE)
		sp->slots[sp->lru_tail].next = slot;
	else
		sp->lru_head = slot;
	sp->lru_tail = slot;
}

/* ---- Layouts and copies ---- */

static void *scratchpad_slot_addr(const struct aml_scratchpad *sp, size_t slot)
{
	return sp->scratch + slot * sp->slot_stride;
}

/* The tile as a strided view of the source, and the same shape dense over
 * the slot: the two ends of every copy. */
static int scratchpad_layouts(const struct aml_scratchpad *sp,
                              size_t slot,
                              size_t tile,
                              struct aml_layout *slot_layout,
                              struct aml_layout *tile_layout)
{
	int err = aml_tiling_tile_layout(sp->tiling, tile, tile_layout);
	if (err != 0)
		return err;
	err = aml_layout_init(slot_layout, scratchpad_slot_addr(sp, slot),
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
static int scratchpad_copy(struct aml_scratchpad *sp,
                           size_t slot,
                           size_t tile,
                           enum sp_kind kind)
{
	struct aml_layout sl, tl;
	int err = scratchpad_layouts(sp, slot, tile, &sl, &tl);
	if (err != 0)
		return err;
	if (kind == SP_PULL)
		err = aml_dma_copy(sp->dma, &sl, &tl);
	else
		err = aml_dma_copy(sp->dma, &tl, &sl);
	if (err != 0)
		return err;
	sp->stats.copies++;
	if (kind == SP_PULL)
		sp->stats.bytes_pulled += aml_layout_bytes(&sl);
	else
		sp->stats.bytes_pushed += aml_layout_bytes(&sl);
	return 0;
}

/* ---- Requests ---- */

static struct aml_scratchpad_request *
scratchpad_request_new(struct aml_scratchpad *sp, size_t slot, enum sp_kind k)
{
	struct aml_scratchpad_request *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->owner = sp;
	x->slot = slot;
	x->kind = k;
	x->state = SP_IN_FLIGHT;
	x->nrefs = 1;
	return x;
}

static void scratchpad_request_link(struct aml_scratchpad *sp,
                                    struct aml_scratchpad_request *x)
{
	x->prev = NULL;
	x->next = sp->live;
	if (sp->live != NULL)
		sp->live->prev = x;
	sp->live = x;
}

static void scratchpad_request_put(struct aml_scratchpad *sp,
                                   struct aml_scratchpad_request *x)
{
	if (--x->nrefs != 0)
		return;
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		sp->live = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	free(x);
}

/* The copy of @x ended with @err: update its slot and wake the waiters. */
static void scratchpad_complete(struct aml_scratchpad *sp,
                                struct aml_scratchpad_request *x,
                                int err)
{
	struct aml_scratchpad_slot *s = &sp->slots[x->slot];
	s->xfer = NULL;
	x->state = SP_DONE;
	x->err = err;
	if (err != 0 && x->kind == SP_PULL) {
		/* The slot's content is garbage: forget the tile, so that no
		 * later pull hits it. Pins stay until released. */
		scratchpad_hash_remove(sp, x->slot);
		s->has_tile = false;
		s->dirty = false;
	} else if (err != 0) {
		s->dirty = true; /* the tile did not get the data */
	}
	scratchpad_lru_add(sp, x->slot);
	pthread_cond_broadcast(&sp->done);
}

/* Wait for @x and drop one handle on it. Called and returns with the lock
 * held; releases it while waiting for the dma. */
static int scratchpad_request_wait(struct aml_scratchpad *sp,
                                   struct aml_scratchpad_request *x)
{
	while (x->state != SP_DONE) {
		if (x->state == SP_WAITING) {
			pthread_cond_wait(&sp->done, &sp->lock);
			continue;
		}
		struct aml_dma_request *d = x->dma;
		x->dma = NULL;
		x->state = SP_WAITING;
		pthread_mutex_unlock(&sp->lock);
		int err = aml_dma_wait(sp->dma, &d);
		pthread_mutex_lock(&sp->lock);
		scratchpad_complete(sp, x, err);
	}
	int err = x->err;
	scratchpad_request_put(sp, x);
	return err;
}

/* ---- Slots ---- */

/* Drop a pin (after checks). */
static void scratchpad_unpin(struct aml_scratchpad *sp, size_t slot)
{
	sp->slots[slot].pins--;
	scratchpad_lru_add(sp, slot);
}

/*
 * Take the least recently used evictable slot for @tile: write back its
 * tile if dirty, forget it, and index the slot under @tile. The slot leaves
 * the LRU list; the caller pins it or puts it back. On error nothing
 * changed.
 */
static int scratchpad_claim(struct aml_scratchpad *sp, size_t tile, size_t *out)
{
	size_t v = sp->lru_head;
	if (v == SP_NONE)
		return AML_EBUSY;
	struct aml_scratchpad_slot *s = &sp->slots[v];
	if (s->has_tile && s->dirty) {
		int err = scratchpad_copy(sp, v, s->tile, SP_PUSH);
		if (err != 0)
			return err;
		sp->stats.writebacks++;
		s->dirty = false;
	}
	if (s->has_tile) {
		scratchpad_hash_remove(sp, v);
		sp->stats.evictions++;
	}
	scratchpad_lru_remove(sp, v);
	s->tile = tile;
	s->has_tile = true;
	s->dirty = false;
	scratchpad_hash_insert(sp, v);
	*out = v;
	return 0;
}

/* Undo a claim whose load could not start: the slot is empty and first in
 * line again. */
static void scratchpad_unclaim(struct aml_scratchpad *sp, size_t slot)
{
	scratchpad_hash_remove(sp, slot);
	sp->slots[slot].has_tile = false;
	scratchpad_lru_add(sp, slot);
}

static void
scratchpad_count_hit(struct aml_scratchpad *sp, size_t slot, unsigned flags)
{
	if (flags & AML_SCRATCHPAD_DIRTY)
		sp->slots[slot].dirty = true;
	sp->stats.pulls++;
	sp->stats.hits++;
}

static bool scratchpad_is_ready(const struct aml_scratchpad *sp)
{
	return sp != NULL && sp->ready;
}

/* Common checks of the functions that take a pinned slot; lock held. */
static int scratchpad_check_pinned(const struct aml_scratchpad *sp, size_t slot)
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

/* ---- Pull ---- */

static int scratchpad_check_pull(const struct aml_scratchpad *sp,
                                 size_t tile,
                                 unsigned flags,
                                 const size_t *slot)
{
	if (!scratchpad_is_ready(sp) || slot == NULL ||
	    (flags & ~AML_SCRATCHPAD_DIRTY) != 0)
		return AML_EINVAL;
	if (tile >= sp->ntiles)
		return AML_EDOM;
	return 0;
}

int aml_scratchpad_pull(struct aml_scratchpad *sp,
                        size_t tile,
                        unsigned flags,
                        size_t *slot)
{
	int err = scratchpad_check_pull(sp, tile, flags, slot);
	if (err != 0)
		return err;
	pthread_mutex_lock(&sp->lock);
	size_t pos = scratchpad_find_pos(sp, tile);
	if (pos != SP_NONE) {
		size_t v = sp->hash[pos] - 1;
		struct aml_scratchpad_slot *s = &sp->slots[v];
		scratchpad_lru_remove(sp, v);
		s->pins++;
		struct aml_scratchpad_request *x = s->xfer;
		if (x != NULL && x->kind == SP_PULL) {
			/* Its load is in flight: join it. */
			x->nrefs++;
			err = scratchpad_request_wait(sp, x);
		}
		if (err != 0)
			scratchpad_unpin(sp, v);
		else
			scratchpad_count_hit(sp, v, flags);
		pthread_mutex_unlock(&sp->lock);
		if (err == 0)
			*slot = v;
		return err;
	}
	size_t v;
	err = scratchpad_claim(sp, tile, &v);
	if (err == 0) {
		err = scratchpad_copy(sp, v, tile, SP_PULL);
		if (err != 0) {
			scratchpad_unclaim(sp, v);
		} else {
			sp->slots[v].pins = 1;
			sp->slots[v].dirty =
			        (flags & AML_SCRATCHPAD_DIRTY) != 0;
			sp->stats.pulls++;
			sp->stats.misses++;
		}
	}
	pthread_mutex_unlock(&sp->lock);
	if (err == 0)
		*slot = v;
	return err;
}

/* An asynchronous miss: claim a slot and submit its load. Lock held. */
static int scratchpad_async_load(struct aml_scratchpad *sp,
                                 size_t tile,
                                 unsigned flags,
                                 size_t *slot,
                                 struct aml_scratchpad_request **request)
{
	/* Allocate first: running out of memory then changes nothing. */
	struct aml_scratchpad_request *x =
	        scratchpad_request_new(sp, 0, SP_PULL);
	if (x == NULL)
		return AML_ENOMEM;
	size_t v;
	int err = scratchpad_claim(sp, tile, &v);
	if (err != 0) {
		free(x);
		return err;
	}
	struct aml_layout sl, tl;
	err = scratchpad_layouts(sp, v, tile, &sl, &tl);
	if (err == 0)
		err = aml_dma_async_copy(sp->dma, &x->dma, &sl, &tl);
	if (err != 0) {
		scratchpad_unclaim(sp, v);
		free(x);
		return err;
	}
	x->slot = v;
	scratchpad_request_link(sp, x);
	struct aml_scratchpad_slot *s = &sp->slots[v];
	s->xfer = x;
	s->pins = 1;
	s->dirty = (flags & AML_SCRATCHPAD_DIRTY) != 0;
	sp->stats.pulls++;
	sp->stats.misses++;
	sp->stats.copies++;
	sp->stats.bytes_pulled += aml_layout_bytes(&sl);
	*slot = v;
	*request = x;
	return 0;
}

int aml_scratchpad_async_pull(struct aml_scratchpad *sp,
                              size_t tile,
                              unsigned flags,
                              size_t *slot,
                              struct aml_scratchpad_request **request)
{
	if (request == NULL)
		return AML_EINVAL;
	*request = NULL;
	int err = scratchpad_check_pull(sp, tile, flags, slot);
	if (err != 0)
		return err;
	pthread_mutex_lock(&sp->lock);
	size_t pos = scratchpad_find_pos(sp, tile);
	if (pos == SP_NONE) {
		err = scratchpad_async_load(sp, tile, flags, slot, request);
		pthread_mutex_unlock(&sp->lock);
		return err;
	}
	size_t v = sp->hash[pos] - 1;
	struct aml_scratchpad_slot *s = &sp->slots[v];
	scratchpad_lru_remove(sp, v);
	s->pins++;
	scratchpad_count_hit(sp, v, flags);
	struct aml_scratchpad_request *x = s->xfer;
	if (x != NULL && x->kind == SP_PULL) {
		/* Load in flight: this pull completes with it. */
		x->nrefs++;
		*request = x;
	} else {
		*request = &scratchpad_done;
	}
	pthread_mutex_unlock(&sp->lock);
	*slot = v;
	return 0;
}

/* ---- Push, release, dirty, flush ---- */

int aml_scratchpad_push(struct aml_scratchpad *sp, size_t slot)
{
	if (!scratchpad_is_ready(sp))
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	int err = scratchpad_check_pinned(sp, slot);
	if (err == 0 && sp->slots[slot].xfer != NULL)
		err = AML_EBUSY;
	if (err == 0)
		err = scratchpad_copy(sp, slot, sp->slots[slot].tile, SP_PUSH);
	if (err == 0) {
		sp->slots[slot].dirty = false;
		sp->stats.pushes++;
	}
	pthread_mutex_unlock(&sp->lock);
	return err;
}

static int scratchpad_async_store(struct aml_scratchpad *sp,
                                  size_t slot,
                                  struct aml_scratchpad_request **request)
{
	struct aml_scratchpad_slot *s = &sp->slots[slot];
	if (s->xfer != NULL)
		return AML_EBUSY;
	struct aml_layout sl, tl;
	int err = scratchpad_layouts(sp, slot, s->tile, &sl, &tl);
	if (err != 0)
		return err;
	struct aml_scratchpad_request *x =
	        scratchpad_request_new(sp, slot, SP_PUSH);
	if (x == NULL)
		return AML_ENOMEM;
	err = aml_dma_async_copy(sp->dma, &x->dma, &tl, &sl);
	if (err != 0) {
		free(x);
		return err;
	}
	scratchpad_request_link(sp, x);
	/* Clean from now: a write after this call must mark it again. */
	s->dirty = false;
	s->xfer = x;
	sp->stats.pushes++;
	sp->stats.copies++;
	sp->stats.bytes_pushed += aml_layout_bytes(&sl);
	*request = x;
	return 0;
}

int aml_scratchpad_async_push(struct aml_scratchpad *sp,
                              size_t slot,
                              struct aml_scratchpad_request **request)
{
	if (request == NULL)
		return AML_EINVAL;
	*request = NULL;
	if (!scratchpad_is_ready(sp))
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	int err = scratchpad_check_pinned(sp, slot);
	if (err == 0)
		err = scratchpad_async_store(sp, slot, request);
	pthread_mutex_unlock(&sp->lock);
	return err;
}

int aml_scratchpad_wait(struct aml_scratchpad *sp,
                        struct aml_scratchpad_request **request)
{
	if (!scratchpad_is_ready(sp) || request == NULL || *request == NULL)
		return AML_EINVAL;
	struct aml_scratchpad_request *x = *request;
	if (x == &scratchpad_done) {
		*request = NULL;
		return 0;
	}
	pthread_mutex_lock(&sp->lock);
	if (x->owner != sp) {
		pthread_mutex_unlock(&sp->lock);
		return AML_EINVAL;
	}
	int err = scratchpad_request_wait(sp, x);
	pthread_mutex_unlock(&sp->lock);
	*request = NULL;
	return err;
}

int aml_scratchpad_release(struct aml_scratchpad *sp, size_t slot)
{
	if (!scratchpad_is_ready(sp))
		return AML_EINVAL;
	if (slot >= sp->nslots)
		return AML_EDOM;
	pthread_mutex_lock(&sp->lock);
	int err = AML_EPERM;
	if (sp->slots[slot].pins != 0) {
		scratchpad_unpin(sp, slot);
		err = 0;
	}
	pthread_mutex_unlock(&sp->lock);
	return err;
}

int aml_scratchpad_mark_dirty(struct aml_scratchpad *sp, size_t slot)
{
	if (!scratchpad_is_ready(sp))
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	int err = scratchpad_check_pinned(sp, slot);
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
		int err = scratchpad_copy(sp, i, s->tile, SP_PUSH);
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
	if (!scratchpad_is_ready(sp))
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	int err = scratchpad_flush_locked(sp);
	pthread_mutex_unlock(&sp->lock);
	return err;
}

/* ---- Queries ---- */

void *aml_scratchpad_slot_ptr(const struct aml_scratchpad *sp, size_t slot)
{
	if (!scratchpad_is_ready(sp)) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	if (slot >= sp->nslots) {
		aml_errno = AML_EDOM;
		return NULL;
	}
	return scratchpad_slot_addr(sp, slot);
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
	if (!scratchpad_is_ready(sp) || out == NULL)
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	size_t tile;
	int err = scratchpad_tile_of(sp, slot, &tile);
	pthread_mutex_unlock(&sp->lock);
	if (err != 0)
		return err;
	struct aml_layout sl, tl;
	err = scratchpad_layouts(sp, slot, tile, &sl, &tl);
	if (err == 0)
		*out = sl;
	return err;
}

int aml_scratchpad_slot_tile(struct aml_scratchpad *sp,
                             size_t slot,
                             size_t *out)
{
	if (!scratchpad_is_ready(sp) || out == NULL)
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	int err = scratchpad_tile_of(sp, slot, out);
	pthread_mutex_unlock(&sp->lock);
	return err;
}

int aml_scratchpad_stats(struct aml_scratchpad *sp,
                         struct aml_scratchpad_stats *out)
{
	if (!scratchpad_is_ready(sp) || out == NULL)
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	*out = sp->stats;
	pthread_mutex_unlock(&sp->lock);
	return 0;
}

size_t aml_scratchpad_nslots(const struct aml_scratchpad *sp)
{
	if (!scratchpad_is_ready(sp)) {
		aml_errno = AML_EINVAL;
		return 0;
	}
	return sp->nslots;
}

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
	if (sp == NULL)
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
	/* Hash table of a power of two >= 2 * nslots entries; nslots is at
	 * most SIZE_MAX / 64 here (total did not overflow), so no overflow. */
	size_t cap = 2;
	while (cap < 2 * nslots)
		cap *= 2;
	struct aml_scratchpad_slot *slots = calloc(nslots, sizeof(*slots));
	size_t *hash = calloc(cap, sizeof(*hash));
	if (slots == NULL || hash == NULL) {
		err = AML_ENOMEM;
		goto err_meta;
	}
	char *scratch = aml_area_mmap(area, total, NULL);
	if (scratch == NULL) {
		err = aml_errno != 0 ? aml_errno : AML_ENOMEM;
		goto err_meta;
	}
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
	        .hash_mask = cap - 1,
	        .lru_head = SP_NONE,
	        .lru_tail = SP_NONE,
	};
	if (pthread_mutex_init(&sp->lock, NULL) != 0) {
		err = AML_FAILURE;
		goto err_map;
	}
	if (pthread_cond_init(&sp->done, NULL) != 0) {
		err = AML_FAILURE;
		goto err_lock;
	}
	for (size_t i = 0; i < nslots; i++) {
		slots[i].prev = slots[i].next = SP_NONE;
		scratchpad_lru_add(sp, i);
	}
	sp->ready = 1;
	return 0;

err_lock:
	pthread_mutex_destroy(&sp->lock);
err_map:
	aml_area_munmap(area, scratch, total);
	sp->ready = 0;
err_meta:
	free(hash);
	free(slots);
	return err;
}

void aml_scratchpad_fini(struct aml_scratchpad *sp)
{
	if (!scratchpad_is_ready(sp))
		return;
	pthread_mutex_lock(&sp->lock);
	/* Complete every copy, so none writes into unmapped slots. */
	for (struct aml_scratchpad_request *x = sp->live; x != NULL;
	     x = x->next) {
		if (x->state != SP_IN_FLIGHT)
			continue;
		struct aml_dma_request *d = x->dma;
		x->dma = NULL;
		x->state = SP_WAITING;
		scratchpad_complete(sp, x, aml_dma_wait(sp->dma, &d));
	}
	scratchpad_flush_locked(sp);
	while (sp->live != NULL) {
		struct aml_scratchpad_request *x = sp->live;
		sp->live = x->next;
		free(x);
	}
	pthread_mutex_unlock(&sp->lock);
	aml_area_munmap(sp->area, sp->scratch, sp->scratch_bytes);
	free(sp->hash);
	free(sp->slots);
	pthread_cond_destroy(&sp->done);
	pthread_mutex_destroy(&sp->lock);
	sp->scratch = NULL;
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
