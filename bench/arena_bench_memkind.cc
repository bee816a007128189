// SPDX-License-Identifier: BSD-3-Clause
// memkind_malloc/memkind_free of MEMKIND_DEFAULT, the peer of the arenas
// in arena_bench.cc, and hbw_malloc/hbw_free, the peer of the fast memory
// in arena_bench_fast.cc (linked into //bench:arena_bench when memkind is
// built).
#include <sys/mman.h>

#include <cstdlib>

#include <benchmark/benchmark.h>
#include <hbwmalloc.h>
#include <memkind.h>

#include "bench/arena_bench.h"

namespace
{

void BM_MemkindMalloc(benchmark::State &state)
{
	aml_bench::MallocFreeLoop(
	        state,
	        [](size_t n) { return memkind_malloc(MEMKIND_DEFAULT, n); },
	        [](void *p) { memkind_free(MEMKIND_DEFAULT, p); });
}

} // namespace

BENCHMARK(BM_MemkindMalloc)
        ->Name("arena/malloc_free/memkind_malloc")
        ->Apply(aml_bench::ArenaSizes);

namespace
{

// The peer of arena/malloc_free_threaded/aml_jemalloc: a parked second
// thread in the process.
void BM_MemkindMallocThreaded(benchmark::State &state)
{
	aml_bench::ParkedThread parked;
	BM_MemkindMalloc(state);
}

} // namespace

BENCHMARK(BM_MemkindMallocThreaded)
        ->Name("arena/malloc_free_threaded/memkind_malloc")
        ->Apply(aml_bench::ArenaSizes);
BENCHMARK(BM_MemkindMalloc)
        ->Name("arena/malloc_free/memkind_malloc")
        ->Apply(aml_bench::ArenaSizes)
        ->Threads(2);

namespace
{

// memkind's own fixed kind over a plain mapping: what the jemalloc arena
// adds on top of it (a lock and the record of live blocks) is the gap.
void BM_MemkindFixed(benchmark::State &state)
{
	size_t region = 64 << 20;
	void *base = mmap(nullptr, region, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memkind_t kind = nullptr;
	if (base == MAP_FAILED ||
	    memkind_create_fixed(base, region, &kind) != MEMKIND_SUCCESS) {
		state.SkipWithError("memkind_create_fixed failed");
		return;
	}
	aml_bench::MallocFreeLoop(
	        state, [&](size_t n) { return memkind_malloc(kind, n); },
	        [&](void *p) { memkind_free(kind, p); });
	memkind_destroy_kind(kind);
	munmap(base, region);
}

} // namespace

BENCHMARK(BM_MemkindFixed)
        ->Name("arena/malloc_free/memkind_fixed")
        ->Apply(aml_bench::ArenaSizes);

namespace
{

// hbw_malloc/hbw_free under the default policy (PREFERRED): the peer of
// arena/malloc_free/aml_fast (arena_bench_fast.cc), same sizes, 1 and 2
// threads, in the caller's thread, measured. On a machine without HBM,
// node 0 is named HBW (MEMKIND_HBW_NODES=0, unless set already) before the
// first hbw call; memkind reads it once, so where another row of the
// binary asked memkind for HBW before, the row is skipped if none was found.
void BM_HbwMalloc(benchmark::State &state)
{
	static const bool named = setenv("MEMKIND_HBW_NODES", "0", 0) == 0;
	if (!named || hbw_check_available() != 0) {
		state.SkipWithError("hbw_check_available: no HBW node");
		return;
	}
	aml_bench::MallocFreeLoop(state, hbw_malloc, hbw_free);
}

} // namespace

BENCHMARK(BM_HbwMalloc)
        ->Name("arena/malloc_free/hbw_malloc")
        ->Apply(aml_bench::ArenaSizes);
BENCHMARK(BM_HbwMalloc)
        ->Name("arena/malloc_free/hbw_malloc")
        ->Apply(aml_bench::ArenaSizes)
        ->Threads(2);
