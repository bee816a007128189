// SPDX-License-Identifier: BSD-3-Clause
// The one-call fast memory interface (aml/fast.h), malloc + free in the
// caller's thread, on 1 and 2 threads, measured: the rows
// arena/malloc_free/aml_fast/<bytes> beside the peers of arena_bench.cc
// (glibc, jemalloc, mimalloc) and arena_bench_memkind.cc (hbw_malloc).
// On a machine without HBM, node 0 is named fast (AML_FAST_NODES=0, as
// MEMKIND_HBW_NODES=0 for hbw_malloc), so both serve the same memory
// under their default policy, PREFERRED. A variable already set wins.
#include <cstdlib>

#include <benchmark/benchmark.h>

#include <aml.h>
#include <aml/fast.h>

#include "bench/arena_bench.h"

namespace
{

const bool kNodeZeroIsFast = [] {
	return setenv("AML_FAST_NODES", "0", 0) == 0;
}();

void BM_FastMalloc(benchmark::State &state)
{
	char why[AML_FAST_REASON_MAX] = "";
	if (!kNodeZeroIsFast || aml_fast_available(why, sizeof(why)) < 0) {
		state.SkipWithError(why);
		return;
	}
	aml_bench::MallocFreeLoop(state, aml_fast_malloc, aml_fast_free);
}

} // namespace

BENCHMARK(BM_FastMalloc)
        ->Name("arena/malloc_free/aml_fast")
        ->Apply(aml_bench::ArenaSizes);
BENCHMARK(BM_FastMalloc)
        ->Name("arena/malloc_free/aml_fast")
        ->Apply(aml_bench::ArenaSizes)
        ->Threads(2);
