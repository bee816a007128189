/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The capped area (aml/area/capped.h). The bytes mapped are reserved
 * against the cap with a compare-and-swap before the inner map, and given
 * back if it fails, so concurrent maps never pass the cap together. Live
 * mappings are kept in a rangeset; an unmap releases through the inner
 * area and forgets in one step under its lock.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include <aml/area/capped.h>
#include <aml/error.h>

#include "aml/src/error_detail.h"
#include "aml/src/rangeset.h"

struct capped {
	struct aml_area base;
	const struct aml_area *inner;
	const struct aml_topology *topology;
	size_t cap;
	_Atomic size_t mapped, peak, maps, refused;
	struct aml_rangeset live;
};

static const struct aml_area_ops capped_ops;

static struct capped *capped_of(const struct aml_area *area)
{
	if (area == NULL || area->ops != &capped_ops)
		return NULL;
	return area->data;
}

/* Reserve size bytes under the cap; false if they do not fit. */
static bool reserve(struct capped *self, size_t size)
{
	size_t now = atomic_load(&self->mapped);
	do {
		if (size > self->cap - now)
			return false;
	} while (
	        !atomic_compare_exchange_weak(&self->mapped, &now, now + size));
	size_t peak = atomic_load(&self->peak);
	while (now + size > peak &&
	       !atomic_compare_exchange_weak(&self->peak, &peak, now + size))
		;
	return true;
}

static void *capped_map(const struct aml_area *area,
                        size_t size,
                        const struct aml_area_mmap_options *opts)
{
	struct capped *self = area->data;
	if (!reserve(self, size)) {
		atomic_fetch_add(&self->refused, 1);
		aml_errno = aml_error_explain(
		        AML_ENOMEM,
		        "cap of %zu bytes: %zu mapped, %zu more asked",
		        self->cap, atomic_load(&self->mapped), size);
		return NULL;
	}
	void *p = aml_area_mmap(self->inner, size, opts);
	int err = p == NULL ? aml_errno
	                    : aml_rangeset_insert(&self->live, p, size);
	if (err != 0) {
		if (p != NULL)
			aml_area_munmap(self->inner, p, size);
		atomic_fetch_sub(&self->mapped, size);
		aml_errno = err;
		return NULL;
	}
	atomic_fetch_add(&self->maps, 1);
	return p;
}

static int capped_release(void *start, size_t size, const void *arg)
{
	const struct capped *self = arg;
	return aml_area_munmap(self->inner, start, size);
}

static int capped_unmap(const struct aml_area *area, void *ptr, size_t size)
{
	struct capped *self = area->data;
	int err = aml_rangeset_remove(&self->live, ptr, size, false,
	                              capped_release, self);
	if (err == 0)
		atomic_fetch_sub(&self->mapped, size);
	return err;
}

static int
capped_print(const struct aml_area *area, FILE *out, const char *prefix)
{
	const struct capped *self = area->data;
	fprintf(out, "%scapped at %zu bytes, over ", prefix, self->cap);
	return aml_area_print(self->inner, out, "");
}

static const struct aml_area_ops capped_ops = {
        .map = capped_map,
        .unmap = capped_unmap,
        .print = capped_print,
};

int aml_area_capped_create(struct aml_area **out,
                           const struct aml_area *inner,
                           size_t cap_bytes,
                           const struct aml_topology *topology)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	if (inner == NULL || cap_bytes == 0)
		return AML_EINVAL;
	struct capped *self = calloc(1, sizeof(*self));
	if (self == NULL)
		return AML_ENOMEM;
	if (aml_rangeset_init(&self->live, AML_FORK_AREA) != 0) {
		free(self);
		return AML_ENOMEM;
	}
	self->base.ops = &capped_ops;
	self->base.data = self;
	self->inner = inner;
	self->topology = topology;
	self->cap = cap_bytes;
	*out = &self->base;
	return 0;
}

static void drain_one(void *start, size_t size, void *arg)
{
	struct capped *self = arg;
	aml_area_munmap(self->inner, start, size);
}

void aml_area_capped_destroy(struct aml_area **area)
{
	if (area == NULL)
		return;
	struct capped *self = capped_of(*area);
	if (self == NULL)
		return;
	aml_rangeset_drain(&self->live, drain_one, self);
	aml_rangeset_fini(&self->live);
	free(self);
	*area = NULL;
}

int aml_area_capped_stats(const struct aml_area *area,
                          struct aml_area_capped_stats *out)
{
	struct capped *self = capped_of(area);
	if (self == NULL || out == NULL)
		return AML_EINVAL;
	size_t mappings = aml_rangeset_count(&self->live);
	*out = (struct aml_area_capped_stats){
	        .cap_bytes = self->cap,
	        .mapped_bytes = atomic_load(&self->mapped),
	        .peak_mapped_bytes = atomic_load(&self->peak),
	        .mappings = mappings,
	        .maps = atomic_load(&self->maps),
	        .refused_maps = atomic_load(&self->refused),
	};
	return 0;
}

/* Where aml_area_capped_report() prints, and what locates. */
struct report_line {
	FILE *out;
	const struct aml_topology *topology;
};

/* One line of the report: a live mapping and the device of its first
 * page (under the record's lock). */
static void report_mapping(const struct aml_range *r, void *arg)
{
	const struct report_line *line = arg;
	fprintf(line->out, "  %#zx %zu bytes", (size_t)r->start,
	        (size_t)(r->end - r->start));
	int id = AML_ENODEV;
	if (line->topology != NULL &&
	    aml_topology_locate(line->topology, (void *)r->start, 1, &id) ==
	            0) {
		const struct aml_device *d =
		        id >= 0 ? aml_topology_device(line->topology,
		                                      (size_t)id)
		                : NULL;
		if (d != NULL)
			fprintf(line->out, " on %s (device %d)", d->name, id);
		else
			fprintf(line->out, " untouched");
	}
	fputc('\n', line->out);
}

int aml_area_capped_report(const struct aml_area *area, FILE *out)
{
	struct aml_area_capped_stats s;
	if (out == NULL || aml_area_capped_stats(area, &s) != 0)
		return AML_EINVAL;
	struct capped *self = area->data;
	fprintf(out,
	        "capped area: %zu of %zu bytes mapped (peak %zu), %zu "
	        "mappings, %zu maps, %zu refused\n",
	        s.mapped_bytes, s.cap_bytes, s.peak_mapped_bytes, s.mappings,
	        s.maps, s.refused_maps);
	struct report_line line = {.out = out, .topology = self->topology};
	aml_rangeset_foreach(&self->live, report_mapping, &line);
	return 0;
}
