// SPDX-License-Identifier: BSD-3-Clause
// aml bitmaps against libnuma's struct bitmask, the set type a libnuma user
// reaches for (hwloc's peers are in bitmap_bench_hwloc.cc when hwloc is
// built). libnuma's parser is not a peer: numa_parse_nodestring*() reject
// nodes this machine does not have, so it cannot read the same list here.
//
//   bazel run -c opt //bench:bitmap_bench
#include "bench/bitmap_bench.h"

#include <benchmark/benchmark.h>
#include <numa.h>

#include <aml.h>

namespace
{

using aml_bench::kBits;
using aml_bench::kStride;

void BM_AmlBitmap_SetCountScan(benchmark::State &state)
{
	for (auto _ : state) {
		struct aml_bitmap b;
		aml_bitmap_zero(&b);
		for (size_t i = 0; i < kBits; i += kStride)
			aml_bitmap_set(&b, i);
		long sum = aml_bitmap_count(&b);
		AML_BITMAP_FOREACH (i, &b)
			sum += i;
		benchmark::DoNotOptimize(sum);
	}
}
BENCHMARK(BM_AmlBitmap_SetCountScan)->Name("bitmap/set_count_scan/aml");

void BM_LibnumaBitmask_SetCountScan(benchmark::State &state)
{
	struct bitmask *b = numa_bitmask_alloc(kBits);
	for (auto _ : state) {
		numa_bitmask_clearall(b);
		for (size_t i = 0; i < kBits; i += kStride)
			numa_bitmask_setbit(b, (unsigned)i);
		long sum = numa_bitmask_weight(b);
		// libnuma has no find-next: a scan tests every bit.
		for (unsigned i = 0; i < kBits; i++) {
			if (numa_bitmask_isbitset(b, i))
				sum += i;
		}
		benchmark::DoNotOptimize(sum);
	}
	numa_bitmask_free(b);
}
BENCHMARK(BM_LibnumaBitmask_SetCountScan)
        ->Name("bitmap/set_count_scan/libnuma");

void BM_AmlBitmap_ParseFormat(benchmark::State &state)
{
	char text[AML_BITMAP_FORMAT_MAX];
	for (auto _ : state) {
		struct aml_bitmap b;
		if (aml_bitmap_parse(&b, aml_bench::kNodeList) != 0) {
			state.SkipWithError("aml_bitmap_parse failed");
			break;
		}
		benchmark::DoNotOptimize(
		        aml_bitmap_format(&b, text, sizeof(text)));
	}
}
BENCHMARK(BM_AmlBitmap_ParseFormat)->Name("bitmap/parse_format/aml");

} // namespace
