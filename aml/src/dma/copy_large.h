/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: how the engines copy bytes in real memory (aml_dma_plan_copy()
 * for the default copier), and the sizes that steer it, derived from the
 * machine's caches.
 *
 * A copy larger than the cache streams its destination past the cache:
 * non-temporal stores write whole lines to memory without reading them
 * first (a plain store reads each destination line, then writes it back:
 * three memory transfers per line copied instead of two) and without
 * evicting what the cache holds. Below the threshold, memcpy: the
 * destination is likely read soon, and stays in the cache.
 *
 * The decision is taken on the whole copy's size (plan->bytes), never on
 * a chunk's or a row's: the par engine cuts a 64 MiB copy into chunks that
 * each fit in the cache, but together they do not.
 */
#ifndef AML_SRC_DMA_COPY_LARGE_H
#define AML_SRC_DMA_COPY_LARGE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "aml/src/os.h"

#ifdef __cplusplus
extern "C" {
#endif

/** No copy smaller than this streams, whatever the caches say. */
#define AML_COPY_STREAM_MIN ((size_t)1 << 20)

/** Runs shorter than this are memcpy'd even in a streamed copy (a row of
 * a tile): non-temporal stores of part of a line cost a partial write. */
#define AML_COPY_STREAM_RUN_MIN ((size_t)4096)

/** Sizes derived from the caches (aml_copy_tuning_of()). */
struct aml_copy_tuning {
	/** Copies of at least this many bytes stream (non-temporal stores). */
	size_t stream_threshold;
	/** The par engine's default chunk_size (aml/dma/par.h). */
	size_t chunk_size;
};

/**
 * The tuning for caches @p caches (0 = unknown, replaced by defaults: 1 MiB
 * of L2, 32 MiB of LLC) and @p ncpus CPUs (0 counts as 1), into @p out.
 *
 * stream_threshold = min(LLC / 4, ncpus x 4 x L2), at least
 * max(2 x L2, AML_COPY_STREAM_MIN). LLC / 4 is glibc's rule for its own
 * memcpy (a copy that big evicts most of what the cache held). The second
 * term bounds the LLC share the process's CPUs can claim (their L2 and,
 * on current parts, an L3 slice of 1 to 4 times it): where the LLC
 * reported is the host socket's, as in a VM or a small container, LLC / 4
 * alone would keep plain stores for copies many times the cache the
 * process has.
 *
 * chunk_size = L2 / 4, within [64 KiB, 4 MiB]: a chunk's source and
 * destination together fill half of the copying core's L2, so a copy
 * that fits in the cache is cut into pieces that stay there.
 *
 * Pure: the same inputs give the same outputs on every machine.
 */
void aml_copy_tuning_of(struct aml_copy_tuning *out,
                        const struct aml_cache_sizes *caches,
                        size_t ncpus);

/**
 * This process's tuning: aml_copy_tuning_of() of aml_cache_sizes() and
 * aml_thread_ncpus() at the first call (CPU affinity set later is not
 * seen). Thread-safe, lock-free; never fails.
 */
size_t aml_copy_stream_threshold(void);
/** @copydoc aml_copy_stream_threshold */
size_t aml_copy_chunk_size(void);

/**
 * Copy @p n bytes from @p src to @p dst (not overlapping) with
 * non-temporal stores, then a store fence, so that the bytes are visible to
 * any thread that synchronises with the caller afterwards. Any alignment
 * and size; the unaligned head and the tail are memcpy'd. x86-64: AVX
 * where the CPU has it, else SSE2. Elsewhere, memcpy.
 */
void aml_copy_stream(void *dst, const void *src, size_t n);

/**
 * Whether runs of @p n bytes, parts of a copy of @p total bytes, stream:
 * total reaches the threshold and the run is long enough. Inline: the
 * small copies' answer is one comparison.
 */
static inline bool aml_copy_run_streams(size_t n, size_t total)
{
	return total >= AML_COPY_STREAM_MIN && n >= AML_COPY_STREAM_RUN_MIN &&
	       total >= aml_copy_stream_threshold();
}

/**
 * Copy one run of @p n bytes, part of a copy of @p total bytes: streamed
 * where aml_copy_run_streams() says so, else memcpy.
 */
static inline void
aml_copy_run(void *dst, const void *src, size_t n, size_t total)
{
	if (aml_copy_run_streams(n, total))
		aml_copy_stream(dst, src, n);
	else
		memcpy(dst, src, n);
}

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_DMA_COPY_LARGE_H */
