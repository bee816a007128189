/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file dma.h
 * DMAs: copy engines that move data between areas, synchronously or not.
 *
 * A copy goes from a source to a destination described by layouts
 * (aml/layout.h), so one call covers every shape:
 * - a contiguous range: aml_dma_copy_bytes(), or a 1-d layout of bytes;
 * - a tile: aml_tiling_tile_layout() of a tiling (aml/tiling.h);
 * - any strided array, e.g. a tile packed into a contiguous buffer: the
 *   destination and the source have the same element size and the same
 *   dims, and element (i, j, ...) of the source lands on element (i, j,
 *   ...) of the destination, whatever the strides and storage orders.
 *
 * Engines, one header each:
 * - aml/dma/seq.h: copies in the calling thread, at submission.
 * - aml/dma/par.h: a pool of worker threads created once; large copies are
 *   split into chunks across the workers; hand-offs spin briefly before
 *   they sleep.
 * Both copy through the copier of the topology they are made with
 * (aml_topology_copier()): on an emulated topology (aml/emulator.h), the
 * emulator's, which charges every copy to its cost model (and delays it in
 * delay mode). Writing an engine: see struct aml_dma_ops and
 * aml/dma/plan.h.
 *
 * Requests. aml_dma_async_copy() returns a request handle that stays valid,
 * whatever else is submitted, until aml_dma_wait() or aml_dma_cancel()
 * takes it back (both set the handle to NULL). A handle is good for one
 * wait or cancel: the engines' handles are not addresses but name a
 * request and its generation, so a copy of a handle used again, a handle
 * waited by two threads at once (the second), another engine's handle,
 * and any pointer the engine did not give out are AML_EINVAL and change
 * nothing. Passing a NULL @p out
 * submits fire-and-forget: the engine frees the request when the copy ends,
 * and aml_dma_barrier() waits for it. Destroying (or finalising) an engine
 * first completes every copy submitted to it, then frees every request,
 * including those whose handles the caller still holds: do not use them
 * afterwards.
 *
 * Errors: a destination and a source that differ in element size, number
 * of dimensions or dims, or whose byte spans overlap, are AML_EINVAL, and
 * nothing is copied. A NULL engine or layout, a shape-only layout (NULL
 * base), and a size of 0 are AML_EINVAL too.
 *
 * Thread-safety: every function but init and fini may be called from
 * several threads at once on the same engine. Two threads may even wait
 * for (or cancel) one request at once: one of them takes it, the other
 * gets AML_EINVAL and changes nothing.
 *
 * fork(): in the child of a fork(), whatever the parent's other threads
 * were doing, every aml object the parent had (dma engines, scratchpads,
 * areas, arenas, topologies, emulated ones included) can be used and
 * finalised. aml's pthread_atfork handlers take every object's locks
 * before the fork, so the child's copy of each object is whole, release
 * them in the parent and make them new in the child. The fork waits for
 * the critical sections in flight (short, but a scratchpad's synchronous
 * copies run inside its lock). In the child:
 * - Only the forking thread exists. A par engine starts its workers again
 *   when the child first queues, waits for or barriers a copy; if it
 *   cannot, the calling thread copies the chunks itself.
 * - A copy queued to a par engine and in flight at the fork completes in
 *   the parent as before and in the child too: waiting its request (the
 *   handle is valid in both), a barrier or fini returns once the child's
 *   destination holds the whole copy. Chunks a worker was copying at the
 *   fork are copied again from the child's source, so the source must not
 *   have changed, as for any copy in flight.
 * - A copy that another thread ran itself at the fork (every copy of the
 *   seq engine, par copies up to inline_max) belonged to that thread: in
 *   the child its destination holds an unspecified part of the data, and
 *   no handle to it exists. A wait or cancel another thread was in is gone
 *   with it; the child may wait the request again if it holds the handle.
 * - A scratchpad copy whose waiter is gone is completed by the child's
 *   next waiter, which waits for the dma request the gone thread was
 *   waiting for (copying again only if that request had ended), so no
 *   copy of it lands later; slots pinned by threads that are gone stay
 *   pinned (never evicted; flush and fini still write them back).
 * - On an emulated topology, the clocks go on from their values at the
 *   fork, in each process.
 * posix_spawn() runs no atfork handler. aml keeps every initialised object
 * in a list for this: finalise an object before its storage is freed.
 */
#ifndef AML_DMA_H
#define AML_DMA_H

#include <stddef.h>

#include <aml/dma/plan.h>
#include <aml/layout.h>

#ifdef __cplusplus
extern "C" {
#endif

struct aml_dma;

/** A copy in flight; opaque, owned by its engine. */
struct aml_dma_request;

/**
 * Operations of a dma engine. The generic functions check the handle and
 * plan the copy (aml/dma/plan.h: same shape, no overlap, not shape-only)
 * before they call submit, so an engine only schedules: it cuts the plan's
 * byte stream as it likes and copies each piece with aml_dma_plan_copy()
 * through its copier (aml/copier.h, usually aml_topology_copier() of the
 * topology it was made with). An engine whose copier models time
 * (aml_copier_models_time()) keeps the model true: a piece copied by
 * another thread starts, in modelled time, no earlier than the submitter's
 * time at submission (aml_copier_thread_wait_until() before the copy), and
 * a waiter resumes at the latest end of the pieces it waited for.
 */
struct aml_dma_ops {
	/**
	 * Start copying @p plan. Required. The plan is the caller's, valid
	 * only during the call: an engine that copies later keeps a copy of
	 * the struct (the memory it names must stay valid until the copy
	 * ends, which is the user's promise). With @p out NULL, the engine
	 * frees the request itself when the copy ends.
	 * @return 0; AML_ENOMEM, with nothing copied; AML_EINVAL for an
	 *         engine being finalised.
	 */
	int (*submit)(struct aml_dma *dma,
	              struct aml_dma_request **out,
	              const struct aml_dma_plan *plan);
	/**
	 * Wait for the copy of @p request to end, then free the request.
	 * Required. A handle is the engine's to define (it need not be an
	 * address, and is never NULL); the engine must refuse one it did not
	 * give out or already took back.
	 * @return 0, or the AML_E* code the copy ended with; AML_EINVAL,
	 *         changing nothing, for a handle that names no live request
	 *         of this engine.
	 */
	int (*wait)(struct aml_dma *dma, struct aml_dma_request *request);
	/**
	 * Stop the copy of @p request (chunks not started are skipped, those
	 * running finish), then free the request. Required.
	 * @return 0 if the copy was stopped before it ended (the
	 *         destination holds part of it), 1 if it had already ended;
	 *         AML_EINVAL as wait().
	 */
	int (*cancel)(struct aml_dma *dma, struct aml_dma_request *request);
	/**
	 * Wait for every copy submitted so far, fire-and-forget ones
	 * included. Required. @return 0 or AML_E*.
	 */
	int (*barrier)(struct aml_dma *dma);
};

/** Generic dma handle. Implementations fill both fields. */
struct aml_dma {
	/** The implementation's operations. */
	const struct aml_dma_ops *ops;
	/** The implementation's state. */
	void *data;
};

/**
 * Copy @p src to @p dst and return when it is done.
 * @return 0; AML_EINVAL (see the file comment) with nothing copied;
 *         AML_ENOMEM.
 */
int aml_dma_copy(struct aml_dma *dma,
                 const struct aml_layout *dst,
                 const struct aml_layout *src);

/**
 * Copy @p size bytes from @p src to @p dst and return when it is done.
 * @return as aml_dma_copy(); AML_EINVAL for NULL pointers, size 0 or
 *         overlapping ranges.
 */
int aml_dma_copy_bytes(struct aml_dma *dma,
                       void *dst,
                       const void *src,
                       size_t size);

/**
 * Start copying @p src to @p dst.
 * @param dma the engine.
 * @param[out] out receives the request, to pass to aml_dma_wait() or
 *             aml_dma_cancel(); NULL for fire-and-forget. Set to NULL on
 *             error.
 * @param dst where to copy to; must stay valid until the copy ends.
 * @param src what to copy, of the same element size and dims as @p dst;
 *        must stay valid until the copy ends.
 * @return 0; AML_EINVAL (see the file comment); AML_ENOMEM.
 */
int aml_dma_async_copy(struct aml_dma *dma,
                       struct aml_dma_request **out,
                       const struct aml_layout *dst,
                       const struct aml_layout *src);

/** aml_dma_async_copy() of @p size contiguous bytes. */
int aml_dma_async_copy_bytes(struct aml_dma *dma,
                             struct aml_dma_request **out,
                             void *dst,
                             const void *src,
                             size_t size);

/**
 * Wait for the copy of *@p request to end, free the request and set
 * *@p request to NULL.
 * @return 0; the copy's AML_E* code if it failed; AML_EINVAL for a NULL
 *         engine, a NULL @p request or a NULL *@p request, and for a
 *         handle that names no live request of @p dma (already waited or
 *         cancelled, being waited by another thread, another engine's,
 *         made up): the engine is left as it was, and *@p request is set
 *         to NULL all the same.
 */
int aml_dma_wait(struct aml_dma *dma, struct aml_dma_request **request);

/**
 * Cancel the copy of *@p request, free the request and set *@p request to
 * NULL. Cancelling a copy that already ended only frees the request. The
 * destination of a cancelled copy holds an unspecified part of the data.
 * @return 0 if the copy was stopped, 1 if it had already ended;
 *         AML_EINVAL as aml_dma_wait(), stale and foreign handles
 *         included.
 */
int aml_dma_cancel(struct aml_dma *dma, struct aml_dma_request **request);

/**
 * Wait for every copy submitted to @p dma so far, including
 * fire-and-forget ones. Requests with a handle still need aml_dma_wait()
 * (which then returns at once) or aml_dma_cancel() to be freed.
 * @return 0; the first AML_E* code a fire-and-forget copy failed with
 *         since the last barrier; AML_EINVAL for a NULL engine.
 */
int aml_dma_barrier(struct aml_dma *dma);

#ifdef __cplusplus
}
#endif

#endif /* AML_DMA_H */
