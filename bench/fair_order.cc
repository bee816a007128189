// SPDX-License-Identifier: BSD-3-Clause
#include "bench/fair_order.h"

#include <cstring>

#include <benchmark/benchmark.h>

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

bool InitializeInFairOrder(std::vector<char *> args)
{
	std::vector<std::string> fair =
	        FairOrderFlags((int)args.size(), args.data());
	for (std::string &flag : fair)
		args.push_back(&flag[0]);
	int n = (int)args.size();
	args.push_back(nullptr);
	benchmark::Initialize(&n, args.data());
	return !benchmark::ReportUnrecognizedArguments(n, args.data());
}

} // namespace aml_bench
