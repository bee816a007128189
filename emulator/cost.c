/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulator's cost model, virtual clock, delay mode and statistics.
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
 * The clock of a machine is a total (atomic) and one counter per thread,
 * found through a pthread key. In delay mode, each charge also busy-waits
 * until its start plus modelled time x dilation: sleeping would cost
 * 50-100 us per wake-up here, far above the times modelled.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <aml/device.h>
#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/device/spi.h"
#include "emulator/emulator_internal.h"

#define NS_PER_S 1000000000ULL

uint64_t emu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t emu_transfer_ns(uint64_t bytes, uint64_t bytes_per_s)
{
	/* 64-bit arithmetic while it cannot overflow (up to 18 GB): the
	 * 128-bit division is a library call, slow on the copy path. */
	if (bytes <= (UINT64_MAX - bytes_per_s) / NS_PER_S)
		return (bytes * NS_PER_S + bytes_per_s - 1) / bytes_per_s;
	__extension__ unsigned __int128 num =
	        (unsigned __int128)bytes * NS_PER_S + bytes_per_s - 1;
	num /= bytes_per_s;
	return num > UINT64_MAX ? UINT64_MAX : (uint64_t)num;
}

uint64_t emu_sat_add(uint64_t a, uint64_t b)
{
	uint64_t sum;
	return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
}

void emu_atomic_sat_add(uint64_t *counter, uint64_t v)
{
	uint64_t old = __atomic_load_n(counter, __ATOMIC_RELAXED);
	while (v != 0 && old != UINT64_MAX &&
	       !__atomic_compare_exchange_n(counter, &old, emu_sat_add(old, v),
	                                    true, __ATOMIC_RELAXED,
	                                    __ATOMIC_RELAXED))
		; /* old was reloaded: try again */
}

/* ns x dilation in whole ns, saturated (converting a double past 2^64 to
 * an integer is undefined). */
static uint64_t cost_dilate(uint64_t ns, double dilation)
{
	double d = (double)ns * dilation;
	return d >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)d;
}

/* ---- Clock ---- */

int emu_clock_init(struct emu_machine *m)
{
	/* Out of keys (EAGAIN) or memory: resources, which may come back,
	 * as do the lock's. */
	if (pthread_key_create(&m->thread_key, NULL) != 0)
		return AML_ENOMEM;
	if (pthread_mutex_init(&m->clocks_lock, NULL) != 0) {
		pthread_key_delete(m->thread_key);
		return AML_ENOMEM;
	}
	m->clocks = NULL;
	/* The machine's lock exists already and goes after this fini. */
	aml_fork_register(&m->fork, &emu_fork_ops);
	return 0;
}

void emu_clock_fini(struct emu_machine *m)
{
	aml_fork_unregister(&m->fork);
	for (struct emu_thread_clock *c = m->clocks, *next; c != NULL;
	     c = next) {
		next = c->next;
		free(c);
	}
	m->clocks = NULL;
	pthread_key_delete(m->thread_key);
	pthread_mutex_destroy(&m->clocks_lock);
}

/* The calling thread's counter, made on first use; NULL if out of memory
 * (the total still counts). */
static struct emu_thread_clock *clock_of_thread(struct emu_machine *m)
{
	struct emu_thread_clock *c = pthread_getspecific(m->thread_key);
	if (c != NULL)
		return c;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	pthread_mutex_lock(&m->clocks_lock);
	c->next = m->clocks;
	m->clocks = c;
	pthread_mutex_unlock(&m->clocks_lock);
	pthread_setspecific(m->thread_key, c);
	return c;
}

/* Acquire: a thread that sees delay mode sees the dilation set before it
 * (aml_emu_set_mode). */
bool emu_delaying(const struct emu_machine *m)
{
	return __atomic_load_n(&m->mode, __ATOMIC_ACQUIRE) == AML_EMU_DELAY;
}

/* The machine's dilation, 0 until calibrated. Atomic: aml_emu_set_mode may
 * calibrate on one thread while others charge and copy. */
static double cost_dilation(const struct emu_machine *m)
{
	double d;
	__atomic_load(&m->dilation, &d, __ATOMIC_ACQUIRE);
	return d;
}

void emu_clock_advance(struct emu_machine *m, uint64_t ns, uint64_t start_ns)
{
	emu_atomic_sat_add(&m->total_ns, ns);
	struct emu_thread_clock *c = clock_of_thread(m);
	/* Only this thread writes its counter: a plain atomic store, no
	 * locked add. */
	if (c != NULL)
		__atomic_store_n(&c->ns, emu_sat_add(c->ns, ns),
		                 __ATOMIC_RELAXED);
	if (!emu_delaying(m))
		return;
	uint64_t until =
	        emu_sat_add(start_ns, cost_dilate(ns, cost_dilation(m)));
	while (emu_now_ns() < until)
		; /* busy-wait: see the top of this file */
}

/* ---- Calibration ---- */

/* This machine's copy bandwidth in bytes/s: the best of a few 32 MiB
 * copies, past the caches as an emulated tier's traffic is. Measured once
 * per process, by the first caller that succeeds: a measurement that could
 * not get its buffers leaves it 0, and the next caller tries again (a
 * pthread_once would make delay mode fail for good after one shortage). */
static double host_copy_bw;
static pthread_mutex_t host_copy_bw_lock = PTHREAD_MUTEX_INITIALIZER;

/* The measurement itself; 0 if it could not get its buffers. */
static double cost_measure_host(void)
{
	size_t size = 32 << 20;
	char *src = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		return 0;
	char *dst = src + size;
	memset(src, 1, 2 * size); /* fault everything in first */
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 5; i++) {
		uint64_t t0 = emu_now_ns();
		memcpy(dst, src, size);
		uint64_t t = emu_now_ns() - t0;
		best = t < best ? t : best;
	}
	munmap(src, 2 * size);
	return (double)size * NS_PER_S / (double)(best ? best : 1);
}

/* The lock across fork() (aml/src/fork.h): a child forked while another
 * thread measured would otherwise find it held for good. Nothing else is
 * locked under it. */
static void cost_host_copy_bw_prepare(struct aml_fork_hook *hook)
{
	(void)hook;
	pthread_mutex_lock(&host_copy_bw_lock);
}

static void cost_host_copy_bw_parent(struct aml_fork_hook *hook)
{
	(void)hook;
	pthread_mutex_unlock(&host_copy_bw_lock);
}

static void cost_host_copy_bw_child(struct aml_fork_hook *hook)
{
	(void)hook;
	pthread_mutex_init(&host_copy_bw_lock, NULL);
}

static const struct aml_fork_ops cost_host_copy_bw_fork_ops = {
        .level = AML_FORK_LEAF,
        .prepare = cost_host_copy_bw_prepare,
        .parent = cost_host_copy_bw_parent,
        .child = cost_host_copy_bw_child,
};
static struct aml_fork_hook cost_host_copy_bw_hook;
static pthread_once_t cost_host_copy_bw_registered = PTHREAD_ONCE_INIT;

static void cost_host_copy_bw_register(void)
{
	aml_fork_register(&cost_host_copy_bw_hook, &cost_host_copy_bw_fork_ops);
}

/* host_copy_bw, measured now if it was not yet; 0 if that failed. Callers
 * wait for a measurement under way rather than make their own. */
static double cost_host_copy_bw(void)
{
	pthread_once(&cost_host_copy_bw_registered, cost_host_copy_bw_register);
	pthread_mutex_lock(&host_copy_bw_lock);
	if (host_copy_bw == 0)
		host_copy_bw = cost_measure_host();
	double bw = host_copy_bw;
	pthread_mutex_unlock(&host_copy_bw_lock);
	return bw;
}

/*
 * Dilation: the fastest emulated tier over the host's copy bandwidth, with a
 * 25 % margin so that a copy on the host never takes longer than its
 * dilated model (else the wait could not hide it), and at least 1. Threads
 * that calibrate one machine at once compute the same value: whichever
 * stores last changes nothing.
 */
static int cost_calibrate(struct emu_machine *m, double *out)
{
	double d = cost_dilation(m);
	if (d != 0) {
		*out = d;
		return 0;
	}
	double host_bw = cost_host_copy_bw();
	/* Its only cause: no memory for the buffers. */
	if (host_bw <= 0)
		return AML_ENOMEM;
	uint64_t fastest = 0;
	for (size_t i = 0; i < m->ndevices; i++) {
		const struct aml_emu_tier *tier = &m->spec.tiers[i];
		uint64_t bw = tier->read_bw < tier->write_bw ? tier->read_bw
		                                             : tier->write_bw;
		fastest = bw > fastest ? bw : fastest;
	}
	d = 1.25 * (double)fastest / host_bw;
	d = d > 1.0 ? d : 1.0;
	__atomic_store(&m->dilation, &d, __ATOMIC_RELEASE);
	*out = d;
	return 0;
}

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
		int err = cost_calibrate(m, &dilation);
		if (err != 0)
			return err;
	}
	/* Release: publishes the dilation with the mode (emu_delaying). */
	__atomic_store_n(&m->mode, (int)mode, __ATOMIC_RELEASE);
	return 0;
}

int aml_emu_dilation(const struct aml_topology *t, double *out)
{
	struct emu_machine *m = cost_machine(t);
	if (m == NULL || out == NULL)
		return AML_EINVAL;
	return cost_calibrate(m, out);
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
	return map->labels[(addr - map->start) >> m->page_shift];
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
	struct cost_cursor src_cur = {.begin = 1}, dst_cur = {.begin = 1};
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

static bool cost_overlap(uintptr_t a, uintptr_t b, size_t size)
{
	return a < b ? b - a < size : a - b < size;
}

int aml_emu_copy(const struct aml_topology *t,
                 void *dst,
                 const void *src,
                 size_t size)
{
	return emu_copy(t, dst, src, size, false);
}

int emu_copy(const struct aml_topology *t,
             void *dst,
             const void *src,
             size_t size,
             bool streamed)
{
	struct emu_machine *m = cost_machine(t);
	if (m == NULL || dst == NULL || src == NULL || size == 0 ||
	    cost_wraps(dst, size) || cost_wraps(src, size) ||
	    cost_overlap((uintptr_t)dst, (uintptr_t)src, size))
		return AML_EINVAL;
	uint64_t start = emu_delaying(m) ? emu_now_ns() : 0;
	struct cost_tally c;
	pthread_rwlock_rdlock(&m->lock);
	cost_walk(m, (uintptr_t)dst, (uintptr_t)src, size, 0, &c);
	pthread_rwlock_unlock(&m->lock);
	memcpy(dst, src, size);
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
		start = emu_sat_add(start, cost_dilate(ns, cost_dilation(m)));
	}
	return 0;
}

int aml_emu_clock(const struct aml_topology *t, struct aml_emu_clock *out)
{
	struct emu_machine *m = cost_machine(t);
	if (m == NULL || out == NULL)
		return AML_EINVAL;
	struct emu_thread_clock *c = pthread_getspecific(m->thread_key);
	out->total_ns = __atomic_load_n(&m->total_ns, __ATOMIC_RELAXED);
	out->thread_ns = c ? __atomic_load_n(&c->ns, __ATOMIC_RELAXED) : 0;
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
		struct aml_emu_stats s;
		aml_emu_stats(t, i, &s);
		fprintf(out,
		        "%-12s resident %llu B (peak %llu), %llu maps, moved "
		        "in %llu / out %llu pages, copied in %llu / out %llu "
		        "B, %llu ns\n",
		        m->spec.tiers[i].name,
		        (unsigned long long)s.resident_bytes,
		        (unsigned long long)s.peak_bytes,
		        (unsigned long long)s.maps,
		        (unsigned long long)s.pages_moved_in,
		        (unsigned long long)s.pages_moved_out,
		        (unsigned long long)s.bytes_copied_in,
		        (unsigned long long)s.bytes_copied_out,
		        (unsigned long long)s.modelled_ns);
	}
	struct aml_emu_clock clock;
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
	struct emu_thread_clock *c = clock_of_thread(m);
	if (c == NULL)
		return AML_ENOMEM;
	/* Only this thread writes its counter. */
	if (c->ns < ns)
		__atomic_store_n(&c->ns, ns, __ATOMIC_RELAXED);
	return 0;
}

uint64_t emu_thread_time(const struct aml_topology *t)
{
	struct aml_emu_clock clock = {0};
	aml_emu_clock(t, &clock);
	return clock.thread_ns;
}

void emu_thread_wait_until(const struct aml_topology *t, uint64_t ns)
{
	(void)aml_emu_clock_advance_to(t, ns);
}
