/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one placement path (blocks.h): every map of a topology or of a
 * device area goes through aml_placement_map(), every unmap through
 * aml_placement_unmap().
 *
 * A map runs these steps, each once:
 * 1. validate the request and round its size to pages;
 * 2. check the rules that keep BIND out of the OOM killer (topology_map.c):
 *    capacity (BIND's total; each device's share of a weighted interleave)
 *    and, for a populating map, free memory over the devices its pages may
 *    reach. Both count the over-mapping of an alignment, which is placed
 *    too before it is trimmed;
 * 3. map through the backend: the topology's map_nodes (a weighted
 *    interleave maps BIND over its set). A device no discovery makes (a
 *    memkind kind, a device a user wrote) is the one device of its own
 *    topology (topology_of_device.c), so it takes this path too. A file
 *    area's request names a file range: the topology's map_file_nodes
 *    maps it (AML_ENOTSUP where there is none, as on the emulator),
 *    already aligned, so step 4 has nothing to trim;
 * 4. align: over-map by the alignment, give the unaligned head and tail
 *    back. Transparent huge pages raise the alignment to the huge page,
 *    so that the kernel can give them, and are advised (MADV_HUGEPAGE)
 *    once aligned, before any touch. A device that releases whole maps
 *    only says so in its ops (unmaps_whole_only), and an aligned map on
 *    its topology is AML_ENOTSUP at step 1, with nothing mapped;
 * 5. bind a weighted interleave's runs, each to its device, from the
 *    aligned first page, before any page is touched
 *    (aml_topology_rebind()). Each run is a VMA on Linux, so weights count
 *    pages per run: 96:32 is 3:1 with 32 times fewer VMAs than 3:1;
 * 6. populate, then record the range once, in the topology's registry
 *    (t->maps) with its owner: the topology itself for aml_topology_map(),
 *    the area for an area's map.
 * Page kinds (enum aml_page_kind) are checked at step 1: a hugetlb kind
 * needs the topology's map_nodes_hugetlb and a size the system offers, THP
 * a kernel where it is not "never", else AML_ENOTSUP and nothing mapped. A
 * hugetlb map counts in its huge pages (the unit) wherever a map counts
 * pages: size, alignment, a weighted interleave's runs; its record carries
 * the unit, so that an unmap of any part releases whole huge pages. Its
 * populate skips the free-memory rule: the kernel reserves hugetlb pages
 * from their pool at map time, which MemFree does not count.
 * Until step 6 the range is in no registry: a failure releases it through
 * the backend directly, and no other thread can unmap it meanwhile.
 *
 * An unmap releases and forgets a range recorded for its owner (the whole
 * range where the topology unmaps whole maps only) as one step under the
 * registry's lock (aml/src/rangeset.h): releasing first and
 * forgetting after would let a map on another thread, handed the same
 * address by the kernel meanwhile, fail with a false AML_EINVAL; forgetting
 * first would lose the record whenever the release then failed.
 */

#include <stdint.h>

#include <aml/error.h>

#include "aml/src/device/blocks.h"
#include "aml/src/device/internal.h"
#include "aml/src/error_detail.h"
#include "aml/src/os.h"

/* Pages of run device @p d in a weighted mapping of @p npages pages: whole
 * cycles of sum(weights) pages, then the rest in run order. */
static size_t
placement_share(const struct aml_placement_request *r, size_t npages, size_t d)
{
	size_t cycle = 0;
	for (size_t i = 0; i < r->nruns; i++)
		cycle += r->weights[i];
	size_t rest = npages % cycle;
	for (size_t i = 0; i < d; i++)
		rest -= rest < r->weights[i] ? rest : r->weights[i];
	size_t tail = rest < r->weights[d] ? rest : r->weights[d];
	return npages / cycle * r->weights[d] + tail;
}

/* Each device's share within its capacity, and, populating, its free
 * memory. */
static int placement_check_weighted(const struct aml_placement_request *r,
                                    size_t size,
                                    size_t page)
{
	const struct aml_topology *t = r->topology;
	bool hugetlb = page > aml_page_size();
	for (size_t d = 0; d < r->nruns; d++) {
		const struct aml_device *dev = r->run_devices[d];
		size_t share = placement_share(r, size / page, d);
		if (dev->capacity != 0 && share > dev->capacity / page)
			return aml_error_explain(AML_ENOMEM,
			                         "WEIGHTED_INTERLEAVE of %zu "
			                         "bytes puts %zu on %s: "
			                         "its capacity is %zu bytes",
			                         size, share * page, dev->name,
			                         dev->capacity);
	}
	for (size_t d = 0; r->populate && !hugetlb && d < r->nruns; d++) {
		struct aml_bitmap one;
		aml_bitmap_zero(&one);
		aml_bitmap_set(&one, (size_t)aml_topology_index_of(
		                             t, r->run_devices[d]));
		int err = aml_topology_populate_check(
		        t, &one, placement_share(r, size / page, d) * page);
		if (err != 0)
			return err;
	}
	return 0;
}

/* The arguments of a request over a topology. */
static int placement_check_args(const struct aml_placement_request *r)
{
	const struct aml_topology *t = r->topology;
	int count = r->set != NULL ? aml_bitmap_count(r->set) : 0;
	bool local = r->policy == AML_POLICY_LOCAL;
	bool weighted = r->policy == AML_POLICY_WEIGHTED_INTERLEAVE;
	/* LOCAL takes no devices; every other policy needs some. */
	if ((count == 0) != local || (int)r->policy < 0 ||
	    (int)r->policy >= AML_POLICY_COUNT ||
	    (r->policy == AML_POLICY_PREFERRED && count != 1) ||
	    (r->weights != NULL) != weighted ||
	    (weighted && r->nruns != (size_t)count))
		return AML_EINVAL;
	for (size_t d = 0; weighted && d < r->nruns; d++) {
		int index = aml_topology_index_of(t, r->run_devices[d]);
		if (r->weights[d] == 0 || index < 0 ||
		    aml_bitmap_is_set(r->set, (size_t)index) != 1)
			return AML_EINVAL;
	}
	return 0;
}

/* Whether the topology and the system give the pages asked for. */
static int placement_check_pages(const struct aml_placement_request *r)
{
	const struct aml_topology *t = r->topology;
	size_t huge = aml_hugetlb_size(r->pages);
	if ((unsigned)r->pages >= AML_PAGE_KIND_COUNT)
		return AML_EINVAL;
	if (huge != 0 && r->file != NULL)
		return aml_error_explain(
		        AML_ENOTSUP,
		        "hugetlb pages of %zu MiB: a file area "
		        "maps base pages only",
		        huge >> 20);
	if (r->file != NULL && t->ops->map_file_nodes == NULL)
		return aml_error_explain(AML_ENOTSUP,
		                         "topology \"%s\" maps anonymous "
		                         "memory only, not files",
		                         t->source);
	if (huge != 0 && t->ops->map_nodes_hugetlb == NULL)
		return aml_error_explain(AML_ENOTSUP,
		                         "hugetlb pages of %zu MiB: topology "
		                         "\"%s\" maps base pages only",
		                         huge >> 20, t->source);
	bool thp = r->pages == AML_PAGE_TRANSPARENT_HUGE && t->ops->advise_huge;
	if ((huge != 0 || thp) && t->ops->check_pages != NULL)
		return t->ops->check_pages(t, r->pages);
	if (huge != 0)
		return aml_hugetlb_check(huge);
	if (thp)
		return aml_thp_check();
	return 0;
}

/* Steps 1 and 2 over a topology, for @p size bytes (the over-mapping
 * included) in pages of @p page bytes. Fills the NUMA nodes to map on. */
static int placement_check_topology(const struct aml_placement_request *r,
                                    size_t size,
                                    size_t page,
                                    struct aml_bitmap *nodes)
{
	const struct aml_topology *t = r->topology;
	int err = placement_check_args(r);
	if (err == 0)
		err = placement_check_pages(r);
	if (err != 0)
		return err;
	aml_bitmap_zero(nodes);
	if (r->policy != AML_POLICY_LOCAL) {
		err = aml_topology_nodes_of(t, r->set, nodes);
		if (err != 0)
			return err;
	}
	if (r->alignment > aml_page_size() && aml_topology_unmaps_whole_only(t))
		return AML_ENOTSUP; /* it cannot give back the ends */
	if (t->ops->map_nodes == NULL || t->ops->unmap_nodes == NULL ||
	    (r->policy == AML_POLICY_WEIGHTED_INTERLEAVE &&
	     t->ops->rebind == NULL))
		return AML_ENOTSUP;
	if (r->policy == AML_POLICY_WEIGHTED_INTERLEAVE)
		return placement_check_weighted(r, size, page);
	if (r->policy == AML_POLICY_BIND &&
	    !aml_topology_capacity_allows(t, r->set, size)) {
		char names[128];
		aml_topology_names_of(t, r->set, names, sizeof(names));
		size_t total = 0;
		AML_BITMAP_FOREACH (i, r->set)
			total += t->devices[i].capacity;
		return aml_error_explain(
		        AML_ENOMEM,
		        "BIND of %zu bytes on %s: capacity %zu "
		        "bytes",
		        size, names, total);
	}
	if (!r->populate || page > aml_page_size())
		return 0;
	/* Only BIND keeps the pages on its set; every other policy may
	 * spill to any device. */
	struct aml_bitmap targets;
	if (r->policy == AML_POLICY_BIND)
		targets = *r->set;
	else
		aml_topology_all_devices(t, &targets);
	return aml_topology_populate_check(t, &targets, size);
}

/* Release [ptr, ptr + size) of a fresh, unrecorded mapping. */
static int
placement_release(const struct aml_placement_request *r, void *ptr, size_t size)
{
	const struct aml_topology *t = r->topology;
	return t->ops->unmap_nodes(t, ptr, size);
}

/* Step 5: point each run of a fresh weighted mapping at its device, from
 * its first (aligned) page. */
static int placement_place_runs(const struct aml_placement_request *r,
                                char *ptr,
                                size_t size,
                                size_t page)
{
	for (size_t done = 0, d = 0; done < size; d = (d + 1) % r->nruns) {
		size_t run = r->weights[d] * page;
		run = run < size - done ? run : size - done;
		int index =
		        aml_topology_index_of(r->topology, r->run_devices[d]);
		int err = aml_topology_rebind(r->topology, ptr + done, run,
		                              (size_t)index);
		if (err != 0)
			return err;
		done += run;
	}
	return 0;
}

/* Step 3: the raw mapping of @p size bytes (a weighted one BIND over its
 * set, until step 5 places its runs). A file range is mapped aligned by the
 * backend: over-mapping it would shift the offset the aligned start maps. */
static void *placement_raw_map(const struct aml_placement_request *r,
                               const struct aml_bitmap *nodes,
                               size_t size,
                               size_t page,
                               size_t alignment)
{
	const struct aml_topology *t = r->topology;
	bool weighted = r->policy == AML_POLICY_WEIGHTED_INTERLEAVE;
	enum aml_policy policy = weighted ? AML_POLICY_BIND : r->policy;
	if (r->file != NULL)
		return t->ops->map_file_nodes(t, nodes, policy, size, alignment,
		                              r->file->fd, r->file->offset,
		                              r->file->shared);
	if (page > aml_page_size())
		return t->ops->map_nodes_hugetlb(t, nodes, policy, size, page);
	return t->ops->map_nodes(t, nodes, policy, size);
}

/*
 * Step 4: give back the @p extra bytes that an alignment over-mapped around
 * [ptr, ptr + size) in the mapping at @p raw: the head, then the tail. On
 * error, what is left of the mapping is released whole (which never needs
 * a split), so nothing stays mapped.
 */
static int placement_trim(const struct aml_placement_request *r,
                          char *raw,
                          char *ptr,
                          size_t size,
                          size_t extra)
{
	size_t head = (size_t)(ptr - raw), tail = extra - head;
	int err = head != 0 ? placement_release(r, raw, head) : 0;
	if (err != 0) {
		placement_release(r, raw, size + extra);
		return err;
	}
	err = tail != 0 ? placement_release(r, ptr + size, tail) : 0;
	if (err != 0) {
		placement_release(r, ptr, size + tail);
		return err;
	}
	return 0;
}

/* The pages of a request's unit: its huge page for hugetlb, else the base
 * page; and the least alignment its kind needs into *alignment. */
static size_t placement_unit(const struct aml_placement_request *r,
                             size_t *alignment)
{
	size_t page = aml_hugetlb_size(r->pages);
	if (page == 0)
		page = aml_page_size();
	*alignment = r->alignment > page ? r->alignment : page;
	if (r->pages == AML_PAGE_TRANSPARENT_HUGE && r->topology != NULL &&
	    r->topology->ops->advise_huge != NULL &&
	    *alignment < aml_thp_size())
		*alignment = aml_thp_size();
	return page;
}

/* Step 1's rounding, to whole units of @p page bytes. */
static int placement_round(size_t size, size_t page, size_t *out)
{
	if (size == 0 || size > SIZE_MAX - (page - 1))
		return AML_EINVAL;
	*out = (size + page - 1) & ~(page - 1);
	return 0;
}

/* The one device every page of the map must be on (BIND to one device),
 * or -1: what aml_topology_usage() counts per device as bound. */
static int placement_bound_to(const struct aml_placement_request *r)
{
	if (r->policy != AML_POLICY_BIND || r->set == NULL ||
	    aml_bitmap_count(r->set) != 1)
		return -1;
	return aml_bitmap_first(r->set);
}

void *aml_placement_map(const struct aml_placement_request *r)
{
	size_t size, alignment, page = placement_unit(r, &alignment);
	struct aml_bitmap nodes;
	int err = placement_round(r->size, page, &size);
	if (err == 0 && size > SIZE_MAX - alignment)
		err = AML_EINVAL;
	size_t extra = r->file == NULL ? alignment - page : 0;
	if (err == 0 && r->topology == NULL)
		err = AML_EINVAL;
	if (err == 0)
		err = placement_check_topology(r, size + extra, page, &nodes);
	char *raw = err == 0 ? placement_raw_map(r, &nodes, size + extra, page,
	                                         alignment)
	                     : NULL;
	if (raw == NULL) {
		if (err != 0)
			aml_errno = err;
		return NULL;
	}
	uintptr_t aligned =
	        ((uintptr_t)raw + alignment - 1) & ~(uintptr_t)(alignment - 1);
	char *ptr = (char *)aligned;
	err = extra != 0 ? placement_trim(r, raw, ptr, size, extra) : 0;
	if (err != 0) {
		aml_errno = err;
		return NULL;
	}
	const struct aml_topology *t = r->topology;
	if (r->pages == AML_PAGE_TRANSPARENT_HUGE && t->ops->advise_huge)
		err = t->ops->advise_huge(t, ptr, size);
	if (err == 0 && r->policy == AML_POLICY_WEIGHTED_INTERLEAVE)
		err = placement_place_runs(r, ptr, size, page);
	if (err == 0 && r->populate)
		err = aml_topology_populate(t, ptr, size);
	if (err == 0)
		err = aml_rangeset_insert_units(t->maps, ptr, size, r->owner,
		                                page > aml_page_size() ? page
		                                                       : 0,
		                                placement_bound_to(r));
	if (err != 0) {
		placement_release(r, ptr, size);
		aml_errno = err;
		return NULL;
	}
	return ptr;
}

static int placement_release_recorded(void *ptr, size_t size, const void *arg)
{
	const struct aml_topology *t = arg;
	return t->ops->unmap_nodes(t, ptr, size);
}

int aml_placement_unmap(const struct aml_topology *topology,
                        const void *owner,
                        void *ptr,
                        size_t size)
{
	/* Released and forgotten under the registry's lock: the backend may
	 * hand the address to another thread's map as soon as it is
	 * released, and that map must not find it still recorded. A part of
	 * a map where the topology unmaps whole maps only, a backend that
	 * refuses, or a split of the record that needs memory, leaves both
	 * the pages and the record. */
	return aml_rangeset_remove_owned(
	        topology->maps, ptr, size,
	        aml_topology_unmaps_whole_only(topology), owner,
	        placement_release_recorded, topology);
}

void aml_placement_disown(const struct aml_topology *topology,
                          const void *owner)
{
	aml_rangeset_reown(topology->maps, owner, topology);
}
