/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: what the device layer offers the blocks (aml/src/<block>/) beyond
 * the public <aml/device.h>, <aml/topology.h> and <aml/copier.h>: one
 * placement request, and the one path that executes it (placement.c).
 * Blocks include this and aml/src/os.h, never spi.h: they do not see how a
 * topology is made.
 *
 * aml_topology_map(), aml_topology_map_populate() and every map of a device
 * area fill a request and call aml_placement_map(); their unmaps call
 * aml_placement_unmap(). The request is validated, its size
 * rounded, its capacity and populate rules checked once, here, and each
 * mapping is recorded once, in the topology's registry, with its owner.
 */
#ifndef AML_SRC_DEVICE_BLOCKS_H
#define AML_SRC_DEVICE_BLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/area.h>
#include <aml/bitmap.h>
#include <aml/device.h>
#include <aml/topology.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A range of a file to map instead of anonymous memory (file areas,
 * aml/area/file.h). The descriptor stays its owner's.
 */
struct aml_placement_file {
	/** An open descriptor: readable, and writable if @p shared. */
	int fd;
	/** Page-aligned offset of the range in the file. */
	uint64_t offset;
	/** MAP_SHARED; MAP_PRIVATE otherwise. */
	bool shared;
};

/** What to map, where, and for whom. */
struct aml_placement_request {
	/**
	 * The topology that places and records the mapping. A device no
	 * discovery makes is the one device of aml_topology_of_device().
	 */
	const struct aml_topology *topology;
	/** Device indices in the topology; NULL or empty for LOCAL. */
	const struct aml_bitmap *set;
	enum aml_policy policy;
	/**
	 * WEIGHTED_INTERLEAVE only: @p nruns devices of the set in run order
	 * and their weights (pages per run, >= 1); NULL otherwise.
	 */
	const struct aml_device *const *run_devices;
	const unsigned *weights;
	size_t nruns;
	/** Bytes, rounded up to pages here. */
	size_t size;
	/** 0 or the page size for none, else a power of two above it. */
	size_t alignment;
	/** Fault every page in, under the free-memory rule. */
	bool populate;
	/** The pages to map: AML_PAGE_DEFAULT or AML_PAGE_BASE for base
	 * pages (aml/area.h). */
	enum aml_page_kind pages;
	/** Recorded with the range; only this owner unmaps it. */
	const void *owner;
	/** NULL for anonymous memory, else the file range to map (base
	 * pages only: a hugetlb kind is AML_ENOTSUP). */
	const struct aml_placement_file *file;
};

/**
 * Map what @p request asks: validate it, round the size, check capacity
 * (and the free-memory rule if it populates), map through the topology's
 * backend, align by over-mapping and trimming, bind
 * a weighted interleave's runs, populate, and record the range for the
 * owner. On error nothing is mapped nor recorded.
 * @return the mapping, or NULL with aml_errno: AML_EINVAL (bad request),
 *         AML_EDOM, AML_ENODEV, AML_ENOMEM, AML_ENOTSUP (a backend that
 *         cannot map, rebind, or release part of a map for an alignment).
 */
void *aml_placement_map(const struct aml_placement_request *request);

/**
 * Release [ptr, ptr + size) (page-aligned, size a multiple of the page
 * size), recorded for @p owner in @p topology's registry, and forget it,
 * as one step under the registry's lock.
 * @return 0; AML_EINVAL for a range not recorded for @p owner (or not
 *         a whole map, where the topology unmaps whole maps only);
 *         AML_ENOMEM (a split); what the backend said. Nothing released
 *         on error.
 */
int aml_placement_unmap(const struct aml_topology *topology,
                        const void *owner,
                        void *ptr,
                        size_t size);

/**
 * Give the ranges recorded for @p owner in @p topology's registry to the
 * topology itself: they stay mapped, aml_topology_unmap() and
 * aml_topology_destroy() release them. What a finalised area leaves.
 */
void aml_placement_disown(const struct aml_topology *topology,
                          const void *owner);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_DEVICE_BLOCKS_H */
