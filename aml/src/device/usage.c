/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * aml_topology_usage(): the totals and the bytes bound to each device come
 * from the topology's record of live maps (aml/src/rangeset.h), which
 * counts bytes as maps come and go (a map bound to one device under that
 * device's tag); the resident figures locate the pages of a copy of that
 * record, taken under its lock and walked without it, so that locating (a
 * system call per batch of pages) never holds up a map or an unmap.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/device.h>
#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/device/internal.h"
#include "aml/src/rangeset.h"

/* Pages located per call: the ids fit in 4 KiB of stack. */
#define USAGE_BATCH_PAGES 1024

struct usage_copy {
	struct aml_range *ranges;
	size_t count;
	size_t room;
};

static void usage_copy_range(const struct aml_range *range, void *arg)
{
	struct usage_copy *copy = arg;
	if (copy->count < copy->room)
		copy->ranges[copy->count] = *range;
	copy->count++;
}

/* The live maps, copied; *count set. NULL with *count 0 for none. */
static int
usage_snapshot(struct aml_rangeset *maps, struct aml_range **out, size_t *count)
{
	size_t room = aml_rangeset_count(maps);
	for (;;) {
		struct usage_copy copy = {NULL, 0, room};
		if (room > 0) {
			copy.ranges = malloc(room * sizeof(*copy.ranges));
			if (copy.ranges == NULL)
				return AML_ENOMEM;
		}
		aml_rangeset_foreach(maps, usage_copy_range, &copy);
		if (copy.count <= room) {
			*out = copy.ranges;
			*count = copy.count;
			return 0;
		}
		/* Maps came meanwhile: copy again, into enough room. */
		free(copy.ranges);
		room = copy.count + copy.count / 4;
	}
}

/* Adds the pages of one range to the devices' figures. */
static int usage_locate_range(const struct aml_topology *t,
                              const struct aml_range *range,
                              struct aml_topology_usage *total,
                              struct aml_device_usage *devices,
                              size_t ndevices,
                              bool *counted)
{
	const size_t page = aml_page_size();
	int ids[USAGE_BATCH_PAGES];
	memset(counted, 0, ndevices * sizeof(*counted));
	for (uintptr_t at = range->start; at < range->end;) {
		size_t n = (range->end - at) / page;
		if (n > USAGE_BATCH_PAGES)
			n = USAGE_BATCH_PAGES;
		int err = aml_topology_locate(t, (const void *)at, n, ids);
		if (err != 0)
			return err;
		for (size_t i = 0; i < n; i++) {
			if (ids[i] < 0 || (size_t)ids[i] >= ndevices) {
				total->unplaced_bytes += page;
				continue;
			}
			devices[ids[i]].resident_bytes += page;
			if (!counted[ids[i]]) {
				counted[ids[i]] = true;
				devices[ids[i]].mappings++;
			}
		}
		at += n * page;
	}
	return 0;
}

int aml_topology_usage(const struct aml_topology *topology,
                       struct aml_topology_usage *total,
                       struct aml_device_usage *devices,
                       size_t ndevices)
{
	if (topology == NULL || total == NULL ||
	    (devices == NULL && ndevices > 0) || ndevices > topology->ndevices)
		return AML_EINVAL;
	*total = (struct aml_topology_usage){0};
	if (ndevices > 0)
		memset(devices, 0, ndevices * sizeof(*devices));
	aml_rangeset_bytes(topology->maps, &total->mapped_bytes,
	                   &total->peak_mapped_bytes);
	total->mappings = aml_rangeset_count(topology->maps);
	if (ndevices == 0)
		return 0;
	for (size_t d = 0; d < ndevices; d++)
		aml_rangeset_tag_bytes(topology->maps, d,
		                       &devices[d].bound_bytes,
		                       &devices[d].peak_bound_bytes);

	struct aml_range *ranges = NULL;
	size_t count = 0;
	int err = usage_snapshot(topology->maps, &ranges, &count);
	bool *counted = calloc(ndevices, sizeof(*counted));
	if (err == 0 && counted == NULL)
		err = AML_ENOMEM;
	for (size_t i = 0; err == 0 && i < count; i++)
		err = usage_locate_range(topology, &ranges[i], total, devices,
		                         ndevices, counted);
	free(counted);
	free(ranges);
	if (err != 0) {
		total->unplaced_bytes = 0;
		for (size_t d = 0; d < ndevices; d++)
			devices[d].resident_bytes = devices[d].mappings = 0;
	}
	return err;
}
