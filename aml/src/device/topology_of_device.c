/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A topology of one device that no discovery makes: a memkind kind, a
 * device a user wrote (aml_topology_of_device() in <aml/topology.h>).
 *
 * Design. The topology holds a copy of the device (same ops and data), and
 * its ops go through the device's own: map_nodes is the device's map under
 * BIND (the only policy one device has), unmap_nodes its unmap. So such a
 * device takes the one placement path (placement.c) like a NUMA node, and
 * an area over it needs no case of its own. Two things differ from a
 * discovered topology, marked by of_device in the struct:
 * - locate reports device indices, not NUMA nodes: the device may span
 *   several nodes (memkind's HBW on an SNC machine) or none;
 * - destroy forgets the maps and leaves them mapped: they are the
 *   device's, which records them itself (memkind does) and releases them
 *   by aml_device_unmap(). An area made over a lone device keeps, through
 *   this, the contract it always had: its maps outlive it.
 *
 * Its registry takes the fork level of an area's (AML_FORK_AREA), not the
 * topologies' (AML_FORK_RECORDS): a release under its lock calls the
 * device, which may lock a record of that level itself (memkind's
 * rangeset), and fork() takes the levels in order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/device/internal.h"
#include "aml/src/os.h"

static const struct aml_device *only_device(const struct aml_topology *t)
{
	return &t->devices[0];
}

/* Index 0 for a touched page this topology mapped; a page it did not map
 * is on no device of it (AML_ENODEV), as a page on another node is. */
static int of_device_locate(const struct aml_topology *t,
                            const void *ptr,
                            size_t npages,
                            int *ids)
{
	size_t page = aml_page_size();
	for (size_t i = 0; i < npages; i++) {
		const char *p = (const char *)ptr + i * page;
		int state = aml_page_state(p);
		if (state == 0 && !aml_rangeset_contains(t->maps, p))
			state = AML_ENODEV;
		ids[i] = state;
	}
	return 0;
}

static void *of_device_map(const struct aml_topology *t,
                           const struct aml_bitmap *nodes,
                           enum aml_policy policy,
                           size_t size)
{
	(void)nodes; /* one device: the NUMA nodes are the device's business */
	if (policy != AML_POLICY_BIND) {
		aml_errno = AML_ENOTSUP;
		return NULL;
	}
	return aml_device_map(only_device(t), size);
}

static int of_device_unmap(const struct aml_topology *t, void *ptr, size_t size)
{
	return aml_device_unmap(only_device(t), ptr, size);
}

/* As the numa backend does: every page faulted in, in order, as writes. */
static int
of_device_populate(const struct aml_topology *t, void *ptr, size_t size)
{
	(void)t;
	return aml_populate_write(ptr, size);
}

static const struct aml_topology_ops of_device_ops = {
        .locate = of_device_locate,
        /* Never called: the topology is made finished, and its copy
         * keeps the device's own ops. */
        .device_init = NULL,
        .device_fini = NULL,
        .map_nodes = of_device_map,
        .unmap_nodes = of_device_unmap,
        .rebind = NULL,
        .populate = of_device_populate,
        .fini = NULL,
};

int aml_topology_of_device(struct aml_topology **out,
                           const struct aml_device *device)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	if (device == NULL || device->ops == NULL || device->ops->map == NULL ||
	    device->ops->unmap == NULL)
		return AML_EINVAL;
	struct aml_topology *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return AML_ENOMEM;
	t->serial = aml_topology_new_serial();
	t->devices = malloc(sizeof(*t->devices));
	t->maps = malloc(sizeof(*t->maps));
	int err = t->devices == NULL || t->maps == NULL
	                  ? AML_ENOMEM
	                  : aml_rangeset_init(t->maps, AML_FORK_AREA);
	if (err == 0) {
		err = aml_rangeset_set_tags(t->maps, 1);
		if (err != 0)
			aml_rangeset_fini(t->maps);
	}
	if (err != 0) {
		free(t->maps);
		free(t->devices);
		free(t);
		return err;
	}
	t->ops = &of_device_ops;
	t->devices[0] = *device;
	t->ndevices = t->allocated = 1;
	for (size_t i = 0; i < AML_BITMAP_MAX; i++)
		t->device_of_node[i] = -1;
	if (device->numa_id >= 0 && device->numa_id < AML_BITMAP_MAX)
		t->device_of_node[device->numa_id] = 0;
	snprintf(t->source, sizeof(t->source), "device %s", device->name);
	t->this_system = true;
	t->of_device = true;
	t->finished = true;
	*out = t;
	return 0;
}
