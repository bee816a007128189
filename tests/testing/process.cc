// SPDX-License-Identifier: BSD-3-Clause
#include "tests/testing/process.h"

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

} // namespace aml_testing
