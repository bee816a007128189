// SPDX-License-Identifier: BSD-3-Clause
// Device areas against the libnuma call they replace, in one binary: map +
// unmap (and map + touch + unmap) bound to node 0, and a weighted 3:1
// interleave, which binds one run at a time.
//
//   bazel run -c opt //bench:area_bench
#include <benchmark/benchmark.h>
#include <numa.h>

#include <aml.h>
#include <aml/area/device.h>

#include "bench/device_bench.h"
#include "bench/numa_peer.h"

namespace
{

using aml_bench::BM_NumaAllocOnnode;
using aml_bench::DeviceSizes;
using aml_bench::Node0;
using aml_bench::SetBytes;
using aml_bench::TouchPages;

template <bool touch> void BM_AreaBind(benchmark::State &state)
{
	const struct aml_topology *t = aml_topology_default();
	const struct aml_device *node0 = Node0(state);
	AML_AREA_DEVICE_DECL(area);
	if (node0 == nullptr ||
	    aml_area_device_init(&area, t, &node0, 1, AML_AREA_BIND, nullptr)) {
		if (node0 != nullptr)
			state.SkipWithError("no area over node 0");
		return;
	}
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = aml_area_mmap(&area.base, size, nullptr);
		if (p == nullptr) {
			state.SkipWithError("aml_area_mmap failed");
			break;
		}
		if (touch)
			TouchPages(p, size);
		aml_area_munmap(&area.base, p, size);
	}
	aml_area_device_fini(&area);
	SetBytes(state);
}

BENCHMARK_TEMPLATE(BM_AreaBind, false)
        ->Name("area/map_unmap/aml_bind")
        ->Apply(DeviceSizes);
BENCHMARK_TEMPLATE(BM_NumaAllocOnnode, false)
        ->Name("area/map_unmap/numa_alloc_onnode")
        ->Apply(DeviceSizes);
BENCHMARK_TEMPLATE(BM_AreaBind, true)
        ->Name("area/map_touch_unmap/aml_bind")
        ->Apply(DeviceSizes);
BENCHMARK_TEMPLATE(BM_NumaAllocOnnode, true)
        ->Name("area/map_touch_unmap/numa_alloc_onnode")
        ->Apply(DeviceSizes);

// Weighted 3:1 over node 0 twice is not possible (a device once per
// area), so this measures the cost of binding runs: one device, weight 1,
// is one mbind per page.
void BM_AreaWeightedRuns(benchmark::State &state)
{
	const struct aml_topology *t = aml_topology_default();
	const struct aml_device *node0 = Node0(state);
	const unsigned weight = (unsigned)state.range(1);
	AML_AREA_DEVICE_DECL(area);
	if (node0 == nullptr ||
	    aml_area_device_init(&area, t, &node0, 1,
	                         AML_AREA_WEIGHTED_INTERLEAVE, &weight)) {
		if (node0 != nullptr)
			state.SkipWithError("no area over node 0");
		return;
	}
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = aml_area_mmap(&area.base, size, nullptr);
		if (p == nullptr) {
			state.SkipWithError("aml_area_mmap failed");
			break;
		}
		aml_area_munmap(&area.base, p, size);
	}
	aml_area_device_fini(&area);
	state.counters["runs"] =
	        (double)(size / aml_page_size() + weight - 1) / weight;
}
BENCHMARK(BM_AreaWeightedRuns)
        ->Name("area/map_unmap/aml_weighted_runs")
        ->Args({2 << 20, 1})
        ->Args({2 << 20, 32});

} // namespace
