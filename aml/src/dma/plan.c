/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Copy plans (aml/dma/plan.h).
 *
 * Planning sorts the dimensions by the destination's strides, so the
 * stream writes the destination in address order (the side where a
 * scattered access costs most: a write-allocate per line), then merges
 * what is contiguous on both sides. A transpose merges nothing and copies
 * element by element: correct, and no slower than the loop a user writes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <aml/dma/plan.h>
#include <aml/error.h>

#include "aml/src/dma/copy_large.h"
#include "aml/src/dma/plan_rows.h"
#include "aml/src/rangeset.h"

static bool same_shape(const struct aml_layout *dst,
                       const struct aml_layout *src)
{
	if (dst->element_size != src->element_size || dst->ndims != src->ndims)
		return false;
	for (size_t d = 0; d < dst->ndims; d++) {
		if (dst->dims[d] != src->dims[d])
			return false;
	}
	return true;
}

struct plan_dim {
	size_t n, ds, ss;
};

int aml_dma_plan_layouts(struct aml_dma_plan *out,
                         const struct aml_layout *dst,
                         const struct aml_layout *src)
{
	if (out == NULL || dst == NULL || src == NULL ||
	    !same_shape(dst, src) || dst->ndims == 0 ||
	    dst->ndims > AML_LAYOUT_NDIMS_MAX)
		return AML_EINVAL;
	char *d0 = aml_layout_base(dst);
	const char *s0 = aml_layout_base(src);
	if (d0 == NULL || s0 == NULL ||
	    aml_spans_overlap(d0, aml_layout_bytes(dst), s0,
	                      aml_layout_bytes(src)))
		return AML_EINVAL;

	/* Dimensions of more than one element, by destination stride. */
	struct plan_dim dims[AML_LAYOUT_NDIMS_MAX];
	size_t n = 0;
	for (size_t d = 0; d < dst->ndims; d++) {
		if (dst->dims[d] < 2)
			continue;
		struct plan_dim x = {dst->dims[d], dst->strides[d],
		                     src->strides[d]};
		size_t k = n++;
		while (k > 0 && dims[k - 1].ds > x.ds) {
			dims[k] = dims[k - 1];
			k--;
		}
		dims[k] = x;
	}

	struct aml_dma_plan plan = {.dst = d0, .src = s0};
	size_t run = dst->element_size;
	size_t k = 0;
	while (k < n && dims[k].ds == run && dims[k].ss == run)
		run *= dims[k++].n;
	plan.run = run;
	plan.bytes = run;
	for (; k < n; k++) {
		size_t j = plan.nouter;
		if (j > 0 &&
		    dims[k].ds == plan.dst_strides[j - 1] * plan.dims[j - 1] &&
		    dims[k].ss == plan.src_strides[j - 1] * plan.dims[j - 1]) {
			plan.dims[j - 1] *= dims[k].n;
		} else {
			plan.dims[j] = dims[k].n;
			plan.dst_strides[j] = dims[k].ds;
			plan.src_strides[j] = dims[k].ss;
			plan.nouter++;
		}
		/* Cannot overflow: the elements of a valid layout fit. */
		plan.bytes *= dims[k].n;
	}
	*out = plan;
	return 0;
}

int aml_dma_plan_bytes(struct aml_dma_plan *out,
                       void *dst,
                       const void *src,
                       size_t size)
{
	if (out == NULL || dst == NULL || src == NULL || size == 0 ||
	    size > PTRDIFF_MAX || aml_spans_overlap(dst, size, src, size))
		return AML_EINVAL;
	out->dst = dst;
	out->src = src;
	out->run = out->bytes = size;
	out->nouter = 0;
	return 0;
}

/* A copier whose copies are plain memcpy calls, made here: a copy of a
 * few KiB must not pay an indirect call per run. Here, too, a copy larger
 * than the cache streams (copy_large.h), by the whole copy's size: the
 * engines copy it a chunk at a time. */
static bool plan_is_memcpy(const struct aml_copier *copier)
{
	return copier == NULL || copier->ops == aml_copier_memcpy.ops;
}

int aml_dma_plan_copy(const struct aml_dma_plan *plan,
                      size_t begin,
                      size_t end,
                      const struct aml_copier *copier)
{
	if (plan == NULL || begin > end || end > plan->bytes)
		return AML_EINVAL;
	if (begin == end)
		return 0;
	bool direct = plan_is_memcpy(copier);
	if (plan->nouter == 0) {
		if (direct) {
			aml_copy_run(plan->dst + begin, plan->src + begin,
			             end - begin, plan->bytes);
			return 0;
		}
		return copier->ops->copy(copier, plan->dst + begin,
		                         plan->src + begin, end - begin, false);
	}
	/* Whole rows of a 2-d copy in real memory (a tile): the common case,
	 * as a plain loop of memcpy calls. The whole copy, what a seq engine
	 * asks for, needs no division: two of them cost as much as copying
	 * a few hundred bytes. */
	if (direct && plan->nouter == 1) {
		size_t run = plan->run, first = 0, last = plan->dims[0];
		bool whole_rows = true;
		if (begin != 0 || end != plan->bytes) {
			first = begin / run;
			last = end / run;
			whole_rows = begin == first * run && end == last * run;
		}
		if (whole_rows) {
			aml_dma_plan_copy_rows(plan, plan->dst, plan->src,
			                       first, last);
			return 0;
		}
	}
	/* Coordinates of the run holding byte begin, then an odometer. */
	size_t r = begin / plan->run;
	size_t offset = begin - r * plan->run;
	size_t coord[AML_LAYOUT_NDIMS_MAX];
	size_t doff = 0, soff = 0;
	for (size_t j = 0; j < plan->nouter; j++) {
		coord[j] = r % plan->dims[j];
		r /= plan->dims[j];
		doff += coord[j] * plan->dst_strides[j];
		soff += coord[j] * plan->src_strides[j];
	}
	size_t pos = begin;
	while (pos < end) {
		size_t n = plan->run - offset;
		if (n > end - pos)
			n = end - pos;
		char *d = plan->dst + doff + offset;
		const char *s = plan->src + soff + offset;
		if (direct) {
			aml_copy_run(d, s, n, plan->bytes);
		} else {
			int err = copier->ops->copy(copier, d, s, n,
			                            pos != begin);
			if (err != 0)
				return err;
		}
		pos += n;
		offset = 0;
		for (size_t j = 0; j < plan->nouter; j++) {
			doff += plan->dst_strides[j];
			soff += plan->src_strides[j];
			if (++coord[j] < plan->dims[j])
				break;
			doff -= coord[j] * plan->dst_strides[j];
			soff -= coord[j] * plan->src_strides[j];
			coord[j] = 0;
		}
	}
	return 0;
}
