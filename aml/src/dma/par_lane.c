/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The parallel engine's lanes (aml/dma/par.h): small contiguous copies
 * handed over without the engine's lock.
 *
 * On a machine with few CPUs, a cache line passed between two of them
 * costs as much as a copy of 4 KiB, and any locked instruction (taking a
 * mutex, a compare-and-swap) waits until the thread's stores to lines
 * another CPU has read are done (docs/dma.md, "What a hand-off costs").
 * So a submission takes no lock and no locked instruction: each
 * submitting thread owns a lane, a ring of slots in submission order
 * that only it fills, with plain stores, publishing the count (bottom)
 * last. Anybody takes a queued slot by one compare-and-swap of its state:
 * the workers from the oldest (from their hint top up, in batches), and
 * a waiter whose copy is not done from the newest (from bottom down), as
 * in a work-stealing deque, so that on two CPUs both copy and they meet
 * where they cross rather than at each take. A copy ends with a release
 * store of its state, OK or FAILED. States are bytes, 64 to a cache line:
 * a worker takes a batch in one line and ends it at once, and a waiter
 * that waits for copies in order reads a line per batch, not one per
 * copy; the slots' descriptors, which only their owner writes, are never
 * written by the other CPU.
 *
 * A slot serves again once its ticket is FREE again: set by its waiter
 * or, fire-and-forget, by its taker. The owner fills slots in ring order
 * and sends a copy to the queue (par.c) when the next slot is not free,
 * so a lane never blocks. Handles name a lane and a position: the
 * ticket holds the position (plus one) while a handle may claim it, and
 * one wait or cancel claims it by compare-and-swap, so stale, doubled and
 * foreign handles are refused as the queue's are. Tickets are in an
 * array that workers touch only to free a fire-and-forget copy's (a slot
 * says whether it is one), in the submitter's cache.
 *
 * Lanes are for copies that no model watches: an engine whose copier
 * models time or delays keeps every copy on the queue (lanes_on false).
 * Waiters on a lane never sleep: a taken slot is a copy of at most
 * PAR_LANE_BYTES_MAX bytes in progress, and a queued one they copy
 * themselves; after spin_ns they yield at every step. Workers that sleep
 * are woken by the submitter when it sees lane_sleepers set (a hint, read
 * without a fence), else by their timed wait (par.c).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <aml/copier.h>
#include <aml/dma/par.h>
#include <aml/dma/plan.h>
#include <aml/error.h>

#include "aml/src/dma/par_internal.h"

#define PAR_LANE_MASK ((size_t)PAR_LANE_SLOTS - 1)

/* A lane handle: the lane tag, the lane's index, the slot's position. */
#define PAR_LANE_TAG_SHIFT 48
#define PAR_LANE_IDX_SHIFT 44
#define PAR_LANE_SEQ_MASK  ((UINT64_C(1) << PAR_LANE_IDX_SHIFT) - 1)

_Static_assert((PAR_LANE_SLOTS & (PAR_LANE_SLOTS - 1)) == 0,
               "PAR_LANE_SLOTS is a power of 2");
_Static_assert(PAR_LANES_MAX <= 16, "a lane index takes 4 bits");

/* Spin steps between two yields of a waiter whose slot another thread
 * copies, until spin_ns has passed (then it yields at every step). A
 * yield is a system call, microseconds on a virtual machine, and the copy
 * waited for is at most PAR_LANE_BYTES_MAX bytes: with a yield every 16
 * steps the waiter noticed the end late, and batch_64x16KiB with 1 worker
 * took 16.4-17.4 us where every 256 took 15.2-15.5 (dma_bench, alternate
 * runs, with workers parked as par.c's par_idle says). */
#define PAR_LANE_YIELD_EVERY 256

/* Slots a worker prefetches ahead of the one it takes, and a submitter
 * ahead of the one it fills. */
#define PAR_LANE_PREFETCH      4
#define PAR_LANE_PREFETCH_FILL 8

/* The thread's lanes, by engine serial number: a thread that submits to
 * a few engines finds its lane without the lock. An engine's serial is
 * never reused, so an entry of a finalised engine never matches. */
#define PAR_LANE_CACHE 4
static _Thread_local struct {
	uint64_t serial;
	struct par_lane *lane;
	size_t index;
} lane_cache[PAR_LANE_CACHE];

/* The calling thread's lane and its index, made on first use (under the
 * lock); NULL when every lane is taken by other threads. A lane belongs
 * to a pthread_t: a thread with the id of one that ended takes its lane
 * over, which nobody else fills. */
static struct par_lane *__attribute__((noinline))
lane_mine_slow(struct aml_dma_par_state *st, size_t *index)
{
	size_t k = st->serial % PAR_LANE_CACHE;
	pthread_t self = pthread_self();
	struct par_lane *lane = NULL;
	size_t i = 0;
	pthread_mutex_lock(&st->lock);
	size_t n = atomic_load_explicit(&st->nlanes, memory_order_relaxed);
	for (; i < n; i++) {
		struct par_lane *l = atomic_load_explicit(&st->lanes[i],
		                                          memory_order_relaxed);
		if (pthread_equal(l->owner, self)) {
			lane = l;
			break;
		}
	}
	if (lane == NULL && n < PAR_LANES_MAX) {
		lane = aligned_alloc(64, sizeof(*lane));
		if (lane != NULL) {
			atomic_init(&lane->bottom, 0);
			atomic_init(&lane->top, 0);
			atomic_init(&lane->low, 0);
			atomic_init(&lane->low_bottom, 0);
			lane->owner = self;
			for (size_t s = 0; s < PAR_LANE_SLOTS; s++) {
				atomic_init(&lane->state[s], PAR_SLOT_IDLE);
				atomic_init(&lane->tickets[s], PAR_TICKET_FREE);
			}
			i = n;
			atomic_store_explicit(&st->lanes[n], lane,
			                      memory_order_release);
			atomic_store_explicit(&st->nlanes, n + 1,
			                      memory_order_release);
		}
	}
	pthread_mutex_unlock(&st->lock);
	/* No lane (all taken, or no memory) is cached too: the queue then. */
	lane_cache[k].serial = st->serial;
	lane_cache[k].lane = lane;
	lane_cache[k].index = i;
	*index = i;
	return lane;
}

/* Out of line, the lookup under the lock made every submission save and
 * restore five registers. */
static inline struct par_lane *lane_mine(struct aml_dma_par_state *st,
                                         size_t *index)
{
	size_t k = st->serial % PAR_LANE_CACHE;
	if (lane_cache[k].serial != st->serial)
		return lane_mine_slow(st, index);
	*index = lane_cache[k].index;
	return lane_cache[k].lane;
}

/* Wake a sleeping worker. Out of line, as lane_mine_slow(). */
static void __attribute__((noinline)) lane_wake(struct aml_dma_par_state *st)
{
	pthread_mutex_lock(&st->lock);
	pthread_cond_signal(&st->work);
	pthread_mutex_unlock(&st->lock);
}

int aml_dma_par_lane_submit(struct aml_dma_par_state *st,
                            struct aml_dma_request **out,
                            const struct aml_dma_plan *plan)
{
	if (!st->lanes_on || plan->nouter != 0 ||
	    plan->bytes > PAR_LANE_BYTES_MAX)
		return 1;
	size_t index;
	struct par_lane *l = lane_mine(st, &index);
	if (l == NULL)
		return 1;
	size_t b = atomic_load_explicit(&l->bottom, memory_order_relaxed);
	size_t pos = b & PAR_LANE_MASK;
	/* Acquire: its last waiter's reads are done before we write. */
	if (atomic_load_explicit(&l->tickets[pos], memory_order_acquire) !=
	    PAR_TICKET_FREE)
		return 1;
	/* The lines of the slots and tickets a few submissions ahead, for
	 * writing: a worker read those slots a lap ago, so that a store
	 * to a new line waited for the worker's CPU to give it up, and
	 * the stores after it waited behind it (x86 commits stores in
	 * order), on every other submission (2 slots to a line). The 64
	 * submissions of dma_bench batch_64x16KiB took 3.7-4.5 us, 1.8
	 * with this (timed apart; docs/dma.md has the rows). */
	aml_dma_par_prefetch_write(
	        st->prefetchw,
	        &l->slots[(b + PAR_LANE_PREFETCH_FILL) & PAR_LANE_MASK]);
	aml_dma_par_prefetch_write(
	        st->prefetchw,
	        &l->tickets[(b + PAR_LANE_PREFETCH_FILL) & PAR_LANE_MASK]);
	struct par_slot *s = &l->slots[pos];
	s->dst = plan->dst;
	s->src = plan->src;
	s->bytes = plan->bytes;
	s->detached = out == NULL;
	atomic_store_explicit(&l->tickets[pos],
	                      out != NULL ? (uint64_t)b + 1
	                                  : PAR_TICKET_DETACHED,
	                      memory_order_relaxed);
	atomic_store_explicit(&l->state[pos], PAR_SLOT_QUEUED,
	                      memory_order_release);
	atomic_store_explicit(&l->bottom, b + 1, memory_order_release);
	if (out != NULL)
		*out = (struct aml_dma_request
		                *)(uintptr_t)((uint64_t)st->lane_tag
		                                      << PAR_LANE_TAG_SHIFT |
		                              (uint64_t)index
		                                      << PAR_LANE_IDX_SHIFT |
		                              ((uint64_t)b &
		                               PAR_LANE_SEQ_MASK));
	/* A hint, read without a fence: a worker that went to sleep just
	 * now wakes by its timed wait (par.c). */
	if (atomic_load_explicit(&st->lane_sleepers, memory_order_relaxed) > 0)
		lane_wake(st);
	return 0;
}

bool aml_dma_par_lane_handle(const struct aml_dma_par_state *st,
                             const struct aml_dma_request *handle)
{
	return (uint64_t)(uintptr_t)handle >> PAR_LANE_TAG_SHIFT ==
	       st->lane_tag;
}

/* Copy slot pos of l, taken by the calling thread; its end, to record
 * with lane_end. */
static unsigned
lane_copy(struct aml_dma_par_state *st, struct par_lane *l, size_t pos)
{
	struct par_slot *s = &l->slots[pos];
	/* Only the fields a contiguous copy reads (aml/dma/plan.h). */
	struct aml_dma_plan plan;
	plan.dst = s->dst;
	plan.src = s->src;
	plan.run = plan.bytes = s->bytes;
	plan.nouter = 0;
	int err = aml_dma_plan_copy(&plan, 0, plan.bytes, st->copier);
	if (err == 0)
		return PAR_SLOT_OK;
	s->status = err;
	if (s->detached) {
		int none = 0;
		atomic_compare_exchange_strong(&st->lane_error, &none, err);
	}
	return PAR_SLOT_FAILED;
}

/* Record the end of slot pos of l, copied by the calling thread; detached
 * is its slot's, read before: once the end is stored, its waiter may free
 * the slot and the owner fill it again, fire-and-forget. */
static void
lane_end(struct par_lane *l, size_t pos, unsigned end, bool detached)
{
	atomic_store_explicit(&l->state[pos], (unsigned char)end,
	                      memory_order_release);
	if (detached)
		atomic_store_explicit(&l->tickets[pos], PAR_TICKET_FREE,
		                      memory_order_release);
}

static void
lane_run(struct aml_dma_par_state *st, struct par_lane *l, size_t pos)
{
	bool detached = l->slots[pos].detached;
	lane_end(l, pos, lane_copy(st, l, pos), detached);
}

static inline bool lane_take(struct par_lane *l, size_t pos)
{
	unsigned char queued = PAR_SLOT_QUEUED;
	return atomic_load_explicit(&l->state[pos], memory_order_relaxed) ==
	               PAR_SLOT_QUEUED &&
	       atomic_compare_exchange_strong_explicit(
	               &l->state[pos], &queued, PAR_SLOT_TAKEN,
	               memory_order_acquire, memory_order_relaxed);
}

/* The lowest position of l that may hold a queued slot, given bottom b. */
static inline size_t lane_floor(const struct par_lane *l, size_t b)
{
	size_t t = atomic_load_explicit(&l->top, memory_order_relaxed);
	size_t ring = b > PAR_LANE_SLOTS ? b - PAR_LANE_SLOTS : 0;
	return t > ring && t <= b ? t : ring;
}

/* Take and copy the newest queued slot of l (a waiter helps): whether it
 * did. Starts below the last helper's take if nothing was filled since,
 * so that helpers going down do not scan what they took again. */
static bool lane_help(struct aml_dma_par_state *st, struct par_lane *l)
{
	size_t b = atomic_load_explicit(&l->bottom, memory_order_acquire);
	size_t lo = lane_floor(l, b);
	size_t i = b;
	if (atomic_load_explicit(&l->low_bottom, memory_order_relaxed) == b) {
		size_t h = atomic_load_explicit(&l->low, memory_order_relaxed);
		if (h > lo && h < b)
			i = h;
	}
	for (; i > lo; i--) {
		size_t pos = (i - 1) & PAR_LANE_MASK;
		if (lane_take(l, pos)) {
			atomic_store_explicit(&l->low, i - 1,
			                      memory_order_relaxed);
			atomic_store_explicit(&l->low_bottom, b,
			                      memory_order_relaxed);
			lane_run(st, l, pos);
			return true;
		}
	}
	/* Nothing queued in [lo, b): below b, only filling it again, past
	 * b, can queue a slot. */
	atomic_store_explicit(&l->low, lo, memory_order_relaxed);
	atomic_store_explicit(&l->low_bottom, b, memory_order_relaxed);
	return false;
}

/* A waiter helps: its own lane first, then the others. */
static bool lanes_help(struct aml_dma_par_state *st, struct par_lane *own)
{
	if (lane_help(st, own))
		return true;
	size_t n = atomic_load_explicit(&st->nlanes, memory_order_acquire);
	for (size_t i = 0; i < n; i++) {
		struct par_lane *l = atomic_load_explicit(&st->lanes[i],
		                                          memory_order_acquire);
		if (l != own && lane_help(st, l))
			return true;
	}
	return false;
}

int aml_dma_par_lane_wait(struct aml_dma_par_state *st,
                          struct aml_dma_request *handle,
                          bool cancel)
{
	uint64_t h = (uint64_t)(uintptr_t)handle;
	size_t index = (size_t)(h >> PAR_LANE_IDX_SHIFT & 0xf);
	uint64_t seq = h & PAR_LANE_SEQ_MASK;
	if (index >= atomic_load_explicit(&st->nlanes, memory_order_acquire))
		return AML_EINVAL;
	struct par_lane *l =
	        atomic_load_explicit(&st->lanes[index], memory_order_acquire);
	size_t pos = (size_t)seq & PAR_LANE_MASK;
	uint64_t ticket =
	        atomic_load_explicit(&l->tickets[pos], memory_order_relaxed);
	if (ticket == PAR_TICKET_FREE || ticket == PAR_TICKET_CLAIMED ||
	    ticket == PAR_TICKET_DETACHED ||
	    ((ticket - 1) & PAR_LANE_SEQ_MASK) != seq ||
	    !atomic_compare_exchange_strong_explicit(
	            &l->tickets[pos], &ticket, PAR_TICKET_CLAIMED,
	            memory_order_acquire, memory_order_relaxed))
		return AML_EINVAL;
	/* Claimed: nobody else waits for, cancels or fills it until its
	 * ticket is FREE again. */
	if (lane_take(l, pos)) {
		/* Not begun: the caller's CPU copies it, or nobody. */
		if (cancel) {
			atomic_store_explicit(&l->state[pos], PAR_SLOT_OK,
			                      memory_order_relaxed);
			atomic_store_explicit(&l->tickets[pos], PAR_TICKET_FREE,
			                      memory_order_release);
			return 0;
		}
		lane_run(st, l, pos);
	}
	unsigned end =
	        atomic_load_explicit(&l->state[pos], memory_order_acquire);
	bool ended = end >= PAR_SLOT_OK;
	uint64_t deadline = 0;
	for (unsigned i = 1; end < PAR_SLOT_OK;
	     i++, end = atomic_load_explicit(&l->state[pos],
	                                     memory_order_acquire)) {
		if (!cancel && lanes_help(st, l))
			continue;
		/* Taken by a thread that copies it now: at most
		 * PAR_LANE_BYTES_MAX bytes. Spin, yielding now and then,
		 * and at every step after spin_ns. */
		if (i % PAR_LANE_YIELD_EVERY == 0) {
			if (deadline == 0)
				deadline = aml_dma_par_now_ns() +
				           st->options.spin_ns;
			sched_yield();
		} else if (deadline != 0 && aml_dma_par_now_ns() >= deadline) {
			sched_yield();
		} else {
			aml_dma_par_pause();
		}
	}
	int status = end == PAR_SLOT_FAILED ? l->slots[pos].status : 0;
	atomic_store_explicit(&l->tickets[pos], PAR_TICKET_FREE,
	                      memory_order_release);
	if (cancel)
		return ended ? 1 : 0;
	return status;
}

bool aml_dma_par_lanes_run(struct aml_dma_par_state *st)
{
	size_t n = atomic_load_explicit(&st->nlanes, memory_order_acquire);
	bool ran = false;
	for (size_t li = 0; li < n; li++) {
		struct par_lane *l = atomic_load_explicit(&st->lanes[li],
		                                          memory_order_acquire);
		size_t b =
		        atomic_load_explicit(&l->bottom, memory_order_acquire);
		size_t i = lane_floor(l, b);
		size_t batch[PAR_BATCH_MAX];
		bool detached[PAR_BATCH_MAX];
		size_t k = 0, bytes = 0;
		for (;
		     i < b && k < PAR_BATCH_MAX && bytes < PAR_LANE_BATCH_BYTES;
		     i++) {
			if (i + PAR_LANE_PREFETCH < b)
				__builtin_prefetch(
				        &l->slots[(i + PAR_LANE_PREFETCH) &
				                  PAR_LANE_MASK],
				        1);
			size_t pos = i & PAR_LANE_MASK;
			if (lane_take(l, pos)) {
				detached[k] = l->slots[pos].detached;
				batch[k++] = pos;
				bytes += l->slots[pos].bytes;
			}
		}
		/* A hint: every slot below i was taken or not queued. */
		atomic_store_explicit(&l->top, i, memory_order_relaxed);
		/* Ends recorded after the whole batch: the waiter, who
		 * polls the done array's line, reads it once per batch
		 * rather than once per copy. */
		unsigned char ends[PAR_BATCH_MAX];
		for (size_t j = 0; j < k; j++)
			ends[j] = (unsigned char)lane_copy(st, l, batch[j]);
		for (size_t j = 0; j < k; j++)
			lane_end(l, batch[j], ends[j], detached[j]);
		ran = ran || k > 0;
	}
	return ran;
}

size_t aml_dma_par_lanes_pending(const struct aml_dma_par_state *st)
{
	size_t n = atomic_load_explicit(&st->nlanes, memory_order_acquire);
	size_t pending = 0;
	for (size_t li = 0; li < n; li++) {
		struct par_lane *l = atomic_load_explicit(&st->lanes[li],
		                                          memory_order_acquire);
		size_t b =
		        atomic_load_explicit(&l->bottom, memory_order_relaxed);
		pending += b - lane_floor(l, b);
	}
	return pending;
}

int aml_dma_par_lanes_drain(struct aml_dma_par_state *st)
{
	size_t n = atomic_load_explicit(&st->nlanes, memory_order_acquire);
	for (size_t li = 0; li < n; li++) {
		struct par_lane *l = atomic_load_explicit(&st->lanes[li],
		                                          memory_order_acquire);
		for (size_t pos = 0; pos < PAR_LANE_SLOTS; pos++) {
			for (unsigned k = 1;; k++) {
				if (lane_take(l, pos))
					lane_run(st, l, pos);
				unsigned state = atomic_load_explicit(
				        &l->state[pos], memory_order_acquire);
				if (state != PAR_SLOT_QUEUED &&
				    state != PAR_SLOT_TAKEN)
					break;
				if (k % 16 == 0)
					sched_yield();
				else
					aml_dma_par_pause();
			}
		}
	}
	return atomic_exchange(&st->lane_error, 0);
}

void aml_dma_par_lanes_fork_child(struct aml_dma_par_state *st)
{
	size_t n = atomic_load_explicit(&st->nlanes, memory_order_relaxed);
	for (size_t li = 0; li < n; li++) {
		struct par_lane *l = atomic_load_explicit(&st->lanes[li],
		                                          memory_order_relaxed);
		size_t b =
		        atomic_load_explicit(&l->bottom, memory_order_relaxed);
		for (size_t pos = 0; pos < PAR_LANE_SLOTS; pos++) {
			/* A gone thread was copying it: again, from the
			 * start (the source has not changed). */
			if (atomic_load_explicit(&l->state[pos],
			                         memory_order_relaxed) ==
			    PAR_SLOT_TAKEN)
				atomic_store_explicit(&l->state[pos],
				                      PAR_SLOT_QUEUED,
				                      memory_order_relaxed);
			/* A gone thread was waiting for it: the slot holds
			 * the last position below b that maps to it (its
			 * owner fills a slot only once it is free). */
			size_t seq = b - 1 - ((b - 1 - pos) & PAR_LANE_MASK);
			if (b > pos &&
			    atomic_load_explicit(&l->tickets[pos],
			                         memory_order_relaxed) ==
			            PAR_TICKET_CLAIMED)
				atomic_store_explicit(&l->tickets[pos],
				                      (uint64_t)seq + 1,
				                      memory_order_relaxed);
		}
		size_t ring = b > PAR_LANE_SLOTS ? b - PAR_LANE_SLOTS : 0;
		atomic_store_explicit(&l->top, ring, memory_order_relaxed);
		atomic_store_explicit(&l->low_bottom, 0, memory_order_relaxed);
	}
}

void aml_dma_par_lanes_free(struct aml_dma_par_state *st)
{
	size_t n = atomic_load_explicit(&st->nlanes, memory_order_relaxed);
	for (size_t li = 0; li < n; li++)
		free(atomic_load_explicit(&st->lanes[li],
		                          memory_order_relaxed));
	atomic_store_explicit(&st->nlanes, 0, memory_order_relaxed);
}
