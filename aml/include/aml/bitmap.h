/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file bitmap.h
 * Sets of NUMA nodes, devices or CPUs: a fixed-size bitmap.
 *
 * A struct aml_bitmap holds indices 0 to AML_BITMAP_MAX - 1. It is a plain
 * value: declare it on the stack or in a struct, copy it by assignment, and
 * never free it. Nothing here allocates.
 *
 * Sets read and print as numactl-style lists: "0-3,8,10-11", or "all" for
 * every index. Parsing is strict (see aml_bitmap_parse()).
 *
 * Functions that take a bitmap return AML_EINVAL for a NULL one and
 * AML_EDOM for an index at or past AML_BITMAP_MAX; on error they change
 * nothing. None keeps a lock: share a bitmap between threads read-only, or
 * lock around writes.
 */
#ifndef AML_BITMAP_H
#define AML_BITMAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Number of indices a bitmap holds. 1024 is Linux's MAX_NUMNODES on x86-64
 * (CONFIG_NODES_SHIFT=10), the largest node count a kernel can report.
 */
#define AML_BITMAP_MAX 1024

/**
 * A buffer of this many bytes holds the list of any bitmap, NUL included
 * (each index prints as at most 4 digits and one separator).
 */
#define AML_BITMAP_FORMAT_MAX (5 * AML_BITMAP_MAX + 1)

/** A set of indices in [0, AML_BITMAP_MAX). */
struct aml_bitmap {
	/** @privatesection */
	/* Private: use the aml_bitmap_*() functions. */
	/** Bit i % 64 of words[i / 64] is index i. */
	uint64_t words[AML_BITMAP_MAX / 64];
};

/**
 * Empty @p bitmap.
 * @return 0, or AML_EINVAL if @p bitmap is NULL.
 */
int aml_bitmap_zero(struct aml_bitmap *bitmap);

/**
 * Put every index 0 to AML_BITMAP_MAX - 1 in @p bitmap.
 * @return 0, or AML_EINVAL if @p bitmap is NULL.
 */
int aml_bitmap_fill(struct aml_bitmap *bitmap);

/**
 * Add @p index to @p bitmap.
 * @return 0; AML_EINVAL if @p bitmap is NULL; AML_EDOM if
 *         @p index >= AML_BITMAP_MAX.
 */
int aml_bitmap_set(struct aml_bitmap *bitmap, size_t index);

/**
 * Remove @p index from @p bitmap.
 * @return 0; AML_EINVAL if @p bitmap is NULL; AML_EDOM if
 *         @p index >= AML_BITMAP_MAX.
 */
int aml_bitmap_clear(struct aml_bitmap *bitmap, size_t index);

/**
 * Add the indices @p first to @p last, both included.
 * @return 0; AML_EINVAL if @p bitmap is NULL or @p first > @p last;
 *         AML_EDOM if @p last >= AML_BITMAP_MAX.
 */
int aml_bitmap_set_range(struct aml_bitmap *bitmap, size_t first, size_t last);

/**
 * Remove the indices @p first to @p last, both included.
 * @return 0; AML_EINVAL if @p bitmap is NULL or @p first > @p last;
 *         AML_EDOM if @p last >= AML_BITMAP_MAX.
 */
int aml_bitmap_clear_range(struct aml_bitmap *bitmap,
                           size_t first,
                           size_t last);

/**
 * Is @p index in @p bitmap?
 * @return 1 if it is, 0 if not; AML_EINVAL if @p bitmap is NULL; AML_EDOM if
 *         @p index >= AML_BITMAP_MAX.
 */
int aml_bitmap_is_set(const struct aml_bitmap *bitmap, size_t index);

/**
 * Number of indices in @p bitmap.
 * @return 0 to AML_BITMAP_MAX, or AML_EINVAL if @p bitmap is NULL.
 */
int aml_bitmap_count(const struct aml_bitmap *bitmap);

/**
 * Do @p a and @p b hold the same indices?
 * @return 1 if they do, 0 if not, AML_EINVAL if either is NULL.
 */
int aml_bitmap_equal(const struct aml_bitmap *a, const struct aml_bitmap *b);

/**
 * Store in @p out the indices in both @p a and @p b. @p out may be @p a or @p
 * b.
 * @return 0, or AML_EINVAL if any argument is NULL.
 */
int aml_bitmap_and(struct aml_bitmap *out,
                   const struct aml_bitmap *a,
                   const struct aml_bitmap *b);

/**
 * Store in @p out the indices in @p a, @p b or both. @p out may be @p a or @p
 * b.
 * @return 0, or AML_EINVAL if any argument is NULL.
 */
int aml_bitmap_or(struct aml_bitmap *out,
                  const struct aml_bitmap *a,
                  const struct aml_bitmap *b);

/**
 * Smallest index in @p bitmap.
 * @return the index; AML_EDOM if @p bitmap is empty; AML_EINVAL if it is
 *         NULL. Both errors are negative, so `i >= 0` tests for a result.
 */
int aml_bitmap_first(const struct aml_bitmap *bitmap);

/**
 * Smallest index in @p bitmap that is greater than @p prev.
 * @return the index; AML_EDOM if there is none; AML_EINVAL if @p bitmap is
 *         NULL.
 */
int aml_bitmap_next(const struct aml_bitmap *bitmap, size_t prev);

/**
 * Loop over the indices of @p bitmap in increasing order, with @p index an
 * int declared by the macro. The bitmap may be changed inside the loop;
 * the loop then sees indices above the current one as they are when reached.
 */
#define AML_BITMAP_FOREACH(index, bitmap)                                      \
	for (int index = aml_bitmap_first(bitmap); index >= 0;                 \
	     index = aml_bitmap_next(bitmap, (size_t)index))

/**
 * Read a numactl-style list into @p out.
 *
 * Accepted: "all" (every index); "" (the empty set); or comma-separated items,
 * each a decimal index "N" or an inclusive range "N-M" with N <= M, every
 * index below AML_BITMAP_MAX. Items may overlap. Nothing else is accepted: no
 * spaces, signs, hexadecimal, empty items, or a trailing comma.
 *
 * @param[out] out receives the set; untouched on error.
 * @param[in] list the NUL-terminated text.
 * @return 0; AML_EINVAL if an argument is NULL or @p list is malformed, out of
 *         range or overflowing.
 */
int aml_bitmap_parse(struct aml_bitmap *out, const char *list);

/**
 * Write @p bitmap as a numactl-style list, canonical: increasing ranges
 * ("0-3,8,10-11"), the empty string for an empty set. aml_bitmap_parse()
 * reads it back to an equal set.
 *
 * Called with @p buf NULL and @p size 0, it only measures.
 *
 * @param[in] bitmap the set.
 * @param[out] buf receives the NUL-terminated list; untouched on error.
 * @param[in] size bytes available in @p buf. AML_BITMAP_FORMAT_MAX always
 *            suffices.
 * @return the length of the list, NUL excluded; AML_EINVAL if @p bitmap is
 *         NULL, or @p buf is NULL with a non-zero @p size; AML_EDOM if
 *         @p size is too small for the list and its NUL.
 */
int aml_bitmap_format(const struct aml_bitmap *bitmap, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* AML_BITMAP_H */
