// SPDX-License-Identifier: BSD-3-Clause
// The TLB effect of page sizes, in one binary: loads over a buffer of an
// area bound to node 0, mapped in base pages, transparent huge pages, or
// hugetlb 2 MiB pages (skipped where the pool is too small: reserve with
// `echo 600 > /proc/sys/vm/nr_hugepages` as root). Each row's label names
// its page kind; its arguments, the buffer's size.
//
// Two access patterns, because they measure different things:
// - BM_IndependentReads: random 8-byte reads whose addresses do not depend
//   on each other. The CPU overlaps many misses, TLB misses included, so
//   this is throughput, and it hides most of a page walk's latency.
// - BM_DependentChase: each load's address is the value the previous one
//   read, along a random cycle through every 4 KiB page of the buffer (one
//   pointer per page, on a line of its own within the page, so that the
//   lines spread over all cache sets). Nothing overlaps: a row is the
//   latency of one load, and with base pages every load whose page is not
//   in the TLB pays a page walk. The 2 MiB rows fit their 512 lines in L1d,
//   so only the TLB differs between page kinds: 512 base pages overflow
//   the first-level data TLB, one huge page does not.
// - BM_DependentChasePacked: the 2 MiB rows' control, the same 512 lines
//   in 8 base pages: every load hits L1d and the first-level TLB.
//
// The buffer is populated at map time, every page touched and the chase
// linked before timing, so no fault is timed; huge_MiB says how much of
// the buffer smaps shows in huge pages. Rows report the median and the
// minimum of repetitions: on a shared machine, other work only adds time.
//
//   bazel run -c opt //bench:page_bench -- --benchmark_repetitions=5
//
// docs/area.md ("The TLB effect") has the figures and what they mean.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

#include <aml.h>
#include <aml/area/device.h>

#include "tests/testing/smaps.h"

namespace
{

constexpr size_t kMiB = 1 << 20;
constexpr size_t kReads = 1 << 20;
constexpr size_t kHops = 1 << 16;
constexpr size_t kPage = 4096;
constexpr size_t kLine = 64;

const char *PagesLabel(enum aml_page_kind pages)
{
	switch (pages) {
	case AML_PAGE_BASE:
		return "base 4 KiB pages";
	case AML_PAGE_TRANSPARENT_HUGE:
		return "THP 2 MiB";
	case AML_PAGE_HUGETLB_2M:
		return "hugetlb 2 MiB";
	default:
		return "?";
	}
}

// kB of [p, p + size) in transparent huge pages and in hugetlb pages.
size_t HugeKb(const void *p, size_t size)
{
	return aml_testing::SmapsKb(p, size, "AnonHugePages") +
	       aml_testing::SmapsKb(p, size, "Private_Hugetlb") +
	       aml_testing::SmapsKb(p, size, "Shared_Hugetlb");
}

// A populated buffer of state.range(1) MiB in state.range(0) pages, bound to
// node 0; data() is null after SkipWithError (no area, or no huge pages).
class Buffer
{
      public:
	explicit Buffer(benchmark::State &state)
	    : size_((size_t)state.range(1) * kMiB)
	{
		auto pages = static_cast<enum aml_page_kind>(state.range(0));
		state.SetLabel(PagesLabel(pages));
		const struct aml_topology *t = aml_topology_default();
		const struct aml_device *node0 =
		        t != nullptr ? aml_topology_device_of_node(t, 0)
		                     : nullptr;
		if (node0 == nullptr ||
		    aml_area_device_init(&area_, t, &node0, 1, AML_POLICY_BIND,
		                         nullptr) != 0) {
			state.SkipWithError("no area over node 0");
			return;
		}
		inited_ = true;
		struct aml_area_mmap_options o = {};
		o.pages = pages;
		o.populate = true;
		buf_ = static_cast<uint64_t *>(
		        aml_area_mmap(&area_.base, size_, &o));
		if (buf_ == nullptr) {
			char why[AML_ERROR_DETAIL_MAX];
			aml_error_detail(why, sizeof(why));
			state.SkipWithError(why);
			return;
		}
		// The first touch after the map is not the TLB: on our VM it
		// cost 24-30 us per base page even after populate (the host
		// backing the page then, we suppose), so it happens here.
		for (size_t i = 0; i < size_ / sizeof(uint64_t);
		     i += kPage / sizeof(uint64_t))
			buf_[i] = 0;
	}
	~Buffer()
	{
		if (buf_ != nullptr)
			aml_area_munmap(&area_.base, buf_, size_);
		if (inited_)
			aml_area_device_fini(&area_);
	}
	Buffer(const Buffer &) = delete;
	Buffer &operator=(const Buffer &) = delete;

	uint64_t *data() const
	{
		return buf_;
	}
	size_t size() const
	{
		return size_;
	}

	// After the timed loop: huge pages and ns per load of @p loads.
	void Count(benchmark::State &state, size_t loads) const
	{
		state.SetItemsProcessed((int64_t)(state.iterations() * loads));
		state.counters["huge_MiB"] =
		        (double)(HugeKb(buf_, size_) >> 10);
		state.counters["ns_per_read"] =
		        benchmark::Counter((double)(state.iterations() * loads),
		                           benchmark::Counter::kIsRate |
		                                   benchmark::Counter::kInvert);
	}

      private:
	AML_AREA_DEVICE_DECL(area_);
	bool inited_ = false;
	uint64_t *buf_ = nullptr;
	size_t size_;
};

uint64_t Xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

void BM_IndependentReads(benchmark::State &state)
{
	Buffer b(state);
	if (b.data() == nullptr)
		return;
	uint64_t *buf = b.data();
	size_t words = b.size() / sizeof(uint64_t);
	uint64_t x = 88172645463325252ull, sum = 0;
	for (auto _ : state) {
		// No address depends on a load, and xorshift defeats prefetch.
		for (size_t i = 0; i < kReads; i++)
			sum += buf[Xorshift(&x) & (words - 1)];
		benchmark::DoNotOptimize(sum);
	}
	b.Count(state, kReads);
}

// The word that holds slot @p i's pointer, for slots @p stride bytes apart:
// with a page per slot, a line chosen by page, so that the chase's lines
// cover every cache set (at offset 0 of each page they would share 1/64 of
// them).
uint64_t *Slot(uint64_t *buf, size_t i, size_t stride)
{
	size_t line = stride == kPage ? (i * 2654435761u) % (kPage / kLine) : 0;
	return buf + (i * stride + line * kLine) / sizeof(uint64_t);
}

// Links @p n slots into one random cycle (Sattolo's shuffle) and follows it
// kHops loads per iteration.
void Chase(benchmark::State &state, const Buffer &b, size_t n, size_t stride)
{
	uint64_t *buf = b.data();
	std::vector<uint32_t> next(n);
	for (size_t i = 0; i < n; i++)
		next[i] = (uint32_t)i;
	uint64_t x = 88172645463325252ull;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = Xorshift(&x) % i;
		uint32_t v = next[i];
		next[i] = next[j];
		next[j] = v;
	}
	for (size_t i = 0; i < n; i++)
		*Slot(buf, i, stride) =
		        (uint64_t)(uintptr_t)Slot(buf, next[i], stride);
	const uint64_t *p = Slot(buf, 0, stride);
	for (auto _ : state) {
		for (size_t i = 0; i < kHops; i++)
			p = (const uint64_t *)(uintptr_t)*p;
		benchmark::DoNotOptimize(p);
	}
	b.Count(state, kHops);
}

// One pointer per 4 KiB page of the buffer.
void BM_DependentChase(benchmark::State &state)
{
	Buffer b(state);
	if (b.data() != nullptr)
		Chase(state, b, b.size() / kPage, kPage);
}

// The control of the 2 MiB rows: as many lines (512, 32 KiB of L1d), packed
// in 8 base pages, so that every load hits the first-level TLB. What the
// 2 MiB rows take beyond it is the TLB's.
void BM_DependentChasePacked(benchmark::State &state)
{
	Buffer b(state);
	if (b.data() != nullptr)
		Chase(state, b, b.size() / kPage, kLine);
}

// The "min" row of repetitions, next to mean and median.
double Min(const std::vector<double> &v)
{
	return v.empty() ? 0 : *std::min_element(v.begin(), v.end());
}

// Rows by size, then page kind. Sizes are powers of two (the reads' index
// mask). 2 MiB is one huge page, or 512 base pages: more than a first-level
// data TLB holds (64-96 entries on recent x86). 64 MiB is 32 huge pages, in
// the first level still; 16384 base pages overflow the second (1536-4096
// entries). 1 GiB is 512 huge pages, in the second level; 262144 base
// pages, in none.
template <int... kSizes> void Rows(benchmark::internal::Benchmark *b)
{
	b->ArgNames({"pages", "MiB"});
	for (int mib : {kSizes...})
		for (int pages : {AML_PAGE_BASE, AML_PAGE_TRANSPARENT_HUGE,
		                  AML_PAGE_HUGETLB_2M})
			b->Args({pages, mib});
}

BENCHMARK(BM_IndependentReads)
        ->Apply(Rows<1024, 64>)
        ->ComputeStatistics("min", Min)
        ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DependentChase)
        ->Apply(Rows<1024, 64, 2>)
        ->ComputeStatistics("min", Min)
        ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DependentChasePacked)
        ->ArgNames({"pages", "MiB"})
        ->Args({AML_PAGE_BASE, 2})
        ->ComputeStatistics("min", Min)
        ->Unit(benchmark::kMillisecond);

} // namespace
