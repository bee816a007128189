// SPDX-License-Identifier: BSD-3-Clause
// Shared by the arena benchmark's files: the sizes issue #5 asks for.
#ifndef AML_BENCH_ARENA_BENCH_H
#define AML_BENCH_ARENA_BENCH_H

#include <benchmark/benchmark.h>

namespace aml_bench
{

// 16 B, 64 B, 256 B, 1 KiB, 4 KiB.
inline void ArenaSizes(benchmark::internal::Benchmark *b)
{
	b->Arg(16)->Arg(64)->Arg(256)->Arg(1 << 10)->Arg(4 << 10);
}

} // namespace aml_bench

#endif // AML_BENCH_ARENA_BENCH_H
