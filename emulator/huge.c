/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Huge pages of emulated maps (docs/emulator.md, "Huge pages"): the memory
 * of a hugetlb map, aligned as MAP_HUGETLB aligns it; the pools' check at
 * map time; a pool's size set at run time; and the widening of a move to
 * whole huge pages. Where a unit goes is placement.c's (emu_unit_of()).
 */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>

#include <aml/emulator.h>
#include <aml/error.h>

#include "aml/src/device/spi.h"
#include "aml/src/error_detail.h"
#include "aml/src/os.h"
#include "emulator/emulator_internal.h"

/* Anonymous memory for a mapping of size bytes (aligned to align, a
 * hugetlb map's huge page, as MAP_HUGETLB gives it): the mapping, or NULL
 * with *err set. MAP_NORESERVE: an emulated 16 GiB tier, or a map of
 * 1 GiB pages, costs this machine only the pages a test touches (and the
 * alignment, address space only). */
void *emu_map_memory(size_t size, size_t align, int *err)
{
	size_t extra = align;
	char *raw = mmap(NULL, size + extra, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		*err = aml_os_error(errno, AML_ENOMEM);
		return NULL;
	}
	if (extra == 0)
		return raw;
	uintptr_t at = ((uintptr_t)raw + extra - 1) & ~(uintptr_t)(extra - 1);
	size_t head = at - (uintptr_t)raw;
	if (head != 0)
		munmap(raw, head);
	if (extra - head != 0)
		munmap((char *)at + size, extra - head);
	return (void *)at;
}

/* The names of each pool's huge page, and its spec key. */
static const char *const emu_pool_names[EMU_POOLS] = {"2 MiB", "1 GiB"};
static const char *const emu_pool_keys[EMU_POOLS] = {"hugepages_2m",
                                                     "hugepages_1g"};

/* Free hugetlb pages of pool over the devices of set. */
static uint64_t
emu_set_huge_free(const struct emu_machine *m, enum emu_pool pool, uint64_t set)
{
	uint64_t free = 0;
	for (size_t d = 0; d < m->ndevices; d++) {
		if (set >> d & 1)
			free += m->devices[d].huge_pool[pool] -
			        m->devices[d].huge_used[pool];
	}
	return free;
}

/* A hugetlb map the pools cannot give: the kernel reserves its huge pages
 * at map time, from the pool of the bound devices under BIND (and never
 * makes surplus gigantic pages: alloc_surplus_huge_page() refuses them,
 * so a map of 1 GiB pages has its pools and nothing more, as the emulator
 * treats 2 MiB ones). Sets the reason and returns AML_ENOMEM, or 0. */
int emu_check_huge(const struct emu_machine *m,
                   enum emu_pool pool,
                   uint64_t bits,
                   enum aml_policy policy,
                   size_t npages)
{
	uint64_t set = policy == AML_POLICY_BIND ? bits : UINT64_MAX;
	uint64_t need = npages / m->pool_pages[pool];
	uint64_t free = emu_set_huge_free(m, pool, set);
	const char *name = emu_pool_names[pool];
	if (need <= free)
		return 0;
	if (free == 0 && emu_set_huge_free(m, pool, UINT64_MAX) == 0)
		return aml_error_explain(AML_ENOMEM,
		                         "hugetlb pages of %s: no %s "
		                         "huge pages reserved on the emulated "
		                         "machine (tier key %s)",
		                         name, name, emu_pool_keys[pool]);
	return aml_error_explain(
	        AML_ENOMEM,
	        "hugetlb pages of %s: %llu needed, "
	        "%llu free%s",
	        name, (unsigned long long)need, (unsigned long long)free,
	        policy == AML_POLICY_BIND ? " on the bound devices" : "");
}

/* The pool of device index set to pages (aml_emu_set_hugepages_2m() and
 * _1g()). */
static int emu_set_pool(const struct aml_topology *t,
                        enum emu_pool kind,
                        size_t index,
                        uint64_t pages,
                        uint64_t *reserved)
{
	struct emu_machine *m =
	        t != NULL ? aml_topology_impl_data(t, &aml_emu_topology_ops)
	                  : NULL;
	if (m == NULL)
		return AML_EINVAL;
	if (index >= m->ndevices)
		return AML_EDOM;
	pthread_rwlock_wrlock(&m->lock);
	struct emu_device_state *d = &m->devices[index];
	uint64_t used = d->huge_used[kind];
	uint64_t pool = pages > used ? pages : used;
	if (pool > d->huge_pool[kind]) {
		/* Grown by what the device's free memory holds, as the
		 * kernel allocates fresh huge pages on the node (for 1 GiB
		 * ones, alloc_contig_pages() where the node has a free,
		 * movable 1 GiB range: the emulator has no fragmentation). */
		uint64_t fit = emu_device_room(m, index) / m->pool_pages[kind];
		if (pool - d->huge_pool[kind] > fit)
			pool = d->huge_pool[kind] + fit;
	}
	d->huge_pool[kind] = pool;
	pthread_rwlock_unlock(&m->lock);
	if (reserved != NULL)
		*reserved = pool;
	return 0;
}

int aml_emu_set_hugepages_2m(const struct aml_topology *t,
                             size_t index,
                             uint64_t pages,
                             uint64_t *reserved)
{
	return emu_set_pool(t, EMU_POOL_2M, index, pages, reserved);
}

int aml_emu_set_hugepages_1g(const struct aml_topology *t,
                             size_t index,
                             uint64_t pages,
                             uint64_t *reserved)
{
	return emu_set_pool(t, EMU_POOL_1G, index, pages, reserved);
}

/* The hugetlb map holding addr, when addr is inside (not at the start of)
 * one of its huge pages; else NULL. */
static const struct emu_mapping *emu_inside_hugetlb(const struct emu_machine *m,
                                                    uintptr_t addr)
{
	const struct emu_mapping *map = emu_pagetable_find(&m->table, addr);
	if (map == NULL || !map->hugetlb)
		return NULL;
	size_t bytes = map->unit << m->page_shift;
	return addr & (bytes - 1) ? map : NULL;
}

/* A THP moves whole: mbind() splits the VMA at an unaligned end, and the
 * kernel migrates the huge page that straddles it whole (it splits it only
 * when the target has no free huge page: the emulator then moves nothing
 * of it). A hugetlb VMA cannot be split inside a huge page: mbind() fails
 * with EINVAL before anything moves. Write lock held. */
int emu_round_units(const struct emu_machine *m, uintptr_t *start, size_t *size)
{
	uintptr_t end = *start + *size;
	const struct emu_mapping *cut = emu_inside_hugetlb(m, *start);
	if (cut == NULL)
		cut = emu_inside_hugetlb(m, end);
	if (cut != NULL)
		return aml_error_explain(AML_EINVAL,
		                         "a move of part of a %s hugetlb "
		                         "page: its ends must be on huge pages",
		                         emu_pool_names[cut->pool]);
	const struct emu_mapping *map = emu_pagetable_find(&m->table, *start);
	size_t first;
	if (map != NULL &&
	    emu_unit_of(m, map, (*start - map->start) >> m->page_shift,
	                &first) > 1)
		*start = map->start + (first << m->page_shift);
	map = emu_pagetable_find(&m->table, end - 1);
	if (map != NULL) {
		size_t n = emu_unit_of(m, map,
		                       (end - 1 - map->start) >> m->page_shift,
		                       &first);
		if (n > 1)
			end = map->start + ((first + n) << m->page_shift);
	}
	*size = end - *start;
	return 0;
}
