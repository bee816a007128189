// SPDX-License-Identifier: BSD-3-Clause
// The TLB effect of page sizes, in one binary: random 8-byte reads over a
// buffer of an area bound to node 0, mapped in base pages, transparent huge
// pages, or hugetlb 2 MiB pages (skipped where the pool is too small:
// reserve with `echo 600 > /proc/sys/vm/nr_hugepages` as root). The buffer
// is populated at map time, so no fault is timed; the counters say how much
// of it the kernel gave in huge pages (/proc/self/smaps).
//
//   bazel run -c opt //bench:page_bench
#include <cstdint>

#include <benchmark/benchmark.h>

#include <aml.h>
#include <aml/area/device.h>

#include "tests/testing/smaps.h"

namespace
{

constexpr size_t kMiB = 1 << 20;
constexpr size_t kReads = 1 << 20;

// kB of [p, p + size) in transparent huge pages and in hugetlb pages.
void HugeKb(const void *p, size_t size, size_t *thp, size_t *hugetlb)
{
	*thp = aml_testing::SmapsKb(p, size, "AnonHugePages");
	*hugetlb = aml_testing::SmapsKb(p, size, "Private_Hugetlb") +
	           aml_testing::SmapsKb(p, size, "Shared_Hugetlb");
}

void BM_RandomReads(benchmark::State &state)
{
	auto pages = static_cast<enum aml_page_kind>(state.range(0));
	size_t size = (size_t)state.range(1) * kMiB;
	const struct aml_topology *t = aml_topology_default();
	const struct aml_device *node0 =
	        t != nullptr ? aml_topology_device_of_node(t, 0) : nullptr;
	AML_AREA_DEVICE_DECL(area);
	if (node0 == nullptr ||
	    aml_area_device_init(&area, t, &node0, 1, AML_POLICY_BIND,
	                         nullptr) != 0) {
		state.SkipWithError("no area over node 0");
		return;
	}
	struct aml_area_mmap_options o = {};
	o.pages = pages;
	o.populate = true;
	auto *buf =
	        static_cast<uint64_t *>(aml_area_mmap(&area.base, size, &o));
	if (buf == nullptr) {
		char why[AML_ERROR_DETAIL_MAX];
		aml_error_detail(why, sizeof(why));
		state.SkipWithError(why);
		aml_area_device_fini(&area);
		return;
	}
	size_t words = size / sizeof(uint64_t);
	for (size_t i = 0; i < words; i += 512)
		buf[i] = i;
	uint64_t x = 88172645463325252ull, sum = 0;
	for (auto _ : state) {
		for (size_t i = 0; i < kReads; i++) {
			// xorshift64: independent addresses, no prefetch.
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			sum += buf[x & (words - 1)];
		}
		benchmark::DoNotOptimize(sum);
	}
	state.SetItemsProcessed((int64_t)(state.iterations() * kReads));
	size_t thp, hugetlb;
	HugeKb(buf, size, &thp, &hugetlb);
	state.counters["huge_MiB"] = (double)((thp + hugetlb) >> 10);
	state.counters["ns_per_read"] = benchmark::Counter(
	        (double)(state.iterations() * kReads),
	        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
	aml_area_munmap(&area.base, buf, size);
	aml_area_device_fini(&area);
}

// Sizes are powers of two (the index mask): 1 GiB and 64 MiB.
BENCHMARK(BM_RandomReads)
        ->ArgNames({"pages", "MiB"})
        ->Args({AML_PAGE_BASE, 1024})
        ->Args({AML_PAGE_TRANSPARENT_HUGE, 1024})
        ->Args({AML_PAGE_HUGETLB_2M, 1024})
        ->Args({AML_PAGE_BASE, 64})
        ->Args({AML_PAGE_TRANSPARENT_HUGE, 64})
        ->Unit(benchmark::kMillisecond);

} // namespace
