/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: what Linux says about NUMA nodes in /sys/devices/system/node,
 * read without libnuma (whose numa_node_to_cpus has two symbol versions and
 * binds to the wrong one from a shared object linked without -lnuma).
 */
#ifndef AML_BACKENDS_SYSFS_SYSFS_H
#define AML_BACKENDS_SYSFS_SYSFS_H

#include <stdint.h>

#include <aml/bitmap.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * CPUs of NUMA node @p node (nodeN/cpulist) into @p out; empty for a CPU-less
 * node. @return 0; AML_ENODEV if the node has no such file; AML_EINVAL if
 * the list does not parse; AML_ENOMEM if the file could not be opened for
 * lack of memory (or of file descriptors): then nothing is known, and a
 * caller must not take the node for CPU-less.
 */
int aml_sysfs_node_cpus(int node, struct aml_bitmap *out);

/**
 * Distances from NUMA node @p node to every online node (nodeN/distance,
 * one value per node of /sys/devices/system/node/online, in order): out[m]
 * for node m, 0 for a node not online. @p out has AML_BITMAP_MAX entries.
 * @return 0; AML_ENODEV if a file is not there; AML_EINVAL if one does not
 *         parse (too few values, a 0); AML_ENOMEM as for
 *         aml_sysfs_node_cpus(). @p out is untouched on error.
 */
int aml_sysfs_node_distances(int node, unsigned *out);

/**
 * One unsigned value of nodeN/access0/initiators/@p name (HMAT: MB/s or
 * ns) into *@p out, 0 when absent. @return 0; AML_ENOMEM as for
 * aml_sysfs_node_cpus() (*@p out is 0 then too).
 */
int aml_sysfs_node_access(int node, const char *name, uint64_t *out);

/**
 * HMAT's bandwidth unit, MiB/s (2^20 bytes: sysfs's access0 files and
 * hwloc's memory attributes give it), in bytes per second, saturated at
 * UINT64_MAX: 2^44 MiB/s and more would wrap in 64 bits, to 0 at 2^44,
 * the slowest figure instead of the fastest. Both discovery backends use
 * it.
 */
uint64_t aml_hmat_bytes_per_second(uint64_t mib);

#ifdef __cplusplus
}
#endif

#endif /* AML_BACKENDS_SYSFS_SYSFS_H */
