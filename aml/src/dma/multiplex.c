/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The multiplex engine (aml/dma/multiplex.h): a request is a record of a
 * handle pool (aml/src/handle.h) that names the inner engine and the inner
 * request, so a handle used twice, or an inner engine's, is refused. The
 * lock guards the pool only: no inner engine is ever called with it held,
 * so a wait here never holds up another thread's submission.
 *
 * The turns are laid out at init by smooth weighted round robin (each
 * step, every engine gains its weight and the richest is chosen and pays
 * the total), then taken with one atomic increment per copy.
 *
 * fork() (aml/src/fork.h): prepare takes the lock; the child makes it new.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma.h>
#include <aml/dma/multiplex.h>
#include <aml/dma/plan.h>
#include <aml/error.h>

#include "aml/src/fork.h"
#include "aml/src/handle.h"

struct aml_dma_multiplex_state {
	struct aml_dma *engines[AML_DMA_MULTIPLEX_ENGINES_MAX];
	size_t nengines;
	/* Engine of each turn; nturns entries. */
	unsigned char *turns;
	size_t nturns;
	atomic_size_t next_turn;
	/* Whether a fire-and-forget copy went through: fini then barriers
	 * the inner engines. */
	atomic_bool detached;
	/* Guards requests. */
	pthread_mutex_t lock;
	struct aml_handle_pool requests;
	struct aml_fork_hook fork;
};

struct multiplex_request {
	struct aml_handle_record head;
	struct aml_dma *engine;
	struct aml_dma_request *inner;
	/* Being submitted, waited or cancelled: its handle names nothing. */
	bool claimed;
};

static const struct aml_dma_ops multiplex_ops;

static struct aml_dma_multiplex_state *state_of(struct aml_dma *dma)
{
	return ((struct aml_dma_multiplex *)dma->data)->state;
}

static struct aml_dma *multiplex_take_turn(struct aml_dma_multiplex_state *st)
{
	size_t turn = atomic_fetch_add_explicit(&st->next_turn, 1,
	                                        memory_order_relaxed);
	return st->engines[st->turns[turn % st->nturns]];
}

static int multiplex_submit(struct aml_dma *dma,
                            struct aml_dma_request **out,
                            const struct aml_dma_plan *plan)
{
	struct aml_dma_multiplex_state *st = state_of(dma);
	struct aml_dma *engine = multiplex_take_turn(st);
	/* An inner engine finalised behind this one's back. */
	if (engine->ops == NULL)
		return AML_EINVAL;
	if (out == NULL) {
		atomic_store_explicit(&st->detached, true,
		                      memory_order_relaxed);
		return engine->ops->submit(engine, NULL, plan);
	}
	/* The record first: AML_ENOMEM must mean nothing was copied. */
	pthread_mutex_lock(&st->lock);
	struct multiplex_request *r = aml_handle_get(&st->requests);
	if (r != NULL)
		r->claimed = true;
	pthread_mutex_unlock(&st->lock);
	if (r == NULL)
		return AML_ENOMEM;
	struct aml_dma_request *inner = NULL;
	int err = engine->ops->submit(engine, &inner, plan);
	pthread_mutex_lock(&st->lock);
	if (err != 0) {
		aml_handle_put(&st->requests, r);
	} else {
		r->engine = engine;
		r->inner = inner;
		r->claimed = false;
		*out = (struct aml_dma_request *)aml_handle_of(&st->requests,
		                                               r);
	}
	pthread_mutex_unlock(&st->lock);
	return err;
}

/* Claim the live request @p handle names; NULL if it names none. */
static struct multiplex_request *
multiplex_claim(struct aml_dma_multiplex_state *st,
                struct aml_dma_request *handle)
{
	pthread_mutex_lock(&st->lock);
	struct multiplex_request *r =
	        aml_handle_find(&st->requests, (uintptr_t)handle);
	if (r != NULL && r->claimed)
		r = NULL;
	if (r != NULL)
		r->claimed = true;
	pthread_mutex_unlock(&st->lock);
	return r;
}

static void multiplex_put(struct aml_dma_multiplex_state *st,
                          struct multiplex_request *r)
{
	pthread_mutex_lock(&st->lock);
	aml_handle_put(&st->requests, r);
	pthread_mutex_unlock(&st->lock);
}

static int multiplex_wait(struct aml_dma *dma, struct aml_dma_request *request)
{
	struct aml_dma_multiplex_state *st = state_of(dma);
	struct multiplex_request *r = multiplex_claim(st, request);
	if (r == NULL)
		return AML_EINVAL;
	int err = aml_dma_wait(r->engine, &r->inner);
	multiplex_put(st, r);
	return err;
}

static int multiplex_cancel(struct aml_dma *dma,
                            struct aml_dma_request *request)
{
	struct aml_dma_multiplex_state *st = state_of(dma);
	struct multiplex_request *r = multiplex_claim(st, request);
	if (r == NULL)
		return AML_EINVAL;
	int err = aml_dma_cancel(r->engine, &r->inner);
	multiplex_put(st, r);
	return err;
}

static int multiplex_barrier(struct aml_dma *dma)
{
	struct aml_dma_multiplex_state *st = state_of(dma);
	int first = 0;
	for (size_t i = 0; i < st->nengines; i++) {
		int err = aml_dma_barrier(st->engines[i]);
		if (first == 0)
			first = err;
	}
	return first;
}

static const struct aml_dma_ops multiplex_ops = {
        .submit = multiplex_submit,
        .wait = multiplex_wait,
        .cancel = multiplex_cancel,
        .barrier = multiplex_barrier,
};

/* Smooth weighted round robin, laid out once: nturns = sum of weights. */
static void multiplex_lay_turns(struct aml_dma_multiplex_state *st,
                                const unsigned *weights)
{
	long credit[AML_DMA_MULTIPLEX_ENGINES_MAX] = {0};
	for (size_t t = 0; t < st->nturns; t++) {
		size_t best = 0;
		for (size_t i = 0; i < st->nengines; i++) {
			credit[i] += weights != NULL ? (long)weights[i] : 1;
			if (credit[i] > credit[best])
				best = i;
		}
		credit[best] -= (long)st->nturns;
		st->turns[t] = (unsigned char)best;
	}
}

static int multiplex_check(const struct aml_dma_multiplex *dma,
                           struct aml_dma *const *engines,
                           const unsigned *weights,
                           size_t nengines,
                           size_t *nturns)
{
	if (engines == NULL || nengines == 0 ||
	    nengines > AML_DMA_MULTIPLEX_ENGINES_MAX)
		return AML_EINVAL;
	size_t sum = 0;
	for (size_t i = 0; i < nengines; i++) {
		if (engines[i] == NULL || engines[i]->ops == NULL ||
		    engines[i] == &dma->base)
			return AML_EINVAL;
		for (size_t j = 0; j < i; j++)
			if (engines[j] == engines[i])
				return AML_EINVAL;
		unsigned w = weights != NULL ? weights[i] : 1;
		if (w == 0 || w > AML_DMA_MULTIPLEX_WEIGHTS_MAX)
			return AML_EINVAL;
		sum += w;
	}
	if (sum > AML_DMA_MULTIPLEX_WEIGHTS_MAX)
		return AML_EINVAL;
	*nturns = sum;
	return 0;
}

int aml_dma_multiplex_init(struct aml_dma_multiplex *dma,
                           struct aml_dma *const *engines,
                           const unsigned *weights,
                           size_t nengines)
{
	/* Storage that holds a live engine is left to it (aml/src/fork.h). */
	if (dma == NULL || aml_fork_registered(AML_FORK_DMA, dma))
		return AML_EINVAL;
	*dma = (struct aml_dma_multiplex){.state = NULL};
	size_t nturns = 0;
	int err = multiplex_check(dma, engines, weights, nengines, &nturns);
	if (err != 0)
		return err;
	struct aml_dma_multiplex_state *st = calloc(1, sizeof(*st));
	unsigned char *turns = malloc(nturns);
	/* Only a lack of resources can fail a default mutex. */
	if (st == NULL || turns == NULL ||
	    pthread_mutex_init(&st->lock, NULL) != 0) {
		free(turns);
		free(st);
		return AML_ENOMEM;
	}
	memcpy(st->engines, engines, nengines * sizeof(*engines));
	st->nengines = nengines;
	st->turns = turns;
	st->nturns = nturns;
	multiplex_lay_turns(st, weights);
	aml_handle_pool_init(&st->requests, sizeof(struct multiplex_request));
	aml_fork_register_mutex(&st->fork, AML_FORK_DMA, &st->lock, dma);
	*dma = (struct aml_dma_multiplex){
	        .base = {.ops = &multiplex_ops, .data = dma},
	        .state = st,
	};
	return 0;
}

void aml_dma_multiplex_fini(struct aml_dma_multiplex *dma)
{
	if (dma == NULL || dma->state == NULL)
		return; /* never initialised, or finalised already */
	struct aml_dma_multiplex_state *st = dma->state;
	/* Copies with a handle: waited, which frees their inner requests. */
	for (size_t i = 0; i < aml_handle_count(&st->requests); i++) {
		struct multiplex_request *r = aml_handle_at(&st->requests, i);
		if (r->head.live && !r->claimed && r->inner != NULL)
			aml_dma_wait(r->engine, &r->inner);
	}
	if (atomic_load(&st->detached))
		for (size_t i = 0; i < st->nengines; i++)
			aml_dma_barrier(st->engines[i]);
	aml_fork_unregister(&st->fork);
	aml_handle_pool_fini(&st->requests);
	pthread_mutex_destroy(&st->lock);
	free(st->turns);
	free(st);
	dma->state = NULL;
	dma->base.ops = NULL;
	dma->base.data = NULL;
}

int aml_dma_multiplex_create(struct aml_dma **out,
                             struct aml_dma *const *engines,
                             const unsigned *weights,
                             size_t nengines)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_dma_multiplex *dma = malloc(sizeof(*dma));
	if (dma == NULL)
		return AML_ENOMEM;
	int err = aml_dma_multiplex_init(dma, engines, weights, nengines);
	if (err != 0) {
		free(dma);
		return err;
	}
	*out = &dma->base;
	return 0;
}

void aml_dma_multiplex_destroy(struct aml_dma **dma)
{
	if (dma == NULL || *dma == NULL || (*dma)->ops != &multiplex_ops)
		return;
	struct aml_dma_multiplex *self = (*dma)->data;
	aml_dma_multiplex_fini(self);
	free(self);
	*dma = NULL;
}

int aml_dma_multiplex_next(const struct aml_dma_multiplex *dma)
{
	if (dma == NULL || dma->state == NULL)
		return AML_EINVAL;
	struct aml_dma_multiplex_state *st = dma->state;
	size_t turn =
	        atomic_load_explicit(&st->next_turn, memory_order_relaxed);
	return st->turns[turn % st->nturns];
}
