/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libaml_autofast.so: run an unmodified program with its large allocations
 * in fast memory, as memkind's autohbw does.
 *
 *   LD_PRELOAD=libaml_autofast.so AML_AUTOFAST_SIZE=1M ./program
 *
 * malloc, calloc, posix_memalign, aligned_alloc and memalign of at least
 * AML_AUTOFAST_SIZE bytes (default 1 MiB; "min:max" for a range; K, M, G
 * suffixes) go to aml's one-call fast memory (aml/fast.h: AML_FAST_POLICY
 * and AML_FAST_NODES apply, and AML_EMULATE for an emulated machine);
 * everything else to glibc. A fast allocation that fails falls back to
 * glibc, so the program never sees a failure glibc would not give. free,
 * realloc and malloc_usable_size find out whose a block is; realloc keeps
 * a block where it is. With AML_AUTOFAST_REPORT=1, a line on stderr at
 * exit counts the blocks sent to fast memory, and the devices that held
 * their first page when they were freed.
 *
 * Reentrancy: aml allocates for itself (the topology, the arenas' caches);
 * those calls come back here, and a thread already inside aml is served by
 * glibc at once.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml.h>
#include <aml/fast.h>

/* glibc's own, exported under these names for interposers. */
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void *__libc_memalign(size_t alignment, size_t size);
void __libc_free(void *ptr);

/* Most devices the report names. */
#define REPORT_DEVICES 64

static _Thread_local bool inside_aml;

static struct {
	pthread_once_t once;
	size_t min, max;
	bool report;
	/* Whether any block went to fast memory: until then, free needs no
	 * lookup. */
	atomic_bool used;
	atomic_ulong sent, fell_back;
	atomic_ulong freed_on[REPORT_DEVICES + 1]; /* last: untouched */
} autofast = {.once = PTHREAD_ONCE_INIT, .min = 1 << 20, .max = SIZE_MAX};

/* "64K", "1M", "2G" or bytes; false if malformed. */
static bool parse_size(const char *text, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (end == text || errno != 0)
		return false;
	unsigned shift = 0;
	switch (*end) {
	case 'K':
	case 'k':
		shift = 10;
		end++;
		break;
	case 'M':
	case 'm':
		shift = 20;
		end++;
		break;
	case 'G':
	case 'g':
		shift = 30;
		end++;
		break;
	default:
		break;
	}
	if ((*end != '\0' && *end != ':') || v > (SIZE_MAX >> shift))
		return false;
	*out = (size_t)v << shift;
	return true;
}

__attribute__((destructor)) static void report(void)
{
	if (!autofast.report)
		return;
	/* Past here, nothing more is sent to fast memory. */
	inside_aml = true;
	char line[1024];
	int len = snprintf(line, sizeof(line),
	                   "aml autofast: %lu allocations of %zu bytes or "
	                   "more sent to fast memory, %lu fell back to glibc; "
	                   "at free, first pages on:",
	                   atomic_load(&autofast.sent), autofast.min,
	                   atomic_load(&autofast.fell_back));
	const struct aml_topology *t = aml_topology_default();
	for (int d = 0;
	     d <= REPORT_DEVICES && len > 0 && (size_t)len < sizeof(line);
	     d++) {
		unsigned long n = atomic_load(&autofast.freed_on[d]);
		if (n == 0)
			continue;
		const struct aml_device *dev =
		        d < REPORT_DEVICES && t != NULL
		                ? aml_topology_device(t, (size_t)d)
		                : NULL;
		len += snprintf(line + len, sizeof(line) - (size_t)len,
		                " %s (NUMA %d) x%lu",
		                dev != NULL ? dev->name : "untouched",
		                dev != NULL ? dev->numa_id : -1, n);
	}
	fprintf(stderr, "%s\n", line);
}

/* Under pthread_once, with inside_aml set: whatever glibc allocates here
 * must not come back to the once. */
static void configure(void)
{
	const char *size = getenv("AML_AUTOFAST_SIZE");
	if (size != NULL && size[0] != '\0') {
		const char *colon = strchr(size, ':');
		if (!parse_size(size, &autofast.min) ||
		    (colon != NULL && !parse_size(colon + 1, &autofast.max))) {
			fprintf(stderr,
			        "aml autofast: AML_AUTOFAST_SIZE=%s: use bytes "
			        "or min:max, with K, M or G; nothing is sent "
			        "to fast memory\n",
			        size);
			autofast.min = SIZE_MAX;
			autofast.max = 0;
		}
	}
	const char *r = getenv("AML_AUTOFAST_REPORT");
	autofast.report = r != NULL && strcmp(r, "1") == 0;
}

/* Whether a request of size bytes goes to fast memory. */
static bool wanted(size_t size)
{
	if (inside_aml)
		return false;
	inside_aml = true;
	pthread_once(&autofast.once, configure);
	inside_aml = false;
	return size >= autofast.min && size <= autofast.max;
}

/* A block from fast memory, or NULL: the caller falls back to glibc. */
static void *fast_alloc(size_t alignment, size_t size, bool zero)
{
	inside_aml = true;
	void *p = NULL;
	if (alignment != 0) {
		if (aml_fast_posix_memalign(&p, alignment, size) != 0)
			p = NULL;
	} else {
		p = zero ? aml_fast_calloc(1, size) : aml_fast_malloc(size);
	}
	inside_aml = false;
	if (p != NULL) {
		atomic_store(&autofast.used, true);
		atomic_fetch_add(&autofast.sent, 1);
	} else {
		atomic_fetch_add(&autofast.fell_back, 1);
	}
	return p;
}

/* Whether ptr is a live fast block. */
static bool is_fast(const void *ptr)
{
	if (ptr == NULL || inside_aml || !atomic_load(&autofast.used))
		return false;
	inside_aml = true;
	bool fast = aml_fast_usable_size(ptr) != 0;
	inside_aml = false;
	return fast;
}

void *malloc(size_t size)
{
	if (wanted(size)) {
		void *p = fast_alloc(0, size, false);
		if (p != NULL)
			return p;
	}
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	size_t bytes;
	if (!__builtin_mul_overflow(n, size, &bytes) && wanted(bytes)) {
		void *p = fast_alloc(0, bytes, true);
		if (p != NULL)
			return p;
	}
	return __libc_calloc(n, size);
}

void free(void *ptr)
{
	if (is_fast(ptr)) {
		inside_aml = true;
		if (autofast.report) {
			int d = aml_fast_locate(ptr);
			atomic_fetch_add(
			        &autofast.freed_on[d >= 0 && d < REPORT_DEVICES
			                                   ? d
			                                   : REPORT_DEVICES],
			        1);
		}
		aml_fast_free(ptr);
		inside_aml = false;
		return;
	}
	__libc_free(ptr);
}

void *realloc(void *ptr, size_t size)
{
	if (is_fast(ptr)) {
		inside_aml = true;
		void *p = aml_fast_realloc(ptr, size);
		inside_aml = false;
		if (p == NULL && size != 0)
			errno = ENOMEM;
		return p;
	}
	return __libc_realloc(ptr, size);
}

static void *aligned(size_t alignment, size_t size)
{
	if (wanted(size)) {
		void *p = fast_alloc(alignment, size, false);
		if (p != NULL)
			return p;
	}
	return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
	if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
		return EINVAL;
	void *p = aligned(alignment, size);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

void *aligned_alloc(size_t alignment, size_t size)
{
	if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
		errno = EINVAL;
		return NULL;
	}
	return aligned(alignment, size);
}

void *memalign(size_t alignment, size_t size)
{
	return aligned(alignment, size);
}

size_t malloc_usable_size(void *ptr)
{
	if (is_fast(ptr)) {
		inside_aml = true;
		size_t n = aml_fast_usable_size(ptr);
		inside_aml = false;
		return n;
	}
	/* dlsym returns an object pointer; POSIX makes it callable, ISO C
	 * only lets memcpy carry it over. */
	static size_t (*libc_usable)(void *);
	if (libc_usable == NULL) {
		void *sym = dlsym(RTLD_NEXT, "malloc_usable_size");
		memcpy(&libc_usable, &sym, sizeof(sym));
	}
	return libc_usable != NULL ? libc_usable(ptr) : 0;
}
