/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file copier.h
 * Copiers: what moves the bytes of a copy, below the dma engines that
 * schedule it. An engine cuts a copy into contiguous runs (aml/dma/plan.h)
 * and hands each run to a copier: memcpy (aml_copier_memcpy, the default),
 * the emulator's, which charges the copy to its cost model
 * (aml/emulator.h), or one of the caller's (a GPU's copy engine, a test's
 * fake). A topology hands out the copier for its memory:
 * aml_topology_copier() (aml/topology.h).
 *
 * The contract of every op, which the callers (the generic functions
 * below, aml_dma_plan_copy()) guarantee: the copier handle is not NULL;
 * @p dst and @p src are not NULL; size > 0; [dst, dst + size) and
 * [src, src + size) do not overlap and do not run past the end of the
 * address space. An op may be called from several threads at once.
 *
 * Time: a copier may model time, as the emulator does, with a virtual
 * clock per thread that its copies move forward. It then has both
 * thread_time and thread_wait_until, and engines use them to account
 * overlap: a copy handed to a worker starts, in modelled time, when it was
 * submitted, and a waiter resumes when the copy ended. A copier without
 * them takes real time, and engines ignore the clock.
 *
 * Delay mode: a copier that models time may also take wall-clock time in
 * proportion to it (the emulator's delay mode), each copy busy-waiting
 * until its modelled time, dilated, has passed. It then has wall_ns and
 * thread_undelayed. An engine's workers call thread_undelayed, and the
 * engine delays whoever waits for their copies instead: until the
 * submission's wall-clock time plus wall_ns of the copy's modelled
 * duration. A hand-off to a worker and its wake-up are then absorbed in
 * that wait rather than added to it, and a worker is free for the next
 * copy as soon as its bytes are moved.
 */
#ifndef AML_COPIER_H
#define AML_COPIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct aml_copier;

/** Operations of a copier; see the contract in the file comment. */
struct aml_copier_ops {
	/**
	 * Copy @p size bytes from @p src to @p dst. Required. With
	 * @p streamed, the bytes are a later run of one strided copy whose
	 * first run paid the access latency: hardware streams the runs of
	 * one copy with one latency, so a copier that models time charges
	 * only bandwidth.
	 * @return 0 or AML_E*; what a failed copy left in @p dst is
	 *         unspecified.
	 */
	int (*copy)(const struct aml_copier *copier,
	            void *dst,
	            const void *src,
	            size_t size,
	            bool streamed);
	/**
	 * The calling thread's modelled time, in ns. Optional, but present
	 * exactly when thread_wait_until is: both or neither.
	 */
	uint64_t (*thread_time)(const struct aml_copier *copier);
	/**
	 * Move the calling thread's modelled time forward to @p ns if it is
	 * behind (it waited for work that ended then); never backwards.
	 * Optional, with thread_time.
	 */
	void (*thread_wait_until)(const struct aml_copier *copier, uint64_t ns);
	/**
	 * The wall-clock ns that @p ns of modelled time take now, 0 when
	 * the copier does not delay now (delay mode, in the file comment);
	 * when it delays, at least @p ns (engines ask for 1 ns to know).
	 * Optional, but present exactly when thread_undelayed is, and only
	 * with thread_time.
	 */
	uint64_t (*wall_ns)(const struct aml_copier *copier, uint64_t ns);
	/**
	 * From now on, the calling thread's copies are charged to its clock
	 * but not delayed: it is an engine's worker, and the engine delays
	 * the threads that wait for its copies (file comment). Optional, with
	 * wall_ns.
	 */
	void (*thread_undelayed)(const struct aml_copier *copier);
};

/** Generic copier handle. Implementations fill both fields. */
struct aml_copier {
	/** The implementation's operations. */
	const struct aml_copier_ops *ops;
	/** The implementation's state. */
	void *data;
};

/**
 * The default copier: memcpy, no modelled time. Constant, never
 * finalised; usable from any thread.
 */
extern const struct aml_copier aml_copier_memcpy;

/**
 * Copy @p size bytes from @p src to @p dst through @p copier.
 * @param copier the copier; not owned.
 * @param dst where to copy to.
 * @param src what to copy; must not overlap @p dst.
 * @param size bytes, at least 1.
 * @param streamed a later run of one strided copy (see the copy op).
 * @return 0; AML_EINVAL, with nothing copied, for a NULL copier (or one
 *         without ops or copy op), NULL pointers, size 0, ranges that
 *         overlap or run past the end of the address space; the op's
 *         AML_E* code.
 */
int aml_copier_copy(const struct aml_copier *copier,
                    void *dst,
                    const void *src,
                    size_t size,
                    bool streamed);

/**
 * Whether @p copier can copy: not NULL, with ops and a copy op. What an
 * engine checks of the copier it is given (aml_dma_seq_init_copier()).
 * @note Thread-safe.
 */
bool aml_copier_can_copy(const struct aml_copier *copier);

/**
 * Whether @p copier models time (has thread_time and thread_wait_until).
 * @return false for NULL.
 */
bool aml_copier_models_time(const struct aml_copier *copier);

/**
 * The calling thread's modelled time, in ns.
 * @return 0 for NULL or a copier that does not model time.
 */
uint64_t aml_copier_thread_time(const struct aml_copier *copier);

/**
 * Move the calling thread's modelled time forward to @p ns (it waited for
 * work that ended then). A no-op for NULL or a copier that does not model
 * time.
 */
void aml_copier_thread_wait_until(const struct aml_copier *copier, uint64_t ns);

/**
 * Whether @p copier delays copies in wall-clock time that an engine may
 * take over (it models time, and has wall_ns and thread_undelayed).
 * @return false for NULL.
 */
bool aml_copier_delays(const struct aml_copier *copier);

/**
 * The wall-clock ns that @p ns of modelled time take through @p copier
 * now (the copier's wall_ns).
 * @return 0 for NULL, a copier that does not delay, or one that does not
 *         delay now.
 * @note Thread-safe.
 */
uint64_t aml_copier_wall_ns(const struct aml_copier *copier, uint64_t ns);

/**
 * The calling thread's copies through @p copier are no longer delayed: it
 * is an engine's worker, whose engine delays the waiters instead (see
 * "Delay mode" in the file comment). A no-op for NULL or a copier that
 * does not delay.
 */
void aml_copier_thread_undelayed(const struct aml_copier *copier);

#ifdef __cplusplus
}
#endif

#endif /* AML_COPIER_H */
