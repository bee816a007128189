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
 * 50-100 us per wake-up here, far above the times modelled. A dma engine's
 * worker is marked undelayed (aml/copier.h): its engine delays the waiters
 * instead, from the submission, so that hand-offs are not added.
 */
#include <pthread.h>
#include <sched.h>
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
	if (!emu_delaying(m) || (c != NULL && c->undelayed))
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

uint64_t emu_clock_wall_ns(const struct emu_machine *m, uint64_t ns)
{
	return emu_delaying(m) ? clock_dilate(ns, clock_dilation(m)) : 0;
}

int emu_clock_thread_undelayed(struct emu_machine *m)
{
	struct emu_thread_clock *c = clock_of_thread(m);
	if (c == NULL)
		return AML_ENOMEM;
	c->undelayed = true;
	return 0;
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

/* This machine's copy bandwidth in bytes/s per thread, when every CPU the
 * process may use (up to CLOCK_CALIBRATION_THREADS) copies at once: the
 * best of a few 32 MiB copies of each thread, past the caches as an
 * emulated tier's traffic is, and the lowest of the threads. A dma engine's
 * workers copy at once, and the model gives each the full bandwidth of its
 * link, so that is the bandwidth the dilation has to cover. The best of
 * each thread, not a median: with other processes busy, a thread is often
 * preempted in a copy (a median varied from 31 to 790 in the dilation
 * here), and the margin covers the rest. Measured once per process, by the
 * first caller that succeeds: a measurement that could not get its buffers
 * leaves it 0, and the next caller tries again (a pthread_once would make delay
 * mode fail for good after one shortage). */
static double host_copy_bw;
static pthread_mutex_t host_copy_bw_lock = PTHREAD_MUTEX_INITIALIZER;

#define CLOCK_CALIBRATION_THREADS 4
#define CLOCK_CALIBRATION_ROUNDS  7
#define CLOCK_CALIBRATION_BYTES   ((size_t)32 << 20)

/* How much slower than the measurement a real copy may be and still end
 * within its dilated model. A best-of-seven is the host at its fastest:
 * on the 2-core VM of 2026-12-05, 64 MiB copies of one thread took
 * 1.05-1.12 times the time the measurement implies at the median and
 * 1.09-1.29 at p90 (five runs of 100, the machine otherwise busy with
 * compiles), and a quiet run once had them 1.4 times slower for a
 * benchmark's whole row. A copy of the fastest tier has only this margin;
 * 1.25 left those rows out of bounds, 1.5 costs delay mode a fifth more
 * wall time. */
#define CLOCK_DELAY_MARGIN 1.5

/* One copying thread of the measurement, and what they share. */
struct clock_measure {
	size_t nthreads; /* atomic: lowered if a thread cannot start */
	/* Threads that reached each round, in total: a round starts when
	 * all nthreads have reached it, so that the copies overlap. */
	size_t arrived;                              /* atomic */
	uint64_t best_ns[CLOCK_CALIBRATION_THREADS]; /* 0: no buffers */
};

struct clock_measure_arg {
	struct clock_measure *m;
	size_t index;
};

static void *clock_measure_thread(void *p)
{
	const struct clock_measure_arg *arg = p;
	struct clock_measure *m = arg->m;
	size_t size = CLOCK_CALIBRATION_BYTES;
	char *src = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src != MAP_FAILED)
		memset(src, 1, 2 * size); /* fault everything in first */
	uint64_t ns[CLOCK_CALIBRATION_ROUNDS];
	for (size_t i = 0; i < CLOCK_CALIBRATION_ROUNDS; i++) {
		/* Every thread takes part in every round, buffers or not,
		 * or the others would wait for it for good. */
		__atomic_add_fetch(&m->arrived, 1, __ATOMIC_ACQ_REL);
		while (__atomic_load_n(&m->arrived, __ATOMIC_ACQUIRE) <
		       __atomic_load_n(&m->nthreads, __ATOMIC_ACQUIRE) *
		               (i + 1))
			; /* spin: the copies must start together */
		if (src == MAP_FAILED)
			continue;
		uint64_t t0 = emu_now_ns();
		memcpy(src + size, src, size);
		ns[i] = emu_now_ns() - t0;
	}
	if (src != MAP_FAILED) {
		munmap(src, 2 * size);
		uint64_t best = UINT64_MAX;
		for (size_t i = 0; i < CLOCK_CALIBRATION_ROUNDS; i++)
			best = ns[i] < best ? ns[i] : best;
		m->best_ns[arg->index] = best != 0 ? best : 1;
	}
	return NULL;
}

/* The measurement itself; 0 if a thread could not start or get its
 * buffers. */
static double clock_measure_host(void)
{
	size_t want = 1;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		want = (size_t)CPU_COUNT(&set);
	if (want > CLOCK_CALIBRATION_THREADS)
		want = CLOCK_CALIBRATION_THREADS;
	if (want < 1)
		want = 1;
	struct clock_measure m = {.nthreads = want};
	struct clock_measure_arg args[CLOCK_CALIBRATION_THREADS];
	pthread_t threads[CLOCK_CALIBRATION_THREADS];
	/* Started first, they wait for the count: the threads that could
	 * not start are taken off it before anyone copies. */
	size_t started = 1;
	for (size_t i = 1; i < want; i++) {
		args[started] = (struct clock_measure_arg){&m, started};
		if (pthread_create(&threads[started], NULL,
		                   clock_measure_thread, &args[started]) != 0)
			break;
		started++;
	}
	/* No thread passes its first round before this one arrives. */
	if (started < want)
		__atomic_store_n(&m.nthreads, started, __ATOMIC_RELEASE);
	args[0] = (struct clock_measure_arg){&m, 0};
	clock_measure_thread(&args[0]);
	for (size_t i = 1; i < started; i++)
		pthread_join(threads[i], NULL);
	/* A thread that could not start or get its buffers fails the
	 * measurement, which the next caller makes again: one made with
	 * fewer threads would give a dilation too low for them all. */
	uint64_t slowest = 0;
	for (size_t i = 0; i < started; i++) {
		if (m.best_ns[i] == 0)
			return 0;
		slowest = m.best_ns[i] > slowest ? m.best_ns[i] : slowest;
	}
	if (started < want || slowest == 0)
		return 0;
	return (double)CLOCK_CALIBRATION_BYTES * NS_PER_S / (double)slowest;
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
 * Dilation: the fastest emulated tier over the host's copy bandwidth per
 * thread (clock_measure_host), times CLOCK_DELAY_MARGIN so that a copy on
 * the host never takes longer than its dilated model (else the wait could
 * not hide it), and at least 1. Threads
 * that calibrate one machine at once compute the same value: whichever
 * stores last changes nothing.
 */
uint64_t emu_clock_fastest_bw(const struct emu_machine *m)
{
	uint64_t fastest = 0;
	for (size_t i = 0; i < m->ndevices; i++) {
		const struct aml_emu_tier *tier = &m->spec.tiers[i];
		uint64_t bw = tier->read_bw < tier->write_bw ? tier->read_bw
		                                             : tier->write_bw;
		fastest = bw > fastest ? bw : fastest;
	}
	return fastest;
}

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
	d = CLOCK_DELAY_MARGIN * (double)emu_clock_fastest_bw(m) / host_bw;
	d = d > 1.0 ? d : 1.0;
	__atomic_store(&m->dilation, &d, __ATOMIC_RELEASE);
	*out = d;
	return 0;
}
