// SPDX-License-Identifier: BSD-3-Clause
#include "tests/testing/process.h"

#include <sys/mman.h>

#include <cstdio>

namespace aml_testing
{

long VirtualPages()
{
	long pages = -1;
	FILE *f = std::fopen("/proc/self/statm", "r");
	if (f == nullptr)
		return -1;
	if (std::fscanf(f, "%ld", &pages) != 1)
		pages = -1;
	std::fclose(f);
	return pages;
}

bool KernelAcceptsMap(size_t size)
{
	void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	munmap(p, size);
	return true;
}

} // namespace aml_testing
