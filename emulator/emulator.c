/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Emulated machines: a topology whose devices are tiers of a spec, each
 * page of their mappings real anonymous memory of this machine, labelled in
 * a page table (pagetable.c) with the tier that holds it.
 *
 * A page is placed as Linux 6.1 places it (placement.c): when first
 * touched (fault.c), or with placement=map (or where userfaultfd is not
 * allowed) when mapped. A device's own maps are BIND to it. A BIND map
 * larger than its devices' capacity is refused at once, as aml refuses it
 * on Linux; past their free memory, the touch that finds no room stops the
 * program where the kernel would call the OOM killer (placement=map: the
 * map fails with AML_ENOMEM). Capacity is counted in pages per device.
 * Maps of huge pages (THP, hugetlb 2 MiB and 1 GiB from the tiers' pools)
 * are placed, counted and moved in units of their huge page (placement.c,
 * huge.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <aml/device.h>
#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/device/spi.h"
#include "aml/src/error_detail.h"
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

int aml_emu_places_at_touch(const struct aml_topology *t)
{
	const struct emu_machine *m = t != NULL ? emu_of(t) : NULL;
	if (m == NULL)
		return AML_EINVAL;
	return m->at_touch;
}

/* ---- Maps ---- */

/* Bits of the devices in set (device indices are below 64). */
static uint64_t emu_set_bits(const struct aml_bitmap *set)
{
	uint64_t bits = 0;
	for (int d = aml_bitmap_first(set); d >= 0 && d < AML_EMU_TIERS_MAX;
	     d = aml_bitmap_next(set, (size_t)d))
		bits |= UINT64_C(1) << d;
	return bits;
}

/* placement=map: every page of map placed now, from the calling thread's
 * CPU, and counted; or AML_ENOMEM with nothing counted (the caller drops
 * the labels). Write lock held. */
static int emu_place_all(struct emu_machine *m, struct emu_mapping *map)
{
	struct emu_plan plan = {{0}, {0}};
	size_t local = emu_local_device(m);
	for (size_t i = 0; i < map->npages;) {
		size_t d, first, n = emu_unit_of(m, map, i, &first);
		int err = emu_place_page(m, &plan, map, i, n, local, &d);
		if (err != 0 && n > 1 && !map->hugetlb) {
			n = 1; /* THP without room: a base page */
			err = emu_place_page(m, &plan, map, i, n, local, &d);
		}
		if (err != 0) {
			/* Nothing counted: the labels go back too, so that
			 * a release of the mapping uncounts nothing. */
			memset(map->labels, EMU_UNPLACED, map->npages);
			return AML_ENOMEM;
		}
		plan.take[d] += n;
		plan.huge_take[d] += map->hugetlb;
		/* Read for pages [i, i + n) alone. */
		memset(&map->labels[i], (int)d, n);
		i += n;
	}
	for (size_t d = 0; d < m->ndevices; d++) {
		struct emu_device_state *s = &m->devices[d];
		if (plan.take[d] == 0)
			continue;
		s->used_pages += plan.take[d];
		s->huge_used[map->pool] += plan.huge_take[d];
		s->maps++;
		map->reached |= UINT64_C(1) << d;
		if (s->used_pages > s->peak_pages)
			s->peak_pages = s->used_pages;
	}
	map->unplaced = 0;
	emu_mapping_update_uniform(map);
	return 0;
}

/* Give back the capacity the placed pages among labels[0, npages) of a
 * map took (a hugetlb map's whole huge pages, from index 0). Write lock
 * held. */
static void emu_uncount(struct emu_machine *m,
                        const struct emu_mapping *map,
                        const uint8_t *labels,
                        size_t npages)
{
	for (size_t i = 0; i < npages; i++) {
		if (!emu_label_placed(labels[i]))
			continue;
		m->devices[labels[i]].used_pages--;
		if (map->hugetlb && i % map->unit == 0)
			m->devices[labels[i]].huge_used[map->pool]--;
	}
}

/* What the devices of set hold together, in pages. */
static uint64_t emu_set_capacity(const struct emu_machine *m, uint64_t set)
{
	uint64_t pages = 0;
	for (size_t d = 0; d < m->ndevices; d++) {
		if (set >> d & 1)
			pages += m->devices[d].capacity_pages;
	}
	return pages;
}

/* A page of a slab for a one-page mapping (placement at touch): one an
 * unmap gave back, or the newest slab's next page, a new slab made and
 * registered first if none has one. 0 with *out set, or an AML_E* code.
 * Write lock held. */
static int emu_map_page(struct emu_machine *m, void **out)
{
	*out = emu_slab_take(&m->slabs, m->uffd_pid);
	if (*out != NULL)
		return 0;
	size_t size = emu_slab_next_pages(&m->slabs) * m->page_size;
	void *slab = mmap(NULL, size, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (slab == MAP_FAILED)
		return aml_os_error(errno, AML_ENOMEM);
	/* Registering starts this process's fault thread: uffd_pid is set
	 * once it succeeds. */
	int err = emu_fault_register(m, slab, size);
	if (err == 0)
		err = emu_slab_add(&m->slabs, slab, size, m->uffd_pid);
	if (err != 0) {
		munmap(slab, size);
		return err;
	}
	*out = emu_slab_take(&m->slabs, m->uffd_pid);
	return 0;
}

/* A map of size bytes; hugetlb: of the hugetlb pages of pool, all placed
 * now (the kernel takes them from the pools when mapping, and the emulator
 * chooses their devices then too, from the mapping thread's CPU). */
static void *emu_map(struct emu_machine *m,
                     const struct aml_bitmap *set,
                     enum aml_policy policy,
                     size_t size,
                     int owner,
                     bool hugetlb,
                     enum emu_pool pool)
{
	size_t npages = size / m->page_size;
	uint64_t bits = emu_set_bits(set);
	/* What can never be placed is refused before a label is allocated:
	 * more than the whole machine, or a BIND past its devices' capacity
	 * (as aml refuses it on Linux). */
	uint64_t room = emu_set_capacity(
	        m, policy == AML_POLICY_BIND ? bits : UINT64_MAX);
	if (npages > room) {
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	struct emu_mapping map = {.npages = npages,
	                          .owner = owner,
	                          .uniform = EMU_MIXED,
	                          .policy = policy,
	                          .set = bits,
	                          .labels = malloc(npages),
	                          .unplaced = npages,
	                          .unit = hugetlb ? m->pool_pages[pool] : 1,
	                          .hugetlb = hugetlb,
	                          .pool = (uint8_t)pool};
	/* One-page mappings placed at touch are pages of slabs, registered
	 * already (slab.c): no system call. */
	bool slab_page = m->at_touch && npages == 1;
	void *ptr = NULL;
	int err = map.labels == NULL ? AML_ENOMEM : 0;
	if (err == 0 && !slab_page)
		ptr = emu_map_memory(
		        size, hugetlb ? map.unit * m->page_size : 0, &err);
	if (err == 0) {
		memset(map.labels, EMU_UNPLACED, npages);
		pthread_rwlock_wrlock(&m->lock);
		if (hugetlb)
			err = emu_check_huge(m, pool, bits, policy, npages);
		if (err == 0 && slab_page)
			err = emu_map_page(m, &ptr);
		else if (err == 0 && m->at_touch)
			err = emu_fault_register(m, ptr, size);
		map.start = (uintptr_t)ptr;
		if (err == 0 && (!m->at_touch || hugetlb))
			err = emu_place_all(m, &map);
		if (err == 0) {
			err = emu_pagetable_insert(&m->table, &map);
			if (err != 0)
				emu_uncount(m, &map, map.labels, npages);
			else
				emu_access_mapped(m, ptr, size);
		}
		/* A page nobody touched goes back as it came. */
		if (err != 0 && slab_page && ptr != NULL) {
			emu_slab_untake(&m->slabs, ptr);
			ptr = NULL;
		}
		pthread_rwlock_unlock(&m->lock);
	}
	if (err != 0) {
		if (ptr != NULL)
			munmap(ptr, size);
		free(map.labels);
		aml_errno = err;
		return NULL;
	}
	return ptr;
}

struct emu_release {
	struct emu_machine *machine;
	void *ptr;
	size_t size;
};

/* The pages go under the write lock, with their record: released first, a
 * map on another thread could be given the address while the record still
 * claims it; recorded last, a munmap that fails (ENOMEM: Linux cannot split
 * the mapping) would leave pages nobody records. A page of a slab is kept
 * for the next one-page map, its memory dropped (slab.c); with access
 * accounting on, it may be closed: it is opened again. */
static int emu_release_pages(void *arg)
{
	const struct emu_release *r = arg;
	struct emu_machine *m = r->machine;
	bool accounting = __atomic_load_n(&m->access, __ATOMIC_RELAXED);
	int kept = emu_slab_give(&m->slabs, m->uffd_pid, r->ptr, r->size,
	                         accounting);
	if (kept <= 0)
		return kept;
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
		for (size_t i = 0; i < npages; i++) {
			uint8_t label = map->labels[first + i];
			if (emu_label_placed(label))
				freed[label]++;
		}
		/* hugetlb: the placement layer unmaps whole huge pages. */
		size_t unit = map->hugetlb ? map->unit : 0;
		enum emu_pool pool = map->pool;
		emu_access_forget(m, start, size);
		struct emu_release release = {m, ptr, size};
		err = emu_pagetable_cut(&m->table, map, first, npages,
		                        emu_release_pages, &release);
		for (size_t d = 0; err == 0 && d < m->ndevices; d++) {
			m->devices[d].used_pages -= freed[d];
			if (unit != 0)
				m->devices[d].huge_used[pool] -=
				        freed[d] / unit;
		}
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
	return emu_map(d->machine, &set, AML_POLICY_BIND, size, (int)d->index,
	               false, EMU_POOL_2M);
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
		uint8_t label =
		        map->labels[(addr - map->start) >> m->page_shift];
		*moving += emu_label_placed(label) && label != to;
	}
	return 0;
}

/*
 * Relabel onto `to`, in address order, the pages not on it yet, up to
 * `room` of them, as the kernel's migrate_pages() goes through the pages
 * mbind() collected until it cannot allocate on the target; *moved says
 * how many moved. Pages nobody touched yet have nothing to move: they are
 * bound to `to` for their first touch, as mbind() sets the range's policy
 * before it migrates. Counts what moves and what it costs: per source
 * device, its pages over min(read_bw(source), write_bw(to)), plus the
 * highest latency involved. Write lock held.
 */
static uint64_t emu_move_pages(struct emu_machine *m,
                               uintptr_t start,
                               size_t npages,
                               size_t to,
                               uint64_t room,
                               uint64_t *moved)
{
	uint64_t pages_from[AML_EMU_TIERS_MAX] = {0};
	struct emu_device_state *dst_state = &m->devices[to];
	/* Pages of the target's free memory the move took. */
	uint64_t taken = 0;
	*moved = 0;
	/* A huge page moves whole, or not at all (the range was rounded out
	 * to whole huge pages): a THP needs the room for all its pages; a
	 * hugetlb page takes a free one of the target's pool, or else a fresh
	 * one from the target's free memory, which then joins the target's
	 * pool while the source's page leaves its pool for free memory. So
	 * 6.1 migrates it: alloc_hugetlb_folio_nodemask() falls back to
	 * alloc_migrate_huge_page() (a temporary page), and
	 * move_hugetlb_state() makes the old page the temporary one (the
	 * 3-node guest: 2 pages of node 1's pool moved to node 0, which had
	 * none, left node 0 a pool of 2 and node 1 none; docs/vm.md). A
	 * 1 GiB page has no such fallback: alloc_migrate_huge_page() returns
	 * NULL for a gigantic hstate, so it moves only into a free page of
	 * the target's pool, and otherwise stays where it is. */
	for (size_t i = 0, n; i < npages; i += n) {
		uintptr_t addr = start + i * m->page_size;
		struct emu_mapping *map = emu_pagetable_find(&m->table, addr);
		size_t index = (addr - map->start) >> m->page_shift, first;
		n = emu_unit_of(m, map, index, &first);
		if (first != index || n > npages - i)
			n = 1;
		uint8_t *label = &map->labels[index];
		uint8_t from = *label;
		if (!emu_label_placed(from)) {
			memset(label, EMU_UNPLACED_BOUND | (int)to, n);
			continue;
		}
		if (from == to)
			continue;
		size_t k = map->pool;
		bool whole = map->hugetlb && n == map->unit;
		bool fresh = map->hugetlb &&
		             dst_state->huge_used[k] == dst_state->huge_pool[k];
		if ((fresh && (!whole || k == EMU_POOL_1G)) ||
		    ((!map->hugetlb || fresh) && taken + n > room))
			continue;
		if (fresh) {
			dst_state->huge_pool[k]++;
			m->devices[from].huge_pool[k]--;
		}
		if (!map->hugetlb || fresh)
			taken += n;
		if (whole) {
			m->devices[from].huge_used[k]--;
			dst_state->huge_used[k]++;
		}
		pages_from[from] += n;
		m->devices[from].used_pages -= n;
		m->devices[from].pages_moved_out += n;
		memset(label, (int)to, n);
		*moved += n;
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
	uint64_t start_ns = emu_delaying(m) ? emu_now_ns() : 0;
	uint64_t moving, moved = 0, ns = 0;
	uintptr_t start = (uintptr_t)ptr;
	pthread_rwlock_wrlock(&m->lock);
	int err = emu_round_units(m, &start, &size);
	size_t npages = size / m->page_size;
	if (err == 0)
		err = emu_move_plan(m, start, npages, d->index, &moving);
	if (err == 0) {
		uint64_t room = emu_device_room(m, d->index);
		ns = emu_move_pages(m, start, npages, d->index, room, &moved);
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
	/* Free hugetlb pages are not free memory, as in MemFree. */
	*out = (size_t)emu_device_room(m, d->index) * m->page_size;
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
		if (map == NULL) {
			/* A page of a slab nobody maps is unmapped memory. */
			numa_ids[i] =
			        emu_slab_of(&m->slabs, addr) != NULL
			                ? AML_EINVAL
			                : aml_page_without_device((void *)addr);
			continue;
		}
		/* A page nobody touched has no memory, so no device: what
		 * move_pages(2) says of it on Linux. */
		uint8_t label =
		        map->labels[(addr - map->start) >> m->page_shift];
		numa_ids[i] = emu_label_placed(label) ? label : AML_ENODEV;
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
	return emu_map(emu_of(t), nodes, policy, size, EMU_OWNER_TOPOLOGY,
	               false, EMU_POOL_2M);
}

static int emu_unmap_nodes(const struct aml_topology *t, void *ptr, size_t size)
{
	return emu_unmap(emu_of(t), ptr, size, EMU_OWNER_TOPOLOGY);
}

/* Bind fresh pages to one device for their first touch (placement=map:
 * relabel them, capacity permitting), without counting a migration: a
 * weighted interleave placing its runs, not a move. */
static int
emu_rebind(const struct aml_topology *t, void *ptr, size_t size, int numa_id)
{
	struct emu_machine *m = emu_of(t);
	size_t to = (size_t)numa_id, npages = size / m->page_size;
	uint64_t moving = 0;
	pthread_rwlock_wrlock(&m->lock);
	int err = emu_move_plan(m, (uintptr_t)ptr, npages, to, &moving);
	struct emu_device_state *d = &m->devices[to];
	/* A fresh mapping: hugetlb (its runs are whole huge pages, placed
	 * already) takes the target's pool, any other its room. */
	const struct emu_mapping *fresh =
	        emu_pagetable_find(&m->table, (uintptr_t)ptr);
	bool hugetlb = fresh != NULL && fresh->hugetlb;
	size_t k = hugetlb ? fresh->pool : EMU_POOL_2M;
	if (err == 0 &&
	    (hugetlb ? moving / fresh->unit > d->huge_pool[k] - d->huge_used[k]
	             : moving > emu_device_room(m, to)))
		err = AML_ENOMEM;
	for (size_t i = 0; err == 0 && i < npages; i++) {
		uintptr_t addr = (uintptr_t)ptr + i * m->page_size;
		struct emu_mapping *map = emu_pagetable_find(&m->table, addr);
		size_t index = (addr - map->start) / m->page_size;
		uint8_t *label = &map->labels[index];
		if (!emu_label_placed(*label)) {
			*label = (uint8_t)(EMU_UNPLACED_BOUND | to);
			continue;
		}
		if (map->hugetlb && index % map->unit == 0 && *label != to) {
			m->devices[*label].huge_used[map->pool]--;
			d->huge_used[map->pool]++;
		}
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

/* Place every untouched page now, in order, from the calling thread's CPU:
 * what MADV_POPULATE_WRITE does on Linux, without a fault a page. Refused
 * with AML_ENOMEM where a page finds no room (aml checked free memory
 * first, so only another thread's maps get there first). */
static int emu_populate(const struct aml_topology *t, void *ptr, size_t size)
{
	struct emu_machine *m = emu_of(t);
	if (!m->at_touch)
		return 0; /* placed when mapped */
	pthread_rwlock_wrlock(&m->lock);
	int err = emu_fault_place_range(m, (uintptr_t)ptr, size, true);
	pthread_rwlock_unlock(&m->lock);
	return err;
}

static void *emu_map_nodes_hugetlb(const struct aml_topology *t,
                                   const struct aml_bitmap *nodes,
                                   enum aml_policy policy,
                                   size_t size,
                                   size_t page)
{
	if (page != EMU_HUGE_SIZE && page != EMU_GIG_SIZE) {
		/* The topology layer asks for 2 MiB or 1 GiB only; another
		 * size would be a page kind added without its pool. */
		aml_errno = AML_ENOTSUP;
		return NULL;
	}
	return emu_map(emu_of(t), nodes, policy, size, EMU_OWNER_TOPOLOGY, true,
	               page == EMU_GIG_SIZE ? EMU_POOL_1G : EMU_POOL_2M);
}

/*
 * Transparent huge pages on a fresh mapping: its aligned 2 MiB ranges
 * become units, placed whole at first touch. Placed at map time already
 * (placement=map), its pages are placed again, in units: nobody has
 * touched them, and the kernel would have given huge pages at the map's
 * population.
 */
static int emu_advise_huge(const struct aml_topology *t, void *ptr, size_t size)
{
	struct emu_machine *m = emu_of(t);
	int err = 0;
	pthread_rwlock_wrlock(&m->lock);
	struct emu_mapping *map = emu_pagetable_find(&m->table, (uintptr_t)ptr);
	if (map == NULL || map->hugetlb || map->start != (uintptr_t)ptr ||
	    map->npages != size / m->page_size) {
		err = AML_EINVAL; /* not a whole fresh mapping */
	} else if (m->huge_pages > 1 && map->unit == 1) {
		bool placed = map->unplaced == 0;
		if (placed) {
			emu_uncount(m, map, map->labels, map->npages);
			for (size_t d = 0; d < m->ndevices; d++)
				m->devices[d].maps -= map->reached >> d & 1;
			memset(map->labels, EMU_UNPLACED, map->npages);
			map->unplaced = map->npages;
			map->reached = 0;
		}
		map->unit = m->huge_pages;
		if (placed)
			err = emu_place_all(m, map);
	}
	pthread_rwlock_unlock(&m->lock);
	return err;
}

/* The emulator's page kinds: THP always (whatever the host's setting: the
 * machine is emulated), hugetlb of 2 MiB and 1 GiB (an empty pool is the
 * map's AML_ENOMEM, with the reason). */
static int emu_check_pages(const struct aml_topology *t,
                           enum aml_page_kind kind)
{
	(void)t;
	(void)kind;
	return 0;
}

static void emu_machine_free(struct emu_machine *m)
{
	emu_access_fini(m);
	emu_fault_fini(m);
	/* Mappings still live belong to devices: release them with it, those
	 * of slabs with their slabs. */
	for (const struct emu_mapping *map = emu_pagetable_next(&m->table, 0);
	     map != NULL; map = emu_pagetable_after(&m->table, map)) {
		if (emu_slab_of(&m->slabs, map->start) == NULL)
			munmap((void *)map->start, map->npages * m->page_size);
	}
	emu_slab_fini(&m->slabs);
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
        .populate = emu_populate,
        .fini = emu_fini,
        /* Huge pages of 2 MiB, transparent or hugetlb, and hugetlb pages
         * of 1 GiB (from the tiers' pools), placed and moved whole
         * (docs/emulator.md). */
        .map_nodes_hugetlb = emu_map_nodes_hugetlb,
        .advise_huge = emu_advise_huge,
        .check_pages = emu_check_pages,
        .map_file_nodes = NULL, /* its devices map anonymous memory */
};
