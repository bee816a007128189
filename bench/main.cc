// SPDX-License-Identifier: BSD-3-Clause
// The main() of every per-block benchmark binary: google-benchmark's, in
// the fair order of bench/fair_order.h unless the command line sets
// --benchmark_repetitions or --benchmark_enable_random_interleaving.
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/fair_order.h"

int main(int argc, char **argv)
{
	std::vector<std::string> fair = aml_bench::FairOrderFlags(argc, argv);
	std::vector<char *> args(argv, argv + argc);
	for (std::string &flag : fair)
		args.push_back(&flag[0]);
	int n = (int)args.size();
	args.push_back(nullptr);
	benchmark::Initialize(&n, args.data());
	if (benchmark::ReportUnrecognizedArguments(n, args.data()))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
