/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where a page of an emulated mapping goes, as Linux 6.1 decides it when the
 * page is first touched (or, with placement=map, when it is mapped):
 *   BIND            the set's devices in the fallback order of the
 *                   touching CPU's device; none with room is where the
 *                   kernel calls the OOM killer;
 *   PREFERRED       the device, then the others in its fallback order;
 *   PREFERRED_MANY  the set, then every other device, in the fallback
 *                   order of the touching CPU's device;
 *   LOCAL           the touching CPU's device, then its fallback order;
 *   INTERLEAVE      the page at virtual page number v on the set's
 *                   ((unsigned int)v mod n)-th device, as 6.1's
 *                   interleave_nid() picks it for an anonymous mapping
 *                   (a hugetlb map's huge page by its number within the
 *                   map); a full one spills as PREFERRED would, as
 *                   Linux's does.
 * A page a move or a weighted run bound to one device before its first
 * touch is BIND to that device. The fallback orders are the kernel's
 * zonelists, built as 6.1's build_zonelists() builds them.
 */
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/bitmap.h>
#include <aml/error.h>

#include "emulator/emulator_internal.h"

size_t emu_cpu_device(const struct emu_machine *m, int cpu)
{
	for (size_t i = 0; cpu >= 0 && i < m->ndevices; i++) {
		if (aml_bitmap_is_set(&m->spec.tiers[i].cpus, (size_t)cpu) == 1)
			return i;
	}
	return 0;
}

/* Devices in fallback order from `from`: itself, then the others. */
static size_t emu_order(const struct emu_machine *m, size_t from, size_t i)
{
	return i == 0 ? from : m->fallback[from][i - 1];
}

/* Linux's node_distance(): the spec's matrix, or without one what Linux
 * reports for a machine without a SLIT (LOCAL_DISTANCE, REMOTE_DISTANCE). */
unsigned emu_distance(const struct emu_machine *m, size_t a, size_t b)
{
	if (m->spec.has_distances)
		return m->spec.distances[a][b];
	return a == b ? 10 : 20;
}

/* Linux's MAX_NUMNODES on Debian's 6.1 (CONFIG_NODES_SHIFT=10): scales the
 * distance so that node_load only breaks ties. */
#define EMU_MAX_NUMNODES 1024

/*
 * 6.1's find_next_best_node(): the unused device with the lowest
 * (distance + [n < from]) x MAX_NUMNODES + load[n], the lowest index among
 * equals; `from` itself first. The kernel also adds
 * PENALTY_FOR_NODE_WITH_CPUS for a node whose cpumask_of_node() is not
 * empty, but on x86 the zonelists are built at boot before any CPU is
 * added to its node's mask, so it never applies: the QEMU guest's "Fallback
 * order for Node" lines (dmesg) match this rule, and not the one with the
 * penalty, on 4-node machines with CPUs on nodes 0 and 1 only.
 */
static size_t emu_next_best(const struct emu_machine *m,
                            size_t from,
                            bool *used,
                            const unsigned *load)
{
	if (!used[from]) {
		used[from] = true;
		return from;
	}
	size_t best = m->ndevices;
	unsigned long best_val = 0;
	for (size_t n = 0; n < m->ndevices; n++) {
		if (used[n])
			continue;
		unsigned long val = emu_distance(m, from, n);
		val += n < from; /* "prefer the next node" */
		val = val * EMU_MAX_NUMNODES + load[n];
		if (best == m->ndevices || val < best_val) {
			best = n;
			best_val = val;
		}
	}
	used[best] = true;
	return best;
}

/*
 * Every device's fallback order, as 6.1's __build_all_zonelists() builds
 * every node's zonelist at boot: in node order, with node_load shared by
 * all of them, so that each node's list raises the load of the first node
 * of every new distance group it meets, and nodes at equal distance take
 * turns at the head of their group in the lists built after it.
 */
void emu_build_zonelists(struct emu_machine *m)
{
	unsigned load[AML_EMU_TIERS_MAX] = {0};
	for (size_t from = 0; from < m->ndevices; from++) {
		bool used[AML_EMU_TIERS_MAX] = {false};
		size_t prev = from;
		for (size_t i = 0; i < m->ndevices; i++) {
			size_t n = emu_next_best(m, from, used, load);
			if (emu_distance(m, from, n) !=
			    emu_distance(m, from, prev))
				load[n]++;
			if (i > 0)
				m->fallback[from][i - 1] = (uint8_t)n;
			prev = n;
		}
	}
}

uint64_t emu_device_room(const struct emu_machine *m, size_t d)
{
	const struct emu_device_state *s = &m->devices[d];
	uint64_t held = s->used_pages;
	for (size_t k = 0; k < EMU_POOLS; k++)
		held += (s->huge_pool[k] - s->huge_used[k]) * m->pool_pages[k];
	return held < s->capacity_pages ? s->capacity_pages - held : 0;
}

size_t emu_unit_of(const struct emu_machine *m,
                   const struct emu_mapping *map,
                   size_t index,
                   size_t *first)
{
	*first = index;
	if (map->unit <= 1)
		return 1;
	uintptr_t addr = map->start + (index << m->page_shift);
	uintptr_t head = addr & ~(uintptr_t)((map->unit << m->page_shift) - 1);
	if (head < map->start ||
	    (head - map->start) / m->page_size + map->unit > map->npages)
		return 1; /* an unaligned end: base pages, as THP gives */
	size_t from = (head - map->start) >> m->page_shift;
	for (size_t i = from; i < from + map->unit; i++) {
		if (map->labels[i] != map->labels[index])
			return 1;
	}
	*first = from;
	return map->unit;
}

/* The first device with room for `need` pages (for a hugetlb map, a free
 * huge page of its pool) in fallback order from `from`, within `allowed`
 * (a set of device bits): 0, or AML_ENOMEM. */
static int emu_walk(const struct emu_machine *m,
                    const struct emu_plan *p,
                    const struct emu_mapping *map,
                    size_t need,
                    size_t from,
                    uint64_t allowed,
                    size_t *device)
{
	for (size_t i = 0; i < m->ndevices; i++) {
		size_t d = emu_order(m, from, i);
		if (!(allowed >> d & 1))
			continue;
		const struct emu_device_state *s = &m->devices[d];
		bool room =
		        map->hugetlb
		                ? s->huge_used[map->pool] + p->huge_take[d] <
		                          s->huge_pool[map->pool]
		                : p->take[d] + need <= emu_device_room(m, d);
		if (room) {
			*device = d;
			return 0;
		}
	}
	return AML_ENOMEM;
}

/*
 * The device of the page at virtual page number vpn of an interleaved
 * mapping: 6.1's interleave_nid() for an anonymous VMA, whose vm_pgoff is
 * its start's page number, so its offset is the page's own number;
 * offset_il_node() then truncates it to unsigned int and takes the set's
 * (offset mod n)-th node. 6.7 changed this formula: the emulator is 6.1.
 */
static size_t emu_interleave_device(uint64_t set, uintptr_t vpn)
{
	unsigned target = (unsigned)vpn % (unsigned)__builtin_popcountll(set);
	for (unsigned j = 0; j < target; j++)
		set &= set - 1;
	return (size_t)__builtin_ctzll(set);
}

int emu_place_page(const struct emu_machine *m,
                   const struct emu_plan *p,
                   const struct emu_mapping *map,
                   size_t index,
                   size_t need,
                   size_t local,
                   size_t *device)
{
	const uint64_t any = UINT64_MAX;
	uint8_t label = map->labels[index];
	if (label != EMU_UNPLACED) /* bound to one device */
		return emu_walk(m, p, map, need, local,
		                UINT64_C(1) << (label & ~EMU_UNPLACED_BOUND),
		                device);
	switch (map->policy) {
	case AML_POLICY_BIND:
		return emu_walk(m, p, map, need, local, map->set, device);
	case AML_POLICY_PREFERRED:
		return emu_walk(m, p, map, need,
		                (size_t)__builtin_ctzll(map->set), any, device);
	case AML_POLICY_PREFERRED_MANY:
		if (emu_walk(m, p, map, need, local, map->set, device) == 0)
			return 0;
		return emu_walk(m, p, map, need, local, any, device);
	case AML_POLICY_INTERLEAVE: {
		/* A huge page is interleaved by its own number: 6.1's
		 * interleave_nid() shifts the offset by the huge page's. The
		 * offset is vm_pgoff plus the page's within the VMA: the
		 * address's page number for anonymous memory (a THP's), but
		 * for MAP_HUGETLB, whose VMA maps a hugetlbfs file from 0, the
		 * page's number within the map: each hugetlb map starts on
		 * the set's first device (the 3-node guest, docs/vm.md). */
		uintptr_t addr = map->start + (index << m->page_shift);
		uintptr_t vpn = map->hugetlb ? (map->pgoff + index) / map->unit
		                : need > 1   ? addr / EMU_HUGE_SIZE
		                             : addr >> m->page_shift;
		return emu_walk(m, p, map, need,
		                emu_interleave_device(map->set, vpn), any,
		                device);
	}
	default: /* AML_POLICY_LOCAL */
		return emu_walk(m, p, map, need, local, any, device);
	}
}

static const char *emu_policy_name(enum aml_policy policy)
{
	switch (policy) {
	case AML_POLICY_BIND:
		return "BIND";
	case AML_POLICY_PREFERRED:
		return "PREFERRED";
	case AML_POLICY_PREFERRED_MANY:
		return "PREFERRED_MANY";
	case AML_POLICY_INTERLEAVE:
		return "INTERLEAVE";
	default:
		return "LOCAL";
	}
}

/* Where Linux calls the OOM killer, the program stops: a test must never
 * pass where the kernel kills it. Says which page, under which policy,
 * over which devices, and how full they are. */
static _Noreturn void emu_out_of_memory(const struct emu_machine *m,
                                        const struct emu_mapping *map,
                                        size_t index)
{
	uint8_t label = map->labels[index];
	bool bound = label != EMU_UNPLACED;
	uint64_t set = bound ? UINT64_C(1) << (label & ~EMU_UNPLACED_BOUND)
	               : map->policy == AML_POLICY_BIND ? map->set
	                                                : UINT64_MAX;
	fprintf(stderr,
	        "aml emulator: out of memory: page %zu (%p) of a mapping "
	        "under %s%s found no room on",
	        index, (void *)(map->start + index * m->page_size),
	        bound ? "BIND" : emu_policy_name(map->policy),
	        bound ? " (a move or a weighted run bound it)" : "");
	for (size_t d = 0; d < m->ndevices; d++) {
		if (set >> d & 1)
			fprintf(stderr,
			        " %s (%" PRIu64 " of %" PRIu64 " pages)",
			        m->spec.tiers[d].name, m->devices[d].used_pages,
			        m->devices[d].capacity_pages);
	}
	fprintf(stderr, ": Linux would call the OOM killer here, so the "
	                "emulator stops the program\n");
	abort();
}

size_t emu_place_where(const struct emu_machine *m,
                       const struct emu_mapping *map,
                       size_t index,
                       size_t local)
{
	struct emu_plan empty = {{0}, {0}};
	size_t d = 0, first, n = emu_unit_of(m, map, index, &first);
	if (emu_place_page(m, &empty, map, index, n, local, &d) != 0 && n > 1 &&
	    !map->hugetlb)
		emu_place_page(m, &empty, map, index, 1, local, &d);
	return d;
}

size_t emu_local_device(const struct emu_machine *m)
{
	return emu_cpu_device(m, sched_getcpu());
}

int emu_place_try(struct emu_machine *m,
                  struct emu_mapping *map,
                  size_t index,
                  size_t local,
                  size_t *end)
{
	struct emu_plan empty = {{0}, {0}};
	size_t d, first, n = emu_unit_of(m, map, index, &first);
	int err = emu_place_page(m, &empty, map, index, n, local, &d);
	if (err != 0 && n > 1 && !map->hugetlb) {
		/* THP: no device has the huge page free, a base page will
		 * do. */
		first = index;
		n = 1;
		err = emu_place_page(m, &empty, map, index, n, local, &d);
	}
	if (err != 0)
		return AML_ENOMEM;
	struct emu_device_state *s = &m->devices[d];
	memset(&map->labels[first], (int)d, n);
	if (!(map->reached >> d & 1)) {
		map->reached |= UINT64_C(1) << d;
		s->maps++;
	}
	s->used_pages += n;
	s->huge_used[map->pool] += map->hugetlb;
	if (s->used_pages > s->peak_pages)
		s->peak_pages = s->used_pages;
	map->unplaced -= n;
	if (map->unplaced == 0)
		emu_mapping_update_uniform(map);
	if (end != NULL)
		*end = first + n;
	return 0;
}

size_t emu_place_now(struct emu_machine *m,
                     struct emu_mapping *map,
                     size_t index,
                     size_t local)
{
	size_t end;
	if (emu_place_try(m, map, index, local, &end) != 0)
		emu_out_of_memory(m, map, index);
	return end;
}
