/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mapped-range registry (see rangeset.h). A sorted array beats a tree here:
 * devices hold few live mappings, and a map+unmap pair must stay within a
 * few percent of the raw mmap+mbind+munmap it wraps.
 *
 * fork() (aml/src/fork.h): prepare takes the lock, so the child gets the
 * array whole; the child makes the lock new. A release callback runs under
 * the lock and takes the locks of the layers below: an area's record comes
 * before a topology's or device's, which comes before the emulator's.
 */
#include "aml/src/rangeset.h"

#include <stdlib.h>
#include <string.h>

#include <aml/error.h>

int aml_rangeset_init(struct aml_rangeset *set, enum aml_fork_level level)
{
	*set = (struct aml_rangeset){.ranges = NULL};
	/* Only a lack of resources can fail a default mutex. */
	if (pthread_mutex_init(&set->lock, NULL) != 0)
		return AML_ENOMEM;
	aml_fork_register_mutex(&set->fork, level, &set->lock, NULL);
	return 0;
}

void aml_rangeset_fini(struct aml_rangeset *set)
{
	aml_fork_unregister(&set->fork);
	free(set->ranges);
	free(set->tag_bytes);
	free(set->tag_peak_bytes);
	set->ranges = NULL;
	set->tag_bytes = set->tag_peak_bytes = NULL;
	set->count = set->allocated = set->ntags = 0;
	pthread_mutex_destroy(&set->lock);
}

int aml_rangeset_set_tags(struct aml_rangeset *set, size_t ntags)
{
	size_t *bytes = calloc(ntags > 0 ? ntags : 1, sizeof(*bytes));
	size_t *peak = calloc(ntags > 0 ? ntags : 1, sizeof(*peak));
	pthread_mutex_lock(&set->lock);
	int err = set->tag_bytes != NULL          ? AML_EINVAL
	          : bytes == NULL || peak == NULL ? AML_ENOMEM
	                                          : 0;
	if (err == 0) {
		set->tag_bytes = bytes;
		set->tag_peak_bytes = peak;
		set->ntags = ntags;
		bytes = peak = NULL;
	}
	pthread_mutex_unlock(&set->lock);
	free(bytes);
	free(peak);
	return err;
}

void aml_rangeset_tag_bytes(struct aml_rangeset *set,
                            size_t tag,
                            size_t *bytes,
                            size_t *peak_bytes)
{
	pthread_mutex_lock(&set->lock);
	bool known = tag < set->ntags;
	*bytes = known ? set->tag_bytes[tag] : 0;
	*peak_bytes = known ? set->tag_peak_bytes[tag] : 0;
	pthread_mutex_unlock(&set->lock);
}

/* Index of the first range whose end is above addr (binary search). */
static size_t rangeset_search(const struct aml_rangeset *set, uintptr_t addr)
{
	size_t low = 0, high = set->count;
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		if (set->ranges[mid].end <= addr)
			low = mid + 1;
		else
			high = mid;
	}
	return low;
}

bool aml_rangeset_contains(struct aml_rangeset *set, const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	pthread_mutex_lock(&set->lock);
	size_t i = rangeset_search(set, a);
	bool found = i < set->count && set->ranges[i].start <= a;
	pthread_mutex_unlock(&set->lock);
	return found;
}

size_t aml_rangeset_count(struct aml_rangeset *set)
{
	pthread_mutex_lock(&set->lock);
	size_t n = set->count;
	pthread_mutex_unlock(&set->lock);
	return n;
}

void aml_rangeset_bytes(struct aml_rangeset *set,
                        size_t *bytes,
                        size_t *peak_bytes)
{
	pthread_mutex_lock(&set->lock);
	*bytes = set->bytes;
	*peak_bytes = set->peak_bytes;
	pthread_mutex_unlock(&set->lock);
}

void aml_rangeset_foreach(struct aml_rangeset *set,
                          void (*visit)(const struct aml_range *range,
                                        void *arg),
                          void *arg)
{
	pthread_mutex_lock(&set->lock);
	for (size_t i = 0; i < set->count; i++)
		visit(&set->ranges[i], arg);
	pthread_mutex_unlock(&set->lock);
}

/* Make room for one more range; the caller holds the lock. */
static int rangeset_reserve(struct aml_rangeset *set)
{
	if (set->count < set->allocated)
		return 0;
	size_t allocated = set->allocated ? 2 * set->allocated : 16;
	struct aml_range *ranges =
	        realloc(set->ranges, allocated * sizeof(*ranges));
	if (ranges == NULL)
		return AML_ENOMEM;
	set->ranges = ranges;
	set->allocated = allocated;
	return 0;
}

static void
rangeset_insert_at(struct aml_rangeset *set, size_t i, struct aml_range range)
{
	memmove(&set->ranges[i + 1], &set->ranges[i],
	        (set->count - i) * sizeof(*set->ranges));
	set->ranges[i] = range;
	set->count++;
}

/* Count size more (or less) bytes in all and under tag; lock held. */
static void rangeset_count(struct aml_rangeset *set, int tag, size_t size)
{
	set->bytes += size;
	if (set->bytes > set->peak_bytes)
		set->peak_bytes = set->bytes;
	if (tag < 0 || (size_t)tag >= set->ntags)
		return;
	set->tag_bytes[tag] += size;
	if (set->tag_bytes[tag] > set->tag_peak_bytes[tag])
		set->tag_peak_bytes[tag] = set->tag_bytes[tag];
}

static void rangeset_uncount(struct aml_rangeset *set, int tag, size_t size)
{
	set->bytes -= size;
	if (tag >= 0 && (size_t)tag < set->ntags)
		set->tag_bytes[tag] -= size;
}

int aml_rangeset_insert(struct aml_rangeset *set, void *start, size_t size)
{
	return aml_rangeset_insert_owned(set, start, size, NULL);
}

int aml_rangeset_insert_owned(struct aml_rangeset *set,
                              void *start,
                              size_t size,
                              const void *owner)
{
	return aml_rangeset_insert_units(set, start, size, owner, 0, -1);
}

int aml_rangeset_insert_units(struct aml_rangeset *set,
                              void *start,
                              size_t size,
                              const void *owner,
                              size_t unit,
                              int tag)
{
	struct aml_range range = {(uintptr_t)start, (uintptr_t)start + size,
	                          owner, unit, tag};
	pthread_mutex_lock(&set->lock);
	size_t i = rangeset_search(set, range.start);
	int err = 0;
	if (i < set->count && set->ranges[i].start < range.end)
		err = AML_EINVAL;
	else
		err = rangeset_reserve(set);
	if (err == 0) {
		rangeset_insert_at(set, i, range);
		rangeset_count(set, tag, size);
	}
	pthread_mutex_unlock(&set->lock);
	return err;
}

/* Cut [start, end) out of ranges[i], which contains it; lock held, and room
 * reserved for a split. */
static void
rangeset_cut(struct aml_rangeset *set, size_t i, uintptr_t start, uintptr_t end)
{
	struct aml_range *r = &set->ranges[i];
	rangeset_uncount(set, r->tag, end - start);
	bool keep_left = r->start < start, keep_right = end < r->end;
	if (keep_left && keep_right) {
		struct aml_range right = {end, r->end, r->owner, r->unit,
		                          r->tag};
		r->end = start;
		rangeset_insert_at(set, i + 1, right);
	} else if (keep_left) {
		r->end = start;
	} else if (keep_right) {
		r->start = end;
	} else {
		memmove(r, r + 1, (set->count - i - 1) * sizeof(*r));
		set->count--;
	}
}

int aml_rangeset_remove(struct aml_rangeset *set,
                        void *start,
                        size_t size,
                        bool exact,
                        aml_rangeset_release_fn release,
                        const void *arg)
{
	return aml_rangeset_remove_owned(set, start, size, exact, NULL, release,
	                                 arg);
}

int aml_rangeset_remove_owned(struct aml_rangeset *set,
                              void *start,
                              size_t size,
                              bool exact,
                              const void *owner,
                              aml_rangeset_release_fn release,
                              const void *arg)
{
	uintptr_t s = (uintptr_t)start, e = s + size;
	pthread_mutex_lock(&set->lock);
	size_t i = rangeset_search(set, s);
	int err = AML_EINVAL;
	if (i < set->count && set->ranges[i].owner == owner) {
		const struct aml_range r = set->ranges[i];
		if (r.unit > 1 && e <= r.end) {
			/* Whole units only: r.end is on one, so this stays
			 * inside. */
			e = (e + r.unit - 1) & ~(uintptr_t)(r.unit - 1);
			size = e - s;
		}
		bool on_unit = r.unit <= 1 || s % r.unit == 0;
		bool inside = r.start <= s && e <= r.end;
		bool matches = r.start == s && r.end == e;
		if (on_unit && (exact ? matches : inside))
			err = r.start < s && e < r.end ? rangeset_reserve(set)
			                               : 0;
		if (err == 0 && release != NULL)
			err = release(start, size, arg);
		if (err == 0)
			rangeset_cut(set, i, s, e);
	}
	pthread_mutex_unlock(&set->lock);
	return err;
}

void aml_rangeset_reown(struct aml_rangeset *set,
                        const void *from,
                        const void *to)
{
	pthread_mutex_lock(&set->lock);
	for (size_t i = 0; i < set->count; i++) {
		if (set->ranges[i].owner == from)
			set->ranges[i].owner = to;
	}
	pthread_mutex_unlock(&set->lock);
}

void aml_rangeset_drain(struct aml_rangeset *set,
                        void (*release)(void *start, size_t size, void *arg),
                        void *arg)
{
	for (size_t i = 0; i < set->count; i++) {
		const struct aml_range *r = &set->ranges[i];
		release((void *)r->start, r->end - r->start, arg);
	}
	set->count = 0;
	set->bytes = 0;
	for (size_t t = 0; t < set->ntags; t++)
		set->tag_bytes[t] = 0;
}
