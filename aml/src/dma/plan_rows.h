/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memcpy path of a plan (plan.c), for the blocks that copy a plan's
 * shape between addresses of their own without setting its dst and src:
 * the scratchpad's full-tile copies.
 */
#ifndef AML_SRC_DMA_PLAN_ROWS_H
#define AML_SRC_DMA_PLAN_ROWS_H

#include <stddef.h>

#include <aml/dma/plan.h>

/* Copy rows [first, last) of @p plan (at most one outer dimension; a
 * plan with none has one row) from @p src to @p dst with memcpy, in place
 * of plan->src and plan->dst, each row streamed past the cache as the
 * whole plan's size asks (aml_copy_run). */
void aml_dma_plan_copy_rows(const struct aml_dma_plan *plan,
                            char *dst,
                            const char *src,
                            size_t first,
                            size_t last);

#endif /* AML_SRC_DMA_PLAN_ROWS_H */
