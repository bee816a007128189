/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: what Linux says about NUMA nodes in /sys/devices/system/node,
 * read without libnuma (whose numa_node_to_cpus has two symbol versions and
 * binds to the wrong one from a shared object linked without -lnuma).
 */
#ifndef AML_SRC_SYSFS_H
#define AML_SRC_SYSFS_H

#include <stdint.h>

#include <aml/bitmap.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * CPUs of NUMA node @p node (nodeN/cpulist) into @p out; empty for a CPU-less
 * node. @return 0; AML_ENODEV if the node has no such file; AML_EINVAL if
 * the list does not parse.
 */
int aml_sysfs_node_cpus(int node, struct aml_bitmap *out);

/**
 * One unsigned value of nodeN/access0/initiators/@p name (HMAT: MB/s or
 * ns), 0 when absent.
 */
uint64_t aml_sysfs_node_access(int node, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_SYSFS_H */
