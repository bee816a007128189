/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The parallel engine across fork() (aml/src/fork.h, aml/dma.h "fork()").
 *
 * Prepare takes the engine's lock, so the child's copy of the state is
 * consistent. The child has no workers: it makes the lock and condition
 * variables new, copies again from the start every request with a chunk
 * handed out and not finished (a thread it does not have was copying it),
 * ends cancelled ones, and makes every request that a gone thread was
 * waiting for or cancelling waitable again, so that the child may take it
 * over (a scratchpad does, for a copy whose waiter is gone). par.c starts
 * workers again when a copy is queued, waited or barriered.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "aml/src/dma/par_internal.h"
#include "aml/src/fork.h"
#include "aml/src/handle.h"

static struct aml_dma_par_state *par_forked(struct aml_fork_hook *hook)
{
	return AML_FORK_OBJECT(hook, struct aml_dma_par_state, fork);
}

/* Request r in a child of fork(), whose threads but one are gone. */
static void par_fork_repair(struct aml_dma_par_state *st, struct par_request *r)
{
	/* The thread waiting or cancelling it is gone too. */
	r->claimed = false;
	/* Ended; or copied inline by a thread gone, which alone had it. */
	if (atomic_load_explicit(&r->done, memory_order_relaxed) ||
	    r->nchunks == 0)
		return;
	if (r->cancelled) {
		/* Chunks still running were abandoned: the destination
		 * holds part of the copy, as a cancel allows. */
		r->finished = r->nchunks;
		aml_dma_par_end(st, r);
		return;
	}
	if (r->finished == r->started)
		return; /* nothing was being copied */
	/* Which chunks were running is unknown: copy again from the first
	 * (a copy of the same source, so the chunks done are unchanged). */
	r->started = r->finished = 0;
	if (!r->queued)
		aml_dma_par_queue_append(st, r);
}

static void par_fork_child(struct aml_fork_hook *hook)
{
	struct aml_dma_par_state *st = par_forked(hook);
	aml_fork_mutex_child(hook);
	pthread_cond_init(&st->work, NULL);
	pthread_cond_init(&st->ended, NULL);
	st->nthreads = 0;
	st->sleeping_workers = st->sleeping_waiters = 0;
	/* Waited in the parent: spent, never to be revived below. */
	aml_dma_par_reclaim(st);
	size_t n = aml_handle_count(&st->requests);
	for (size_t i = 0; i < n; i++) {
		struct par_request *r = aml_handle_at(&st->requests, i);
		if (r->head.live)
			par_fork_repair(st, r);
	}
	size_t pending = 0;
	for (struct par_request *r = st->head; r != NULL; r = r->next)
		pending += r->nchunks - r->started;
	atomic_store_explicit(&st->pending, pending, memory_order_relaxed);
	aml_dma_par_lanes_fork_child(st);
	atomic_store_explicit(&st->lane_sleepers, 0, memory_order_relaxed);
	/* The spinners were the parent's workers (par_idle): none runs
	 * here, and a count left set would park every new worker. */
	atomic_store_explicit(&st->spinners, 0, memory_order_relaxed);
	atomic_store_explicit(&st->yielding_spinners, 0, memory_order_relaxed);
}

const struct aml_fork_ops aml_dma_par_fork_ops = {
        .level = AML_FORK_DMA,
        .prepare = aml_fork_mutex_prepare,
        .parent = aml_fork_mutex_parent,
        .child = par_fork_child,
};
