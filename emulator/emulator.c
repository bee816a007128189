/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Emulated machines: a topology whose devices are tiers of a spec, each
 * page of their mappings real anonymous memory of this machine, labelled in
 * a page table (pagetable.c) with the tier that holds it.
 *
 * Placement follows Linux 6.1, decided at map time for every page:
 *   BIND            the set's devices in the fallback order of the
 *                   calling CPU's device; AML_ENOMEM, and nothing
 *                   mapped, when they are full;
 *   PREFERRED       the device, then the others in its fallback order;
 *   PREFERRED_MANY  the set, then every other device, in the fallback
 *                   order of the calling CPU's device;
 *   INTERLEAVE      the page at virtual page number v on the set's
 *                   ((unsigned int)v mod n)-th device, as 6.1's
 *                   interleave_nid() picks it for an anonymous mapping; a
 *                   full one spills as PREFERRED would, as Linux's does.
 * The fallback orders are the kernel's zonelists, built as 6.1's
 * build_zonelists() builds them (emu_build_zonelists). A device's own maps
 * are BIND to it. Capacity is counted in pages per device.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <aml/device.h>
#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/device/spi.h"
#include "aml/src/os.h"
#include "emulator/emulator_internal.h"

int aml_topology_is_emulated(const struct aml_topology *t)
{
	if (t == NULL)
		return AML_EINVAL;
	return aml_topology_impl_data(t, &aml_emu_topology_ops) != NULL;
}

static struct emu_machine *emu_of(const struct aml_topology *t)
{
	return aml_topology_impl_data(t, &aml_emu_topology_ops);
}

/* ---- Placement ---- */

/* The device nearest the calling CPU: the one whose CPUs include it. */
static size_t emu_local_device(const struct emu_machine *m)
{
	int cpu = sched_getcpu();
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
static unsigned emu_distance(const struct emu_machine *m, size_t a, size_t b)
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
 * turns at the head of their group in the lists built after it. Once,
 * when the machine is made (create.c).
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

/* A placement being planned: pages taken per device, not yet committed. */
struct emu_plan {
	uint64_t take[AML_EMU_TIERS_MAX];
};

static bool
emu_has_room(const struct emu_machine *m, const struct emu_plan *p, size_t d)
{
	return m->devices[d].used_pages + p->take[d] <
	       m->devices[d].capacity_pages;
}

/* Place one page: the first device with room in fallback order from
 * `from`, within `allowed` if given. */
static int emu_place_page(const struct emu_machine *m,
                          struct emu_plan *p,
                          size_t from,
                          const struct aml_bitmap *allowed,
                          uint8_t *label)
{
	for (size_t i = 0; i < m->ndevices; i++) {
		size_t d = emu_order(m, from, i);
		if (allowed != NULL && aml_bitmap_is_set(allowed, d) != 1)
			continue;
		if (emu_has_room(m, p, d)) {
			p->take[d]++;
			*label = (uint8_t)d;
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
static size_t
emu_interleave_device(const struct aml_bitmap *set, size_t n, uintptr_t vpn)
{
	unsigned target = (unsigned)vpn % (unsigned)n;
	int d = aml_bitmap_first(set);
	for (unsigned j = 0; j < target; j++)
		d = aml_bitmap_next(set, (size_t)d);
	return (size_t)d;
}

/* Label the npages pages from start under policy over set. Reads counters
 * only: the plan is committed by the caller, so a failure changes nothing.
 * Write lock. */
static int emu_place(struct emu_machine *m,
                     const struct aml_bitmap *set,
                     enum aml_policy policy,
                     uintptr_t start,
                     size_t npages,
                     uint8_t *labels,
                     struct emu_plan *p)
{
	memset(p, 0, sizeof(*p));
	int err = 0;
	/* BIND and PREFERRED_MANY walk the local device's zonelist, as the
	 * kernel walks numa_node_id()'s, within the set then (PREFERRED_MANY)
	 * without it. */
	size_t local = emu_local_device(m);
	size_t n = (size_t)aml_bitmap_count(set);
	int first = aml_bitmap_first(set);
	for (size_t i = 0; i < npages && err == 0; i++) {
		switch (policy) {
		case AML_POLICY_BIND:
			err = emu_place_page(m, p, local, set, &labels[i]);
			break;
		case AML_POLICY_PREFERRED:
			err = emu_place_page(m, p, (size_t)first, NULL,
			                     &labels[i]);
			break;
		case AML_POLICY_LOCAL: /* placed now: the mapping thread's */
			err = emu_place_page(m, p, local, NULL, &labels[i]);
			break;
		case AML_POLICY_PREFERRED_MANY:
			err = emu_place_page(m, p, local, set, &labels[i]);
			if (err != 0)
				err = emu_place_page(m, p, local, NULL,
				                     &labels[i]);
			break;
		default: { /* AML_POLICY_INTERLEAVE */
			uintptr_t vpn = (start >> m->page_shift) + i;
			size_t d = emu_interleave_device(set, n, vpn);
			err = emu_place_page(m, p, d, NULL, &labels[i]);
			break;
		}
		}
	}
	return err;
}

static void emu_commit(struct emu_machine *m, const struct emu_plan *p)
{
	for (size_t d = 0; d < m->ndevices; d++) {
		struct emu_device_state *s = &m->devices[d];
		if (p->take[d] == 0)
			continue;
		s->used_pages += p->take[d];
		s->maps++;
		if (s->used_pages > s->peak_pages)
			s->peak_pages = s->used_pages;
	}
}

static void *emu_map(struct emu_machine *m,
                     const struct aml_bitmap *set,
                     enum aml_policy policy,
                     size_t size,
                     int owner)
{
	size_t npages = size / m->page_size;
	/* More than the whole machine can never be placed: say so before
	 * allocating a label per page of it. */
	uint64_t machine_pages = 0;
	for (size_t d = 0; d < m->ndevices; d++)
		machine_pages += m->devices[d].capacity_pages;
	if (npages > machine_pages) {
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	uint8_t *labels = malloc(npages);
	/* MAP_NORESERVE: an emulated 16 GiB tier costs this machine only
	 * the pages a test touches. */
	void *ptr = mmap(NULL, size, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int err = labels == NULL ? AML_ENOMEM : 0;
	if (ptr == MAP_FAILED)
		err = aml_os_error(errno, AML_ENOMEM);
	if (err == 0) {
		struct emu_plan plan;
		pthread_rwlock_wrlock(&m->lock);
		err = emu_place(m, set, policy, (uintptr_t)ptr, npages, labels,
		                &plan);
		struct emu_mapping map = {(uintptr_t)ptr, npages, owner,
		                          EMU_MIXED, labels};
		/* Only a complete plan has every label written. */
		if (err == 0) {
			emu_mapping_update_uniform(&map);
			err = emu_pagetable_insert(&m->table, &map);
		}
		if (err == 0)
			emu_commit(m, &plan);
		pthread_rwlock_unlock(&m->lock);
	}
	if (err != 0) {
		if (ptr != MAP_FAILED)
			munmap(ptr, size);
		free(labels);
		aml_errno = err;
		return NULL;
	}
	return ptr;
}

struct emu_release {
	void *ptr;
	size_t size;
};

/* The pages go under the write lock, with their record: released first, a
 * map on another thread could be given the address while the record still
 * claims it; recorded last, a munmap that fails (ENOMEM: Linux cannot split
 * the mapping) would leave pages nobody records. */
static int emu_release_pages(void *arg)
{
	const struct emu_release *r = arg;
	if (munmap(r->ptr, r->size) == 0)
		return 0;
	return aml_os_error(errno, errno == ENOMEM ? AML_ENOMEM : AML_EINVAL);
}

static int emu_unmap(struct emu_machine *m, void *ptr, size_t size, int owner)
{
	uintptr_t start = (uintptr_t)ptr;
	size_t npages = size / m->page_size;
	pthread_rwlock_wrlock(&m->lock);
	struct emu_mapping *map = emu_pagetable_find(&m->table, start);
	int err = AML_EINVAL;
	if (map != NULL && map->owner == owner &&
	    (start - map->start) / m->page_size + npages <= map->npages) {
		size_t first = (start - map->start) / m->page_size;
		uint64_t freed[AML_EMU_TIERS_MAX] = {0};
		for (size_t i = 0; i < npages; i++)
			freed[map->labels[first + i]]++;
		struct emu_release release = {ptr, size};
		err = emu_pagetable_cut(&m->table, map, first, npages,
		                        emu_release_pages, &release);
		for (size_t d = 0; err == 0 && d < m->ndevices; d++)
			m->devices[d].used_pages -= freed[d];
	}
	pthread_rwlock_unlock(&m->lock);
	return err;
}

/* ---- Device ops ---- */

static struct emu_device_state *emu_device(const struct aml_device *dev)
{
	return dev->data;
}

static void *emu_device_map(const struct aml_device *dev, size_t size)
{
	struct emu_device_state *d = emu_device(dev);
	struct aml_bitmap set;
	aml_bitmap_zero(&set);
	aml_bitmap_set(&set, d->index);
	return emu_map(d->machine, &set, AML_POLICY_BIND, size, (int)d->index);
}

static int
emu_device_unmap(const struct aml_device *dev, void *ptr, size_t size)
{
	struct emu_device_state *d = emu_device(dev);
	return emu_unmap(d->machine, ptr, size, (int)d->index);
}

/*
 * Count the pages of [start, start + npages pages) not yet on `to`, and
 * check that every page is emulated. Write lock held.
 */
static int emu_move_plan(const struct emu_machine *m,
                         uintptr_t start,
                         size_t npages,
                         size_t to,
                         uint64_t *moving)
{
	*moving = 0;
	for (size_t i = 0; i < npages; i++) {
		uintptr_t addr = start + i * m->page_size;
		const struct emu_mapping *map =
		        emu_pagetable_find(&m->table, addr);
		if (map == NULL)
			return AML_EINVAL; /* not emulated memory */
		if (map->labels[(addr - map->start) / m->page_size] != to)
			(*moving)++;
	}
	return 0;
}

/*
 * Relabel onto `to`, in address order, the pages not on it yet, up to
 * `room` of them, as the kernel's migrate_pages() goes through the pages
 * mbind() collected until it cannot allocate on the target; *moved says
 * how many moved. Counts what moves and what it costs: per source device,
 * its pages over min(read_bw(source), write_bw(to)), plus the highest
 * latency involved. Write lock held.
 */
static uint64_t emu_move_pages(struct emu_machine *m,
                               uintptr_t start,
                               size_t npages,
                               size_t to,
                               uint64_t room,
                               uint64_t *moved)
{
	uint64_t pages_from[AML_EMU_TIERS_MAX] = {0};
	*moved = 0;
	for (size_t i = 0; i < npages && *moved < room; i++) {
		uintptr_t addr = start + i * m->page_size;
		struct emu_mapping *map = emu_pagetable_find(&m->table, addr);
		uint8_t *label =
		        &map->labels[(addr - map->start) / m->page_size];
		if (*label == to)
			continue;
		pages_from[*label]++;
		m->devices[*label].used_pages--;
		m->devices[*label].pages_moved_out++;
		*label = (uint8_t)to;
		(*moved)++;
	}
	/* Each mapping the range crosses may have become (or stopped being)
	 * uniform. */
	uintptr_t end = start + npages * m->page_size;
	for (uintptr_t addr = start; addr < end;) {
		struct emu_mapping *map = emu_pagetable_find(&m->table, addr);
		emu_mapping_update_uniform(map);
		addr = map->start + map->npages * m->page_size;
	}
	const struct aml_emu_tier *dst = &m->spec.tiers[to];
	uint64_t ns = 0, latency = 0;
	for (size_t s = 0; s < m->ndevices; s++) {
		if (pages_from[s] == 0)
			continue;
		const struct aml_emu_tier *src = &m->spec.tiers[s];
		uint64_t bw = src->read_bw < dst->write_bw ? src->read_bw
		                                           : dst->write_bw;
		uint64_t run =
		        emu_transfer_ns(pages_from[s] * m->page_size, bw);
		emu_atomic_sat_add(&m->devices[s].modelled_ns, run);
		ns = emu_sat_add(ns, run);
		if (src->read_latency_ns > latency)
			latency = src->read_latency_ns;
	}
	if (ns == 0)
		return 0;
	if (dst->write_latency_ns > latency)
		latency = dst->write_latency_ns;
	ns = emu_sat_add(ns, latency);
	emu_atomic_sat_add(&m->devices[to].modelled_ns, ns);
	return ns;
}

/*
 * As mbind(MPOL_BIND, MPOL_MF_MOVE | MPOL_MF_STRICT) does it (the numa
 * backend's move): a range with unemulated pages is refused before
 * anything moves (EFAULT); else pages move in address order until the
 * target is full, those moved stay moved, and the rest stay where they
 * were, which the kernel reports as EIO (the numa backend's AML_FAILURE),
 * even when not one page could move.
 */
static int emu_device_move(const struct aml_device *dev, void *ptr, size_t size)
{
	struct emu_device_state *d = emu_device(dev);
	struct emu_machine *m = d->machine;
	size_t npages = size / m->page_size;
	uint64_t start_ns = emu_delaying(m) ? emu_now_ns() : 0;
	uint64_t moving, moved = 0, ns = 0;
	pthread_rwlock_wrlock(&m->lock);
	int err = emu_move_plan(m, (uintptr_t)ptr, npages, d->index, &moving);
	if (err == 0) {
		uint64_t room = d->capacity_pages - d->used_pages;
		ns = emu_move_pages(m, (uintptr_t)ptr, npages, d->index, room,
		                    &moved);
		d->used_pages += moved;
		d->pages_moved_in += moved;
		if (d->used_pages > d->peak_pages)
			d->peak_pages = d->used_pages;
		if (moved < moving)
			err = AML_FAILURE;
	}
	pthread_rwlock_unlock(&m->lock);
	/* Charged outside the lock: delay mode waits here. */
	if (ns != 0)
		emu_clock_advance(m, ns, start_ns);
	return err;
}

static int emu_device_free_bytes(const struct aml_device *dev, size_t *out)
{
	struct emu_device_state *d = emu_device(dev);
	struct emu_machine *m = d->machine;
	pthread_rwlock_rdlock(&m->lock);
	*out = (size_t)(d->capacity_pages - d->used_pages) * m->page_size;
	pthread_rwlock_unlock(&m->lock);
	return 0;
}

static const struct aml_device_ops emu_device_ops = {
        .map = emu_device_map,
        .unmap = emu_device_unmap,
        .move = emu_device_move,
        .free_bytes = emu_device_free_bytes,
};

/* ---- Topology ops ---- */

static int emu_locate(const struct aml_topology *t,
                      const void *ptr,
                      size_t npages,
                      int *numa_ids)
{
	struct emu_machine *m = emu_of(t);
	pthread_rwlock_rdlock(&m->lock);
	const struct emu_mapping *map = NULL;
	/* Outside emulated mappings there is no emulated device: as on
	 * Linux, AML_ENODEV if mapped, AML_EINVAL if not. */
	for (size_t i = 0; i < npages; i++) {
		uintptr_t addr = (uintptr_t)ptr + i * m->page_size;
		if (map == NULL ||
		    addr >= map->start + map->npages * m->page_size)
			map = emu_pagetable_find(&m->table, addr);
		numa_ids[i] =
		        map != NULL
		                ? map->labels[(addr - map->start) /
		                              m->page_size]
		                : aml_page_without_device((const void *)addr);
	}
	pthread_rwlock_unlock(&m->lock);
	return 0;
}

static int emu_device_init(struct aml_device *dev)
{
	dev->ops = &emu_device_ops; /* data was set before the device was
	                             * added: it points into the machine */
	return 0;
}

static void emu_device_fini(struct aml_device *dev)
{
	(void)dev; /* the machine owns everything; fini releases it */
}

static void *emu_map_nodes(const struct aml_topology *t,
                           const struct aml_bitmap *nodes,
                           enum aml_policy policy,
                           size_t size)
{
	/* Emulated NUMA ids are device indices. */
	return emu_map(emu_of(t), nodes, policy, size, EMU_OWNER_TOPOLOGY);
}

static int emu_unmap_nodes(const struct aml_topology *t, void *ptr, size_t size)
{
	return emu_unmap(emu_of(t), ptr, size, EMU_OWNER_TOPOLOGY);
}

/* Relabel fresh pages, capacity permitting, without counting a migration:
 * a weighted interleave placing its runs, not a move. */
static int
emu_rebind(const struct aml_topology *t, void *ptr, size_t size, int numa_id)
{
	struct emu_machine *m = emu_of(t);
	size_t to = (size_t)numa_id, npages = size / m->page_size;
	uint64_t moving = 0;
	pthread_rwlock_wrlock(&m->lock);
	int err = emu_move_plan(m, (uintptr_t)ptr, npages, to, &moving);
	struct emu_device_state *d = &m->devices[to];
	if (err == 0 && d->used_pages + moving > d->capacity_pages)
		err = AML_ENOMEM;
	for (size_t i = 0; err == 0 && i < npages; i++) {
		uintptr_t addr = (uintptr_t)ptr + i * m->page_size;
		struct emu_mapping *map = emu_pagetable_find(&m->table, addr);
		uint8_t *label =
		        &map->labels[(addr - map->start) / m->page_size];
		m->devices[*label].used_pages--;
		*label = (uint8_t)to;
		d->used_pages++;
		if (i + 1 == npages)
			emu_mapping_update_uniform(map);
	}
	if (err == 0 && d->used_pages > d->peak_pages)
		d->peak_pages = d->used_pages;
	pthread_rwlock_unlock(&m->lock);
	return err;
}

static void emu_machine_free(struct emu_machine *m)
{
	/* Mappings still live belong to devices: release them with it. */
	for (size_t i = 0; i < m->table.count; i++) {
		const struct emu_mapping *map = &m->table.mappings[i];
		munmap((void *)map->start, map->npages * m->page_size);
	}
	emu_pagetable_fini(&m->table);
	emu_clock_fini(m);
	pthread_rwlock_destroy(&m->lock);
	free(m);
}

static void emu_fini(void *data)
{
	if (data != NULL)
		emu_machine_free(data);
}

const struct aml_topology_ops aml_emu_topology_ops = {
        .locate = emu_locate,
        .device_init = emu_device_init,
        .device_fini = emu_device_fini,
        .map_nodes = emu_map_nodes,
        .unmap_nodes = emu_unmap_nodes,
        .rebind = emu_rebind,
        .fini = emu_fini,
};
