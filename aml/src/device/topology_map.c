/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mappings over several devices of a topology (aml_topology_map()), and the
 * rules that make BIND fail cleanly instead of through the OOM killer.
 *
 * Linux places the pages of an mbind(MPOL_BIND) mapping when they are first
 * touched, and a touch the bound nodes cannot serve calls the OOM killer,
 * which kills the process. Two checks stop that at map time:
 * - a BIND map larger than the bound devices' total capacity can never fit:
 *   it is refused before any system call, for free, on every map;
 * - a populating map (aml_topology_map_populate()) first asks the devices
 *   for their free bytes, keeps a margin for the kernel's watermarks, and
 *   then faults every page in with MADV_POPULATE_WRITE. Asking costs a
 *   numa_node_size64() per device (13 us here, against 3-6 us for a whole
 *   map and unmap), which is why it is opt-in rather than on every map.
 * The rules live here, above the backends, so that the emulator, which
 * places pages at map time, answers the same requests the same way. They
 * are applied by the one placement path (placement.c), which every map
 * of a topology or an area takes: the public functions here fill its
 * request, with the topology itself as the owner of the mapping.
 */
#include <stdint.h>
#include <stdio.h>

#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/device/blocks.h"
#include "aml/src/device/internal.h"
#include "aml/src/error_detail.h"
#include "aml/src/os.h"

int aml_topology_nodes_of(const struct aml_topology *t,
                          const struct aml_bitmap *devices,
                          struct aml_bitmap *nodes)
{
	aml_bitmap_zero(nodes);
	AML_BITMAP_FOREACH (i, devices) {
		if ((size_t)i >= t->ndevices)
			return AML_EDOM;
		aml_bitmap_set(nodes, (size_t)t->devices[i].numa_id);
	}
	return 0;
}

void aml_topology_names_of(const struct aml_topology *t,
                           const struct aml_bitmap *devices,
                           char *out,
                           size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	AML_BITMAP_FOREACH (i, devices) {
		if ((size_t)i >= t->ndevices || len >= size)
			break;
		int n = snprintf(out + len, size - len, "%s%s",
		                 len == 0 ? "" : ",", t->devices[i].name);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

bool aml_topology_capacity_allows(const struct aml_topology *t,
                                  const struct aml_bitmap *devices,
                                  size_t size)
{
	size_t total = 0;
	AML_BITMAP_FOREACH (i, devices) {
		size_t capacity = t->devices[i].capacity;
		if (capacity == 0 || capacity >= SIZE_MAX - total)
			return true; /* unknown, or more than any size */
		total += capacity;
	}
	return size <= total;
}

bool aml_topology_unmaps_whole_only(const struct aml_topology *t)
{
	for (size_t i = 0; i < t->ndevices; i++) {
		const struct aml_device_ops *ops = t->devices[i].ops;
		if (ops != NULL && ops->unmaps_whole_only)
			return true;
	}
	return false;
}

void aml_topology_all_devices(const struct aml_topology *t,
                              struct aml_bitmap *out)
{
	aml_bitmap_zero(out);
	if (t->ndevices > 0)
		aml_bitmap_set_range(out, 0, t->ndevices - 1);
}

int aml_topology_populate_check(const struct aml_topology *t,
                                const struct aml_bitmap *devices,
                                size_t size)
{
	size_t need = size, free_total = 0;
	AML_BITMAP_FOREACH (i, devices) {
		if ((size_t)i >= t->ndevices)
			return AML_EDOM;
		size_t free_bytes;
		int err = aml_device_free_bytes(&t->devices[i], &free_bytes);
		if (err != 0)
			return err;
		size_t margin = aml_device_populate_margin(&t->devices[i]);
		/* Saturate: a sum past SIZE_MAX is "more than any size". */
		free_total = free_bytes > SIZE_MAX - free_total
		                     ? SIZE_MAX
		                     : free_total + free_bytes;
		need = margin > SIZE_MAX - need ? SIZE_MAX : need + margin;
	}
	if (free_total >= need)
		return 0;
	char names[128];
	aml_topology_names_of(t, devices, names, sizeof(names));
	return aml_error_explain(AML_ENOMEM,
	                         "populating %zu bytes on %s: %zu bytes free, "
	                         "%zu needed with the margins",
	                         size, names, free_total, need);
}

int aml_topology_populate(const struct aml_topology *t, void *ptr, size_t size)
{
	if (t->ops->populate == NULL)
		return 0; /* placed at map time */
	return t->ops->populate(t, ptr, size);
}

/* The request of the public maps: owned by the topology itself. */
static void *topology_map_request(const struct aml_topology *t,
                                  const struct aml_bitmap *devices,
                                  enum aml_policy policy,
                                  size_t size,
                                  bool populate)
{
	/* Without weights a weighted interleave is a bad request: the path
	 * says AML_EINVAL. */
	struct aml_placement_request request = {
	        .topology = t,
	        .set = devices,
	        .policy = policy,
	        .size = size,
	        .populate = populate,
	        .owner = t,
	};
	return aml_placement_map(&request);
}

void *aml_topology_map(const struct aml_topology *t,
                       const struct aml_bitmap *devices,
                       enum aml_policy policy,
                       size_t size)
{
	return topology_map_request(t, devices, policy, size, false);
}

void *aml_topology_map_populate(const struct aml_topology *t,
                                const struct aml_bitmap *devices,
                                enum aml_policy policy,
                                size_t size)
{
	return topology_map_request(t, devices, policy, size, true);
}

int aml_topology_unmap(const struct aml_topology *t, void *ptr, size_t size)
{
	size_t rounded;
	if (t == NULL || ptr == NULL || (uintptr_t)ptr % aml_page_size() != 0 ||
	    aml_round_to_pages(size, &rounded) != 0 ||
	    (uintptr_t)ptr > UINTPTR_MAX - rounded)
		return AML_EINVAL;
	return aml_placement_unmap(t, t, ptr, rounded);
}

int aml_topology_rebind(const struct aml_topology *t,
                        void *ptr,
                        size_t size,
                        size_t device)
{
	if (t == NULL || ptr == NULL || device >= t->ndevices ||
	    t->ops->rebind == NULL)
		return t != NULL && t->ops->rebind == NULL ? AML_ENOTSUP
		                                           : AML_EINVAL;
	return t->ops->rebind(t, ptr, size, t->devices[device].numa_id);
}
