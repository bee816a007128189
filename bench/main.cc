// SPDX-License-Identifier: BSD-3-Clause
// The main() of every per-block benchmark binary: google-benchmark's, in
// the fair order of bench/fair_order.h unless the command line sets
// --benchmark_repetitions or --benchmark_enable_random_interleaving.
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/fair_order.h"

int main(int argc, char **argv)
{
	if (!aml_bench::InitializeInFairOrder(
	            std::vector<char *>(argv, argv + argc)))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
