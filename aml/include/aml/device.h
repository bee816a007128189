/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file device.h
 * One memory target: a DDR or HBM NUMA node, a CXL expander, a memkind kind.
 *
 * A struct aml_device describes the target (kind, capacity, bandwidth and
 * latency as seen from its initiators, NUMA node) and reserves memory on it
 * through page-granular ops. Devices are made by discovery (see
 * <aml/topology.h>), by a backend's bridge header (<aml/device/memkind.h>) or
 * by the emulator (<aml/emulator.h>); blocks above the device line only use
 * this header.
 *
 * Sizes are rounded up to whole pages (sysconf(_SC_PAGESIZE)); a size that
 * overflows when rounded is AML_EINVAL.
 */
#ifndef AML_DEVICE_H
#define AML_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/backend.h>
#include <aml/bitmap.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What kind of memory a device is. See docs/classification.md. */
enum aml_device_kind {
	/** Ordinary DDR memory. */
	AML_DEVICE_DRAM,
	/** High-bandwidth memory: KNL MCDRAM, HBM2e, ... */
	AML_DEVICE_HBM,
	/** CXL-attached memory (type-3 expanders). */
	AML_DEVICE_CXL,
	/** Non-volatile memory used as memory (DAX kmem, Optane). */
	AML_DEVICE_NVM,
	/** Number of kinds; not a kind. */
	AML_DEVICE_KIND_COUNT
};

/**
 * Name of a kind: "DRAM", "HBM", "CXL" or "NVM".
 * @return a static string; NULL with aml_errno = AML_EINVAL if out of range.
 */
const char *aml_device_kind_name(enum aml_device_kind kind);

/** Performance of a device seen from one initiator. 0 means unknown. */
struct aml_device_perf {
	/** Access bandwidth in bytes per second (the lower of read and write
	 * when only those are known). */
	uint64_t bandwidth;
	/** Read bandwidth in bytes per second. */
	uint64_t read_bandwidth;
	/** Write bandwidth in bytes per second. */
	uint64_t write_bandwidth;
	/** Idle access latency in nanoseconds (the higher of read and write
	 * when only those are known). */
	uint64_t latency_ns;
	/** Idle read latency in nanoseconds. */
	uint64_t read_latency_ns;
	/** Idle write latency in nanoseconds. */
	uint64_t write_latency_ns;
};

/** The CPUs that see a device with the given performance. */
struct aml_device_initiator {
	/** CPU OS indices of the initiator (a package, a cluster, a node). */
	struct aml_bitmap cpus;
	/** Performance of the device from those CPUs. */
	struct aml_device_perf perf;
};

/** Most initiators a device records (2 sockets x SNC4 is 8). Discovery
 * fits more into them without overstating a figure (docs/topology-xml.md):
 * initiators with equal figures share an entry, and past that the slowest
 * share the last one with their worst figures. */
#define AML_DEVICE_INITIATORS_MAX 16
/** Size of struct aml_device's name, NUL included. */
#define AML_DEVICE_NAME_MAX 32

struct aml_device;

/**
 * Operations of a device implementation. The generic aml_device_*()
 * functions check their arguments, round sizes to pages, then call these.
 */
struct aml_device_ops {
	/**
	 * Reserve @p size bytes whose pages will live on the device. Required.
	 * Called with dev != NULL and size > 0, a multiple of the page size.
	 * @return a page-aligned mapping, or NULL with aml_errno set.
	 */
	void *(*map)(const struct aml_device *dev, size_t size);
	/**
	 * Release [ptr, ptr + size), all of which map() returned. Required.
	 * Called with ptr page-aligned and size > 0, a multiple of the page
	 * size. Must return AML_EINVAL, and change nothing, for a range the
	 * device did not map; AML_ENOMEM, changing nothing, if a part cannot
	 * be released for lack of memory. Must be safe against map() on
	 * other threads, which may get the released addresses at once.
	 */
	int (*unmap)(const struct aml_device *dev, void *ptr, size_t size);
	/**
	 * Migrate the pages of [ptr, ptr + size) onto the device, and keep
	 * future faults there. Optional: NULL means AML_ENOTSUP. Same argument
	 * guarantees as unmap; the range may come from anywhere.
	 */
	int (*move)(const struct aml_device *dev, void *ptr, size_t size);
	/**
	 * Store the device's free bytes in *out. Optional: NULL means
	 * AML_ENOTSUP. Called with out != NULL.
	 */
	int (*free_bytes)(const struct aml_device *dev, size_t *out);
	/**
	 * What unmap can release. False (what a table that leaves the field
	 * out says): any page-aligned part of a mapping. True: only whole
	 * mappings, exactly as map() returned them (memkind frees whole
	 * allocations); then an aligned map of an area over the device,
	 * which over-maps and gives back the unaligned ends, is AML_ENOTSUP
	 * before anything is mapped.
	 */
	bool unmaps_whole_only;
};

/**
 * A memory target. Made by discovery or a backend, never by hand unless you
 * write a device implementation. All fields are read-only for users.
 */
struct aml_device {
	/** The implementation. */
	const struct aml_device_ops *ops;
	/** The implementation's state. */
	void *data;
	/** Short name: "node0", "memkind:hbw". */
	char name[AML_DEVICE_NAME_MAX];
	/** What the memory is (see docs/classification.md for the rule). */
	enum aml_device_kind kind;
	/** The backend that maps memory on it. */
	enum aml_backend backend;
	/** OS index of the NUMA node (what numactl and mbind use), or -1. */
	int numa_id;
	/** Total bytes, 0 when unknown. */
	size_t capacity;
	/** CPUs of the NUMA node itself; empty for CPU-less nodes. */
	struct aml_bitmap cpus;
	/** Number of valid entries in initiators. */
	size_t ninitiators;
	/** Performance per initiator, best (local) first. */
	struct aml_device_initiator initiators[AML_DEVICE_INITIATORS_MAX];
};

/**
 * Reserve @p size bytes (rounded up to pages) on @p dev.
 * Pages are placed on the device when first touched; nothing is touched here
 * (the emulator places them here). A NUMA node device refuses at once a size
 * larger than its capacity, as aml_topology_map() does under BIND.
 * @return the mapping, owned by the caller until aml_device_unmap(); NULL
 *         with aml_errno = AML_EINVAL (NULL device, size 0 or overflowing),
 *         AML_ENOMEM (no memory; more than the capacity of a NUMA node
 *         device; a full emulated device), AML_ENODEV (the device is not
 *         on this machine) or AML_ENOTSUP (the backend cannot map).
 * @note Thread-safe.
 */
void *aml_device_map(const struct aml_device *dev, size_t size);

/**
 * Release [ptr, ptr + size) (size rounded up to pages), which
 * aml_device_map() on @p dev returned; a page-aligned part of a mapping may be
 * released alone where the backend allows (numa does, memkind does not:
 * see unmaps_whole_only in struct aml_device_ops).
 * @return 0; AML_EINVAL for a NULL device or pointer, a pointer not
 *         page-aligned, a size of 0 or overflowing, or a range @p dev did not
 *         map; AML_ENOMEM when releasing part of a mapping needs memory the
 *         process lacks (to split the device's record of it, or the
 *         kernel's), or, on an emulated device, when the emulator cannot
 *         grow its list of one-page mappings kept for reuse
 *         (docs/emulator.md). On error nothing is released.
 * @note Thread-safe.
 */
int aml_device_unmap(const struct aml_device *dev, void *ptr, size_t size);

/**
 * Migrate the pages of [ptr, ptr + size) onto @p dev; later faults in the
 * range also go there. The range may come from anywhere in the process.
 * Pages move in address order until @p dev is full; those moved stay
 * moved (Linux's mbind(MPOL_MF_MOVE), which the emulator follows).
 * Huge pages move whole (docs/emulator.md, "Huge pages"); an end inside a
 * hugetlb page is refused.
 * @return 0; AML_EINVAL for bad arguments, a range that is not mapped, or
 *         one that starts or ends inside a hugetlb page (then nothing
 *         moves); AML_ENOMEM if the kernel lacks memory for
 *         the move itself; AML_ENODEV if the device is not on this
 *         machine; AML_ENOTSUP if the backend cannot move pages;
 *         AML_FAILURE if some pages could not be moved, as when @p dev
 *         is full (even if none could).
 */
int aml_device_move(const struct aml_device *dev, void *ptr, size_t size);

/**
 * Free bytes on @p dev now, as the backend sees them.
 * @param dev the device.
 * @param[out] out receives the count; untouched on error.
 * @return 0; AML_EINVAL for a NULL argument; AML_ENOTSUP if unknown.
 */
int aml_device_free_bytes(const struct aml_device *dev, size_t *out);

/**
 * Bytes a populating map leaves free on @p dev, for the kernel's own
 * needs (its watermarks, page tables): capacity / 64, and at least 4 MiB.
 * Linux's high watermark of a node is well under 1% of it (1.5 MiB of the
 * QEMU guest's 252 MiB nodes), so 1/64 is a wide margin. The rule that
 * uses it is aml_topology_map_populate()'s.
 * @return the margin in bytes; 0 for a NULL @p dev.
 */
size_t aml_device_populate_margin(const struct aml_device *dev);

/**
 * Whether @p dev has performance figures from @p initiator: one of its
 * recorded initiators shares a CPU with it. Linux lists only each memory
 * node's best initiators (sysfs access0/access1), so on a sub-NUMA-
 * clustered machine a cluster's CPUs have no figures for the other
 * clusters' nodes; aml_device_perf_from() then answers with the local
 * initiator's, which a placement policy must not take for its own.
 * aml_topology_rank() counts such a device's figures as unknown.
 * @param dev the device.
 * @param initiator CPU set; NULL for the calling thread's affinity.
 * @return 1 or 0; AML_EINVAL for a NULL @p dev; AML_FAILURE when the
 *         thread's affinity cannot be read.
 */
int aml_device_has_figures_from(const struct aml_device *dev,
                                const struct aml_bitmap *initiator);

/**
 * Performance of @p dev seen from @p initiator: the recorded initiator that
 * shares the most CPUs with it, or the best (local) one when none does.
 * @param dev the device.
 * @param initiator CPU set; NULL for the calling thread's affinity.
 * @return a pointer into @p dev, valid as long as it; NULL with aml_errno =
 *         AML_EINVAL if @p dev is NULL, AML_ENODEV if the device records no
 *         performance at all.
 */
const struct aml_device_perf *
aml_device_perf_from(const struct aml_device *dev,
                     const struct aml_bitmap *initiator);

/**
 * The page size aml rounds to (sysconf(_SC_PAGESIZE)).
 */
size_t aml_page_size(void);

#ifdef __cplusplus
}
#endif

#endif /* AML_DEVICE_H */
