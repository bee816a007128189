/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sequential engine (aml/dma/seq.h): submit copies at once; a request
 * only carries the result to wait(). Requests are records of a handle pool
 * (aml/src/handle.h), so a handle waited twice, or another engine's, is
 * refused, and fini frees those never waited with the pool. Blocks that
 * copy synchronously may skip the request and copy through the engine's
 * copier themselves (seq_internal.h).
 *
 * fork() (aml/src/fork.h): prepare takes the lock; the child makes it new.
 * A copy another thread was running at the fork is that thread's, and
 * its request, never handed out, stays taken until fini.
 */
#include <pthread.h>
#include <stdlib.h>

#include <aml/copier.h>
#include <aml/dma/plan.h>
#include <aml/dma/seq.h>
#include <aml/error.h>

#include "aml/src/dma/seq_internal.h"
#include "aml/src/fork.h"
#include "aml/src/handle.h"

struct aml_dma_seq_state {
	/* What copies go through (aml/copier.h); never NULL. */
	const struct aml_copier *copier;
	/* Guards requests: they come and go from several threads. */
	pthread_mutex_t lock;
	struct aml_handle_pool requests;
	/* The first error of a fire-and-forget copy since the last barrier
	 * (under the lock). */
	int detached_error;
	struct aml_fork_hook fork;
};

struct seq_request {
	struct aml_handle_record head;
	/* What the copy returned. Written by the submitter before it gives
	 * the handle out, so a waiter reads it without a race. */
	int status;
};

static struct aml_dma_seq_state *seq_of(struct aml_dma *dma)
{
	return ((struct aml_dma_seq *)dma->data)->state;
}

static int seq_submit(struct aml_dma *dma,
                      struct aml_dma_request **out,
                      const struct aml_dma_plan *plan)
{
	struct aml_dma_seq_state *st = seq_of(dma);
	struct seq_request *r = NULL;
	uintptr_t handle = 0;
	if (out != NULL) {
		/* Taken first: AML_ENOMEM must mean nothing was copied. */
		pthread_mutex_lock(&st->lock);
		r = aml_handle_get(&st->requests);
		if (r != NULL)
			handle = aml_handle_of(&st->requests, r);
		pthread_mutex_unlock(&st->lock);
		if (r == NULL)
			return AML_ENOMEM;
	}
	int status = aml_dma_plan_copy(plan, 0, plan->bytes, st->copier);
	if (r == NULL) {
		/* Fire-and-forget: the next barrier reports it (aml/dma.h). */
		if (status != 0) {
			pthread_mutex_lock(&st->lock);
			if (st->detached_error == 0)
				st->detached_error = status;
			pthread_mutex_unlock(&st->lock);
		}
		return 0;
	}
	r->status = status;
	*out = (struct aml_dma_request *)handle;
	return 0;
}

/* Free the request @p handle names and return its status through
 * @p status; AML_EINVAL if it names none. */
static int seq_take(struct aml_dma_seq_state *st,
                    struct aml_dma_request *handle,
                    int *status)
{
	pthread_mutex_lock(&st->lock);
	struct seq_request *r =
	        aml_handle_find(&st->requests, (uintptr_t)handle);
	if (r != NULL) {
		*status = r->status;
		aml_handle_put(&st->requests, r);
	}
	pthread_mutex_unlock(&st->lock);
	return r != NULL ? 0 : AML_EINVAL;
}

static int seq_wait(struct aml_dma *dma, struct aml_dma_request *handle)
{
	int status = 0;
	int err = seq_take(seq_of(dma), handle, &status);
	return err != 0 ? err : status;
}

static int seq_cancel(struct aml_dma *dma, struct aml_dma_request *handle)
{
	int status;
	int err = seq_take(seq_of(dma), handle, &status);
	/* Every copy has ended by the time submit returns. */
	return err != 0 ? err : 1;
}

/* Every copy has ended by the time its submit returned: a barrier only
 * reports, and forgets, the first fire-and-forget failure. */
static int seq_barrier(struct aml_dma *dma)
{
	struct aml_dma_seq_state *st = seq_of(dma);
	pthread_mutex_lock(&st->lock);
	int err = st->detached_error;
	st->detached_error = 0;
	pthread_mutex_unlock(&st->lock);
	return err;
}

static const struct aml_dma_ops aml_dma_seq_ops = {
        .submit = seq_submit,
        .wait = seq_wait,
        .cancel = seq_cancel,
        .barrier = seq_barrier,
};

const struct aml_copier *aml_dma_seq_copier(const struct aml_dma *dma)
{
	if (dma == NULL || dma->ops != &aml_dma_seq_ops)
		return NULL;
	return ((const struct aml_dma_seq *)dma->data)->state->copier;
}

int aml_dma_seq_init(struct aml_dma_seq *dma,
                     const struct aml_topology *topology)
{
	return aml_dma_seq_init_copier(dma, aml_topology_copier(topology));
}

int aml_dma_seq_init_copier(struct aml_dma_seq *dma,
                            const struct aml_copier *copier)
{
	/* Storage that holds a live engine is left to it (aml/src/fork.h). */
	if (dma == NULL || aml_fork_registered(AML_FORK_DMA, dma))
		return AML_EINVAL;
	/* Finalised until the end: on error, fini skips the storage and
	 * every call refuses it, whatever it held. */
	*dma = (struct aml_dma_seq){.state = NULL};
	if (!aml_copier_can_copy(copier))
		return AML_EINVAL;
	struct aml_dma_seq_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return AML_ENOMEM;
	/* Only a lack of resources can fail a default mutex. */
	if (pthread_mutex_init(&st->lock, NULL) != 0) {
		free(st);
		return AML_ENOMEM;
	}
	st->copier = copier;
	aml_handle_pool_init(&st->requests, sizeof(struct seq_request));
	aml_fork_register_mutex(&st->fork, AML_FORK_DMA, &st->lock, dma);
	*dma = (struct aml_dma_seq){
	        .base = {.ops = &aml_dma_seq_ops, .data = dma},
	        .state = st,
	};
	return 0;
}

void aml_dma_seq_fini(struct aml_dma_seq *dma)
{
	if (dma == NULL || dma->state == NULL)
		return; /* never initialised, or finalised already */
	struct aml_dma_seq_state *st = dma->state;
	aml_fork_unregister(&st->fork);
	aml_handle_pool_fini(&st->requests);
	pthread_mutex_destroy(&st->lock);
	free(st);
	dma->state = NULL;
	dma->base.ops = NULL;
	dma->base.data = NULL;
}

int aml_dma_seq_create(struct aml_dma **out,
                       const struct aml_topology *topology)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_dma_seq *dma = malloc(sizeof(*dma));
	if (dma == NULL)
		return AML_ENOMEM;
	int err = aml_dma_seq_init(dma, topology);
	if (err != 0) {
		free(dma);
		return err;
	}
	*out = &dma->base;
	return 0;
}

void aml_dma_seq_destroy(struct aml_dma **dma)
{
	if (dma == NULL || *dma == NULL || (*dma)->ops != &aml_dma_seq_ops)
		return;
	struct aml_dma_seq *self = (*dma)->data;
	aml_dma_seq_fini(self);
	free(self);
	*dma = NULL;
}
