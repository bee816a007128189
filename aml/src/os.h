/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: the operating system, in one unit. Everything aml asks Linux
 * about pages, CPUs and files that is not a backend's business (mbind,
 * move_pages and discovery are) goes through here, so that blocks and the
 * device layer never scatter sysconf, mincore or sched_getaffinity calls.
 *
 * Every function is thread-safe and never allocates. aml_page_size(), whose
 * prototype is public (<aml/device.h>), is implemented here too.
 */
#ifndef AML_SRC_OS_H
#define AML_SRC_OS_H

#include <stddef.h>

#include <aml/area.h>
#include <aml/bitmap.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Round @p size up to whole pages into *out; 0 and overflow are
 * AML_EINVAL (*out untouched). */
int aml_round_to_pages(size_t size, size_t *out);

/**
 * What locate reports for a page no device holds: AML_EINVAL when the
 * address is not mapped at all, AML_ENODEV when it is mapped but has no
 * memory of its own yet (never touched, or only read: the shared zero
 * page). mincore(2) tells the two apart. @p page is page-aligned.
 */
int aml_page_without_device(const void *page);

/**
 * Whether the page at @p page (page-aligned) has memory: 0 when it is
 * resident, AML_ENODEV when it is mapped without memory yet (never
 * touched), AML_EINVAL when the address is not mapped (mincore(2)).
 */
int aml_page_state(const void *page);

/**
 * Fault every page of [ptr, ptr + size) (page-aligned) in, in order, as
 * writes. MADV_POPULATE_WRITE returns a fault that fails as an error
 * (ENOMEM; EFAULT for what would be a SIGBUS) instead of a signal; it does
 * not keep the OOM killer away by itself. Kernels before 5.14 say EINVAL:
 * then each page is read and written back, which keeps its contents.
 * @return 0, or AML_ENOMEM (aml_os_errno() says why).
 */
int aml_populate_write(void *ptr, size_t size);

/** The calling thread's CPU affinity into @p out. @return 0, or
 * AML_FAILURE if the kernel refused (*out untouched). */
int aml_thread_cpus(struct aml_bitmap *out);

/** Cache sizes of this machine, in bytes; 0 where unknown. */
struct aml_cache_sizes {
	/** The L2 of the first CPU (per core on most machines). */
	size_t l2;
	/** The last level: L3 where there is one, else the L2. */
	size_t llc;
};

/**
 * The caches of this machine into @p out: from sysconf (glibc reads
 * CPUID on x86), else from /sys/devices/system/cpu/cpu0/cache (other
 * architectures), else 0. They are what the CPU or hypervisor reports,
 * which may be more than the process can use: a VM may see its host
 * socket's whole L3. Read each time; thread-safe, never fails.
 */
void aml_cache_sizes(struct aml_cache_sizes *out);

/** The size of a transparent huge page (the PMD size), 2 MiB where the
 * kernel does not say. */
size_t aml_thp_size(void);

/**
 * Whether transparent huge pages can be asked for: 0, or AML_ENOTSUP with
 * the reason in aml_error_detail() when
 * /sys/kernel/mm/transparent_hugepage/enabled is [never] or absent.
 * Read at each call: the setting can change while a process runs.
 */
int aml_thp_check(void);

/** madvise(MADV_HUGEPAGE) on [ptr, ptr + size) (page-aligned). @return 0,
 * AML_ENOTSUP (a kernel without THP), AML_ENOMEM. */
int aml_advise_huge(void *ptr, size_t size);

/** The page size of a hugetlb kind (2 MiB, 1 GiB), or 0 for the others. */
size_t aml_hugetlb_size(enum aml_page_kind pages);

/**
 * Whether the system offers hugetlb pages of @p page bytes
 * (/sys/kernel/mm/hugepages/hugepages-<kB>kB): 0, or AML_ENOTSUP with the
 * reason in aml_error_detail().
 */
int aml_hugetlb_check(size_t page);

/** Free hugetlb pages of @p page bytes on NUMA node @p node, or SIZE_MAX
 * when the kernel does not say. */
size_t aml_hugetlb_free_on_node(int node, size_t page);

/** AML_ENOMEM, with the detail that @p node has fewer than @p npages free
 * hugetlb pages of @p page bytes (or that the system has none reserved). */
int aml_hugetlb_short_on_node(int node, size_t page, size_t npages);

/**
 * An anonymous private mapping of @p size bytes (a multiple of @p page)
 * in hugetlb pages of @p page bytes (a size aml_hugetlb_check() accepted).
 * The kernel reserves the pages from the pool here, so a pool too small
 * fails now, not at first touch. @return the mapping, or NULL with
 * aml_errno = AML_ENOMEM (the pool's figures in aml_error_detail()) or
 * AML_ENOTSUP (another refusal; aml_os_errno() says which).
 */
void *aml_hugetlb_map(size_t size, size_t page);

/** The number of CPUs the calling thread may run on, at least 1. */
size_t aml_thread_ncpus(void);

/**
 * The AML_E* code of an open(), fopen() or opendir() that failed with
 * @p err (errno): AML_ENOMEM when memory or descriptors ran out, else
 * @p absent (for sysfs: the file is not there, as on kernels without
 * HMAT). Also for the files users name (hwloc XML, emulator specs):
 * running out is never the file's fault. Records @p err as
 * aml_os_errno().
 */
int aml_os_open_error(int err, int absent);

/**
 * Record @p os_errno (errno of a failed system call) as the calling
 * thread's aml_os_errno(), and return @p code: how a backend translates a
 * failure without dropping the kernel's reason,
 * `return aml_os_error(errno, AML_ENOMEM);`.
 */
int aml_os_error(int os_errno, int code);

/**
 * aml_os_error(), naming the system call in the error's detail
 * (aml_error_detail()): `aml_os_error_in("mbind on node 3", errno, ...)`
 * records "mbind on node 3 failed: errno EINVAL (Invalid argument)".
 */
int aml_os_error_in(const char *call, int os_errno, int code);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_OS_H */
