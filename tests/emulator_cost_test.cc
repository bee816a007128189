// SPDX-License-Identifier: BSD-3-Clause
// The emulator's cost model and virtual clock: a copy advances the clock by
// exactly its modelled cost, per thread and in total; charges; statistics;
// delay mode's lower bound; bad input.
#include <time.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

namespace
{

constexpr uint64_t kGiB = 1ULL << 30;

size_t Page()
{
	return aml_page_size();
}

uint64_t Ceil(uint64_t bytes, uint64_t bw)
{
	return (uint64_t)(((__uint128_t)bytes * 1000000000ULL + bw - 1) / bw);
}

class EmulatorCost : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		struct aml_emu_error error = {};
		ASSERT_EQ(aml_emu_create(&t, "qemu-3node", &error), 0)
		        << error.reason;
		node1 = aml_topology_device(t, 1);
		node2 = aml_topology_device(t, 2);
	}
	void TearDown() override
	{
		aml_topology_destroy(&t);
	}
	uint64_t Total()
	{
		struct aml_emu_clock c;
		EXPECT_EQ(aml_emu_clock(t, &c), 0);
		return c.total_ns;
	}
	uint64_t Thread()
	{
		struct aml_emu_clock c;
		EXPECT_EQ(aml_emu_clock(t, &c), 0);
		return c.thread_ns;
	}

	struct aml_topology *t = nullptr;
	const struct aml_device *node1 = nullptr, *node2 = nullptr;
};

TEST_F(EmulatorCost, CopyAdvancesTheClockByExactlyTheModel)
{
	// qemu-3node: node2 30 GiB/s 300 ns (far), node1 400 GiB/s 120 ns.
	size_t size = 1 << 20;
	char *src = static_cast<char *>(aml_device_map(node2, size));
	char *dst = static_cast<char *>(aml_device_map(node1, size));
	ASSERT_NE(src, nullptr);
	ASSERT_NE(dst, nullptr);
	for (size_t i = 0; i < size; i++)
		src[i] = (char)(i * 7);
	// One run of one device pair: latency + n / min(read, write).
	uint64_t expected = 300 + Ceil(size, 30 * kGiB);
	uint64_t cost = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, size, &cost), 0);
	EXPECT_EQ(cost, expected);
	uint64_t total = Total(), mine = Thread();
	ASSERT_EQ(aml_emu_copy(t, dst, src, size), 0);
	EXPECT_EQ(std::memcmp(dst, src, size), 0);
	EXPECT_EQ(Total() - total, expected);
	EXPECT_EQ(Thread() - mine, expected);
	// And the reverse direction: read node1, write node2 (30 GiB/s).
	ASSERT_EQ(aml_emu_copy_cost(t, src, dst, size, &cost), 0);
	EXPECT_EQ(cost, expected);

	struct aml_emu_stats s1, s2;
	aml_emu_stats(t, 1, &s1);
	aml_emu_stats(t, 2, &s2);
	EXPECT_EQ(s2.bytes_copied_out, size);
	EXPECT_EQ(s1.bytes_copied_in, size);
	EXPECT_EQ(s1.modelled_ns, expected);
	EXPECT_EQ(s2.modelled_ns, expected);
	aml_device_unmap(node2, src, size);
	aml_device_unmap(node1, dst, size);
}

TEST_F(EmulatorCost, UnalignedCopiesCostTheSameRun)
{
	size_t size = 8 * Page();
	char *src = static_cast<char *>(aml_device_map(node1, size));
	char *dst = static_cast<char *>(aml_device_map(node1, size + Page()));
	ASSERT_NE(src, nullptr);
	ASSERT_NE(dst, nullptr);
	std::memset(src, 3, size);
	// Source aligned, destination 100 bytes in: the walk stops at every
	// page boundary of either side, but the device pair never changes,
	// so it is still one run.
	uint64_t expected = 120 + Ceil(size, 400 * kGiB);
	uint64_t before = Total();
	ASSERT_EQ(aml_emu_copy(t, dst + 100, src, size), 0);
	EXPECT_EQ(Total() - before, expected);
	EXPECT_EQ(std::memcmp(dst + 100, src, size), 0);
	aml_device_unmap(node1, src, size);
	aml_device_unmap(node1, dst, size + Page());
}

TEST_F(EmulatorCost, RunsChangeWithTheDevicePair)
{
	// Source interleaved over node1 and node2, page by page; destination
	// on node1: runs alternate between two pairs, each costed alone.
	struct aml_bitmap two;
	aml_bitmap_parse(&two, "1-2");
	size_t n = 4;
	char *src = static_cast<char *>(
	        aml_topology_map(t, &two, AML_POLICY_INTERLEAVE, n * Page()));
	char *dst = static_cast<char *>(aml_device_map(node1, n * Page()));
	ASSERT_NE(src, nullptr);
	ASSERT_NE(dst, nullptr);
	uint64_t fast = Ceil(Page(), 400 * kGiB);
	uint64_t slow = Ceil(Page(), 30 * kGiB);
	uint64_t cost = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, n * Page(), &cost), 0);
	EXPECT_EQ(cost, 300 + 2 * fast + 2 * slow);
	aml_topology_unmap(t, src, n * Page());
	aml_device_unmap(node1, dst, n * Page());
}

TEST_F(EmulatorCost, CostsFollowMovesAndPartialUnmaps)
{
	// A uniform mapping is costed in one step: it must stop being so when
	// part of it moves, and become so again when the pages come back or
	// the odd part is unmapped.
	size_t n = 4;
	char *src = static_cast<char *>(aml_device_map(node1, n * Page()));
	char *dst = static_cast<char *>(aml_device_map(node1, n * Page()));
	ASSERT_NE(src, nullptr);
	ASSERT_NE(dst, nullptr);
	uint64_t fast = Ceil(Page(), 400 * kGiB);
	uint64_t slow = Ceil(Page(), 30 * kGiB);
	uint64_t cost = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, n * Page(), &cost), 0);
	EXPECT_EQ(cost, 120 + Ceil(n * Page(), 400 * kGiB));
	ASSERT_EQ(aml_device_move(node2, src + Page(), Page()), 0);
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, n * Page(), &cost), 0);
	EXPECT_EQ(cost, 300 + fast + slow + Ceil(2 * Page(), 400 * kGiB));
	ASSERT_EQ(aml_device_move(node1, src + Page(), Page()), 0);
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, n * Page(), &cost), 0);
	EXPECT_EQ(cost, 120 + Ceil(n * Page(), 400 * kGiB));
	// Move the last page away, then unmap it: the rest is uniform.
	ASSERT_EQ(aml_device_move(node2, src + 3 * Page(), Page()), 0);
	ASSERT_EQ(aml_device_unmap(node1, src + 3 * Page(), Page()), 0);
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, 3 * Page(), &cost), 0);
	EXPECT_EQ(cost, 120 + Ceil(3 * Page(), 400 * kGiB));
	aml_device_unmap(node1, src, 3 * Page());
	aml_device_unmap(node1, dst, n * Page());
}

TEST_F(EmulatorCost, MemoryOutsideTheEmulatorCountsAsDeviceZero)
{
	std::vector<char> host(4096 * 2, 5);
	char *dst = static_cast<char *>(aml_device_map(node2, Page()));
	ASSERT_NE(dst, nullptr);
	uint64_t cost = 0;
	// Aligned so that the copy is one run.
	char *src = reinterpret_cast<char *>(
	        ((uintptr_t)host.data() + Page() - 1) & ~(Page() - 1));
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, Page(), &cost), 0);
	// Read node0 (100 GiB/s), write node2 (30 GiB/s): 300 ns latency.
	EXPECT_EQ(cost, 300 + Ceil(Page(), 30 * kGiB));
	aml_device_unmap(node2, dst, Page());
}

// Memory outside emulated mappings is costed a run at a time, not a page at
// a time: a range of 2^46 bytes next to one mapping is two steps (it was
// 2^34 page steps under the machine's lock, hours of work). Wherever mmap
// puts the mapping: the machine has no other.
TEST_F(EmulatorCost, HugeRangesOutsideTheEmulatorAreCostedRunByRun)
{
	char *p = static_cast<char *>(aml_device_map(node1, 4 * Page()));
	ASSERT_NE(p, nullptr);
	const uint64_t huge = 1ULL << 46;
	// node0 100 GiB/s, 100 ns; node1 400 GiB/s, 120 ns: one latency,
	// the highest, and each run at its device's bandwidth.
	uint64_t before = Total();
	ASSERT_EQ(aml_emu_charge(t, p, 4 * Page() + huge, AML_EMU_READ), 0);
	EXPECT_EQ(Total() - before,
	          120 + Ceil(4 * Page(), 400 * kGiB) + Ceil(huge, 100 * kGiB));
	// From the second page of the address space up to and through p.
	char *low = reinterpret_cast<char *>(Page());
	uint64_t gap = (uint64_t)(p - low);
	before = Total();
	ASSERT_EQ(aml_emu_charge(t, low, gap + 5 * Page(), AML_EMU_READ), 0);
	EXPECT_EQ(Total() - before, 120 + Ceil(gap, 100 * kGiB) +
	                                    Ceil(4 * Page(), 400 * kGiB) +
	                                    Ceil(Page(), 100 * kGiB));
	// A copy between two huge ranges above every mapping.
	char *above = p + 4 * Page();
	uint64_t cost = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, above, above + huge, huge, &cost), 0);
	EXPECT_EQ(cost, 100 + Ceil(huge, 100 * kGiB));
	// A range past the end of the address space is no range.
	EXPECT_EQ(aml_emu_charge(t, low, SIZE_MAX, AML_EMU_READ), AML_EINVAL);
	EXPECT_EQ(aml_emu_copy_cost(t, low, p, SIZE_MAX - 2, &cost),
	          AML_EINVAL);
	EXPECT_EQ(aml_emu_copy(t, low, p, SIZE_MAX - 2), AML_EINVAL);
	aml_device_unmap(node1, p, 4 * Page());
}

// Modelled time saturates at UINT64_MAX ns (584 years) instead of wrapping
// modulo 2^64; so do the byte counters.
TEST(EmulatorClock, ModelledTimeSaturates)
{
	struct aml_topology *t = nullptr;
	struct aml_emu_error error = {};
	ASSERT_EQ(aml_emu_create(&t,
	                         "tier: name=slow, kind=DRAM, capacity=1GiB, "
	                         "bw=1B/s, latency=1ns",
	                         &error),
	          0)
	        << error.reason;
	char *low = reinterpret_cast<char *>(Page());
	// 2^40 bytes at 1 B/s: 1.1e21 ns, past 2^64.
	uint64_t cost = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, low, low + (1ULL << 40), 1ULL << 40,
	                            &cost),
	          0);
	EXPECT_EQ(cost, UINT64_MAX);
	ASSERT_EQ(aml_emu_charge(t, low, 1ULL << 40, AML_EMU_READ), 0);
	ASSERT_EQ(aml_emu_charge(t, low, 1 << 20, AML_EMU_READ), 0);
	struct aml_emu_clock c;
	ASSERT_EQ(aml_emu_clock(t, &c), 0);
	EXPECT_EQ(c.total_ns, UINT64_MAX);
	EXPECT_EQ(c.thread_ns, UINT64_MAX);
	// The largest range there is, twice: 2^65 bytes read in all.
	size_t largest = SIZE_MAX - Page() + 1;
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(aml_emu_charge(t, low, largest,
		                         AML_EMU_READ | AML_EMU_WRITE),
		          0);
	struct aml_emu_stats s;
	ASSERT_EQ(aml_emu_stats(t, 0, &s), 0);
	EXPECT_EQ(s.modelled_ns, UINT64_MAX);
	EXPECT_EQ(s.bytes_copied_out, UINT64_MAX);
	EXPECT_EQ(s.bytes_copied_in, UINT64_MAX);
	ASSERT_EQ(aml_emu_clock(t, &c), 0);
	EXPECT_EQ(c.total_ns, UINT64_MAX);
	aml_topology_destroy(&t);
}

TEST_F(EmulatorCost, ChargesUseReadOrWriteFigures)
{
	char *p = static_cast<char *>(aml_device_map(node1, 4 * Page()));
	ASSERT_NE(p, nullptr);
	uint64_t one = 120 + Ceil(4 * Page(), 400 * kGiB);
	uint64_t before = Total();
	ASSERT_EQ(aml_emu_charge(t, p, 4 * Page(), AML_EMU_READ), 0);
	EXPECT_EQ(Total() - before, one);
	before = Total();
	ASSERT_EQ(
	        aml_emu_charge(t, p, 4 * Page(), AML_EMU_READ | AML_EMU_WRITE),
	        0);
	EXPECT_EQ(Total() - before, 2 * one);
	aml_device_unmap(node1, p, 4 * Page());
}

TEST_F(EmulatorCost, EachThreadHasItsOwnClock)
{
	char *p = static_cast<char *>(aml_device_map(node1, 2 * Page()));
	ASSERT_NE(p, nullptr);
	uint64_t cost = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, p + Page(), p, Page(), &cost), 0);
	uint64_t total = Total(), mine = Thread();
	uint64_t theirs = 0;
	std::thread other([&] {
		for (int i = 0; i < 10; i++)
			aml_emu_copy(t, p + Page(), p, Page());
		struct aml_emu_clock c;
		aml_emu_clock(t, &c);
		theirs = c.thread_ns;
	});
	other.join();
	EXPECT_EQ(theirs, 10 * cost);
	EXPECT_EQ(Thread(), mine); // untouched by the other thread
	EXPECT_EQ(Total() - total, 10 * cost);
	aml_device_unmap(node1, p, 2 * Page());
}

TEST_F(EmulatorCost, DelayModeTakesAtLeastTheDilatedTime)
{
	ASSERT_EQ(aml_emu_set_mode(t, AML_EMU_DELAY), 0);
	double dilation = 0;
	ASSERT_EQ(aml_emu_dilation(t, &dilation), 0);
	EXPECT_GE(dilation, 1.0);
	size_t size = 256 * Page();
	char *src = static_cast<char *>(aml_device_map(node2, size));
	char *dst = static_cast<char *>(aml_device_map(node1, size));
	ASSERT_NE(src, nullptr);
	ASSERT_NE(dst, nullptr);
	uint64_t cost = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, size, &cost), 0);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	ASSERT_EQ(aml_emu_copy(t, dst, src, size), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	uint64_t wall = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ULL +
	                (uint64_t)(b.tv_nsec - a.tv_nsec);
	// A lower bound only: the busy-wait guarantees it. How close the
	// wall time is to the model is measured by //bench:emulator_bench.
	EXPECT_GE((double)wall, (double)cost * dilation * 0.999);
	ASSERT_EQ(aml_emu_set_mode(t, AML_EMU_ACCOUNT), 0);
	aml_device_unmap(node2, src, size);
	aml_device_unmap(node1, dst, size);
}

TEST_F(EmulatorCost, StatsPrintNamesEveryDevice)
{
	char *buf = nullptr;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	ASSERT_EQ(aml_emu_stats_print(t, out), 0);
	fclose(out);
	std::string text(buf, len);
	free(buf);
	for (const char *name : {"node0", "node1", "node2", "clock"})
		EXPECT_NE(text.find(name), std::string::npos) << text;
}

TEST_F(EmulatorCost, BadInput)
{
	char *p = static_cast<char *>(aml_device_map(node1, 2 * Page()));
	ASSERT_NE(p, nullptr);
	uint64_t ns = 42, before = Total();
	EXPECT_EQ(aml_emu_copy(nullptr, p, p + Page(), 8), AML_EINVAL);
	EXPECT_EQ(aml_emu_copy(t, nullptr, p, 8), AML_EINVAL);
	EXPECT_EQ(aml_emu_copy(t, p, nullptr, 8), AML_EINVAL);
	EXPECT_EQ(aml_emu_copy(t, p, p + Page(), 0), AML_EINVAL);
	EXPECT_EQ(aml_emu_copy(t, p, p + 8, 16), AML_EINVAL); // overlap
	EXPECT_EQ(aml_emu_copy(t, p + 8, p, 16), AML_EINVAL); // overlap
	EXPECT_EQ(aml_emu_copy_cost(t, p, p, 0, &ns), AML_EINVAL);
	EXPECT_EQ(aml_emu_copy_cost(t, p, p, 8, nullptr), AML_EINVAL);
	EXPECT_EQ(ns, 42u);
	EXPECT_EQ(aml_emu_charge(t, p, 8, 0), AML_EINVAL);
	EXPECT_EQ(aml_emu_charge(t, p, 8, 4), AML_EINVAL);
	EXPECT_EQ(aml_emu_charge(t, p, 0, AML_EMU_READ), AML_EINVAL);
	EXPECT_EQ(aml_emu_charge(t, nullptr, 8, AML_EMU_READ), AML_EINVAL);
	EXPECT_EQ(Total(), before); // nothing was charged
	aml_device_unmap(node1, p, 2 * Page());
}

} // namespace

namespace
{

// Waits move a thread's virtual time forward, never back, and are not
// work: the total and the other threads' clocks do not change.
TEST(EmulatorClock, AdvanceToMovesOnlyTheCallingThreadForward)
{
	struct aml_topology *t = nullptr;
	struct aml_emu_error error = {};
	ASSERT_EQ(aml_emu_create(&t, "knl-flat", &error), 0) << error.reason;
	struct aml_emu_clock c0, c1, c2;
	ASSERT_EQ(aml_emu_clock(t, &c0), 0);
	ASSERT_EQ(aml_emu_clock_advance_to(t, c0.thread_ns + 5000), 0);
	ASSERT_EQ(aml_emu_clock(t, &c1), 0);
	EXPECT_EQ(c1.thread_ns, c0.thread_ns + 5000);
	EXPECT_EQ(c1.total_ns, c0.total_ns);
	ASSERT_EQ(aml_emu_clock_advance_to(t, 10), 0); // behind: no-op
	ASSERT_EQ(aml_emu_clock(t, &c2), 0);
	EXPECT_EQ(c2.thread_ns, c1.thread_ns);
	std::thread([&] {
		struct aml_emu_clock other;
		ASSERT_EQ(aml_emu_clock(t, &other), 0);
		EXPECT_EQ(other.thread_ns, 0u);
	}).join();

	EXPECT_EQ(aml_emu_clock_advance_to(nullptr, 1), AML_EINVAL);
	struct aml_topology *real = nullptr;
	ASSERT_EQ(aml_topology_discover(&real), 0);
	EXPECT_EQ(aml_emu_clock_advance_to(real, 1), AML_EINVAL);
	aml_topology_destroy(&real);
	aml_topology_destroy(&t);
}

} // namespace
