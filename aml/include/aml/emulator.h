/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file emulator.h
 * A software emulator of heterogeneous memory tiers, so that placement logic
 * is tested on any machine (docs/emulator.md).
 *
 * An emulated topology is an ordinary struct aml_topology: its devices map,
 * unmap, move and locate through the same functions as real NUMA nodes, and
 * code written against <aml/topology.h> cannot tell the difference. Behind
 * them, every page of an emulated mapping is real anonymous memory of this
 * machine, labelled in a page table with the emulated device that holds it;
 * capacities are enforced per device, so BIND fails and PREFERRED spills as
 * on the machine the spec describes.
 *
 * As on Linux, a page is placed when first touched, under its mapping's
 * policy and the free memory of that moment, from the touching thread's
 * CPU; until then it has no device (aml_topology_locate() says
 * AML_ENODEV) and takes no capacity. Where the kernel would call the OOM
 * killer (a BIND mapping touched past its devices' free memory), the
 * emulator prints the page, its policy and the devices, and stops the
 * program with abort(): a test must never pass where the real machine
 * kills it. A populating map (aml_topology_map_populate()) places every
 * page at once, after the same free-memory check as on Linux. Where no
 * userfaultfd that reports the kernel's touches may be opened (a user's
 * process) and the spec does not say placement=touch, or with
 * placement=map, pages are placed when mapped instead, and a full device is
 * an AML_ENOMEM from the map (aml_emu_places_at_touch()).
 *
 * Costs follow a model per device (latency, read and write bandwidth).
 * Copies (aml_emu_copy), moves, accesses a program charges
 * (aml_emu_charge), and, with access accounting on, its ordinary loads and
 * stores (aml_emu_set_access_accounting()) advance a virtual clock, per
 * thread and in total. In
 * delay mode they also take real time: modelled time times a dilation
 * factor calibrated against this machine's own copy bandwidth. Modelled
 * times and the statistics saturate at UINT64_MAX (584 years of
 * nanoseconds) instead of wrapping. Costing a range takes work in
 * proportion to the emulated pages it meets, not to its size.
 *
 * Made with aml_emu_create(), or by aml_topology_default() when the
 * environment says `AML_EMULATE=<preset or spec>` ("@path" reads a file).
 */
#ifndef AML_EMULATOR_H
#define AML_EMULATOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct aml_topology;

/** What a charged access does. */
enum aml_emu_access {
	/** The program read the bytes. */
	AML_EMU_READ = 1,
	/** The program wrote the bytes. */
	AML_EMU_WRITE = 2,
};

/** How costs are applied. */
enum aml_emu_mode {
	/** Costs advance the virtual clock only (the default). */
	AML_EMU_ACCOUNT,
	/** Costs also take wall-clock time: modelled time x dilation. */
	AML_EMU_DELAY,
};

/** Where and why a spec was refused. */
struct aml_emu_error {
	/** Byte offset in the spec text (in the file for "@path"). */
	size_t offset;
	/** The reason, in words. */
	char reason[128];
};

/**
 * Make an emulated topology.
 * @param[out] out receives the topology, owned by the caller
 *             (aml_topology_destroy()); NULL on error.
 * @param spec a preset name ("knl-flat", "xeon-max-flat", "cxl-tiered",
 *             "single", or a machine file of machines/: "qemu-3node",
 *             "qemu-4node-2socket", "qemu-snc"), a spec (docs/emulator.md),
 *             or "@path" to read the spec from a file.
 * @param[out] error where and why a spec was refused; may be NULL.
 * @return 0; AML_EINVAL for NULL arguments, an unreadable file or a
 *         malformed spec; AML_ENOMEM when memory or another resource the
 *         machine needs runs out: memory, file descriptors to read
 *         "@path", a thread-specific key or a lock, or the 64 MiB that
 *         calibrating delay mode measures with (aml_emu_set_mode()). A
 *         later call may succeed.
 */
int aml_emu_create(struct aml_topology **out,
                   const char *spec,
                   struct aml_emu_error *error);

/**
 * Is @p topology emulated?
 * @return 1 or 0; AML_EINVAL for NULL.
 */
int aml_topology_is_emulated(const struct aml_topology *topology);

/**
 * Does @p topology place each page when it is first touched, as Linux does?
 * That is the default wherever this process, not under valgrind, may open
 * a userfaultfd that also reports the kernel's touches (root,
 * CAP_SYS_PTRACE, vm.unprivileged_userfaultfd=1, or access to
 * /dev/userfaultfd). With placement=touch in the spec, also where it may
 * open one for the program's own touches only (no privilege, Linux 5.11+):
 * there a system call that writes into an untouched page of the topology
 * fails with EFAULT. Else, or with placement=map, pages are placed when
 * mapped (docs/emulator.md, "When pages are placed").
 * @return 1 (at first touch) or 0 (at map time); AML_EINVAL for NULL or a
 *         topology that is not emulated.
 * @note Thread-safe.
 */
int aml_emu_places_at_touch(const struct aml_topology *topology);

/**
 * Switch between accounting and delay mode. The first switch to delay mode
 * calibrates it (aml_emu_dilation()).
 * @return 0; AML_EINVAL for NULL, an unknown mode or a topology that is not
 *         emulated; AML_ENOMEM if this machine's copy bandwidth could not
 *         be measured (no memory for the measurement's 64 MiB): the mode is
 *         left as it was, and the next call measures again.
 * @note Thread-safe: other threads may copy and charge meanwhile, and
 *       switch to the new mode with their next operation.
 */
int aml_emu_set_mode(const struct aml_topology *topology,
                     enum aml_emu_mode mode);

/**
 * The factor delay mode multiplies modelled time by: 1.5 times the fastest
 * emulated tier's bandwidth over this machine's measured copy bandwidth, at
 * least 1 (the margin keeps a real copy from outlasting its dilated model).
 * The copy bandwidth is measured once per process, by the first call here
 * or to aml_emu_set_mode(AML_EMU_DELAY) that succeeds; a measurement that
 * failed is made again by the next call.
 * @param topology an emulated topology.
 * @param[out] out receives the factor.
 * @return 0; AML_EINVAL for NULL arguments or a topology that is not
 *         emulated; AML_ENOMEM if this machine's copy bandwidth could not
 *         be measured, for lack of memory (@p out is then untouched; the
 *         next call measures again).
 * @note Thread-safe.
 */
int aml_emu_dilation(const struct aml_topology *topology, double *out);

/**
 * Modelled cost of copying @p size bytes from @p src to @p dst, in
 * nanoseconds, without copying or charging: the highest latency among the
 * devices involved, plus, for each run of pages on one (source,
 * destination) pair of devices, its bytes over min(read bandwidth of the
 * source, write bandwidth of the destination), saturated at UINT64_MAX.
 * Memory outside emulated mappings counts as device 0, one run up to the
 * next mapping whatever its size; a page not touched yet counts as the
 * device it would be placed on if touched now.
 * @return 0; AML_EINVAL for NULL arguments, size 0, a range that runs past
 *         the end of the address space, or a topology that is not emulated.
 * @note Thread-safe.
 */
int aml_emu_copy_cost(const struct aml_topology *topology,
                      const void *dst,
                      const void *src,
                      size_t size,
                      uint64_t *ns);

/**
 * memcpy(@p dst, @p src, @p size), charged to the virtual clock and the
 * devices' statistics (and delayed in delay mode). The ranges must not
 * overlap. Untouched pages of @p dst are placed first, in order, from the
 * calling thread's CPU (the copy's writes are their first touch), and
 * stop the program where Linux would call the OOM killer.
 * @return 0; AML_EINVAL for NULL arguments, size 0, overlapping ranges, a
 *         range that runs past the end of the address space, or a topology
 *         that is not emulated.
 * @note Thread-safe.
 */
int aml_emu_copy(const struct aml_topology *topology,
                 void *dst,
                 const void *src,
                 size_t size);

/**
 * Charge an access of @p size bytes at @p ptr that the program made itself
 * (a compute kernel's reads or writes): latency plus bytes over the read (or
 * write) bandwidth of the devices holding them.
 * @param topology the emulated topology @p ptr lives in.
 * @param ptr the first byte accessed.
 * @param size bytes accessed, at least 1.
 * @param access AML_EMU_READ, AML_EMU_WRITE, or both (charged twice).
 * @return 0; AML_EINVAL for NULL arguments, size 0, a range that runs past
 *         the end of the address space, a bad @p access, or a topology that
 *         is not emulated.
 * @note Thread-safe. The bytes are not touched: @p ptr may be any address,
 *       emulated memory or not; a page not touched yet is charged as the
 *       device it would be placed on if touched now.
 */
int aml_emu_charge(const struct aml_topology *topology,
                   const void *ptr,
                   size_t size,
                   int access);

/** The virtual clock of an emulated topology. Both times saturate at
 * UINT64_MAX. */
struct aml_emu_clock {
	/** Modelled nanoseconds charged by every thread. */
	uint64_t total_ns;
	/**
	 * The calling thread's virtual time: the modelled nanoseconds charged
	 * by it, plus the waits that moved it forward
	 * (aml_emu_clock_advance_to(); dma engines wait this way, so that a
	 * copy done by a worker overlaps with the waiter's own work).
	 */
	uint64_t thread_ns;
};

/**
 * Read the virtual clock.
 * @return 0; AML_EINVAL for NULL arguments or a topology that is not
 *         emulated.
 */
int aml_emu_clock(const struct aml_topology *topology,
                  struct aml_emu_clock *out);

/**
 * Move the calling thread's virtual time (aml_emu_clock().thread_ns)
 * forward to @p ns, if it is behind: the thread waited for work that ends
 * at @p ns on another thread's clock. Waiting is not work: total_ns and
 * the devices' statistics do not change, and nothing is delayed.
 * @return 0; AML_EINVAL for a NULL topology or one that is not emulated;
 *         AML_ENOMEM if the thread's clock cannot be allocated.
 */
int aml_emu_clock_advance_to(const struct aml_topology *topology, uint64_t ns);

/** What one emulated device has seen. The counters saturate at
 * UINT64_MAX. */
struct aml_emu_stats {
	/** Bytes now placed on the device. */
	uint64_t resident_bytes;
	/** The most bytes ever placed on the device at once. */
	uint64_t peak_bytes;
	/** Pages now placed on the device. */
	uint64_t pages;
	/** Maps that placed at least one page here. */
	uint64_t maps;
	/** Pages moved onto the device. */
	uint64_t pages_moved_in;
	/** Pages moved off the device. */
	uint64_t pages_moved_out;
	/** Bytes copied onto the device (written to it). */
	uint64_t bytes_copied_in;
	/** Bytes copied off the device (read from it). */
	uint64_t bytes_copied_out;
	/** Modelled nanoseconds charged to transfers involving the device. */
	uint64_t modelled_ns;
	/** Pages of the device the program's ordinary loads brought in, by
	 * every thread (aml_emu_set_access_accounting()). */
	uint64_t access_pages_read;
	/** Pages of the device the program's ordinary stores wrote, by every
	 * thread. */
	uint64_t access_pages_written;
	/** The device's pool of 2 MiB hugetlb pages (the spec's
	 * hugepages_2m, or aml_emu_set_hugepages_2m()), in huge pages. */
	uint64_t hugepages_2m;
	/** Huge pages of the pool no map holds. */
	uint64_t hugepages_2m_free;
	/** The device's pool of 1 GiB hugetlb pages (the spec's
	 * hugepages_1g, or aml_emu_set_hugepages_1g()), in huge pages. */
	uint64_t hugepages_1g;
	/** 1 GiB huge pages of the pool no map holds. */
	uint64_t hugepages_1g_free;
};

/**
 * Statistics of device @p index.
 * @return 0; AML_EINVAL for NULL arguments or a topology that is not
 *         emulated; AML_EDOM for an index out of range.
 */
int aml_emu_stats(const struct aml_topology *topology,
                  size_t index,
                  struct aml_emu_stats *out);

/**
 * Set the pool of 2 MiB hugetlb pages of device @p index, as writing
 * `nodeN/hugepages/hugepages-2048kB/nr_hugepages` sets a node's on Linux
 * (the spec's `hugepages_2m` sets it when the machine is made;
 * docs/emulator.md, "Huge pages"). Growing it takes huge pages out of the
 * device's free memory, as many as fit when fewer than @p pages do, as the
 * kernel reserves what the node can give; shrinking it gives its free
 * huge pages back, and never goes below the huge pages mapped, which stay
 * where they are.
 * @param topology an emulated topology.
 * @param index the device.
 * @param pages the pool's size wanted, in huge pages.
 * @param[out] reserved the pool's size now (may be NULL): @p pages, or
 *        fewer when the device had no room, or more when more are mapped.
 * @return 0, even when the pool is not the size asked (*reserved tells);
 *         AML_EINVAL for a NULL topology or one that is not emulated;
 *         AML_EDOM for an index out of range. Nothing changes on error.
 * @note Thread-safe.
 */
int aml_emu_set_hugepages_2m(const struct aml_topology *topology,
                             size_t index,
                             uint64_t pages,
                             uint64_t *reserved);

/**
 * Set the pool of 1 GiB hugetlb pages of device @p index, as writing
 * `nodeN/hugepages/hugepages-1048576kB/nr_hugepages` sets a node's on Linux
 * (the spec's `hugepages_1g` sets it when the machine is made). As
 * aml_emu_set_hugepages_2m() in every other respect: the pool grows by as
 * many 1 GiB pages as the device's free memory holds (the emulator has no
 * fragmentation: a real node may give fewer), and shrinks to no fewer
 * than are mapped. The two pools of a device are separate, as the
 * kernel's hstates are; each takes its pages out of the device's free
 * memory.
 * @param topology an emulated topology.
 * @param index the device.
 * @param pages the pool's size wanted, in 1 GiB pages.
 * @param[out] reserved the pool's size now (may be NULL).
 * @return 0, even when the pool is not the size asked (*reserved tells);
 *         AML_EINVAL for a NULL topology or one that is not emulated;
 *         AML_EDOM for an index out of range. Nothing changes on error.
 * @note Thread-safe.
 */
int aml_emu_set_hugepages_1g(const struct aml_topology *topology,
                             size_t index,
                             uint64_t pages,
                             uint64_t *reserved);

/** Access accounting sees memory in blocks of this many pages, aligned on
 * their mapping's start (the last block of a mapping may be shorter). */
#define AML_EMU_ACCESS_BLOCK_PAGES 16
/** Bytes of blocks access accounting's cache model holds. */
#define AML_EMU_ACCESS_CACHE_BYTES (8u << 20)
/** Sequential streams per thread whose blocks pay no latency. */
#define AML_EMU_ACCESS_STREAMS 16

/** aml_emu_set_access_accounting(): no access accounting. */
#define AML_EMU_ACCESSES_OFF 0
/** aml_emu_set_access_accounting(): every page of a block outside the
 * cache model is protected, so any access to it is seen. */
#define AML_EMU_ACCESSES_ON 1
/** aml_emu_set_access_accounting(): only the first page of each block is
 * protected; an access to the block is seen when it touches that page. */
#define AML_EMU_ACCESSES_SAMPLED 2

/**
 * Account for the program's ordinary loads and stores to emulated memory:
 * with no aml call in its loops, each thread's accesses are charged to its
 * virtual clock (and delayed in delay mode) like aml_emu_charge() calls.
 *
 * Model (docs/emulator.md, "Access accounting"): memory is seen in blocks
 * of 16 pages through an 8 MiB first-in first-out cache shared by the
 * threads. A load from a block outside the cache charges the block's bytes
 * over the read bandwidth of its devices; a store to a block not yet
 * written since it entered, over the write bandwidth; each plus the
 * device's latency unless the block continues one of the thread's 16 last
 * sequential streams. Pages not placed yet are charged as the device they
 * will be placed on, as aml_emu_charge() does.
 *
 * Mechanism: the emulated mappings are protected (PROT_NONE) outside the
 * cache, and a SIGSEGV handler, installed at the first switch on and
 * chaining to the handler it replaced for every fault that is not an
 * emulated access, opens the blocks. While on, the kernel's own accesses
 * to protected emulated memory fail: read(2) into it returns EFAULT. A
 * program that protects emulated memory itself, or whose allocator's own
 * memory is emulated, must leave this off.
 *
 * AML_EMU_ACCESSES_ON protects every page of a block: every access is
 * seen. AML_EMU_ACCESSES_SAMPLED protects a block's first page only, the
 * sample that stands for the block: a sweep, which enters every block,
 * costs the same as with ON, at a sixteenth of the protection changes
 * (what a fault costs goes by them); an access that skips a block's first
 * page, or a store to a block whose first page was only read, is not
 * seen. Sampling costs two VMAs per block of emulated memory
 * (vm.max_map_count); a block that cannot be protected is not seen.
 * Off by default; `accesses=on` or `accesses=sampled` in the spec.
 * @param topology an emulated topology.
 * @param mode AML_EMU_ACCESSES_OFF (every mapping is opened again),
 *        AML_EMU_ACCESSES_ON or AML_EMU_ACCESSES_SAMPLED. Switching
 *        between ON and SAMPLED turns accounting off and on again: the
 *        cache model starts empty; if that fails, the mode that was on
 *        stays on.
 * @return 0 (also when already in that mode); AML_EINVAL for NULL, a
 *         topology that is not emulated, or another @p mode;
 *         AML_ENOMEM when the cache model cannot be allocated, the handler
 *         cannot be installed, or 16 machines account already;
 *         AML_ENOTSUP under valgrind, which does not report a load from
 *         a protected page as such (aml_emu_create() with `accesses=on`
 *         or `sampled` fails the same way).
 * @note Thread-safe; other threads' accesses are accounted from their
 *       next fault.
 */
int aml_emu_set_access_accounting(const struct aml_topology *topology,
                                  int mode);

/**
 * Which access accounting is on.
 * @return AML_EMU_ACCESSES_OFF, _ON or _SAMPLED; AML_EINVAL for NULL or a
 *         topology that is not emulated.
 * @note Thread-safe.
 */
int aml_emu_access_accounting(const struct aml_topology *topology);

/** Pages of one device the calling thread's ordinary accesses touched. */
struct aml_emu_accesses {
	/** Pages its loads brought into the cache model. */
	uint64_t pages_read;
	/** Pages its stores wrote. */
	uint64_t pages_written;
};

/**
 * The calling thread's accesses to device @p index since it first
 * touched the machine (aml_emu_set_access_accounting()).
 * @return 0; AML_EINVAL for NULL arguments or a topology that is not
 *         emulated; AML_EDOM for an index out of range.
 * @note Thread-safe.
 */
int aml_emu_thread_accesses(const struct aml_topology *topology,
                            size_t index,
                            struct aml_emu_accesses *out);

/**
 * Print every device's statistics and the clock, one line each.
 * @return 0; AML_EINVAL for NULL arguments or a topology that is not
 *         emulated.
 */
int aml_emu_stats_print(const struct aml_topology *topology, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* AML_EMULATOR_H */
