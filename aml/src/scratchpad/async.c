/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scratchpad's requests and asynchronous variants (see scratchpad.c
 * for the design). A copy (struct aml_scratchpad_xfer) is shared by every
 * handle on it and freed when its last handle is waited. A handle names a
 * ticket of the state's pool (aml/src/handle.h), on a copy or on nothing
 * for a pull complete at once: waiting it frees the ticket, so a handle
 * waited twice, another scratchpad's, or a made-up one is refused.
 *
 * Layers (internal.h): scratchpad.c calls this file (async.h); it calls
 * slots.c and index.c, never scratchpad.c.
 */
#include "aml/src/scratchpad/async.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include <aml/dma.h>
#include <aml/error.h>
#include <aml/layout.h>
#include <aml/scratchpad.h>

#include "aml/src/handle.h"
#include "aml/src/scratchpad/index.h"
#include "aml/src/scratchpad/internal.h"
#include "aml/src/scratchpad/slots.h"

/* ---- Copies and tickets ---- */

static struct aml_scratchpad_xfer *
scratchpad_xfer_new(size_t slot, enum aml_scratchpad_copy kind)
{
	struct aml_scratchpad_xfer *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->slot = slot;
	x->kind = kind;
	x->state = AML_SCRATCHPAD_IN_FLIGHT;
	x->nrefs = 1;
	return x;
}

static void scratchpad_xfer_link(struct aml_scratchpad *sp,
                                 struct aml_scratchpad_xfer *x)
{
	struct aml_scratchpad_state *st = sp->state;
	x->prev = NULL;
	x->next = st->live;
	if (st->live != NULL)
		st->live->prev = x;
	st->live = x;
}

static void scratchpad_xfer_put(struct aml_scratchpad *sp,
                                struct aml_scratchpad_xfer *x)
{
	if (--x->nrefs != 0)
		return;
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		sp->state->live = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	free(x);
}

/* A ticket on @p x (NULL: complete at once), to give out as a handle; NULL
 * when out of memory. Taken before anything changes, so that AML_ENOMEM
 * changes nothing. */
static struct aml_scratchpad_ticket *
scratchpad_ticket_new(struct aml_scratchpad *sp)
{
	struct aml_scratchpad_ticket *t = aml_handle_get(&sp->state->tickets);
	if (t != NULL)
		t->xfer = NULL;
	return t;
}

static struct aml_scratchpad_request *
scratchpad_ticket_handle(struct aml_scratchpad *sp,
                         const struct aml_scratchpad_ticket *t)
{
	return (struct aml_scratchpad_request *)aml_handle_of(
	        &sp->state->tickets, t);
}

static void scratchpad_ticket_put(struct aml_scratchpad *sp,
                                  struct aml_scratchpad_ticket *t)
{
	aml_handle_put(&sp->state->tickets, t);
}

/* The copy of @x ended with @err: update its slot and wake the waiters. */
static void scratchpad_complete(struct aml_scratchpad *sp,
                                struct aml_scratchpad_xfer *x,
                                int err)
{
	struct aml_scratchpad_slot *s = &sp->slots[x->slot];
	s->xfer = NULL;
	x->dma = NULL;
	x->state = AML_SCRATCHPAD_DONE;
	x->err = err;
	if (err != 0 && x->kind == AML_SCRATCHPAD_TO_SLOT) {
		/* The slot's content is garbage: forget the tile, so that no
		 * later pull hits it. Pins stay until released. */
		aml_scratchpad_hash_remove(sp, x->slot);
		s->has_tile = false;
		s->dirty = false;
	} else if (err != 0) {
		s->dirty = true; /* the tile did not get the data */
	}
	aml_scratchpad_lru_add(sp, x->slot);
	pthread_cond_broadcast(&sp->done);
}

/*
 * Wait for the dma request of @x, IN_FLIGHT or REDO, and complete it.
 * Called and returns with the lock held; drops it around the wait if
 * @p unlock (not in fini, where no other thread may run).
 *
 * After a fork(), REDO: the request the gone waiter was waiting for is
 * valid again in the child (aml/dma.h), queued, half copied or ended, so
 * waiting for it is what completes it; a second copy through a new request
 * would leave it to land later. Its wait fails when the gone thread's wait
 * had already ended and freed it (the handle is stale): the copy is over,
 * but its result went with the thread, so the copy is made again, with the
 * lock held (the slot is busy: neither end changed meanwhile).
 */
static void scratchpad_wait_dma(struct aml_scratchpad *sp,
                                struct aml_scratchpad_xfer *x,
                                bool unlock)
{
	bool redo = x->state == AML_SCRATCHPAD_REDO;
	struct aml_dma_request *d = x->dma;
	x->state = AML_SCRATCHPAD_WAITING;
	if (unlock)
		pthread_mutex_unlock(&sp->lock);
	int err = aml_dma_wait(sp->dma, &d);
	if (unlock)
		pthread_mutex_lock(&sp->lock);
	if (redo && err != 0)
		err = aml_scratchpad_copy(sp, x->slot, sp->slots[x->slot].tile,
		                          x->kind);
	scratchpad_complete(sp, x, err);
}

void aml_scratchpad_settle(struct aml_scratchpad *sp,
                           struct aml_scratchpad_xfer *x)
{
	if (x->state == AML_SCRATCHPAD_IN_FLIGHT ||
	    x->state == AML_SCRATCHPAD_REDO)
		scratchpad_wait_dma(sp, x, false);
}

/* Wait for @x and drop one handle on it. Called and returns with the lock
 * held; releases it while waiting for the dma. */
int aml_scratchpad_request_wait(struct aml_scratchpad *sp,
                                struct aml_scratchpad_xfer *x)
{
	while (x->state != AML_SCRATCHPAD_DONE) {
		if (x->state == AML_SCRATCHPAD_WAITING)
			pthread_cond_wait(&sp->done, &sp->lock);
		else
			scratchpad_wait_dma(sp, x, true);
	}
	int err = x->err;
	scratchpad_xfer_put(sp, x);
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
	struct aml_scratchpad_xfer *x =
	        scratchpad_xfer_new(0, AML_SCRATCHPAD_TO_SLOT);
	struct aml_scratchpad_ticket *t =
	        x != NULL ? scratchpad_ticket_new(sp) : NULL;
	if (t == NULL) {
		free(x);
		return AML_ENOMEM;
	}
	size_t v;
	int err = aml_scratchpad_claim(sp, tile, &v);
	size_t bytes = 0;
	if (err == 0) {
		err = aml_scratchpad_submit(sp, v, tile, AML_SCRATCHPAD_TO_SLOT,
		                            &x->dma, &bytes);
		if (err != 0)
			aml_scratchpad_unclaim(sp, v);
	}
	if (err != 0) {
		scratchpad_ticket_put(sp, t);
		free(x);
		return err;
	}
	x->slot = v;
	scratchpad_xfer_link(sp, x);
	t->xfer = x;
	struct aml_scratchpad_slot *s = &sp->slots[v];
	s->xfer = x;
	aml_scratchpad_count_miss(sp, v, flags);
	sp->stats.copies++;
	sp->stats.bytes_pulled += bytes;
	*slot = v;
	*request = scratchpad_ticket_handle(sp, t);
	return 0;
}

/* An asynchronous pull with nothing to load: a hit, or an OVERWRITE miss.
 * @p pos is the tile's position in the table, or AML_SCRATCHPAD_NONE.
 * Lock held. */
static int scratchpad_async_ready(struct aml_scratchpad *sp,
                                  size_t tile,
                                  unsigned flags,
                                  size_t pos,
                                  size_t *slot,
                                  struct aml_scratchpad_request **request)
{
	struct aml_scratchpad_ticket *t = scratchpad_ticket_new(sp);
	if (t == NULL)
		return AML_ENOMEM;
	size_t v;
	if (pos == AML_SCRATCHPAD_NONE) {
		int err = aml_scratchpad_claim(sp, tile, &v);
		if (err != 0) {
			scratchpad_ticket_put(sp, t);
			return err;
		}
		aml_scratchpad_count_miss(sp, v, flags);
	} else {
		v = sp->hash[pos] - 1;
		aml_scratchpad_pin(sp, v);
		aml_scratchpad_count_hit(sp, v, flags);
		struct aml_scratchpad_xfer *x = sp->slots[v].xfer;
		if (x != NULL && x->kind == AML_SCRATCHPAD_TO_SLOT) {
			/* Load in flight: this pull completes with it. */
			x->nrefs++;
			t->xfer = x;
		}
	}
	*slot = v;
	*request = scratchpad_ticket_handle(sp, t);
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
	int err = aml_scratchpad_check_pull(sp, tile, flags, slot);
	if (err != 0)
		return err;
	pthread_mutex_lock(&sp->lock);
	size_t pos = aml_scratchpad_hash_find(sp, tile);
	if (pos == AML_SCRATCHPAD_NONE && !(flags & AML_SCRATCHPAD_OVERWRITE))
		err = scratchpad_async_load(sp, tile, flags, slot, request);
	else
		err = scratchpad_async_ready(sp, tile, flags, pos, slot,
		                             request);
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
	/* From here every failure leaves the slot dirty: the caller may have
	 * written it and counted on this push alone to save the data. */
	struct aml_layout sl, tl;
	int err = aml_scratchpad_layouts(sp, slot, s->tile, &sl, &tl);
	struct aml_scratchpad_xfer *x = NULL;
	struct aml_scratchpad_ticket *t = NULL;
	if (err == 0) {
		x = scratchpad_xfer_new(slot, AML_SCRATCHPAD_TO_TILE);
		t = x != NULL ? scratchpad_ticket_new(sp) : NULL;
		err = t == NULL ? AML_ENOMEM : 0;
	}
	if (err == 0)
		err = aml_dma_async_copy(sp->dma, &x->dma, &tl, &sl);
	if (err != 0) {
		if (t != NULL)
			scratchpad_ticket_put(sp, t);
		free(x);
		s->dirty = true;
		return err;
	}
	scratchpad_xfer_link(sp, x);
	t->xfer = x;
	/* Clean from now: a write after this call must mark it again. */
	s->dirty = false;
	s->xfer = x;
	sp->stats.pushes++;
	sp->stats.copies++;
	sp->stats.bytes_pushed += aml_layout_bytes(&sl);
	*request = scratchpad_ticket_handle(sp, t);
	return 0;
}

int aml_scratchpad_async_push(struct aml_scratchpad *sp,
                              size_t slot,
                              struct aml_scratchpad_request **request)
{
	if (request == NULL)
		return AML_EINVAL;
	*request = NULL;
	if (!aml_scratchpad_is_ready(sp))
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	int err = aml_scratchpad_check_pinned(sp, slot);
	if (err == 0)
		err = scratchpad_async_store(sp, slot, request);
	pthread_mutex_unlock(&sp->lock);
	return err;
}

int aml_scratchpad_wait(struct aml_scratchpad *sp,
                        struct aml_scratchpad_request **request)
{
	if (!aml_scratchpad_is_ready(sp) || request == NULL || *request == NULL)
		return AML_EINVAL;
	pthread_mutex_lock(&sp->lock);
	struct aml_scratchpad_ticket *t =
	        aml_handle_find(&sp->state->tickets, (uintptr_t)*request);
	if (t == NULL) {
		pthread_mutex_unlock(&sp->lock);
		return AML_EINVAL;
	}
	/* The handle is spent from here, even while its copy runs. */
	struct aml_scratchpad_xfer *x = t->xfer;
	scratchpad_ticket_put(sp, t);
	int err = x != NULL ? aml_scratchpad_request_wait(sp, x) : 0;
	pthread_mutex_unlock(&sp->lock);
	*request = NULL;
	return err;
}
