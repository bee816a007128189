/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulator's virtual clock and delay mode, and the saturating
 * arithmetic of modelled time: the bottom of the emulator, which every
 * other file of it uses and which calls none of them (but fork.c's
 * handlers, registered here).
 *
 * The clock of a machine is a total (atomic) and one counter per thread,
 * found through a pthread key. In delay mode, each charge also busy-waits
 * until its start plus modelled time x dilation: sleeping would cost
 * 50-100 us per wake-up here, far above the times modelled.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <aml/error.h>

#include "aml/src/fork.h"
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
static uint64_t clock_dilate(uint64_t ns, double dilation)
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
static double clock_dilation(const struct emu_machine *m)
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
	        emu_sat_add(start_ns, clock_dilate(ns, clock_dilation(m)));
	while (emu_now_ns() < until)
		; /* busy-wait: see the top of this file */
}

uint64_t emu_clock_dilated(const struct emu_machine *m, uint64_t ns)
{
	return clock_dilate(ns, clock_dilation(m));
}

uint64_t emu_clock_thread_ns(const struct emu_machine *m)
{
	const struct emu_thread_clock *c = pthread_getspecific(m->thread_key);
	return c != NULL ? __atomic_load_n(&c->ns, __ATOMIC_RELAXED) : 0;
}

int emu_clock_advance_to(struct emu_machine *m, uint64_t ns)
{
	struct emu_thread_clock *c = clock_of_thread(m);
	if (c == NULL)
		return AML_ENOMEM;
	/* Only this thread writes its counter. */
	if (c->ns < ns)
		__atomic_store_n(&c->ns, ns, __ATOMIC_RELAXED);
	return 0;
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
static double clock_measure_host(void)
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
static void clock_host_copy_bw_prepare(struct aml_fork_hook *hook)
{
	(void)hook;
	pthread_mutex_lock(&host_copy_bw_lock);
}

static void clock_host_copy_bw_parent(struct aml_fork_hook *hook)
{
	(void)hook;
	pthread_mutex_unlock(&host_copy_bw_lock);
}

static void clock_host_copy_bw_child(struct aml_fork_hook *hook)
{
	(void)hook;
	pthread_mutex_init(&host_copy_bw_lock, NULL);
}

static const struct aml_fork_ops clock_host_copy_bw_fork_ops = {
        .level = AML_FORK_LEAF,
        .prepare = clock_host_copy_bw_prepare,
        .parent = clock_host_copy_bw_parent,
        .child = clock_host_copy_bw_child,
};
static struct aml_fork_hook clock_host_copy_bw_hook;
static pthread_once_t clock_host_copy_bw_registered = PTHREAD_ONCE_INIT;

static void clock_host_copy_bw_register(void)
{
	aml_fork_register(&clock_host_copy_bw_hook,
	                  &clock_host_copy_bw_fork_ops);
}

/* host_copy_bw, measured now if it was not yet; 0 if that failed. Callers
 * wait for a measurement under way rather than make their own. */
static double clock_host_copy_bw(void)
{
	pthread_once(&clock_host_copy_bw_registered,
	             clock_host_copy_bw_register);
	pthread_mutex_lock(&host_copy_bw_lock);
	if (host_copy_bw == 0)
		host_copy_bw = clock_measure_host();
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
int emu_clock_calibrate(struct emu_machine *m, double *out)
{
	double d = clock_dilation(m);
	if (d != 0) {
		*out = d;
		return 0;
	}
	double host_bw = clock_host_copy_bw();
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
