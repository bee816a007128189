/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file replicaset.h
 * Replicasets: read-only data copied once per device, each thread reading
 * the copy nearest to it.
 *
 * A replicaset maps one replica of a caller's source buffer on each of a set
 * of devices of a topology (one BIND area per device, aml/area/device.h),
 * copies the source into every replica, and answers "which replica should
 * this CPU read?" in O(1) from a table built once by init.
 *
 * Devices. Pass the devices to replicate on, or NULL and 0 for one replica
 * per NUMA domain: every device that aml_topology_nearest() names for at
 * least one CPU of the topology (the CPUs of its devices), i.e. in practice
 * every node with CPUs (if no device lists CPUs, the lowest-latency device
 * from the calling thread). On KNL flat mode or Xeon Max that is DDR only:
 * CPU-less HBM or CXL devices get a replica only when named, e.g. from
 * aml_topology_by_kind(AML_DEVICE_HBM).
 *
 * The nearest rule. For CPU c, the replica on aml_topology_nearest(c) (the
 * CPU's own node, or the lowest-latency device from it) when there is one;
 * else the first replica device in aml_topology_rank(AML_RANK_LATENCY)
 * seen from c (lowest latency first, unknown latency last, ties to the
 * larger capacity, then the lower NUMA id). It is the topology's nearest,
 * restricted to the replica devices.
 *
 * Contract. The replicas are read-only: the functions return const
 * pointers, and writing through them is undefined (a later refresh
 * overwrites the writes, and other threads read other replicas). The
 * caller owns the source, must keep it valid (at least @p size bytes) until
 * the replicaset is finalised, and changes it only while no refresh runs;
 * aml never writes it. A replica holds the source as of the last init or
 * refresh, followed by zeros up to the page boundary.
 *
 * There is one implementation, so a replicaset is a plain typed object
 * rather than an {ops, data} handle: a generic layer would only add an
 * indirection to the read path.
 *
 * Thread-safety: the queries (count, size, replica, device, nearest) may be
 * called from any number of threads at once. aml_replicaset_refresh()
 * writes every replica: no thread may read them, nor refresh, while it
 * runs. Init and fini are not thread-safe with respect to other calls on
 * the same replicaset.
 *
 * Usage:
 * @code
 * AML_REPLICASET_DECL(table);
 * aml_replicaset_init(&table, topology, NULL, 0, src, size);
 * // in each thread:
 * const double *mine = aml_replicaset_nearest(&table);
 * // after src changed, with no reader running:
 * aml_replicaset_refresh(&table, NULL);
 * aml_replicaset_fini(&table);
 * @endcode
 */
#ifndef AML_REPLICASET_H
#define AML_REPLICASET_H

#include <stddef.h>

#include <aml/device.h>
#include <aml/dma.h>
#include <aml/topology.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Storage for one replicaset. Pass its address to aml_replicaset_*(). */
struct aml_replicaset {
	/** @privatesection */
	/* Private: use the aml_replicaset_*() functions. */
	/** The topology the replica devices belong to. */
	const struct aml_topology *topology;
	/** The caller's buffer, never written by aml. */
	const void *source;
	/** Bytes of the source copied into each replica. */
	size_t size;
	/** Number of replicas, at least 1 once initialised. */
	size_t count;
	/** Areas, replicas and the per-CPU table, allocated by init; NULL
	 * once finalised. */
	struct aml_replicaset_state *state;
};

/** Declare storage for a replicaset (see aml_replicaset_init()). */
#define AML_REPLICASET_DECL(name) struct aml_replicaset name

/**
 * Map one replica of [@p source, @p source + @p size) on each device and
 * copy the source into it, in the calling thread (as refresh with a NULL
 * engine).
 * @param rs storage to initialise; untouched on error.
 * @param topology the topology the devices belong to; must outlive the
 *        replicaset.
 * @param devices @p ndevices distinct devices of @p topology, one replica
 *        each, in this order (replica i is on devices[i]); NULL with
 *        @p ndevices 0 for one replica per NUMA domain (see the file
 *        comment). The array is copied; the devices belong to the topology.
 * @param ndevices number of entries in @p devices; 0 with NULL @p devices.
 * @param source the data to replicate, owned by the caller (see the file
 *        comment for how long it must live).
 * @param size bytes to replicate; each replica maps it rounded up to pages.
 * @return 0; AML_EINVAL for a NULL @p rs, @p topology or @p source, a size
 *         of 0 or one that overflows when rounded to pages, an empty device
 *         set (non-NULL @p devices with @p ndevices 0, or NULL @p devices
 *         with @p ndevices > 0), a NULL device, a device given twice or not
 *         in @p topology; AML_ENOMEM when a device has not the room for a
 *         replica (fewer free bytes than the rounded size, or its map
 *         fails for lack of memory) or memory for the bookkeeping is
 *         lacking; AML_ENODEV or AML_ENOTSUP when a device cannot map.
 *         On every error, replicas already mapped are unmapped again and
 *         nothing is left allocated.
 * @note The free-bytes check is exact on the emulator. On a real machine
 *       it is a snapshot: memory taken by others between the check and the
 *       copy can still make the kernel fail the copy's page faults.
 */
int aml_replicaset_init(struct aml_replicaset *rs,
                        const struct aml_topology *topology,
                        const struct aml_device *const *devices,
                        size_t ndevices,
                        const void *source,
                        size_t size);

/**
 * Unmap every replica and free what init allocated. The source is left
 * alone. Pointers to replicas become invalid. NULL and an already
 * finalised replicaset are no-ops.
 */
void aml_replicaset_fini(struct aml_replicaset *rs);

/**
 * aml_replicaset_init() into one allocation.
 * @param[out] out receives the replicaset, owned by the caller until
 *             aml_replicaset_destroy(); NULL on error.
 * @param topology,devices,ndevices,source,size as for
 *        aml_replicaset_init().
 * @return as aml_replicaset_init(); AML_EINVAL if @p out is NULL.
 */
int aml_replicaset_create(struct aml_replicaset **out,
                          const struct aml_topology *topology,
                          const struct aml_device *const *devices,
                          size_t ndevices,
                          const void *source,
                          size_t size);

/**
 * Finalise and free a replicaset from aml_replicaset_create(), and set
 * *@p rs to NULL. NULL and a pointer to NULL are no-ops.
 */
void aml_replicaset_destroy(struct aml_replicaset **rs);

/**
 * Number of replicas.
 * @return the count (at least 1); AML_EINVAL for a NULL or finalised
 *         replicaset.
 */
int aml_replicaset_count(const struct aml_replicaset *rs);

/**
 * Bytes of the source each replica holds (the size given to init).
 * @return the size; 0 with aml_errno = AML_EINVAL for a NULL or finalised
 *         replicaset.
 */
size_t aml_replicaset_size(const struct aml_replicaset *rs);

/**
 * Replica number @p index, on aml_replicaset_device(@p rs, @p index).
 * @return a page-aligned read-only pointer, owned by the replicaset and
 *         valid until fini; NULL with aml_errno = AML_EINVAL (NULL or
 *         finalised replicaset) or AML_EDOM (index past the last replica).
 */
const void *aml_replicaset_replica(const struct aml_replicaset *rs,
                                   size_t index);

/**
 * The device replica number @p index lives on.
 * @return the device, owned by the topology; NULL with aml_errno as
 *         aml_replicaset_replica().
 */
const struct aml_device *aml_replicaset_device(const struct aml_replicaset *rs,
                                               size_t index);

/**
 * Index of the replica nearest to CPU @p cpu, by the rule of the file
 * comment. O(1), no allocation, no system call for @p cpu >= 0.
 * @param rs the replicaset.
 * @param cpu a CPU OS index below AML_BITMAP_MAX, or -1 for the CPU the
 *        calling thread runs on now (sched_getcpu()).
 * @return the index; AML_EINVAL for a NULL or finalised replicaset;
 *         AML_EDOM for a CPU (given, or the calling thread's) below -1 or
 *         at or past AML_BITMAP_MAX; AML_FAILURE if sched_getcpu() fails.
 */
int aml_replicaset_nearest_index(const struct aml_replicaset *rs, int cpu);

/**
 * The replica nearest to CPU @p cpu (-1: the calling thread's CPU now).
 * @return a read-only pointer, as aml_replicaset_replica(); NULL with
 *         aml_errno as aml_replicaset_nearest_index().
 */
const void *aml_replicaset_nearest_to_cpu(const struct aml_replicaset *rs,
                                          int cpu);

/**
 * The replica nearest to the CPU the calling thread runs on now. A thread
 * the scheduler moves later still reads correct data, only from farther
 * away: pin threads for placement to hold.
 * @return as aml_replicaset_nearest_to_cpu(@p rs, -1).
 */
const void *aml_replicaset_nearest(const struct aml_replicaset *rs);

/**
 * Copy the source into every replica again, after it changed.
 * @param rs the replicaset.
 * @param dma the engine to copy with: every replica's copy is submitted
 *        asynchronously, then all are waited for, so an engine with
 *        workers (aml/dma/par.h) fills the replicas in parallel. NULL
 *        copies in the calling thread through a sequential engine of the
 *        replicaset's topology (aml/dma/seq.h), so that on an emulated
 *        topology the copies are charged to its cost model either way.
 * @return 0; AML_EINVAL for a NULL or finalised replicaset; else the first
 *         error of the engine (AML_ENOMEM, or AML_EINVAL if the source
 *         overlaps a replica). Every copy submitted is waited for before
 *         returning, so that no copy is still running; on error some
 *         replicas may hold the new data and others the old.
 * @note Not thread-safe with readers of the replicas (see the file
 *       comment).
 */
int aml_replicaset_refresh(struct aml_replicaset *rs, struct aml_dma *dma);

#ifdef __cplusplus
}
#endif

#endif /* AML_REPLICASET_H */
