/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file par.h
 * The parallel dma engine: a pool of worker threads, created once by init,
 * that copies requests in chunks.
 *
 * - A copy of at least 2 * chunk_size bytes is cut into up to
 *   4 x (nworkers + 1) chunks, so that a thread the OS preempts leaves its
 *   share to the others: equal byte ranges of the copy's stream, on 64-byte
 *   boundaries (a chunk may start inside a row of a strided layout), of at
 *   least chunk_size bytes but the last. The workers copy them at once;
 *   aml_dma_copy() and aml_dma_wait() also copy queued chunks in the
 *   calling thread rather than sleeping: outside modelled time, a wait
 *   whose copy a worker holds copies other requests' queued chunks
 *   meanwhile, which delays its return by one chunk at most.
 * - A contiguous copy of at most 64 KiB that does not run inline (see
 *   below) goes, where no model watches copies (no modelled time, no delay
 *   mode), to the submitting thread's lane: a ring of 1024 requests that
 *   the thread fills without a lock (the first 16 threads to submit get
 *   one; others, and copies that find the next request of their lane not
 *   yet waited, take the queue). Workers copy a lane's oldest requests,
 *   and a wait whose copy is not done copies the newest meanwhile, so
 *   that its return is delayed by one such copy at most; such a wait
 *   spins, yielding the CPU, rather than sleep.
 * - A copy of at most inline_max bytes runs in the submitting thread, as
 *   with the sequential engine: a hand-off to a worker costs more than
 *   the copy itself. inline_max 0 takes the default, 16 KiB;
 *   AML_DMA_PAR_NO_INLINE sends every copy to the workers.
 * - Idle workers, and threads in aml_dma_wait(), spin for spin_ns before
 *   they sleep, so that a request submitted or completed within that time
 *   pays no wake-up (tens of microseconds where a condition variable sleep
 *   is involved); spinners yield the CPU now and then. Where the workers
 *   alone fill every CPU the engine may use (nworkers >= CPUs), one idle
 *   worker spins and the others sleep at once: the waiting thread copies
 *   too, and a spinner would take its CPU. An idle worker
 *   leaves a few small pending copies for about a microsecond while more
 *   come, and takes up to 16 chunks (64 KiB; from a lane, 128 KiB) at
 *   once (one in delay mode).
 * - Requests are allocated from a free list: handles stay valid until
 *   waited or cancelled, whatever else is submitted; each carries its
 *   request's generation, so a spent one is refused (aml/dma.h).
 * - In the child of a fork(), the engine has no workers until a copy is
 *   queued, waited for or barriered, which starts them again; copies in
 *   flight at the fork complete in the child too (aml/dma.h, "fork()").
 * - Modelled time: when the copier models time (an emulated topology's,
 *   aml_copier_models_time()), each chunk costs what the copier charged
 *   the thread that copied it, and copies end in submission order, each
 *   laying its chunks in order on nworkers modelled workers (a chunk on
 *   the one free first, no earlier than the submitter's time at
 *   submission). A waiter or barrier resumes at the end of what it waited
 *   for, and waiters and barriers do not copy chunks themselves while
 *   workers run (so that the copy overlaps the waiter's work in the
 *   model). The same calls thus give the same modelled times, whichever
 *   thread copied which chunk.
 * - Delay mode (a copier that also delays in wall-clock time,
 *   aml_copier_delays(): an emulated topology's in delay mode): the
 *   workers copy undelayed, and a waiter or barrier resumes at the
 *   request's submission plus the copier's wall time for its modelled
 *   duration, so that the hand-off to a worker is absorbed in the wait. One
 *   idle worker then spins for work for 2 ms (or spin_ns if longer), and
 *   the others as long after they copied, yielding the CPU at every step;
 *   a waiter whose copy keeps every worker busy, with no CPU to spare,
 *   yields at every step too, rather than sleep (docs/emulator.md, "Delay
 *   mode").
 *
 * Usage:
 * @code
 * AML_DMA_PAR_DECL(dma);
 * aml_dma_par_init(&dma, NULL, NULL); // default options
 * struct aml_dma_request *r;
 * aml_dma_async_copy_bytes(&dma.base, &r, dst, src, size);
 * ... work ...
 * aml_dma_wait(&dma.base, &r);
 * aml_dma_par_fini(&dma);
 * @endcode
 */
#ifndef AML_DMA_PAR_H
#define AML_DMA_PAR_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/copier.h>
#include <aml/dma.h>
#include <aml/topology.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Options of a parallel engine; zero fields take the defaults. */
struct aml_dma_par_options {
	/** Worker threads, 1 to AML_DMA_PAR_WORKERS_MAX. Default: the CPUs
	 * the calling thread may run on, minus one, at least 1. */
	size_t nworkers;
	/** Smallest chunk, in bytes. Default a quarter of the L2 cache, within
	 * [64 KiB, 4 MiB] (256 KiB for a 1 MiB L2). */
	size_t chunk_size;
	/** Copies up to this many bytes run in the submitting thread.
	 * 0 takes the default, 16 KiB; AML_DMA_PAR_NO_INLINE sends every
	 * copy to the workers. */
	size_t inline_max;
	/** Nanoseconds to spin before sleeping. Default 50000. */
	uint64_t spin_ns;
	/** CPUs the workers run on (each worker's affinity is the whole
	 * set), e.g. a NUMA node's (struct aml_device's cpus), so that the
	 * copies run near its memory: aml/dma/multiplex.h spreads copies
	 * over one such engine per node. CPUs the initialising thread may
	 * not run on are left out; none left is AML_EINVAL. Empty (the
	 * default): the initialising thread's CPUs. When set, nworkers
	 * defaults to the number of CPUs kept. */
	struct aml_bitmap cpus;
};

/** inline_max value that sends every copy to the workers. */
#define AML_DMA_PAR_NO_INLINE ((size_t)-1)

/** Most workers an engine can have. */
#define AML_DMA_PAR_WORKERS_MAX 256

/** Storage for a parallel engine. Pass &x.base to aml_dma_*(). */
struct aml_dma_par {
	/** Generic handle. Keep first. */
	struct aml_dma base;
	/** @privatesection */
	/* Private: use the aml_dma_par_*() functions. */
	/** The engine's state, allocated by init. */
	struct aml_dma_par_state *state;
};

/** Declare storage for a parallel engine (see aml_dma_par_init()). */
#define AML_DMA_PAR_DECL(name) struct aml_dma_par name

/**
 * Initialise a parallel engine and start its workers.
 * @param[out] dma the storage to initialise. On error it is left
 *             finalised, whatever it held: aml_dma_par_fini() is a no-op
 *             on it and every other call through it AML_EINVAL.
 * @param topology the topology the copied memory lives in: copies go
 *        through its copier (aml_topology_copier()), so that on an
 *        emulated one they are charged to its cost model. NULL, or a real
 *        topology, copies with memcpy only. Must outlive the engine.
 * @param options NULL for the defaults.
 * @return 0; AML_EINVAL for a NULL @p dma or an option out of range, and
 *         for storage that holds a live engine (initialised, not
 *         finalised), which is left as it is;
 *         AML_ENOMEM when its state, its mutex or a condition variable
 *         cannot be made; AML_FAILURE when a thread cannot be started.
 *         Nothing is left allocated or running on error.
 */
int aml_dma_par_init(struct aml_dma_par *dma,
                     const struct aml_topology *topology,
                     const struct aml_dma_par_options *options);

/**
 * aml_dma_par_init() with the copier copies go through given directly,
 * rather than the topology's (aml/copier.h): a copy engine of the
 * caller's, or a test's fake. A copier that models time gets the
 * emulator's treatment (see "Modelled time" above).
 * @param[out] dma as for aml_dma_par_init().
 * @param copier the copier; not owned, must outlive the engine.
 * @param options as for aml_dma_par_init().
 * @return as aml_dma_par_init(); AML_EINVAL too for a NULL @p copier or
 *         one without a copy op (the storage is left finalised).
 */
int aml_dma_par_init_copier(struct aml_dma_par *dma,
                            const struct aml_copier *copier,
                            const struct aml_dma_par_options *options);

/**
 * Finalise: complete every copy submitted, stop and join the workers, free
 * every request (handles not yet waited become invalid). NULL is a no-op.
 * In the child of a fork(), completes the copies without starting workers
 * and joins only those the child started.
 */
void aml_dma_par_fini(struct aml_dma_par *dma);

/**
 * The options an engine runs with, defaults resolved.
 * @return 0; AML_EINVAL for NULL arguments or an engine not initialised.
 */
int aml_dma_par_options(const struct aml_dma_par *dma,
                        struct aml_dma_par_options *out);

/**
 * aml_dma_par_init() into one allocation.
 * @param[out] out receives the engine; NULL on error.
 * @param topology,options as for aml_dma_par_init().
 * @return as aml_dma_par_init().
 */
int aml_dma_par_create(struct aml_dma **out,
                       const struct aml_topology *topology,
                       const struct aml_dma_par_options *options);

/**
 * Finalise and free an engine from aml_dma_par_create(), and set *@p dma
 * to NULL. NULL, a pointer to NULL and an engine of another kind are left
 * alone.
 */
void aml_dma_par_destroy(struct aml_dma **dma);

#ifdef __cplusplus
}
#endif

#endif /* AML_DMA_PAR_H */
