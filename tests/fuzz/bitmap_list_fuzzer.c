/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for numactl-style lists (aml/src/bitmap.c), the syntax of
 * AML_HBM_NODES, MEMKIND_HBW_NODES and a spec's cpus (tools/fuzz.sh list
 * builds and runs it). Besides surviving any bytes under ASan and UBSan,
 * each input checks what bitmap.h promises against a reference written
 * here from the header's words alone, independently of bitmap.c:
 *   - aml_bitmap_parse accepts exactly the lists the reference accepts,
 *     reads the same set, and leaves its output untouched on AML_EINVAL;
 *   - an accepted set prints canonically (the reference's printing), and
 *     parse -> print -> parse gives the same set and the same text;
 *   - aml_bitmap_format measures, fits, or refuses a short buffer with
 *     AML_EDOM and leaves it untouched;
 *   - count, first and next agree with the set.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/bitmap.h>
#include <aml/error.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Far more than any list of distinct indices; longer inputs teach nothing. */
#define INPUT_MAX 16384

static void check(bool ok)
{
	if (!ok)
		abort(); /* libFuzzer reports it with the input */
}

/* ---- The reference, from bitmap.h's description ---- */

struct ref_set {
	bool in[AML_BITMAP_MAX];
};

/* A decimal index below AML_BITMAP_MAX at *p (any number of digits, leading
 * zeros included), or -1. */
static long ref_index(const char **p)
{
	const char *s = *p;
	long v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++)
		if (v < AML_BITMAP_MAX)
			v = v * 10 + (*s - '0');
	*p = s;
	return v < AML_BITMAP_MAX ? v : -1;
}

/* "all", "", or items N or N-M (N <= M) separated by single commas. */
static bool ref_parse(const char *text, struct ref_set *out)
{
	memset(out, 0, sizeof(*out));
	if (strcmp(text, "all") == 0) {
		for (size_t i = 0; i < AML_BITMAP_MAX; i++)
			out->in[i] = true;
		return true;
	}
	const char *p = text;
	while (*p != '\0') {
		long first = ref_index(&p), last = first;
		if (first < 0)
			return false;
		if (*p == '-') {
			p++;
			last = ref_index(&p);
			if (last < first)
				return false;
		}
		for (long i = first; i <= last; i++)
			out->in[i] = true;
		if (*p == '\0')
			break;
		if (*p != ',' || p[1] == '\0')
			return false;
		p++;
	}
	return true;
}

/* Canonical text: increasing maximal runs, "a" or "a-b", comma-separated. */
static void ref_print(const struct ref_set *s, char *buf)
{
	size_t n = 0;
	for (size_t i = 0; i < AML_BITMAP_MAX;) {
		if (!s->in[i]) {
			i++;
			continue;
		}
		size_t j = i;
		while (j + 1 < AML_BITMAP_MAX && s->in[j + 1])
			j++;
		n += (size_t)sprintf(buf + n, n ? ",%zu" : "%zu", i);
		if (j > i)
			n += (size_t)sprintf(buf + n, "-%zu", j);
		i = j + 1;
	}
	buf[n] = '\0';
}

static bool ref_equal(const struct ref_set *s, const struct aml_bitmap *b)
{
	for (size_t i = 0; i < AML_BITMAP_MAX; i++)
		if ((aml_bitmap_is_set(b, i) == 1) != s->in[i])
			return false;
	return true;
}

/* ---- The properties ---- */

static void check_queries(const struct ref_set *s, const struct aml_bitmap *b)
{
	int count = 0;
	for (size_t i = 0; i < AML_BITMAP_MAX; i++)
		count += s->in[i];
	check(aml_bitmap_count(b) == count);
	/* first/next visit exactly the set's indices, in order. */
	int seen = 0, prev = -1;
	AML_BITMAP_FOREACH (i, b) {
		check(i > prev && i < AML_BITMAP_MAX && s->in[i]);
		prev = i;
		seen++;
	}
	check(seen == count);
}

static void check_format(const struct ref_set *s,
                         const struct aml_bitmap *b,
                         size_t short_size)
{
	static char buf[AML_BITMAP_FORMAT_MAX], want[AML_BITMAP_FORMAT_MAX];
	int n = aml_bitmap_format(b, buf, sizeof(buf));
	check(n >= 0 && (size_t)n < sizeof(buf) && strlen(buf) == (size_t)n);
	ref_print(s, want);
	check(strcmp(buf, want) == 0);
	check(aml_bitmap_format(b, NULL, 0) == n);

	/* Round trip: the printed list reads back to the same set, and
	 * prints the same text again. */
	struct aml_bitmap again;
	check(aml_bitmap_parse(&again, buf) == 0);
	check(aml_bitmap_equal(&again, b) == 1);
	static char twice[AML_BITMAP_FORMAT_MAX];
	check(aml_bitmap_format(&again, twice, sizeof(twice)) == n);
	check(strcmp(twice, buf) == 0);

	/* A buffer of short_size bytes: the list if it fits with its NUL,
	 * else AML_EDOM and the buffer as it was. */
	static char small[AML_BITMAP_FORMAT_MAX];
	memset(small, 0x5a, sizeof(small));
	int r = aml_bitmap_format(b, small, short_size);
	if ((size_t)n < short_size) {
		check(r == n && strcmp(small, buf) == 0);
	} else {
		check(r == AML_EDOM);
		for (size_t i = 0; i < sizeof(small); i++)
			check(small[i] == 0x5a);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > INPUT_MAX)
		return 0;
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* a NUL inside ends the list, as in C */

	struct ref_set want;
	bool ok = ref_parse(text, &want);

	struct aml_bitmap got, before;
	memset(&got, 0xa5, sizeof(got));
	before = got;
	int err = aml_bitmap_parse(&got, text);
	if (!ok) {
		check(err == AML_EINVAL);
		check(memcmp(&got, &before, sizeof(got)) == 0);
		free(text);
		return 0;
	}
	check(err == 0);
	check(ref_equal(&want, &got));
	check_queries(&want, &got);
	/* The input's length picks the short buffer, so that the fuzzer
	 * reaches every size around the list's. */
	check_format(&want, &got, size % (AML_BITMAP_FORMAT_MAX + 1));
	free(text);
	return 0;
}
