/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Areas over devices (aml/area/device.h): a thin holder of a placement
 * request (aml/src/device/blocks.h). The area keeps the policy, the devices
 * and their weights; each map fills a request from them, with the size,
 * the options and the area as owner, and the one placement path validates,
 * places, aligns, populates and records it in the topology's registry.
 * Unmap releases only ranges recorded for this area, so an area refuses
 * another area's memory, and the topology's own, even on the same devices.
 *
 * An area given no topology (BIND to one device of any backend: a memkind
 * kind, a device written by the user) makes the device's own topology
 * (aml_topology_of_device()) and is then like any other; it destroys that
 * topology at fini, which leaves the maps to the device.
 *
 * Thread-safety: a map records its range once the backend mapped it, and
 * an unmap releases and forgets it as one step under the registry's lock
 * (aml/src/rangeset.h), so the record and the pages agree for every thread.
 */
#include <stdlib.h>

#include <aml/area/device.h>
#include <aml/error.h>

#include "aml/src/area/device_print.h"
#include "aml/src/device/blocks.h"

static const struct aml_area_ops area_device_ops;

static struct aml_area_device *area_device(const struct aml_area *area)
{
	return area->data;
}

static void *area_device_map(const struct aml_area *area,
                             size_t size,
                             const struct aml_area_mmap_options *opts)
{
	const struct aml_area_device *self = area_device(area);
	enum aml_page_kind pages =
	        opts->pages != AML_PAGE_DEFAULT ? opts->pages : self->pages;
	struct aml_placement_request request = {
	        .topology = self->topology,
	        .set = &self->set,
	        .policy = self->policy,
	        .size = size,
	        .alignment = opts->alignment,
	        .populate = opts->populate,
	        .pages = pages,
	        .owner = self,
	};
	if (self->policy == AML_POLICY_WEIGHTED_INTERLEAVE) {
		request.run_devices = self->devices;
		request.weights = self->weights;
		request.nruns = self->ndevices;
	}
	return aml_placement_map(&request);
}

static int
area_device_unmap(const struct aml_area *area, void *ptr, size_t size)
{
	const struct aml_area_device *self = area_device(area);
	return aml_placement_unmap(self->topology, self, ptr, size);
}

/* Printed names, by policy; LOCAL keeps the area's name for it. */
static const char *const area_policy_names[AML_POLICY_COUNT] = {
        [AML_POLICY_BIND] = "bind",
        [AML_POLICY_PREFERRED] = "preferred",
        [AML_POLICY_PREFERRED_MANY] = "preferred-many",
        [AML_POLICY_INTERLEAVE] = "interleave",
        [AML_POLICY_WEIGHTED_INTERLEAVE] = "weighted-interleave",
        [AML_POLICY_LOCAL] = "first-touch",
};

const char *aml_area_device_policy_name(enum aml_policy policy)
{
	return (unsigned)policy < AML_POLICY_COUNT ? area_policy_names[policy]
	                                           : "unknown";
}

void aml_area_device_print_placement(const struct aml_area_device *self,
                                     FILE *out)
{
	fprintf(out, "%s", aml_area_device_policy_name(self->policy));
	for (size_t i = 0; i < self->ndevices; i++) {
		fprintf(out, "%s%s", i ? "," : " over ",
		        self->devices[i]->name);
		if (self->policy == AML_POLICY_WEIGHTED_INTERLEAVE)
			fprintf(out, ":%u", self->weights[i]);
	}
}

static int
area_device_print(const struct aml_area *area, FILE *out, const char *prefix)
{
	fprintf(out, "%sdevice area: ", prefix);
	aml_area_device_print_placement(area_device(area), out);
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
                             enum aml_policy policy,
                             const unsigned *weights,
                             struct aml_bitmap *set)
{
	if ((int)policy < 0 || (int)policy >= AML_POLICY_COUNT)
		return AML_EINVAL;
	bool local = policy == AML_POLICY_LOCAL;
	bool weighted = policy == AML_POLICY_WEIGHTED_INTERLEAVE;
	if ((ndevices == 0) != local || ndevices > AML_AREA_DEVICE_MAX ||
	    (ndevices > 0 && devices == NULL) ||
	    (weights != NULL) != weighted ||
	    (policy == AML_POLICY_PREFERRED && ndevices != 1))
		return AML_EINVAL;
	bool device_only = policy == AML_POLICY_BIND && ndevices == 1;
	if (topology == NULL && !device_only)
		return AML_EINVAL;
	aml_bitmap_zero(set);
	for (size_t i = 0; i < ndevices; i++) {
		if (devices[i] == NULL || (weighted && weights[i] == 0))
			return AML_EINVAL;
		if (topology == NULL) {
			aml_bitmap_set(set, 0); /* its own topology's device */
			continue;
		}
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
                         enum aml_policy policy,
                         const unsigned *weights)
{
	struct aml_bitmap set;
	if (area == NULL)
		return AML_EINVAL;
	int err = area_device_check(topology, devices, ndevices, policy,
	                            weights, &set);
	if (err != 0)
		return err;
	struct aml_topology *own = NULL;
	if (topology == NULL) {
		err = aml_topology_of_device(&own, devices[0]);
		if (err != 0)
			return err;
		topology = own;
	}
	*area = (struct aml_area_device){
	        .base = {.ops = &area_device_ops, .data = area},
	        .topology = topology,
	        .ndevices = ndevices,
	        .policy = policy,
	        .set = set,
	        .own_topology = own,
	};
	for (size_t i = 0; i < ndevices; i++) {
		area->devices[i] = devices[i];
		area->weights[i] = weights != NULL ? weights[i] : 1;
	}
	return 0;
}

void aml_area_device_fini(struct aml_area_device *area)
{
	if (area == NULL || area->base.ops != &area_device_ops)
		return;
	if (area->own_topology != NULL) {
		/* Its mappings stay, the device's: aml_device_unmap(). */
		aml_topology_destroy(&area->own_topology);
	} else {
		/* Its mappings stay, the topology's now: unmapped by
		 * aml_topology_unmap() or at aml_topology_destroy(). */
		aml_placement_disown(area->topology, area);
	}
	/* Every later call through the handle is AML_EINVAL: it used to
	 * reach the freed record. */
	area->base.ops = NULL;
}

int aml_area_device_create(struct aml_area **out,
                           const struct aml_topology *topology,
                           const struct aml_device *const *devices,
                           size_t ndevices,
                           enum aml_policy policy,
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

int aml_area_device_set_pages(struct aml_area *area, enum aml_page_kind pages)
{
	if (area == NULL || area->ops != &area_device_ops ||
	    (unsigned)pages >= AML_PAGE_KIND_COUNT)
		return AML_EINVAL;
	area_device(area)->pages = pages;
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
