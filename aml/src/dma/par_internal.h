/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private state of the parallel engine (aml/dma/par.h), shared by par.c
 * (the engine at work), par_init.c (construction) and par_fork.c (repair
 * in a child of fork()), and par_lane.c (copies handed over without the
 * lock). Every function here but the lanes' (aml_dma_par_lane*) is called
 * with the engine's lock held.
 */
#ifndef AML_SRC_DMA_PAR_INTERNAL_H
#define AML_SRC_DMA_PAR_INTERNAL_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <aml/copier.h>
#include <aml/dma/par.h>
#include <aml/dma/plan.h>

#include "aml/src/fork.h"
#include "aml/src/handle.h"

/* Chunks per thread for a large copy: a thread that the OS preempts
 * leaves its share to the others. */
#define PAR_CHUNKS_PER_THREAD 4

/* Delay mode: how long an idle worker spins for work (par_idle), unless
 * spin_ns is longer. Longer than most dilated copies, so that copies back
 * to back never wait for a worker's wake-up. */
#define PAR_DELAY_SPIN_NS 2000000

/* The most chunks a copy is cut into with nworkers workers. */
static inline size_t aml_dma_par_max_chunks(size_t nworkers)
{
	return PAR_CHUNKS_PER_THREAD * (nworkers + 1);
}

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
	/* Modelled time (when the copier models it, else 0): the
	 * submitter's at submission, and the end the model gives it. */
	uint64_t start_ns;
	uint64_t end_ns;
	/* Delay mode (the copier delays, aml/copier.h): the monotonic wall
	 * time at submission, and when its waiter may resume: then plus the
	 * copier's wall time for end_ns - start_ns. */
	uint64_t wall_start_ns;
	uint64_t wall_end_ns;
	/* Every chunk handed out has finished: it ends once every request
	 * submitted before it has ended (the model's order). */
	bool copied;
	/* Queue links. */
	struct par_request *next;
	struct par_request *prev;
	/* The next request in submission order, until this one ends. */
	struct par_request *order_next;
	/* The next on the engine's released stack (par_release). */
	struct par_request *released_next;
	/* Modelled time of each chunk, as the copier charged it: the pool's
	 * records have room for aml_dma_par_max_chunks(nworkers). */
	uint64_t chunk_ns[];
};

/* A worker's batch, from the queue (par_run_batch) or a lane: at most
 * this many chunks, of at most this many bytes in all (but a first chunk
 * larger; a lane's batch has PAR_LANE_BATCH_BYTES). Small enough that a
 * waiter whose request is in a batch waits for a few microseconds' copy
 * at most (helping meanwhile), large enough that the lock, or a lane's
 * line of states, is taken once per 16 copies of 4 KiB. */
#define PAR_BATCH_MAX   16
#define PAR_BATCH_BYTES ((size_t)64 << 10)

static inline uint64_t aml_dma_par_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One step of a spin: the CPU's hint that this is one. */
static inline void aml_dma_par_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Fetch the cache line of p for writing, ahead of a store to it: a line
 * another CPU has read must be taken from it before the store commits,
 * and on x86 the stores after it wait in order behind it. With
 * prefetchw (the CPU has PREFETCHW, which par_init.c asks CPUID), that
 * instruction: __builtin_prefetch emits it only where the target says so
 * (-mprfchw), else a prefetch for reading, which leaves the line shared.
 * Some early x86-64 CPUs do not have it, hence the check. */
static inline void aml_dma_par_prefetch_write(bool prefetchw, const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	if (prefetchw) {
		__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
		return;
	}
#else
	(void)prefetchw;
#endif
	__builtin_prefetch(p, 1);
}

/* ---- Lanes: copies without the lock (par_lane.c) ---- */

/* Slots per lane (a power of 2), lanes per engine, and the largest copy a
 * lane takes: larger ones go to the queue, where they are cut in chunks. */
#define PAR_LANE_SLOTS     1024
#define PAR_LANES_MAX      16
#define PAR_LANE_BYTES_MAX ((size_t)64 << 10)

/* A worker's batch from a lane: at most PAR_BATCH_MAX slots, taken until
 * they reach this many bytes. Twice PAR_BATCH_BYTES: lane copies of 16
 * KiB went 4 to a batch, and each batch is a round trip of the states'
 * cache line with the submitter and the waiter; 8 to a batch took
 * dma_bench batch_64x16KiB from 15.2-16.4 to 13.9-14.4 us with 1 worker,
 * 16.3-17.9 to 14.1-16.8 us with 2 (5 alternations; 16 to a batch, 256
 * KiB, did no better). Copies of 4 KiB still go 16 to a batch. A waiter
 * whose copy is in a batch waits for some 2 us of copying at most,
 * helping meanwhile. */
#define PAR_LANE_BATCH_BYTES ((size_t)128 << 10)

/* A slot's state (par_lane.state): IDLE before its first use; QUEUED
 * (filled by its owner) -> TAKEN (by one thread, by compare-and-swap: a
 * worker, a waiter that helps, a barrier or a cancel) -> OK or FAILED
 * (copied; a failed one's status says how). */
enum par_slot_state {
	PAR_SLOT_IDLE,
	PAR_SLOT_QUEUED,
	PAR_SLOT_TAKEN,
	PAR_SLOT_OK,
	PAR_SLOT_FAILED,
};

/* A slot's ticket (par_lane.tickets), besides seq + 1 while a handle may
 * claim it: free (its owner may fill it), claimed by a wait or cancel,
 * fire-and-forget (its taker frees it). */
#define PAR_TICKET_FREE     UINT64_C(0)
#define PAR_TICKET_CLAIMED  UINT64_MAX
#define PAR_TICKET_DETACHED (UINT64_MAX - 1)

/* One copy in a lane: its owner writes it, its taker reads it. Two to
 * a cache line. */
struct par_slot {
	char *dst;
	const char *src;
	size_t bytes;
	/* The copy's error, when it ended FAILED; written by its taker. */
	int status;
	/* Fire-and-forget (its ticket is PAR_TICKET_DETACHED): its taker
	 * reads this rather than the ticket, whose line the waiters write. */
	bool detached;
};

/*
 * A submitting thread's lane: a ring of slots in submission order, which
 * only its owner fills, with plain stores. Workers take the oldest queued
 * slots (from top up), waiters the newest (from bottom down); each take
 * is a compare-and-swap on the slot's state, so the two ends meet only
 * where they cross. States and tickets are packed in arrays of their own:
 * a worker takes and ends a batch of copies in one cache line of states,
 * which their waiter reads once, the owner's stores to the slots find
 * lines that no other CPU wrote, and tickets, which the workers touch
 * only to free fire-and-forget copies, stay in the submitting thread's
 * cache, so that its claims (a compare-and-swap) do not wait for a line
 * another CPU holds.
 */
struct par_lane {
	/* Slots filled, ever; written by the owner alone. */
	_Alignas(64) atomic_size_t bottom;
	pthread_t owner;
	/* Workers' hint: every slot below it has been taken. */
	_Alignas(64) atomic_size_t top;
	/* Waiters' hint: where the last helper took a slot, when bottom was
	 * low_bottom; both only hints. */
	_Alignas(64) atomic_size_t low;
	atomic_size_t low_bottom;
	/* Each slot's state (enum par_slot_state). */
	_Alignas(64) atomic_uchar state[PAR_LANE_SLOTS];
	/* Each slot's ticket (PAR_TICKET_*, or seq + 1). */
	_Alignas(64) _Atomic uint64_t tickets[PAR_LANE_SLOTS];
	_Alignas(64) struct par_slot slots[PAR_LANE_SLOTS];
};

struct aml_dma_par_state {
	struct aml_dma_par_options options;
	/* What copies go through (aml/copier.h); never NULL. */
	const struct aml_copier *copier;
	/* Whether the copier models time: read on every wait, so kept. */
	bool models_time;
	/* Whether it delays in wall-clock time, which the workers leave to
	 * the engine (aml/copier.h). */
	bool delays;
	/* CPUs the initialising thread could run on (at least 1). */
	size_t ncpus;
	/* Workers' affinity, when options.cpus named CPUs. */
	bool pinned;
	cpu_set_t pin_cpus;
	/* Delay mode: idle workers spinning for work (par_idle): the one
	 * that spins as usual (0 or 1), and those that yield at every step. */
	atomic_size_t spinners;
	atomic_size_t yielding_spinners;
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
	/* Modelled end of the latest request that ended (for barriers), and
	 * in delay mode the latest wall_end_ns of those. */
	uint64_t ended_ns;
	uint64_t ended_wall_ns;
	/* Requests submitted to the workers and not ended, in submission
	 * order: they end in that order, so that the model sees them so
	 * whatever order the threads finish them in. */
	struct par_request *order_head;
	struct par_request *order_tail;
	/* The model's workers: when each is free, in modelled time. A
	 * request's chunks are laid on them, in order, each on the one free
	 * first (the lowest index among equals), when the request ends: the
	 * modelled time depends on the chunks' costs only, never on which
	 * thread copied which chunk. */
	uint64_t lane_ns[AML_DMA_PAR_WORKERS_MAX];
	struct aml_handle_pool requests;
	/* Requests waited without the lock, to put back in the pool: the
	 * waiter pushes (par_release), a holder of the lock takes them all
	 * (aml_dma_par_reclaim). Claimed until then, so refused by wait and
	 * cancel as spent. */
	_Atomic(struct par_request *) released;
	struct aml_fork_hook fork;
	/* Lanes (par_lane.c): whether copies may use them (no modelled
	 * time, no delay), the handles' tag, the engine's serial number
	 * (threads cache their lane by it), the lanes made (under the
	 * lock, read without it), the first error of a fire-and-forget
	 * copy in a lane, and whether workers sleep (under the lock). */
	bool lanes_on;
	/* Whether the CPU has PREFETCHW (aml_dma_par_prefetch_write). */
	bool prefetchw;
	uint16_t lane_tag;
	uint64_t serial;
	_Atomic(struct par_lane *) lanes[PAR_LANES_MAX];
	atomic_size_t nlanes;
	atomic_int lane_error;
	atomic_size_t lane_sleepers;
	/* Workers running: options.nworkers, or fewer in a child of fork()
	 * until they are started again. */
	size_t nthreads;
	pthread_t threads[];
};

/* Queue r, not queued, after every request queued before. */
static inline void aml_dma_par_queue_append(struct aml_dma_par_state *st,
                                            struct par_request *r)
{
	r->queued = true;
	r->next = NULL;
	r->prev = st->tail;
	if (st->tail != NULL)
		st->tail->next = r;
	else
		st->head = r;
	st->tail = r;
}

/* Every chunk of r handed out has finished: end it, and the requests
 * submitted after it that waited for it, in submission order. Ending one
 * lays its chunks on the model's workers to give its end, frees it if
 * detached, else marks it done, and wakes the waiters. */
void aml_dma_par_end(struct aml_dma_par_state *st, struct par_request *r);

/* Put the requests of the released stack back in the pool. */
void aml_dma_par_reclaim(struct aml_dma_par_state *st);

/* Start workers up to nworkers: all of them at init, again in a child of
 * fork(), which has none. Stops at the first that cannot start. */
void aml_dma_par_start_workers(struct aml_dma_par_state *st);

/* Copy queued chunks where waiters help, wait for every request to end,
 * and return (and clear) the first error of a fire-and-forget copy. */
int aml_dma_par_barrier_locked(struct aml_dma_par_state *st);

/* Without the lock: copy @p plan through a lane of the calling thread,
 * if it fits one (contiguous, at most PAR_LANE_BYTES_MAX bytes, a free
 * slot): 0 then, else 1 (use the queue). */
int aml_dma_par_lane_submit(struct aml_dma_par_state *st,
                            struct aml_dma_request **out,
                            const struct aml_dma_plan *plan);

/* Whether @p handle names a lane's slot (a lane handle, live or not). */
bool aml_dma_par_lane_handle(const struct aml_dma_par_state *st,
                             const struct aml_dma_request *handle);

/* Without the lock: wait for (or cancel) the lane copy of @p handle; as
 * the engine's wait and cancel. */
int aml_dma_par_lane_wait(struct aml_dma_par_state *st,
                          struct aml_dma_request *handle,
                          bool cancel);

/* Without the lock: a worker takes up to a batch of the oldest queued
 * slots and copies them; whether it copied any. */
bool aml_dma_par_lanes_run(struct aml_dma_par_state *st);

/* Slots queued in lanes and not taken by a worker (a hint: a waiter may
 * have taken some). */
size_t aml_dma_par_lanes_pending(const struct aml_dma_par_state *st);

/* Copy every queued slot and wait for every taken one (a barrier); with
 * or without the lock. Returns and clears the first error of a
 * fire-and-forget copy in a lane. */
int aml_dma_par_lanes_drain(struct aml_dma_par_state *st);

/* A child of fork(): slots a gone thread was copying are queued again,
 * and those a gone thread was waiting for may be waited again. */
void aml_dma_par_lanes_fork_child(struct aml_dma_par_state *st);

/* Free the lanes (fini). */
void aml_dma_par_lanes_free(struct aml_dma_par_state *st);

/* The engine's ops (par.c). */
extern const struct aml_dma_ops aml_dma_par_ops;

/* The engine's fork() handlers (par_fork.c). */
extern const struct aml_fork_ops aml_dma_par_fork_ops;

#endif /* AML_SRC_DMA_PAR_INTERNAL_H */
