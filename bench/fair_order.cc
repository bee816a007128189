// SPDX-License-Identifier: BSD-3-Clause
#include "bench/fair_order.h"

#include <cstring>

namespace aml_bench
{

bool HasFlag(int argc, char **argv, const char *prefix)
{
	for (int i = 1; i < argc; i++)
		if (std::strncmp(argv[i], prefix, std::strlen(prefix)) == 0)
			return true;
	return false;
}

std::vector<std::string> FairOrderFlags(int argc, char **argv)
{
	std::vector<std::string> flags;
	if (!HasFlag(argc, argv, "--benchmark_repetitions"))
		flags.push_back("--benchmark_repetitions=3");
	if (!HasFlag(argc, argv, "--benchmark_enable_random_interleaving"))
		flags.push_back("--benchmark_enable_random_interleaving=true");
	return flags;
}

} // namespace aml_bench
