// SPDX-License-Identifier: BSD-3-Clause
// Shared by the device benchmark's files: sizes and the page toucher.
#ifndef AML_BENCH_DEVICE_BENCH_H
#define AML_BENCH_DEVICE_BENCH_H

#include <cstddef>

#include <benchmark/benchmark.h>

#include <aml.h>

namespace aml_bench
{

// The sizes issue #3 asks for: a page, a huge page, a large buffer.
inline void DeviceSizes(benchmark::internal::Benchmark *b)
{
	b->Arg(4 << 10)->Arg(2 << 20)->Arg(64 << 20);
}

// Fault every page in, as a first-touch would: one write per page.
inline void TouchPages(void *ptr, size_t size)
{
	size_t page = aml_page_size();
	for (size_t off = 0; off < size; off += page)
		static_cast<volatile char *>(ptr)[off] = 1;
}

inline void SetBytes(benchmark::State &state)
{
	state.SetBytesProcessed(state.iterations() * state.range(0));
}

} // namespace aml_bench

#endif // AML_BENCH_DEVICE_BENCH_H
