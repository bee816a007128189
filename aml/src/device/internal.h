/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to aml/src/device/: what a topology is inside, and the helpers
 * its files share. Backends build a topology through spi.h and never see
 * these fields; blocks ask <aml/topology.h> and blocks.h.
 */
#ifndef AML_SRC_DEVICE_INTERNAL_H
#define AML_SRC_DEVICE_INTERNAL_H

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
	/** Made by aml_topology_of_device() (topology_of_device.c): locate
	 * reports device indices, and destroy leaves the maps to the
	 * device. */
	bool of_device;
	/** Describes the machine this process runs on (see aml/topology.h). */
	bool this_system;
	/** Live aml_topology_map() ranges, so unmap refuses foreign ones.
	 * Held by pointer: it changes while the topology itself does not. */
	struct aml_rangeset *maps;
	/** What copies between its memory go through (aml/copier.h), set
	 * by its maker (the emulator's charges its cost model); NULL for
	 * aml_copier_memcpy. See aml_topology_copier(). */
	const struct aml_copier *copier;
	/** Never reused within a process, unlike its address: answers kept
	 * about it (rank.c) name it by this. */
	uint64_t serial;
	/** Distances between devices, row-major by device index, 0 for
	 * unknown; NULL when the source gave none (topology_distance.c). */
	unsigned *distances;
	/** What aml_topology_set_distance() recorded before finish, by NUMA
	 * OS index: devices are sorted only then. */
	struct aml_topology_distance_entry *pending;
	size_t npending;
	size_t pending_allocated;
};

/** One distance a backend gave, by NUMA OS index, until finish. */
struct aml_topology_distance_entry {
	int from;
	int to;
	unsigned distance;
};

/** Turn the distances recorded by NUMA node into the matrix by device
 * index, once devices are sorted. @return 0; AML_ENOMEM. */
int aml_topology_distances_finish(struct aml_topology *topology);

/** Release what the distances hold. */
void aml_topology_distances_fini(struct aml_topology *topology);

/** A topology serial number, never given before in this process. */
uint64_t aml_topology_new_serial(void);

/**
 * The key @p dev sorts by in aml_topology_rank() for @p by, seen from
 * @p initiator (NULL: the calling thread's CPUs): larger is better, 0
 * (unknown) sorts last (rank.c).
 */
uint64_t aml_topology_rank_key(const struct aml_device *dev,
                               enum aml_topology_rank by,
                               const struct aml_bitmap *initiator);

/**
 * Point the pages of [ptr, ptr + size) (page-aligned, inside one
 * aml_topology_map() mapping not yet touched) at device index @p device:
 * how a weighted interleave binds its runs.
 * @return 0; AML_EINVAL; AML_ENOMEM if the device is full (emulator);
 *         AML_ENOTSUP if the topology cannot.
 */
int aml_topology_rebind(const struct aml_topology *topology,
                        void *ptr,
                        size_t size,
                        size_t device);

/**
 * The rule of a populating map (aml_topology_map_populate()): the devices
 * of @p topology with indices in @p devices must have @p size bytes free
 * beyond their margins together.
 * @return 0; AML_ENOMEM if they have not; AML_ENOTSUP if a device cannot
 *         tell its free bytes; AML_EDOM for an index past the last device.
 */
int aml_topology_populate_check(const struct aml_topology *topology,
                                const struct aml_bitmap *devices,
                                size_t size);

/**
 * Fault in [ptr, ptr + size), a mapping of @p topology or of one of its
 * devices, through the populate op (nothing where there is none).
 * @return 0, or AML_ENOMEM.
 */
int aml_topology_populate(const struct aml_topology *topology,
                          void *ptr,
                          size_t size);

/** Whether a device of @p topology releases whole maps only
 * (unmaps_whole_only in its ops): then the topology's maps are neither
 * aligned by trimming nor unmapped in part. */
bool aml_topology_unmaps_whole_only(const struct aml_topology *topology);

/** Every device index of @p topology, as a set. */
void aml_topology_all_devices(const struct aml_topology *topology,
                              struct aml_bitmap *out);

/** Could @p size bytes ever fit on the devices with indices in @p devices?
 * False only when each knows its capacity and together they hold less
 * (topology_map.c). */
bool aml_topology_capacity_allows(const struct aml_topology *topology,
                                  const struct aml_bitmap *devices,
                                  size_t size);

/** The names of the devices with indices in @p devices, comma-separated,
 * into @p out (truncated to @p size bytes), for error details. */
void aml_topology_names_of(const struct aml_topology *topology,
                           const struct aml_bitmap *devices,
                           char *out,
                           size_t size);

/** The NUMA nodes of the devices with indices in @p devices (AML_EDOM for
 * an index past the last device). */
int aml_topology_nodes_of(const struct aml_topology *topology,
                          const struct aml_bitmap *devices,
                          struct aml_bitmap *nodes);

#endif /* AML_SRC_DEVICE_INTERNAL_H */
