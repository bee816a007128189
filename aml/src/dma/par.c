/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The parallel engine (aml/dma/par.h).
 *
 * One mutex guards the queue, the counters and the request lists; copying
 * happens outside it. A request is cut into chunks of the copy's byte
 * stream (aml/src/dma/plan.h); it stays in the queue until every chunk has
 * been handed out, and ends when every chunk handed out has finished.
 *
 * Hand-offs: a worker with nothing to do spins on the atomic count of
 * pending chunks for spin_ns, then sleeps on `work`; a waiter spins on its
 * request's atomic `done` flag, then sleeps on `ended`. Signals are sent
 * only when someone sleeps, so a hand-off within the spin window costs no
 * system call. Waiters and the barrier copy chunks of the queue themselves
 * before they wait: a synchronous copy uses the calling thread too, and
 * never waits for a sleeping worker to wake up.
 *
 * Requests are records of a handle pool (aml/src/handle.h), never freed
 * before fini: waited ones go back to the pool's free list, so a long run
 * of submissions allocates only up to its peak in flight. The handle a
 * caller gets names a record and its generation; wait and cancel find the
 * record under the lock, and claim it, so a handle waited twice, waited by
 * two threads at once, or given to another engine is refused and changes
 * nothing.
 *
 * fork() (aml/src/fork.h): prepare takes the lock, so the child's copy of
 * the state is consistent. The child has no workers: it makes the lock and
 * condition variables new, copies again from the start every request with
 * a chunk handed out and not finished (a thread it does not have was
 * copying it), ends cancelled ones, and starts workers again when a copy
 * is queued, waited or barriered. Where workers cannot be started, waiters
 * and barriers copy the chunks themselves, modelled time or not, so that
 * nothing waits for a worker that does not exist.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <aml/dma/par.h>
#include <aml/error.h>

#include "aml/src/dma/plan.h"
#include "aml/src/fork.h"
#include "aml/src/handle.h"
#include "aml/src/topology.h"

#define PAR_CHUNK_SIZE_DEFAULT ((size_t)256 << 10)
#define PAR_INLINE_MAX_DEFAULT ((size_t)16 << 10)
#define PAR_SPIN_NS_DEFAULT    50000
/* Chunks per thread for a large copy: a thread that the OS preempts
 * leaves its share to the others. */
#define PAR_CHUNKS_PER_THREAD 4
/* Chunks start on cache-line boundaries of the stream. */
#define PAR_CHUNK_ALIGN 64

/* A new field must also be reset in par_request_get. */
struct par_request {
	struct aml_handle_record head;
	struct aml_dma_plan plan;
	/* Bytes per chunk; the last one may be shorter. */
	size_t chunk_bytes;
	/* Chunks to copy (cancel lowers it to started), handed out, done. */
	size_t nchunks;
	size_t started;
	size_t finished;
	/* The first error a chunk returned. */
	int status;
	/* Freed by the engine when it ends (no handle was returned). */
	bool detached;
	bool cancelled;
	/* Taken by a wait or a cancel: its handle is spent. */
	bool claimed;
	/* In the queue (chunks left to hand out). */
	bool queued;
	/* Set, under the lock, when the copy has ended. */
	atomic_int done;
	/* Modelled time (charged topologies): the submitter's at submission,
	 * and the latest end of a chunk. */
	uint64_t start_ns;
	uint64_t end_ns;
	/* Queue links. */
	struct par_request *next;
	struct par_request *prev;
};

struct aml_dma_par_state {
	struct aml_dma_par_options options;
	const struct aml_topology *charged;
	pthread_mutex_t lock;
	/* Idle workers sleep on work; waiters and barriers on ended. */
	pthread_cond_t work;
	pthread_cond_t ended;
	struct par_request *head;
	struct par_request *tail;
	/* Chunks in the queue not handed out; read by spinners unlocked. */
	atomic_size_t pending;
	atomic_bool stopping;
	size_t sleeping_workers;
	size_t sleeping_waiters;
	/* Requests submitted to the workers and not ended. */
	size_t inflight;
	/* First error of a fire-and-forget copy since the last barrier. */
	int detached_error;
	/* Modelled end of the latest request that ended (for barriers). */
	uint64_t ended_ns;
	struct aml_handle_pool requests;
	struct aml_fork_hook fork;
	/* Workers running: options.nworkers, or fewer in a child of fork()
	 * until they are started again. */
	size_t nthreads;
	pthread_t threads[];
};

static uint64_t par_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void par_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* ---- Requests (under the lock) ---- */

static struct par_request *par_request_get(struct aml_dma_par_state *st)
{
	struct par_request *r = aml_handle_get(&st->requests);
	if (r == NULL)
		return NULL;
	/* Field by field: the plan (a few hundred bytes) is written by
	 * par_enqueue when the request is queued, and never read otherwise,
	 * so a 4 KiB inline copy does not pay for clearing it. Every other
	 * field of struct par_request but the pool's head is reset here: a
	 * field added to it must be added below. */
	r->chunk_bytes = r->nchunks = r->started = r->finished = 0;
	r->status = 0;
	r->detached = r->cancelled = r->claimed = r->queued = false;
	r->start_ns = r->end_ns = 0;
	r->next = r->prev = NULL;
	atomic_init(&r->done, 0);
	return r;
}

static void par_request_put(struct aml_dma_par_state *st, struct par_request *r)
{
	aml_handle_put(&st->requests, r);
}

/* The request @p handle names, if a wait or cancel may take it: live,
 * returned to a caller, and not taken already. */
static inline struct par_request *
par_request_find(struct aml_dma_par_state *st, struct aml_dma_request *handle)
{
	struct par_request *r =
	        aml_handle_find(&st->requests, (uintptr_t)handle);
	if (r == NULL || r->detached || r->claimed)
		return NULL;
	return r;
}

static struct aml_dma_request *par_handle(struct aml_dma_par_state *st,
                                          const struct par_request *r)
{
	return (struct aml_dma_request *)aml_handle_of(&st->requests, r);
}

static void par_dequeue(struct aml_dma_par_state *st, struct par_request *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		st->head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	else
		st->tail = r->prev;
	r->next = r->prev = NULL;
	r->queued = false;
}

static void par_end(struct aml_dma_par_state *st, struct par_request *r)
{
	st->inflight--;
	if (r->end_ns > st->ended_ns)
		st->ended_ns = r->end_ns;
	if (r->detached) {
		if (r->status != 0 && st->detached_error == 0)
			st->detached_error = r->status;
		par_request_put(st, r);
	} else {
		atomic_store_explicit(&r->done, 1, memory_order_release);
	}
	if (st->sleeping_waiters > 0)
		pthread_cond_broadcast(&st->ended);
}

/*
 * Copy chunk c of r: called and returns with the lock held, drops it
 * around the copy.
 */
static void
par_run_chunk(struct aml_dma_par_state *st, struct par_request *r, size_t c)
{
	bool skip = r->cancelled;
	pthread_mutex_unlock(&st->lock);
	int err = 0;
	uint64_t end_ns = 0;
	if (!skip) {
		size_t begin = c * r->chunk_bytes;
		size_t end = begin + r->chunk_bytes;
		if (end > r->plan.bytes)
			end = r->plan.bytes;
		/* In modelled time, a chunk starts once both the request was
		 * submitted and this thread is free. */
		aml_topology_thread_wait_until(st->charged, r->start_ns);
		err = aml_dma_plan_copy(&r->plan, begin, end, st->charged);
		end_ns = aml_topology_thread_time(st->charged);
	}
	pthread_mutex_lock(&st->lock);
	if (end_ns > r->end_ns)
		r->end_ns = end_ns;
	if (err != 0 && r->status == 0)
		r->status = err;
	if (++r->finished == r->nchunks && !r->queued)
		par_end(st, r);
}

/* Hand out the next chunk of r (queued); under the lock. */
static size_t par_take(struct aml_dma_par_state *st, struct par_request *r)
{
	size_t c = r->started++;
	atomic_fetch_sub_explicit(&st->pending, 1, memory_order_relaxed);
	if (r->started == r->nchunks)
		par_dequeue(st, r);
	return c;
}

/* ---- Workers ---- */

/* Spin until chunks are pending or the engine stops, at most spin_ns. */
static void par_spin_for_work(struct aml_dma_par_state *st)
{
	uint64_t deadline = par_now_ns() + st->options.spin_ns;
	for (unsigned i = 1;; i++) {
		if (atomic_load_explicit(&st->pending, memory_order_relaxed) >
		            0 ||
		    atomic_load_explicit(&st->stopping, memory_order_relaxed))
			return;
		par_pause();
		if (i % 64 == 0 && par_now_ns() >= deadline)
			return;
	}
}

static void *par_worker(void *arg)
{
	struct aml_dma_par_state *st = arg;
	pthread_mutex_lock(&st->lock);
	for (;;) {
		struct par_request *r = st->head;
		if (r != NULL) {
			size_t c = par_take(st, r);
			par_run_chunk(st, r, c);
			continue;
		}
		if (atomic_load(&st->stopping))
			break;
		pthread_mutex_unlock(&st->lock);
		par_spin_for_work(st);
		pthread_mutex_lock(&st->lock);
		if (st->head != NULL || atomic_load(&st->stopping))
			continue;
		st->sleeping_workers++;
		pthread_cond_wait(&st->work, &st->lock);
		st->sleeping_workers--;
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* Start workers up to nworkers: all of them at init, again in a child of
 * fork(), which has none. Stops at the first that cannot start. Under the
 * lock (the new workers wait for it). */
static void par_start_workers(struct aml_dma_par_state *st)
{
	while (st->nthreads < st->options.nworkers &&
	       pthread_create(&st->threads[st->nthreads], NULL, par_worker,
	                      st) == 0)
		st->nthreads++;
}

/* Whether waiters and barriers copy queued chunks themselves: always,
 * except where time is modelled and workers run. There the copy belongs
 * to the workers' clocks, or it would never overlap the waiter's work in
 * the model (whether the waiter arrives before a worker takes the chunks
 * is a matter of real time, which the model ignores). Under the lock. */
static bool par_helps(const struct aml_dma_par_state *st)
{
	return st->charged == NULL || st->nthreads == 0;
}

/* ---- Ops ---- */

static struct aml_dma_par_state *par_state(struct aml_dma *dma)
{
	return ((struct aml_dma_par *)dma->data)->state;
}

/* Chunks for a copy of bytes: one, or enough to keep every thread busy. */
static void par_cut(const struct aml_dma_par_state *st, struct par_request *r)
{
	size_t bytes = r->plan.bytes;
	size_t chunk = st->options.chunk_size;
	size_t n = 1;
	if (bytes >= 2 * chunk) {
		size_t most =
		        PAR_CHUNKS_PER_THREAD * (st->options.nworkers + 1);
		n = bytes / chunk < most ? bytes / chunk : most;
	}
	size_t per = (bytes + n - 1) / n;
	per = (per + PAR_CHUNK_ALIGN - 1) / PAR_CHUNK_ALIGN * PAR_CHUNK_ALIGN;
	r->chunk_bytes = per;
	r->nchunks = (bytes + per - 1) / per;
}

static int par_submit_inline(struct aml_dma_par_state *st,
                             struct aml_dma_request **out,
                             const struct aml_dma_plan *plan)
{
	struct par_request *r = NULL;
	struct aml_dma_request *handle = NULL;
	if (out != NULL) {
		/* Taken first: AML_ENOMEM must mean nothing was copied. */
		pthread_mutex_lock(&st->lock);
		r = par_request_get(st);
		if (r != NULL)
			handle = par_handle(st, r);
		pthread_mutex_unlock(&st->lock);
		if (r == NULL)
			return AML_ENOMEM;
	}
	int err = aml_dma_plan_copy(plan, 0, plan->bytes, st->charged);
	if (r != NULL) {
		/* Ours until the handle is out: no lock needed. */
		r->status = err;
		atomic_store_explicit(&r->done, 1, memory_order_release);
		*out = handle;
	} else if (err != 0) {
		pthread_mutex_lock(&st->lock);
		if (st->detached_error == 0)
			st->detached_error = err;
		pthread_mutex_unlock(&st->lock);
	}
	return 0;
}

static int par_enqueue(struct aml_dma_par_state *st,
                       struct aml_dma_request **out,
                       const struct aml_dma_plan *plan)
{
	if (atomic_load(&st->stopping))
		return AML_EINVAL;
	if (plan->bytes <= st->options.inline_max)
		return par_submit_inline(st, out, plan);

	pthread_mutex_lock(&st->lock);
	if (st->nthreads < st->options.nworkers)
		par_start_workers(st); /* a child of fork() */
	struct par_request *r = par_request_get(st);
	if (r == NULL) {
		pthread_mutex_unlock(&st->lock);
		return AML_ENOMEM;
	}
	r->plan = *plan;
	r->detached = out == NULL;
	r->start_ns = aml_topology_thread_time(st->charged);
	par_cut(st, r);
	r->queued = true;
	r->prev = st->tail;
	if (st->tail != NULL)
		st->tail->next = r;
	else
		st->head = r;
	st->tail = r;
	atomic_fetch_add_explicit(&st->pending, r->nchunks,
	                          memory_order_relaxed);
	st->inflight++;
	if (st->sleeping_workers > 0) {
		if (r->nchunks > 1)
			pthread_cond_broadcast(&st->work);
		else
			pthread_cond_signal(&st->work);
	}
	if (out != NULL)
		*out = par_handle(st, r);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

static int par_submit(struct aml_dma *dma,
                      struct aml_dma_request **out,
                      const struct aml_layout *dst,
                      const struct aml_layout *src)
{
	struct aml_dma_plan plan;
	int err = aml_dma_plan_layouts(&plan, dst, src);
	return err != 0 ? err : par_enqueue(par_state(dma), out, &plan);
}

static int par_submit_bytes(struct aml_dma *dma,
                            struct aml_dma_request **out,
                            void *dst,
                            const void *src,
                            size_t size)
{
	struct aml_dma_plan plan;
	int err = aml_dma_plan_bytes(&plan, dst, src, size);
	return err != 0 ? err : par_enqueue(par_state(dma), out, &plan);
}

/* Copy r's chunks still queued, where waiters help; lock held. */
static void par_help(struct aml_dma_par_state *st, struct par_request *r)
{
	if (st->nthreads < st->options.nworkers)
		par_start_workers(st); /* a child of fork() */
	while (r->queued && par_helps(st)) {
		size_t c = par_take(st, r);
		par_run_chunk(st, r, c);
	}
}

/* Spin, then sleep, until r has ended. Called without the lock, returns
 * with it: the caller frees the request next. */
static void par_wait_ended(struct aml_dma_par_state *st, struct par_request *r)
{
	uint64_t deadline = par_now_ns() + st->options.spin_ns;
	for (unsigned i = 1;
	     !atomic_load_explicit(&r->done, memory_order_acquire); i++) {
		par_pause();
		if (i % 64 == 0 && par_now_ns() >= deadline)
			break;
	}
	pthread_mutex_lock(&st->lock);
	if (atomic_load_explicit(&r->done, memory_order_acquire))
		return;
	st->sleeping_waiters++;
	while (!atomic_load_explicit(&r->done, memory_order_acquire))
		pthread_cond_wait(&st->ended, &st->lock);
	st->sleeping_waiters--;
}

static int par_wait(struct aml_dma *dma, struct aml_dma_request *handle)
{
	struct aml_dma_par_state *st = par_state(dma);
	pthread_mutex_lock(&st->lock);
	struct par_request *r = par_request_find(st, handle);
	if (r == NULL) {
		pthread_mutex_unlock(&st->lock);
		return AML_EINVAL;
	}
	if (!atomic_load_explicit(&r->done, memory_order_acquire)) {
		/* Taken: the lock may drop from here. */
		r->claimed = true;
		par_help(st, r);
		pthread_mutex_unlock(&st->lock);
		par_wait_ended(st, r);
	}
	uint64_t end_ns = r->end_ns;
	int status = r->status;
	par_request_put(st, r);
	pthread_mutex_unlock(&st->lock);
	/* The waiter resumes, in modelled time, when the copy ended. */
	aml_topology_thread_wait_until(st->charged, end_ns);
	return status;
}

static int par_cancel(struct aml_dma *dma, struct aml_dma_request *handle)
{
	struct aml_dma_par_state *st = par_state(dma);
	pthread_mutex_lock(&st->lock);
	struct par_request *r = par_request_find(st, handle);
	if (r == NULL) {
		pthread_mutex_unlock(&st->lock);
		return AML_EINVAL;
	}
	r->claimed = true;
	bool ended = atomic_load_explicit(&r->done, memory_order_acquire);
	if (!ended) {
		r->cancelled = true;
		if (r->queued) {
			/* Chunks not handed out are dropped; running ones
			 * finish, and the last of them ends the request. */
			atomic_fetch_sub_explicit(&st->pending,
			                          r->nchunks - r->started,
			                          memory_order_relaxed);
			r->nchunks = r->started;
			par_dequeue(st, r);
			if (r->finished == r->nchunks)
				par_end(st, r);
		}
	}
	pthread_mutex_unlock(&st->lock);
	par_wait_ended(st, r);
	par_request_put(st, r);
	pthread_mutex_unlock(&st->lock);
	return ended ? 1 : 0;
}

static int par_barrier_locked(struct aml_dma_par_state *st)
{
	while (st->head != NULL && par_helps(st)) {
		struct par_request *r = st->head;
		size_t c = par_take(st, r);
		par_run_chunk(st, r, c);
	}
	st->sleeping_waiters++;
	while (st->inflight > 0)
		pthread_cond_wait(&st->ended, &st->lock);
	st->sleeping_waiters--;
	int err = st->detached_error;
	st->detached_error = 0;
	aml_topology_thread_wait_until(st->charged, st->ended_ns);
	return err;
}

static int par_barrier(struct aml_dma *dma)
{
	struct aml_dma_par_state *st = par_state(dma);
	pthread_mutex_lock(&st->lock);
	if (st->nthreads < st->options.nworkers)
		par_start_workers(st); /* a child of fork() */
	int err = par_barrier_locked(st);
	pthread_mutex_unlock(&st->lock);
	return err;
}

static const struct aml_dma_ops aml_dma_par_ops = {
        .submit = par_submit,
        .submit_bytes = par_submit_bytes,
        .wait = par_wait,
        .cancel = par_cancel,
        .barrier = par_barrier,
};

/* ---- fork() ---- */

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
		par_end(st, r);
		return;
	}
	if (r->finished == r->started)
		return; /* nothing was being copied */
	/* Which chunks were running is unknown: copy again from the first
	 * (a copy of the same source, so the chunks done are unchanged). */
	r->started = r->finished = 0;
	if (!r->queued) {
		r->queued = true;
		r->next = NULL;
		r->prev = st->tail;
		if (st->tail != NULL)
			st->tail->next = r;
		else
			st->head = r;
		st->tail = r;
	}
}

static void par_fork_child(struct aml_fork_hook *hook)
{
	struct aml_dma_par_state *st = par_forked(hook);
	aml_fork_mutex_child(hook);
	pthread_cond_init(&st->work, NULL);
	pthread_cond_init(&st->ended, NULL);
	st->nthreads = 0;
	st->sleeping_workers = st->sleeping_waiters = 0;
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
}

static const struct aml_fork_ops par_fork_ops = {
        .level = AML_FORK_DMA,
        .prepare = aml_fork_mutex_prepare,
        .parent = aml_fork_mutex_parent,
        .child = par_fork_child,
};

/* ---- Construction ---- */

static size_t par_default_workers(void)
{
	cpu_set_t set;
	size_t cpus = 1;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		cpus = (size_t)CPU_COUNT(&set);
	return cpus > 1 ? cpus - 1 : 1;
}

static int par_resolve(struct aml_dma_par_options *out,
                       const struct aml_dma_par_options *in)
{
	struct aml_dma_par_options o = {0};
	if (in != NULL)
		o = *in;
	if (o.nworkers == 0)
		o.nworkers = par_default_workers();
	if (o.nworkers > AML_DMA_PAR_WORKERS_MAX)
		return AML_EINVAL;
	if (o.chunk_size == 0)
		o.chunk_size = PAR_CHUNK_SIZE_DEFAULT;
	if (o.chunk_size > PTRDIFF_MAX / 2)
		return AML_EINVAL;
	if (o.inline_max == 0)
		o.inline_max = PAR_INLINE_MAX_DEFAULT;
	else if (o.inline_max == AML_DMA_PAR_NO_INLINE)
		o.inline_max = 0;
	if (o.spin_ns == 0)
		o.spin_ns = PAR_SPIN_NS_DEFAULT;
	*out = o;
	return 0;
}

/* The lock and condition variables; AML_ENOMEM, with none left, when one
 * cannot be made (only a lack of resources fails default ones). */
static int par_sync_init(struct aml_dma_par_state *st)
{
	if (pthread_mutex_init(&st->lock, NULL) != 0)
		return AML_ENOMEM;
	if (pthread_cond_init(&st->work, NULL) != 0)
		goto err_lock;
	if (pthread_cond_init(&st->ended, NULL) != 0)
		goto err_work;
	return 0;

err_work:
	pthread_cond_destroy(&st->work);
err_lock:
	pthread_mutex_destroy(&st->lock);
	return AML_ENOMEM;
}

static void par_free_state(struct aml_dma_par_state *st)
{
	aml_handle_pool_fini(&st->requests);
	pthread_cond_destroy(&st->work);
	pthread_cond_destroy(&st->ended);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* Stop and join the first n workers. */
static void par_stop(struct aml_dma_par_state *st, size_t n)
{
	pthread_mutex_lock(&st->lock);
	atomic_store(&st->stopping, true);
	pthread_cond_broadcast(&st->work);
	pthread_mutex_unlock(&st->lock);
	for (size_t i = 0; i < n; i++)
		pthread_join(st->threads[i], NULL);
}

int aml_dma_par_init(struct aml_dma_par *dma,
                     const struct aml_topology *topology,
                     const struct aml_dma_par_options *options)
{
	/* Storage that holds a live engine is left to it (aml/src/fork.h). */
	if (dma == NULL || aml_fork_registered(AML_FORK_DMA, dma))
		return AML_EINVAL;
	/* Finalised until the end: on error, fini skips the storage and
	 * every call refuses it, whatever it held. */
	*dma = (struct aml_dma_par){.state = NULL};
	struct aml_dma_par_options o;
	if (par_resolve(&o, options) != 0)
		return AML_EINVAL;
	struct aml_dma_par_state *st =
	        calloc(1, sizeof(*st) + o.nworkers * sizeof(pthread_t));
	if (st == NULL)
		return AML_ENOMEM;
	if (par_sync_init(st) != 0) {
		free(st);
		return AML_ENOMEM;
	}
	st->options = o;
	st->charged = aml_topology_charging(topology);
	atomic_init(&st->pending, 0);
	atomic_init(&st->stopping, false);
	aml_handle_pool_init(&st->requests, sizeof(struct par_request));
	pthread_mutex_lock(&st->lock);
	par_start_workers(st);
	bool started = st->nthreads == o.nworkers;
	pthread_mutex_unlock(&st->lock);
	if (!started) {
		par_stop(st, st->nthreads);
		par_free_state(st);
		return AML_FAILURE;
	}
	/* Last: a child forked before this never sees the engine. */
	aml_fork_register_object(&st->fork, &par_fork_ops, dma, &st->lock);
	*dma = (struct aml_dma_par){
	        .base = {.ops = &aml_dma_par_ops, .data = dma},
	        .state = st,
	};
	return 0;
}

void aml_dma_par_fini(struct aml_dma_par *dma)
{
	if (dma == NULL || dma->state == NULL)
		return;
	struct aml_dma_par_state *st = dma->state;
	aml_fork_unregister(&st->fork);
	pthread_mutex_lock(&st->lock);
	(void)par_barrier_locked(st);
	pthread_mutex_unlock(&st->lock);
	par_stop(st, st->nthreads);
	par_free_state(st);
	dma->state = NULL;
	dma->base.ops = NULL;
	dma->base.data = NULL;
}

int aml_dma_par_options(const struct aml_dma_par *dma,
                        struct aml_dma_par_options *out)
{
	if (dma == NULL || dma->state == NULL || out == NULL)
		return AML_EINVAL;
	*out = dma->state->options;
	if (out->inline_max == 0)
		out->inline_max = AML_DMA_PAR_NO_INLINE;
	return 0;
}

int aml_dma_par_create(struct aml_dma **out,
                       const struct aml_topology *topology,
                       const struct aml_dma_par_options *options)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_dma_par *dma = malloc(sizeof(*dma));
	if (dma == NULL)
		return AML_ENOMEM;
	int err = aml_dma_par_init(dma, topology, options);
	if (err != 0) {
		free(dma);
		return err;
	}
	*out = &dma->base;
	return 0;
}

void aml_dma_par_destroy(struct aml_dma **dma)
{
	if (dma == NULL || *dma == NULL || (*dma)->ops != &aml_dma_par_ops)
		return;
	struct aml_dma_par *self = (*dma)->data;
	aml_dma_par_fini(self);
	free(self);
	*dma = NULL;
}
