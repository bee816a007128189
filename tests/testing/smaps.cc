// SPDX-License-Identifier: BSD-3-Clause
#include "tests/testing/smaps.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace aml_testing
{

size_t SmapsKb(const void *p, size_t size, const char *field)
{
	std::ifstream in("/proc/self/smaps");
	std::string line;
	bool inside = false;
	size_t total = 0, flen = strlen(field);
	uintptr_t lo = (uintptr_t)p, hi = lo + size;
	while (std::getline(in, line)) {
		unsigned long start, end;
		// A mapping's first line is "start-end perms ...", where the
		// fields are "Name:   value kB".
		if (sscanf(line.c_str(), "%lx-%lx ", &start, &end) == 2 &&
		    line.find(':') > line.find(' ')) {
			inside = start < hi && lo < end;
			continue;
		}
		if (inside && line.compare(0, flen, field) == 0 &&
		    line[flen] == ':')
			total += std::stoul(line.substr(flen + 1));
	}
	return total;
}

} // namespace aml_testing
