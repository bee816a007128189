/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to aml/src/device/: what a topology is inside. Backends build one
 * through spi.h and never see these fields; blocks ask <aml/topology.h>.
 */
#ifndef AML_SRC_DEVICE_TOPOLOGY_STRUCT_H
#define AML_SRC_DEVICE_TOPOLOGY_STRUCT_H

#include <stdbool.h>
#include <stddef.h>

#include "aml/src/device/spi.h"
#include "aml/src/rangeset.h"

struct aml_topology {
	const struct aml_topology_ops *ops;
	/** The implementation's state (the emulator's), or NULL. */
	void *data;
	/** "hwloc", "libnuma", "hwloc XML <path>". */
	char source[AML_TOPOLOGY_SOURCE_MAX];
	/** Sorted by numa_id once finished. */
	struct aml_device *devices;
	size_t ndevices;
	size_t allocated;
	/** Device index of each NUMA OS index, -1 for none. */
	int device_of_node[AML_BITMAP_MAX];
	/** Node subtypes from discovery ("MCDRAM", ...), parallel to devices.
	 */
	char (*subtypes)[AML_DEVICE_NAME_MAX];
	bool finished;
	/** Describes the machine this process runs on (see topology.h). */
	bool this_system;
	/** Live aml_topology_map() ranges, so unmap refuses foreign ones.
	 * Held by pointer: it changes while the topology itself does not. */
	struct aml_rangeset *maps;
	/** What copies between its memory go through (aml/copier.h), set
	 * by its maker (the emulator's charges its cost model); NULL for
	 * aml_copier_memcpy. See aml_topology_copier(). */
	const struct aml_copier *copier;
};

#endif /* AML_SRC_DEVICE_TOPOLOGY_STRUCT_H */
