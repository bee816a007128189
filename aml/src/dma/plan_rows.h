/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memcpy path of a plan, for plan.c and for the blocks that copy a
 * plan's shape between addresses of their own without setting its dst and
 * src: the scratchpad's full-tile copies.
 */
#ifndef AML_SRC_DMA_PLAN_ROWS_H
#define AML_SRC_DMA_PLAN_ROWS_H

#include <stddef.h>
#include <string.h>

#include <aml/dma/plan.h>

#include "aml/src/dma/copy_large.h"

/* Copy rows [first, last) of @p plan (at most one outer dimension; a
 * plan with none has one row) from @p src to @p dst with memcpy, in place
 * of plan->src and plan->dst, each row streamed past the cache as the
 * whole plan's size asks (aml_copy_run_streams()). Inline: a scratchpad
 * miss of a 4 KiB tile copies 16 rows of 256 B, and a call's prologue and
 * epilogue cost as much as several of them. */
static inline void aml_dma_plan_copy_rows(const struct aml_dma_plan *plan,
                                          char *dst,
                                          const char *src,
                                          size_t first,
                                          size_t last)
{
	size_t ds = plan->nouter > 0 ? plan->dst_strides[0] : 0;
	size_t ss = plan->nouter > 0 ? plan->src_strides[0] : 0;
	size_t run = plan->run, total = plan->bytes;
	char *d = dst + first * ds;
	const char *s = src + first * ss;
	/* Every row has the same run and total: one answer for all, and the
	 * plan's fields in locals, which each call would make the compiler
	 * load again (memcpy may write the plan, as far as it knows). A 4
	 * KiB tile is 16 rows of plain memcpy calls. */
	if (!aml_copy_run_streams(run, total)) {
		for (size_t r = first; r < last; r++, d += ds, s += ss)
			memcpy(d, s, run);
		return;
	}
	for (size_t r = first; r < last; r++, d += ds, s += ss)
		aml_copy_stream(d, s, run);
}

#endif /* AML_SRC_DMA_PLAN_ROWS_H */
