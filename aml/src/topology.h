/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: what a topology is inside, and how discovery builds one.
 *
 * A discovery backend (hwloc, numa; later the emulator) makes an empty
 * topology, adds one device per NUMA node with its attributes, and finishes
 * it: finishing sorts the devices by NUMA OS index, indexes them by node,
 * classifies their kinds (classify.c) and gives each node the numa backend's
 * ops, so that every node device maps, unmaps and moves the same way
 * whichever backend discovered it. After that the topology never changes.
 */
#ifndef AML_SRC_TOPOLOGY_H
#define AML_SRC_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include <aml/bitmap.h>
#include <aml/copier.h>
#include <aml/device.h>
#include <aml/topology.h>

#include "aml/src/rangeset.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Operations of a topology as a whole. */
struct aml_topology_ops {
	/**
	 * Which NUMA node holds each page: numa_ids[i] is the OS index, or
	 * AML_ENODEV (page not present) or AML_EINVAL (address not mapped).
	 * Required. Called with valid, page-aligned arguments.
	 */
	int (*locate)(const struct aml_topology *topology,
	              const void *ptr,
	              size_t npages,
	              int *numa_ids);
	/**
	 * Attach ops and data to a node device (dev->numa_id is set).
	 * Required.
	 */
	int (*device_init)(struct aml_device *dev);
	/** Release what device_init attached, and the device's mappings. */
	void (*device_fini)(struct aml_device *dev);
	/**
	 * Map size bytes (a multiple of the page size) over the NUMA nodes in
	 * @p nodes (OS indices, non-empty, all nodes of the topology) under
	 * @p policy, already checked. Optional: NULL means AML_ENOTSUP.
	 * @return the mapping or NULL with aml_errno set.
	 */
	void *(*map_nodes)(const struct aml_topology *topology,
	                   const struct aml_bitmap *nodes,
	                   enum aml_policy policy,
	                   size_t size);
	/** Release a range map_nodes returned (or part of one). */
	int (*unmap_nodes)(const struct aml_topology *topology,
	                   void *ptr,
	                   size_t size);
	/**
	 * Send the untouched pages of [ptr, ptr + size), part of a fresh
	 * map_nodes() mapping, to NUMA node @p numa_id instead (no migration
	 * is counted). Optional: NULL means AML_ENOTSUP.
	 */
	int (*rebind)(const struct aml_topology *topology,
	              void *ptr,
	              size_t size,
	              int numa_id);
	/**
	 * Give every page of [ptr, ptr + size) (page-aligned, mapped by this
	 * topology or one of its devices) its memory now, in page order.
	 * Optional: NULL means pages are placed at map time (the emulator),
	 * so there is nothing to do. @return 0, or AML_ENOMEM if the kernel
	 * refused a page.
	 */
	int (*populate)(const struct aml_topology *topology,
	                void *ptr,
	                size_t size);
	/**
	 * Release the implementation's state (data), after every device_fini
	 * and unmap_nodes. Optional.
	 */
	void (*fini)(struct aml_topology *topology);
};

#define AML_TOPOLOGY_SOURCE_MAX 256

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

/** An empty topology of this machine to fill (set this_system to false for
 * a description of another). @return 0, AML_EINVAL or AML_ENOMEM. */
int aml_topology_create_empty(struct aml_topology **out,
                              const char *source,
                              const struct aml_topology_ops *ops);

/**
 * Add a copy of @p dev (numa_id set, 0 <= numa_id < AML_BITMAP_MAX, unique),
 * with the hwloc-style @p subtype ("" or NULL for none) used to classify it.
 * @return 0; AML_EINVAL for a bad or duplicate numa_id, or a finished
 *         topology; AML_ENOMEM.
 */
int aml_topology_add_device(struct aml_topology *topology,
                            const struct aml_device *dev,
                            const char *subtype);

/**
 * Sort, index, classify (when @p classify) and attach node ops.
 * @return 0; AML_ENODEV if there is no device; errors of device_init.
 */
int aml_topology_finish(struct aml_topology *topology, bool classify);

/**
 * The topology the environment names, made afresh (topology_default.c):
 * AML_EMULATE's emulated machine if set and not empty, else the file of
 * AML_TOPOLOGY_XML if set and not empty, else this machine.
 * aml_topology_default() keeps the first one made. A malformed AML_EMULATE
 * is reported on stderr.
 * @return as aml_emu_create(), aml_topology_load_xml() or
 *         aml_topology_discover().
 */
int aml_topology_from_env(struct aml_topology **out);

/** Record @p perf for @p initiator on @p dev, merging an equal CPU set. */
int aml_device_add_initiator(struct aml_device *dev,
                             const struct aml_bitmap *initiator,
                             const struct aml_device_perf *perf);

/**
 * Set @p dev's initiators (replacing any) from @p n pairs in @p list, in any
 * order, a CPU set possibly repeated with other figures (they merge as in
 * aml_device_add_initiator()). Past AML_DEVICE_INITIATORS_MAX distinct
 * sets, sets with equal figures share an entry (the union of their CPUs);
 * past it still, the best AML_DEVICE_INITIATORS_MAX - 1 by aml's initiator
 * order are kept and the rest share the last entry with the worst of their
 * figures. Needs dev->cpus set. Reorders @p list. O(n log n).
 * @return 0; AML_ENOMEM (dev unchanged).
 */
int aml_device_set_initiators(struct aml_device *dev,
                              struct aml_device_initiator *list,
                              size_t n);

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

/** Every device index of @p topology, as a set. */
void aml_topology_all_devices(const struct aml_topology *topology,
                              struct aml_bitmap *out);

/** Round @p size up to whole pages into *out; 0 and overflow are
 * AML_EINVAL. */
int aml_round_to_pages(size_t size, size_t *out);

/**
 * What locate reports for a page no device holds: AML_EINVAL when the
 * address is not mapped at all, AML_ENODEV when it is mapped but has no
 * memory of its own yet (never touched, or only read: the shared zero
 * page). mincore(2) tells the two apart.
 */
int aml_page_without_device(const void *page);

/** The calling thread's CPU affinity as a bitmap. */
int aml_thread_cpus(struct aml_bitmap *out);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_TOPOLOGY_H */
