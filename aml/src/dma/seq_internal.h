/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: what other blocks may know of the sequential engine (seq.c).
 *
 * A sequential engine copies in the submitting thread, at submission; its
 * request only carries the result to wait(), at the cost of two passes
 * through the engine's lock and its request pool. A block that copies
 * synchronously through a caller's engine (the scratchpad's misses, pushes
 * and write-backs) may skip the request when the engine is a sequential
 * one: aml_dma_plan_copy() through the engine's copier is the copy submit
 * would run, in the same thread, with the same result.
 */
#ifndef AML_SRC_DMA_SEQ_INTERNAL_H
#define AML_SRC_DMA_SEQ_INTERNAL_H

#include <aml/copier.h>
#include <aml/dma.h>

/*
 * The copier a sequential engine copies through, fixed from its init to
 * its fini; NULL when @p dma is NULL, finalised or an engine of another
 * kind. No lock: reads only what init wrote.
 */
const struct aml_copier *aml_dma_seq_copier(const struct aml_dma *dma);

#endif /* AML_SRC_DMA_SEQ_INTERNAL_H */
