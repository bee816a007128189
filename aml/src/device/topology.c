/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Topologies: building one (for discovery backends) and querying it.
 *
 * Devices live in one array sorted by NUMA OS index, with a node -> index
 * table, so lookups by index, by node and by pointer are O(1). Rankings are
 * rank.c's. A topology never changes once made; each gets a serial number,
 * never reused, by which answers about it are kept.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/device/classify.h"
#include "aml/src/device/internal.h"
#include "aml/src/os.h"

/* ---- Building ---- */

uint64_t aml_topology_new_serial(void)
{
	static uint64_t last;
	return __atomic_add_fetch(&last, 1, __ATOMIC_RELAXED);
}

int aml_topology_create(struct aml_topology **out,
                        const struct aml_topology_desc *desc)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	if (desc == NULL || desc->source == NULL || desc->ops == NULL ||
	    desc->ops->locate == NULL || desc->ops->device_init == NULL)
		return AML_EINVAL;
	struct aml_topology *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return AML_ENOMEM;
	t->serial = aml_topology_new_serial();
	t->maps = malloc(sizeof(*t->maps));
	int err = t->maps == NULL
	                  ? AML_ENOMEM
	                  : aml_rangeset_init(t->maps, AML_FORK_RECORDS);
	if (err != 0) {
		free(t->maps);
		free(t);
		return err;
	}
	t->ops = desc->ops;
	t->data = desc->data;
	t->copier = desc->copier;
	t->this_system = !desc->other_system;
	/* snprintf truncates an over-long source (a deep XML path) safely. */
	snprintf(t->source, sizeof(t->source), "%s", desc->source);
	for (size_t i = 0; i < AML_BITMAP_MAX; i++)
		t->device_of_node[i] = -1;
	*out = t;
	return 0;
}

static int topology_grow(struct aml_topology *t)
{
	if (t->ndevices < t->allocated)
		return 0;
	size_t allocated = t->allocated ? 2 * t->allocated : 8;
	struct aml_device *devices =
	        realloc(t->devices, allocated * sizeof(*devices));
	if (devices == NULL)
		return AML_ENOMEM;
	t->devices = devices;
	char(*subtypes)[AML_DEVICE_NAME_MAX] =
	        realloc(t->subtypes, allocated * sizeof(*subtypes));
	if (subtypes == NULL)
		return AML_ENOMEM;
	t->subtypes = subtypes;
	t->allocated = allocated;
	return 0;
}

int aml_topology_add_device(struct aml_topology *t,
                            const struct aml_device *dev,
                            const char *subtype)
{
	if (t == NULL || dev == NULL || t->finished || dev->numa_id < 0 ||
	    dev->numa_id >= AML_BITMAP_MAX ||
	    t->device_of_node[dev->numa_id] != -1)
		return AML_EINVAL;
	int err = topology_grow(t);
	if (err != 0)
		return err;
	t->device_of_node[dev->numa_id] = (int)t->ndevices;
	t->devices[t->ndevices] = *dev;
	snprintf(t->subtypes[t->ndevices], AML_DEVICE_NAME_MAX, "%s",
	         subtype != NULL ? subtype : "");
	t->ndevices++;
	return 0;
}

/* Fill access bandwidth and latency from read/write values when only those
 * are known: the slower direction bounds a mixed access. */
static void topology_derive_access(struct aml_device_perf *p)
{
	if (p->bandwidth == 0) {
		p->bandwidth = p->read_bandwidth;
		if (p->write_bandwidth != 0 &&
		    (p->bandwidth == 0 || p->write_bandwidth < p->bandwidth))
			p->bandwidth = p->write_bandwidth;
	}
	if (p->latency_ns == 0) {
		p->latency_ns = p->read_latency_ns > p->write_latency_ns
		                        ? p->read_latency_ns
		                        : p->write_latency_ns;
	}
}

/* Is a before b: the local initiator (sharing the node's CPUs) first, then
 * the fastest. */
static bool topology_initiator_before(const struct aml_device *dev,
                                      const struct aml_device_initiator *a,
                                      const struct aml_device_initiator *b)
{
	struct aml_bitmap shared;
	aml_bitmap_and(&shared, &a->cpus, &dev->cpus);
	bool a_local = aml_bitmap_count(&shared) > 0;
	aml_bitmap_and(&shared, &b->cpus, &dev->cpus);
	bool b_local = aml_bitmap_count(&shared) > 0;
	if (a_local != b_local)
		return a_local;
	if (a->perf.bandwidth != b->perf.bandwidth)
		return a->perf.bandwidth > b->perf.bandwidth;
	return a->perf.latency_ns != 0 &&
	       (b->perf.latency_ns == 0 ||
	        a->perf.latency_ns < b->perf.latency_ns);
}

static void topology_sort_initiators(struct aml_device *dev)
{
	for (size_t i = 0; i < dev->ninitiators; i++)
		topology_derive_access(&dev->initiators[i].perf);
	for (size_t i = 1; i < dev->ninitiators; i++) {
		struct aml_device_initiator x = dev->initiators[i];
		size_t j = i;
		for (; j > 0 && topology_initiator_before(
		                        dev, &x, &dev->initiators[j - 1]);
		     j--)
			dev->initiators[j] = dev->initiators[j - 1];
		dev->initiators[j] = x;
	}
}

/* Sort devices (and their subtypes) by NUMA OS index, and reindex. */
static void topology_sort_devices(struct aml_topology *t)
{
	for (size_t i = 1; i < t->ndevices; i++) {
		struct aml_device dev = t->devices[i];
		char subtype[AML_DEVICE_NAME_MAX];
		memcpy(subtype, t->subtypes[i], sizeof(subtype));
		size_t j = i;
		for (; j > 0 && t->devices[j - 1].numa_id > dev.numa_id; j--) {
			t->devices[j] = t->devices[j - 1];
			memcpy(t->subtypes[j], t->subtypes[j - 1],
			       sizeof(subtype));
		}
		t->devices[j] = dev;
		memcpy(t->subtypes[j], subtype, sizeof(subtype));
	}
	for (size_t i = 0; i < t->ndevices; i++)
		t->device_of_node[t->devices[i].numa_id] = (int)i;
}

static void topology_classify(struct aml_topology *t)
{
	struct aml_classify_env env;
	aml_classify_env_read(&env);
	for (size_t i = 0; i < t->ndevices; i++) {
		const struct aml_device *dev = &t->devices[i];
		if (aml_bitmap_count(&dev->cpus) == 0 || dev->ninitiators == 0)
			continue;
		uint64_t latency = dev->initiators[0].perf.latency_ns;
		if (latency != 0 && (env.cpu_node_latency_ns == 0 ||
		                     latency < env.cpu_node_latency_ns))
			env.cpu_node_latency_ns = latency;
	}
	for (size_t i = 0; i < t->ndevices; i++)
		t->devices[i].kind =
		        aml_classify(&t->devices[i], t->subtypes[i], &env);
}

int aml_topology_finish(struct aml_topology *t, bool classify)
{
	if (t == NULL || t->finished)
		return AML_EINVAL;
	if (t->ndevices == 0)
		return AML_ENODEV;
	topology_sort_devices(t);
	int err = aml_topology_distances_finish(t);
	/* Maps bound to one device count under its index (usage.c). */
	if (err == 0)
		err = aml_rangeset_set_tags(t->maps, t->ndevices);
	if (err != 0)
		return err;
	for (size_t i = 0; i < t->ndevices; i++)
		topology_sort_initiators(&t->devices[i]);
	if (classify)
		topology_classify(t);
	for (size_t i = 0; i < t->ndevices; i++) {
		err = t->ops->device_init(&t->devices[i]);
		if (err != 0) {
			while (i-- > 0)
				t->ops->device_fini(&t->devices[i]);
			return err;
		}
	}
	t->finished = true;
	return 0;
}

static void topology_release_map(void *start, size_t size, void *arg)
{
	const struct aml_topology *t = arg;
	/* A topology of one device leaves its maps to the device. */
	if (!t->of_device)
		t->ops->unmap_nodes(t, start, size);
}

void aml_topology_destroy(struct aml_topology **topology)
{
	if (topology == NULL || *topology == NULL)
		return;
	struct aml_topology *t = *topology;
	if (t->finished && t->ops->device_fini != NULL) {
		for (size_t i = 0; i < t->ndevices; i++)
			t->ops->device_fini(&t->devices[i]);
	}
	aml_rangeset_drain(t->maps, topology_release_map, t);
	aml_rangeset_fini(t->maps);
	free(t->maps);
	aml_topology_distances_fini(t);
	if (t->ops->fini != NULL)
		t->ops->fini(t->data);
	free(t->devices);
	free(t->subtypes);
	free(t);
	*topology = NULL;
}

/* ---- Queries ---- */

const char *aml_topology_source(const struct aml_topology *t)
{
	if (t == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	return t->source;
}

int aml_topology_is_this_system(const struct aml_topology *t)
{
	return t == NULL ? AML_EINVAL : t->this_system;
}

void *aml_topology_impl_data(const struct aml_topology *t,
                             const struct aml_topology_ops *ops)
{
	return t != NULL && t->ops == ops ? t->data : NULL;
}

int aml_topology_ndevices(const struct aml_topology *t)
{
	return t == NULL ? AML_EINVAL : (int)t->ndevices;
}

const struct aml_device *aml_topology_device(const struct aml_topology *t,
                                             size_t index)
{
	if (t == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	if (index >= t->ndevices) {
		aml_errno = AML_EDOM;
		return NULL;
	}
	return &t->devices[index];
}

const struct aml_device *
aml_topology_device_of_node(const struct aml_topology *t, int numa_id)
{
	if (t == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	if (numa_id < 0 || numa_id >= AML_BITMAP_MAX ||
	    t->device_of_node[numa_id] < 0) {
		aml_errno = AML_ENODEV;
		return NULL;
	}
	return &t->devices[t->device_of_node[numa_id]];
}

int aml_topology_index_of(const struct aml_topology *t,
                          const struct aml_device *device)
{
	if (t == NULL || device == NULL)
		return AML_EINVAL;
	/* Compare addresses as integers: relational operators on pointers
	 * into different objects are undefined. */
	uintptr_t first = (uintptr_t)t->devices;
	uintptr_t p = (uintptr_t)device;
	if (p < first || p >= first + t->ndevices * sizeof(*device) ||
	    (p - first) % sizeof(*device) != 0)
		return AML_ENODEV;
	return (int)((p - first) / sizeof(*device));
}

int aml_topology_by_kind(const struct aml_topology *t,
                         enum aml_device_kind kind,
                         const struct aml_device **out,
                         size_t max)
{
	if (t == NULL || (out == NULL && max > 0) || (int)kind < 0 ||
	    (int)kind >= AML_DEVICE_KIND_COUNT)
		return AML_EINVAL;
	size_t count = 0;
	for (size_t i = 0; i < t->ndevices; i++) {
		if (t->devices[i].kind != kind)
			continue;
		if (count < max)
			out[count] = &t->devices[i];
		count++;
	}
	return (int)count;
}

const struct aml_device *aml_topology_nearest(const struct aml_topology *t,
                                              int cpu)
{
	if (t == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	if (cpu == -1)
		cpu = sched_getcpu();
	if (cpu < 0 || cpu >= AML_BITMAP_MAX) {
		aml_errno = AML_EDOM;
		return NULL;
	}
	struct aml_bitmap initiator;
	aml_bitmap_zero(&initiator);
	aml_bitmap_set(&initiator, (size_t)cpu);

	/* The CPU's own node; should several nodes claim it, the quickest. */
	const struct aml_device *local = NULL;
	uint64_t local_key = 0;
	for (size_t i = 0; i < t->ndevices; i++) {
		const struct aml_device *dev = &t->devices[i];
		if (aml_bitmap_is_set(&dev->cpus, (size_t)cpu) != 1)
			continue;
		uint64_t key = aml_topology_rank_key(dev, AML_RANK_LATENCY,
		                                     &initiator);
		if (local == NULL || key > local_key) {
			local = dev;
			local_key = key;
		}
	}
	if (local != NULL)
		return local;
	return aml_topology_best(t, AML_RANK_LATENCY, &initiator);
}

int aml_topology_locate(const struct aml_topology *t,
                        const void *ptr,
                        size_t npages,
                        int *ids)
{
	size_t page = aml_page_size();
	if (t == NULL || ptr == NULL || npages == 0 || ids == NULL ||
	    (uintptr_t)ptr % page != 0 ||
	    npages > (UINTPTR_MAX - (uintptr_t)ptr) / page)
		return AML_EINVAL;
	if (t->ops->locate == NULL)
		return AML_ENOTSUP;
	int err = t->ops->locate(t, ptr, npages, ids);
	if (err != 0)
		return err;
	for (size_t i = 0; i < npages && !t->of_device; i++) {
		if (ids[i] < 0)
			continue;
		ids[i] = ids[i] < AML_BITMAP_MAX ? t->device_of_node[ids[i]]
		                                 : -1;
		if (ids[i] < 0)
			ids[i] = AML_ENODEV;
	}
	return 0;
}

const struct aml_copier *
aml_topology_copier(const struct aml_topology *topology)
{
	if (topology != NULL && topology->copier != NULL)
		return topology->copier;
	return &aml_copier_memcpy;
}
