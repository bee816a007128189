/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rankings of a topology's devices (aml_topology_rank()).
 *
 * Computing one sorts the devices by a key taken per device for the
 * initiator: the device's recorded initiator sharing the most CPUs with
 * it (aml_device_perf_from()), a few words of bitmap per initiator, so
 * the keys cost devices x initiators, n^2 on machines where every node
 * records every other (3.4 us on a 16-node Xeon Max in SNC4). The sort
 * is an insertion sort up to 16 devices and a heap sort past that, n log
 * n on the largest machines (1024 nodes).
 *
 * A topology never changes once made, so the answer is a function of the
 * question: each thread keeps its last few answers (RANK_CACHE_ENTRIES),
 * keyed by the topology's serial number (an address can be reused by the
 * next topology, a serial cannot), the order and the initiator, and
 * answers a question it has seen with a copy. The orders kept are sized
 * to the largest topology the thread has ranked (2 bytes a device an
 * answer, at most 8 KiB for 1024 devices), so a thread that ranks small
 * machines keeps small answers; without memory to grow them, the answer
 * is computed and not kept.
 *
 * The calling thread's CPUs (initiator NULL) cost a system call to read
 * (sched_getaffinity: 1 us on a VM), so each thread reads them once and
 * again whenever it is found on a CPU outside them (sched_getcpu(), a few
 * nanoseconds through the vDSO). The limit: a thread that narrows its
 * affinity to CPUs it already had, after ranking with NULL, keeps the
 * ranking of its wider set (aml/topology.h says to pass the set then).
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/device/internal.h"
#include "aml/src/os.h"

/* Answers kept per thread. */
#define RANK_CACHE_ENTRIES 4

/* Device indices fit the kept orders' 16 bits. */
_Static_assert(AML_BITMAP_MAX <= UINT16_MAX + 1, "rank orders are 16-bit");

struct rank_answer {
	uint64_t serial; /* 0: none */
	enum aml_topology_rank by;
	/* The question's initiator: the thread's own CPUs (NULL), or this
	 * set (all zero for capacity, which no initiator changes). */
	bool self;
	struct aml_bitmap initiator;
};

struct rank_thread {
	/* The thread's CPUs as last read. */
	bool cpus_known;
	struct aml_bitmap cpus;
	unsigned next; /* the answer replaced next, in turn */
	struct rank_answer answers[RANK_CACHE_ENTRIES];
	/* Answer i's order is orders[i * capacity ...], device indices;
	 * capacity is the largest topology kept so far (0: none yet). */
	size_t capacity;
	uint16_t *orders;
};

static pthread_key_t rank_key;
static bool rank_key_made;
static pthread_once_t rank_key_once = PTHREAD_ONCE_INIT;

static void rank_thread_free(void *p)
{
	struct rank_thread *r = p;
	free(r->orders);
	free(r);
}

static void rank_key_make(void)
{
	rank_key_made = pthread_key_create(&rank_key, rank_thread_free) == 0;
}

/* The calling thread's answers, made on first use; NULL without memory
 * (then nothing is kept). */
static struct rank_thread *rank_thread(void)
{
	pthread_once(&rank_key_once, rank_key_make);
	if (!rank_key_made)
		return NULL;
	struct rank_thread *r = pthread_getspecific(rank_key);
	if (r != NULL)
		return r;
	r = calloc(1, sizeof(*r));
	if (r != NULL && pthread_setspecific(rank_key, r) != 0) {
		free(r);
		r = NULL;
	}
	return r;
}

/* The thread's CPUs in r->cpus, read again if it runs outside them (its
 * answers about itself are forgotten then): 0, or AML_FAILURE if they
 * cannot be read. */
static int rank_thread_cpus(struct rank_thread *r)
{
	int cpu = sched_getcpu();
	if (r->cpus_known && cpu >= 0 &&
	    aml_bitmap_is_set(&r->cpus, (size_t)cpu) == 1)
		return 0;
	for (size_t i = 0; i < RANK_CACHE_ENTRIES; i++) {
		if (r->answers[i].self)
			r->answers[i].serial = 0;
	}
	r->cpus_known = aml_thread_cpus(&r->cpus) == 0;
	return r->cpus_known ? 0 : AML_FAILURE;
}

uint64_t aml_topology_rank_key(const struct aml_device *dev,
                               enum aml_topology_rank by,
                               const struct aml_bitmap *initiator)
{
	if (by == AML_RANK_CAPACITY)
		return dev->capacity;
	/* Figures from none of the initiator's CPUs are unknown ones, not
	 * the local initiator's that aml_device_perf_from() falls back to:
	 * Linux lists only each node's best initiators, and on an SNC
	 * machine every cluster's HBM would look local to every CPU. */
	if (initiator != NULL &&
	    aml_device_has_figures_from(dev, initiator) == 0)
		return 0;
	const struct aml_device_perf *perf =
	        aml_device_perf_from(dev, initiator);
	if (perf == NULL)
		return 0;
	if (by == AML_RANK_BANDWIDTH)
		return perf->bandwidth;
	/* Lower latency is better: invert, keeping unknown (0) at 0. */
	return perf->latency_ns == 0 ? 0 : UINT64_MAX - perf->latency_ns;
}

static bool rank_before(const struct aml_device *a,
                        uint64_t key_a,
                        const struct aml_device *b,
                        uint64_t key_b)
{
	if (key_a != key_b)
		return key_a > key_b;
	if (a->capacity != b->capacity)
		return a->capacity > b->capacity;
	return a->numa_id < b->numa_id;
}

/* A device and its key, taken once per ranking. */
struct rank_entry {
	uint64_t key;
	const struct aml_device *dev;
};

static bool entry_before(const struct rank_entry *a, const struct rank_entry *b)
{
	return rank_before(a->dev, a->key, b->dev, b->key);
}

/* Up to this many devices, an insertion sort (no faster sort is, on so
 * few); past it a heap sort, n log n in every case, in place: the stack
 * already holds AML_BITMAP_MAX entries and a merge would double them. */
#define RANK_INSERTION_MAX 16

/* Sift e[root] down the heap e[0, n) whose top is the entry every other
 * comes before, so that the heap sort leaves the first-ranked first. */
static void rank_sift(struct rank_entry *e, size_t root, size_t n)
{
	struct rank_entry x = e[root];
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			break;
		if (child + 1 < n && entry_before(&e[child], &e[child + 1]))
			child++;
		if (!entry_before(&x, &e[child]))
			break;
		e[root] = e[child];
		root = child;
	}
	e[root] = x;
}

/* Every device of t in order, into ranked (t->ndevices entries). The
 * order is total (ties go to capacity, then to the unique NUMA index), so
 * any sort gives the same answer. */
static void rank_compute(const struct aml_topology *t,
                         enum aml_topology_rank by,
                         const struct aml_bitmap *initiator,
                         struct rank_entry *ranked)
{
	size_t n = t->ndevices;
	for (size_t i = 0; i < n; i++) {
		struct rank_entry x = {
		        .key = aml_topology_rank_key(&t->devices[i], by,
		                                     initiator),
		        .dev = &t->devices[i],
		};
		if (n > RANK_INSERTION_MAX) {
			ranked[i] = x;
			continue;
		}
		size_t j = i;
		for (; j > 0 && entry_before(&x, &ranked[j - 1]); j--)
			ranked[j] = ranked[j - 1];
		ranked[j] = x;
	}
	if (n <= RANK_INSERTION_MAX)
		return;
	for (size_t i = n / 2; i-- > 0;)
		rank_sift(ranked, i, n);
	for (size_t end = n - 1; end > 0; end--) {
		struct rank_entry last = ranked[0];
		ranked[0] = ranked[end];
		ranked[end] = last;
		rank_sift(ranked, 0, end);
	}
}

/* The kept answer to (t, by, self, initiator), or NULL. */
static const struct rank_answer *rank_find(const struct rank_thread *r,
                                           const struct aml_topology *t,
                                           enum aml_topology_rank by,
                                           bool self,
                                           const struct aml_bitmap *initiator)
{
	for (size_t i = 0; i < RANK_CACHE_ENTRIES; i++) {
		const struct rank_answer *a = &r->answers[i];
		if (a->serial == t->serial && a->by == by && a->self == self &&
		    (self ||
		     memcmp(&a->initiator, initiator, sizeof(*initiator)) == 0))
			return a;
	}
	return NULL;
}

/* Room in r for orders of t's size: 0, or AML_ENOMEM (r unchanged). The
 * answers kept are forgotten when the room grows: their orders move. */
static int rank_room(struct rank_thread *r, const struct aml_topology *t)
{
	if (t->ndevices <= r->capacity)
		return 0;
	uint16_t *orders = realloc(r->orders, RANK_CACHE_ENTRIES * t->ndevices *
	                                              sizeof(*orders));
	if (orders == NULL)
		return AML_ENOMEM;
	for (size_t i = 0; i < RANK_CACHE_ENTRIES; i++)
		r->answers[i].serial = 0;
	r->orders = orders;
	r->capacity = t->ndevices;
	return 0;
}

static void rank_keep(struct rank_thread *r,
                      const struct aml_topology *t,
                      enum aml_topology_rank by,
                      bool self,
                      const struct aml_bitmap *initiator,
                      const struct rank_entry *ranked)
{
	if (rank_room(r, t) != 0)
		return;
	uint16_t *order = &r->orders[r->next * r->capacity];
	struct rank_answer *a = &r->answers[r->next];
	r->next = (r->next + 1) % RANK_CACHE_ENTRIES;
	a->serial = t->serial;
	a->by = by;
	a->self = self;
	a->initiator = *initiator;
	for (size_t i = 0; i < t->ndevices; i++)
		order[i] = (uint16_t)(ranked[i].dev - t->devices);
}

int aml_topology_rank(const struct aml_topology *t,
                      enum aml_topology_rank by,
                      const struct aml_bitmap *initiator,
                      const struct aml_device **out,
                      size_t max)
{
	if (t == NULL || (out == NULL && max > 0) ||
	    (by != AML_RANK_BANDWIDTH && by != AML_RANK_LATENCY &&
	     by != AML_RANK_CAPACITY))
		return AML_EINVAL;
	size_t n = max < t->ndevices ? max : t->ndevices;
	struct aml_bitmap none;
	aml_bitmap_zero(&none);
	bool self = initiator == NULL && by != AML_RANK_CAPACITY;
	if (by == AML_RANK_CAPACITY || initiator == NULL)
		initiator = &none;

	struct rank_thread *r = rank_thread();
	struct aml_bitmap own;
	if (self) {
		/* Without a thread cache, or CPUs it cannot read: read them
		 * here, or rank as seen from the devices' local CPUs. */
		if (r != NULL && rank_thread_cpus(r) == 0) {
			initiator = &r->cpus;
		} else if (aml_thread_cpus(&own) == 0) {
			initiator = &own;
		} else {
			self = false;
			r = NULL;
		}
	}
	const struct rank_answer *kept =
	        r != NULL ? rank_find(r, t, by, self, initiator) : NULL;
	if (kept != NULL) {
		const uint16_t *order =
		        &r->orders[(size_t)(kept - r->answers) * r->capacity];
		for (size_t i = 0; i < n; i++)
			out[i] = &t->devices[order[i]];
		return (int)n;
	}
	struct rank_entry ranked[AML_BITMAP_MAX];
	rank_compute(t, by, by == AML_RANK_CAPACITY ? NULL : initiator, ranked);
	if (r != NULL)
		rank_keep(r, t, by, self, initiator, ranked);
	for (size_t i = 0; i < n; i++)
		out[i] = ranked[i].dev;
	return (int)n;
}

const struct aml_device *aml_topology_best(const struct aml_topology *t,
                                           enum aml_topology_rank by,
                                           const struct aml_bitmap *initiator)
{
	const struct aml_device *best = NULL;
	int n = aml_topology_rank(t, by, initiator, &best, 1);
	if (n < 0) {
		aml_errno = n;
		return NULL;
	}
	return best;
}
