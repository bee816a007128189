// SPDX-License-Identifier: BSD-3-Clause
// jemalloc and mimalloc, the allocators the scalable arena is measured
// against (issue #17), on one and two threads; linked into
// //bench:arena_bench when the host has them (third_party/host_libs.bzl).
// Each is called through its own API (mallocx/dallocx, mi_malloc/mi_free),
// which reaches that library whichever of them provides malloc here.
#include <benchmark/benchmark.h>

#ifdef AML_BENCH_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif
#ifdef AML_BENCH_HAVE_MIMALLOC
#include <mimalloc.h>
#endif

#include "bench/arena_bench.h"

namespace
{

#ifdef AML_BENCH_HAVE_JEMALLOC
void BM_Jemalloc(benchmark::State &state)
{
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = mallocx(size, 0);
		benchmark::DoNotOptimize(p);
		dallocx(p, 0);
	}
	state.SetItemsProcessed(state.iterations());
}
#endif

#ifdef AML_BENCH_HAVE_MIMALLOC
void BM_Mimalloc(benchmark::State &state)
{
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = mi_malloc(size);
		benchmark::DoNotOptimize(p);
		mi_free(p);
	}
	state.SetItemsProcessed(state.iterations());
}
#endif

} // namespace

#ifdef AML_BENCH_HAVE_JEMALLOC
BENCHMARK(BM_Jemalloc)
        ->Name("arena/malloc_free/jemalloc")
        ->Apply(aml_bench::ArenaSizes);
BENCHMARK(BM_Jemalloc)
        ->Name("arena/malloc_free/jemalloc")
        ->Apply(aml_bench::ArenaSizes)
        ->Threads(2);
#endif
#ifdef AML_BENCH_HAVE_MIMALLOC
BENCHMARK(BM_Mimalloc)
        ->Name("arena/malloc_free/mimalloc")
        ->Apply(aml_bench::ArenaSizes);
BENCHMARK(BM_Mimalloc)
        ->Name("arena/malloc_free/mimalloc")
        ->Apply(aml_bench::ArenaSizes)
        ->Threads(2);
#endif
