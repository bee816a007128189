/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file area.h
 * Areas: where memory is reserved, and how its pages are placed.
 *
 * An area maps page-granular memory under a placement policy over one or
 * more devices. It is the low-level block the others allocate through:
 * arenas ask their area for regions, scratchpads and replicasets for their
 * buffers. Implementations: aml/area/device.h (a set of devices of a
 * topology, or one device of any backend, e.g. a memkind kind),
 * aml/area/file.h (a file, a memfd or a DAX device, under the same
 * policies), aml/area/capped.h (a cap over another area).
 *
 * Sizes are rounded up to whole pages (aml_page_size(), or the huge page of
 * a hugetlb mapping: see enum aml_page_kind); a size of 0, or one that
 * overflows when rounded, is AML_EINVAL. Every function is thread-safe.
 */
#ifndef AML_AREA_H
#define AML_AREA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct aml_area;

/**
 * The pages a mapping is made of. Huge pages cover more memory per TLB
 * entry, which decides much of the bandwidth random accesses see. A kind
 * the system cannot give is an error, never a silent fall-back to base
 * pages (docs/area.md, "Page sizes").
 */
enum aml_page_kind {
	/** The area's kind: base pages, unless the area was made with
	 * another (aml_area_device_set_pages()). Zero, so that options
	 * initialised without it keep their behaviour. */
	AML_PAGE_DEFAULT = 0,
	/** Base pages (aml_page_size()), whatever the area's kind. */
	AML_PAGE_BASE,
	/**
	 * Transparent huge pages: the mapping is aligned to the huge page
	 * (2 MiB on x86-64) and advised with MADV_HUGEPAGE, and the kernel
	 * gives huge pages where it can at first touch (base pages
	 * otherwise, and at an unaligned tail). AML_ENOTSUP where THP is
	 * "never" (/sys/kernel/mm/transparent_hugepage/enabled). The
	 * emulator places and moves 2 MiB units whole, base pages where a
	 * unit finds no room (docs/emulator.md, "Huge pages").
	 */
	AML_PAGE_TRANSPARENT_HUGE,
	/**
	 * hugetlb pages of 2 MiB (MAP_HUGETLB | MAP_HUGE_2MB): sizes are
	 * rounded up to 2 MiB, and the pages come from the pool reserved
	 * in /proc/sys/vm/nr_hugepages (or per node under
	 * /sys/devices/system/node/nodeN/hugepages). AML_ENOMEM when the
	 * pool is too small (for BIND: on the bound nodes), AML_ENOTSUP
	 * where the system has no such size or the topology cannot map
	 * hugetlb pages (a memkind kind's). The emulator's pools are in its
	 * spec (tier key hugepages_2m; none by default).
	 */
	AML_PAGE_HUGETLB_2M,
	/** hugetlb pages of 1 GiB (MAP_HUGE_1GB), as AML_PAGE_HUGETLB_2M
	 * (the emulator's pools: tier key hugepages_1g; none by
	 * default). */
	AML_PAGE_HUGETLB_1G,
	/** Number of kinds; not a kind. */
	AML_PAGE_KIND_COUNT
};

/**
 * Options of one aml_area_mmap() call. NULL means all defaults; so does a
 * zero-initialised struct, so initialise it whole
 * (`struct aml_area_mmap_options o = {.populate = true};`).
 */
struct aml_area_mmap_options {
	/**
	 * Alignment of the mapping in bytes: 0 for the page size, else a
	 * power of two that is a multiple of the page size (e.g. 2 MiB for
	 * a region a buddy arena will split). */
	size_t alignment;
	/**
	 * Give every page its memory during the map, or fail with
	 * AML_ENOMEM, never later through the OOM killer. The devices the
	 * pages may go to must have the size free beyond their margins:
	 * the rule of aml_topology_map_populate(), applied per device to a
	 * weighted interleave's shares. Costs a free-memory query per
	 * device plus faulting every page in; the default (false) places
	 * pages when first touched. Needs an area with a topology
	 * (AML_ENOTSUP otherwise).
	 */
	bool populate;
	/** The pages to map: AML_PAGE_DEFAULT (0) for the area's. */
	enum aml_page_kind pages;
};

/** Operations of an area implementation. */
struct aml_area_ops {
	/**
	 * Map @p size bytes. Required. Called with area != NULL, size > 0 a
	 * multiple of the page size, and opts != NULL with opts->alignment a
	 * power of two >= the page size (0 was replaced by the page size),
	 * opts->pages a kind below AML_PAGE_KIND_COUNT.
	 * @return the mapping, or NULL with aml_errno set.
	 */
	void *(*map)(const struct aml_area *area,
	             size_t size,
	             const struct aml_area_mmap_options *opts);
	/**
	 * Release [ptr, ptr + size), all or a page-aligned part of a mapping
	 * map() returned. Required. Called with ptr page-aligned and size a
	 * multiple of the page size. @return 0; AML_EINVAL for a range the
	 * area did not map; AML_ENOMEM when releasing a part needs memory
	 * (nothing released on either error). Must be safe against map() on
	 * other threads, which may get the released addresses at once.
	 */
	int (*unmap)(const struct aml_area *area, void *ptr, size_t size);
	/** Describe the area on @p out. Optional: NULL means AML_ENOTSUP. */
	int (*print)(const struct aml_area *area,
	             FILE *out,
	             const char *prefix);
};

/** Generic area handle. Implementations fill both fields. */
struct aml_area {
	/** The implementation's operations. */
	const struct aml_area_ops *ops;
	/** The implementation's state. */
	void *data;
};

/**
 * Reserve @p size bytes (rounded up to pages) placed by the area's policy.
 * @param area the area.
 * @param size bytes to map, at least 1.
 * @param opts NULL, or options for this call (alignment, populate, pages).
 * @return the mapping, owned by the caller until aml_area_munmap(); NULL
 *         with aml_errno = AML_EINVAL (NULL area, size 0 or overflowing, an
 *         alignment that is not a power of two multiple of the page size,
 *         an unknown page kind),
 *         AML_ENOMEM (under BIND: more than the devices' capacity, or, with
 *         populate, more than their free memory beyond the margin; the
 *         devices are full; too few hugetlb pages reserved), AML_ENODEV or
 *         AML_ENOTSUP (from the devices; populate on a device that cannot
 *         tell its free memory; a page kind the system or the topology
 *         does not offer). aml_error_detail() says why.
 */
void *aml_area_mmap(const struct aml_area *area,
                    size_t size,
                    const struct aml_area_mmap_options *opts);

/**
 * Release [ptr, ptr + size) (size rounded up to pages): a mapping
 * aml_area_mmap() returned, or a page-aligned part of one. In a hugetlb
 * mapping, @p ptr must be aligned to its huge page and the size is rounded
 * up to huge pages (munmap(2) releases whole huge pages only).
 * @return 0; AML_EINVAL for a NULL area or pointer, a pointer that is not
 *         page-aligned (huge-page-aligned in a hugetlb mapping), a size of 0
 *         or overflowing, or a range the area did not map; AML_ENOMEM
 *         when releasing part of a mapping needs memory the process lacks
 *         (to split the area's record of the mapping, or the kernel's,
 *         past vm.max_map_count). On error nothing is released: the range
 *         stays mapped, and can be unmapped later.
 */
int aml_area_munmap(const struct aml_area *area, void *ptr, size_t size);

/**
 * Print a one-line description of the area, after @p prefix (NULL: "").
 * @return 0; AML_EINVAL for NULL @p area or @p out; AML_ENOTSUP if the
 *         implementation cannot describe itself.
 */
int aml_area_print(const struct aml_area *area, FILE *out, const char *prefix);

#ifdef __cplusplus
}
#endif

#endif /* AML_AREA_H */
