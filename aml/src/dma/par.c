/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The parallel engine (aml/dma/par.h).
 *
 * One mutex guards the queue, the counters and the request lists; copying
 * happens outside it. A request is cut into chunks of the copy's byte
 * stream (aml/dma/plan.h); it stays in the queue until every chunk has
 * been handed out, and ends when every chunk handed out has finished.
 *
 * Hand-offs: a worker with nothing to do spins on the atomic count of
 * pending chunks for spin_ns, then sleeps on `work`; a waiter spins on its
 * request's atomic `done` flag, then sleeps on `ended`. Signals are sent
 * only when someone sleeps, so a hand-off within the spin window costs no
 * system call. Every spin yields now and then (par_relax): on a machine
 * with few CPUs, the thread spun for may be waiting for the spinner's.
 * The lock is spun for before sleeping (par_lock), so that an unlock
 * seldom has a sleeper to wake. Waiters and the barrier copy chunks of the
 * queue themselves before they wait: a synchronous copy uses the calling
 * thread too, and never waits for a sleeping worker to wake up; outside
 * modelled time, a waiter whose request a worker holds copies the queue's
 * head meanwhile, as a work-stealing runtime's waiting thread runs other
 * tasks. A worker hands itself a batch of the queue's first chunks at
 * once (par_run_batch), so that small requests submitted back to back
 * cost it one acquisition of the lock per batch, and leave the lock to
 * the submitter.
 *
 * Requests are records of a handle pool (aml/src/handle.h), never freed
 * before fini: waited ones go back to the pool's free list, so a long run
 * of submissions allocates only up to its peak in flight. The handle a
 * caller gets names a record and its generation; wait and cancel find the
 * record under the lock, and claim it, so a handle waited twice, waited by
 * two threads at once, or given to another engine is refused and changes
 * nothing. A waiter that saw its request end without the lock pushes it on
 * the released stack (par_release) rather than take the lock back, which
 * the worker that ended it may still hold; the next submission puts the
 * stack back in the pool. Claimed until then, such a request is spent.
 *
 * Small contiguous copies where no model watches skip all of this: they
 * go to the submitting thread's lane (par_lane.c), which takes no lock;
 * workers look at the lanes when the queue is empty, and waiters and
 * barriers of lane copies copy lane requests.
 *
 * This file is the engine at work. The state and requests are in
 * par_internal.h, shared with par_init.c (construction) and par_fork.c
 * (repair in a child of fork()). In such a child, workers start again when
 * a copy is queued, waited or barriered; where they cannot be started,
 * waiters and barriers copy the chunks themselves, modelled time or not,
 * so that nothing waits for a worker that does not exist.
 *
 * Modelled time: chunks are copied through the engine's copier
 * (aml/copier.h). When it models time, each chunk's cost is what the
 * copier charged the thread that copied it, and requests end in
 * submission order: ending one lays its chunks, in order, on nworkers
 * modelled workers (par_model), no chunk starting before the submission.
 * So the same calls give the same modelled times, whichever thread
 * happened to take which chunk and whenever it ran. A waiter resumes at
 * its request's end, and waiters leave chunks to the workers
 * (par_helps). A copier that does not model time makes every clock call
 * a no-op, and par_helps always true.
 *
 * Delay mode (the copier delays in wall-clock time, aml/copier.h): the
 * workers copy undelayed, and a request's waiter resumes at its wall time
 * of submission plus the copier's wall time for its modelled duration
 * (par_delay), the hand-off included. Spinning is arranged so that the
 * hand-off fits in that wait on a machine with few CPUs (par_idle,
 * par_wait_spin, par_relax).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <aml/copier.h>
#include <aml/dma/par.h>
#include <aml/dma/plan.h>
#include <aml/error.h>

#include "aml/src/dma/par_internal.h"
#include "aml/src/fork.h"
#include "aml/src/handle.h"

/* Chunks start on cache-line boundaries of the stream. */
#define PAR_CHUNK_ALIGN 64

/* Spin steps (par_relax) an idle worker leaves fewer than PAR_BATCH_MAX
 * pending chunks to gather, if their number does not change: about a
 * microsecond, a few submissions (par_spin_for_work). */
#define PAR_GATHER_STEPS 16

/* now + ns, saturated. */
static uint64_t par_deadline(uint64_t ns)
{
	uint64_t now = aml_dma_par_now_ns();
	return ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
}

/* Whether the copier delays now (delay mode, aml/copier.h): a copier that
 * delays gives at least 1 ns of wall time per modelled ns. */
static bool par_delaying(const struct aml_dma_par_state *st)
{
	return st->delays && st->copier->ops->wall_ns(st->copier, 1) != 0;
}

/* Spin steps between two yields of a spinner (par_relax). */
#define PAR_YIELD_EVERY 16

/* The same for delay mode's one spinning worker (par_idle): about 10 us
 * of spinning. A yield is a system call, which takes microseconds on a
 * virtual machine; work that came meanwhile waited for it, past the
 * deadline of a small copy's dilated model. With a yield every 16 steps,
 * 4 of 18 runs had the p90 of a 4 KiB copy on the fastest tier 1.28 to
 * 1.51 times its model; with one every 256, none of 18 was past 1.06
 * (emulator_bench delayed_copy/par2/4096/1, alternate runs). */
#define PAR_DELAY_YIELD_EVERY 256

/* One step of a spin that yields every period steps (par_relax). */
static inline void par_relax_every(unsigned i, unsigned period)
{
	if (i % period == 0)
		sched_yield();
	else
		aml_dma_par_pause();
}

/* One step of a spin for another thread's progress (work to take, a copy
 * to end, the lock). The thread waited for may be queued behind the
 * spinner on the same CPU: on a machine with few CPUs, or busy with other
 * work, that is the common case (and in delay mode, where every waiting
 * thread busy-waits, always). So yield now and then, which costs a system
 * call where nobody else is runnable: a spinner that does not yield keeps
 * the thread it waits for off its CPU for the rest of its time slice. */
static inline void par_relax(unsigned i)
{
	par_relax_every(i, PAR_YIELD_EVERY);
}

/* Attempts at the engine's lock before sleeping for it: a few
 * microseconds, longer than anyone holds it (never across a copy). */
#define PAR_LOCK_SPINS 256

/* Take the engine's lock, spinning for it first: a thread that sleeps for
 * it makes its holder's unlock a system call (a futex wake), which costs
 * the submitter microseconds per request when a worker takes chunks as
 * they come. */
static void par_lock(struct aml_dma_par_state *st)
{
	for (unsigned i = 0; i < PAR_LOCK_SPINS; i++) {
		if (pthread_mutex_trylock(&st->lock) == 0)
			return;
		par_relax(i + 1);
	}
	pthread_mutex_lock(&st->lock);
}

/* The calling thread's modelled time; 0 where the copier models none. */
static inline uint64_t par_clock(const struct aml_dma_par_state *st)
{
	return st->models_time ? st->copier->ops->thread_time(st->copier) : 0;
}

/* Move the calling thread's modelled time forward to ns, if modelled. */
static inline void par_clock_wait_until(const struct aml_dma_par_state *st,
                                        uint64_t ns)
{
	if (st->models_time)
		st->copier->ops->thread_wait_until(st->copier, ns);
}

/* ---- Requests (under the lock) ---- */

static struct par_request *par_request_get(struct aml_dma_par_state *st)
{
	aml_dma_par_reclaim(st);
	struct par_request *r = aml_handle_get(&st->requests);
	if (r == NULL)
		return NULL;
	/* Field by field: the plan (a few hundred bytes) is written by
	 * par_enqueue when the request is queued, and never read otherwise,
	 * so a 4 KiB inline copy does not pay for clearing it, and
	 * chunk_ns by par_submit for the chunks the copy has. Every other
	 * field of struct par_request but the pool's head is reset here: a
	 * field added to it must be added below. */
	r->chunk_bytes = r->nchunks = r->started = r->finished = 0;
	r->status = 0;
	r->detached = r->cancelled = r->claimed = r->queued = false;
	r->start_ns = r->end_ns = 0;
	r->wall_start_ns = r->wall_end_ns = 0;
	r->copied = false;
	r->next = r->prev = r->order_next = r->released_next = NULL;
	atomic_init(&r->done, 0);
	return r;
}

static void par_request_put(struct aml_dma_par_state *st, struct par_request *r)
{
	aml_handle_put(&st->requests, r);
}

/* Without the lock: r, ended and claimed by the calling waiter, which is
 * done with it, goes back to the pool at the next reclaim. A waiter that
 * saw its request end thus returns at once, rather than take the lock
 * the worker that ended it still holds. */
static void par_release(struct aml_dma_par_state *st, struct par_request *r)
{
	struct par_request *top =
	        atomic_load_explicit(&st->released, memory_order_relaxed);
	do
		r->released_next = top;
	while (!atomic_compare_exchange_weak_explicit(&st->released, &top, r,
	                                              memory_order_release,
	                                              memory_order_relaxed));
}

void aml_dma_par_reclaim(struct aml_dma_par_state *st)
{
	if (atomic_load_explicit(&st->released, memory_order_relaxed) == NULL)
		return;
	struct par_request *r = atomic_exchange_explicit(&st->released, NULL,
	                                                 memory_order_acquire);
	while (r != NULL) {
		struct par_request *next = r->released_next;
		par_request_put(st, r);
		r = next;
	}
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

/* Lay r's chunks, in order, on the model's workers: each on the one free
 * first, starting no earlier than r's submission; r ends with the last. */
static void par_model(struct aml_dma_par_state *st, struct par_request *r)
{
	uint64_t end = r->start_ns;
	size_t lanes = st->options.nworkers;
	for (size_t c = 0; c < r->nchunks; c++) {
		size_t l = 0;
		for (size_t i = 1; i < lanes; i++) {
			if (st->lane_ns[i] < st->lane_ns[l])
				l = i;
		}
		uint64_t start = st->lane_ns[l] > r->start_ns ? st->lane_ns[l]
		                                              : r->start_ns;
		uint64_t done;
		if (__builtin_add_overflow(start, r->chunk_ns[c], &done))
			done = UINT64_MAX; /* modelled time saturates */
		st->lane_ns[l] = done;
		if (done > end)
			end = done;
	}
	r->end_ns = end;
}

/* r has ended, in submission order. */
static void par_finish(struct aml_dma_par_state *st, struct par_request *r)
{
	if (st->models_time)
		par_model(st, r);
	/* wall_start_ns is 0 if it was submitted outside delay mode. */
	if (st->delays && r->wall_start_ns != 0) {
		uint64_t wall = st->copier->ops->wall_ns(
		        st->copier, r->end_ns - r->start_ns);
		if (__builtin_add_overflow(r->wall_start_ns, wall,
		                           &r->wall_end_ns))
			r->wall_end_ns = UINT64_MAX;
		if (r->wall_end_ns > st->ended_wall_ns)
			st->ended_wall_ns = r->wall_end_ns;
	}
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
}

void aml_dma_par_end(struct aml_dma_par_state *st, struct par_request *r)
{
	r->copied = true;
	bool ended = false;
	if (!st->models_time) {
		/* No model to keep in order: ends at once. */
		par_finish(st, r);
		ended = true;
	}
	while (st->order_head != NULL && st->order_head->copied) {
		struct par_request *h = st->order_head;
		st->order_head = h->order_next;
		if (st->order_head == NULL)
			st->order_tail = NULL;
		h->order_next = NULL;
		par_finish(st, h);
		ended = true;
	}
	if (ended && st->sleeping_waiters > 0)
		pthread_cond_broadcast(&st->ended);
}

/* A chunk handed out: what its copy left to record under the lock. */
struct par_chunk {
	struct par_request *r;
	size_t c;
	/* Read under the lock when handed out. */
	bool skip;
	int err;
	uint64_t cost;
};

/* Copy chunk k->c of k->r, without the lock, unless skipped. */
static void par_copy_chunk(const struct aml_dma_par_state *st,
                           struct par_chunk *k)
{
	k->err = 0;
	k->cost = 0;
	if (k->skip)
		return;
	const struct par_request *r = k->r;
	size_t begin = k->c * r->chunk_bytes;
	size_t end = begin + r->chunk_bytes;
	if (end > r->plan.bytes)
		end = r->plan.bytes;
	/* What the copier charges this thread for the chunk: when it starts
	 * is the model's business (par_model). */
	uint64_t before = par_clock(st);
	k->err = aml_dma_plan_copy(&r->plan, begin, end, st->copier);
	k->cost = par_clock(st) - before;
}

/* Record chunk k as finished; under the lock. Its request ends with its
 * last chunk. */
static void par_finish_chunk(struct aml_dma_par_state *st,
                             const struct par_chunk *k)
{
	struct par_request *r = k->r;
	r->chunk_ns[k->c] = k->cost;
	if (k->err != 0 && r->status == 0)
		r->status = k->err;
	if (++r->finished == r->nchunks && !r->queued)
		aml_dma_par_end(st, r);
}

/*
 * Copy chunk c of r: called and returns with the lock held, drops it
 * around the copy.
 */
static void
par_run_chunk(struct aml_dma_par_state *st, struct par_request *r, size_t c)
{
	struct par_chunk k = {.r = r, .c = c, .skip = r->cancelled};
	pthread_mutex_unlock(&st->lock);
	par_copy_chunk(st, &k);
	par_lock(st);
	par_finish_chunk(st, &k);
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

/* Spin until chunks are pending or the engine stops, at most ns. With
 * gather, pending chunks are left for PAR_GATHER_STEPS steps while their
 * number grows, up to a batch: a submitter in a run of small requests
 * then hands them over a batch at a time, rather than meet the worker at
 * the lock on each, and a waiter that copies its own request at once
 * (par_help) finds no worker contending for it. With leave_one (delay
 * mode's yielding spinners, par_idle), a lone chunk is left for
 * PAR_GATHER_STEPS steps to the spinner that spins as usual, if one
 * does: it takes it sooner, and the yielding spinner stays off the CPUs
 * rather than take a chunk and spin again. */
static void par_spin_for_work(struct aml_dma_par_state *st,
                              uint64_t ns,
                              bool gather,
                              bool leave_one,
                              unsigned yield_every)
{
	uint64_t deadline = par_deadline(ns);
	size_t seen = 0;
	unsigned still = 0;
	for (unsigned i = 1;; i++) {
		if (atomic_load_explicit(&st->stopping, memory_order_relaxed))
			return;
		size_t p = atomic_load_explicit(&st->pending,
		                                memory_order_relaxed) +
		           aml_dma_par_lanes_pending(st);
		size_t left =
		        leave_one ? atomic_load_explicit(&st->spinners,
		                                         memory_order_relaxed)
		                  : 0;
		if (p > left && (!gather || p >= PAR_BATCH_MAX))
			return;
		if (p > 0 && p == seen) {
			if (++still >= PAR_GATHER_STEPS)
				return;
		} else {
			seen = p;
			still = 0;
		}
		par_relax_every(i, yield_every);
		if (i % 64 == 0 && aml_dma_par_now_ns() >= deadline)
			return;
	}
}

/* An idle worker, without the lock: spin for work, then return (to sleep
 * unless work came); worked says whether it has just copied. In delay
 * mode one idle worker spins for PAR_DELAY_SPIN_NS, yielding seldom
 * (PAR_DELAY_YIELD_EVERY), and takes small copies at once; the others, after
 * work, spin as long but yield at every step, so that they leave the CPUs to it
 * and to the threads that wait for copies and busy-wait too (par_delay). A
 * wake-up costs tens of microseconds here (more when the CPU it lands on idles:
 * a virtual CPU is halted), which a copy's dilated model cannot absorb, and
 * copies cut in chunks back to back need every worker each time. A worker that
 * has not worked sleeps: when every one spun from the start, 4 KiB copies came
 * out up to 1.9 times late at p90 in some runs (by the look of it, a waiter and
 * the spinner had been put on one CPU, where each hand-off costs two switches).
 *
 * Outside delay mode, where the workers alone fill every CPU (nworkers >=
 * ncpus), one idle worker spins and the others park: they sleep without
 * counting in lane_sleepers, so that lane submissions do not wake them
 * (queue submissions and their 10 ms timeout do). A waiter copies too, so
 * a second spinner made three threads on two CPUs: each spinner took a
 * CPU from the thread it waited for until it yielded. Returns false for a
 * worker that parks.
 */
static bool par_idle(struct aml_dma_par_state *st, bool worked)
{
	if (!par_delaying(st)) {
		size_t none = 0;
		if (st->options.nworkers >= st->ncpus &&
		    !atomic_compare_exchange_strong(&st->spinners, &none, 1))
			return false;
		par_spin_for_work(st, st->options.spin_ns, true, false,
		                  PAR_YIELD_EVERY);
		if (st->options.nworkers >= st->ncpus)
			atomic_store(&st->spinners, 0);
		return true;
	}
	uint64_t ns = st->options.spin_ns > PAR_DELAY_SPIN_NS
	                      ? st->options.spin_ns
	                      : PAR_DELAY_SPIN_NS;
	size_t none = 0;
	if (atomic_compare_exchange_strong(&st->spinners, &none, 1)) {
		par_spin_for_work(st, ns, false, false, PAR_DELAY_YIELD_EVERY);
		atomic_store(&st->spinners, 0);
		return true;
	}
	/* Only after work: copies of a single chunk, which the other
	 * spinner takes, never wake it, and it stays asleep. */
	if (!worked)
		return true;
	atomic_fetch_add(&st->yielding_spinners, 1);
	par_spin_for_work(st, ns, false, true, 1);
	atomic_fetch_sub(&st->yielding_spinners, 1);
	return true;
}

/* Hand out to a worker the queue's first chunks, up to PAR_BATCH_BYTES
 * (one at least, PAR_BATCH_MAX at most), copy them without the lock and
 * record them under it; called and returns with the lock held. Small
 * requests submitted back to back thus cost the worker one acquisition of
 * the lock per batch, not two per request, which leaves the lock to the
 * submitter. In delay mode one chunk at a time: a request ends as soon
 * as it is copied, so that its waiter resumes in time (par_delay). */
static void par_run_batch(struct aml_dma_par_state *st)
{
	struct par_chunk batch[PAR_BATCH_MAX];
	size_t n = 0, bytes = 0;
	size_t most = st->delays ? 1 : PAR_BATCH_MAX;
	do {
		struct par_request *r = st->head;
		bytes += r->chunk_bytes;
		batch[n] = (struct par_chunk){.r = r, .skip = r->cancelled};
		batch[n].c = par_take(st, r);
		n++;
	} while (n < most && st->head != NULL &&
	         bytes + st->head->chunk_bytes <= PAR_BATCH_BYTES);
	pthread_mutex_unlock(&st->lock);
	for (size_t i = 0; i < n; i++)
		par_copy_chunk(st, &batch[i]);
	par_lock(st);
	for (size_t i = 0; i < n; i++)
		par_finish_chunk(st, &batch[i]);
}

/* Sleep until work comes; lock held. Submitters to a lane wake a
 * sleeper only if they see lane_sleepers set, which they read without a
 * fence (par_lane.c): where lanes exist, sleep for 10 ms at most, so
 * that a wake-up missed that way costs that much at most (a waiter copies
 * its own copy meanwhile). A parked worker (par_idle) is not counted in
 * lane_sleepers: only the queue and the timeout wake it. */
static void par_sleep_for_work(struct aml_dma_par_state *st, bool parked)
{
	st->sleeping_workers++;
	if (!parked)
		atomic_fetch_add(&st->lane_sleepers, 1);
	if (atomic_load_explicit(&st->nlanes, memory_order_relaxed) > 0) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 10000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_nsec -= 1000000000;
			until.tv_sec++;
		}
		pthread_cond_timedwait(&st->work, &st->lock, &until);
	} else {
		pthread_cond_wait(&st->work, &st->lock);
	}
	if (!parked)
		atomic_fetch_sub(&st->lane_sleepers, 1);
	st->sleeping_workers--;
}

static void *par_worker(void *arg)
{
	struct aml_dma_par_state *st = arg;
	/* Delay mode: the waiters wait, from the submission (par_delay). */
	if (st->delays)
		st->copier->ops->thread_undelayed(st->copier);
	par_lock(st);
	bool worked = false;
	for (;;) {
		if (st->head != NULL) {
			par_run_batch(st);
			worked = true;
			continue;
		}
		if (atomic_load(&st->stopping))
			break;
		pthread_mutex_unlock(&st->lock);
		if (aml_dma_par_lanes_run(st)) {
			/* Lanes take no lock: back for the queue's
			 * chunks, which come first. */
			worked = true;
			par_lock(st);
			continue;
		}
		bool parked = !par_idle(st, worked);
		worked = false;
		par_lock(st);
		if (st->head != NULL || atomic_load(&st->stopping) ||
		    aml_dma_par_lanes_pending(st) > 0)
			continue;
		par_sleep_for_work(st, parked);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* Under the lock, which the new workers wait for (par_internal.h). */
void aml_dma_par_start_workers(struct aml_dma_par_state *st)
{
	pthread_attr_t attr, *pin = NULL;
	if (st->pinned) {
		/* No worker rather than one elsewhere: the caller copies. */
		if (pthread_attr_init(&attr) != 0)
			return;
		if (pthread_attr_setaffinity_np(&attr, sizeof(st->pin_cpus),
		                                &st->pin_cpus) != 0) {
			pthread_attr_destroy(&attr);
			return;
		}
		pin = &attr;
	}
	while (st->nthreads < st->options.nworkers &&
	       pthread_create(&st->threads[st->nthreads], pin, par_worker,
	                      st) == 0)
		st->nthreads++;
	if (pin != NULL)
		pthread_attr_destroy(pin);
}

/* Whether waiters and barriers copy queued chunks themselves: always,
 * except where the copier models time and workers run. There the copy belongs
 * to the workers' clocks, or it would never overlap the waiter's work in
 * the model (whether the waiter arrives before a worker takes the chunks
 * is a matter of real time, which the model ignores). Under the lock. */
static bool par_helps(const struct aml_dma_par_state *st)
{
	return !st->models_time || st->nthreads == 0;
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
		size_t most = aml_dma_par_max_chunks(st->options.nworkers);
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
		par_lock(st);
		r = par_request_get(st);
		if (r != NULL)
			handle = par_handle(st, r);
		pthread_mutex_unlock(&st->lock);
		if (r == NULL)
			return AML_ENOMEM;
	}
	int err = aml_dma_plan_copy(plan, 0, plan->bytes, st->copier);
	if (r != NULL) {
		/* Ours until the handle is out: no lock needed. */
		r->status = err;
		atomic_store_explicit(&r->done, 1, memory_order_release);
		*out = handle;
	} else if (err != 0) {
		par_lock(st);
		if (st->detached_error == 0)
			st->detached_error = err;
		pthread_mutex_unlock(&st->lock);
	}
	return 0;
}

static int par_submit(struct aml_dma *dma,
                      struct aml_dma_request **out,
                      const struct aml_dma_plan *plan)
{
	struct aml_dma_par_state *st = par_state(dma);
	/* Delay mode: the request starts now, before anything the workers
	 * write is read (`stopping` shares its cache line with the queue's
	 * counters: fetching it from the worker's CPU took about 100 ns, a
	 * thirtieth of a 4 KiB copy's dilated model here) and before the
	 * lock, waiting for which is part of the hand-off. st->delays never
	 * changes after init. */
	uint64_t entered = st->delays ? aml_dma_par_now_ns() : 0;
	if (atomic_load(&st->stopping))
		return AML_EINVAL;
	if (plan->bytes <= st->options.inline_max)
		return par_submit_inline(st, out, plan);
	if (aml_dma_par_lane_submit(st, out, plan) == 0)
		return 0;
	uint64_t wall_start = entered != 0 && par_delaying(st) ? entered : 0;

	par_lock(st);
	if (st->nthreads < st->options.nworkers)
		aml_dma_par_start_workers(st); /* a child of fork() */
	struct par_request *r = par_request_get(st);
	if (r == NULL) {
		pthread_mutex_unlock(&st->lock);
		return AML_ENOMEM;
	}
	r->plan = *plan;
	r->detached = out == NULL;
	r->start_ns = par_clock(st);
	r->wall_start_ns = wall_start;
	par_cut(st, r);
	/* A chunk that a cancel skips, or that a gone thread was copying
	 * in a child of fork(), costs nothing. */
	for (size_t c = 0; c < r->nchunks; c++)
		r->chunk_ns[c] = 0;
	aml_dma_par_queue_append(st, r);
	if (st->models_time) {
		if (st->order_tail != NULL)
			st->order_tail->order_next = r;
		else
			st->order_head = r;
		st->order_tail = r;
	}
	atomic_fetch_add_explicit(&st->pending, r->nchunks,
	                          memory_order_relaxed);
	st->inflight++;
	/* In delay mode, workers may spin for the chunks (par_idle):
	 * wake only the sleepers that the others need. */
	size_t spinning = st->delays
	                          ? atomic_load(&st->spinners) +
	                                    atomic_load(&st->yielding_spinners)
	                          : 0;
	if (st->sleeping_workers > 0 && r->nchunks > spinning) {
		if (r->nchunks - spinning > 1)
			pthread_cond_broadcast(&st->work);
		else
			pthread_cond_signal(&st->work);
	}
	if (out != NULL)
		*out = par_handle(st, r);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* Copy queued chunks for a waiter of r, where waiters help; lock held.
 * In modelled time (where waiters help only when no worker runs), those of
 * the requests queued before r first, until r has none queued: r ends
 * after them. Otherwise r's own, then, while a worker copies r, those of
 * the queue's head: the waiter's CPU copies rather than spins, as a
 * work-stealing runtime's waiting thread runs other tasks, which delays
 * its return by one chunk at most. */
static void par_help(struct aml_dma_par_state *st, struct par_request *r)
{
	if (st->nthreads < st->options.nworkers)
		aml_dma_par_start_workers(st); /* a child of fork() */
	while (par_helps(st)) {
		struct par_request *h;
		if (r->queued)
			h = st->models_time ? st->head : r;
		else if (!st->models_time && st->head != NULL &&
		         !atomic_load_explicit(&r->done, memory_order_relaxed))
			h = st->head;
		else
			break;
		size_t c = par_take(st, h);
		par_run_chunk(st, h, c);
	}
}

/* Delay mode: busy-wait until the monotonic time ns (0 outside delay
 * mode: returns at once). The workers copied without delay; the waiter
 * resumes when the copy ends, in wall-clock time, from its submission, so
 * that the hand-off and the workers' wake-ups are absorbed in the wait
 * rather than added to it. Busy: a sleep would cost tens of microseconds
 * past the deadline (par.h). */
static void par_delay(uint64_t ns)
{
	/* No pause between reads: the read (tens of ns) is the step, and a
	 * pause would add its own length past the deadline. */
	while (ns != 0 && aml_dma_par_now_ns() < ns)
		;
}

/* How a waiter spins for its request's end (par_wait_spin). */
struct par_spin {
	uint64_t ns;
	/* Steps between two yields. */
	unsigned yield_every;
};

/* Spin until r has ended, for spin.ns at most: whether it has. */
static bool par_spin_for_end(const struct par_request *r, struct par_spin spin)
{
	uint64_t deadline = par_deadline(spin.ns);
	for (unsigned i = 1;
	     !atomic_load_explicit(&r->done, memory_order_acquire); i++) {
		par_relax_every(i, spin.yield_every);
		if (i % 64 == 0 && aml_dma_par_now_ns() >= deadline)
			return false;
	}
	return true;
}

/* Sleep until r has ended; lock held. */
static void par_sleep_for_end(struct aml_dma_par_state *st,
                              const struct par_request *r)
{
	st->sleeping_waiters++;
	while (!atomic_load_explicit(&r->done, memory_order_acquire))
		pthread_cond_wait(&st->ended, &st->lock);
	st->sleeping_waiters--;
}

/* Spin for spin_ns, then sleep, until r has ended. Called without the
 * lock, returns with it: the caller frees the request next. */
static void par_wait_ended(struct aml_dma_par_state *st,
                           struct par_request *r,
                           uint64_t spin_ns)
{
	struct par_spin spin = {.ns = spin_ns, .yield_every = PAR_YIELD_EVERY};
	bool ended = par_spin_for_end(r, spin);
	par_lock(st);
	if (!ended)
		par_sleep_for_end(st, r);
}

/* How a waiter for r spins before it sleeps; under the lock. In delay
 * mode, where r keeps every worker busy and they have no CPU to spare,
 * it yields at every step, for PAR_DELAY_SPIN_NS: it then takes almost
 * no CPU from the workers, which copy at the host's speed with only the
 * calibration's margin, and it runs as soon as one of them is done with
 * the copy, where a sleeper would pay a wake-up past the deadline (10 to
 * 100 us here, more than the whole margin of a copy of a megabyte). */
static struct par_spin par_wait_spin(const struct aml_dma_par_state *st,
                                     const struct par_request *r)
{
	struct par_spin spin = {.ns = st->options.spin_ns,
	                        .yield_every = PAR_YIELD_EVERY};
	if (r->nchunks >= st->nthreads && st->nthreads >= st->ncpus &&
	    par_delaying(st)) {
		spin.yield_every = 1;
		if (spin.ns < PAR_DELAY_SPIN_NS)
			spin.ns = PAR_DELAY_SPIN_NS;
	}
	return spin;
}

static int par_wait(struct aml_dma *dma, struct aml_dma_request *handle)
{
	struct aml_dma_par_state *st = par_state(dma);
	if (aml_dma_par_lane_handle(st, handle))
		return aml_dma_par_lane_wait(st, handle, false);
	par_lock(st);
	struct par_request *r = par_request_find(st, handle);
	if (r == NULL) {
		pthread_mutex_unlock(&st->lock);
		return AML_EINVAL;
	}
	/* Taken: the lock may drop from here. */
	r->claimed = true;
	bool locked = true;
	if (!atomic_load_explicit(&r->done, memory_order_acquire))
		par_help(st, r);
	if (!atomic_load_explicit(&r->done, memory_order_acquire)) {
		struct par_spin spin = par_wait_spin(st, r);
		pthread_mutex_unlock(&st->lock);
		locked = !par_spin_for_end(r, spin);
		if (locked) {
			par_lock(st);
			par_sleep_for_end(st, r);
		}
	}
	/* Ended: nobody else writes r now. */
	uint64_t end_ns = r->end_ns;
	uint64_t wall_end_ns = r->wall_end_ns;
	int status = r->status;
	if (locked) {
		par_request_put(st, r);
		pthread_mutex_unlock(&st->lock);
	} else {
		par_release(st, r);
	}
	/* The waiter resumes, in modelled time, when the copy ended. */
	par_clock_wait_until(st, end_ns);
	par_delay(wall_end_ns);
	return status;
}

static int par_cancel(struct aml_dma *dma, struct aml_dma_request *handle)
{
	struct aml_dma_par_state *st = par_state(dma);
	if (aml_dma_par_lane_handle(st, handle))
		return aml_dma_par_lane_wait(st, handle, true);
	par_lock(st);
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
				aml_dma_par_end(st, r);
		}
		/* In modelled time r ends after the requests before it:
		 * where no worker runs, copy them here. */
		while (st->models_time && st->head != NULL && par_helps(st)) {
			struct par_request *h = st->head;
			size_t c = par_take(st, h);
			par_run_chunk(st, h, c);
		}
	}
	pthread_mutex_unlock(&st->lock);
	par_wait_ended(st, r, st->options.spin_ns);
	par_request_put(st, r);
	pthread_mutex_unlock(&st->lock);
	return ended ? 1 : 0;
}

int aml_dma_par_barrier_locked(struct aml_dma_par_state *st)
{
	int lane_err = aml_dma_par_lanes_drain(st);
	if (lane_err != 0 && st->detached_error == 0)
		st->detached_error = lane_err;
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
	par_clock_wait_until(st, st->ended_ns);
	return err;
}

static int par_barrier(struct aml_dma *dma)
{
	struct aml_dma_par_state *st = par_state(dma);
	par_lock(st);
	if (st->nthreads < st->options.nworkers)
		aml_dma_par_start_workers(st); /* a child of fork() */
	int err = aml_dma_par_barrier_locked(st);
	uint64_t wall_end_ns = st->ended_wall_ns;
	pthread_mutex_unlock(&st->lock);
	/* Not under the lock: the workers go on meanwhile. */
	par_delay(wall_end_ns);
	return err;
}

const struct aml_dma_ops aml_dma_par_ops = {
        .submit = par_submit,
        .wait = par_wait,
        .cancel = par_cancel,
        .barrier = par_barrier,
};
