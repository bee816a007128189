/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Discovery of this machine through libnuma and sysfs, for builds without
 * hwloc: one device per node the process may allocate on, with its CPUs,
 * its size, and the bandwidth and latency the kernel read from ACPI HMAT
 * (/sys/devices/system/node/nodeN/access0/initiators/, Linux 5.2+), which
 * only describes the best (local) initiators; and the distances between
 * nodes (nodeN/distance, through libnuma).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>

#include <numa.h>

#include <aml/error.h>

#include "aml/src/os.h"
#include "backends/numa/numa_backend.h"
#include "backends/sysfs/sysfs.h"

#define NODE_SYSFS "/sys/devices/system/node"

/* The CPUs of the initiator nodes HMAT lists for @p node (symlinks nodeM
 * in access0/initiators). @return 0, or AML_ENOMEM when a file could not be
 * opened for lack of memory: then the CPUs are unknown, not absent. */
static int numa_initiator_cpus(int node, struct aml_bitmap *out)
{
	aml_bitmap_zero(out);
	char path[256];
	snprintf(path, sizeof(path), NODE_SYSFS "/node%d/access0/initiators",
	         node);
	DIR *dir = opendir(path);
	if (dir == NULL)
		return aml_os_open_error(errno, 0);
	int err = 0;
	for (struct dirent *e; err == 0 && (e = readdir(dir)) != NULL;) {
		int initiator;
		char extra;
		if (sscanf(e->d_name, "node%d%c", &initiator, &extra) != 1)
			continue;
		struct aml_bitmap cpus;
		err = aml_sysfs_node_cpus(initiator, &cpus);
		if (err == 0)
			aml_bitmap_or(out, out, &cpus);
		else if (err != AML_ENOMEM)
			err = 0; /* a node that went away: skip it */
	}
	closedir(dir);
	return err;
}

/* HMAT's figures of @p node for its best initiators: sysfs gives MB/s (2^20
 * bytes, as HMAT's MiB/s: saturated past 64 bits, as hwloc's) and ns. */
static int numa_node_perf(int node, struct aml_device_perf *perf)
{
	static const char *const names[4] = {"read_bandwidth",
	                                     "write_bandwidth", "read_latency",
	                                     "write_latency"};
	uint64_t *fields[4] = {&perf->read_bandwidth, &perf->write_bandwidth,
	                       &perf->read_latency_ns, &perf->write_latency_ns};
	*perf = (struct aml_device_perf){0};
	for (size_t i = 0; i < 4; i++) {
		int err = aml_sysfs_node_access(node, names[i], fields[i]);
		if (err != 0)
			return err;
	}
	perf->read_bandwidth = aml_hmat_bytes_per_second(perf->read_bandwidth);
	perf->write_bandwidth =
	        aml_hmat_bytes_per_second(perf->write_bandwidth);
	return 0;
}

static int numa_discover_node(struct aml_topology *t, int node)
{
	struct aml_device dev = {.numa_id = node, .backend = AML_BACKEND_NUMA};
	long long size = numa_node_size64(node, NULL);
	dev.capacity = size > 0 ? (size_t)size : 0;
	int err = aml_sysfs_node_cpus(node, &dev.cpus);
	struct aml_device_perf perf;
	if (err == 0)
		err = numa_node_perf(node, &perf);
	if (err != 0)
		return err;
	if (perf.read_bandwidth || perf.write_bandwidth ||
	    perf.read_latency_ns || perf.write_latency_ns) {
		struct aml_bitmap initiator;
		err = numa_initiator_cpus(node, &initiator);
		if (err != 0)
			return err;
		if (aml_bitmap_count(&initiator) == 0)
			initiator = dev.cpus;
		err = aml_device_add_initiator(&dev, &initiator, &perf);
		if (err != 0)
			return err;
	}
	return aml_topology_add_device(t, &dev, NULL);
}

/* Linux's node_distance() between every two nodes of @p t, as libnuma read
 * it from nodeN/distance; 0 (unreadable) leaves a pair unknown. */
static int numa_discover_distances(struct aml_topology *t)
{
	int err = 0;
	for (int a = 0; a <= numa_max_node() && err == 0; a++) {
		if (!numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned)a))
			continue;
		for (int b = 0; b <= numa_max_node() && err == 0; b++) {
			if (!numa_bitmask_isbitset(numa_all_nodes_ptr,
			                           (unsigned)b))
				continue;
			int d = numa_distance(a, b);
			if (d > 0)
				err = aml_topology_set_distance(t, a, b,
				                                (unsigned)d);
		}
	}
	return err;
}

int aml_numa_discover(struct aml_topology **out)
{
	*out = NULL;
	if (numa_available() < 0)
		return AML_ENODEV;
	struct aml_topology *t;
	int err = aml_topology_create(
	        &t, &(struct aml_topology_desc){.source = "libnuma",
	                                        .ops = &aml_numa_topology_ops});
	if (err != 0)
		return err;
	/* Nodes this process may allocate on (its cpuset's mems). */
	for (int node = 0; node <= numa_max_node() && err == 0; node++) {
		if (numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned)node))
			err = numa_discover_node(t, node);
	}
	if (err == 0)
		err = numa_discover_distances(t);
	if (err == 0)
		err = aml_topology_finish(t, true);
	if (err != 0) {
		aml_topology_destroy(&t);
		return err;
	}
	*out = t;
	return 0;
}
