/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: a copy between two layouts as a stream of contiguous runs, the
 * form every engine executes and splits.
 *
 * The copy moves the logical byte stream of the source (elements in the
 * order of the destination's strides) to the destination. Dimensions
 * contiguous on both sides merge into the run, and outer dimensions merge
 * with each other when both sides step alike, so a dense copy is one run
 * and a tile is one run per row. Engines cut the stream into byte ranges
 * [begin, end) and copy each with aml_dma_plan_copy().
 */
#ifndef AML_SRC_DMA_PLAN_H
#define AML_SRC_DMA_PLAN_H

#include <stddef.h>

#include <aml/layout.h>
#include <aml/topology.h>

struct aml_dma_plan {
	/* Address of element {0, ..., 0} on each side. */
	char *dst;
	const char *src;
	/* Bytes of one contiguous run, on both sides. */
	size_t run;
	/* Bytes of the whole copy: run times the product of dims. */
	size_t bytes;
	/* Outer dimensions, fastest first, and their strides in bytes. */
	size_t nouter;
	size_t dims[AML_LAYOUT_NDIMS_MAX];
	size_t dst_strides[AML_LAYOUT_NDIMS_MAX];
	size_t src_strides[AML_LAYOUT_NDIMS_MAX];
};

/*
 * Plan the copy of @p src to @p dst.
 * @return 0; AML_EINVAL for NULL or shape-only layouts, a different element
 *         size, number of dimensions or dims, or byte spans that overlap.
 */
int aml_dma_plan_layouts(struct aml_dma_plan *out,
                         const struct aml_layout *dst,
                         const struct aml_layout *src);

/*
 * Plan a contiguous copy.
 * @return 0; AML_EINVAL for NULL pointers, size 0, or overlapping ranges.
 */
int aml_dma_plan_bytes(struct aml_dma_plan *out,
                       void *dst,
                       const void *src,
                       size_t size);

/*
 * Copy bytes [begin, end) of the stream (end <= plan->bytes) through
 * aml_topology_copy(@p charged, ...): memcpy when @p charged is NULL, the
 * emulator's charged copy for an emulated topology, where the runs after
 * the first are streamed (one latency per call, as for one copy).
 * @return 0, or the emulator's AML_E* code.
 */
int aml_dma_plan_copy(const struct aml_dma_plan *plan,
                      size_t begin,
                      size_t end,
                      const struct aml_topology *charged);

#endif /* AML_SRC_DMA_PLAN_H */
