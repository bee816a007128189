// SPDX-License-Identifier: BSD-3-Clause
// Device maps against the calls they replace, in one binary so every figure
// is also a ratio from one run: aml's numa device (mmap + mbind) beside plain
// mmap and libnuma's numa_alloc_onnode, with and without touching the pages.
// The memkind peers are in device_bench_memkind.cc when memkind is built.
//
//   bazel run -c opt //bench:device_bench
#include "bench/device_bench.h"

#include <sys/mman.h>

#include <benchmark/benchmark.h>
#include <numa.h>

#include <aml.h>

#include "bench/numa_peer.h"

namespace
{

using aml_bench::BM_NumaAllocOnnode;
using aml_bench::DeviceSizes;
using aml_bench::Node0;
using aml_bench::SetBytes;
using aml_bench::TouchPages;

template <bool touch> void BM_AmlNumaDevice(benchmark::State &state)
{
	const struct aml_device *dev = Node0(state);
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		if (dev == nullptr)
			break;
		void *p = aml_device_map(dev, size);
		if (p == nullptr) {
			state.SkipWithError("aml_device_map failed");
			break;
		}
		if (touch)
			TouchPages(p, size);
		aml_device_unmap(dev, p, size);
	}
	SetBytes(state);
}

template <bool touch> void BM_Mmap(benchmark::State &state)
{
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			state.SkipWithError("mmap failed");
			break;
		}
		if (touch)
			TouchPages(p, size);
		munmap(p, size);
	}
	SetBytes(state);
}

BENCHMARK_TEMPLATE(BM_AmlNumaDevice, true)
        ->Name("device/map_touch_unmap/aml_numa_device")
        ->Apply(DeviceSizes);
BENCHMARK_TEMPLATE(BM_NumaAllocOnnode, true)
        ->Name("device/map_touch_unmap/numa_alloc_onnode")
        ->Apply(DeviceSizes);
BENCHMARK_TEMPLATE(BM_Mmap, true)
        ->Name("device/map_touch_unmap/mmap")
        ->Apply(DeviceSizes);

// Without touching: the cost of the calls themselves (mmap + mbind + munmap
// for both aml and libnuma), which is where a wrapper's overhead shows.
BENCHMARK_TEMPLATE(BM_AmlNumaDevice, false)
        ->Name("device/map_unmap/aml_numa_device")
        ->Apply(DeviceSizes);
BENCHMARK_TEMPLATE(BM_NumaAllocOnnode, false)
        ->Name("device/map_unmap/numa_alloc_onnode")
        ->Apply(DeviceSizes);
BENCHMARK_TEMPLATE(BM_Mmap, false)
        ->Name("device/map_unmap/mmap")
        ->Apply(DeviceSizes);

} // namespace
