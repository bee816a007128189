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
 * places pages at map time, answers the same requests the same way.
 */
#include <stdint.h>

#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/device/blocks.h"
#include "aml/src/device/topology_struct.h"
#include "aml/src/os.h"

/* The NUMA nodes of the devices with indices in @p devices. */
static int topology_nodes_of(const struct aml_topology *t,
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

/* Could @p size bytes ever fit on the devices? False only when every one of
 * them knows its capacity and together they hold less. */
static bool topology_capacity_allows(const struct aml_topology *t,
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
	return free_total >= need ? 0 : AML_ENOMEM;
}

int aml_topology_populate(const struct aml_topology *t, void *ptr, size_t size)
{
	if (t->ops->populate == NULL)
		return 0; /* placed at map time */
	return t->ops->populate(t, ptr, size);
}

/* Everything aml_topology_map() checks before it maps: its arguments, and
 * BIND within capacity. Fills the nodes to map on and the rounded size. */
static int topology_map_check(const struct aml_topology *t,
                              const struct aml_bitmap *devices,
                              enum aml_policy policy,
                              size_t size,
                              struct aml_bitmap *nodes,
                              size_t *rounded)
{
	int count = devices != NULL ? aml_bitmap_count(devices) : 0;
	/* LOCAL takes no devices; every other policy needs some. */
	bool local = policy == AML_POLICY_LOCAL;
	if (t == NULL || (count == 0) != local || (int)policy < 0 ||
	    (int)policy >= AML_POLICY_COUNT ||
	    (policy == AML_POLICY_PREFERRED && count != 1) ||
	    aml_round_to_pages(size, rounded) != 0)
		return AML_EINVAL;
	aml_bitmap_zero(nodes);
	if (!local) {
		int err = topology_nodes_of(t, devices, nodes);
		if (err != 0)
			return err;
	}
	if (t->ops->map_nodes == NULL || t->ops->unmap_nodes == NULL)
		return AML_ENOTSUP;
	if (policy == AML_POLICY_BIND &&
	    !topology_capacity_allows(t, devices, *rounded))
		return AML_ENOMEM;
	return 0;
}

static void *topology_map_nodes(const struct aml_topology *t,
                                const struct aml_bitmap *nodes,
                                enum aml_policy policy,
                                size_t rounded)
{
	void *ptr = t->ops->map_nodes(t, nodes, policy, rounded);
	if (ptr == NULL)
		return NULL;
	int err = aml_rangeset_insert(t->maps, ptr, rounded);
	if (err != 0) {
		t->ops->unmap_nodes(t, ptr, rounded);
		aml_errno = err;
		return NULL;
	}
	return ptr;
}

void *aml_topology_map(const struct aml_topology *t,
                       const struct aml_bitmap *devices,
                       enum aml_policy policy,
                       size_t size)
{
	struct aml_bitmap nodes;
	size_t rounded;
	int err =
	        topology_map_check(t, devices, policy, size, &nodes, &rounded);
	if (err != 0) {
		aml_errno = err;
		return NULL;
	}
	return topology_map_nodes(t, &nodes, policy, rounded);
}

void *aml_topology_map_populate(const struct aml_topology *t,
                                const struct aml_bitmap *devices,
                                enum aml_policy policy,
                                size_t size)
{
	struct aml_bitmap nodes, targets;
	size_t rounded;
	int err =
	        topology_map_check(t, devices, policy, size, &nodes, &rounded);
	if (err == 0) {
		/* Only BIND keeps the pages on its set; every other policy
		 * may spill to any device. */
		if (policy == AML_POLICY_BIND)
			targets = *devices;
		else
			aml_topology_all_devices(t, &targets);
		err = aml_topology_populate_check(t, &targets, rounded);
	}
	if (err != 0) {
		aml_errno = err;
		return NULL;
	}
	void *ptr = topology_map_nodes(t, &nodes, policy, rounded);
	if (ptr == NULL)
		return NULL;
	err = aml_topology_populate(t, ptr, rounded);
	if (err != 0) {
		aml_topology_unmap(t, ptr, rounded);
		aml_errno = err;
		return NULL;
	}
	return ptr;
}

static int topology_release(void *ptr, size_t size, const void *arg)
{
	const struct aml_topology *t = arg;
	return t->ops->unmap_nodes(t, ptr, size);
}

int aml_topology_unmap(const struct aml_topology *t, void *ptr, size_t size)
{
	size_t rounded;
	if (t == NULL || ptr == NULL || (uintptr_t)ptr % aml_page_size() != 0 ||
	    aml_round_to_pages(size, &rounded) != 0 ||
	    (uintptr_t)ptr > UINTPTR_MAX - rounded)
		return AML_EINVAL;
	/* Released and forgotten as one step (aml/src/rangeset.h): a map on
	 * another thread may get the address back at once. */
	return aml_rangeset_remove(t->maps, ptr, rounded, false,
	                           topology_release, t);
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
