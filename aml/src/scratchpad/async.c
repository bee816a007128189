/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scratchpad's requests and asynchronous variants (see scratchpad.c
 * for the design): a request is one copy in flight, shared by every handle
 * on it, freed when its last handle is waited.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include <aml/dma.h>
#include <aml/error.h>
#include <aml/layout.h>
#include <aml/scratchpad.h>

#include "aml/src/scratchpad/internal.h"

/* The request of a pull that hit a loaded tile: already complete, never
 * written, shared by every scratchpad. */
static struct aml_scratchpad_request scratchpad_done;

/* ---- Requests ---- */

static struct aml_scratchpad_request *scratchpad_request_new(
        struct aml_scratchpad *sp, size_t slot, enum aml_scratchpad_copy k)
{
	struct aml_scratchpad_request *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->owner = sp;
	x->slot = slot;
	x->kind = k;
	x->state = AML_SCRATCHPAD_IN_FLIGHT;
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
void aml_scratchpad_complete(struct aml_scratchpad *sp,
                             struct aml_scratchpad_request *x,
                             int err)
{
	struct aml_scratchpad_slot *s = &sp->slots[x->slot];
	s->xfer = NULL;
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

/* Wait for @x and drop one handle on it. Called and returns with the lock
 * held; releases it while waiting for the dma. */
int aml_scratchpad_request_wait(struct aml_scratchpad *sp,
                                struct aml_scratchpad_request *x)
{
	while (x->state != AML_SCRATCHPAD_DONE) {
		if (x->state == AML_SCRATCHPAD_WAITING) {
			pthread_cond_wait(&sp->done, &sp->lock);
			continue;
		}
		struct aml_dma_request *d = x->dma;
		x->dma = NULL;
		x->state = AML_SCRATCHPAD_WAITING;
		pthread_mutex_unlock(&sp->lock);
		int err = aml_dma_wait(sp->dma, &d);
		pthread_mutex_lock(&sp->lock);
		aml_scratchpad_complete(sp, x, err);
	}
	int err = x->err;
	scratchpad_request_put(sp, x);
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
	        scratchpad_request_new(sp, 0, AML_SCRATCHPAD_TO_SLOT);
	if (x == NULL)
		return AML_ENOMEM;
	size_t v;
	int err = aml_scratchpad_claim(sp, tile, &v);
	if (err != 0) {
		free(x);
		return err;
	}
	struct aml_layout sl, tl;
	err = aml_scratchpad_layouts(sp, v, tile, &sl, &tl);
	if (err == 0)
		err = aml_dma_async_copy(sp->dma, &x->dma, &sl, &tl);
	if (err != 0) {
		aml_scratchpad_unclaim(sp, v);
		free(x);
		return err;
	}
	x->slot = v;
	scratchpad_request_link(sp, x);
	struct aml_scratchpad_slot *s = &sp->slots[v];
	s->xfer = x;
	aml_scratchpad_count_miss(sp, v, flags);
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
	int err = aml_scratchpad_check_pull(sp, tile, flags, slot);
	if (err != 0)
		return err;
	pthread_mutex_lock(&sp->lock);
	size_t pos = aml_scratchpad_hash_find(sp, tile);
	if (pos == AML_SCRATCHPAD_NONE && (flags & AML_SCRATCHPAD_OVERWRITE)) {
		/* Nothing to load: the slot is ready at once. */
		size_t v;
		err = aml_scratchpad_claim(sp, tile, &v);
		if (err == 0) {
			aml_scratchpad_count_miss(sp, v, flags);
			*slot = v;
			*request = &scratchpad_done;
		}
		pthread_mutex_unlock(&sp->lock);
		return err;
	}
	if (pos == AML_SCRATCHPAD_NONE) {
		err = scratchpad_async_load(sp, tile, flags, slot, request);
		pthread_mutex_unlock(&sp->lock);
		return err;
	}
	size_t v = sp->hash[pos] - 1;
	struct aml_scratchpad_slot *s = &sp->slots[v];
	aml_scratchpad_lru_remove(sp, v);
	s->pins++;
	aml_scratchpad_count_hit(sp, v, flags);
	struct aml_scratchpad_request *x = s->xfer;
	if (x != NULL && x->kind == AML_SCRATCHPAD_TO_SLOT) {
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
	struct aml_scratchpad_request *x = NULL;
	if (err == 0) {
		x = scratchpad_request_new(sp, slot, AML_SCRATCHPAD_TO_TILE);
		err = x == NULL ? AML_ENOMEM : 0;
	}
	if (err == 0)
		err = aml_dma_async_copy(sp->dma, &x->dma, &tl, &sl);
	if (err != 0) {
		free(x);
		s->dirty = true;
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
	int err = aml_scratchpad_request_wait(sp, x);
	pthread_mutex_unlock(&sp->lock);
	*request = NULL;
	return err;
}
