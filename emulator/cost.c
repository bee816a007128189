/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulator's cost model and statistics, and its public functions on
 * copies, charges, the clock and the mode (aml/emulator.h).
 *
 * Model (docs/emulator.md): a transfer of n bytes from device A to device B
 * costs latency + n / min(read_bw(A), write_bw(B)). A copy whose pages span
 * several devices is cut into maximal runs of one (source, destination)
 * pair: each run costs its bytes over its pair's bandwidth, and the copy
 * pays one latency, the highest of the devices it touches, because a
 * streaming copy overlaps the latencies of its runs. Times are integer
 * nanoseconds, each run rounded up, so the clock is deterministic.
 * Modelled times and the statistics saturate at UINT64_MAX rather than
 * wrap: a wrapped clock would run backwards, a saturated one only stops.
 *
 * A walk costs a run of pages on one device pair in one step wherever it
 * can: the rest of a mapping whose pages share a device, and everything up
 * to the next mapping outside the emulator. Only mixed mappings are walked
 * page by page, so the work is bounded by the emulated pages a range
 * meets, never by its size.
 *
 * Layers: this file uses the clock (clock.c) and asks emulator.c whether a
 * topology is emulated; neither calls back. The emulator's copier
 * (copier.c) calls emu_cost_copy() here.
 */
#include <stdlib.h>
#include <string.h>

#include <aml/device.h>
#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/device/spi.h"
#include "emulator/emulator_internal.h"

static struct emu_machine *cost_machine(const struct aml_topology *t)
{
	return aml_topology_impl_data(t, &aml_emu_topology_ops);
}

int aml_emu_set_mode(const struct aml_topology *t, enum aml_emu_mode mode)
{
	struct emu_machine *m = cost_machine(t);
	if (m == NULL || (mode != AML_EMU_ACCOUNT && mode != AML_EMU_DELAY))
		return AML_EINVAL;
	double dilation;
	if (mode == AML_EMU_DELAY) {
		int err = emu_clock_calibrate(m, &dilation);
		if (err != 0)
			return err;
	}
	if (mode == AML_EMU_DELAY &&
	    __atomic_load_n(&m->access, __ATOMIC_ACQUIRE) != NULL)
		emu_access_dilate(m);
	/* Release: publishes the dilation with the mode (emu_delaying). */
	__atomic_store_n(&m->mode, (int)mode, __ATOMIC_RELEASE);
	return 0;
}

int aml_emu_dilation(const struct aml_topology *t, double *out)
{
	struct emu_machine *m = cost_machine(t);
	if (m == NULL || out == NULL)
		return AML_EINVAL;
	return emu_clock_calibrate(m, out);
}

/* ---- Costs ---- */

/* What a transfer costs, and whom to charge. Per-device entries are valid
 * only for devices in `touched`: clearing 64 of each per copy cost more
 * than the rest of the bookkeeping. */
struct cost_tally {
	uint64_t ns;                           /* bandwidth time of all runs */
	uint64_t latency_ns;                   /* highest latency met */
	uint64_t touched;                      /* bit d: device d took part */
	uint64_t run_ns[AML_EMU_TIERS_MAX];    /* per device, both ends */
	uint64_t bytes_in[AML_EMU_TIERS_MAX];  /* written to the device */
	uint64_t bytes_out[AML_EMU_TIERS_MAX]; /* read from the device */
};

static void cost_touch(struct cost_tally *c, size_t d)
{
	if (c->touched & (1ULL << d))
		return;
	c->touched |= 1ULL << d;
	c->run_ns[d] = c->bytes_in[d] = c->bytes_out[d] = 0;
}

/* Follows one side of a transfer without searching the page table again
 * while it stays in [begin, end): the gap before a mapping, then the
 * mapping itself. */
struct cost_cursor {
	const struct emu_mapping *map; /* the first mapping ending after
	                                * begin, or NULL: none */
	uintptr_t begin;
	uintptr_t end; /* the end of map */
	/* The calling thread's device, asked at the first untouched page of
	 * the walk (-1 until then), not at each. */
	int local;
};

/*
 * The device holding addr, and in *span how many bytes from addr surely
 * share it: outside emulated mappings, device 0 up to the next mapping
 * (SIZE_MAX when there is none: the caller clips it to its range); the
 * rest of a uniform mapping (a device's own maps always are); else the
 * rest of the page.
 */
static size_t cost_label(const struct emu_machine *m,
                         struct cost_cursor *cur,
                         uintptr_t addr,
                         size_t *span)
{
	if (addr < cur->begin || addr >= cur->end) {
		cur->map = emu_pagetable_next(&m->table, addr);
		cur->begin = addr;
		cur->end = cur->map == NULL
		                   ? UINTPTR_MAX
		                   : cur->map->start +
		                             cur->map->npages * m->page_size;
	}
	const struct emu_mapping *map = cur->map;
	if (map == NULL) {
		*span = SIZE_MAX;
		return 0;
	}
	if (addr < map->start) {
		*span = map->start - addr;
		return 0;
	}
	if (map->uniform != EMU_MIXED) {
		*span = cur->end - addr;
		return (size_t)map->uniform;
	}
	*span = m->page_size - (addr & (m->page_size - 1));
	size_t index = (addr - map->start) >> m->page_shift;
	uint8_t label = map->labels[index];
	if (emu_label_placed(label))
		return label;
	/* Not touched yet: where a touch from this CPU would place it. */
	if (cur->local < 0)
		cur->local = (int)emu_local_device(m);
	return emu_place_where(m, map, index, (size_t)cur->local);
}

/* A run of bytes on one (source, destination) pair is complete: cost it
 * once, so that a homogeneous copy is exactly latency + n / bandwidth. */
static void cost_flush(struct cost_tally *c,
                       const struct emu_machine *m,
                       size_t s,
                       size_t d,
                       uint64_t bytes,
                       int access)
{
	if (bytes == 0)
		return;
	const struct aml_emu_tier *a = &m->spec.tiers[s];
	const struct aml_emu_tier *b = &m->spec.tiers[d];
	bool copy = access == 0, write = access == AML_EMU_WRITE;
	uint64_t bw =
	        copy ? (a->read_bw < b->write_bw ? a->read_bw : b->write_bw)
	             : (write ? a->write_bw : a->read_bw);
	uint64_t ns = emu_transfer_ns(bytes, bw);
	cost_touch(c, s);
	cost_touch(c, d);
	c->ns = emu_sat_add(c->ns, ns);
	c->run_ns[s] = emu_sat_add(c->run_ns[s], ns);
	if (d != s)
		c->run_ns[d] = emu_sat_add(c->run_ns[d], ns);
	if (copy || !write)
		c->bytes_out[s] += bytes;
	if (copy || write)
		c->bytes_in[d] += bytes;
	uint64_t latency = write ? a->write_latency_ns : a->read_latency_ns;
	if (copy && b->write_latency_ns > latency)
		latency = b->write_latency_ns;
	c->latency_ns = latency > c->latency_ns ? latency : c->latency_ns;
}

/*
 * Walk [0, size) in maximal runs of one (source, destination) device pair
 * and cost each. access 0 is a copy from src to dst; AML_EMU_READ or
 * AML_EMU_WRITE is an access of src alone (a charge). Read lock held.
 */
static void cost_walk(const struct emu_machine *m,
                      uintptr_t dst,
                      uintptr_t src,
                      size_t size,
                      int access,
                      struct cost_tally *c)
{
	c->ns = c->latency_ns = c->touched = 0;
	/* begin > end: empty, so that the first label searches. */
	struct cost_cursor src_cur = {.begin = 1, .local = -1},
	                   dst_cur = {.begin = 1, .local = -1};
	size_t run_s = 0, run_d = 0;
	uint64_t run_bytes = 0;
	for (size_t done = 0; done < size;) {
		size_t step, dst_step;
		size_t s = cost_label(m, &src_cur, src + done, &step);
		size_t d = s;
		if (access == 0) {
			d = cost_label(m, &dst_cur, dst + done, &dst_step);
			step = dst_step < step ? dst_step : step;
		}
		step = step < size - done ? step : size - done;
		if (run_bytes != 0 && (s != run_s || d != run_d)) {
			cost_flush(c, m, run_s, run_d, run_bytes, access);
			run_bytes = 0;
		}
		run_s = s;
		run_d = d;
		run_bytes += step;
		done += step;
	}
	cost_flush(c, m, run_s, run_d, run_bytes, access);
}

/* Credit a tally to the devices' statistics. */
static void cost_record(struct emu_machine *m, const struct cost_tally *c)
{
	for (uint64_t left = c->touched; left != 0; left &= left - 1) {
		size_t i = (size_t)__builtin_ctzll(left);
		struct emu_device_state *d = &m->devices[i];
		emu_atomic_sat_add(&d->modelled_ns,
		                   emu_sat_add(c->run_ns[i], c->latency_ns));
		emu_atomic_sat_add(&d->bytes_copied_in, c->bytes_in[i]);
		emu_atomic_sat_add(&d->bytes_copied_out, c->bytes_out[i]);
	}
}

/* Does [p, p + size) run past the end of the address space? */
static bool cost_wraps(const void *p, size_t size)
{
	return size - 1 > UINTPTR_MAX - (uintptr_t)p;
}

int aml_emu_copy_cost(const struct aml_topology *t,
                      const void *dst,
                      const void *src,
                      size_t size,
                      uint64_t *ns)
{
	struct emu_machine *m = cost_machine(t);
	if (m == NULL || dst == NULL || src == NULL || size == 0 ||
	    ns == NULL || cost_wraps(dst, size) || cost_wraps(src, size))
		return AML_EINVAL;
	struct cost_tally c;
	pthread_rwlock_rdlock(&m->lock);
	cost_walk(m, (uintptr_t)dst, (uintptr_t)src, size, 0, &c);
	pthread_rwlock_unlock(&m->lock);
	*ns = emu_sat_add(c.latency_ns, c.ns);
	return 0;
}

/* Does a mapping [start, start + size) meets have untouched pages? Read
 * lock held. */
static bool
cost_unplaced(const struct emu_machine *m, uintptr_t start, size_t size)
{
	for (const struct emu_mapping *map =
	             emu_pagetable_next(&m->table, start);
	     map != NULL && (map->start <= start || map->start - start < size);
	     map = emu_pagetable_after(&m->table, map)) {
		if (map->unplaced > 0)
			return true;
	}
	return false;
}

static bool cost_overlap(uintptr_t a, uintptr_t b, size_t size)
{
	return a < b ? b - a < size : a - b < size;
}

int aml_emu_copy(const struct aml_topology *t,
                 void *dst,
                 const void *src,
                 size_t size)
{
	return emu_cost_copy(cost_machine(t), dst, src, size, false);
}

int emu_cost_copy(struct emu_machine *m,
                  void *dst,
                  const void *src,
                  size_t size,
                  bool streamed)
{
	if (m == NULL || dst == NULL || src == NULL || size == 0 ||
	    cost_wraps(dst, size) || cost_wraps(src, size) ||
	    cost_overlap((uintptr_t)dst, (uintptr_t)src, size))
		return AML_EINVAL;
	uint64_t start = emu_delaying(m) ? emu_now_ns() : 0;
	struct cost_tally c;
	pthread_rwlock_rdlock(&m->lock);
	bool place = cost_unplaced(m, (uintptr_t)dst, size);
	if (!place)
		cost_walk(m, (uintptr_t)dst, (uintptr_t)src, size, 0, &c);
	pthread_rwlock_unlock(&m->lock);
	if (place) {
		/* The copy's writes are the first touch of dst's untouched
		 * pages: placed here, in bulk, not a fault each. */
		pthread_rwlock_wrlock(&m->lock);
		emu_fault_place_range(m, (uintptr_t)dst, size, false);
		cost_walk(m, (uintptr_t)dst, (uintptr_t)src, size, 0, &c);
		pthread_rwlock_unlock(&m->lock);
	}
	/* Charged here: not as the program's own accesses. */
	emu_access_enter();
	memcpy(dst, src, size);
	emu_access_leave();
	cost_record(m, &c);
	emu_clock_advance(m, emu_sat_add(streamed ? 0 : c.latency_ns, c.ns),
	                  start);
	return 0;
}

int aml_emu_charge(const struct aml_topology *t,
                   const void *ptr,
                   size_t size,
                   int access)
{
	struct emu_machine *m = cost_machine(t);
	if (m == NULL || ptr == NULL || size == 0 || cost_wraps(ptr, size) ||
	    access <= 0 || (access & ~(AML_EMU_READ | AML_EMU_WRITE)) != 0)
		return AML_EINVAL;
	uint64_t start = emu_delaying(m) ? emu_now_ns() : 0;
	for (int a = AML_EMU_READ; a <= AML_EMU_WRITE; a <<= 1) {
		if (!(access & a))
			continue;
		struct cost_tally c;
		pthread_rwlock_rdlock(&m->lock);
		cost_walk(m, 0, (uintptr_t)ptr, size, a, &c);
		pthread_rwlock_unlock(&m->lock);
		cost_record(m, &c);
		uint64_t ns = emu_sat_add(c.latency_ns, c.ns);
		emu_clock_advance(m, ns, start);
		start = emu_sat_add(start, emu_clock_dilated(m, ns));
	}
	return 0;
}

int aml_emu_clock(const struct aml_topology *t, struct aml_emu_clock *out)
{
	struct emu_machine *m = cost_machine(t);
	if (m == NULL || out == NULL)
		return AML_EINVAL;
	out->total_ns = __atomic_load_n(&m->total_ns, __ATOMIC_RELAXED);
	out->thread_ns = emu_clock_thread_ns(m);
	return 0;
}

/* ---- Statistics ---- */

int aml_emu_stats(const struct aml_topology *t,
                  size_t index,
                  struct aml_emu_stats *out)
{
	struct emu_machine *m = cost_machine(t);
	if (m == NULL || out == NULL)
		return AML_EINVAL;
	if (index >= m->ndevices)
		return AML_EDOM;
	const struct emu_device_state *d = &m->devices[index];
	pthread_rwlock_rdlock(&m->lock);
	*out = (struct aml_emu_stats){
	        .resident_bytes = d->used_pages * m->page_size,
	        .peak_bytes = d->peak_pages * m->page_size,
	        .pages = d->used_pages,
	        .maps = d->maps,
	        .pages_moved_in = d->pages_moved_in,
	        .pages_moved_out = d->pages_moved_out,
	        .bytes_copied_in =
	                __atomic_load_n(&d->bytes_copied_in, __ATOMIC_RELAXED),
	        .bytes_copied_out =
	                __atomic_load_n(&d->bytes_copied_out, __ATOMIC_RELAXED),
	        .modelled_ns =
	                __atomic_load_n(&d->modelled_ns, __ATOMIC_RELAXED),
	        .access_pages_read =
	                __atomic_load_n(&d->access_reads, __ATOMIC_RELAXED),
	        .access_pages_written =
	                __atomic_load_n(&d->access_writes, __ATOMIC_RELAXED),
	        .hugepages_2m = d->huge_pool[EMU_POOL_2M],
	        .hugepages_2m_free =
	                d->huge_pool[EMU_POOL_2M] - d->huge_used[EMU_POOL_2M],
	        .hugepages_1g = d->huge_pool[EMU_POOL_1G],
	        .hugepages_1g_free =
	                d->huge_pool[EMU_POOL_1G] - d->huge_used[EMU_POOL_1G],
	};
	pthread_rwlock_unlock(&m->lock);
	return 0;
}

int aml_emu_stats_print(const struct aml_topology *t, FILE *out)
{
	struct emu_machine *m = cost_machine(t);
	if (m == NULL || out == NULL)
		return AML_EINVAL;
	for (size_t i = 0; i < m->ndevices; i++) {
		struct aml_emu_stats s = {0};
		aml_emu_stats(t, i, &s);
		fprintf(out,
		        "%-12s resident %llu B (peak %llu), %llu maps, moved "
		        "in %llu / out %llu pages, copied in %llu / out %llu "
		        "B, %llu ns, accesses %llu / %llu pages read / "
		        "written\n",
		        m->spec.tiers[i].name,
		        (unsigned long long)s.resident_bytes,
		        (unsigned long long)s.peak_bytes,
		        (unsigned long long)s.maps,
		        (unsigned long long)s.pages_moved_in,
		        (unsigned long long)s.pages_moved_out,
		        (unsigned long long)s.bytes_copied_in,
		        (unsigned long long)s.bytes_copied_out,
		        (unsigned long long)s.modelled_ns,
		        (unsigned long long)s.access_pages_read,
		        (unsigned long long)s.access_pages_written);
	}
	struct aml_emu_clock clock = {0};
	aml_emu_clock(t, &clock);
	fprintf(out, "clock        %llu ns in total, %llu ns this thread\n",
	        (unsigned long long)clock.total_ns,
	        (unsigned long long)clock.thread_ns);
	return 0;
}

int aml_emu_clock_advance_to(const struct aml_topology *t, uint64_t ns)
{
	struct emu_machine *m = cost_machine(t);
	if (m == NULL)
		return AML_EINVAL;
	return emu_clock_advance_to(m, ns);
}
