/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: what the numa backend offers the other backends (hwloc gives its
 * nodes these ops) and white-box tests.
 */
#ifndef AML_BACKENDS_NUMA_NUMA_BACKEND_H
#define AML_BACKENDS_NUMA_NUMA_BACKEND_H

#include "aml/src/device/spi.h"

#ifdef __cplusplus
extern "C" {
#endif

/** NUMA node devices: maps, moves and locates pages with mbind(2) and
 * move_pages(2). Every topology of this machine uses them, whichever
 * backend discovered it. */
extern const struct aml_topology_ops aml_numa_topology_ops;

/**
 * A finished topology of this machine from libnuma and
 * /sys/devices/system/node (the registry's fallback when hwloc is absent).
 * @return 0; AML_ENODEV without NUMA support; AML_ENOMEM; AML_E* of sysfs.
 */
int aml_numa_discover(struct aml_topology **out);

#ifdef __cplusplus
}
#endif

#endif /* AML_BACKENDS_NUMA_NUMA_BACKEND_H */
