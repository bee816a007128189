/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Applying and checking bindings.
 *
 * Both walk the runs of pages that should be on one device. For pages as
 * units, page p is unit p and the binding gives the runs (run_end, or
 * device_of page by page). For tiles, a plan gives the device of each page:
 * every row of every tile (its elements along the fastest dimension,
 * contiguous in memory) is painted with the tile's device, in tile order, so
 * that a page shared by tiles ends with the last one's (binding.h). apply
 * moves each run in one aml_device_move(); check compares each run with
 * aml_topology_locate().
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/binding.h>
#include <aml/error.h>
#include <aml/layout.h>

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

/*
 * For tiles as units: the device each of the npages pages should be on
 * (NULL: left alone). Caller frees.
 */
static int binding_plan(const struct aml_binding *b,
                        const struct aml_tiling *tiling,
                        size_t npages,
                        const struct aml_device ***out)
{
	const struct aml_device **plan = calloc(npages, sizeof(*plan));
	if (plan == NULL)
		return AML_ENOMEM;
	int err = 0;
	size_t ntiles = aml_tiling_ntiles(tiling);
	for (size_t id = 0; id < ntiles && err == 0; id++) {
		const struct aml_device *dev = b->ops->device_of(b, id, ntiles);
		if (dev != NULL)
			err = binding_paint_tile(tiling, id, dev, plan, npages);
	}
	if (err != 0) {
		free(plan);
		return err;
	}
	*out = plan;
	return 0;
}

/*
 * The runs of pages that go to one device, in page order: from the plan
 * when units are tiles, from the binding itself when units are pages (no
 * plan to allocate: a 64 MiB buffer's would be 128 KiB, paged in on every
 * call).
 */
struct binding_runs {
	const struct aml_binding *binding;
	const struct aml_device **plan; /* NULL for pages as units */
	size_t npages;
	size_t next;
	/* AML_EINVAL once a run_end op returned a value out of range. */
	int err;
};

static int binding_runs_init(struct binding_runs *r,
                             const struct aml_binding *b,
                             const struct aml_tiling *tiling)
{
	size_t page = aml_page_size(), bytes = aml_tiling_bytes(tiling);
	*r = (struct binding_runs){
	        .binding = b,
	        .npages = bytes / page + (bytes % page != 0),
	};
	if (b->ops->unit(b) == AML_BINDING_PAGE)
		return 0;
	return binding_plan(b, tiling, r->npages, &r->plan);
}

static void binding_runs_fini(struct binding_runs *r)
{
	free(r->plan);
}

/*
 * The next run [*start, *end) and its device (NULL: left alone); false past
 * the last page or on an error (r->err).
 */
static bool binding_runs_next(struct binding_runs *r,
                              size_t *start,
                              size_t *end,
                              const struct aml_device **dev)
{
	const struct aml_binding *b = r->binding;
	size_t p = r->next, n = r->npages, e = p + 1;
	if (p >= n || r->err != 0)
		return false;
	if (r->plan != NULL) {
		*dev = r->plan[p];
		while (e < n && r->plan[e] == *dev)
			e++;
	} else {
		*dev = b->ops->device_of(b, p, n);
		if (b->ops->run_end != NULL)
			e = b->ops->run_end(b, p, n);
		else
			while (e < n && b->ops->device_of(b, e, n) == *dev)
				e++;
		if (e <= p || e > n) {
			r->err = AML_EINVAL;
			return false;
		}
	}
	*start = p;
	*end = r->next = e;
	return true;
}

int aml_binding_apply(const struct aml_binding *b,
                      const struct aml_tiling *tiling,
                      void *ptr)
{
	int err = binding_check_args(b, tiling, ptr);
	if (err != 0)
		return err;
	struct binding_runs runs;
	err = binding_runs_init(&runs, b, tiling);
	size_t page = aml_page_size(), start, end;
	const struct aml_device *dev;
	while (err == 0 && binding_runs_next(&runs, &start, &end, &dev)) {
		if (dev != NULL)
			err = aml_device_move(dev, (char *)ptr + start * page,
			                      (end - start) * page);
	}
	binding_runs_fini(&runs);
	return err != 0 ? err : runs.err;
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
	struct binding_runs runs;
	err = binding_runs_init(&runs, b, tiling);
	if (err != 0)
		return err;
	int *ids = malloc(runs.npages * sizeof(*ids));
	err = ids == NULL
	              ? AML_ENOMEM
	              : aml_topology_locate(topology, ptr, runs.npages, ids);
	size_t n = 0, start, end;
	const struct aml_device *dev;
	while (err == 0 && binding_runs_next(&runs, &start, &end, &dev)) {
		if (dev == NULL)
			continue; /* left alone */
		int want = aml_topology_index_of(topology, dev);
		if (want < 0) {
			err = AML_EINVAL; /* a device of another topology */
			break;
		}
		for (size_t p = start; p < end; p++) {
			if (ids[p] != AML_ENODEV && ids[p] != want) {
				if (n < max)
					misplaced[n] = p;
				n++;
			}
		}
	}
	free(ids);
	binding_runs_fini(&runs);
	if (err == 0)
		err = runs.err;
	if (err == 0)
		*count = n;
	return err;
}
