/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file topology.h
 * The memory devices a process may use, and the queries placement code needs.
 *
 * A topology is a list of devices, one per NUMA node, each with its CPUs, its
 * kind, its capacity and its performance per initiator. It is discovered from
 * the machine (hwloc when built, else libnuma and sysfs), read from an hwloc
 * XML file, or emulated (aml/emulator.h). Code written against
 * aml_topology_default() never knows which.
 *
 * Devices are identified by their index in the topology, 0 to
 * aml_topology_ndevices() - 1, in increasing NUMA OS index.
 *
 * A topology is immutable once made: every query is thread-safe.
 */
#ifndef AML_TOPOLOGY_H
#define AML_TOPOLOGY_H

#include <stddef.h>

#include <aml/bitmap.h>
#include <aml/copier.h>
#include <aml/device.h>

#ifdef __cplusplus
extern "C" {
#endif

struct aml_topology;

/** Orders for aml_topology_rank(). */
enum aml_topology_rank {
	/** Highest access bandwidth first; unknown bandwidth last. */
	AML_RANK_BANDWIDTH,
	/** Lowest access latency first; unknown latency last. */
	AML_RANK_LATENCY,
	/** Largest capacity first. */
	AML_RANK_CAPACITY,
};

/**
 * Discover this machine's memory devices: hwloc when that backend is built,
 * else libnuma and /sys/devices/system/node.
 * @param[out] out receives the topology, owned by the caller; NULL on error.
 * @return 0; AML_EINVAL if @p out is NULL; AML_ENOMEM; AML_ENODEV if no
 *         NUMA node is found; AML_FAILURE if discovery failed.
 */
int aml_topology_discover(struct aml_topology **out);

/** Largest hwloc XML text aml reads, in bytes (16 MiB: a 1024-CPU machine
 * with every cache level and hundreds of PCI devices writes about 3 MiB). */
#define AML_TOPOLOGY_XML_MAX ((size_t)16 << 20)

/** Where and why an hwloc XML topology was refused. */
struct aml_topology_xml_error {
	/** Line of the text, from 1; 0 when the reason is about the whole
	 * text (unreadable, too large, no NUMA node, ...). */
	size_t line;
	/** The reason, in words: one printable line, where any byte of the
	 * text other than printable ASCII (and the backslash) shows as
	 * `\\xNN`. */
	char reason[128];
};

/**
 * Read a topology from an hwloc XML file: aml_topology_load_xml_file()
 * without the reason for a refusal.
 * @param[out] out receives the topology, owned by the caller; NULL on error.
 * @param path the file.
 * @return as aml_topology_load_xml_file().
 * @note Thread-safe.
 */
int aml_topology_load_xml(struct aml_topology **out, const char *path);

/**
 * Read a topology from an hwloc 2 XML file (as written by `lstopo --of xml`).
 * Its devices keep the file's NUMA OS indices; mapping memory on them works
 * only where this machine has those nodes (AML_ENODEV otherwise).
 *
 * aml checks the whole text before hwloc sees any of it (docs/topology-xml.md
 * lists the rules): well-formed XML of the subset hwloc writes, then the
 * objects, sets and memory attributes hwloc relies on, within aml's limits
 * (1024 CPUs and NUMA nodes, AML_TOPOLOGY_XML_MAX bytes). hwloc then loads
 * a canonical copy of what aml checked and needs, so that no file makes it
 * crash or stall. The work is bounded by the size of the text.
 *
 * A node with more initiators than AML_DEVICE_INITIATORS_MAX keeps them
 * all when they have at most that many distinct figures (initiators with
 * the same figures share an entry); past that, the best ones are kept and
 * the others share the last entry with the worst of their figures.
 * @param[out] out receives the topology, owned by the caller; NULL on error.
 * @param path the file: regular, a pipe or a device; read once.
 * @param[out] error where and why the file was refused (cleared first);
 *             may be NULL.
 * @return 0; AML_EINVAL if an argument is NULL or the file cannot be read,
 *         is empty or larger than AML_TOPOLOGY_XML_MAX, or is refused
 *         (@p error says where and why); AML_ENOMEM when memory, or a file
 *         descriptor to open the file, runs out (a later call may
 *         succeed); AML_ENOTSUP if the hwloc backend is not built.
 * @note Thread-safe.
 */
int aml_topology_load_xml_file(struct aml_topology **out,
                               const char *path,
                               struct aml_topology_xml_error *error);

/**
 * aml_topology_load_xml_file() on text in memory.
 * @param[out] out receives the topology, owned by the caller; NULL on error.
 * @param xml the text, not necessarily NUL-terminated; a NUL byte in it is
 *            refused.
 * @param size its length in bytes.
 * @param[out] error where and why the text was refused; may be NULL.
 * @return as aml_topology_load_xml_file(). The topology's source is
 *         "hwloc XML buffer".
 * @note Thread-safe.
 */
int aml_topology_load_xml_buffer(struct aml_topology **out,
                                 const char *xml,
                                 size_t size,
                                 struct aml_topology_xml_error *error);

/**
 * Release a topology from aml_topology_discover() or _load_xml(), and every
 * mapping still live on its devices. Sets *topology to NULL; NULL and a
 * pointer to NULL are no-ops. Never pass aml_topology_default().
 */
void aml_topology_destroy(struct aml_topology **topology);

/**
 * A topology of one device that no discovery makes: a memkind kind
 * (<aml/device/memkind.h>), or a device you wrote. With it, such a device
 * is placed like a NUMA node: aml_topology_map() and the device areas of
 * <aml/area/device.h> work on it (an area given no topology makes one).
 *
 * Its device, aml_topology_device(t, 0), is a copy of @p device (the same
 * ops, data and name), and every map goes through @p device's ops:
 * - aml_topology_map() takes AML_POLICY_BIND only (AML_ENOTSUP for every
 *   other: there is one device), under the capacity rule; a populating map
 *   needs the device's free_bytes op (AML_ENOTSUP without);
 * - where the device releases whole maps only (unmaps_whole_only, as
 *   memkind), an aligned map is AML_ENOTSUP and an unmap must give a whole
 *   map (AML_EINVAL otherwise), with nothing mapped or released;
 * - aml_topology_locate() reports 0 for a touched page this topology
 *   mapped, AML_ENODEV for a page not touched or not mapped by it, and
 *   AML_EINVAL for an address not mapped at all.
 * aml_topology_destroy() forgets the maps still live and leaves them
 * mapped: they are @p device's, released by aml_device_unmap() on
 * @p device.
 * @param[out] out receives the topology; NULL on error.
 * @param device the device; it must outlive the topology and its maps.
 * @return 0; AML_EINVAL for a NULL argument or a device without map and
 *         unmap ops; AML_ENOMEM.
 * @note Thread-safe, as every topology.
 */
int aml_topology_of_device(struct aml_topology **out,
                           const struct aml_device *device);

/**
 * The process's topology: the emulated machine AML_EMULATE names if set
 * (<aml/emulator.h>), else the file named by AML_TOPOLOGY_XML if set, else
 * this machine. Made by the first call that succeeds, thread-safely, and
 * kept until exit. A failure that may pass (AML_ENOMEM, AML_FAILURE) is
 * tried again by the next call; one the environment or the machine decides
 * (AML_EINVAL, AML_ENODEV, AML_ENOTSUP) stays the answer. A refused
 * AML_EMULATE or AML_TOPOLOGY_XML prints where and why on stderr, once.
 * @return the topology, owned by aml; NULL with aml_errno set as by
 *         aml_emu_create(), aml_topology_discover() or
 *         aml_topology_load_xml().
 * @note Thread-safe, and safe across fork(): no lock is held while the
 *       topology is made, so the child of a fork() made meanwhile by
 *       another thread makes its own on its first call (threads that ask
 *       at once may each make one; all get the first one made).
 */
const struct aml_topology *aml_topology_default(void);

/**
 * Where the topology came from: "hwloc", "libnuma", "hwloc XML <path>".
 * @return a string owned by the topology; NULL with aml_errno = AML_EINVAL.
 */
const char *aml_topology_source(const struct aml_topology *topology);

/**
 * Does the topology describe the machine this process runs on? False for an
 * XML file of another machine (hwloc decides; HWLOC_THISSYSTEM=1 says yes).
 * Devices of a foreign topology describe nodes: their free bytes and maps
 * concern this machine's nodes of the same OS index, if any.
 * @return 1 or 0; AML_EINVAL if @p topology is NULL.
 */
int aml_topology_is_this_system(const struct aml_topology *topology);

/**
 * Number of devices.
 * @return the count (at least 1), or AML_EINVAL if @p topology is NULL.
 */
int aml_topology_ndevices(const struct aml_topology *topology);

/**
 * Device number @p index.
 * @return the device, owned by the topology; NULL with aml_errno =
 *         AML_EINVAL (NULL topology) or AML_EDOM (index out of range).
 */
const struct aml_device *
aml_topology_device(const struct aml_topology *topology, size_t index);

/**
 * The device of NUMA node @p numa_id (an OS index, as numactl shows).
 * @return the device; NULL with aml_errno = AML_EINVAL (NULL topology) or
 *         AML_ENODEV (no such node).
 */
const struct aml_device *
aml_topology_device_of_node(const struct aml_topology *topology, int numa_id);

/**
 * Index of @p device in @p topology.
 * @return the index; AML_EINVAL for NULL arguments; AML_ENODEV if the device
 *         is not one of the topology's.
 */
int aml_topology_index_of(const struct aml_topology *topology,
                          const struct aml_device *device);

/** Loop over the devices of a topology, with @p dev a pointer declared by
 * the macro. */
#define AML_TOPOLOGY_FOREACH(dev, topology)                                    \
	for (const struct aml_device *dev = aml_topology_device(topology, 0);  \
	     dev != NULL;                                                      \
	     dev = aml_topology_device(                                        \
	             topology,                                                 \
	             (size_t)aml_topology_index_of(topology, dev) + 1))

/**
 * Devices in the order @p by, as seen from @p initiator. Ties go to the
 * larger capacity, then to the lower NUMA OS index. A device with no
 * figures from @p initiator (aml_device_has_figures_from(): Linux lists
 * only each node's best initiators) ranks with the unknown ones, last.
 *
 * A topology never changes once made, so each thread keeps its last few
 * answers (in memory of 8 bytes a device of the largest topology it has
 * ranked) and answers a question it has asked before with a copy: tens of
 * nanoseconds, where computing one takes work in devices x recorded
 * initiators (microseconds on a 16-node machine). With @p initiator
 * NULL, the thread's affinity is read once (a system call) and read again
 * whenever the thread is found running on a CPU outside it; a thread that
 * narrows its affinity to CPUs it already had, after asking with NULL,
 * keeps the answer for its wider set: pass the new set explicitly then.
 * @param topology the topology.
 * @param by the order.
 * @param initiator CPU set; NULL for the calling thread's affinity.
 * @param[out] out receives up to @p max device pointers.
 * @param max entries available in @p out.
 * @return the number written (min(@p max, device count)); AML_EINVAL for a
 *         NULL topology, a NULL @p out with @p max > 0, or an unknown @p by.
 * @note Thread-safe; answers kept by one thread are its own.
 */
int aml_topology_rank(const struct aml_topology *topology,
                      enum aml_topology_rank by,
                      const struct aml_bitmap *initiator,
                      const struct aml_device **out,
                      size_t max);

/**
 * The first device of aml_topology_rank().
 * @return the device; NULL with aml_errno = AML_EINVAL for bad arguments.
 */
const struct aml_device *aml_topology_best(const struct aml_topology *topology,
                                           enum aml_topology_rank by,
                                           const struct aml_bitmap *initiator);

/**
 * Devices of one kind, in topology order.
 * @param topology the topology.
 * @param kind the kind wanted.
 * @param[out] out receives up to @p max device pointers.
 * @param max entries available in @p out.
 * @return how many devices have that kind (may exceed @p max: only @p max are
 *         written); AML_EINVAL for a NULL topology, a NULL @p out with
 *         @p max > 0, or an unknown kind.
 */
int aml_topology_by_kind(const struct aml_topology *topology,
                         enum aml_device_kind kind,
                         const struct aml_device **out,
                         size_t max);

/**
 * The device nearest to CPU @p cpu: its own NUMA node when it has one, else
 * the lowest latency from it.
 * @param topology the topology.
 * @param cpu a CPU OS index, or -1 for the CPU the calling thread runs on.
 * @return the device; NULL with aml_errno = AML_EINVAL (NULL topology) or
 *         AML_EDOM (cpu out of range).
 */
const struct aml_device *
aml_topology_nearest(const struct aml_topology *topology, int cpu);

/**
 * The distance from device @p from to device @p to, as `numactl -H` prints
 * it under "node distances": Linux's node_distance(), from the firmware's
 * ACPI SLIT. It is relative, not a time: 10 from a node to itself, and 20
 * for "remote" when the firmware gives no table. It need not be symmetric.
 *
 * Where it comes from: on this machine, hwloc's "NUMALatency" matrix, else
 * /sys/devices/system/node/nodeN/distance (hwloc gives none for a single
 * node), or libnuma's numa_distance() without hwloc; in an hwloc XML file,
 * its NUMALatency matrix (a `<distances2 type="NUMANode">` of kind
 * from-OS and latency, docs/topology-xml.md); on an emulated machine, the
 * spec's `distances:` matrix, or without one what Linux reports for a
 * machine without a SLIT (10 to itself, 20 elsewhere), which the emulator
 * places pages by.
 * @param topology the topology.
 * @param from a device index, 0 to aml_topology_ndevices() - 1.
 * @param to a device index.
 * @param[out] out receives the distance (never 0); untouched on error.
 * @return 0; AML_EINVAL if @p topology or @p out is NULL; AML_EDOM if an
 *         index is past the last device; AML_ENOTSUP if the source gives
 *         no distance for this pair (an XML file without a NUMALatency
 *         matrix or with one that leaves out a node, a device no discovery
 *         makes, a kernel that does not tell).
 * @note Thread-safe; O(1), no system call: the distances are read when
 *       the topology is made.
 */
int aml_topology_distance(const struct aml_topology *topology,
                          size_t from,
                          size_t to,
                          unsigned *out);

/** How pages of a mapping over several devices are placed. */
enum aml_policy {
	/** Only on the given devices. A map larger than their total
	 * capacity is AML_ENOMEM at once; past their free memory, Linux
	 * fails at fault (the OOM killer) unless the map populates
	 * (aml_topology_map_populate()). */
	AML_POLICY_BIND,
	/** On the one given device while it has room, else anywhere. */
	AML_POLICY_PREFERRED,
	/** On the given devices while they have room, else anywhere (Linux
	 * 5.15+ MPOL_PREFERRED_MANY; AML_ENOTSUP on older kernels). */
	AML_POLICY_PREFERRED_MANY,
	/** Page by page round-robin over the given devices, in index order:
	 * consecutive pages on consecutive devices. The address picks the
	 * phase, on Linux 6.1 and on the emulator alike: the page with
	 * virtual page number v is on the ((unsigned int)v mod n)-th
	 * device, so the first page of a mapping may be on any of them. */
	AML_POLICY_INTERLEAVE,
	/** On the device of the CPU that first touches each page (Linux's
	 * default, MPOL_LOCAL); takes no devices (NULL or an empty set). */
	AML_POLICY_LOCAL,
	/** Runs of weights[i] pages on the i-th device, in an order given
	 * with the weights: each run bound to its device (BIND), so a share
	 * past a device's capacity is AML_ENOMEM at once. Needs weights, so
	 * only an area takes it (aml/area/device.h); aml_topology_map()
	 * says AML_EINVAL. */
	AML_POLICY_WEIGHTED_INTERLEAVE,
	/** Number of policies; not a policy. */
	AML_POLICY_COUNT
};

/**
 * Reserve @p size bytes (rounded up to pages) whose pages are placed over the
 * devices of @p topology with indices in @p devices, under @p policy. The
 * policy covers exactly those devices: never more (a set is not widened to
 * every node), never fewer.
 *
 * Under AML_POLICY_BIND, a @p size larger than the total capacity of the
 * devices (their capacity field; a device of unknown capacity, 0, lifts
 * the check) is AML_ENOMEM at once, with nothing mapped: a check that
 * costs no system call. Within capacity Linux places pages when first
 * touched, and a BIND mapping touched past the devices' free memory calls
 * the kernel's OOM killer; aml_topology_map_populate() fails cleanly
 * instead. The emulator does the same: it places each page at its first
 * touch, and stops the program where the kernel would call the OOM
 * killer (aml/emulator.h).
 * @return the mapping, owned by the caller and released with
 *         aml_topology_unmap(); NULL with aml_errno = AML_EINVAL (NULL
 *         argument, empty set but for AML_POLICY_LOCAL, a set given to
 *         AML_POLICY_LOCAL, size 0 or overflowing, unknown policy,
 *         PREFERRED with more than one device, WEIGHTED_INTERLEAVE, which
 *         needs weights: use an area), AML_EDOM (an index past the
 *         last device), AML_ENODEV (a device that is not a NUMA node of
 *         this machine), AML_ENOTSUP (the kernel lacks the policy) or
 *         AML_ENOMEM (BIND past capacity; no memory for the mapping).
 * @note Thread-safe.
 */
void *aml_topology_map(const struct aml_topology *topology,
                       const struct aml_bitmap *devices,
                       enum aml_policy policy,
                       size_t size);

/**
 * aml_topology_map(), then give every page its memory now, so that using
 * the mapping never faults and never calls the OOM killer.
 *
 * The rule, checked before anything is mapped: the devices the pages may
 * go to must have @p size bytes free beyond their margins together,
 *   sum(free_bytes(d)) >= size + sum(aml_device_populate_margin(d)),
 * over the devices of @p devices for AML_POLICY_BIND, and over every
 * device of the topology for the policies that may spill (PREFERRED,
 * PREFERRED_MANY, INTERLEAVE, LOCAL). Free bytes are
 * aml_device_free_bytes(): numa_node_size64() on Linux (about 13 us a
 * device), the emulator's count. Then, on Linux, the pages are faulted in
 * order with madvise(MADV_POPULATE_WRITE) (Linux 5.14+; by touching each
 * page on older kernels); a population the kernel still refuses is
 * AML_ENOMEM, with nothing left mapped. The emulator places every page
 * now too, in order, without a fault a page, after the same rule, so the
 * same requests get the same answers on both.
 * @return as aml_topology_map(); also AML_ENOMEM when the rule fails or
 *         the kernel refuses a page, and AML_ENOTSUP when a device cannot
 *         tell its free bytes.
 * @note Thread-safe; a map and its population are not atomic with respect
 *       to other threads' allocations on the same devices.
 */
void *aml_topology_map_populate(const struct aml_topology *topology,
                                const struct aml_bitmap *devices,
                                enum aml_policy policy,
                                size_t size);

/**
 * Release [ptr, ptr + size) (size rounded up to pages), all or a
 * page-aligned part of what aml_topology_map() returned.
 * @return 0; AML_EINVAL for NULL arguments, an unaligned pointer, a size of 0
 *         or overflowing, or a range aml_topology_map() did not map (an
 *         area's mapping is unmapped through its area); AML_ENOMEM
 *         when releasing part of a mapping needs memory the process lacks
 *         (to split the topology's record of it, or the kernel's). On error
 *         nothing is released.
 * @note Thread-safe: the range is released and forgotten in one step, so a
 *       map on another thread that gets the same addresses back succeeds.
 */
int aml_topology_unmap(const struct aml_topology *topology,
                       void *ptr,
                       size_t size);

/**
 * Which device holds each of the @p npages pages from @p ptr.
 * @param topology the topology whose device indices to report.
 * @param ptr page-aligned start.
 * @param npages number of pages, at least 1.
 * @param[out] ids receives, per page, the index of the device that holds it,
 *             AML_ENODEV for a page not yet touched (or on a node outside
 *             the topology), or AML_EINVAL for an address that is not
 *             mapped. A page only read, never written, is backed by the
 *             kernel's shared zero page: AML_ENODEV on Linux 6.1, but
 *             recent kernels (6.18) report the zero page's node for it.
 * @return 0; AML_EINVAL for NULL arguments, an unaligned @p ptr or
 *         @p npages 0; AML_ENOTSUP if the topology cannot locate pages;
 *         AML_ENOMEM if the kernel lacks the memory to answer
 *         (move_pages(2)), AML_FAILURE if it refuses otherwise.
 */
int aml_topology_locate(const struct aml_topology *topology,
                        const void *ptr,
                        size_t npages,
                        int *ids);

/** What aml has mapped on a topology (aml_topology_usage()). */
struct aml_topology_usage {
	/** Bytes of the live maps: aml_topology_map()'s and those of the
	 * areas and arenas over the topology. */
	size_t mapped_bytes;
	/** Most bytes mapped at once since the topology was made. */
	size_t peak_mapped_bytes;
	/** Live maps (a partial unmap may split one in two). */
	size_t mappings;
	/** Bytes of the live maps whose pages are not placed: never
	 * touched yet, or on memory outside the topology. */
	size_t unplaced_bytes;
};

/** What aml's live maps hold on one device (aml_topology_usage()). */
struct aml_device_usage {
	/** Bytes of pages on the device now. */
	size_t resident_bytes;
	/** Live maps with at least one page on the device. */
	size_t mappings;
	/** Bytes of the live maps bound to this device alone (BIND to it):
	 * mapped there whether touched or not, counted as maps come and go.
	 * Maps over several devices, or that may spill, count on none. */
	size_t bound_bytes;
	/** Most bound_bytes at once since the topology was made. */
	size_t peak_bound_bytes;
};

/**
 * What the live maps of @p topology hold, in all and on each device: the
 * per-device statistics memkind and numastat users read, for aml's own
 * memory only (numa_maps counts the whole process). The totals are
 * counted as maps come and go; the pages of each map are located on
 * request (aml_topology_locate(), a move_pages(2) query per 1024 pages on
 * Linux), so the call costs time in the bytes mapped, and none is spent
 * on the maps themselves.
 * @param topology the topology.
 * @param[out] total receives the totals.
 * @param[out] devices NULL, or receives @p ndevices entries, one per
 *             device index from 0.
 * @param ndevices entries in @p devices: 0 (totals only, no page
 *        located; unplaced_bytes is then 0), or at most
 *        aml_topology_ndevices().
 * @return 0; AML_EINVAL for a NULL @p topology or @p total, @p devices
 *         NULL with @p ndevices > 0, or @p ndevices past the last device;
 *         AML_ENOTSUP if the topology cannot locate pages, AML_ENOMEM:
 *         then the totals and the bound figures are filled, the located
 *         ones (resident_bytes, mappings, unplaced_bytes) zeroed.
 * @note Thread-safe. A snapshot: maps made or unmapped meanwhile by other
 *       threads may be counted or not, and their pages as unplaced.
 */
int aml_topology_usage(const struct aml_topology *topology,
                       struct aml_topology_usage *total,
                       struct aml_device_usage *devices,
                       size_t ndevices);

/**
 * What copies between the memory of @p topology go through: the copier a
 * dma engine made with this topology uses (aml/copier.h). An emulated
 * topology's charges each copy to the emulator's cost model and models
 * time; every other topology's is aml_copier_memcpy.
 * @param topology the topology, or NULL for this machine.
 * @return the copier, owned by the topology (valid until it is destroyed;
 *         aml_copier_memcpy lives forever); never NULL.
 * @note Thread-safe: a topology's copier never changes.
 */
const struct aml_copier *
aml_topology_copier(const struct aml_topology *topology);

#ifdef __cplusplus
}
#endif

#endif /* AML_TOPOLOGY_H */
