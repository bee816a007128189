/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A device's initiators from any number of (CPU set, figures) pairs.
 *
 * struct aml_device holds AML_DEVICE_INITIATORS_MAX initiators, inline, so
 * that devices stay plain values. hwloc may give a node more: one per CPU
 * node of a large machine, or whatever an XML file says (valid files with
 * 40 were refused with AML_ENOMEM). What aml needs from them is the
 * figures seen from a given CPU (aml_device_perf_from()), so they are
 * reduced without losing that where possible:
 *  1. figures of one CPU set merge (hwloc gives each attribute apart);
 *  2. sets with the same figures share one entry, the union of their CPUs:
 *     a CPU in one of them still finds its own figures;
 *  3. only if still too many, the best MAX - 1 by aml's initiator order
 *     (the node's own CPUs first, then bandwidth, then latency) are kept,
 *     and the others share the last entry with the worst of their figures,
 *     so that aml never overstates a device.
 * Sorting keeps it O(n log n) in the pairs, which an XML file bounds; ties
 * keep the order hwloc gave, as when each pair was added in turn.
 */
#include <stdlib.h>
#include <string.h>

#include <aml/device.h>
#include <aml/error.h>

#include "aml/src/device/spi.h"

static int cpus_cmp(const void *a, const void *b)
{
	const struct aml_device_initiator *x = a, *y = b;
	return memcmp(x->cpus.words, y->cpus.words, sizeof(x->cpus.words));
}

static int perf_cmp(const void *a, const void *b)
{
	const struct aml_device_initiator *x = a, *y = b;
	int c = memcmp(&x->perf, &y->perf, sizeof(x->perf));
	return c != 0 ? c : cpus_cmp(a, b);
}

/* The figure ranking uses: access if known, else the slower direction
 * (the lower bandwidth, the higher latency), as topology.c derives it. */
static uint64_t derived(uint64_t access, uint64_t r, uint64_t w, bool lower)
{
	if (access != 0)
		return access;
	if (r == 0 || w == 0)
		return r | w;
	return (r < w) == lower ? r : w;
}

static uint64_t bandwidth_of(const struct aml_device_perf *p)
{
	return derived(p->bandwidth, p->read_bandwidth, p->write_bandwidth,
	               true);
}

static uint64_t latency_of(const struct aml_device_perf *p)
{
	return derived(p->latency_ns, p->read_latency_ns, p->write_latency_ns,
	               false);
}

/* The node's CPUs, for the order below (qsort has no context). */
static _Thread_local const struct aml_bitmap *order_local;

static bool is_local(const struct aml_device_initiator *x)
{
	struct aml_bitmap shared;
	aml_bitmap_and(&shared, &x->cpus, order_local);
	return aml_bitmap_count(&shared) > 0;
}

/* aml's initiator order: local, then higher bandwidth, then lower latency
 * (unknown figures last), then any total order. */
static int quality_cmp(const void *a, const void *b)
{
	const struct aml_device_initiator *x = a, *y = b;
	bool xl = is_local(x), yl = is_local(y);
	if (xl != yl)
		return xl ? -1 : 1;
	uint64_t xb = bandwidth_of(&x->perf), yb = bandwidth_of(&y->perf);
	if (xb != yb)
		return xb > yb ? -1 : 1;
	uint64_t xn = latency_of(&x->perf), yn = latency_of(&y->perf);
	if (xn != yn)
		return xn != 0 && (yn == 0 || xn < yn) ? -1 : 1;
	return perf_cmp(a, b);
}

static void perf_fill(struct aml_device_perf *into,
                      const struct aml_device_perf *from)
{
	const uint64_t *src = (const uint64_t *)from;
	uint64_t *dst = (uint64_t *)into;
	for (size_t i = 0; i < sizeof(*from) / sizeof(uint64_t); i++) {
		if (src[i] != 0)
			dst[i] = src[i];
	}
}

/* Keep the lowest known bandwidth and the highest latency. */
static void perf_worst(struct aml_device_perf *into,
                       const struct aml_device_perf *from)
{
#define PERF_LOW_(f)                                                           \
	if (from->f != 0 && (into->f == 0 || from->f < into->f))               \
		into->f = from->f;
#define PERF_HIGH_(f)                                                          \
	if (from->f > into->f)                                                 \
		into->f = from->f;
	PERF_LOW_(bandwidth)
	PERF_LOW_(read_bandwidth)
	PERF_LOW_(write_bandwidth)
	PERF_HIGH_(latency_ns)
	PERF_HIGH_(read_latency_ns)
	PERF_HIGH_(write_latency_ns)
#undef PERF_LOW_
#undef PERF_HIGH_
}

/* The list being merged, for the comparison of indices (qsort has no
 * context argument). */
static _Thread_local const struct aml_device_initiator *merge_list;
static _Thread_local bool merge_by_cpus;

static bool merge_equal(const struct aml_device_initiator *x,
                        const struct aml_device_initiator *y)
{
	return merge_by_cpus ? cpus_cmp(x, y) == 0
	                     : memcmp(&x->perf, &y->perf, sizeof(x->perf)) == 0;
}

/* Indices by key (CPU set, or figures), ties by position: the first of
 * equal entries comes first. */
static int index_cmp(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct aml_device_initiator *x = &merge_list[i],
	                                  *y = &merge_list[j];
	int c = merge_by_cpus ? cpus_cmp(x, y)
	                      : memcmp(&x->perf, &y->perf, sizeof(x->perf));
	return c != 0 ? c : (i > j) - (i < j);
}

/*
 * Merge entries with equal CPU sets (their figures) or equal figures (their
 * CPUs) into the first of them, keeping the order of first appearance: the
 * order ties keep in aml's initiator order. @return 0 with *count updated;
 * AML_ENOMEM with the list unchanged.
 */
static int merge(struct aml_device_initiator *list, size_t *count, bool by_cpus)
{
	size_t n = *count;
	size_t *order = malloc(n * sizeof(*order));
	bool *gone = calloc(n, sizeof(*gone));
	if (order == NULL || gone == NULL) {
		free(order);
		free(gone);
		return AML_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	merge_list = list;
	merge_by_cpus = by_cpus;
	qsort(order, n, sizeof(*order), index_cmp);
	for (size_t k = 0, first = 0; k < n; k++) {
		struct aml_device_initiator *x = &list[order[k]];
		if (k == 0 || !merge_equal(&list[first], x)) {
			first = order[k];
			continue;
		}
		if (by_cpus)
			perf_fill(&list[first].perf, &x->perf);
		else
			aml_bitmap_or(&list[first].cpus, &list[first].cpus,
			              &x->cpus);
		gone[order[k]] = true;
	}
	merge_list = NULL;
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (!gone[i])
			list[out++] = list[i];
	}
	free(order);
	free(gone);
	*count = out;
	return 0;
}

int aml_device_set_initiators(struct aml_device *dev,
                              struct aml_device_initiator *list,
                              size_t n)
{
	const size_t max = AML_DEVICE_INITIATORS_MAX;
	int err = n > 1 ? merge(list, &n, true) : 0;
	if (err == 0 && n > max)
		err = merge(list, &n, false);
	if (err != 0)
		return err;
	if (n > max) {
		order_local = &dev->cpus;
		qsort(list, n, sizeof(*list), quality_cmp);
		order_local = NULL;
		for (size_t i = max; i < n; i++) {
			aml_bitmap_or(&list[max - 1].cpus, &list[max - 1].cpus,
			              &list[i].cpus);
			perf_worst(&list[max - 1].perf, &list[i].perf);
		}
		n = max;
	}
	if (n > 0) /* list may be NULL then */
		memcpy(dev->initiators, list, n * sizeof(*list));
	dev->ninitiators = n;
	return 0;
}
