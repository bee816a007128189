/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operating system, in one unit (see os.h).
 */
#include "aml/src/os.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include <aml/device.h>
#include <aml/error.h>

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

/* The calling thread's last translated errno (aml_os_errno()). */
static _Thread_local int os_errno;

int aml_os_errno(void)
{
	return os_errno;
}

int aml_os_error(int err, int code)
{
	os_errno = err;
	return code;
}

int aml_os_open_error(int err, int absent)
{
	return aml_os_error(err, err == ENOMEM || err == EMFILE || err == ENFILE
	                                 ? AML_ENOMEM
	                                 : absent);
}
