/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file fast.h
 * Fast memory in one call: malloc, calloc, aligned, realloc and free from
 * the highest-bandwidth memory nearest the calling thread, with the
 * fall-back policies of memkind's hbwmalloc.
 *
 * Fast devices are, unless named otherwise, the topology's devices of kind
 * AML_DEVICE_HBM (KNL MCDRAM, Xeon Max HBM, A64FX's HBM2). Each CPU of the
 * topology is served by one of them: one with figures from that CPU (an
 * initiator of the device holds it: Linux lists only each node's best
 * initiators) over one without, then the highest bandwidth from that CPU
 * (aml_device_perf_from()), then the lowest latency, then the CPU's own
 * node, then the first in topology order. So on a
 * sub-NUMA-clustered Xeon Max each quadrant's cores get their quadrant's
 * HBM, and on an HBM-only machine each core its own node. A thread
 * allocates from the device of the CPU it runs on at the call (read
 * through sched_getcpu(), which the kernel keeps in the thread's rseq
 * area: no system call); a CPU the topology does not list gets the fast
 * device ranked first from all the topology's CPUs.
 *
 * Blocks come from one thread-scalable arena (aml/arena/scalable.h) per
 * fast device, over a device area with the policy's placement:
 * - AML_FAST_PREFERRED (the default, memkind's HBW_POLICY_PREFERRED): the
 *   nearest fast device while it has room, then other memory, page by
 *   page, as the kernel's (or the emulator's) preferred policy does. On a
 *   machine without fast memory: the memory local to the touching CPU.
 * - AML_FAST_BIND (HBW_POLICY_BIND): the nearest fast device only. Pages
 *   are given memory when the arena maps them (aml_area_mmap_options
 *   populate), so a full device is AML_ENOMEM at the call, never the OOM
 *   killer at a later touch.
 * - AML_FAST_BIND_ALL (HBW_POLICY_BIND_ALL): any fast device, nearest
 *   first, as the kernel's bind over several nodes does; populated as BIND.
 * - AML_FAST_INTERLEAVE (HBW_POLICY_INTERLEAVE): pages round-robin over
 *   every fast device; past a full device, the kernel's interleave moves
 *   on to other memory.
 * The last three need a fast device: without one, creation fails with
 * AML_ENODEV, and aml_fast_memory_available() says why.
 *
 * Two interfaces: a struct aml_fast_memory made for one topology
 * (aml_fast_memory_create()), and the one-call functions (aml_fast_malloc()
 * and the rest), served by one process-wide instance over
 * aml_topology_default(), made at the first call with the policy of
 * aml_fast_set_policy() or of the environment.
 *
 * Blocks of one instance may be freed, resized and queried from any
 * thread. Every function is thread-safe, but for
 * aml_fast_memory_destroy(), which no other thread may race.
 */
#ifndef AML_FAST_H
#define AML_FAST_H

#include <stddef.h>
#include <stdio.h>

#include <aml/area.h>
#include <aml/arena.h>
#include <aml/bitmap.h>
#include <aml/device.h>
#include <aml/topology.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Where fast memory comes from, and what happens when it is full. */
enum aml_fast_policy {
	/** The nearest fast device, then any memory (the default). */
	AML_FAST_PREFERRED,
	/** The nearest fast device only; AML_ENOMEM when it is full. */
	AML_FAST_BIND,
	/** Any fast device, nearest first; AML_ENOMEM when all are full. */
	AML_FAST_BIND_ALL,
	/** Pages round-robin over every fast device. */
	AML_FAST_INTERLEAVE,
	/** Number of policies; not a policy. */
	AML_FAST_POLICY_COUNT
};

/**
 * Name of a policy: "preferred", "bind", "bind_all" or "interleave", the
 * words AML_FAST_POLICY takes.
 * @return a static string; NULL with aml_errno = AML_EINVAL if out of range.
 */
const char *aml_fast_policy_name(enum aml_fast_policy policy);

/** Longest reason aml_fast_memory_available() writes, with its NUL. */
#define AML_FAST_REASON_MAX 256

/** Options of aml_fast_memory_create(). Zero-initialised: PREFERRED over
 * the topology's HBM devices. */
struct aml_fast_options {
	/** The policy. */
	enum aml_fast_policy policy;
	/** Indices (in the topology) of the devices to treat as fast, or
	 * NULL for the devices of kind AML_DEVICE_HBM. Copied. */
	const struct aml_bitmap *devices;
	/**
	 * The pages of its mappings (aml/area.h): AML_PAGE_DEFAULT (0) or
	 * AML_PAGE_BASE for base pages, AML_PAGE_TRANSPARENT_HUGE, or a
	 * hugetlb kind (memkind's hbw_posix_memalign_psize() with
	 * HBW_PAGESIZE_2MB, MEMKIND_HBW_HUGETLB). Its areas carry the kind,
	 * so every span the arenas map from them has it. Whether the system
	 * gives it is checked at each map: an allocation then fails with
	 * AML_ENOTSUP or AML_ENOMEM, the reason in aml_error_detail(), and
	 * never falls back to base pages.
	 */
	enum aml_page_kind pages;
};

/** An instance of fast memory over one topology (opaque). */
struct aml_fast_memory;

/**
 * Make fast memory over @p topology. Maps nothing until the first
 * allocation.
 * @param[out] out receives the instance, owned by the caller; NULL on error.
 * @param topology the topology; must outlive the instance.
 * @param options NULL for the defaults.
 * @return 0; AML_EINVAL for a NULL @p out or @p topology, an unknown
 *         policy or page kind, or a device set that names an index past
 *         the last device; AML_ENODEV when the policy needs a fast device
 *         and there is none (aml_fast_memory_available() on a PREFERRED
 *         instance says why); AML_ENOMEM.
 */
int aml_fast_memory_create(struct aml_fast_memory **out,
                           const struct aml_topology *topology,
                           const struct aml_fast_options *options);

/**
 * Give every block and mapping back, and free the instance; set *@p fast
 * to NULL. Blocks become invalid. No thread may use the instance during or
 * after the call. NULL and a pointer to NULL are no-ops.
 */
void aml_fast_memory_destroy(struct aml_fast_memory **fast);

/**
 * Whether the instance has fast memory, and if not, why.
 * @param fast the instance.
 * @param[out] reason NULL, or receives one printable line (at most
 *             @p size bytes with its NUL): the fast devices found, or why
 *             there are none.
 * @param size bytes available in @p reason.
 * @return the number of fast devices (at least 1); AML_ENODEV when there
 *         is none (a PREFERRED instance then serves local memory);
 *         AML_EINVAL for a NULL @p fast.
 */
int aml_fast_memory_available(const struct aml_fast_memory *fast,
                              char *reason,
                              size_t size);

/**
 * The instance's policy.
 * @return the policy; AML_EINVAL for a NULL @p fast.
 */
int aml_fast_memory_policy(const struct aml_fast_memory *fast);

/**
 * The device a thread running on CPU @p cpu allocates from.
 * @param fast the instance.
 * @param cpu a CPU OS index, or -1 for the CPU the calling thread runs on.
 * @return the device (for BIND_ALL and INTERLEAVE, the first fast device
 *         the pages go to); NULL with aml_errno = AML_EINVAL (NULL
 *         @p fast, @p cpu below -1) or AML_ENODEV (no fast device: local
 *         memory).
 */
const struct aml_device *
aml_fast_memory_device_for_cpu(const struct aml_fast_memory *fast, int cpu);

/**
 * Allocate @p size bytes of fast memory, aligned to AML_ARENA_ALIGNMENT
 * (16 bytes). Size 0 is a unique block of the smallest size, as glibc's.
 * @return the block; NULL with aml_errno = AML_EINVAL (NULL @p fast, size
 *         above PTRDIFF_MAX) or AML_ENOMEM (the policy's devices are full;
 *         nothing is left mapped).
 */
void *aml_fast_memory_malloc(struct aml_fast_memory *fast, size_t size);

/**
 * Allocate @p n zeroed objects of @p size bytes.
 * @return as aml_fast_memory_malloc(); also AML_EINVAL when @p n * @p size
 *         overflows.
 */
void *
aml_fast_memory_calloc(struct aml_fast_memory *fast, size_t n, size_t size);

/**
 * Allocate @p size bytes aligned to @p alignment, into *@p out.
 * @return 0; AML_EINVAL (NULL arguments; @p alignment not a power of two,
 *         below sizeof(void *) or above AML_ARENA_ALIGNMENT_MAX),
 *         AML_ENOMEM. *@p out is left untouched on error.
 */
int aml_fast_memory_posix_memalign(struct aml_fast_memory *fast,
                                   void **out,
                                   size_t alignment,
                                   size_t size);

/**
 * Resize the block at @p ptr to @p size bytes, in the memory it came from,
 * keeping its contents up to the smaller size. NULL @p ptr is malloc; size
 * 0 frees the block and returns NULL with aml_errno left as it was.
 * @return the block; NULL with aml_errno = AML_EINVAL (NULL @p fast, a
 *         pointer that is not a live block of the instance, size above
 *         PTRDIFF_MAX) or AML_ENOMEM; on error the block is untouched.
 */
void *
aml_fast_memory_realloc(struct aml_fast_memory *fast, void *ptr, size_t size);

/**
 * Free the block at @p ptr; NULL is a no-op.
 * @return 0; AML_EINVAL for a NULL @p fast or a pointer that is not a live
 *         block of the instance (freed already, interior, foreign): nothing
 *         changes.
 */
int aml_fast_memory_free(struct aml_fast_memory *fast, void *ptr);

/**
 * Usable size of the live block at @p ptr (at least what was asked).
 * @return the size; 0 with aml_errno = AML_EINVAL for NULL arguments or a
 *         pointer that is not a live block of the instance.
 */
size_t aml_fast_memory_usable_size(const struct aml_fast_memory *fast,
                                   const void *ptr);

/**
 * Which device holds the page of @p ptr now (aml_topology_locate()).
 * @return the device's index in the topology; AML_ENODEV for a page not
 *         yet touched; AML_EINVAL for NULL arguments or an address that is
 *         not mapped; the errors of aml_topology_locate().
 */
int aml_fast_memory_locate(const struct aml_fast_memory *fast, const void *ptr);

/**
 * The instance's blocks: the sums over its domains' scalable arenas (see
 * aml/arena/scalable.h for how exact each field is: the counts are exact
 * when no thread allocates or frees meanwhile). peak_bytes_held is the
 * sum of each domain's peak, which bounds the instance's peak from above;
 * cap_bytes is the cap of each domain (aml_fast_memory_set_cap()).
 * @param fast the instance.
 * @param[out] out the statistics; zeroed on error.
 * @return 0; AML_EINVAL for NULL arguments.
 * Thread-safety: any thread, at any time.
 */
int aml_fast_memory_stats(const struct aml_fast_memory *fast,
                          struct aml_arena_usage *out);

/**
 * Cap the bytes each domain of the instance holds (one domain per fast
 * device under PREFERRED and BIND, else one): an allocation that would
 * pass its domain's cap is AML_ENOMEM, maps nothing, and says why in
 * aml_error_detail(); aml_arena_scalable_set_cap() tells the details. The
 * allocation does not fall back to another domain.
 * @param fast the instance.
 * @param cap_bytes the cap per domain; 0 removes it.
 * @return 0; AML_EINVAL for a NULL @p fast.
 * Thread-safety: any thread, at any time.
 */
int aml_fast_memory_set_cap(struct aml_fast_memory *fast, size_t cap_bytes);

/**
 * Print the instance's statistics and its live blocks, one domain after
 * the other: a line "fast domain K (DEVICE):" (or "(local memory)"), then
 * aml_arena_scalable_report() of its arena, located on the instance's
 * topology (one aml_topology_locate() per page with live blocks).
 * @param fast the instance.
 * @param out where to print.
 * @return 0; AML_EINVAL for NULL arguments.
 * Thread-safety: any thread; it holds each domain's arena mutex while it
 * prints that domain's blocks.
 */
int aml_fast_memory_report(const struct aml_fast_memory *fast, FILE *out);

/**
 * The one-call interface: the process's instance over
 * aml_topology_default(), made at the first of these calls.
 *
 * Its policy is the last aml_fast_set_policy() before that, else the
 * environment's AML_FAST_POLICY (a policy's name), else PREFERRED. Its
 * fast devices are the NUMA nodes listed in AML_FAST_NODES (e.g. "1,3" or
 * "4-7", as MEMKIND_HBW_NODES), else the HBM devices. Its pages are the
 * last aml_fast_set_pages() before that, else the environment's
 * AML_FAST_PAGES ("base", "thp", "2M" or "1G"), else base pages. Where
 * the instance cannot be made (a malformed variable, no fast memory under
 * a policy that needs it, no topology), every call fails with that error,
 * and aml_fast_available() says why.
 */

/**
 * Set the one-call interface's policy; only before its first call (one
 * that races the first call may come too late, and change nothing).
 * @return 0; AML_EINVAL for an unknown policy; AML_EBUSY once the
 *         instance is made.
 */
int aml_fast_set_policy(enum aml_fast_policy policy);

/**
 * Set the one-call interface's page kind (enum aml_page_kind of
 * aml/area.h); only before its first call, as aml_fast_set_policy().
 * @return 0; AML_EINVAL for an unknown kind; AML_EBUSY once the instance
 *         is made.
 */
int aml_fast_set_pages(enum aml_page_kind pages);

/**
 * The one-call interface's policy (making the instance if needed).
 * @return the policy, or the error that prevents the instance.
 */
int aml_fast_get_policy(void);

/**
 * aml_fast_memory_available() for the one-call interface.
 * @return the number of fast devices; AML_ENODEV (none: a PREFERRED
 *         instance serves local memory); the error that prevents the
 *         instance, with the reason.
 */
int aml_fast_available(char *reason, size_t size);

/** aml_fast_memory_malloc() from the one-call interface's instance. */
void *aml_fast_malloc(size_t size);
/** aml_fast_memory_calloc() from the one-call interface's instance. */
void *aml_fast_calloc(size_t n, size_t size);
/** aml_fast_memory_posix_memalign() from the one-call interface's instance. */
int aml_fast_posix_memalign(void **out, size_t alignment, size_t size);
/** aml_fast_memory_realloc() from the one-call interface's instance. */
void *aml_fast_realloc(void *ptr, size_t size);
/** aml_fast_memory_free() to the one-call interface's instance; its
 * return value is dropped, as free()'s. */
void aml_fast_free(void *ptr);
/** aml_fast_memory_usable_size() in the one-call interface's instance. */
size_t aml_fast_usable_size(const void *ptr);
/** aml_fast_memory_locate() in the one-call interface's instance. */
int aml_fast_locate(const void *ptr);
/** aml_fast_memory_stats() of the one-call interface's instance. */
int aml_fast_stats(struct aml_arena_usage *out);
/** aml_fast_memory_set_cap() on the one-call interface's instance. It
 * makes the instance if needed: call aml_fast_set_policy() first. */
int aml_fast_set_cap(size_t cap_bytes);
/** aml_fast_memory_report() of the one-call interface's instance. */
int aml_fast_report(FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* AML_FAST_H */
