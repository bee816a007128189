/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A program that knows nothing of aml: large and small blocks through
 * every allocation call, written, grown and checked, then freed. Run under
 * libaml_autofast.so by autofast_test.sh. Prints "ok" when every byte
 * held.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB ((size_t)1 << 20)

static int check(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

int main(void)
{
	unsigned char *a = malloc(4 * MiB);
	unsigned char *b = calloc(2, 2 * MiB);
	void *c = NULL;
	unsigned char *d = aligned_alloc(4096, 3 * MiB);
	unsigned char *small = malloc(100);
	if (a == NULL || b == NULL || d == NULL || small == NULL ||
	    posix_memalign(&c, 64, 2 * MiB) != 0)
		return 1;
	if (!check(b, 4 * MiB, 0) || malloc_usable_size(a) < 4 * MiB)
		return 2;
	memset(a, 1, 4 * MiB);
	memset(b, 2, 4 * MiB);
	memset(c, 3, 2 * MiB);
	memset(d, 4, 3 * MiB);
	memset(small, 5, 100);
	a = realloc(a, 8 * MiB);
	if (a == NULL || !check(a, 4 * MiB, 1))
		return 3;
	memset(a + 4 * MiB, 1, 4 * MiB);
	if (!check(a, 8 * MiB, 1) || !check(b, 4 * MiB, 2) ||
	    !check(c, 2 * MiB, 3) || !check(d, 3 * MiB, 4) ||
	    !check(small, 100, 5))
		return 4;
	free(a);
	free(b);
	free(c);
	free(d);
	free(small);
	puts("ok");
	return 0;
}
