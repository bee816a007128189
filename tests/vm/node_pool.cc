// SPDX-License-Identifier: BSD-3-Clause
#include "tests/vm/node_pool.h"

#include <cstdio>

namespace aml_vm
{

std::string NodePoolFile(int node, const char *name, size_t kib)
{
	return "/sys/devices/system/node/node" + std::to_string(node) +
	       "/hugepages/hugepages-" + std::to_string(kib) + "kB/" + name;
}

long ReadNodePool(int node, const char *name, size_t kib)
{
	FILE *f = std::fopen(NodePoolFile(node, name, kib).c_str(), "r");
	long n = -1;
	if (f == nullptr)
		return -1;
	if (std::fscanf(f, "%ld", &n) != 1)
		n = -1;
	std::fclose(f);
	return n;
}

bool WriteNodePool(int node, size_t pages, size_t kib)
{
	FILE *f = std::fopen(NodePoolFile(node, "nr_hugepages", kib).c_str(),
	                     "w");
	if (f == nullptr)
		return false;
	bool ok = std::fprintf(f, "%zu\n", pages) > 0;
	return std::fclose(f) == 0 && ok;
}

} // namespace aml_vm
