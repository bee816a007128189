/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: the device layer's service-provider interface, for the backends
 * (backends/) and the emulator only. Blocks use <aml/topology.h> and
 * <aml/device.h>, and aml/src/device/blocks.h for the little more they need.
 *
 * A backend makes a topology in three calls: aml_topology_create() with a
 * description (its ops, its state, its name), aml_topology_add_device() once
 * per NUMA node with the node's attributes (and, when it knows them,
 * aml_topology_set_distance() per pair of nodes), and aml_topology_finish(),
 * which sorts the devices by NUMA OS index, indexes them by node, turns the
 * distances into a matrix by device index, classifies their kinds
 * (classify.h) and gives each device its ops through device_init.
 * After that the topology never changes. A backend never writes a field of
 * the topology: the struct is private to aml/src/device/.
 *
 * The contract of every op, as for the device ops of <aml/device.h>: the
 * device layer calls it with valid arguments only (topology and pointers
 * not NULL; addresses page-aligned; sizes > 0 and multiples of the page
 * size; node sets non-empty and inside the topology), so an op checks
 * nothing the layer already did; it returns 0 or a negative AML_E* code
 * (NULL with aml_errno set for a mapping), and on error leaves nothing
 * mapped and nothing changed. An optional op left NULL makes the generic
 * call return AML_ENOTSUP, or do the documented default.
 */
#ifndef AML_SRC_DEVICE_SPI_H
#define AML_SRC_DEVICE_SPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/area.h>
#include <aml/bitmap.h>
#include <aml/copier.h>
#include <aml/device.h>
#include <aml/topology.h>

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
	 * Optional: NULL means pages are placed at map time, so there is
	 * nothing to do. @return 0, or AML_ENOMEM if the kernel
	 * refused a page.
	 */
	int (*populate)(const struct aml_topology *topology,
	                void *ptr,
	                size_t size);
	/**
	 * Release the implementation's state, @p data as given to
	 * aml_topology_create(), after every device_fini and unmap_nodes.
	 * Optional.
	 */
	void (*fini)(void *data);
	/**
	 * map_nodes() in hugetlb pages of @p page bytes (2 MiB or 1 GiB, a
	 * size the system offers; @p size a multiple of it). Under BIND, a
	 * node set with fewer free huge pages than the map needs is
	 * AML_ENOMEM here: the kernel reserves from the whole pool at map
	 * time, and a first touch the bound nodes cannot serve is a SIGBUS.
	 * unmap_nodes() then gets huge-aligned ranges only. Optional: NULL
	 * means hugetlb pages are AML_ENOTSUP on this topology.
	 */
	void *(*map_nodes_hugetlb)(const struct aml_topology *topology,
	                           const struct aml_bitmap *nodes,
	                           enum aml_policy policy,
	                           size_t size,
	                           size_t page);
	/**
	 * Ask for transparent huge pages on [ptr, ptr + size), a fresh
	 * map_nodes() mapping aligned to the huge page, before any touch.
	 * Optional: NULL means the topology takes the request as a hint it
	 * ignores, and places its own pages (the emulator: base pages).
	 */
	int (*advise_huge)(const struct aml_topology *topology,
	                   void *ptr,
	                   size_t size);
	/**
	 * map_nodes() over [offset, offset + size) of @p fd (MAP_SHARED if
	 * @p shared, else MAP_PRIVATE; offset page-aligned), at an
	 * address aligned to @p alignment (a power of two >= the page
	 * size; the file's range cannot be over-mapped and trimmed as an
	 * anonymous map is). The policy is set with mbind on the mapping.
	 * The fd stays the caller's. Optional: NULL means AML_ENOTSUP (the
	 * emulator, whose devices map anonymous memory only).
	 */
	void *(*map_file_nodes)(const struct aml_topology *topology,
	                        const struct aml_bitmap *nodes,
	                        enum aml_policy policy,
	                        size_t size,
	                        size_t alignment,
	                        int fd,
	                        uint64_t offset,
	                        bool shared);
	/**
	 * Whether the topology gives pages of kind @p kind
	 * (AML_PAGE_TRANSPARENT_HUGE or a hugetlb kind whose op is set):
	 * 0, or AML_ENOTSUP with the reason explained. Optional: NULL means
	 * the system decides (its THP setting, its hugetlb sizes); an
	 * emulated machine decides for itself.
	 */
	int (*check_pages)(const struct aml_topology *topology,
	                   enum aml_page_kind kind);
};

/** Longest source string of a topology, NUL included. */
#define AML_TOPOLOGY_SOURCE_MAX 256

/** What a backend says about the topology it makes. */
struct aml_topology_desc {
	/** "hwloc", "libnuma", "hwloc XML <path>": copied, truncated to
	 * AML_TOPOLOGY_SOURCE_MAX - 1 bytes. Not NULL. */
	const char *source;
	/** The backend's ops, kept by pointer (static storage). Not NULL. */
	const struct aml_topology_ops *ops;
	/** The backend's state, or NULL; the topology owns it once made,
	 * and gives it to ops->fini when destroyed. */
	void *data;
	/** What copies between its memory go through (the emulator's
	 * charges its cost model), kept by pointer: it must outlive the
	 * topology (in @p data, say). NULL for aml_copier_memcpy. */
	const struct aml_copier *copier;
	/** False for a description of another machine (an XML file that
	 * hwloc says is not this system): see aml_topology_is_this_system().
	 */
	bool other_system;
};

/**
 * An empty topology to fill with aml_topology_add_device().
 * @return 0; AML_EINVAL for a NULL argument; AML_ENOMEM. On error nothing
 *         is made and @p desc->data stays the caller's.
 */
int aml_topology_create(struct aml_topology **out,
                        const struct aml_topology_desc *desc);

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
 * Record the distance from NUMA node @p from to node @p to, both added
 * already, as Linux's node_distance() gives it (ACPI SLIT: 10 for a node
 * to itself, larger for farther nodes; what `numactl -H` prints). Optional:
 * a pair never given is unknown (aml_topology_distance() says
 * AML_ENOTSUP). Given twice, the last one holds.
 * @return 0; AML_EINVAL for a finished topology, a node not added, or a
 *         distance of 0; AML_ENOMEM (nothing recorded).
 */
int aml_topology_set_distance(struct aml_topology *topology,
                              int from,
                              int to,
                              unsigned distance);

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
 * The state a backend gave aml_topology_create(), if @p topology was made
 * with @p ops; NULL otherwise (another backend's topology, or NULL): how a
 * backend finds its own state, and tells its topologies from others.
 */
void *aml_topology_impl_data(const struct aml_topology *topology,
                             const struct aml_topology_ops *ops);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_DEVICE_SPI_H */
