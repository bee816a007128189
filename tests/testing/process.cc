// SPDX-License-Identifier: BSD-3-Clause
#include "tests/testing/process.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

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

bool LeftNothingMapped(long before_pages, size_t size)
{
	long now = VirtualPages();
	long page = sysconf(_SC_PAGESIZE);
	if (before_pages < 0 || now < 0 || page <= 0)
		return false;
	return now - before_pages < (long)(size / (size_t)page / 8);
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

NoFreeDescriptors::NoFreeDescriptors() : saved_(0), active_(false)
{
	struct rlimit limit;
	int lowest = dup(0);
	if (lowest < 0 || getrlimit(RLIMIT_NOFILE, &limit) != 0) {
		if (lowest >= 0)
			close(lowest);
		return;
	}
	close(lowest);
	saved_ = limit.rlim_cur;
	limit.rlim_cur = (rlim_t)lowest;
	active_ = setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

NoFreeDescriptors::~NoFreeDescriptors()
{
	struct rlimit limit;
	if (!active_ || getrlimit(RLIMIT_NOFILE, &limit) != 0)
		return;
	limit.rlim_cur = (rlim_t)saved_;
	setrlimit(RLIMIT_NOFILE, &limit);
}

} // namespace aml_testing
