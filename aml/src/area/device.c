/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Areas over devices (aml/area/device.h).
 *
 * One device under BIND maps through the device itself, so any backend
 * works (a memkind kind too); everything else maps through the topology,
 * whose backend applies the policy to the node set (mbind, or the
 * emulator's placement). Weighted interleave maps the whole range BIND over
 * the set, then points each run of pages at its device before any page is
 * touched: it needs no kernel support. Each run is a VMA on Linux, so weights
 * count pages per run: 96:32 is 3:1 with 32 times fewer VMAs than 3:1.
 *
 * Alignment above the page size over-maps by the alignment and gives the
 * unaligned head and tail back. Each area records its own mappings, so that
 * it refuses to unmap another area's memory even on the same devices. The
 * record and the pages agree for every thread: a map records its range once
 * the backend mapped it, and an unmap releases and forgets it as one step
 * under the record's lock (aml/src/rangeset.h). Releasing first and
 * forgetting after let a map on another thread, handed the same address by
 * the kernel meanwhile, fail with a false AML_EINVAL; forgetting first lost
 * the record whenever the release then failed.
 *
 * Before anything is mapped, a weighted interleave checks each device's
 * share against its capacity (BIND's total is checked by the topology), and
 * a populating map checks the free-memory rule of aml_topology_map_populate()
 * over the devices its pages may reach: the set under BIND, each device's
 * share for a weighted interleave, every device otherwise. Both count the
 * over-mapping of an alignment, which is placed too before it is trimmed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/area/device.h>
#include <aml/error.h>

#include "aml/src/device/blocks.h"
#include "aml/src/rangeset.h"

static const struct aml_area_ops area_device_ops;

static struct aml_area_device *area_device(const struct aml_area *area)
{
	return area->data;
}

/* The area's own registry: allocated by init, so the public storage needs
 * no private type. */
static struct aml_rangeset *area_maps(const struct aml_area_device *self)
{
	return (struct aml_rangeset *)self->maps;
}

static const enum aml_policy area_policies[AML_AREA_POLICY_COUNT] = {
        [AML_AREA_BIND] = AML_POLICY_BIND,
        [AML_AREA_PREFERRED] = AML_POLICY_PREFERRED,
        [AML_AREA_INTERLEAVE] = AML_POLICY_INTERLEAVE,
        [AML_AREA_WEIGHTED_INTERLEAVE] = AML_POLICY_BIND,
        [AML_AREA_FIRST_TOUCH] = AML_POLICY_LOCAL,
};

/* A single bound device maps through the device itself: any backend
 * works (memkind has no topology), and it skips the set machinery. */
static bool area_by_device(const struct aml_area_device *self)
{
	return self->policy == AML_AREA_BIND && self->ndevices == 1;
}

static int
area_raw_unmap(const struct aml_area_device *self, void *ptr, size_t size)
{
	if (area_by_device(self))
		return aml_device_unmap(self->devices[0], ptr, size);
	return aml_topology_unmap(self->topology, ptr, size);
}

/* Point each run of a fresh weighted mapping at its device. */
static int
area_place_runs(const struct aml_area_device *self, char *ptr, size_t size)
{
	size_t page = aml_page_size();
	for (size_t done = 0, d = 0; done < size;
	     d = (d + 1) % self->ndevices) {
		size_t run = self->weights[d] * page;
		run = run < size - done ? run : size - done;
		int index =
		        aml_topology_index_of(self->topology, self->devices[d]);
		int err = aml_topology_rebind(self->topology, ptr + done, run,
		                              (size_t)index);
		if (err != 0)
			return err;
		done += run;
	}
	return 0;
}

static void *area_raw_map(const struct aml_area_device *self, size_t size)
{
	if (area_by_device(self))
		return aml_device_map(self->devices[0], size);
	const struct aml_bitmap *set =
	        self->policy == AML_AREA_FIRST_TOUCH ? NULL : &self->set;
	char *ptr = aml_topology_map(self->topology, set,
	                             area_policies[self->policy], size);
	if (ptr == NULL || self->policy != AML_AREA_WEIGHTED_INTERLEAVE)
		return ptr;
	int err = area_place_runs(self, ptr, size);
	if (err != 0) {
		aml_topology_unmap(self->topology, ptr, size);
		aml_errno = err;
		return NULL;
	}
	return ptr;
}

/* AML_EINVAL from a backend asked to release part of a mapping means it
 * frees whole maps only (memkind): it cannot trim, so the alignment is not
 * supported. Anything else (no memory to split a record) is passed on. */
static int area_trim_error(int err)
{
	return err == AML_EINVAL ? AML_ENOTSUP : err;
}

/*
 * Give back the @p extra bytes that an alignment over-mapped around
 * [ptr, ptr + size) in the mapping at @p raw: the head, then the tail. On
 * error, what is left of the mapping is released whole (which never needs
 * a split), so nothing stays mapped.
 */
static int area_trim(const struct aml_area_device *self,
                     char *raw,
                     char *ptr,
                     size_t size,
                     size_t extra)
{
	size_t head = (size_t)(ptr - raw), tail = extra - head;
	int err = head != 0 ? area_raw_unmap(self, raw, head) : 0;
	if (err != 0) {
		area_raw_unmap(self, raw, size + extra);
		return area_trim_error(err);
	}
	err = tail != 0 ? area_raw_unmap(self, ptr + size, tail) : 0;
	if (err != 0) {
		area_raw_unmap(self, ptr, size + tail);
		return area_trim_error(err);
	}
	return 0;
}

/* Pages of each device in a weighted mapping of @p npages pages: whole
 * cycles of sum(weights) pages, then the rest in device order. */
static void area_weighted_shares(const struct aml_area_device *self,
                                 size_t npages,
                                 size_t shares[AML_AREA_DEVICE_MAX])
{
	size_t cycle = 0;
	for (size_t d = 0; d < self->ndevices; d++)
		cycle += self->weights[d];
	size_t cycles = npages / cycle, rest = npages % cycle;
	for (size_t d = 0; d < self->ndevices; d++) {
		size_t tail = rest < self->weights[d] ? rest : self->weights[d];
		shares[d] = cycles * self->weights[d] + tail;
		rest -= tail;
	}
}

static int area_check_weighted(const struct aml_area_device *self,
                               size_t size,
                               bool populate)
{
	size_t page = aml_page_size(), shares[AML_AREA_DEVICE_MAX];
	area_weighted_shares(self, size / page, shares);
	for (size_t d = 0; d < self->ndevices; d++) {
		const struct aml_device *dev = self->devices[d];
		if (dev->capacity != 0 && shares[d] > dev->capacity / page)
			return AML_ENOMEM;
	}
	for (size_t d = 0; populate && d < self->ndevices; d++) {
		struct aml_bitmap one;
		aml_bitmap_zero(&one);
		aml_bitmap_set(&one, (size_t)aml_topology_index_of(
		                             self->topology, self->devices[d]));
		int err = aml_topology_populate_check(self->topology, &one,
		                                      shares[d] * page);
		if (err != 0)
			return err;
	}
	return 0;
}

/* What a map of @p size bytes must pass before anything is mapped. */
static int
area_map_check(const struct aml_area_device *self, size_t size, bool populate)
{
	if (populate && self->topology == NULL)
		return AML_ENOTSUP; /* no way to populate a lone device */
	if (self->policy == AML_AREA_WEIGHTED_INTERLEAVE)
		return area_check_weighted(self, size, populate);
	if (!populate)
		return 0;
	struct aml_bitmap targets = self->set;
	if (self->policy != AML_AREA_BIND)
		aml_topology_all_devices(self->topology, &targets);
	return aml_topology_populate_check(self->topology, &targets, size);
}

static void *area_device_map(const struct aml_area *area,
                             size_t size,
                             const struct aml_area_mmap_options *opts)
{
	const struct aml_area_device *self = area_device(area);
	size_t alignment = opts->alignment;
	size_t extra = alignment - aml_page_size();
	int err = area_map_check(self, size + extra, opts->populate);
	if (err != 0) {
		aml_errno = err;
		return NULL;
	}
	char *raw = area_raw_map(self, size + extra);
	if (raw == NULL)
		return NULL;
	char *ptr = raw;
	if (extra != 0) {
		uintptr_t aligned = ((uintptr_t)raw + alignment - 1) &
		                    ~(uintptr_t)(alignment - 1);
		ptr = (char *)aligned;
		err = area_trim(self, raw, ptr, size, extra);
		if (err != 0) {
			aml_errno = err;
			return NULL;
		}
	}
	if (opts->populate)
		err = aml_topology_populate(self->topology, ptr, size);
	if (err == 0)
		err = aml_rangeset_insert(area_maps(self), ptr, size);
	if (err != 0) {
		area_raw_unmap(self, ptr, size);
		aml_errno = err;
		return NULL;
	}
	return ptr;
}

static int area_release(void *ptr, size_t size, const void *arg)
{
	return area_raw_unmap(arg, ptr, size);
}

static int
area_device_unmap(const struct aml_area *area, void *ptr, size_t size)
{
	/* Released and forgotten under the record's lock: the backend may
	 * hand the address to another thread's map as soon as it is
	 * released, and that map must not find it still recorded. A backend
	 * that refuses (memkind frees whole maps only), or a split of the
	 * record that needs memory, leaves both the pages and the record. */
	return aml_rangeset_remove(area_maps(area_device(area)), ptr, size,
	                           false, area_release, area_device(area));
}

static const char *const area_policy_names[AML_AREA_POLICY_COUNT] = {
        [AML_AREA_BIND] = "bind",
        [AML_AREA_PREFERRED] = "preferred",
        [AML_AREA_INTERLEAVE] = "interleave",
        [AML_AREA_WEIGHTED_INTERLEAVE] = "weighted-interleave",
        [AML_AREA_FIRST_TOUCH] = "first-touch",
};

static int
area_device_print(const struct aml_area *area, FILE *out, const char *prefix)
{
	const struct aml_area_device *self = area_device(area);
	fprintf(out, "%sdevice area: %s", prefix,
	        area_policy_names[self->policy]);
	for (size_t i = 0; i < self->ndevices; i++) {
		fprintf(out, "%s%s", i ? "," : " over ",
		        self->devices[i]->name);
		if (self->policy == AML_AREA_WEIGHTED_INTERLEAVE)
			fprintf(out, ":%u", self->weights[i]);
	}
	fprintf(out, "\n");
	return 0;
}

static const struct aml_area_ops area_device_ops = {
        .map = area_device_map,
        .unmap = area_device_unmap,
        .print = area_device_print,
};

/* Every check of init, before anything is written. */
static int area_device_check(const struct aml_topology *topology,
                             const struct aml_device *const *devices,
                             size_t ndevices,
                             enum aml_area_policy policy,
                             const unsigned *weights,
                             struct aml_bitmap *set)
{
	if ((int)policy < 0 || (int)policy >= AML_AREA_POLICY_COUNT)
		return AML_EINVAL;
	bool first_touch = policy == AML_AREA_FIRST_TOUCH;
	bool weighted = policy == AML_AREA_WEIGHTED_INTERLEAVE;
	if ((ndevices == 0) != first_touch || ndevices > AML_AREA_DEVICE_MAX ||
	    (ndevices > 0 && devices == NULL) ||
	    (weights != NULL) != weighted ||
	    (policy == AML_AREA_PREFERRED && ndevices != 1))
		return AML_EINVAL;
	bool device_only = policy == AML_AREA_BIND && ndevices == 1;
	if (topology == NULL && !device_only)
		return AML_EINVAL;
	aml_bitmap_zero(set);
	for (size_t i = 0; i < ndevices; i++) {
		if (devices[i] == NULL || (weighted && weights[i] == 0))
			return AML_EINVAL;
		if (topology == NULL)
			continue;
		int index = aml_topology_index_of(topology, devices[i]);
		if (index < 0 || aml_bitmap_is_set(set, (size_t)index) == 1)
			return AML_EINVAL; /* not in the topology, or twice */
		aml_bitmap_set(set, (size_t)index);
	}
	return 0;
}

int aml_area_device_init(struct aml_area_device *area,
                         const struct aml_topology *topology,
                         const struct aml_device *const *devices,
                         size_t ndevices,
                         enum aml_area_policy policy,
                         const unsigned *weights)
{
	struct aml_bitmap set;
	if (area == NULL)
		return AML_EINVAL;
	int err = area_device_check(topology, devices, ndevices, policy,
	                            weights, &set);
	if (err != 0)
		return err;
	struct aml_rangeset *maps = malloc(sizeof(*maps));
	if (maps == NULL)
		return AML_ENOMEM;
	err = aml_rangeset_init(maps, AML_FORK_AREA);
	if (err != 0) {
		free(maps);
		return err;
	}
	*area = (struct aml_area_device){
	        .base = {.ops = &area_device_ops, .data = area},
	        .topology = topology,
	        .ndevices = ndevices,
	        .policy = policy,
	        .set = set,
	        .maps = maps,
	};
	for (size_t i = 0; i < ndevices; i++) {
		area->devices[i] = devices[i];
		area->weights[i] = weights != NULL ? weights[i] : 1;
	}
	return 0;
}

void aml_area_device_fini(struct aml_area_device *area)
{
	if (area == NULL || area->maps == NULL)
		return;
	aml_rangeset_fini(area_maps(area));
	free(area->maps);
	area->maps = NULL;
	/* Every later call through the handle is AML_EINVAL: it used to
	 * reach the freed record. */
	area->base.ops = NULL;
}

int aml_area_device_create(struct aml_area **out,
                           const struct aml_topology *topology,
                           const struct aml_device *const *devices,
                           size_t ndevices,
                           enum aml_area_policy policy,
                           const unsigned *weights)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_area_device *area = malloc(sizeof(*area));
	if (area == NULL)
		return AML_ENOMEM;
	int err = aml_area_device_init(area, topology, devices, ndevices,
	                               policy, weights);
	if (err != 0) {
		free(area);
		return err;
	}
	*out = &area->base;
	return 0;
}

void aml_area_device_destroy(struct aml_area **area)
{
	if (area == NULL || *area == NULL || (*area)->ops != &area_device_ops)
		return;
	struct aml_area_device *self = (*area)->data;
	aml_area_device_fini(self);
	free(self);
	*area = NULL;
}
