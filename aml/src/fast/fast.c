/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fast memory over one topology (aml/fast.h).
 *
 * One domain per fast device for BIND and PREFERRED (the device a CPU is
 * served by is its domain), one domain for BIND_ALL and INTERLEAVE (an
 * area over every fast device) and for PREFERRED without fast memory (an
 * area of local memory). Each domain is a device area and a scalable
 * arena over it. Which fast device serves which CPU is computed once, at
 * creation, into a table indexed by CPU: an allocation reads the CPU it
 * runs on and the table, with no lock and no ranking.
 *
 * A block is freed, resized or measured by the domain of the calling CPU
 * first (where it almost always comes from), then by the others: a
 * scalable arena tells a block of its own from a foreign one by its map of
 * spans, without touching the block.
 */
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/area/device.h>
#include <aml/arena/scalable.h>
#include <aml/error.h>
#include <aml/fast.h>

#include "aml/src/error_detail.h"
#include "aml/src/fast/populate_area.h"

struct fast_domain {
	AML_AREA_DEVICE_DECL(area);
	/* Over area, for the policies that populate; else unused. */
	struct aml_populate_area populating;
	AML_ARENA_SCALABLE_DECL(arena);
};

struct aml_fast_memory {
	const struct aml_topology *topology;
	enum aml_fast_policy policy;
	/* The pages every domain's area maps. */
	enum aml_page_kind pages;
	/* The fast devices, in topology order. */
	const struct aml_device **fast;
	size_t nfast;
	struct fast_domain *domains;
	size_t ndomains;
	/* Per CPU OS index: the index in fast of the device serving it. */
	uint16_t nearest[AML_BITMAP_MAX];
	/* The same, for a CPU the topology does not list. */
	uint16_t others;
	char reason[AML_FAST_REASON_MAX];
};

static const char *const policy_names[AML_FAST_POLICY_COUNT] = {
        [AML_FAST_PREFERRED] = "preferred",
        [AML_FAST_BIND] = "bind",
        [AML_FAST_BIND_ALL] = "bind_all",
        [AML_FAST_INTERLEAVE] = "interleave",
};

const char *aml_fast_policy_name(enum aml_fast_policy policy)
{
	if ((unsigned)policy >= AML_FAST_POLICY_COUNT) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	return policy_names[policy];
}

/* ---- Creation ---- */

/* Append to f->reason what fits of the formatted text. */
static void reason_append(struct aml_fast_memory *f, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void reason_append(struct aml_fast_memory *f, const char *fmt, ...)
{
	size_t len = strlen(f->reason);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->reason + len, sizeof(f->reason) - len, fmt, ap);
	va_end(ap);
}

/* Collect the fast devices into f->fast and explain the outcome. */
static int find_fast(struct aml_fast_memory *f, const struct aml_bitmap *asked)
{
	int n = aml_topology_ndevices(f->topology);
	if (n < 0)
		return n;
	if (asked != NULL) {
		for (int i = aml_bitmap_first(asked); i >= 0;
		     i = aml_bitmap_next(asked, (size_t)i)) {
			if (i >= n)
				return AML_EINVAL;
		}
	}
	f->fast = calloc((size_t)n, sizeof(*f->fast));
	if (f->fast == NULL)
		return AML_ENOMEM;
	size_t kinds[AML_DEVICE_KIND_COUNT] = {0};
	for (int i = 0; i < n; i++) {
		const struct aml_device *d =
		        aml_topology_device(f->topology, (size_t)i);
		if ((unsigned)d->kind < AML_DEVICE_KIND_COUNT)
			kinds[d->kind]++;
		bool fast = asked != NULL ? aml_bitmap_is_set(asked, (size_t)i)
		                          : d->kind == AML_DEVICE_HBM;
		if (fast)
			f->fast[f->nfast++] = d;
	}
	f->reason[0] = '\0';
	if (f->nfast > 0) {
		reason_append(f, "%zu fast device%s (%s): NUMA node", f->nfast,
		              f->nfast == 1 ? "" : "s",
		              asked != NULL ? "as asked" : "HBM");
		for (size_t k = 0; k < f->nfast; k++)
			reason_append(f, "%s%d", k == 0 ? " " : ",",
			              f->fast[k]->numa_id);
	} else if (asked != NULL) {
		reason_append(f, "no fast memory: the set of fast devices "
		                 "asked for is empty");
	} else {
		reason_append(f,
		              "no fast memory: none of the %d devices is HBM "
		              "(%zu DRAM, %zu CXL, %zu NVM); name fast NUMA "
		              "nodes with AML_FAST_NODES or the devices option",
		              n, kinds[AML_DEVICE_DRAM], kinds[AML_DEVICE_CXL],
		              kinds[AML_DEVICE_NVM]);
	}
	return 0;
}

/* Whether fast device a serves cpus better than b: figures from them
 * over none, then higher bandwidth from them, then lower latency, then a
 * node of their own (on a machine whose nodes all have CPUs and the same
 * figures, as A64FX's), then the topology's order. Unknown figures (0)
 * lose. */
static bool serves_better(const struct aml_device *a,
                          const struct aml_device *b,
                          const struct aml_bitmap *cpus)
{
	/* Linux lists only each node's best initiators: a device without
	 * figures from cpus is not near them (aml/device.h). */
	bool seen_a = aml_device_has_figures_from(a, cpus) == 1;
	bool seen_b = aml_device_has_figures_from(b, cpus) == 1;
	if (seen_a != seen_b)
		return seen_a;
	const struct aml_device_perf *pa = aml_device_perf_from(a, cpus);
	const struct aml_device_perf *pb = aml_device_perf_from(b, cpus);
	uint64_t bwa = pa != NULL ? pa->bandwidth : 0;
	uint64_t bwb = pb != NULL ? pb->bandwidth : 0;
	if (bwa != bwb)
		return bwa > bwb;
	uint64_t la =
	        pa != NULL && pa->latency_ns ? pa->latency_ns : UINT64_MAX;
	uint64_t lb =
	        pb != NULL && pb->latency_ns ? pb->latency_ns : UINT64_MAX;
	if (la != lb)
		return la < lb;
	struct aml_bitmap shared;
	bool own_a = aml_bitmap_and(&shared, &a->cpus, cpus) == 0 &&
	             aml_bitmap_count(&shared) > 0;
	bool own_b = aml_bitmap_and(&shared, &b->cpus, cpus) == 0 &&
	             aml_bitmap_count(&shared) > 0;
	return own_a && !own_b;
}

/* The index in f->fast of the device that serves cpus best. */
static uint16_t nearest_fast(const struct aml_fast_memory *f,
                             const struct aml_bitmap *cpus)
{
	size_t best = 0;
	for (size_t k = 1; k < f->nfast; k++) {
		if (serves_better(f->fast[k], f->fast[best], cpus))
			best = k;
	}
	return (uint16_t)best;
}

/* Fill f->nearest: every CPU of the topology by its own figures, any
 * other by those from all of them. */
static void fill_nearest(struct aml_fast_memory *f)
{
	size_t n = (size_t)aml_topology_ndevices(f->topology);
	struct aml_bitmap all;
	aml_bitmap_zero(&all);
	for (size_t i = 0; i < n; i++)
		aml_bitmap_or(&all, &all,
		              &aml_topology_device(f->topology, i)->cpus);
	f->others = nearest_fast(f, &all);
	for (size_t cpu = 0; cpu < AML_BITMAP_MAX; cpu++)
		f->nearest[cpu] = f->others;
	for (int cpu = aml_bitmap_first(&all); cpu >= 0;
	     cpu = aml_bitmap_next(&all, (size_t)cpu)) {
		struct aml_bitmap one;
		aml_bitmap_zero(&one);
		aml_bitmap_set(&one, (size_t)cpu);
		f->nearest[cpu] = nearest_fast(f, &one);
	}
}

/* Area and arena of domain k: devices and policy by the fast policy. */
static int domain_init(struct aml_fast_memory *f, size_t k)
{
	struct fast_domain *d = &f->domains[k];
	const struct aml_device *const *devices = f->fast;
	size_t ndevices = f->nfast;
	enum aml_policy policy;
	bool populate = false;
	switch (f->policy) {
	case AML_FAST_PREFERRED:
		policy = f->nfast > 0 ? AML_POLICY_PREFERRED : AML_POLICY_LOCAL;
		devices = f->nfast > 0 ? &f->fast[k] : NULL;
		ndevices = f->nfast > 0 ? 1 : 0;
		break;
	case AML_FAST_BIND:
		policy = AML_POLICY_BIND;
		devices = &f->fast[k];
		ndevices = 1;
		populate = true;
		break;
	case AML_FAST_BIND_ALL:
		policy = AML_POLICY_BIND;
		populate = true;
		break;
	default:
		policy = AML_POLICY_INTERLEAVE;
		break;
	}
	if (ndevices > AML_AREA_DEVICE_MAX)
		return AML_ENOTSUP;
	int err = aml_area_device_init(&d->area, f->topology, devices, ndevices,
	                               policy, NULL);
	if (err != 0)
		return err;
	/* The area carries the kind: the arena maps its spans with default
	 * options, and gets it without knowing. */
	aml_area_device_set_pages(&d->area.base, f->pages);
	const struct aml_area *area = &d->area.base;
	if (populate) {
		aml_populate_area_init(&d->populating, area);
		area = &d->populating.base;
	}
	err = aml_arena_scalable_init(&d->arena, area);
	if (err != 0)
		aml_area_device_fini(&d->area);
	return err;
}

static void fast_free_parts(struct aml_fast_memory *f)
{
	free(f->domains);
	free(f->fast);
	free(f);
}

int aml_fast_memory_create(struct aml_fast_memory **out,
                           const struct aml_topology *topology,
                           const struct aml_fast_options *options)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_fast_options o =
	        options != NULL ? *options : (struct aml_fast_options){0};
	if (topology == NULL || (unsigned)o.policy >= AML_FAST_POLICY_COUNT ||
	    (unsigned)o.pages >= AML_PAGE_KIND_COUNT)
		return AML_EINVAL;
	struct aml_fast_memory *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return AML_ENOMEM;
	f->topology = topology;
	f->policy = o.policy;
	f->pages = o.pages;
	int err = find_fast(f, o.devices);
	if (err == 0 && f->nfast == 0 && o.policy != AML_FAST_PREFERRED)
		err = aml_error_explain(AML_ENODEV, "%s policy: %s",
		                        policy_names[o.policy], f->reason);
	if (err != 0) {
		fast_free_parts(f);
		return err;
	}
	fill_nearest(f);
	bool per_device = f->nfast > 0 && (o.policy == AML_FAST_PREFERRED ||
	                                   o.policy == AML_FAST_BIND);
	f->ndomains = per_device ? f->nfast : 1;
	f->domains = calloc(f->ndomains, sizeof(*f->domains));
	if (f->domains == NULL) {
		fast_free_parts(f);
		return AML_ENOMEM;
	}
	for (size_t k = 0; k < f->ndomains; k++) {
		err = domain_init(f, k);
		if (err != 0) {
			f->ndomains = k;
			aml_fast_memory_destroy(&f);
			return err;
		}
	}
	*out = f;
	return 0;
}

void aml_fast_memory_destroy(struct aml_fast_memory **fast)
{
	if (fast == NULL || *fast == NULL)
		return;
	struct aml_fast_memory *f = *fast;
	for (size_t k = 0; k < f->ndomains; k++) {
		aml_arena_scalable_fini(&f->domains[k].arena);
		aml_area_device_fini(&f->domains[k].area);
	}
	fast_free_parts(f);
	*fast = NULL;
}

/* ---- Queries ---- */

int aml_fast_memory_available(const struct aml_fast_memory *fast,
                              char *reason,
                              size_t size)
{
	if (fast == NULL)
		return AML_EINVAL;
	if (reason != NULL && size > 0)
		snprintf(reason, size, "%s", fast->reason);
	return fast->nfast > 0 ? (int)fast->nfast : AML_ENODEV;
}

int aml_fast_memory_policy(const struct aml_fast_memory *fast)
{
	return fast != NULL ? (int)fast->policy : AML_EINVAL;
}

/* The index in fast->nearest's terms of the CPU: -1 is the calling one. */
static size_t fast_index_for(const struct aml_fast_memory *fast, int cpu)
{
	if (cpu < 0)
		cpu = sched_getcpu();
	/* A CPU sched_getcpu() cannot name, or past the table, is one the
	 * topology does not list: served as such. */
	if (cpu < 0 || cpu >= AML_BITMAP_MAX)
		return fast->others;
	return fast->nearest[cpu];
}

const struct aml_device *
aml_fast_memory_device_for_cpu(const struct aml_fast_memory *fast, int cpu)
{
	if (fast == NULL || cpu < -1) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	if (fast->nfast == 0) {
		aml_errno = AML_ENODEV;
		return NULL;
	}
	return fast->fast[fast_index_for(fast, cpu)];
}

int aml_fast_memory_locate(const struct aml_fast_memory *fast, const void *ptr)
{
	if (fast == NULL || ptr == NULL)
		return AML_EINVAL;
	uintptr_t page = (uintptr_t)ptr & ~(uintptr_t)(aml_page_size() - 1);
	int id = AML_EINVAL;
	int err =
	        aml_topology_locate(fast->topology, (const void *)page, 1, &id);
	return err != 0 ? err : id;
}

/* ---- Blocks ---- */

/* The domain that serves the calling thread's CPU. */
static inline struct aml_arena *here(struct aml_fast_memory *fast)
{
	if (fast->ndomains == 1)
		return &fast->domains[0].arena.base;
	return &fast->domains[fast_index_for(fast, -1)].arena.base;
}

/* The arena that owns ptr, the calling CPU's first; NULL if none. */
static struct aml_arena *
owner(const struct aml_fast_memory *fast, const void *ptr, size_t *usable)
{
	size_t first = fast->ndomains == 1 ? 0 : fast_index_for(fast, -1);
	for (size_t i = 0; i < fast->ndomains; i++) {
		size_t k = (first + i) % fast->ndomains;
		struct aml_arena *a = &fast->domains[k].arena.base;
		if (aml_arena_usable_size(a, ptr, usable) == 0)
			return a;
	}
	return NULL;
}

void *aml_fast_memory_malloc(struct aml_fast_memory *fast, size_t size)
{
	if (fast == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	return aml_arena_malloc(here(fast), size);
}

void *
aml_fast_memory_calloc(struct aml_fast_memory *fast, size_t n, size_t size)
{
	if (fast == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	return aml_arena_calloc(here(fast), n, size);
}

int aml_fast_memory_posix_memalign(struct aml_fast_memory *fast,
                                   void **out,
                                   size_t alignment,
                                   size_t size)
{
	if (fast == NULL || out == NULL || alignment < sizeof(void *) ||
	    (alignment & (alignment - 1)) != 0)
		return AML_EINVAL;
	void *p = aml_arena_aligned_alloc(here(fast), alignment, size);
	if (p == NULL)
		return aml_errno;
	*out = p;
	return 0;
}

void *
aml_fast_memory_realloc(struct aml_fast_memory *fast, void *ptr, size_t size)
{
	if (fast == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	if (ptr == NULL)
		return aml_fast_memory_malloc(fast, size);
	size_t usable;
	struct aml_arena *a = owner(fast, ptr, &usable);
	if (a == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	if (size == 0) {
		aml_arena_free(a, ptr);
		return NULL;
	}
	return aml_arena_realloc(a, ptr, size);
}

int aml_fast_memory_free(struct aml_fast_memory *fast, void *ptr)
{
	if (fast == NULL)
		return AML_EINVAL;
	if (ptr == NULL)
		return 0;
	/* The calling CPU's domain first: one span-map lookup in the
	 * common case, where owner() would add a second. */
	struct aml_arena *first = here(fast);
	int err = aml_arena_free(first, ptr);
	if (err != AML_EINVAL || fast->ndomains == 1)
		return err;
	for (size_t k = 0; k < fast->ndomains; k++) {
		struct aml_arena *a = &fast->domains[k].arena.base;
		if (a == first)
			continue;
		err = aml_arena_free(a, ptr);
		if (err != AML_EINVAL)
			return err;
	}
	return AML_EINVAL;
}

size_t aml_fast_memory_usable_size(const struct aml_fast_memory *fast,
                                   const void *ptr)
{
	size_t usable = 0;
	if (fast == NULL || ptr == NULL || owner(fast, ptr, &usable) == NULL) {
		aml_errno = AML_EINVAL;
		return 0;
	}
	return usable;
}

/* ---- Statistics ---- */

int aml_fast_memory_stats(const struct aml_fast_memory *fast,
                          struct aml_arena_usage *out)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = (struct aml_arena_usage){0};
	if (fast == NULL)
		return AML_EINVAL;
	struct aml_arena_usage sum = {0};
	for (size_t k = 0; k < fast->ndomains; k++) {
		struct aml_arena_usage u;
		int err = aml_arena_scalable_usage(&fast->domains[k].arena.base,
		                                   &u);
		if (err != 0)
			return err;
		sum.bytes_in_use += u.bytes_in_use;
		sum.live_allocations += u.live_allocations;
		sum.bytes_held += u.bytes_held;
		sum.peak_bytes_held += u.peak_bytes_held;
		sum.cap_bytes = u.cap_bytes;
		sum.refused += u.refused;
	}
	*out = sum;
	return 0;
}

int aml_fast_memory_set_cap(struct aml_fast_memory *fast, size_t cap_bytes)
{
	if (fast == NULL)
		return AML_EINVAL;
	for (size_t k = 0; k < fast->ndomains; k++) {
		int err = aml_arena_scalable_set_cap(
		        &fast->domains[k].arena.base, cap_bytes);
		if (err != 0)
			return err;
	}
	return 0;
}

int aml_fast_memory_report(const struct aml_fast_memory *fast, FILE *out)
{
	if (fast == NULL || out == NULL)
		return AML_EINVAL;
	for (size_t k = 0; k < fast->ndomains; k++) {
		/* One domain per fast device when there are several; else
		 * one over every fast device, or over local memory. */
		if (fast->nfast == 0)
			fprintf(out, "fast domain %zu (local memory):\n", k);
		else if (fast->ndomains == fast->nfast)
			fprintf(out, "fast domain %zu (%s):\n", k,
			        fast->fast[k]->name);
		else
			fprintf(out, "fast domain %zu (every fast device):\n",
			        k);
		int err = aml_arena_scalable_report(
		        &fast->domains[k].arena.base, out, fast->topology);
		if (err != 0)
			return err;
	}
	return 0;
}
