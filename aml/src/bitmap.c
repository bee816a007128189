/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fixed-size bitmaps and their numactl-style lists.
 *
 * Searches go a 64-bit word at a time (count-trailing-zeros), so a scan of
 * the whole 1024-bit map is 16 word tests. Parsing builds the result in a
 * local copy and stores it only once the whole list has been accepted:
 * that is what makes a malformed list leave the caller's set untouched.
 */
#include "aml/src/bitmap.h"

#include <stdbool.h>
#include <string.h>

#include <aml/bitmap.h>
#include <aml/error.h>

#define WORD_BITS 64
#define NWORDS    (AML_BITMAP_MAX / WORD_BITS)

_Static_assert(AML_BITMAP_MAX % WORD_BITS == 0,
               "AML_BITMAP_MAX must be a multiple of 64");
_Static_assert(AML_BITMAP_MAX <= 10000,
               "AML_BITMAP_FORMAT_MAX assumes indices of at most 4 digits");

static uint64_t bitmap_bit(size_t index)
{
	return (uint64_t)1 << (index % WORD_BITS);
}

/* Set or clear [first, last], which the callers have checked. */
static void bitmap_assign_range(struct aml_bitmap *bitmap,
                                size_t first,
                                size_t last,
                                bool value)
{
	for (size_t i = first; i <= last;) {
		size_t word = i / WORD_BITS;
		size_t low = i % WORD_BITS;
		size_t high = last / WORD_BITS == word ? last % WORD_BITS
		                                       : WORD_BITS - 1;
		uint64_t mask = (~(uint64_t)0 >> (WORD_BITS - 1 - high)) &
		                (~(uint64_t)0 << low);
		if (value)
			bitmap->words[word] |= mask;
		else
			bitmap->words[word] &= ~mask;
		i = (word + 1) * WORD_BITS;
	}
}

/*
 * Smallest index >= from whose bit equals value, or AML_BITMAP_MAX if none.
 * Searching for clear bits is the same search over inverted words.
 */
static size_t
bitmap_find(const struct aml_bitmap *bitmap, size_t from, bool value)
{
	if (from >= AML_BITMAP_MAX)
		return AML_BITMAP_MAX;
	size_t word = from / WORD_BITS;
	uint64_t bits = value ? bitmap->words[word] : ~bitmap->words[word];
	bits &= ~(uint64_t)0 << (from % WORD_BITS);
	while (bits == 0) {
		if (++word == NWORDS)
			return AML_BITMAP_MAX;
		bits = value ? bitmap->words[word] : ~bitmap->words[word];
	}
	return word * WORD_BITS + (size_t)__builtin_ctzll(bits);
}

int aml_bitmap_zero(struct aml_bitmap *bitmap)
{
	if (bitmap == NULL)
		return AML_EINVAL;
	memset(bitmap->words, 0, sizeof(bitmap->words));
	return 0;
}

int aml_bitmap_fill(struct aml_bitmap *bitmap)
{
	if (bitmap == NULL)
		return AML_EINVAL;
	memset(bitmap->words, 0xff, sizeof(bitmap->words));
	return 0;
}

static int
bitmap_check_range(const struct aml_bitmap *bitmap, size_t first, size_t last)
{
	if (bitmap == NULL || first > last)
		return AML_EINVAL;
	if (last >= AML_BITMAP_MAX)
		return AML_EDOM;
	return 0;
}

int aml_bitmap_set_range(struct aml_bitmap *bitmap, size_t first, size_t last)
{
	int err = bitmap_check_range(bitmap, first, last);
	if (err != 0)
		return err;
	bitmap_assign_range(bitmap, first, last, true);
	return 0;
}

int aml_bitmap_clear_range(struct aml_bitmap *bitmap, size_t first, size_t last)
{
	int err = bitmap_check_range(bitmap, first, last);
	if (err != 0)
		return err;
	bitmap_assign_range(bitmap, first, last, false);
	return 0;
}

/* Single bits skip the range masks: they are the common call in loops. */
int aml_bitmap_set(struct aml_bitmap *bitmap, size_t index)
{
	int err = bitmap_check_range(bitmap, index, index);
	if (err != 0)
		return err;
	bitmap->words[index / WORD_BITS] |= bitmap_bit(index);
	return 0;
}

int aml_bitmap_clear(struct aml_bitmap *bitmap, size_t index)
{
	int err = bitmap_check_range(bitmap, index, index);
	if (err != 0)
		return err;
	bitmap->words[index / WORD_BITS] &= ~bitmap_bit(index);
	return 0;
}

int aml_bitmap_is_set(const struct aml_bitmap *bitmap, size_t index)
{
	int err = bitmap_check_range(bitmap, index, index);
	if (err != 0)
		return err;
	return (bitmap->words[index / WORD_BITS] & bitmap_bit(index)) != 0;
}

int aml_bitmap_count(const struct aml_bitmap *bitmap)
{
	if (bitmap == NULL)
		return AML_EINVAL;
	int count = 0;
	for (size_t w = 0; w < NWORDS; w++)
		count += __builtin_popcountll(bitmap->words[w]);
	return count;
}

int aml_bitmap_shared(const struct aml_bitmap *a, const struct aml_bitmap *b)
{
	int count = 0;
	for (size_t w = 0; w < NWORDS; w++) {
		uint64_t both = a->words[w] & b->words[w];
		if (both != 0)
			count += __builtin_popcountll(both);
	}
	return count;
}

int aml_bitmap_equal(const struct aml_bitmap *a, const struct aml_bitmap *b)
{
	if (a == NULL || b == NULL)
		return AML_EINVAL;
	return memcmp(a->words, b->words, sizeof(a->words)) == 0;
}

int aml_bitmap_and(struct aml_bitmap *out,
                   const struct aml_bitmap *a,
                   const struct aml_bitmap *b)
{
	if (out == NULL || a == NULL || b == NULL)
		return AML_EINVAL;
	for (size_t w = 0; w < NWORDS; w++)
		out->words[w] = a->words[w] & b->words[w];
	return 0;
}

int aml_bitmap_or(struct aml_bitmap *out,
                  const struct aml_bitmap *a,
                  const struct aml_bitmap *b)
{
	if (out == NULL || a == NULL || b == NULL)
		return AML_EINVAL;
	for (size_t w = 0; w < NWORDS; w++)
		out->words[w] = a->words[w] | b->words[w];
	return 0;
}

int aml_bitmap_first(const struct aml_bitmap *bitmap)
{
	if (bitmap == NULL)
		return AML_EINVAL;
	size_t index = bitmap_find(bitmap, 0, true);
	return index < AML_BITMAP_MAX ? (int)index : AML_EDOM;
}

int aml_bitmap_next(const struct aml_bitmap *bitmap, size_t prev)
{
	if (bitmap == NULL)
		return AML_EINVAL;
	if (prev >= AML_BITMAP_MAX - 1)
		return AML_EDOM;
	size_t index = bitmap_find(bitmap, prev + 1, true);
	return index < AML_BITMAP_MAX ? (int)index : AML_EDOM;
}

/* ---- Lists ---- */

/*
 * Read a decimal index at *cursor, advance past it. Digits only: strtoul
 * would accept spaces, signs and "0x", which a strict list must reject.
 */
static int bitmap_parse_index(const char **cursor, size_t *out)
{
	const char *p = *cursor;
	size_t value = 0;
	if (*p < '0' || *p > '9')
		return AML_EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		value = value * 10 + (size_t)(*p - '0');
		/* Checked per digit, so long digit strings cannot overflow. */
		if (value >= AML_BITMAP_MAX)
			return AML_EINVAL;
	}
	*cursor = p;
	*out = value;
	return 0;
}

int aml_bitmap_parse(struct aml_bitmap *out, const char *list)
{
	if (out == NULL || list == NULL)
		return AML_EINVAL;
	struct aml_bitmap result;
	aml_bitmap_zero(&result);
	if (strcmp(list, "all") == 0) {
		aml_bitmap_fill(out);
		return 0;
	}
	for (const char *p = list; *p != '\0';) {
		size_t first, last;
		if (bitmap_parse_index(&p, &first) != 0)
			return AML_EINVAL;
		last = first;
		if (*p == '-') {
			p++;
			if (bitmap_parse_index(&p, &last) != 0 || last < first)
				return AML_EINVAL;
		}
		bitmap_assign_range(&result, first, last, true);
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0')
			return AML_EINVAL;
	}
	*out = result;
	return 0;
}

/* Decimal digits of index, which is below 10000 (static assert above). */
static size_t bitmap_index_digits(size_t index)
{
	return index < 10 ? 1 : index < 100 ? 2 : index < 1000 ? 3 : 4;
}

/* Write index in decimal at out, which has room; return the digit count. */
static size_t bitmap_print_index(char *out, size_t index)
{
	size_t n = bitmap_index_digits(index);
	for (size_t i = n; i > 0; i--, index /= 10)
		out[i - 1] = (char)('0' + index % 10);
	return n;
}

/*
 * Print the runs of bitmap into buf, or only measure them when buf is NULL.
 * buf, when given, has room for the measured length plus the NUL. Digits are
 * written by hand: snprintf per item made formatting slower than hwloc's.
 */
static size_t bitmap_print_runs(const struct aml_bitmap *bitmap, char *buf)
{
	size_t length = 0;
	size_t first = bitmap_find(bitmap, 0, true);
	while (first < AML_BITMAP_MAX) {
		size_t last = bitmap_find(bitmap, first, false) - 1;
		size_t next = bitmap_find(bitmap, last + 1, true);
		if (buf != NULL) {
			char *out = buf + length;
			out += bitmap_print_index(out, first);
			if (last != first) {
				*out++ = '-';
				out += bitmap_print_index(out, last);
			}
			if (next < AML_BITMAP_MAX)
				*out = ',';
		}
		length += bitmap_index_digits(first) +
		          (last == first ? 0 : 1 + bitmap_index_digits(last)) +
		          (next < AML_BITMAP_MAX ? 1 : 0);
		first = next;
	}
	if (buf != NULL)
		buf[length] = '\0';
	return length;
}

int aml_bitmap_format(const struct aml_bitmap *bitmap, char *buf, size_t size)
{
	if (bitmap == NULL || (buf == NULL && size != 0))
		return AML_EINVAL;
	size_t length = bitmap_print_runs(bitmap, NULL);
	if (buf == NULL)
		return (int)length;
	if (length >= size)
		return AML_EDOM;
	bitmap_print_runs(bitmap, buf);
	return (int)length;
}
