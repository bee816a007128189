// SPDX-License-Identifier: BSD-3-Clause
// One malloc + free per iteration, for each arena over an area on node 0,
// against glibc malloc/free (and memkind_malloc/free in
// arena_bench_memkind.cc when memkind is built). Sizes: 16 B to 4 KiB.
//   bazel run -c opt //bench:arena_bench
#include "bench/arena_bench.h"

#include <cstdlib>

#include <benchmark/benchmark.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/arena.h>
#include <aml/arena/buddy.h>
#include <aml/arena/bump.h>
#include <aml/arena/jemalloc.h>
#include <aml/arena/locked.h>
#include <aml/arena/pool.h>

namespace
{

using aml_bench::ArenaSizes;

enum Kind { kBump, kPool, kBuddy, kJemalloc, kLockedPool };

// An area over node 0 (or the first device) of the default topology.
struct Node0Area {
	Node0Area()
	{
		const struct aml_topology *t = aml_topology_default();
		const struct aml_device *dev =
		        t != nullptr ? aml_topology_device_of_node(t, 0)
		                     : nullptr;
		if (dev == nullptr && t != nullptr)
			dev = aml_topology_device(t, 0);
		ok = dev != nullptr &&
		     aml_area_device_init(&area, t, &dev, 1, AML_AREA_BIND,
		                          nullptr) == 0;
	}
	~Node0Area()
	{
		if (ok)
			aml_area_device_fini(&area);
	}
	AML_AREA_DEVICE_DECL(area);
	bool ok = false;
};

template <Kind K> void BM_Arena(benchmark::State &state)
{
	Node0Area node0;
	if (!node0.ok) {
		state.SkipWithError("no area over node 0");
		return;
	}
	size_t size = (size_t)state.range(0);
	struct aml_arena *arena = nullptr, *inner = nullptr;
	int err = AML_EINVAL;
	switch (K) {
	case kBump:
		err = aml_arena_bump_create(&arena, &node0.area.base, 0);
		break;
	case kPool:
		err = aml_arena_pool_create(&arena, &node0.area.base, size, 0,
		                            0);
		break;
	case kBuddy:
		err = aml_arena_buddy_create(&arena, &node0.area.base, 0);
		break;
	case kJemalloc:
		err = aml_arena_jemalloc_create(&arena, &node0.area.base, 0);
		break;
	case kLockedPool:
		err = aml_arena_pool_create(&inner, &node0.area.base, size, 0,
		                            0);
		if (err == 0)
			err = aml_arena_locked_create(&arena, inner);
		break;
	}
	if (err != 0) {
		state.SkipWithError(aml_errname(err));
		aml_arena_pool_destroy(&inner);
		return;
	}
	for (auto _ : state) {
		void *p = aml_arena_malloc(arena, size);
		benchmark::DoNotOptimize(p);
		aml_arena_free(arena, p);
	}
	state.SetItemsProcessed(state.iterations());
	aml_arena_bump_destroy(&arena);
	aml_arena_pool_destroy(&arena);
	aml_arena_buddy_destroy(&arena);
	aml_arena_jemalloc_destroy(&arena);
	aml_arena_locked_destroy(&arena);
	aml_arena_pool_destroy(&inner);
}

void BM_GlibcMalloc(benchmark::State &state)
{
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = std::malloc(size);
		benchmark::DoNotOptimize(p);
		std::free(p);
	}
	state.SetItemsProcessed(state.iterations());
}

} // namespace

BENCHMARK_TEMPLATE(BM_Arena, kBump)
        ->Name("arena/malloc_free/aml_bump")
        ->Apply(ArenaSizes);
BENCHMARK_TEMPLATE(BM_Arena, kPool)
        ->Name("arena/malloc_free/aml_pool")
        ->Apply(ArenaSizes);
BENCHMARK_TEMPLATE(BM_Arena, kBuddy)
        ->Name("arena/malloc_free/aml_buddy")
        ->Apply(ArenaSizes);
BENCHMARK_TEMPLATE(BM_Arena, kJemalloc)
        ->Name("arena/malloc_free/aml_jemalloc")
        ->Apply(ArenaSizes);
BENCHMARK_TEMPLATE(BM_Arena, kLockedPool)
        ->Name("arena/malloc_free/aml_locked_pool")
        ->Apply(ArenaSizes);
BENCHMARK(BM_GlibcMalloc)
        ->Name("arena/malloc_free/glibc_malloc")
        ->Apply(ArenaSizes);
