// SPDX-License-Identifier: BSD-3-Clause
// Shared by the arena benchmark's files: the sizes issue #5 asks for.
#ifndef AML_BENCH_ARENA_BENCH_H
#define AML_BENCH_ARENA_BENCH_H

#include <cstddef>

#include <benchmark/benchmark.h>

namespace aml_bench
{

// 16 B, 64 B, 256 B, 1 KiB, 4 KiB.
inline void ArenaSizes(benchmark::internal::Benchmark *b)
{
	b->Arg(16)->Arg(64)->Arg(256)->Arg(1 << 10)->Arg(4 << 10);
}

// The timed loop of every arena/malloc_free row: malloc_fn then free_fn
// of state.range(0) bytes per iteration, in the calling thread. Callables
// (lambdas), so that each row calls its allocator as it would directly.
template <class Malloc, class Free>
void MallocFreeLoop(benchmark::State &state, Malloc malloc_fn, Free free_fn)
{
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = malloc_fn(size);
		benchmark::DoNotOptimize(p);
		free_fn(p);
	}
	state.SetItemsProcessed(state.iterations());
}

} // namespace aml_bench

#endif // AML_BENCH_ARENA_BENCH_H
