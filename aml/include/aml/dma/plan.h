/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file plan.h
 * Copy plans: a copy between two layouts as a stream of contiguous runs,
 * the form dma engines receive (the submit op of aml/dma.h) and execute.
 *
 * The copy moves the logical byte stream of the source (elements in the
 * order of the destination's strides) to the destination. Dimensions
 * contiguous on both sides merge into the run, and outer dimensions merge
 * with each other when both sides step alike, so a dense copy is one run
 * and a tile is one run per row. The generic functions of aml/dma.h plan
 * each copy once, before the engine sees it; an engine cuts the stream
 * into byte ranges [begin, end), as many as it likes, and copies each with
 * aml_dma_plan_copy() through its copier (aml/copier.h).
 *
 * A plan holds addresses, not the layouts: it stays valid after the
 * layouts it was made from are gone, as long as the memory is, and an
 * engine that queues a copy keeps a copy of the plan (a plain struct).
 *
 * Thread-safety: a plan is only read once made; threads may copy disjoint
 * ranges of one plan at once.
 */
#ifndef AML_DMA_PLAN_H
#define AML_DMA_PLAN_H

#include <stddef.h>

#include <aml/copier.h>
#include <aml/layout.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A planned copy. Engines read bytes; the other fields are the plan's. */
struct aml_dma_plan {
	/** Address of element {0, ..., 0} of the destination. */
	char *dst;
	/** Address of element {0, ..., 0} of the source. */
	const char *src;
	/** Bytes of one contiguous run, on both sides. */
	size_t run;
	/** Bytes of the whole copy: run times the product of dims. */
	size_t bytes;
	/** Number of outer dimensions (0 for a contiguous copy). */
	size_t nouter;
	/** Outer dimensions, fastest first; with their strides, only the
	 * first nouter entries are set (none of a contiguous plan's). */
	size_t dims[AML_LAYOUT_NDIMS_MAX];
	/** Their strides in bytes, on the destination. */
	size_t dst_strides[AML_LAYOUT_NDIMS_MAX];
	/** Their strides in bytes, on the source. */
	size_t src_strides[AML_LAYOUT_NDIMS_MAX];
};

/**
 * Plan the copy of @p src to @p dst.
 * @param[out] out the plan; untouched on error.
 * @param dst the destination layout; only its addresses are kept.
 * @param src the source layout.
 * @return 0; AML_EINVAL for NULL arguments or shape-only layouts (NULL
 *         base), a different element size, number of dimensions or dims,
 *         or byte spans that overlap.
 */
int aml_dma_plan_layouts(struct aml_dma_plan *out,
                         const struct aml_layout *dst,
                         const struct aml_layout *src);

/**
 * Plan a contiguous copy of @p size bytes: dst, src, run, bytes and nouter
 * (0); the outer dimensions and strides are left as they were, as nothing
 * reads them (clearing those 192 bytes on every small asynchronous copy
 * was a sixth of its submission's instructions).
 * @param[out] out the plan; untouched on error.
 * @param dst where to copy to.
 * @param src what to copy.
 * @param size bytes to copy.
 * @return 0; AML_EINVAL for NULL pointers, size 0 or past PTRDIFF_MAX, or
 *         overlapping ranges.
 */
int aml_dma_plan_bytes(struct aml_dma_plan *out,
                       void *dst,
                       const void *src,
                       size_t size);

/**
 * Copy bytes [@p begin, @p end) of the stream of @p plan through
 * @p copier, run by run: every run after the first is streamed (one
 * latency per call, as for one copy, aml/copier.h). With the memcpy
 * default, the runs are plain memcpy calls.
 * @param plan a plan from aml_dma_plan_layouts() or aml_dma_plan_bytes().
 * @param begin first byte of the stream to copy.
 * @param end one past the last; begin == end copies nothing.
 * @param copier the copier; NULL means aml_copier_memcpy.
 * @return 0; AML_EINVAL, with nothing copied, for a NULL plan or
 *         begin > end or end > plan->bytes; the copier's AML_E* code, with
 *         the range copied in part.
 */
int aml_dma_plan_copy(const struct aml_dma_plan *plan,
                      size_t begin,
                      size_t end,
                      const struct aml_copier *copier);

#ifdef __cplusplus
}
#endif

#endif /* AML_DMA_PLAN_H */
