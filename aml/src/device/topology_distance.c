/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Distances between the devices of a topology: what `numactl -H` prints as
 * "node distances", Linux's node_distance() (ACPI SLIT).
 *
 * A backend gives them by NUMA OS index while it builds the topology
 * (aml_topology_set_distance()), in any order and before or after other
 * devices are added, so they wait in a list until finish sorts the devices;
 * then they become one matrix by device index, read in O(1). A topology
 * whose source gave none keeps no matrix, and every pair is unknown.
 */
#include <stdlib.h>

#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/device/internal.h"

static bool distance_has_node(const struct aml_topology *t, int node)
{
	return node >= 0 && node < AML_BITMAP_MAX &&
	       t->device_of_node[node] >= 0;
}

int aml_topology_set_distance(struct aml_topology *t,
                              int from,
                              int to,
                              unsigned distance)
{
	if (t == NULL || t->finished || distance == 0 ||
	    !distance_has_node(t, from) || !distance_has_node(t, to))
		return AML_EINVAL;
	if (t->npending == t->pending_allocated) {
		size_t allocated =
		        t->pending_allocated ? 2 * t->pending_allocated : 16;
		struct aml_topology_distance_entry *pending =
		        realloc(t->pending, allocated * sizeof(*pending));
		if (pending == NULL)
			return AML_ENOMEM;
		t->pending = pending;
		t->pending_allocated = allocated;
	}
	t->pending[t->npending++] = (struct aml_topology_distance_entry){
	        .from = from, .to = to, .distance = distance};
	return 0;
}

int aml_topology_distances_finish(struct aml_topology *t)
{
	if (t->npending == 0)
		return 0;
	/* At most AML_BITMAP_MAX devices: the product cannot overflow. */
	unsigned *matrix = calloc(t->ndevices * t->ndevices, sizeof(*matrix));
	if (matrix == NULL)
		return AML_ENOMEM;
	for (size_t i = 0; i < t->npending; i++) {
		const struct aml_topology_distance_entry *e = &t->pending[i];
		size_t from = (size_t)t->device_of_node[e->from];
		size_t to = (size_t)t->device_of_node[e->to];
		matrix[from * t->ndevices + to] = e->distance;
	}
	free(t->pending);
	t->pending = NULL;
	t->npending = t->pending_allocated = 0;
	t->distances = matrix;
	return 0;
}

void aml_topology_distances_fini(struct aml_topology *t)
{
	free(t->pending);
	free(t->distances);
	t->pending = NULL;
	t->distances = NULL;
}

int aml_topology_distance(const struct aml_topology *t,
                          size_t from,
                          size_t to,
                          unsigned *out)
{
	if (t == NULL || out == NULL)
		return AML_EINVAL;
	if (from >= t->ndevices || to >= t->ndevices)
		return AML_EDOM;
	unsigned d = t->distances != NULL
	                     ? t->distances[from * t->ndevices + to]
	                     : 0;
	if (d == 0)
		return AML_ENOTSUP;
	*out = d;
	return 0;
}
