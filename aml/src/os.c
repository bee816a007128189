/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operating system, in one unit (see os.h).
 */
#include "aml/src/os.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <aml/device.h>
#include <aml/error.h>

#include "aml/src/error_detail.h"

size_t aml_page_size(void)
{
	/* sysconf is cheap, but this sits on every map and unmap. */
	static size_t page_size;
	size_t size = __atomic_load_n(&page_size, __ATOMIC_RELAXED);
	if (size == 0) {
		size = (size_t)sysconf(_SC_PAGESIZE);
		__atomic_store_n(&page_size, size, __ATOMIC_RELAXED);
	}
	return size;
}

int aml_round_to_pages(size_t size, size_t *out)
{
	size_t page = aml_page_size();
	if (size == 0 || size > SIZE_MAX - (page - 1))
		return AML_EINVAL;
	*out = (size + page - 1) & ~(page - 1);
	return 0;
}

int aml_page_state(const void *page)
{
	unsigned char resident;
	if (mincore((void *)(uintptr_t)page, aml_page_size(), &resident) != 0)
		return errno == ENOMEM ? AML_EINVAL : AML_ENODEV;
	return (resident & 1) != 0 ? 0 : AML_ENODEV;
}

int aml_page_without_device(const void *page)
{
	int state = aml_page_state(page);
	return state == 0 ? AML_ENODEV : state;
}

/* Linux 5.14 (glibc 2.35); the value is the kernel's, older headers lack it. */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int aml_populate_write(void *ptr, size_t size)
{
	if (madvise(ptr, size, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno != EINVAL)
		return aml_os_error(errno, AML_ENOMEM);
	size_t page = aml_page_size();
	for (size_t offset = 0; offset < size; offset += page) {
		volatile char *byte = (volatile char *)ptr + offset;
		*byte = *byte;
	}
	return 0;
}

int aml_thread_cpus(struct aml_bitmap *out)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return AML_FAILURE;
	aml_bitmap_zero(out);
	for (size_t cpu = 0; cpu < AML_BITMAP_MAX && cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &set))
			aml_bitmap_set(out, cpu);
	}
	return 0;
}

size_t aml_thread_ncpus(void)
{
	cpu_set_t set;
	size_t cpus = 1;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		cpus = (size_t)CPU_COUNT(&set);
	return cpus > 1 ? cpus : 1;
}

/* The size of cpu0's cache index @p index in sysfs ("1024K"), or 0, and its
 * level into *level. read(2), not fopen: this must not allocate. */
static size_t os_sysfs_cache(unsigned index, unsigned *level)
{
	char path[64], buf[32];
	size_t size = 0;
	*level = 0;
	for (int f = 0; f < 2; f++) {
		snprintf(path, sizeof(path),
		         "/sys/devices/system/cpu/cpu0/cache/index%u/%s", index,
		         f == 0 ? "level" : "size");
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 0;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return 0;
		buf[n] = '\0';
		size_t v = 0;
		char *c = buf;
		for (; *c >= '0' && *c <= '9'; c++)
			v = v * 10 + (size_t)(*c - '0');
		if (f == 0) {
			*level = (unsigned)v;
		} else {
			size = v;
			if (*c == 'K')
				size = v << 10;
			else if (*c == 'M')
				size = v << 20;
		}
	}
	return size;
}

void aml_cache_sizes(struct aml_cache_sizes *out)
{
	long l2 = 0, l3 = 0;
#if defined(_SC_LEVEL2_CACHE_SIZE) && defined(_SC_LEVEL3_CACHE_SIZE)
	l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
	l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
	out->l2 = l2 > 0 ? (size_t)l2 : 0;
	out->llc = l3 > 0 ? (size_t)l3 : 0;
	if (out->l2 == 0 || out->llc == 0) {
		/* Unified or data caches; index order is level order. */
		size_t sys_l2 = 0, sys_llc = 0;
		for (unsigned i = 0; i < 8; i++) {
			unsigned level;
			size_t size = os_sysfs_cache(i, &level);
			if (size == 0)
				break;
			if (level == 2)
				sys_l2 = size;
			if (level >= 2)
				sys_llc = size;
		}
		if (out->l2 == 0)
			out->l2 = sys_l2;
		if (out->llc == 0)
			out->llc = sys_llc;
	}
	if (out->llc == 0)
		out->llc = out->l2;
}

/* ---- Huge pages ---- */

/* The first line of @p path into @p buf (NUL-terminated, newline kept), or
 * -1. read(2), not fopen: this must not allocate. */
static ssize_t os_read_line(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* The decimal number at the start of @p path, or @p absent. */
static size_t os_read_number(const char *path, size_t absent)
{
	char buf[32];
	if (os_read_line(path, buf, sizeof(buf)) <= 0 || buf[0] < '0' ||
	    buf[0] > '9')
		return absent;
	size_t v = 0;
	for (const char *c = buf; *c >= '0' && *c <= '9'; c++)
		v = v * 10 + (size_t)(*c - '0');
	return v;
}

#define OS_THP_DIR "/sys/kernel/mm/transparent_hugepage"

size_t aml_thp_size(void)
{
	/* The PMD size; 2 MiB on x86-64, where older kernels lack the file. */
	size_t size = os_read_number(OS_THP_DIR "/hpage_pmd_size", 0);
	return size != 0 && (size & (size - 1)) == 0 ? size : (size_t)2 << 20;
}

int aml_thp_check(void)
{
	char buf[64];
	if (os_read_line(OS_THP_DIR "/enabled", buf, sizeof(buf)) <= 0)
		return aml_error_explain(AML_ENOTSUP,
		                         "transparent huge pages: this kernel "
		                         "has none (" OS_THP_DIR
		                         "/enabled is absent)");
	if (strstr(buf, "[never]") != NULL)
		return aml_error_explain(
		        AML_ENOTSUP,
		        "transparent huge pages are off: " OS_THP_DIR
		        "/enabled is [never]");
	return 0;
}

int aml_advise_huge(void *ptr, size_t size)
{
	if (madvise(ptr, size, MADV_HUGEPAGE) == 0)
		return 0;
	return aml_os_error_in("madvise(MADV_HUGEPAGE)", errno,
	                       errno == EINVAL ? AML_ENOTSUP : AML_ENOMEM);
}

size_t aml_hugetlb_size(enum aml_page_kind pages)
{
	switch (pages) {
	case AML_PAGE_HUGETLB_2M:
		return (size_t)2 << 20;
	case AML_PAGE_HUGETLB_1G:
		return (size_t)1 << 30;
	default:
		return 0;
	}
}

/* "2 MiB" or "1 GiB". */
static void os_size_name(size_t size, char *out, size_t n)
{
	if (size >= (size_t)1 << 30)
		snprintf(out, n, "%zu GiB", size >> 30);
	else
		snprintf(out, n, "%zu MiB", size >> 20);
}

int aml_hugetlb_check(size_t page)
{
	char path[96], name[16];
	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%zukB",
	         page >> 10);
	if (access(path, F_OK) == 0)
		return 0;
	os_size_name(page, name, sizeof(name));
	return aml_error_explain(AML_ENOTSUP,
	                         "hugetlb pages of %s: the system offers none "
	                         "(%s is absent)",
	                         name, path);
}

size_t aml_hugetlb_free_on_node(int node, size_t page)
{
	char path[128];
	snprintf(path, sizeof(path),
	         "/sys/devices/system/node/node%d/hugepages/"
	         "hugepages-%zukB/free_hugepages",
	         node, page >> 10);
	return os_read_number(path, SIZE_MAX);
}

static int os_hugetlb_enomem(size_t size, size_t page);

int aml_hugetlb_short_on_node(int node, size_t page, size_t npages)
{
	char path[96], name[16];
	snprintf(path, sizeof(path),
	         "/sys/kernel/mm/hugepages/hugepages-%zukB/nr_hugepages",
	         page >> 10);
	if (os_read_number(path, 0) == 0)
		return os_hugetlb_enomem(npages * page, page); /* none at all */

	size_t free_pages = aml_hugetlb_free_on_node(node, page);
	os_size_name(page, name, sizeof(name));
	return aml_error_explain(
	        AML_ENOMEM,
	        "%zu hugetlb pages of %s asked, %zu free on node %d "
	        "(/sys/devices/system/node/node%d/hugepages/hugepages-%zukB)",
	        npages, name, free_pages, node, node, page >> 10);
}

/* Why a hugetlb mmap of @p size bytes said ENOMEM: the pool's figures. */
static int os_hugetlb_enomem(size_t size, size_t page)
{
	char dir[96], path[128], name[16];
	snprintf(dir, sizeof(dir), "/sys/kernel/mm/hugepages/hugepages-%zukB",
	         page >> 10);
	os_size_name(page, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/nr_hugepages", dir);
	size_t nr = os_read_number(path, 0);
	if (nr == 0)
		return aml_error_explain(
		        AML_ENOMEM, "no %s huge pages reserved: %s is 0%s",
		        name,
		        page == (size_t)2 << 20 ? "/proc/sys/vm/nr_hugepages"
		                                : path,
		        page == (size_t)2 << 20 ? " (or per node in "
		                                  "/sys/devices/system/node/"
		                                  "nodeN/hugepages)"
		                                : "");
	snprintf(path, sizeof(path), "%s/free_hugepages", dir);
	size_t free_pages = os_read_number(path, 0);
	snprintf(path, sizeof(path), "%s/resv_hugepages", dir);
	size_t resv = os_read_number(path, 0);
	return aml_error_explain(AML_ENOMEM,
	                         "%zu huge pages of %s asked: %zu reserved, "
	                         "%zu free, %zu of those promised to other "
	                         "maps (%s)",
	                         size / page, name, nr, free_pages, resv, dir);
}

/* The kernel's flag for a hugetlb page of 2^shift bytes; older headers
 * lack the named sizes. */
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

void *aml_hugetlb_map(size_t size, size_t page)
{
	int shift = __builtin_ctzl(page);
	void *ptr = mmap(NULL, size, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
	                         (shift << MAP_HUGE_SHIFT),
	                 -1, 0);
	if (ptr != MAP_FAILED)
		return ptr;
	int err = errno;
	if (err == ENOMEM) {
		aml_os_error(err, AML_ENOMEM); /* keeps the errno */
		aml_errno = os_hugetlb_enomem(size, page);
	} else
		aml_errno =
		        aml_os_error_in("mmap(MAP_HUGETLB)", err, AML_ENOTSUP);
	return NULL;
}

/* The calling thread's last translated errno (aml_os_errno()). */
static _Thread_local int os_errno;

int aml_os_errno(void)
{
	return os_errno;
}

int aml_os_error(int err, int code)
{
	return aml_os_error_in("a system call", err, code);
}

int aml_os_error_in(const char *call, int err, int code)
{
	os_errno = err;
	const char *name = strerrorname_np(err);
	char text[128];
	return aml_error_explain(code, "%s failed: errno %s (%s)", call,
	                         name != NULL ? name : "?",
	                         strerror_r(err, text, sizeof(text)));
}

int aml_os_open_error(int err, int absent)
{
	return aml_os_error(err, err == ENOMEM || err == EMFILE || err == ENFILE
	                                 ? AML_ENOMEM
	                                 : absent);
}
