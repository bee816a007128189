/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A program that knows nothing of aml and reports where the kernel put its
 * buffers: two large blocks (8 MiB from malloc, 4 MiB from calloc) and two
 * small ones (64 KiB from glibc's heap, 256 KiB, which glibc maps apart).
 * Every page is written, then each block is reported on one line:
 *
 *   block NAME BYTES policy=POLICY pages N<k>=COUNT...
 *
 * POLICY is the /proc/self/numa_maps policy of the mapping that holds the
 * block ("default", "prefer:2", ...), and the counts are the nodes of the
 * block's whole pages by move_pages(2). tests/vm/autofast_guest_test.sh
 * runs it with and without LD_PRELOAD=libaml_autofast.so and checks these
 * lines. Exit status 0 when every line could be read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KiB       ((size_t)1 << 10)
#define MiB       ((size_t)1 << 20)
#define MAX_NODES 64

/* The numa_maps policy of the mapping holding p, into policy; 0 or -1. */
static int policy_of(const void *p, char *policy, size_t size)
{
	uintptr_t a = (uintptr_t)p;
	unsigned long start = 0, end = 0;
	char line[4096];
	int found = 0;
	FILE *maps = fopen("/proc/self/maps", "r");
	if (maps == NULL)
		return -1;
	while (!found && fgets(line, sizeof(line), maps) != NULL)
		found = sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		        start <= a && a < end;
	fclose(maps);
	FILE *numa_maps = fopen("/proc/self/numa_maps", "r");
	if (!found || numa_maps == NULL) {
		if (numa_maps != NULL)
			fclose(numa_maps);
		return -1;
	}
	int ok = -1;
	while (ok != 0 && fgets(line, sizeof(line), numa_maps) != NULL) {
		unsigned long address;
		char word[64];
		if (sscanf(line, "%lx %63s", &address, word) == 2 &&
		    address == start) {
			snprintf(policy, size, "%s", word);
			ok = 0;
		}
	}
	fclose(numa_maps);
	return ok;
}

/* Report the block at p of n bytes; 0 or -1. */
static int report(const char *name, const char *p, size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	const char *first =
	        (const char *)(((uintptr_t)p + page - 1) / page * page);
	size_t npages = p + n > first ? (size_t)(p + n - first) / page : 0;
	void **pages = calloc(npages + 1, sizeof(void *));
	int *status = calloc(npages + 1, sizeof(int));
	unsigned long count[MAX_NODES + 1] = {0};
	char policy[64] = "?";
	int ok = pages != NULL && status != NULL &&
	         policy_of(p, policy, sizeof(policy)) == 0;
	for (size_t i = 0; ok && i < npages; i++)
		pages[i] = (void *)((uintptr_t)first + i * page);
	/* move_pages with no target nodes only says where each page is. */
	if (ok && syscall(SYS_move_pages, 0, (unsigned long)npages, pages, NULL,
	                  status, 0) != 0) {
		fprintf(stderr, "move_pages: %s\n", strerror(errno));
		ok = 0;
	}
	printf("block %s %zu policy=%s pages", name, n, policy);
	for (size_t i = 0; ok && i < npages; i++)
		count[status[i] >= 0 && status[i] < MAX_NODES ? status[i]
		                                              : MAX_NODES]++;
	for (int k = 0; k <= MAX_NODES; k++) {
		if (count[k] == 0)
			continue;
		if (k < MAX_NODES)
			printf(" N%d=%lu", k, count[k]);
		else
			printf(" unknown=%lu", count[k]);
	}
	printf("\n");
	free(pages);
	free(status);
	return ok ? 0 : -1;
}

int main(void)
{
	char *big = malloc(8 * MiB);
	char *zeroed = calloc(4, MiB);
	char *small = malloc(64 * KiB);
	char *mid = malloc(256 * KiB);
	if (big == NULL || zeroed == NULL || small == NULL || mid == NULL)
		return 1;
	memset(big, 1, 8 * MiB);
	memset(zeroed, 2, 4 * MiB);
	memset(small, 3, 64 * KiB);
	memset(mid, 4, 256 * KiB);
	int err = report("big_malloc", big, 8 * MiB);
	err |= report("big_calloc", zeroed, 4 * MiB);
	err |= report("small_heap", small, 64 * KiB);
	err |= report("small_mmap", mid, 256 * KiB);
	free(big);
	free(zeroed);
	free(small);
	free(mid);
	return err != 0 ? 2 : 0;
}
