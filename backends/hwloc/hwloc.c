/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The hwloc backend: discovery of NUMA nodes and their memory attributes,
 * from this machine or from an hwloc XML file, and the backend's description.
 *
 * Nodes are keyed by OS index (obj->os_index, what mbind and numactl use),
 * never hwloc's logical index: the two differ as soon as CPU-less nodes are
 * numbered after the DDR ones (Xeon Max SNC4: DDR 0-7, HBM 8-15, but hwloc's
 * tree order interleaves them), and mixing them up places memory on the
 * wrong node.
 *
 * Bandwidth and latency come from hwloc's memattrs (ACPI HMAT on Linux), one
 * value per initiator CPU set; hwloc gives bandwidth in MiB/s. A node may
 * have any number of initiators; aml_device_set_initiators() fits them in
 * the device.
 *
 * Distances between nodes come from hwloc's NUMALatency matrix (ACPI SLIT),
 * or from sysfs when hwloc has none for this machine.
 *
 * XML reaches this file only as the canonical text aml wrote after checking
 * the user's (aml/src/topology_xml): hwloc never parses a byte aml did not
 * check.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <hwloc.h>

#include <aml/error.h>

#include "aml/src/backend.h"
#include "backends/hwloc/hwloc_backend.h"
#include "backends/numa/numa_backend.h"
#include "backends/sysfs/sysfs.h"

/* HWLOC_API_VERSION is 0xMMmmpp00-style: major in bits 16-23, minor 8-15. */
static unsigned hwloc_backend_major(unsigned api)
{
	return api >> 16;
}

/*
 * The loaded library's release ("2.9.0"), which is not its API level (hwloc
 * 2.9.0 has API 2.8.0): hwloc writes it into the root object of every
 * topology it loads, and a one-PU synthetic topology costs no discovery.
 * It names its NUMA node: without one, hwloc 2.9 adds it with a memcpy
 * between overlapping buffers (valgrind reports it). "unknown" if even
 * that fails.
 */
static void hwloc_library_release(char *buf, size_t size)
{
	snprintf(buf, size, "unknown");
	hwloc_topology_t topo;
	if (hwloc_topology_init(&topo) != 0)
		return;
	if (hwloc_topology_set_synthetic(topo, "node:1 pu:1") == 0 &&
	    hwloc_topology_load(topo) == 0) {
		const char *release = hwloc_obj_get_info_by_name(
		        hwloc_get_root_obj(topo), "hwlocVersion");
		if (release != NULL)
			snprintf(buf, size, "%s", release);
	}
	hwloc_topology_destroy(topo);
}

static int hwloc_backend_describe(char *buf, size_t size)
{
	unsigned runtime = hwloc_get_api_version();
	/* hwloc's documented check: a different major means another ABI. */
	const char *abi = hwloc_backend_major(runtime) ==
	                                  hwloc_backend_major(HWLOC_API_VERSION)
	                          ? "ABI matches"
	                          : "ABI MISMATCH with the headers";
	char release[32];
	hwloc_library_release(release, sizeof(release));
	return snprintf(buf, size,
	                "hwloc %s (API %u.%u.%u; built against API %u.%u.%u, "
	                "%s)",
	                release, runtime >> 16, (runtime >> 8) & 0xff,
	                runtime & 0xff, HWLOC_API_VERSION >> 16,
	                (HWLOC_API_VERSION >> 8) & 0xff,
	                HWLOC_API_VERSION & 0xff, abi);
}

/* ---- Discovery ---- */

/* CPUs beyond AML_BITMAP_MAX are dropped: aml's sets stop there. */
static void hwloc_to_bitmap(hwloc_const_bitmap_t set, struct aml_bitmap *out)
{
	aml_bitmap_zero(out);
	for (int cpu = hwloc_bitmap_first(set);
	     cpu >= 0 && cpu < AML_BITMAP_MAX;
	     cpu = hwloc_bitmap_next(set, cpu))
		aml_bitmap_set(out, (size_t)cpu);
}

/*
 * The node's own CPUs. hwloc attaches a CPU-less node next to the CPUs it is
 * close to, so its cpuset is not enough. On this machine, Linux says
 * (node/nodeN/cpulist). In an XML file, the lowest OS index among the NUMA
 * nodes of one parent owns its CPUs, as firmware numbers CPU nodes before
 * the CPU-less HBM and CXL nodes.
 */
static int
hwloc_node_cpus(hwloc_topology_t topo, hwloc_obj_t node, struct aml_bitmap *out)
{
	aml_bitmap_zero(out);
	if (hwloc_topology_is_thissystem(topo)) {
		/* No file: a CPU-less node. No memory to read it: unknown,
		 * which must not pass for CPU-less. */
		int err = aml_sysfs_node_cpus((int)node->os_index, out);
		if (err == AML_ENOMEM)
			return err;
		if (err != 0)
			aml_bitmap_zero(out);
		return 0;
	}
	for (hwloc_obj_t sibling = node->parent->memory_first_child;
	     sibling != NULL; sibling = sibling->next_sibling) {
		if (sibling->type == HWLOC_OBJ_NUMANODE &&
		    sibling->os_index < node->os_index)
			return 0;
	}
	hwloc_to_bitmap(node->cpuset, out);
	return 0;
}

/* Where each memattr value goes in struct aml_device_perf. */
static uint64_t *hwloc_perf_field(struct aml_device_perf *perf,
                                  hwloc_memattr_id_t id)
{
	switch (id) {
	case HWLOC_MEMATTR_ID_BANDWIDTH:
		return &perf->bandwidth;
	case HWLOC_MEMATTR_ID_READ_BANDWIDTH:
		return &perf->read_bandwidth;
	case HWLOC_MEMATTR_ID_WRITE_BANDWIDTH:
		return &perf->write_bandwidth;
	case HWLOC_MEMATTR_ID_LATENCY:
		return &perf->latency_ns;
	case HWLOC_MEMATTR_ID_READ_LATENCY:
		return &perf->read_latency_ns;
	default:
		return &perf->write_latency_ns;
	}
}

static bool hwloc_is_bandwidth(hwloc_memattr_id_t id)
{
	return id == HWLOC_MEMATTR_ID_BANDWIDTH ||
	       id == HWLOC_MEMATTR_ID_READ_BANDWIDTH ||
	       id == HWLOC_MEMATTR_ID_WRITE_BANDWIDTH;
}

/* Every initiator of a node, as many as hwloc has, before reduction. */
struct hwloc_initiators {
	struct aml_device_initiator *items;
	size_t n;
};

/* Append every CPU-set initiator's value of one memattr to list. */
static int hwloc_read_memattr(hwloc_topology_t topo,
                              hwloc_obj_t node,
                              hwloc_memattr_id_t id,
                              struct hwloc_initiators *list)
{
	unsigned n = 0;
	if (hwloc_memattr_get_initiators(topo, id, node, 0, &n, NULL, NULL) !=
	            0 ||
	    n == 0)
		return 0; /* no values for this attribute */
	struct hwloc_location *where = malloc(n * sizeof(*where));
	hwloc_uint64_t *values = malloc(n * sizeof(*values));
	struct aml_device_initiator *items =
	        realloc(list->items, (list->n + n) * sizeof(*items));
	if (items != NULL)
		list->items = items;
	int err = where == NULL || values == NULL || items == NULL ? AML_ENOMEM
	                                                           : 0;
	unsigned got = n;
	if (err == 0 && hwloc_memattr_get_initiators(topo, id, node, 0, &got,
	                                             where, values) != 0)
		got = 0;
	for (unsigned i = 0; err == 0 && i < got && i < n; i++) {
		if (where[i].type != HWLOC_LOCATION_TYPE_CPUSET)
			continue;
		struct aml_device_initiator *in = &list->items[list->n++];
		*in = (struct aml_device_initiator){0};
		hwloc_to_bitmap(where[i].location.cpuset, &in->cpus);
		/* An XML file past 2^44 MiB/s is refused before hwloc reads
		 * it; this machine's own figures saturate. */
		*hwloc_perf_field(&in->perf, id) =
		        hwloc_is_bandwidth(id)
		                ? aml_hmat_bytes_per_second(values[i])
		                : values[i];
	}
	free(where);
	free(values);
	return err;
}

static int
hwloc_add_node(hwloc_topology_t topo, hwloc_obj_t node, struct aml_topology *t)
{
	/* Linux has no node past 1023, and aml refuses XML that does. */
	if (node->os_index >= AML_BITMAP_MAX)
		return AML_FAILURE;
	struct aml_device dev = {
	        .numa_id = (int)node->os_index,
	        .backend = AML_BACKEND_NUMA,
	        .capacity = (size_t)node->attr->numanode.local_memory,
	};
	int err = hwloc_node_cpus(topo, node, &dev.cpus);
	if (err != 0)
		return err;
	static const hwloc_memattr_id_t attrs[] = {
	        HWLOC_MEMATTR_ID_BANDWIDTH,
	        HWLOC_MEMATTR_ID_READ_BANDWIDTH,
	        HWLOC_MEMATTR_ID_WRITE_BANDWIDTH,
	        HWLOC_MEMATTR_ID_LATENCY,
	        HWLOC_MEMATTR_ID_READ_LATENCY,
	        HWLOC_MEMATTR_ID_WRITE_LATENCY,
	};
	struct hwloc_initiators list = {0};
	for (size_t i = 0; err == 0 && i < sizeof(attrs) / sizeof(*attrs); i++)
		err = hwloc_read_memattr(topo, node, attrs[i], &list);
	if (err == 0)
		err = aml_device_set_initiators(&dev, list.items, list.n);
	if (err == 0)
		err = aml_topology_add_device(t, &dev, node->subtype);
	free(list.items);
	return err;
}

/* One distance into @p t; a pair hwloc gives that aml has no device for, or
 * a value aml cannot hold, stays unknown. */
static int hwloc_set_distance(struct aml_topology *t,
                              unsigned from,
                              unsigned to,
                              hwloc_uint64_t value)
{
	if (from >= AML_BITMAP_MAX || to >= AML_BITMAP_MAX || value == 0 ||
	    value > UINT_MAX)
		return 0;
	int err = aml_topology_set_distance(t, (int)from, (int)to,
	                                    (unsigned)value);
	return err == AML_EINVAL ? 0 : err;
}

/*
 * The distances between nodes: hwloc's NUMALatency matrix (the SLIT, from
 * the OS or an XML file: kind from-OS and latency), else, on this machine,
 * the kernel's nodeN/distance, since hwloc's Linux discovery records no
 * matrix for a single node.
 */
static int hwloc_add_distances(hwloc_topology_t topo, struct aml_topology *t)
{
	struct hwloc_distances_s *d = NULL;
	unsigned nr = 1;
	if (hwloc_distances_get_by_type(
	            topo, HWLOC_OBJ_NUMANODE, &nr, &d,
	            HWLOC_DISTANCES_KIND_FROM_OS |
	                    HWLOC_DISTANCES_KIND_MEANS_LATENCY,
	            0) != 0)
		return errno == ENOMEM ? AML_ENOMEM : 0;
	int err = 0;
	if (nr > 0 && d != NULL) {
		for (unsigned i = 0; err == 0 && i < d->nbobjs; i++) {
			for (unsigned j = 0; err == 0 && j < d->nbobjs; j++) {
				if (d->objs[i] == NULL || d->objs[j] == NULL)
					continue;
				err = hwloc_set_distance(
				        t, d->objs[i]->os_index,
				        d->objs[j]->os_index,
				        d->values[i * d->nbobjs + j]);
			}
		}
		hwloc_distances_release(topo, d);
		return err;
	}
	if (!hwloc_topology_is_thissystem(topo))
		return 0;
	unsigned *row = malloc(AML_BITMAP_MAX * sizeof(*row));
	if (row == NULL)
		return AML_ENOMEM;
	for (hwloc_obj_t node = NULL;
	     err == 0 && (node = hwloc_get_next_obj_by_type(
	                          topo, HWLOC_OBJ_NUMANODE, node)) != NULL;) {
		if (node->os_index >= AML_BITMAP_MAX)
			continue;
		/* No file, or one that does not parse: unknown. */
		err = aml_sysfs_node_distances((int)node->os_index, row);
		if (err != 0) {
			err = err == AML_ENOMEM ? err : 0;
			continue;
		}
		for (unsigned to = 0; err == 0 && to < AML_BITMAP_MAX; to++)
			err = hwloc_set_distance(t, node->os_index, to,
			                         row[to]);
	}
	free(row);
	return err;
}

/* A load that failed for lack of memory must say so: taken for a bad file,
 * or for a machine hwloc cannot see (which falls back to libnuma, without
 * HMAT per initiator), a passing shortage would change the answer. */
static int hwloc_load_error(int err, int otherwise)
{
	return err == ENOMEM ? AML_ENOMEM : otherwise;
}

static int hwloc_load(hwloc_topology_t *topo, const char *xml, size_t size)
{
	if (hwloc_topology_init(topo) != 0)
		return AML_ENOMEM;
	/* hwloc counts the buffer's NUL in its length. */
	if (xml != NULL &&
	    (size >= INT_MAX ||
	     hwloc_topology_set_xmlbuffer(*topo, xml, (int)size + 1) != 0)) {
		int err = hwloc_load_error(errno, AML_EINVAL);
		hwloc_topology_destroy(*topo);
		return err;
	}
	if (hwloc_topology_load(*topo) != 0) {
		int err = hwloc_load_error(errno, xml != NULL ? AML_EINVAL
		                                              : AML_FAILURE);
		hwloc_topology_destroy(*topo);
		return err;
	}
	return 0;
}

int aml_hwloc_discover(struct aml_topology **out,
                       const char *xml,
                       size_t size,
                       const char *source)
{
	*out = NULL;
	hwloc_topology_t topo;
	int err = hwloc_load(&topo, xml, size);
	if (err != 0)
		return err;
	struct aml_topology *t;
	struct aml_topology_desc desc = {
	        .source = xml != NULL ? source : "hwloc",
	        .ops = &aml_numa_topology_ops,
	        .other_system = !hwloc_topology_is_thissystem(topo),
	};
	err = aml_topology_create(&t, &desc);
	for (hwloc_obj_t node = NULL;
	     err == 0 && (node = hwloc_get_next_obj_by_type(
	                          topo, HWLOC_OBJ_NUMANODE, node)) != NULL;)
		err = hwloc_add_node(topo, node, t);
	if (err == 0)
		err = hwloc_add_distances(topo, t);
	if (err == 0)
		err = aml_topology_finish(t, true);
	hwloc_topology_destroy(topo);
	if (err != 0) {
		aml_topology_destroy(&t);
		return err;
	}
	*out = t;
	return 0;
}

static int hwloc_discover_this_machine(struct aml_topology **out)
{
	return aml_hwloc_discover(out, NULL, 0, NULL);
}

const struct aml_backend_impl aml_backend_hwloc_impl = {
        .name = "hwloc",
        .built = true,
        .describe = hwloc_backend_describe,
        /* Above libnuma: hwloc sees HMAT per initiator and subtypes. */
        .discover = hwloc_discover_this_machine,
        .priority = 20,
        .load_xml = aml_hwloc_discover,
};
