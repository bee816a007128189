// SPDX-License-Identifier: BSD-3-Clause
// memkind_malloc/memkind_free of MEMKIND_DEFAULT, the peer of the arenas
// in arena_bench.cc (linked into //bench:arena_bench when memkind is built).
#include <sys/mman.h>

#include <benchmark/benchmark.h>
#include <memkind.h>

#include "bench/arena_bench.h"

namespace
{

void BM_MemkindMalloc(benchmark::State &state)
{
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = memkind_malloc(MEMKIND_DEFAULT, size);
		benchmark::DoNotOptimize(p);
		memkind_free(MEMKIND_DEFAULT, p);
	}
	state.SetItemsProcessed(state.iterations());
}

} // namespace

BENCHMARK(BM_MemkindMalloc)
        ->Name("arena/malloc_free/memkind_malloc")
        ->Apply(aml_bench::ArenaSizes);

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
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = memkind_malloc(kind, size);
		benchmark::DoNotOptimize(p);
		memkind_free(kind, p);
	}
	state.SetItemsProcessed(state.iterations());
	memkind_destroy_kind(kind);
	munmap(base, region);
}

} // namespace

BENCHMARK(BM_MemkindFixed)
        ->Name("arena/malloc_free/memkind_fixed")
        ->Apply(aml_bench::ArenaSizes);
