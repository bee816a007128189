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

/* Anonymous memory for a mapping of size bytes (hugetlb: aligned to the
 * huge page, as MAP_HUGETLB gives it): the mapping, or NULL with *err
 * set. MAP_NORESERVE: an emulated 16 GiB tier costs this machine only the
 * pages a test touches. */
void *emu_map_memory(size_t size, bool hugetlb, int *err)
{
	size_t extra = hugetlb ? EMU_HUGE_SIZE : 0;
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

/* Free hugetlb pages over the devices of set. */
static uint64_t emu_set_huge_free(const struct emu_machine *m, uint64_t set)
{
	uint64_t free = 0;
	for (size_t d = 0; d < m->ndevices; d++) {
		if (set >> d & 1)
			free += m->devices[d].huge_pool -
			        m->devices[d].huge_used;
	}
	return free;
}

/* A hugetlb map the pools cannot give: the kernel reserves its huge pages
 * at map time, from the pool of the bound devices under BIND. Sets the
 * reason and returns AML_ENOMEM, or 0. */
int emu_check_huge(const struct emu_machine *m,
                   uint64_t bits,
                   enum aml_policy policy,
                   size_t npages)
{
	uint64_t set = policy == AML_POLICY_BIND ? bits : UINT64_MAX;
	uint64_t need = npages / m->huge_pages;
	uint64_t free = emu_set_huge_free(m, set);
	if (need <= free)
		return 0;
	if (free == 0 && emu_set_huge_free(m, UINT64_MAX) == 0)
		return aml_error_explain(AML_ENOMEM,
		                         "hugetlb pages of 2 MiB: no 2 MiB "
		                         "huge pages reserved on the emulated "
		                         "machine (tier key hugepages_2m)");
	return aml_error_explain(
	        AML_ENOMEM,
	        "hugetlb pages of 2 MiB: %llu needed, "
	        "%llu free%s",
	        (unsigned long long)need, (unsigned long long)free,
	        policy == AML_POLICY_BIND ? " on the bound devices" : "");
}

int aml_emu_set_hugepages_2m(const struct aml_topology *t,
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
	uint64_t pool = pages > d->huge_used ? pages : d->huge_used;
	if (pool > d->huge_pool) {
		/* Grown by what the device's free memory holds, as the
		 * kernel allocates fresh huge pages on the node. */
		uint64_t fit = emu_device_room(m, index) / m->huge_pages;
		if (pool - d->huge_pool > fit)
			pool = d->huge_pool + fit;
	}
	d->huge_pool = pool;
	pthread_rwlock_unlock(&m->lock);
	if (reserved != NULL)
		*reserved = pool;
	return 0;
}

/* Is addr inside (not at the start of) a huge page of a hugetlb map? */
static bool emu_inside_hugetlb(const struct emu_machine *m, uintptr_t addr)
{
	const struct emu_mapping *map = emu_pagetable_find(&m->table, addr);
	return map != NULL && map->hugetlb && (addr & (EMU_HUGE_SIZE - 1));
}

/* A THP moves whole: mbind() splits the VMA at an unaligned end, and the
 * kernel migrates the huge page that straddles it whole (it splits it only
 * when the target has no free huge page: the emulator then moves nothing
 * of it). A hugetlb VMA cannot be split inside a huge page: mbind() fails
 * with EINVAL before anything moves. Write lock held. */
int emu_round_units(const struct emu_machine *m, uintptr_t *start, size_t *size)
{
	uintptr_t end = *start + *size;
	if (emu_inside_hugetlb(m, *start) || emu_inside_hugetlb(m, end))
		return aml_error_explain(
		        AML_EINVAL, "a move of part of a 2 MiB hugetlb "
		                    "page: its ends must be on huge pages");
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
