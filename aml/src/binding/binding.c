/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Applying and checking bindings.
 *
 * Both start from the same plan: the device each page of the buffer should
 * be on. For pages as units, page p is unit p. For tiles, every row of every
 * tile (its elements along the fastest dimension, contiguous in memory) is
 * painted with the tile's device, in tile order, so that a page shared by
 * tiles ends with the last one's (binding.h). apply then moves each run of
 * pages with one device in one aml_device_move(); check compares the plan
 * with aml_topology_locate().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/binding.h>
#include <aml/error.h>
#include <aml/layout.h>

#include "aml/src/topology.h"

static int binding_check_args(const struct aml_binding *b,
                              const struct aml_tiling *tiling,
                              const void *ptr)
{
	if (b == NULL || b->ops == NULL || b->ops->device_of == NULL ||
	    b->ops->unit == NULL || tiling == NULL || ptr == NULL ||
	    (uintptr_t)ptr % aml_page_size() != 0 ||
	    aml_tiling_bytes(tiling) == 0)
		return AML_EINVAL;
	return 0;
}

/* Paint the rows of tile `id` in plan[] with dev. */
static int binding_paint_tile(const struct aml_tiling *tiling,
                              size_t id,
                              const struct aml_device *dev,
                              const struct aml_device **plan,
                              size_t npages)
{
	struct aml_layout tile;
	size_t base;
	int err = aml_tiling_tile_layout(tiling, id, &tile);
	if (err == 0)
		err = aml_tiling_tile_offset(tiling, id, &base);
	if (err != 0)
		return err;
	size_t fast = tile.order == AML_LAYOUT_ORDER_C ? tile.ndims - 1 : 0;
	size_t row_bytes = tile.dims[fast] * tile.element_size;
	if (tile.dims[fast] > 1 && tile.strides[fast] != tile.element_size)
		row_bytes = tile.element_size; /* not contiguous: per element */
	size_t per_row = row_bytes / tile.element_size;
	size_t nrows = aml_layout_nelements(&tile) / per_row;
	size_t page = aml_page_size();
	size_t coords[AML_LAYOUT_NDIMS_MAX] = {0};
	for (size_t r = 0; r < nrows; r++) {
		size_t offset = base;
		for (size_t d = 0; d < tile.ndims; d++)
			offset += coords[d] * tile.strides[d];
		for (size_t p = offset / page;
		     p <= (offset + row_bytes - 1) / page && p < npages; p++)
			plan[p] = dev;
		/* Next row: count the coordinates, the row's own dimension
		 * advancing by per_row (all of it, or one element). */
		for (size_t k = 0; k < tile.ndims; k++) {
			size_t d = tile.order == AML_LAYOUT_ORDER_C
			                   ? tile.ndims - 1 - k
			                   : k;
			coords[d] += d == fast ? per_row : 1;
			if (coords[d] < tile.dims[d])
				break;
			coords[d] = 0;
		}
	}
	return 0;
}

/* The device each page should be on (NULL: left alone). Caller frees. */
static int binding_plan(const struct aml_binding *b,
                        const struct aml_tiling *tiling,
                        const struct aml_device ***out,
                        size_t *npages)
{
	size_t page = aml_page_size();
	size_t bytes = aml_tiling_bytes(tiling);
	*npages = bytes / page + (bytes % page != 0);
	const struct aml_device **plan = calloc(*npages, sizeof(*plan));
	if (plan == NULL)
		return AML_ENOMEM;
	int err = 0;
	if (b->ops->unit(b) == AML_BINDING_PAGE) {
		for (size_t p = 0; p < *npages; p++)
			plan[p] = b->ops->device_of(b, p, *npages);
	} else {
		size_t ntiles = aml_tiling_ntiles(tiling);
		for (size_t id = 0; id < ntiles && err == 0; id++) {
			const struct aml_device *dev =
			        b->ops->device_of(b, id, ntiles);
			if (dev != NULL)
				err = binding_paint_tile(tiling, id, dev, plan,
				                         *npages);
		}
	}
	if (err != 0) {
		free(plan);
		return err;
	}
	*out = plan;
	return 0;
}

int aml_binding_apply(const struct aml_binding *b,
                      const struct aml_tiling *tiling,
                      void *ptr)
{
	int err = binding_check_args(b, tiling, ptr);
	if (err != 0)
		return err;
	const struct aml_device **plan = NULL;
	size_t npages, page = aml_page_size();
	err = binding_plan(b, tiling, &plan, &npages);
	for (size_t start = 0; err == 0 && start < npages;) {
		size_t end = start + 1;
		while (end < npages && plan[end] == plan[start])
			end++;
		if (plan[start] != NULL)
			err = aml_device_move(plan[start],
			                      (char *)ptr + start * page,
			                      (end - start) * page);
		start = end;
	}
	free(plan);
	return err;
}

int aml_binding_check(const struct aml_binding *b,
                      const struct aml_topology *topology,
                      const struct aml_tiling *tiling,
                      const void *ptr,
                      size_t *misplaced,
                      size_t max,
                      size_t *count)
{
	int err = binding_check_args(b, tiling, ptr);
	if (err != 0 || topology == NULL || count == NULL ||
	    (misplaced == NULL && max > 0))
		return err != 0 ? err : AML_EINVAL;
	const struct aml_device **plan;
	size_t npages;
	err = binding_plan(b, tiling, &plan, &npages);
	if (err != 0)
		return err;
	int *ids = malloc(npages * sizeof(*ids));
	err = ids == NULL ? AML_ENOMEM
	                  : aml_topology_locate(topology, ptr, npages, ids);
	size_t n = 0;
	for (size_t p = 0; err == 0 && p < npages; p++) {
		if (plan[p] == NULL)
			continue; /* left alone */
		int want = aml_topology_index_of(topology, plan[p]);
		if (want < 0) {
			err = AML_EINVAL; /* a device of another topology */
			break;
		}
		if (ids[p] != AML_ENODEV && ids[p] != want) {
			if (n < max)
				misplaced[n] = p;
			n++;
		}
	}
	free(ids);
	free(plan);
	if (err == 0)
		*count = n;
	return err;
}
