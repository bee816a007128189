// SPDX-License-Identifier: BSD-3-Clause
// aml's memkind device against memkind_malloc of the same kind (linked into
// //bench:device_bench when the memkind backend is built). The kind is HBW
// where memkind finds high-bandwidth memory (MEMKIND_HBW_NODES=0 makes any
// node one), else HIGHEST_CAPACITY, so that both sides always run.
#include <benchmark/benchmark.h>
#include <memkind.h>

#include <aml.h>
#include <aml/device/memkind.h>

#include "bench/device_bench.h"

namespace
{

using aml_bench::DeviceSizes;
using aml_bench::SetBytes;
using aml_bench::TouchPages;

bool HaveHbw()
{
	return memkind_check_available(MEMKIND_HBW) == MEMKIND_SUCCESS;
}

void BM_AmlMemkindDevice(benchmark::State &state)
{
	const struct aml_device *dev = aml_memkind_device(
	        HaveHbw() ? AML_MEMKIND_HBW : AML_MEMKIND_HIGHEST_CAPACITY);
	if (dev == nullptr) {
		state.SkipWithError("no memkind device");
		return;
	}
	state.SetLabel(dev->name);
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = aml_device_map(dev, size);
		if (p == nullptr) {
			state.SkipWithError("aml_device_map failed");
			break;
		}
		TouchPages(p, size);
		aml_device_unmap(dev, p, size);
	}
	SetBytes(state);
}

void BM_MemkindMalloc(benchmark::State &state)
{
	memkind_t kind = HaveHbw() ? MEMKIND_HBW : MEMKIND_HIGHEST_CAPACITY;
	state.SetLabel(HaveHbw() ? "MEMKIND_HBW" : "MEMKIND_HIGHEST_CAPACITY");
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = memkind_malloc(kind, size);
		if (p == nullptr) {
			state.SkipWithError("memkind_malloc failed");
			break;
		}
		TouchPages(p, size);
		memkind_free(kind, p);
	}
	SetBytes(state);
}

BENCHMARK(BM_AmlMemkindDevice)
        ->Name("device/map_touch_unmap/aml_memkind_device")
        ->Apply(DeviceSizes);
BENCHMARK(BM_MemkindMalloc)
        ->Name("device/map_touch_unmap/memkind_malloc")
        ->Apply(DeviceSizes);

} // namespace
