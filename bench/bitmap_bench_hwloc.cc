// SPDX-License-Identifier: BSD-3-Clause
// hwloc's bitmaps as peers of aml's (linked into //bench:bitmap_bench when the
// hwloc backend is built).
#include <benchmark/benchmark.h>
#include <hwloc.h>

#include "bench/bitmap_bench.h"

namespace
{

using aml_bench::kBits;
using aml_bench::kStride;

void BM_HwlocBitmap_SetCountScan(benchmark::State &state)
{
	hwloc_bitmap_t b = hwloc_bitmap_alloc();
	for (auto _ : state) {
		hwloc_bitmap_zero(b);
		for (size_t i = 0; i < kBits; i += kStride)
			hwloc_bitmap_set(b, (unsigned)i);
		long sum = hwloc_bitmap_weight(b);
		unsigned i;
		hwloc_bitmap_foreach_begin(i, b) sum += i;
		hwloc_bitmap_foreach_end();
		benchmark::DoNotOptimize(sum);
	}
	hwloc_bitmap_free(b);
}
BENCHMARK(BM_HwlocBitmap_SetCountScan)->Name("bitmap/set_count_scan/hwloc");

void BM_HwlocBitmap_ParseFormat(benchmark::State &state)
{
	hwloc_bitmap_t b = hwloc_bitmap_alloc();
	char text[8192];
	for (auto _ : state) {
		if (hwloc_bitmap_list_sscanf(b, aml_bench::kNodeList) != 0) {
			state.SkipWithError("hwloc_bitmap_list_sscanf failed");
			break;
		}
		benchmark::DoNotOptimize(
		        hwloc_bitmap_list_snprintf(text, sizeof(text), b));
	}
	hwloc_bitmap_free(b);
}
BENCHMARK(BM_HwlocBitmap_ParseFormat)->Name("bitmap/parse_format/hwloc");

} // namespace
