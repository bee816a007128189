// SPDX-License-Identifier: BSD-3-Clause
// One malloc + free per iteration, for each arena over an area on node 0,
// against glibc malloc/free (and memkind_malloc/free in
// arena_bench_memkind.cc when memkind is built, jemalloc and mimalloc in
// arena_bench_peers.cc when found). Sizes: 16 B to 4 KiB. The thread-safe
// arenas and the peers also run on two threads sharing one arena
// (`/threads:2` rows; time per malloc + free of one thread).
// arena/malloc_free_threaded rows: the same loop with a second thread
// parked in the process (aml_bench::ParkedThread).
// arena/random_workflow rows: upstream AML's workflow, 2^9 live blocks of
// random sizes from 4 KiB to 16 MiB (seeded); an iteration frees a random
// one and allocates another in its place.
//   bazel run -c opt //bench:arena_bench
#include "bench/arena_bench.h"

#include <dlfcn.h>

#include <cstdlib>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/arena.h>
#include <aml/arena/buddy.h>
#include <aml/arena/bump.h>
#include <aml/arena/jemalloc.h>
#include <aml/arena/locked.h>
#include <aml/arena/pool.h>
#include <aml/arena/scalable.h>

namespace
{

using aml_bench::ArenaSizes;
using aml_bench::MallocFreeLoop;

enum Kind { kBump, kPool, kBuddy, kJemalloc, kLockedPool, kScalable };

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

// The default slab for small objects; above 16 KiB, slabs of twice the
// object (one object each).
size_t PoolSlab(size_t object)
{
	return object > (16 << 10) ? 2 * object : 0;
}

// An arena of kind K over @p area; *inner is the locked pool's inner one.
template <Kind K>
int MakeArena(struct aml_arena **out,
              struct aml_arena **out_inner,
              const struct aml_area *area,
              size_t size)
{
	struct aml_arena *arena = nullptr, *inner = nullptr;
	int err = AML_EINVAL;
	switch (K) {
	case kBump:
		err = aml_arena_bump_create(&arena, area, 0);
		break;
	case kPool:
		err = aml_arena_pool_create(&arena, area, size, 0,
		                            PoolSlab(size));
		break;
	case kBuddy:
		err = aml_arena_buddy_create(&arena, area, 0);
		break;
	case kJemalloc:
		err = aml_arena_jemalloc_create(&arena, area, 0);
		break;
	case kLockedPool:
		err = aml_arena_pool_create(&inner, area, size, 0,
		                            PoolSlab(size));
		if (err == 0)
			err = aml_arena_locked_create(&arena, inner);
		break;
	case kScalable:
		err = aml_arena_scalable_create(&arena, area);
		break;
	}
	if (err != 0)
		aml_arena_pool_destroy(&inner);
	*out = arena;
	*out_inner = inner;
	return err;
}

void DestroyArena(struct aml_arena *arena, struct aml_arena *inner)
{
	aml_arena_scalable_destroy(&arena);
	aml_arena_bump_destroy(&arena);
	aml_arena_pool_destroy(&arena);
	aml_arena_buddy_destroy(&arena);
	aml_arena_jemalloc_destroy(&arena);
	aml_arena_locked_destroy(&arena);
	aml_arena_pool_destroy(&inner);
}

template <Kind K> void BM_Arena(benchmark::State &state)
{
	Node0Area node0;
	if (!node0.ok) {
		state.SkipWithError("no area over node 0");
		return;
	}
	size_t size = (size_t)state.range(0);
	struct aml_arena *arena, *inner;
	int err = MakeArena<K>(&arena, &inner, &node0.area.base, size);
	if (err != 0) {
		state.SkipWithError(aml_errname(err));
		return;
	}
	MallocFreeLoop(
	        state, [&](size_t n) { return aml_arena_malloc(arena, n); },
	        [&](void *p) { aml_arena_free(arena, p); });
	DestroyArena(arena, inner);
}

// BM_Arena with a parked second thread in the process (ParkedThread).
template <Kind K> void BM_ArenaThreaded(benchmark::State &state)
{
	aml_bench::ParkedThread parked;
	BM_Arena<K>(state);
}

// One arena shared by the benchmark's threads, made by Setup before they
// start and destroyed by Teardown after they end, so that the timed loop
// is MallocFreeLoop's, as for the peers' `/threads:2` rows.
struct Shared {
	Node0Area *node0;
	struct aml_arena *arena;
	struct aml_arena *inner;
	int err;
};
Shared shared;

template <Kind K> void SharedSetup(const benchmark::State &state)
{
	shared.node0 = new Node0Area();
	shared.err = shared.node0->ok
	                     ? MakeArena<K>(&shared.arena, &shared.inner,
	                                    &shared.node0->area.base,
	                                    (size_t)state.range(0))
	                     : AML_ENOTSUP;
}

void SharedTeardown(const benchmark::State &)
{
	if (shared.err == 0)
		DestroyArena(shared.arena, shared.inner);
	delete shared.node0;
	shared = Shared{};
}

void BM_ArenaShared(benchmark::State &state)
{
	if (shared.err != 0) {
		state.SkipWithError(aml_errname(shared.err));
		return;
	}
	struct aml_arena *arena = shared.arena;
	MallocFreeLoop(
	        state, [&](size_t n) { return aml_arena_malloc(arena, n); },
	        [&](void *p) { aml_arena_free(arena, p); });
}

constexpr size_t kWorkflowLive = 512;
constexpr size_t kWorkflowMin = 4 << 10;
constexpr size_t kWorkflowMax = 16 << 20;

// The workflow's blocks and random numbers, with @p alloc and @p release
// the allocator under test.
template <typename Alloc, typename Release>
void RandomWorkflow(benchmark::State &state, Alloc alloc, Release release)
{
	std::mt19937_64 rng(2021);
	std::uniform_int_distribution<size_t> size(kWorkflowMin, kWorkflowMax);
	std::vector<void *> live(kWorkflowLive);
	for (void *&p : live) {
		p = alloc(size(rng));
		if (p == nullptr) {
			state.SkipWithError("the first blocks failed");
			break;
		}
	}
	size_t failed = 0;
	for (auto _ : state) {
		if (failed != 0)
			break;
		size_t i = rng() % kWorkflowLive;
		release(live[i]);
		live[i] = alloc(size(rng));
		benchmark::DoNotOptimize(live[i]);
		failed += live[i] == nullptr;
	}
	if (failed != 0)
		state.SkipWithError("an allocation failed");
	for (void *p : live)
		if (p != nullptr)
			release(p);
	state.SetItemsProcessed(state.iterations());
}

template <Kind K> void BM_ArenaWorkflow(benchmark::State &state)
{
	Node0Area node0;
	if (!node0.ok) {
		state.SkipWithError("no area over node 0");
		return;
	}
	struct aml_arena *arena, *inner;
	int err = MakeArena<K>(&arena, &inner, &node0.area.base, kWorkflowMax);
	if (err != 0) {
		state.SkipWithError(aml_errname(err));
		return;
	}
	RandomWorkflow(
	        state, [&](size_t n) { return aml_arena_malloc(arena, n); },
	        [&](void *p) { aml_arena_free(arena, p); });
	DestroyArena(arena, inner);
}

// glibc's own malloc and free, looked up in libc.so.6: a peer linked into
// the binary (jemalloc, mimalloc) replaces malloc, and mimalloc also
// __libc_malloc. Called through pointers, as the arenas are.
struct Glibc {
	void *(*malloc)(size_t);
	void (*free)(void *);
};

const Glibc &GlibcFunctions()
{
	static const Glibc glibc = [] {
		Glibc g = {std::malloc, std::free};
		void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
		void *m = libc != nullptr ? dlsym(libc, "malloc") : nullptr;
		void *f = libc != nullptr ? dlsym(libc, "free") : nullptr;
		if (m != nullptr && f != nullptr) {
			g.malloc = reinterpret_cast<void *(*)(size_t)>(m);
			g.free = reinterpret_cast<void (*)(void *)>(f);
		}
		return g;
	}();
	return glibc;
}

void BM_GlibcMalloc(benchmark::State &state)
{
	const Glibc &glibc = GlibcFunctions();
	MallocFreeLoop(state, glibc.malloc, glibc.free);
}

void BM_GlibcWorkflow(benchmark::State &state)
{
	const Glibc &glibc = GlibcFunctions();
	RandomWorkflow(state, glibc.malloc, glibc.free);
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
BENCHMARK_TEMPLATE(BM_Arena, kScalable)
        ->Name("arena/malloc_free/aml_scalable")
        ->Apply(ArenaSizes);
BENCHMARK(BM_GlibcMalloc)
        ->Name("arena/malloc_free/glibc_malloc")
        ->Apply(ArenaSizes);
BENCHMARK_TEMPLATE(BM_ArenaThreaded, kJemalloc)
        ->Name("arena/malloc_free_threaded/aml_jemalloc")
        ->Apply(ArenaSizes);
BENCHMARK_TEMPLATE(BM_ArenaThreaded, kScalable)
        ->Name("arena/malloc_free_threaded/aml_scalable")
        ->Apply(ArenaSizes);
// Two threads on one arena.
BENCHMARK(BM_ArenaShared)
        ->Setup(SharedSetup<kScalable>)
        ->Teardown(SharedTeardown)
        ->Name("arena/malloc_free/aml_scalable")
        ->Apply(ArenaSizes)
        ->Threads(2);
BENCHMARK(BM_ArenaShared)
        ->Setup(SharedSetup<kLockedPool>)
        ->Teardown(SharedTeardown)
        ->Name("arena/malloc_free/aml_locked_pool")
        ->Apply(ArenaSizes)
        ->Threads(2);
BENCHMARK(BM_ArenaShared)
        ->Setup(SharedSetup<kJemalloc>)
        ->Teardown(SharedTeardown)
        ->Name("arena/malloc_free/aml_jemalloc")
        ->Apply(ArenaSizes)
        ->Threads(2);
BENCHMARK(BM_GlibcMalloc)
        ->Name("arena/malloc_free/glibc_malloc")
        ->Apply(ArenaSizes)
        ->Threads(2);

// Upstream AML's random workflow.
BENCHMARK_TEMPLATE(BM_ArenaWorkflow, kBump)
        ->Name("arena/random_workflow/aml_bump");
BENCHMARK_TEMPLATE(BM_ArenaWorkflow, kPool)
        ->Name("arena/random_workflow/aml_pool");
BENCHMARK_TEMPLATE(BM_ArenaWorkflow, kBuddy)
        ->Name("arena/random_workflow/aml_buddy");
BENCHMARK_TEMPLATE(BM_ArenaWorkflow, kJemalloc)
        ->Name("arena/random_workflow/aml_jemalloc");
BENCHMARK_TEMPLATE(BM_ArenaWorkflow, kLockedPool)
        ->Name("arena/random_workflow/aml_locked_pool");
BENCHMARK_TEMPLATE(BM_ArenaWorkflow, kScalable)
        ->Name("arena/random_workflow/aml_scalable");
BENCHMARK(BM_GlibcWorkflow)->Name("arena/random_workflow/glibc_malloc");
