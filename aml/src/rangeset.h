/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: the set of address ranges a device has mapped, so that unmap can
 * refuse a range the device did not map instead of unmapping someone else's
 * memory. Sorted, non-overlapping [start, end) ranges in one array, found by
 * binary search; a mutex makes every call thread-safe.
 *
 * The record and the memory must agree for every thread at every moment:
 * insert a range only once it is mapped, and give it back only through
 * aml_rangeset_remove(), which releases and forgets it under the lock.
 *
 * Each range carries an owner, so that one set can serve several holders
 * (a topology's own maps and those of the areas over it) and each holder
 * releases only its own ranges: aml_rangeset_insert() and
 * aml_rangeset_remove() are the owner-less (NULL) forms.
 */
#ifndef AML_SRC_RANGESET_H
#define AML_SRC_RANGESET_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aml/src/fork.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One mapped range, [start, end), and who may release it. */
struct aml_range {
	uintptr_t start;
	uintptr_t end;
	/** The owner it was recorded for (an area, a topology), or NULL. */
	const void *owner;
	/** 0, or the size of the range's pages where releasing needs whole
	 * ones (hugetlb): parts are then aligned to it, and rounded up. */
	size_t unit;
	/** The tag its bytes count under (aml_rangeset_set_tags()), or -1
	 * for none. */
	int tag;
};

/** Whether [a, a + alen) and [b, b + blen) share a byte. Never overflows:
 * it compares distances, not ends. */
static inline bool
aml_spans_overlap(const void *a, size_t alen, const void *b, size_t blen)
{
	uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
	return pa <= pb ? pb - pa < alen : pa - pb < blen;
}

/** A set of disjoint ranges. */
struct aml_rangeset {
	pthread_mutex_t lock;
	/** Sorted by start; never overlapping. */
	struct aml_range *ranges;
	size_t count;
	size_t allocated;
	/** Bytes the ranges hold now, and the most they held at once. */
	size_t bytes;
	size_t peak_bytes;
	/** The same per tag, ntags entries each; NULL without tags. */
	size_t *tag_bytes;
	size_t *tag_peak_bytes;
	size_t ntags;
	/** Registered for fork() while initialised. */
	struct aml_fork_hook fork;
};

/**
 * Initialise an empty set, registered for fork() at @p level: the level of
 * what its release callbacks lock, AML_FORK_AREA for an area's record (it
 * releases through devices and topologies), AML_FORK_RECORDS for a
 * topology's or a device's (it releases through the emulator or the
 * kernel). @return 0 or AML_ENOMEM (for its mutex).
 * Registered without a key (aml/src/fork.h): nothing detects a set
 * initialised twice, so only memory that holds no live set may be passed
 * (its owners pass memory they just allocated).
 */
int aml_rangeset_init(struct aml_rangeset *set, enum aml_fork_level level);

/** Free the set's memory; the ranges themselves are the caller's. */
void aml_rangeset_fini(struct aml_rangeset *set);

/** Whether a recorded range holds @p addr. O(log n), under the lock. */
bool aml_rangeset_contains(struct aml_rangeset *set, const void *addr);

/** How many ranges are recorded now, under the lock. */
size_t aml_rangeset_count(struct aml_rangeset *set);
/**
 * Count bytes per tag from now on: tags 0 to @p ntags - 1, given to ranges
 * by aml_rangeset_insert_units() (a topology tags a map bound to one
 * device with the device's index). Call it before any tagged insert, once.
 * @return 0; AML_EINVAL if tags were set already; AML_ENOMEM.
 */
int aml_rangeset_set_tags(struct aml_rangeset *set, size_t ntags);
/** The bytes of the ranges tagged @p tag now and at most at once, into
 * *@p bytes and *@p peak_bytes (0 for a tag past the last), under the
 * lock. */
void aml_rangeset_tag_bytes(struct aml_rangeset *set,
                            size_t tag,
                            size_t *bytes,
                            size_t *peak_bytes);
/** The bytes the ranges hold now and the most they held at once since
 * init, into *@p bytes and *@p peak_bytes, under the lock. */
void aml_rangeset_bytes(struct aml_rangeset *set,
                        size_t *bytes,
                        size_t *peak_bytes);

/**
 * Call @p visit on every recorded range, in address order, under the set's
 * lock: @p visit must not call the set.
 */
void aml_rangeset_foreach(struct aml_rangeset *set,
                          void (*visit)(const struct aml_range *range,
                                        void *arg),
                          void *arg);

/**
 * Record [start, start + size). @return 0; AML_EINVAL if it overlaps a
 * recorded range; AML_ENOMEM.
 */
int aml_rangeset_insert(struct aml_rangeset *set, void *start, size_t size);

/**
 * Record [start, start + size) for @p owner (any pointer, or NULL).
 * @return 0; AML_EINVAL if it overlaps a recorded range; AML_ENOMEM.
 */
int aml_rangeset_insert_owned(struct aml_rangeset *set,
                              void *start,
                              size_t size,
                              const void *owner);

/**
 * aml_rangeset_insert_owned() of a range released in whole units of
 * @p unit bytes (0, or a power of two; start and size multiples of it): a
 * removal of part of it must start on a unit, and is rounded up to units
 * (hugetlb pages, which munmap(2) releases whole only). Its bytes count
 * under @p tag too: -1 for none, else below aml_rangeset_set_tags()'s
 * count (a tag past it counts under none).
 */
int aml_rangeset_insert_units(struct aml_rangeset *set,
                              void *start,
                              size_t size,
                              const void *owner,
                              size_t unit,
                              int tag);

/**
 * How the owner of a set gives a range back (munmap, memkind_free...), called
 * by aml_rangeset_remove() with the set's lock held. @p arg is the one given
 * to aml_rangeset_remove(). @return 0, or an AML_E* code when the range is
 * still there (then it stays recorded).
 */
typedef int (*aml_rangeset_release_fn)(void *start,
                                       size_t size,
                                       const void *arg);

/**
 * Release [start, start + size) with @p release, and forget it, in one step
 * under the set's lock: no other thread can find the range recorded once its
 * memory is gone (a map that gets the same address back would see an
 * overlap), nor gone while it is still recorded. With @p exact, the range
 * must be one recorded as inserted; otherwise any part of one recorded
 * range, which is split. A split reserves its entry before the release, so
 * that forgetting never fails after the memory went.
 * @param release NULL to forget the range only.
 * @return 0; AML_EINVAL if the range is not recorded; AML_ENOMEM if a split
 *         needs memory; what @p release returned. On error the range is
 *         neither released nor forgotten.
 */
int aml_rangeset_remove(struct aml_rangeset *set,
                        void *start,
                        size_t size,
                        bool exact,
                        aml_rangeset_release_fn release,
                        const void *arg);

/**
 * aml_rangeset_remove() of a range recorded for @p owner only: a range
 * recorded for another owner is AML_EINVAL, as one not recorded at all.
 * In a range recorded with a unit (aml_rangeset_insert_units()), @p start
 * must be on a unit (AML_EINVAL otherwise) and the size is rounded up to
 * units before the release.
 */
int aml_rangeset_remove_owned(struct aml_rangeset *set,
                              void *start,
                              size_t size,
                              bool exact,
                              const void *owner,
                              aml_rangeset_release_fn release,
                              const void *arg);

/**
 * Give every range recorded for @p from to @p to instead, under the lock.
 * O(number of ranges).
 */
void aml_rangeset_reown(struct aml_rangeset *set,
                        const void *from,
                        const void *to);

/**
 * Remove every range, calling @p release on each (outside no lock: the set
 * must not be used concurrently while it drains).
 */
void aml_rangeset_drain(struct aml_rangeset *set,
                        void (*release)(void *start, size_t size, void *arg),
                        void *arg);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_RANGESET_H */
