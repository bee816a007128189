/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: the set of address ranges a device has mapped, so that unmap can
 * refuse a range the device did not map instead of unmapping someone else's
 * memory. Sorted, non-overlapping [start, end) ranges in one array, found by
 * binary search; a mutex makes every call thread-safe.
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

/** One mapped range, [start, end). */
struct aml_range {
	uintptr_t start;
	uintptr_t end;
};

/** A set of disjoint ranges. */
struct aml_rangeset {
	pthread_mutex_t lock;
	/** Sorted by start; never overlapping. */
	struct aml_range *ranges;
	size_t count;
	size_t allocated;
	/** Registered for fork() while initialised. */
	struct aml_fork_hook fork;
};

/** Initialise an empty set. @return 0 or AML_FAILURE (mutex). */
int aml_rangeset_init(struct aml_rangeset *set);

/** Free the set's memory; the ranges themselves are the caller's. */
void aml_rangeset_fini(struct aml_rangeset *set);

/**
 * Record [start, start + size). @return 0; AML_EINVAL if it overlaps a
 * recorded range; AML_ENOMEM.
 */
int aml_rangeset_insert(struct aml_rangeset *set, void *start, size_t size);

/**
 * Forget [start, start + size). With @p exact, it must be a recorded range as
 * inserted; otherwise any part of one recorded range, which is split.
 * @return 0; AML_EINVAL if the range is not recorded (nothing changes);
 *         AML_ENOMEM if a split needs memory.
 */
int aml_rangeset_remove(struct aml_rangeset *set,
                        void *start,
                        size_t size,
                        bool exact);

/** Is [start, start + size) inside one recorded range? */
bool aml_rangeset_contains(struct aml_rangeset *set, void *start, size_t size);

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
