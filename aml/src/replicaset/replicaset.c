/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replicasets (aml/replicaset.h): one read-only copy of a buffer per device.
 *
 * Init resolves the device set, builds the per-CPU table, then maps and
 * fills the replicas; it writes the caller's storage only once everything
 * has succeeded, and unwinds in reverse on any failure, so an error leaves
 * neither a mapping nor an allocation behind.
 *
 * The nearest replica of every CPU index (0 to AML_BITMAP_MAX - 1) is
 * computed once, at init, from the topology's own queries, and kept in a
 * table of replica indices: the read path (aml_replicaset_nearest) is then
 * sched_getcpu() plus one load, with nothing to lock, because the table
 * never changes after init. Computing 1024 entries costs a few ranking
 * passes over the devices each, which is small next to copying the data.
 *
 * Each replica maps through its own BIND area over its one device, so that
 * placement is the device's business (strict on the emulator and on NUMA
 * nodes) and the area's registry refuses to unmap anything else.
 */
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include <aml/area/device.h>
#include <aml/dma/seq.h>
#include <aml/error.h>
#include <aml/replicaset.h>

#include "aml/src/os.h"

/* How many asynchronous copies refresh keeps in flight: enough to feed
 * every worker of a parallel engine, small enough for the stack. */
#define REPLICASET_BATCH 16

struct replicaset_replica {
	AML_AREA_DEVICE_DECL(area);
	const struct aml_device *device;
	/* Page-aligned, state->mapped bytes, from area. */
	void *ptr;
};

struct aml_replicaset_state {
	/* Replica index nearest to each CPU OS index. */
	uint16_t nearest[AML_BITMAP_MAX];
	/* Bytes each replica maps: the source size rounded up to pages. */
	size_t mapped;
	size_t count;
	struct replicaset_replica replicas[];
};

_Static_assert(AML_BITMAP_MAX <= UINT16_MAX,
               "a replica index fits the per-CPU table");

static struct aml_replicaset_state *
replicaset_state(const struct aml_replicaset *rs)
{
	return rs != NULL ? rs->state : NULL;
}

/* ---- Device set ---- */

/* Topology indices of the explicit devices into *set; every check of the
 * device list, before anything is allocated. */
static int replicaset_check_devices(const struct aml_topology *t,
                                    const struct aml_device *const *devices,
                                    size_t ndevices,
                                    struct aml_bitmap *set)
{
	aml_bitmap_zero(set);
	for (size_t i = 0; i < ndevices; i++) {
		if (devices[i] == NULL)
			return AML_EINVAL;
		int index = aml_topology_index_of(t, devices[i]);
		if (index < 0 || aml_bitmap_is_set(set, (size_t)index) == 1)
			return AML_EINVAL; /* not in the topology, or twice */
		aml_bitmap_set(set, (size_t)index);
	}
	return 0;
}

/* One device per NUMA domain: the nearest device of each CPU some device
 * lists. CPUs no device lists are left out on purpose: the topology's
 * fallback for them (lowest latency) could name a CPU-less device that no
 * real CPU is local to. */
static int replicaset_default_devices(const struct aml_topology *t,
                                      struct aml_bitmap *set)
{
	struct aml_bitmap cpus;
	aml_bitmap_zero(&cpus);
	AML_TOPOLOGY_FOREACH (dev, t) {
		aml_bitmap_or(&cpus, &cpus, &dev->cpus);
	}
	aml_bitmap_zero(set);
	for (int cpu = aml_bitmap_first(&cpus); cpu >= 0;
	     cpu = aml_bitmap_next(&cpus, (size_t)cpu)) {
		const struct aml_device *dev = aml_topology_nearest(t, cpu);
		if (dev == NULL)
			return aml_errno;
		aml_bitmap_set(set, (size_t)aml_topology_index_of(t, dev));
	}
	if (aml_bitmap_count(set) == 0) {
		const struct aml_device *dev =
		        aml_topology_best(t, AML_RANK_LATENCY, NULL);
		if (dev == NULL)
			return aml_errno;
		aml_bitmap_set(set, (size_t)aml_topology_index_of(t, dev));
	}
	return 0;
}

/* ---- The nearest table ---- */

/* The replica of CPU @p cpu: on the topology's nearest device if that has
 * one, else on the first replica device by latency from the CPU. */
static int replicaset_nearest_of(const struct aml_topology *t,
                                 const uint16_t *replica_of,
                                 const struct aml_bitmap *set,
                                 const struct aml_device **ranked,
                                 size_t ndevices,
                                 int cpu)
{
	const struct aml_device *dev = aml_topology_nearest(t, cpu);
	if (dev == NULL)
		return aml_errno;
	int index = aml_topology_index_of(t, dev);
	if (aml_bitmap_is_set(set, (size_t)index) == 1)
		return replica_of[index];
	struct aml_bitmap initiator;
	aml_bitmap_zero(&initiator);
	aml_bitmap_set(&initiator, (size_t)cpu);
	int n = aml_topology_rank(t, AML_RANK_LATENCY, &initiator, ranked,
	                          ndevices);
	for (int i = 0; i < n; i++) {
		index = aml_topology_index_of(t, ranked[i]);
		if (aml_bitmap_is_set(set, (size_t)index) == 1)
			return replica_of[index];
	}
	return AML_FAILURE; /* the ranking covers every device */
}

static int replicaset_build_table(const struct aml_topology *t,
                                  struct aml_replicaset_state *st,
                                  const struct aml_bitmap *set)
{
	size_t ndevices = (size_t)aml_topology_ndevices(t);
	uint16_t replica_of[AML_BITMAP_MAX];
	for (size_t r = 0; r < st->count; r++) {
		int index = aml_topology_index_of(t, st->replicas[r].device);
		replica_of[index] = (uint16_t)r;
	}
	const struct aml_device **ranked = malloc(ndevices * sizeof(*ranked));
	if (ranked == NULL)
		return AML_ENOMEM;
	int err = 0;
	for (int cpu = 0; cpu < AML_BITMAP_MAX && err == 0; cpu++) {
		int r = replicaset_nearest_of(t, replica_of, set, ranked,
		                              ndevices, cpu);
		if (r < 0)
			err = r;
		else
			st->nearest[cpu] = (uint16_t)r;
	}
	free(ranked);
	return err;
}

/* ---- Mapping and copying ---- */

static void replicaset_unmap(struct aml_replicaset_state *st, size_t n)
{
	/* In reverse, as the unwind of a partial init. */
	while (n-- > 0) {
		struct replicaset_replica *r = &st->replicas[n];
		aml_area_munmap(&r->area.base, r->ptr, st->mapped);
		aml_area_device_fini(&r->area);
	}
}

static int replicaset_map_one(const struct aml_topology *t,
                              struct aml_replicaset_state *st,
                              struct replicaset_replica *r)
{
	int err = aml_area_device_init(&r->area, t, &r->device, 1,
	                               AML_AREA_BIND, NULL);
	if (err != 0)
		return err;
	/* BIND on a real node fails at fault time, not at map time: refuse
	 * a device that visibly has not the room before touching it. */
	size_t free_bytes;
	if (aml_device_free_bytes(r->device, &free_bytes) == 0 &&
	    free_bytes < st->mapped) {
		aml_area_device_fini(&r->area);
		return AML_ENOMEM;
	}
	r->ptr = aml_area_mmap(&r->area.base, st->mapped, NULL);
	if (r->ptr == NULL) {
		err = aml_errno;
		aml_area_device_fini(&r->area);
		return err;
	}
	return 0;
}

static int replicaset_map_all(const struct aml_topology *t,
                              struct aml_replicaset_state *st)
{
	for (size_t i = 0; i < st->count; i++) {
		int err = replicaset_map_one(t, st, &st->replicas[i]);
		if (err != 0) {
			replicaset_unmap(st, i);
			return err;
		}
	}
	return 0;
}

/* Copy the source into every replica through @p dma, REPLICASET_BATCH
 * copies in flight at a time. Every request submitted is waited for, even
 * after an error, so none outlives the call. */
static int replicaset_copy(const struct aml_replicaset_state *st,
                           struct aml_dma *dma,
                           const void *source,
                           size_t size)
{
	int first = 0;
	for (size_t done = 0; done < st->count && first == 0;) {
		struct aml_dma_request *requests[REPLICASET_BATCH];
		size_t n = 0;
		for (; n < REPLICASET_BATCH && done + n < st->count; n++) {
			int err = aml_dma_async_copy_bytes(
			        dma, &requests[n], st->replicas[done + n].ptr,
			        source, size);
			if (err != 0) {
				first = err;
				break;
			}
		}
		for (size_t i = 0; i < n; i++) {
			int err = aml_dma_wait(dma, &requests[i]);
			if (err != 0 && first == 0)
				first = err;
		}
		done += n;
	}
	return first;
}

/* Through a sequential engine of the topology when the caller gives no
 * engine, so an emulated topology charges the copies all the same. */
static int replicaset_copy_with(const struct aml_topology *t,
                                const struct aml_replicaset_state *st,
                                struct aml_dma *dma,
                                const void *source,
                                size_t size)
{
	if (dma != NULL)
		return replicaset_copy(st, dma, source, size);
	AML_DMA_SEQ_DECL(seq);
	int err = aml_dma_seq_init(&seq, t);
	if (err != 0)
		return err;
	err = replicaset_copy(st, &seq.base, source, size);
	aml_dma_seq_fini(&seq);
	return err;
}

/* ---- Lifecycle ---- */

/* The argument checks of init, and the device set. */
static int replicaset_check(const struct aml_topology *t,
                            const struct aml_device *const *devices,
                            size_t ndevices,
                            const void *source,
                            size_t size,
                            size_t *mapped,
                            struct aml_bitmap *set)
{
	if (t == NULL || source == NULL ||
	    aml_round_to_pages(size, mapped) != 0 ||
	    (devices == NULL) != (ndevices == 0))
		return AML_EINVAL;
	if (devices == NULL)
		return replicaset_default_devices(t, set);
	return replicaset_check_devices(t, devices, ndevices, set);
}

static struct aml_replicaset_state *
replicaset_state_new(const struct aml_topology *t,
                     const struct aml_device *const *devices,
                     const struct aml_bitmap *set,
                     size_t mapped)
{
	size_t count = (size_t)aml_bitmap_count(set);
	struct aml_replicaset_state *st = calloc(
	        1, sizeof(*st) + count * sizeof(struct replicaset_replica));
	if (st == NULL)
		return NULL;
	st->mapped = mapped;
	st->count = count;
	if (devices != NULL) {
		for (size_t i = 0; i < count; i++)
			st->replicas[i].device = devices[i];
		return st;
	}
	size_t i = 0;
	for (int index = aml_bitmap_first(set); index >= 0;
	     index = aml_bitmap_next(set, (size_t)index))
		st->replicas[i++].device =
		        aml_topology_device(t, (size_t)index);
	return st;
}

int aml_replicaset_init(struct aml_replicaset *rs,
                        const struct aml_topology *topology,
                        const struct aml_device *const *devices,
                        size_t ndevices,
                        const void *source,
                        size_t size)
{
	if (rs == NULL)
		return AML_EINVAL;
	size_t mapped;
	struct aml_bitmap set;
	int err = replicaset_check(topology, devices, ndevices, source, size,
	                           &mapped, &set);
	if (err != 0)
		return err;
	struct aml_replicaset_state *st =
	        replicaset_state_new(topology, devices, &set, mapped);
	if (st == NULL)
		return AML_ENOMEM;
	err = replicaset_build_table(topology, st, &set);
	if (err == 0)
		err = replicaset_map_all(topology, st);
	if (err != 0) {
		free(st);
		return err;
	}
	err = replicaset_copy_with(topology, st, NULL, source, size);
	if (err != 0) {
		replicaset_unmap(st, st->count);
		free(st);
		return err;
	}
	*rs = (struct aml_replicaset){
	        .topology = topology,
	        .source = source,
	        .size = size,
	        .count = st->count,
	        .state = st,
	};
	return 0;
}

void aml_replicaset_fini(struct aml_replicaset *rs)
{
	struct aml_replicaset_state *st = replicaset_state(rs);
	if (st == NULL)
		return;
	replicaset_unmap(st, st->count);
	free(st);
	rs->state = NULL;
	rs->count = 0;
}

int aml_replicaset_create(struct aml_replicaset **out,
                          const struct aml_topology *topology,
                          const struct aml_device *const *devices,
                          size_t ndevices,
                          const void *source,
                          size_t size)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_replicaset *rs = malloc(sizeof(*rs));
	if (rs == NULL)
		return AML_ENOMEM;
	int err = aml_replicaset_init(rs, topology, devices, ndevices, source,
	                              size);
	if (err != 0) {
		free(rs);
		return err;
	}
	*out = rs;
	return 0;
}

void aml_replicaset_destroy(struct aml_replicaset **rs)
{
	if (rs == NULL || *rs == NULL)
		return;
	aml_replicaset_fini(*rs);
	free(*rs);
	*rs = NULL;
}

/* ---- Queries ---- */

int aml_replicaset_count(const struct aml_replicaset *rs)
{
	if (replicaset_state(rs) == NULL)
		return AML_EINVAL;
	return (int)rs->count;
}

size_t aml_replicaset_size(const struct aml_replicaset *rs)
{
	if (replicaset_state(rs) == NULL) {
		aml_errno = AML_EINVAL;
		return 0;
	}
	return rs->size;
}

static const struct replicaset_replica *
replicaset_replica_at(const struct aml_replicaset *rs, size_t index)
{
	const struct aml_replicaset_state *st = replicaset_state(rs);
	if (st == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	if (index >= st->count) {
		aml_errno = AML_EDOM;
		return NULL;
	}
	return &st->replicas[index];
}

const void *aml_replicaset_replica(const struct aml_replicaset *rs,
                                   size_t index)
{
	const struct replicaset_replica *r = replicaset_replica_at(rs, index);
	return r != NULL ? r->ptr : NULL;
}

const struct aml_device *aml_replicaset_device(const struct aml_replicaset *rs,
                                               size_t index)
{
	const struct replicaset_replica *r = replicaset_replica_at(rs, index);
	return r != NULL ? r->device : NULL;
}

int aml_replicaset_nearest_index(const struct aml_replicaset *rs, int cpu)
{
	const struct aml_replicaset_state *st = replicaset_state(rs);
	if (st == NULL)
		return AML_EINVAL;
	if (cpu == -1) {
		cpu = sched_getcpu();
		if (cpu < 0)
			return AML_FAILURE;
	}
	if (cpu < 0 || cpu >= AML_BITMAP_MAX)
		return AML_EDOM;
	return st->nearest[cpu];
}

const void *aml_replicaset_nearest_to_cpu(const struct aml_replicaset *rs,
                                          int cpu)
{
	int index = aml_replicaset_nearest_index(rs, cpu);
	if (index < 0) {
		aml_errno = index;
		return NULL;
	}
	return replicaset_state(rs)->replicas[index].ptr;
}

const void *aml_replicaset_nearest(const struct aml_replicaset *rs)
{
	return aml_replicaset_nearest_to_cpu(rs, -1);
}

/* ---- Refresh ---- */

int aml_replicaset_refresh(struct aml_replicaset *rs, struct aml_dma *dma)
{
	const struct aml_replicaset_state *st = replicaset_state(rs);
	if (st == NULL)
		return AML_EINVAL;
	return replicaset_copy_with(rs->topology, st, dma, rs->source,
	                            rs->size);
}
