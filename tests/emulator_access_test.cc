// SPDX-License-Identifier: BSD-3-Clause
// Access accounting (aml_emu_set_access_accounting): a plain loop over
// emulated memory advances the calling thread's clock by exactly the
// model (blocks of AML_EMU_ACCESS_BLOCK_PAGES over the device's bandwidth,
// one latency per stream), counts pages per device and per thread, charges
// nothing when off, and leaves real segfaults alone.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

#include "tests/testing/in_child.h"
#include "tests/testing/topology_builder.h"

namespace
{

// The figures of the two tiers: the spec is made from them, and the
// expected charges computed from them.
constexpr uint64_t kSlowRead = 10ULL << 30, kSlowWrite = 5ULL << 30;
constexpr uint64_t kSlowReadLat = 100, kSlowWriteLat = 150;
constexpr uint64_t kFastRead = 80ULL << 30, kFastWrite = 40ULL << 30;
constexpr uint64_t kFastReadLat = 90, kFastWriteLat = 95;

std::string Spec()
{
	auto tier = [](const char *name, const char *kind, uint64_t rbw,
	               uint64_t wbw, uint64_t rlat, uint64_t wlat,
	               const char *cpus) {
		return std::string("tier: name=") + name + ", kind=" + kind +
		       ", capacity=1GiB, read_bw=" + std::to_string(rbw) +
		       "B/s, write_bw=" + std::to_string(wbw) +
		       "B/s, read_latency=" + std::to_string(rlat) +
		       "ns, write_latency=" + std::to_string(wlat) +
		       "ns, cpus=" + cpus;
	};
	return tier("slow", "DRAM", kSlowRead, kSlowWrite, kSlowReadLat,
	            kSlowWriteLat, "all") +
	       ";" +
	       tier("fast", "HBM", kFastRead, kFastWrite, kFastReadLat,
	            kFastWriteLat, "none");
}

uint64_t Ceil(uint64_t bytes, uint64_t bw)
{
	return (uint64_t)(((__uint128_t)bytes * 1000000000ULL + bw - 1) / bw);
}

size_t Page()
{
	return aml_page_size();
}

size_t Block()
{
	return AML_EMU_ACCESS_BLOCK_PAGES * Page();
}

// Each test runs with every page of a block protected and with its first
// page only (AML_EMU_ACCESSES_ON and _SAMPLED): loops that enter every
// block cost the same.
class EmulatorAccess : public ::testing::TestWithParam<int>
{
      protected:
	void SetUp() override
	{
		struct aml_emu_error error = {};
		ASSERT_EQ(aml_emu_create(&t, Spec().c_str(), &error), 0)
		        << error.reason;
		slow = aml_topology_device(t, 0);
		fast = aml_topology_device(t, 1);
		int err = aml_emu_set_access_accounting(t, GetParam());
		if (err == AML_ENOTSUP)
			GTEST_SKIP() << "access accounting is refused here "
			                "(valgrind)";
		ASSERT_EQ(err, 0);
		ASSERT_EQ(aml_emu_set_access_accounting(t, 0), 0);
	}
	void TearDown() override
	{
		aml_topology_destroy(&t);
	}
	uint64_t Mine()
	{
		struct aml_emu_clock c;
		EXPECT_EQ(aml_emu_clock(t, &c), 0);
		return c.thread_ns;
	}
	struct aml_emu_stats Stats(size_t i)
	{
		struct aml_emu_stats s = {};
		EXPECT_EQ(aml_emu_stats(t, i, &s), 0);
		return s;
	}
	struct aml_emu_accesses MyAccesses(size_t i)
	{
		struct aml_emu_accesses a = {};
		EXPECT_EQ(aml_emu_thread_accesses(t, i, &a), 0);
		return a;
	}

	struct aml_topology *t = nullptr;
	const struct aml_device *slow = nullptr, *fast = nullptr;
};

// Every page written once, in order: one latency (one stream), then every
// block over the write bandwidth.
void WriteEveryPage(volatile char *p, size_t size)
{
	for (size_t i = 0; i < size; i += Page())
		p[i] = 1;
}

uint64_t ReadEveryPage(const volatile char *p, size_t size)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < size; i += Page())
		sum += (uint64_t)p[i];
	return sum;
}

TEST_P(EmulatorAccess, WritesChargeEachBlockOnceAtWriteBandwidth)
{
	size_t blocks = 4, size = blocks * Block();
	char *p = static_cast<char *>(aml_device_map(slow, size));
	ASSERT_NE(p, nullptr);
	ASSERT_EQ(aml_emu_set_access_accounting(t, GetParam()), 0);
	EXPECT_EQ(aml_emu_access_accounting(t), GetParam());
	uint64_t before = Mine();
	WriteEveryPage(p, size);
	EXPECT_EQ(Mine() - before,
	          kSlowWriteLat + blocks * Ceil(Block(), kSlowWrite));
	EXPECT_EQ(Stats(0).access_pages_written, size / Page());
	EXPECT_EQ(Stats(0).access_pages_read, 0u);
	EXPECT_EQ(Stats(1).access_pages_written, 0u);
	EXPECT_EQ(MyAccesses(0).pages_written, size / Page());
	// Still in the cache model: a second pass is free.
	before = Mine();
	WriteEveryPage(p, size);
	EXPECT_EQ(Mine(), before);
	ASSERT_EQ(aml_emu_set_access_accounting(t, 0), 0);
	EXPECT_EQ(aml_device_unmap(slow, p, size), 0);
}

TEST_P(EmulatorAccess, ReadsChargeReadBandwidthOnTheirDevice)
{
	size_t blocks = 3, size = blocks * Block();
	char *p = static_cast<char *>(aml_device_map(fast, size));
	ASSERT_NE(p, nullptr);
	std::memset(p, 1, size); // placed, before accounting
	ASSERT_EQ(aml_emu_set_access_accounting(t, GetParam()), 0);
	uint64_t before = Mine();
	EXPECT_EQ(ReadEveryPage(p, size), size / Page());
	EXPECT_EQ(Mine() - before,
	          kFastReadLat + blocks * Ceil(Block(), kFastRead));
	EXPECT_EQ(Stats(1).access_pages_read, size / Page());
	EXPECT_EQ(MyAccesses(1).pages_read, size / Page());
	EXPECT_EQ(MyAccesses(0).pages_read, 0u);
	// A store to a block read already: its write bandwidth, no latency.
	before = Mine();
	p[0] = 2;
	EXPECT_EQ(Mine() - before, Ceil(Block(), kFastWrite));
	EXPECT_EQ(Stats(1).access_pages_written, AML_EMU_ACCESS_BLOCK_PAGES);
	EXPECT_EQ(aml_device_unmap(fast, p, size), 0);
}

TEST_P(EmulatorAccess, OffChargesNothing)
{
	size_t size = 4 * Block();
	char *p = static_cast<char *>(aml_device_map(slow, size));
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(aml_emu_access_accounting(t), 0);
	uint64_t before = Mine();
	WriteEveryPage(p, size);
	EXPECT_EQ(ReadEveryPage(p, size), size / Page());
	EXPECT_EQ(Mine(), before);
	EXPECT_EQ(Stats(0).access_pages_written, 0u);
	// On, then off: nothing either.
	ASSERT_EQ(aml_emu_set_access_accounting(t, GetParam()), 0);
	ASSERT_EQ(aml_emu_set_access_accounting(t, 0), 0);
	before = Mine();
	WriteEveryPage(p, size);
	EXPECT_EQ(Mine(), before);
	EXPECT_EQ(aml_device_unmap(slow, p, size), 0);
}

TEST_P(EmulatorAccess, BeyondTheCacheEveryPassCounts)
{
	size_t blocks = AML_EMU_ACCESS_CACHE_BYTES / Block() + 2;
	size_t size = blocks * Block();
	char *p = static_cast<char *>(aml_device_map(slow, size));
	ASSERT_NE(p, nullptr);
	ASSERT_EQ(aml_emu_set_access_accounting(t, GetParam()), 0);
	uint64_t one_pass = kSlowWriteLat + blocks * Ceil(Block(), kSlowWrite);
	for (int pass = 0; pass < 2; pass++) {
		uint64_t before = Mine();
		WriteEveryPage(p, size);
		// The next pass's first blocks left the cache: a new stream
		// (the last block's successor is past the array).
		EXPECT_EQ(Mine() - before, one_pass) << "pass " << pass;
	}
	EXPECT_EQ(Stats(0).access_pages_written, 2 * size / Page());
	EXPECT_EQ(aml_device_unmap(slow, p, size), 0);
}

TEST_P(EmulatorAccess, EachThreadPaysItsOwnAccesses)
{
	size_t size = 2 * Block();
	char *mine = static_cast<char *>(aml_device_map(slow, size));
	char *theirs = static_cast<char *>(aml_device_map(fast, size));
	ASSERT_NE(mine, nullptr);
	ASSERT_NE(theirs, nullptr);
	ASSERT_EQ(aml_emu_set_access_accounting(t, GetParam()), 0);
	uint64_t before = Mine();
	uint64_t other = 0, other_pages = 0;
	std::thread([&] {
		WriteEveryPage(theirs, size);
		struct aml_emu_clock c;
		EXPECT_EQ(aml_emu_clock(t, &c), 0);
		other = c.thread_ns;
		struct aml_emu_accesses a = {};
		EXPECT_EQ(aml_emu_thread_accesses(t, 1, &a), 0);
		other_pages = a.pages_written;
	}).join();
	EXPECT_EQ(Mine(), before);
	EXPECT_EQ(other, kFastWriteLat + 2 * Ceil(Block(), kFastWrite));
	EXPECT_EQ(other_pages, size / Page());
	EXPECT_EQ(MyAccesses(1).pages_written, 0u);
	WriteEveryPage(mine, size);
	EXPECT_EQ(Mine() - before,
	          kSlowWriteLat + 2 * Ceil(Block(), kSlowWrite));
	aml_device_unmap(slow, mine, size);
	aml_device_unmap(fast, theirs, size);
}

TEST_P(EmulatorAccess, CopiesAreChargedOnceByTheCopy)
{
	size_t size = 2 * Block();
	char *src = static_cast<char *>(aml_device_map(slow, size));
	char *dst = static_cast<char *>(aml_device_map(fast, size));
	ASSERT_NE(src, nullptr);
	ASSERT_NE(dst, nullptr);
	std::memset(src, 3, size);
	std::memset(dst, 0, size);
	ASSERT_EQ(aml_emu_set_access_accounting(t, GetParam()), 0);
	uint64_t cost = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, size, &cost), 0);
	uint64_t before = Mine();
	ASSERT_EQ(aml_emu_copy(t, dst, src, size), 0);
	EXPECT_EQ(Mine() - before, cost);
	EXPECT_EQ(Stats(0).access_pages_read, 0u);
	EXPECT_EQ(Stats(1).access_pages_written, 0u);
	ASSERT_EQ(aml_emu_set_access_accounting(t, 0), 0);
	EXPECT_EQ(dst[size - 1], 3);
	aml_device_unmap(slow, src, size);
	aml_device_unmap(fast, dst, size);
}

TEST_P(EmulatorAccess, TheKernelCannotReachProtectedPagesUntilOff)
{
	size_t size = Block();
	char *p = static_cast<char *>(aml_device_map(slow, size));
	ASSERT_NE(p, nullptr);
	std::memset(p, 0, size);
	int fds[2];
	ASSERT_EQ(pipe(fds), 0);
	ASSERT_EQ(write(fds[1], "ab", 2), 2);
	ASSERT_EQ(aml_emu_set_access_accounting(t, GetParam()), 0);
	errno = 0;
	EXPECT_EQ(read(fds[0], p, 1), -1);
	EXPECT_EQ(errno, EFAULT);
	ASSERT_EQ(aml_emu_set_access_accounting(t, 0), 0);
	EXPECT_EQ(read(fds[0], p, 2), 2);
	EXPECT_EQ(p[1], 'b');
	close(fds[0]);
	close(fds[1]);
	aml_device_unmap(slow, p, size);
}

TEST_P(EmulatorAccess, MapsUnmapsAndRemapsWhileOn)
{
	ASSERT_EQ(aml_emu_set_access_accounting(t, GetParam()), 0);
	for (int round = 0; round < 3; round++) {
		size_t size = 3 * Block();
		char *p = static_cast<char *>(aml_device_map(slow, size));
		ASSERT_NE(p, nullptr);
		uint64_t before = Mine();
		WriteEveryPage(p, size);
		EXPECT_EQ(Mine() - before,
		          kSlowWriteLat + 3 * Ceil(Block(), kSlowWrite));
		// Half unmapped while its blocks are open, then the rest.
		ASSERT_EQ(aml_device_unmap(slow, p + Block(), Block()), 0);
		WriteEveryPage(p, Block());
		WriteEveryPage(p + 2 * Block(), Block());
		ASSERT_EQ(aml_device_unmap(slow, p, Block()), 0);
		ASSERT_EQ(aml_device_unmap(slow, p + 2 * Block(), Block()), 0);
	}
}

TEST_P(EmulatorAccess, PopulateAndPlacementStillWork)
{
	size_t size = 2 * Block();
	ASSERT_EQ(aml_emu_set_access_accounting(t, GetParam()), 0);
	char *p = static_cast<char *>(aml_device_map(fast, size));
	ASSERT_NE(p, nullptr);
	WriteEveryPage(p, size);
	std::vector<int> ids(size / Page(), -1);
	ASSERT_EQ(aml_topology_locate(t, p, ids.size(), ids.data()), 0);
	for (int id : ids)
		EXPECT_EQ(id, 1);
	aml_device_unmap(fast, p, size);
	// Populated while protected: placed, and charged when touched.
	struct aml_bitmap nodes;
	aml_bitmap_zero(&nodes);
	aml_bitmap_set(&nodes, 0);
	p = static_cast<char *>(
	        aml_topology_map_populate(t, &nodes, AML_POLICY_BIND, size));
	ASSERT_NE(p, nullptr);
	ASSERT_EQ(aml_topology_locate(t, p, ids.size(), ids.data()), 0);
	for (int id : ids)
		EXPECT_EQ(id, 0);
	uint64_t before = Mine();
	EXPECT_EQ(ReadEveryPage(p, size), 0u);
	EXPECT_EQ(Mine() - before, kSlowReadLat + 2 * Ceil(Block(), kSlowRead));
	aml_topology_unmap(t, p, size);
}

TEST_P(EmulatorAccess, AForkedChildKeepsAccounting)
{
	size_t size = 2 * Block();
	char *p = static_cast<char *>(aml_device_map(slow, size));
	ASSERT_NE(p, nullptr);
	std::memset(p, 0, size);
	ASSERT_EQ(aml_emu_set_access_accounting(t, GetParam()), 0);
	p[0] = 1; // the first block open in the parent
	EXPECT_TRUE(aml_testing::InChild([&] {
		struct aml_emu_clock c0, c1;
		aml_emu_clock(t, &c0);
		// The second block is closed: charged here, continuing the
		// parent thread's stream (no latency).
		p[Block()] = 2;
		aml_emu_clock(t, &c1);
		uint64_t want = Ceil(Block(), kSlowWrite);
		return c1.thread_ns - c0.thread_ns == want && p[0] == 1 ? 0 : 1;
	}));
	ASSERT_EQ(aml_emu_set_access_accounting(t, 0), 0);
	EXPECT_EQ(p[Block()], 0); // the child's store was its own
	aml_device_unmap(slow, p, size);
}

void NullDeref()
{
	volatile char *p = nullptr;
	p[0] = 1;
}

TEST_P(EmulatorAccess, RealSegfaultsStillKill)
{
	// The emulator runs a fault thread: fork and re-run to the death.
	::testing::FLAGS_gtest_death_test_style = "threadsafe";
	ASSERT_EQ(aml_emu_set_access_accounting(t, GetParam()), 0);
	// Killed by SIGSEGV; under AddressSanitizer (whose handler the
	// emulator's chains to), by the report it makes.
	EXPECT_DEATH(NullDeref(), "");
	// A protected page outside emulated memory: a protection fault too.
	void *other = mmap(nullptr, Page(), PROT_NONE,
	                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(other, MAP_FAILED);
	EXPECT_DEATH(*static_cast<volatile char *>(other) = 1, "");
	munmap(other, Page());
}

TEST_P(EmulatorAccess, SpecItemTurnsItOn)
{
	struct aml_topology *on = nullptr;
	struct aml_emu_error error = {};
	ASSERT_EQ(
	        aml_emu_create(&on, (Spec() + ";accesses=on").c_str(), &error),
	        0)
	        << error.reason;
	EXPECT_EQ(aml_emu_access_accounting(on), AML_EMU_ACCESSES_ON);
	aml_topology_destroy(&on);
	ASSERT_EQ(aml_emu_create(&on, (Spec() + ";accesses=sampled").c_str(),
	                         &error),
	          0)
	        << error.reason;
	EXPECT_EQ(aml_emu_access_accounting(on), AML_EMU_ACCESSES_SAMPLED);
	aml_topology_destroy(&on);
	ASSERT_EQ(aml_emu_create(&on, "single;accesses=off", &error), 0);
	EXPECT_EQ(aml_emu_access_accounting(on), 0);
	aml_topology_destroy(&on);
	EXPECT_EQ(aml_emu_create(&on, "single;accesses=yes", &error),
	          AML_EINVAL);
	EXPECT_NE(std::string(error.reason).find("use off, on or sampled"),
	          std::string::npos)
	        << error.reason;
	EXPECT_EQ(aml_emu_create(&on, "single;accesses=on;accesses=on", &error),
	          AML_EINVAL);
}

TEST_P(EmulatorAccess, BadInputIsRefused)
{
	EXPECT_EQ(aml_emu_set_access_accounting(nullptr, 1), AML_EINVAL);
	EXPECT_EQ(aml_emu_set_access_accounting(t, 3), AML_EINVAL);
	EXPECT_EQ(aml_emu_set_access_accounting(t, -1), AML_EINVAL);
	EXPECT_EQ(aml_emu_access_accounting(nullptr), AML_EINVAL);
	EXPECT_EQ(aml_emu_access_accounting(t), 0); // unchanged
	struct aml_emu_accesses a;
	EXPECT_EQ(aml_emu_thread_accesses(nullptr, 0, &a), AML_EINVAL);
	EXPECT_EQ(aml_emu_thread_accesses(t, 0, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_emu_thread_accesses(t, 2, &a), AML_EDOM);
	struct aml_topology *real =
	        aml_testing::BuildTopology({{0, 1, "0", "0", 10, 100, ""}});
	ASSERT_NE(real, nullptr);
	EXPECT_EQ(aml_emu_set_access_accounting(real, 1), AML_EINVAL);
	EXPECT_EQ(aml_emu_access_accounting(real), AML_EINVAL);
	EXPECT_EQ(aml_emu_thread_accesses(real, 0, &a), AML_EINVAL);
	aml_topology_destroy(&real);
}

// Sampled: a block is seen through its first page only. The rest of it
// stays open, to the program and to the kernel alike.
TEST_P(EmulatorAccess, SampledSeesABlockThroughItsFirstPage)
{
	if (GetParam() != AML_EMU_ACCESSES_SAMPLED)
		GTEST_SKIP() << "sampling only";
	size_t size = 2 * Block();
	char *p = static_cast<char *>(aml_device_map(slow, size));
	ASSERT_NE(p, nullptr);
	std::memset(p, 0, size);
	int fds[2];
	ASSERT_EQ(pipe(fds), 0);
	ASSERT_EQ(write(fds[1], "abc", 3), 3);
	ASSERT_EQ(aml_emu_set_access_accounting(t, GetParam()), 0);
	uint64_t before = Mine();
	// Past the first page: nothing protected, nothing charged.
	EXPECT_EQ(read(fds[0], p + Page(), 1), 1);
	p[Block() + Page()] = 1;
	EXPECT_EQ(Mine(), before);
	// The first page is the block's sample.
	errno = 0;
	EXPECT_EQ(read(fds[0], p, 1), -1);
	EXPECT_EQ(errno, EFAULT);
	p[0] = 1;
	EXPECT_EQ(Mine() - before, kSlowWriteLat + Ceil(Block(), kSlowWrite));
	EXPECT_EQ(Stats(0).access_pages_written, AML_EMU_ACCESS_BLOCK_PAGES);
	ASSERT_EQ(aml_emu_set_access_accounting(t, 0), 0);
	EXPECT_EQ(p[Page()], 'a');
	close(fds[0]);
	close(fds[1]);
	aml_device_unmap(slow, p, size);
}

TEST_P(EmulatorAccess, SwitchingBetweenModesStartsAfresh)
{
	size_t size = Block();
	char *p = static_cast<char *>(aml_device_map(slow, size));
	ASSERT_NE(p, nullptr);
	ASSERT_EQ(aml_emu_set_access_accounting(t, GetParam()), 0);
	WriteEveryPage(p, size);
	int other = GetParam() == AML_EMU_ACCESSES_ON ? AML_EMU_ACCESSES_SAMPLED
	                                              : AML_EMU_ACCESSES_ON;
	ASSERT_EQ(aml_emu_set_access_accounting(t, other), 0);
	EXPECT_EQ(aml_emu_access_accounting(t), other);
	// The cache model starts empty: the block is charged again.
	uint64_t before = Mine();
	WriteEveryPage(p, size);
	EXPECT_EQ(Mine() - before, kSlowWriteLat + Ceil(Block(), kSlowWrite));
	ASSERT_EQ(aml_emu_set_access_accounting(t, 0), 0);
	aml_device_unmap(slow, p, size);
}

INSTANTIATE_TEST_SUITE_P(EveryPageAndSampled,
                         EmulatorAccess,
                         ::testing::Values(AML_EMU_ACCESSES_ON,
                                           AML_EMU_ACCESSES_SAMPLED),
                         [](const ::testing::TestParamInfo<int> &info) {
	                         return std::string(
	                                 info.param == AML_EMU_ACCESSES_ON
	                                         ? "EveryPage"
	                                         : "Sampled");
                         });

} // namespace
