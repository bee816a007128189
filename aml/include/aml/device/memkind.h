/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file memkind.h
 * Devices for memkind's kinds (bridge header, as hwloc's are).
 *
 * Always declared: when aml is built without memkind these functions return
 * AML_ENOTSUP, so code that uses them compiles with every build of aml.
 */
#ifndef AML_DEVICE_MEMKIND_H
#define AML_DEVICE_MEMKIND_H

#include <aml/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The memkind kinds aml offers as devices. */
enum aml_memkind_kind {
	/** MEMKIND_HBW: high-bandwidth memory only; fails when full. */
	AML_MEMKIND_HBW,
	/** MEMKIND_HBW_PREFERRED: high-bandwidth memory, else other memory. */
	AML_MEMKIND_HBW_PREFERRED,
	/** MEMKIND_HIGHEST_CAPACITY: the nodes with the most memory. */
	AML_MEMKIND_HIGHEST_CAPACITY,
	/** MEMKIND_DAX_KMEM: persistent memory exposed as NUMA nodes. */
	AML_MEMKIND_DAX_KMEM,
	/** Number of kinds; not a kind. */
	AML_MEMKIND_KIND_COUNT
};

/**
 * The device of a memkind kind. Maps are page-aligned allocations from
 * memkind (memkind_posix_memalign), released whole by aml_device_unmap();
 * move is not supported. To place on a kind as on a NUMA node (map under
 * the placement rules, locate), make its one-device topology with
 * aml_topology_of_device(); a device area given no topology does. memkind
 * decides which nodes are high-bandwidth (HMAT bandwidth, or
 * MEMKIND_HBW_NODES).
 * @return the device, owned by aml for the life of the process; NULL with
 *         aml_errno = AML_EINVAL (unknown kind), AML_ENODEV (memkind has no
 *         memory of that kind on this machine, for the life of the
 *         process), AML_ENOMEM (no memory to make the device: a later
 *         call tries again) or AML_ENOTSUP (aml built without memkind).
 * @note Thread-safe.
 */
const struct aml_device *aml_memkind_device(enum aml_memkind_kind kind);

#ifdef __cplusplus
}
#endif

#endif /* AML_DEVICE_MEMKIND_H */
