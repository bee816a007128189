/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Access accounting: the program's ordinary loads and stores to emulated
 * memory, charged to the virtual clock with no aml call in its loops
 * (docs/emulator.md, "Access accounting").
 *
 * Mechanism: page protection and a SIGSEGV handler, which needs neither
 * root nor performance counters. While accounting is on, every emulated
 * mapping is PROT_NONE except the blocks (ACCESS_BLOCK_PAGES pages, aligned
 * on the mapping's start) held by a per-machine FIFO of ACCESS_CACHE_BYTES:
 * the model of a shared last-level cache. A load from a block outside it
 * faults; the handler (on the faulting thread: SIGSEGV is synchronous)
 * charges that thread the block's bytes over the read bandwidth of the
 * devices holding its pages, makes it readable, and pushes it into the
 * FIFO, re-protecting the block that falls out. A store faults again (or
 * first, with no load before it) and is charged over the write bandwidth.
 * Latency is charged to a block that does not continue one of the
 * thread's last ACCESS_STREAMS sequential streams, as a hardware
 * prefetcher hides it from the others. So a block counts once per stay in
 * the "cache", whatever the number of touches: a sweep over more than the
 * cache counts every block every pass, one that fits counts the first
 * pass only. Everything is deterministic: no timer, no sampling. A fault
 * on a block the FIFO holds is a store to a block open for reading, or a
 * race with another thread that opened it (the access then retries).
 *
 * The handler takes the machine's read lock (to read the page table) and
 * the FIFO's spin lock, with every signal blocked. That is safe because no
 * code of the emulator touches emulated memory while holding the machine's
 * lock (emulator_internal.h), and the spin lock is only taken here and by
 * unmaps and switches, which never touch emulated memory either. The
 * emulator's own copies (aml_emu_copy and what uses it) are charged by the
 * copy already: their faults (emu_access_enter()) open blocks uncharged.
 * A thread's first charge takes a clock made in advance
 * (access_thread_clock()): clock.c would calloc() one.
 *
 * Machines with accounting on are listed in a fixed table the handler
 * reads without a lock; a switch off waits for handlers in flight before
 * the machine may go.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <aml/error.h>

#include "aml/src/device/spi.h"
#include "emulator/emulator_internal.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define ACCESS_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef ACCESS_UNDER_VALGRIND
#define ACCESS_UNDER_VALGRIND() 0
#endif

/* 16 pages: one fault per 64 KiB. Blocks of 64 and 256 pages did not
 * lower the cost here (on this VM it goes by the pages whose protection
 * changes, tier/access_overhead), and would charge sparse accesses for
 * more bytes. */
#define ACCESS_BLOCK_PAGES AML_EMU_ACCESS_BLOCK_PAGES
/* 8 MiB: the last-level cache of a small server socket. */
#define ACCESS_CACHE_BYTES AML_EMU_ACCESS_CACHE_BYTES
/* Sequential streams a thread's prefetcher follows (Intel's L2 streamer
 * tracks 32). */
#define ACCESS_STREAMS AML_EMU_ACCESS_STREAMS
/* Blocks the FIFO closes at once when full, at most: a quarter of it with
 * 4 KiB pages. */
#define ACCESS_EVICT_BATCH                                                     \
	(ACCESS_CACHE_BYTES / (ACCESS_BLOCK_PAGES * 4096) / 4)
/* Does the fault's context say whether it was a store? */
#if defined(__x86_64__)
#define ACCESS_KNOWS_WRITE 1
#else
#define ACCESS_KNOWS_WRITE 0
#endif
/* How late a thread in delay mode may be and still catch up: a handler
 * that closes a batch of blocks takes milliseconds on a VM, a preemption
 * a scheduler tick. */
#define ACCESS_LATE_MAX_NS 10000000u
/* Machines with accounting on at once. */
#define ACCESS_MACHINES_MAX 16
/* Threads whose first charge the handler can give a clock without calling
 * calloc() (see access_thread_clock()); later ones fall back to it. */
#define ACCESS_CLOCKS 64

struct access_block {
	uintptr_t start; /* 0: a hole left by an unmap */
	size_t npages;
	bool writable;
};

struct emu_access {
	int lock;     /* spin lock: see the top of this file */
	bool sampled; /* AML_EMU_ACCESSES_SAMPLED: first pages only */
	size_t capacity;
	size_t batch; /* closed at once: a quarter, ACCESS_EVICT_BATCH most */
	size_t head;  /* oldest entry */
	size_t count;
	uint64_t overflows;
	/* Clocks made in advance, taken by the handler (next: atomic). */
	struct emu_thread_clock *clocks[ACCESS_CLOCKS];
	unsigned next_clock;
	struct access_block ring[];
};

static struct emu_machine *access_machines[ACCESS_MACHINES_MAX];
static unsigned access_inflight;
static pthread_mutex_t access_switch = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction access_previous;
static bool access_installed;

/* The emulator's own accesses (copies it charges itself), and the thread's
 * sequential streams: the next block each expects. */
static __thread int access_inside __attribute__((tls_model("initial-exec")));
static __thread uintptr_t access_streams[ACCESS_STREAMS]
        __attribute__((tls_model("initial-exec")));
static __thread unsigned access_stream_next
        __attribute__((tls_model("initial-exec")));
/* The block of the thread's last fault that changed nothing: a second one
 * in a row there is a store its context called a load. */
static __thread uintptr_t access_idle
        __attribute__((tls_model("initial-exec")));
/* Delay mode, in wall time: where the thread's last charge ends on its
 * ideal timeline (the mechanism free), and when its last handler left. */
static __thread uint64_t access_paced
        __attribute__((tls_model("initial-exec")));
static __thread uint64_t access_left __attribute__((tls_model("initial-exec")));

void emu_access_enter(void)
{
	access_inside++;
}

void emu_access_leave(void)
{
	access_inside--;
}

static void access_lock(struct emu_access *a)
{
	while (__atomic_exchange_n(&a->lock, 1, __ATOMIC_ACQUIRE))
		sched_yield(); /* held by a handler: short */
}

static void access_unlock(struct emu_access *a)
{
	__atomic_store_n(&a->lock, 0, __ATOMIC_RELEASE);
}

static struct emu_access *access_of(const struct emu_machine *m)
{
	return __atomic_load_n(&m->access, __ATOMIC_ACQUIRE);
}

/* The bytes of a block of npages that access accounting protects. */
static size_t access_span(const struct emu_machine *m,
                          const struct emu_access *a,
                          size_t npages)
{
	return a->sampled ? m->page_size : npages * m->page_size;
}

/* Close the blocks of [start, start + npages pages), start at a block's
 * start: whole (a whole range merges the VMAs single blocks split), or
 * each block's first page when sampling. */
static void access_close_blocks(const struct emu_machine *m,
                                const struct emu_access *a,
                                uintptr_t start,
                                size_t npages)
{
	if (!a->sampled) {
		mprotect((void *)start, npages * m->page_size, PROT_NONE);
		return;
	}
	size_t block = ACCESS_BLOCK_PAGES * m->page_size;
	for (size_t first = 0; first < npages; first += ACCESS_BLOCK_PAGES)
		mprotect((void *)(start + first / ACCESS_BLOCK_PAGES * block),
		         m->page_size, PROT_NONE);
}

/* Close every mapping of m. Write lock held, or read lock and the
 * FIFO's. */
static void access_close_all(struct emu_machine *m, const struct emu_access *a)
{
	for (const struct emu_mapping *map = emu_pagetable_next(&m->table, 0);
	     map != NULL; map = emu_pagetable_after(&m->table, map))
		access_close_blocks(m, a, map->start, map->npages);
}

/* Open every mapping of m, whole. Write lock held. */
static void access_open_all(struct emu_machine *m)
{
	for (const struct emu_mapping *map = emu_pagetable_next(&m->table, 0);
	     map != NULL; map = emu_pagetable_after(&m->table, map))
		mprotect((void *)map->start, map->npages * m->page_size,
		         PROT_READ | PROT_WRITE);
}

/* ---- Charging ---- */

/* What one fault charges: modelled ns, and pages per device met. */
struct access_bill {
	uint64_t ns;
	uint64_t touched; /* bit d: pages_of[d] is set */
	uint64_t pages_of[AML_EMU_TIERS_MAX];
	bool write;
};

/* Does the block [start, end) continue one of the thread's streams?
 * Records it either way. */
static bool access_streamed(uintptr_t start, uintptr_t end)
{
	for (unsigned i = 0; i < ACCESS_STREAMS; i++) {
		if (access_streams[i] == start) {
			access_streams[i] = end;
			return true;
		}
	}
	access_streams[access_stream_next] = end;
	access_stream_next = (access_stream_next + 1) % ACCESS_STREAMS;
	return false;
}

/* Bill pages [first, first + npages) of map: per device, its pages over
 * its read (or write) bandwidth, plus the highest latency unless the block
 * is streamed; the devices' statistics credited. Read lock held. */
static void access_cost(struct emu_machine *m,
                        const struct emu_mapping *map,
                        size_t first,
                        size_t npages,
                        bool latency,
                        struct access_bill *bill)
{
	int local = -1;
	for (size_t i = first; i < first + npages; i++) {
		uint8_t label = map->labels[i];
		size_t d = label;
		if (!emu_label_placed(label)) {
			/* Not placed yet: it goes, when the access retries,
			 * where a touch from this CPU places it. */
			if (local < 0)
				local = (int)emu_local_device(m);
			d = emu_place_where(m, map, i, (size_t)local);
		}
		if (!(bill->touched >> d & 1))
			bill->pages_of[d] = 0;
		bill->touched |= UINT64_C(1) << d;
		bill->pages_of[d]++;
	}
	uint64_t lat = 0;
	for (uint64_t left = bill->touched; left != 0; left &= left - 1) {
		size_t d = (size_t)__builtin_ctzll(left);
		const struct aml_emu_tier *tier = &m->spec.tiers[d];
		uint64_t run = emu_transfer_ns(bill->pages_of[d] * m->page_size,
		                               bill->write ? tier->write_bw
		                                           : tier->read_bw);
		uint64_t l = bill->write ? tier->write_latency_ns
		                         : tier->read_latency_ns;
		lat = l > lat ? l : lat;
		bill->ns = emu_sat_add(bill->ns, run);
		emu_atomic_sat_add(&m->devices[d].modelled_ns, run);
		emu_atomic_sat_add(bill->write ? &m->devices[d].access_writes
		                               : &m->devices[d].access_reads,
		                   bill->pages_of[d]);
	}
	if (!latency || lat == 0)
		return;
	/* The latency is credited to the block's first device. */
	emu_atomic_sat_add(
	        &m->devices[__builtin_ctzll(bill->touched)].modelled_ns, lat);
	bill->ns = emu_sat_add(bill->ns, lat);
}

/* Give the calling thread a clock before clock.c would: its own is made
 * with calloc(), which a signal handler must not call (the interrupted
 * thread may be inside malloc). One made when accounting started is
 * linked as clock.c links its own, under the clocks' mutex, which no code
 * holds while it touches emulated memory. */
static void access_thread_clock(struct emu_machine *m, struct emu_access *a)
{
	if (pthread_getspecific(m->thread_key) != NULL)
		return;
	unsigned i = __atomic_fetch_add(&a->next_clock, 1, __ATOMIC_RELAXED);
	if (i >= ACCESS_CLOCKS)
		return; /* clock.c makes one */
	struct emu_thread_clock *c = a->clocks[i];
	a->clocks[i] = NULL;
	pthread_mutex_lock(&m->clocks_lock);
	c->next = m->clocks;
	m->clocks = c;
	pthread_mutex_unlock(&m->clocks_lock);
	pthread_setspecific(m->thread_key, c);
}

/* Charge a bill to the calling thread, whose fault was taken at entry
 * (wall ns). In delay mode, wait until the charge's end on the thread's
 * ideal timeline: the one of a machine where the mechanism costs nothing.
 * On it, the loop's own work since the last handler left (with what the
 * fault cost outside the handler) overlaps the charge up to its length,
 * as a core overlaps its work with the misses it has in flight; the
 * handlers' own time is not on it, so a handler that ran long (it closed
 * a batch of blocks, or waited for the lock) is made up by the next
 * waits, up to ACCESS_LATE_MAX_NS. No lock held. */
static void access_charge(struct emu_machine *m,
                          const struct access_bill *bill,
                          uint64_t entry)
{
	uint64_t start = 0;
	bool delaying = emu_delaying(m);
	if (delaying) {
		uint64_t dilated = emu_clock_dilated(m, bill->ns);
		uint64_t work = entry > access_left ? entry - access_left : 0;
		start = emu_sat_add(access_paced,
		                    work > dilated ? work - dilated : 0);
		if (entry > ACCESS_LATE_MAX_NS &&
		    start < entry - ACCESS_LATE_MAX_NS)
			start = entry - ACCESS_LATE_MAX_NS;
		access_paced = emu_sat_add(start, dilated);
	}
	emu_clock_advance(m, bill->ns, start);
	if (delaying)
		access_left = emu_now_ns();
	struct emu_thread_clock *c = pthread_getspecific(m->thread_key);
	if (c == NULL)
		return;
	/* Only this thread writes its counters. */
	for (uint64_t left = bill->touched; left != 0; left &= left - 1) {
		size_t d = (size_t)__builtin_ctzll(left);
		uint64_t *counter = &c->accesses[d][bill->write];
		__atomic_store_n(counter,
		                 emu_sat_add(*counter, bill->pages_of[d]),
		                 __ATOMIC_RELAXED);
	}
}

/* ---- The FIFO ---- */

static struct access_block *access_find(struct emu_access *a, uintptr_t start)
{
	for (size_t i = 0; i < a->count; i++) {
		struct access_block *b = &a->ring[(a->head + i) % a->capacity];
		if (b->start == start)
			return b;
	}
	return NULL;
}

/* Close the oldest quarter of the FIFO at once: each mprotect() that takes
 * rights away flushes the TLB of every CPU the process runs on, an IPI that
 * costs tens of us on a VM; sorted and merged, a sweep's blocks close in a
 * call or two per array. FIFO lock and read lock held. */
static void access_evict(struct emu_machine *m, struct emu_access *a)
{
	size_t n = a->count < a->batch ? a->count : a->batch;
	struct access_block batch[ACCESS_EVICT_BATCH];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct access_block b = a->ring[(a->head + i) % a->capacity];
		if (b.start == 0)
			continue;
		/* Insertion sort by address: n is small, and no library
		 * call is safe here. */
		size_t j = k++;
		for (; j > 0 && batch[j - 1].start > b.start; j--)
			batch[j] = batch[j - 1];
		batch[j] = b;
	}
	a->head = (a->head + n) % a->capacity;
	a->count -= n;
	for (size_t i = 0; i < k;) {
		uintptr_t start = batch[i].start;
		size_t npages = batch[i].npages;
		/* A sample's blocks are not contiguous: no merging. */
		for (i++; !a->sampled && i < k &&
		          batch[i].start == start + npages * m->page_size;
		     i++)
			npages += batch[i].npages;
		access_close_blocks(m, a, start, npages);
	}
}

/* Open [start, start + npages) with prot, making room in the FIFO: 0, or
 * -1 if the kernel has no VMA left to split even after the FIFO is
 * flushed (the mapping is then left open: not counted until the next
 * flush). FIFO lock and read lock held. */
static int access_open(struct emu_machine *m,
                       struct emu_access *a,
                       const struct emu_mapping *map,
                       uintptr_t start,
                       size_t npages,
                       int prot)
{
	if (a->count == a->capacity)
		access_evict(m, a);
	size_t span = access_span(m, a, npages);
	if (mprotect((void *)start, span, prot) != 0) {
		/* ENOMEM: vm.max_map_count reached, the blocks open split
		 * too many VMAs. Close them all (whole mappings merge back;
		 * a sample's VMAs are its closed pages, and stay) and try
		 * once more. */
		if (!a->sampled) {
			access_close_all(m, a);
			a->count = 0;
		}
		if (a->sampled || mprotect((void *)start, span, prot) != 0) {
			mprotect((void *)map->start, map->npages * m->page_size,
			         PROT_READ | PROT_WRITE);
			a->overflows++;
			return -1;
		}
	}
	a->ring[(a->head + a->count) % a->capacity] = (struct access_block){
	        .start = start,
	        .npages = npages,
	        .writable = prot & PROT_WRITE,
	};
	a->count++;
	return 0;
}

/* ---- The handler ---- */

/* A fault at addr in m's mapping map: open its block and bill it (nothing
 * for the emulator's own accesses). Read lock held. */
static void access_fault(struct emu_machine *m,
                         struct emu_access *a,
                         const struct emu_mapping *map,
                         uintptr_t addr,
                         struct access_bill *bill)
{
	size_t page = (addr - map->start) >> m->page_shift;
	size_t first = page / ACCESS_BLOCK_PAGES * ACCESS_BLOCK_PAGES;
	size_t npages = map->npages - first < ACCESS_BLOCK_PAGES
	                        ? map->npages - first
	                        : ACCESS_BLOCK_PAGES;
	uintptr_t start = map->start + (first << m->page_shift);
	bool inside = access_inside > 0;
	access_lock(a);
	struct access_block *b = access_find(a, start);
	if (b != NULL) {
		/* Open for reading already: a store to it. Or another
		 * thread opened it meanwhile: nothing, the access retries;
		 * if it faults here again, it is a store (valgrind's
		 * contexts, for one, do not say). */
		if (!b->writable && !bill->write && ACCESS_KNOWS_WRITE &&
		    access_idle != start) {
			access_idle = start;
		} else if (!b->writable) {
			access_idle = 0;
			mprotect((void *)start, access_span(m, a, npages),
			         PROT_READ | PROT_WRITE);
			b->writable = true;
			bill->write = true;
			if (!inside)
				access_cost(m, map, first, npages, false, bill);
		}
	} else {
		access_idle = 0;
		/* The emulator's copies may write what they read: open
		 * both ways at once. */
		int prot = bill->write || inside ? PROT_READ | PROT_WRITE
		                                 : PROT_READ;
		if (access_open(m, a, map, start, npages, prot) == 0 &&
		    !inside) {
			bool streamed = access_streamed(
			        start, start + (npages << m->page_shift));
			access_cost(m, map, first, npages, !streamed, bill);
		}
	}
	access_unlock(a);
}

/* Handle a fault at addr if it is an emulated access: true, or false if
 * no machine with accounting on maps addr. */
static bool access_handle(uintptr_t addr, bool write, uint64_t entry)
{
	for (size_t i = 0; i < ACCESS_MACHINES_MAX; i++) {
		struct emu_machine *m =
		        __atomic_load_n(&access_machines[i], __ATOMIC_SEQ_CST);
		if (m == NULL)
			continue;
		pthread_rwlock_rdlock(&m->lock);
		const struct emu_mapping *map =
		        emu_pagetable_find(&m->table, addr);
		if (map == NULL) {
			pthread_rwlock_unlock(&m->lock);
			continue;
		}
		struct access_bill bill = {.write = write};
		struct emu_access *a = access_of(m);
		/* Without accounting (switched off meanwhile), the mapping
		 * is open again: the access retries. */
		if (a != NULL) {
			access_thread_clock(m, a);
			access_fault(m, a, map, addr, &bill);
		}
		pthread_rwlock_unlock(&m->lock);
		if (bill.ns != 0)
			access_charge(m, &bill, entry);
		return true;
	}
	return false;
}

static void access_chain(int sig, siginfo_t *info, void *context)
{
	if (access_previous.sa_flags & SA_SIGINFO) {
		access_previous.sa_sigaction(sig, info, context);
		return;
	}
	if (access_previous.sa_handler != SIG_DFL &&
	    access_previous.sa_handler != SIG_IGN) {
		access_previous.sa_handler(sig);
		return;
	}
	/* The default action (an ignored SIGSEGV from a fault would loop):
	 * the access runs again and kills the process as it would have. */
	signal(sig, SIG_DFL);
}

static bool access_is_write(const void *context)
{
#if ACCESS_KNOWS_WRITE
	const ucontext_t *uc = context;
	return uc->uc_mcontext.gregs[REG_ERR] & 2;
#else
	/* Unknown: a load first; a store faults again on the block opened
	 * for reading, and is charged then. */
	(void)context;
	return false;
#endif
}

static void access_handler(int sig, siginfo_t *info, void *context)
{
	bool handled = false;
	/* Only a protection fault can be ours: a NULL or a wild pointer
	 * (SEGV_MAPERR) goes straight on. */
	if (info->si_code == SEGV_ACCERR) {
		int saved = errno;
		uint64_t entry = emu_now_ns();
		__atomic_add_fetch(&access_inflight, 1, __ATOMIC_SEQ_CST);
		handled = access_handle((uintptr_t)info->si_addr,
		                        access_is_write(context), entry);
		__atomic_sub_fetch(&access_inflight, 1, __ATOMIC_SEQ_CST);
		errno = saved;
	}
	if (!handled)
		access_chain(sig, info, context);
}

/* ---- Delay mode ---- */

/*
 * What the mechanism costs per block in wall time, in ns: a block closed
 * (in a batch), opened, and its pages touched (its first page only when
 * sampling), measured once per process and mode on a scratch mapping, the
 * median of five rounds (the best one is a quiet moment, and a loop under
 * load pays more). On a VM with shadow page tables that is 10-150 us a
 * block (each changed PTE faults again in the host), 10-40 us
 * sampled, far above what a block takes at an emulated tier's bandwidth
 * times a dilation calibrated on copies; delay mode could not hide it.
 */
static uint64_t access_block_cost[2]; /* [sampled] */
static pthread_mutex_t access_cost_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t access_measure(size_t page_size, bool sampled)
{
	size_t nblocks = 64, block = ACCESS_BLOCK_PAGES * page_size;
	size_t size = nblocks * block;
	size_t span = sampled ? page_size : block;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	memset(p, 1, size);
	uint64_t rounds[5];
	for (int round = 0; round < 5; round++) {
		volatile char sink = 0;
		uint64_t t0 = emu_now_ns();
		if (sampled) {
			for (size_t b = 0; b < nblocks; b++)
				mprotect(p + b * block, span, PROT_NONE);
		} else {
			mprotect(p, size, PROT_NONE);
		}
		for (size_t b = 0; b < nblocks; b++) {
			mprotect(p + b * block, span, PROT_READ | PROT_WRITE);
			for (size_t i = 0; i < span; i += page_size)
				sink += p[b * block + i];
		}
		uint64_t t = emu_now_ns() - t0;
		/* Insertion sort: five. */
		int i = round;
		for (; i > 0 && rounds[i - 1] > t; i--)
			rounds[i] = rounds[i - 1];
		rounds[i] = t;
		(void)sink;
	}
	munmap(p, size);
	return rounds[2] / nblocks;
}

/* Raise m's dilation so that a fault's wall cost fits in the dilated
 * charge of a block of its fastest tier. Switch lock held. */
static void access_dilate(struct emu_machine *m, bool sampled)
{
	pthread_mutex_lock(&access_cost_lock);
	if (access_block_cost[sampled] == 0)
		access_block_cost[sampled] =
		        access_measure(m->page_size, sampled);
	uint64_t cost = access_block_cost[sampled];
	pthread_mutex_unlock(&access_cost_lock);
	uint64_t fastest = emu_clock_fastest_bw(m);
	if (cost == 0 || fastest == 0)
		return;
	/* A multiple of the cost over the fastest block's time: in a real
	 * loop the signal's delivery and the handler add to it, more in
	 * proportion when sampling, whose mprotect()s cost less (measured:
	 * tier/triad_plain/fast in delay mode, 2-3.6 times the cost), plus
	 * a margin. */
	double block_ns = (double)emu_transfer_ns(
	        ACCESS_BLOCK_PAGES * m->page_size, fastest);
	double need = (sampled ? 5.0 : 3.0) * (double)cost / block_ns;
	double d;
	__atomic_load(&m->dilation, &d, __ATOMIC_ACQUIRE);
	if (d != 0 && need > d)
		__atomic_store(&m->dilation, &need, __ATOMIC_RELEASE);
}

void emu_access_dilate(struct emu_machine *m)
{
	/* The switch lock keeps the FIFO from going meanwhile. */
	pthread_mutex_lock(&access_switch);
	const struct emu_access *a = access_of(m);
	if (a != NULL)
		access_dilate(m, a->sampled);
	pthread_mutex_unlock(&access_switch);
}

/* ---- Switching ---- */

/* Install the handler, once per process: 0, or AML_ENOMEM. Switch lock
 * held. */
static int access_install(void)
{
	if (access_installed)
		return 0;
	struct sigaction sa = {.sa_sigaction = access_handler,
	                       .sa_flags = SA_SIGINFO | SA_RESTART};
	/* Every signal blocked while it runs: a handler of the program's
	 * that touched emulated memory would else wait for the FIFO's lock
	 * held beneath it. */
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &access_previous) != 0)
		return AML_ENOMEM;
	access_installed = true;
	return 0;
}

/* A forked child has one thread: a lock its parent's other threads held
 * is free. */
static void access_child(void)
{
	for (size_t i = 0; i < ACCESS_MACHINES_MAX; i++) {
		struct emu_machine *m = access_machines[i];
		if (m != NULL && m->access != NULL)
			m->access->lock = 0;
	}
	pthread_mutex_init(&access_switch, NULL);
}

static pthread_once_t access_atfork = PTHREAD_ONCE_INIT;

static void access_atfork_register(void)
{
	pthread_atfork(NULL, NULL, access_child);
}

/* The FIFO and the clocks no thread took. */
static void access_free(struct emu_access *a)
{
	for (size_t i = 0; i < ACCESS_CLOCKS; i++)
		free(a->clocks[i]);
	free(a);
}

static void access_off(struct emu_machine *m);

static int access_on(struct emu_machine *m, bool sampled)
{
	if (m->access != NULL && m->access->sampled == sampled)
		return 0;
	/* Valgrind reports a load from a protected page as an access outside
	 * any mapping, with no address: the handler cannot tell it from a
	 * wild pointer. */
	if (ACCESS_UNDER_VALGRIND())
		return AML_ENOTSUP;
	pthread_once(&access_atfork, access_atfork_register);
	int err = access_install();
	if (err != 0)
		return err;
	size_t capacity =
	        ACCESS_CACHE_BYTES / (ACCESS_BLOCK_PAGES * m->page_size);
	capacity = capacity > 0 ? capacity : 1;
	struct emu_access *a =
	        calloc(1, sizeof(*a) + capacity * sizeof(a->ring[0]));
	if (a == NULL)
		return AML_ENOMEM;
	for (size_t i = 0; i < ACCESS_CLOCKS; i++) {
		a->clocks[i] = calloc(1, sizeof(*a->clocks[i]));
		if (a->clocks[i] == NULL) {
			access_free(a);
			return AML_ENOMEM;
		}
	}
	a->capacity = capacity;
	a->sampled = sampled;
	a->batch = capacity / 4 < ACCESS_EVICT_BATCH ? capacity / 4
	                                             : ACCESS_EVICT_BATCH;
	a->batch = a->batch > 0 ? a->batch : 1;
	/* The other mode goes only now, when nothing can fail but the slot,
	 * which it frees. */
	access_off(m);
	size_t slot = 0;
	while (slot < ACCESS_MACHINES_MAX && access_machines[slot] != NULL)
		slot++;
	if (slot == ACCESS_MACHINES_MAX) {
		access_free(a);
		return AML_ENOMEM;
	}
	if (emu_delaying(m))
		access_dilate(m, sampled);
	/* The caller's streams start afresh too, as its cache does: the same
	 * loop then costs the same whatever ran before; and so does its
	 * timeline in delay mode. */
	memset(access_streams, 0, sizeof(access_streams));
	access_paced = 0;
	access_left = 0;
	/* Listed before anything is protected: a fault must find it. */
	__atomic_store_n(&access_machines[slot], m, __ATOMIC_SEQ_CST);
	pthread_rwlock_wrlock(&m->lock);
	__atomic_store_n(&m->access, a, __ATOMIC_RELEASE);
	access_close_all(m, a);
	pthread_rwlock_unlock(&m->lock);
	return 0;
}

static void access_off(struct emu_machine *m)
{
	struct emu_access *a = m->access;
	if (a == NULL)
		return;
	pthread_rwlock_wrlock(&m->lock);
	__atomic_store_n(&m->access, NULL, __ATOMIC_RELEASE);
	access_open_all(m);
	pthread_rwlock_unlock(&m->lock);
	for (size_t i = 0; i < ACCESS_MACHINES_MAX; i++) {
		if (access_machines[i] == m)
			__atomic_store_n(&access_machines[i], NULL,
			                 __ATOMIC_SEQ_CST);
	}
	/* A handler that found m before it left the table may still use
	 * it, and the FIFO. */
	while (__atomic_load_n(&access_inflight, __ATOMIC_SEQ_CST) != 0)
		sched_yield();
	access_free(a);
}

static struct emu_machine *access_machine(const struct aml_topology *t)
{
	return t != NULL ? aml_topology_impl_data(t, &aml_emu_topology_ops)
	                 : NULL;
}

int aml_emu_set_access_accounting(const struct aml_topology *t, int mode)
{
	struct emu_machine *m = access_machine(t);
	if (m == NULL ||
	    (mode != AML_EMU_ACCESSES_OFF && mode != AML_EMU_ACCESSES_ON &&
	     mode != AML_EMU_ACCESSES_SAMPLED))
		return AML_EINVAL;
	pthread_mutex_lock(&access_switch);
	int err = 0;
	if (mode != AML_EMU_ACCESSES_OFF)
		err = access_on(m, mode == AML_EMU_ACCESSES_SAMPLED);
	else
		access_off(m);
	pthread_mutex_unlock(&access_switch);
	return err;
}

int aml_emu_access_accounting(const struct aml_topology *t)
{
	struct emu_machine *m = access_machine(t);
	if (m == NULL)
		return AML_EINVAL;
	const struct emu_access *a = access_of(m);
	if (a == NULL)
		return AML_EMU_ACCESSES_OFF;
	return a->sampled ? AML_EMU_ACCESSES_SAMPLED : AML_EMU_ACCESSES_ON;
}

int aml_emu_thread_accesses(const struct aml_topology *t,
                            size_t index,
                            struct aml_emu_accesses *out)
{
	struct emu_machine *m = access_machine(t);
	if (m == NULL || out == NULL)
		return AML_EINVAL;
	if (index >= m->ndevices)
		return AML_EDOM;
	const struct emu_thread_clock *c = pthread_getspecific(m->thread_key);
	*out = (struct aml_emu_accesses){0};
	if (c != NULL) {
		out->pages_read = __atomic_load_n(&c->accesses[index][0],
		                                  __ATOMIC_RELAXED);
		out->pages_written = __atomic_load_n(&c->accesses[index][1],
		                                     __ATOMIC_RELAXED);
	}
	return 0;
}

/* ---- Hooks of emulator.c and cost.c ---- */

void emu_access_mapped(struct emu_machine *m, void *ptr, size_t size)
{
	const struct emu_access *a = access_of(m);
	if (a != NULL)
		access_close_blocks(m, a, (uintptr_t)ptr,
		                    (size + m->page_size - 1) >> m->page_shift);
}

void emu_access_forget(struct emu_machine *m, uintptr_t start, size_t size)
{
	struct emu_access *a = access_of(m);
	if (a == NULL)
		return;
	access_lock(a);
	for (size_t i = 0; i < a->count; i++) {
		struct access_block *b = &a->ring[(a->head + i) % a->capacity];
		size_t bytes = b->npages * m->page_size;
		if (b->start == 0 || b->start >= start + size ||
		    b->start + bytes <= start)
			continue;
		/* What stays mapped of it is closed now; the rest goes. A
		 * hole is never re-protected: the address may be another
		 * mapping's by then. */
		if (!a->sampled)
			mprotect((void *)b->start, bytes, PROT_NONE);
		else if (b->start < start || b->start >= start + size)
			mprotect((void *)b->start, m->page_size, PROT_NONE);
		b->start = 0;
	}
	access_unlock(a);
}

void emu_access_fini(struct emu_machine *m)
{
	pthread_mutex_lock(&access_switch);
	access_off(m);
	pthread_mutex_unlock(&access_switch);
}
