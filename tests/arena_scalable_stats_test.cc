// SPDX-License-Identifier: BSD-3-Clause
// The scalable arena's statistics and cap (aml/arena/scalable.h): counts
// after known sequences from one and two threads, the peak's bounds, the
// cap's refusals (nothing taken, the reason in aml_error_detail()), the
// live-block walk and report, and bad input.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/arena.h>
#include <aml/arena/pool.h>
#include <aml/arena/scalable.h>

namespace
{

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;

class ArenaScalableStats : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		struct aml_emu_error error = {};
		ASSERT_EQ(aml_emu_create(&t, "knl-flat;scale=1/256", &error), 0)
		        << error.reason;
		dev = aml_topology_device(t, 1);
		ASSERT_EQ(aml_area_device_init(&area, t, &dev, 1, AML_AREA_BIND,
		                               nullptr),
		          0);
		made = true;
		ASSERT_EQ(aml_arena_scalable_init(&s, &area.base), 0);
	}
	void TearDown() override
	{
		aml_arena_scalable_fini(&s);
		if (made)
			aml_area_device_fini(&area);
		aml_topology_destroy(&t);
	}
	struct aml_arena_usage Usage()
	{
		struct aml_arena_usage u = {};
		EXPECT_EQ(aml_arena_scalable_usage(&s.base, &u), 0);
		return u;
	}
	size_t Usable(const void *p)
	{
		size_t n = 0;
		EXPECT_EQ(aml_arena_usable_size(&s.base, p, &n), 0);
		return n;
	}
	size_t Mapped()
	{
		struct aml_arena_stats st = {};
		EXPECT_EQ(aml_arena_stats(&s.base, &st), 0);
		return st.mapped_bytes;
	}
	// The arena's live blocks by address, from the walk.
	std::map<uintptr_t, size_t> Walk()
	{
		std::map<uintptr_t, size_t> seen;
		EXPECT_EQ(
		        aml_arena_scalable_foreach(
		                &s.base,
		                [](void *p, size_t n, void *arg) {
			                auto *m = static_cast<
			                        std::map<uintptr_t, size_t> *>(
			                        arg);
			                EXPECT_EQ(m->count((uintptr_t)p), 0u);
			                (*m)[(uintptr_t)p] = n;
		                },
		                &seen),
		        0);
		return seen;
	}
	struct aml_topology *t = nullptr;
	const struct aml_device *dev = nullptr;
	AML_AREA_DEVICE_DECL(area);
	AML_ARENA_SCALABLE_DECL(s);
	bool made = false;
};

// Sizes from the smallest class to large blocks of a buddy chunk and of
// whole pages, and an over-aligned one.
const size_t kSizes[] = {0,    1,    16,         17,   100,  1000,    4096,
                         8192, 8193, 100 * kKiB, kMiB, 5000, 3 * kMiB};

TEST_F(ArenaScalableStats, CountsExactAfterKnownSequence)
{
	struct aml_arena_usage u = Usage();
	EXPECT_EQ(u.bytes_in_use, 0u);
	EXPECT_EQ(u.live_allocations, 0u);
	EXPECT_EQ(u.bytes_held, 0u);
	EXPECT_EQ(u.peak_bytes_held, 0u);
	EXPECT_EQ(u.cap_bytes, 0u);

	std::vector<void *> live;
	size_t bytes = 0;
	for (int round = 0; round < 3; round++)
		for (size_t n : kSizes) {
			void *p = aml_arena_malloc(&s.base, n);
			ASSERT_NE(p, nullptr);
			live.push_back(p);
			bytes += Usable(p);
		}
	void *aligned = aml_arena_aligned_alloc(&s.base, 4096, 64);
	ASSERT_NE(aligned, nullptr);
	live.push_back(aligned);
	bytes += Usable(aligned);
	u = Usage();
	EXPECT_EQ(u.live_allocations, live.size());
	EXPECT_EQ(u.bytes_in_use, bytes);
	EXPECT_GE(u.bytes_held, u.bytes_in_use);
	EXPECT_GE(u.peak_bytes_held, u.bytes_held);

	// Free every other block, and grow one by realloc.
	std::vector<void *> kept;
	for (size_t i = 0; i < live.size(); i++) {
		if (i % 2 == 0) {
			bytes -= Usable(live[i]);
			ASSERT_EQ(aml_arena_free(&s.base, live[i]), 0);
		} else {
			kept.push_back(live[i]);
		}
	}
	bytes -= Usable(kept[0]);
	kept[0] = aml_arena_realloc(&s.base, kept[0], 20000);
	ASSERT_NE(kept[0], nullptr);
	bytes += Usable(kept[0]);
	u = Usage();
	EXPECT_EQ(u.live_allocations, kept.size());
	EXPECT_EQ(u.bytes_in_use, bytes);

	// A double free changes nothing.
	void *p = aml_arena_malloc(&s.base, 64);
	ASSERT_EQ(aml_arena_free(&s.base, p), 0);
	EXPECT_EQ(aml_arena_free(&s.base, p), AML_EINVAL);
	u = Usage();
	EXPECT_EQ(u.live_allocations, kept.size());
	EXPECT_EQ(u.bytes_in_use, bytes);

	for (void *q : kept)
		ASSERT_EQ(aml_arena_free(&s.base, q), 0);
	u = Usage();
	EXPECT_EQ(u.live_allocations, 0u);
	EXPECT_EQ(u.bytes_in_use, 0u);
	// What is left held is free blocks in this thread's cache.
	EXPECT_LE(u.bytes_held, (size_t)AML_ARENA_SCALABLE_CACHE_MAX);
}

// The peak of bytes_held bounds the true peak in use from above, by at
// most what one thread's cache holds.
TEST_F(ArenaScalableStats, PeakWithinOneCacheOfTheTruePeak)
{
	const size_t n = 1000;
	for (size_t size : {size_t{64}, size_t{1000}, size_t{8192}}) {
		size_t before = Usage().peak_bytes_held;
		std::vector<void *> blocks;
		size_t peak = 0;
		for (size_t i = 0; i < n; i++) {
			blocks.push_back(aml_arena_malloc(&s.base, size));
			ASSERT_NE(blocks.back(), nullptr);
			peak += Usable(blocks.back());
		}
		for (void *p : blocks)
			ASSERT_EQ(aml_arena_free(&s.base, p), 0);
		struct aml_arena_usage u = Usage();
		EXPECT_EQ(u.bytes_in_use, 0u);
		EXPECT_GE(u.peak_bytes_held, peak);
		EXPECT_LE(
		        u.peak_bytes_held,
		        std::max(before, peak + AML_ARENA_SCALABLE_CACHE_MAX));
	}
}

// Thread A allocates, thread B frees half of A's blocks and allocates its
// own; after the joins the counts are exact, whichever caches hold the
// free blocks, and after exits too.
TEST_F(ArenaScalableStats, CountsExactWithCrossThreadFrees)
{
	const size_t sizes[] = {16, 48, 256, 1000, 4096, 8192, 20000};
	std::vector<void *> a_blocks, b_blocks;
	std::thread a([&] {
		for (int i = 0; i < 700; i++) {
			void *p = aml_arena_malloc(&s.base, sizes[i % 7]);
			ASSERT_NE(p, nullptr);
			a_blocks.push_back(p);
		}
	});
	a.join();
	std::thread b([&] {
		for (size_t i = 0; i < a_blocks.size(); i += 2)
			ASSERT_EQ(aml_arena_free(&s.base, a_blocks[i]), 0);
		for (int i = 0; i < 300; i++) {
			void *p = aml_arena_malloc(&s.base, sizes[(i + 3) % 7]);
			ASSERT_NE(p, nullptr);
			b_blocks.push_back(p);
		}
	});
	b.join();
	size_t live = 0, bytes = 0;
	for (size_t i = 1; i < a_blocks.size(); i += 2, live++)
		bytes += Usable(a_blocks[i]);
	for (void *p : b_blocks) {
		bytes += Usable(p);
		live++;
	}
	struct aml_arena_usage u = Usage();
	EXPECT_EQ(u.live_allocations, live);
	EXPECT_EQ(u.bytes_in_use, bytes);
	EXPECT_EQ(Walk().size(), live);

	// Two threads free the rest at once, each the other's blocks.
	std::thread c([&] {
		for (size_t i = 1; i < a_blocks.size(); i += 2)
			ASSERT_EQ(aml_arena_free(&s.base, a_blocks[i]), 0);
	});
	std::thread d([&] {
		for (void *p : b_blocks)
			ASSERT_EQ(aml_arena_free(&s.base, p), 0);
	});
	c.join();
	d.join();
	u = Usage();
	EXPECT_EQ(u.live_allocations, 0u);
	EXPECT_EQ(u.bytes_in_use, 0u);
	// Every thread exited: their caches went back to the spans.
	EXPECT_EQ(u.bytes_held, 0u);
	EXPECT_TRUE(Walk().empty());
}

// One thread alone: refused exactly when its live bytes plus the block
// would pass the cap, even with free blocks of other classes cached; the
// refusal takes and maps nothing and says why.
TEST_F(ArenaScalableStats, CapRefusesExactlyAndTakesNothing)
{
	const size_t cap = 64 * kKiB;
	// Free blocks of another class in this thread's cache.
	std::vector<void *> small;
	for (int i = 0; i < 100; i++)
		small.push_back(aml_arena_malloc(&s.base, 64));
	for (void *p : small)
		ASSERT_EQ(aml_arena_free(&s.base, p), 0);
	ASSERT_GT(Usage().bytes_held, 0u);

	ASSERT_EQ(aml_arena_scalable_set_cap(&s.base, cap), 0);
	EXPECT_EQ(Usage().cap_bytes, cap);
	std::vector<void *> blocks;
	void *p;
	while ((p = aml_arena_malloc(&s.base, 1024)) != nullptr)
		blocks.push_back(p);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	char detail[AML_ERROR_DETAIL_MAX];
	aml_error_detail(detail, sizeof(detail));
	EXPECT_NE(std::strstr(detail, "cap of 65536 bytes"), nullptr) << detail;
	EXPECT_EQ(blocks.size(), cap / 1024);

	struct aml_arena_usage before = Usage();
	EXPECT_EQ(before.refused, 1u);
	EXPECT_LE(before.bytes_held, cap);
	size_t mapped = Mapped();
	// Any class, and large blocks of a chunk or of pages: refused, and
	// nothing moves.
	for (size_t n : {size_t{16}, size_t{8192}, size_t{20000}, kMiB}) {
		EXPECT_EQ(aml_arena_malloc(&s.base, n), nullptr) << n;
		EXPECT_EQ(aml_errno, AML_ENOMEM);
	}
	EXPECT_EQ(aml_arena_aligned_alloc(&s.base, 4096, 64), nullptr);
	struct aml_arena_usage after = Usage();
	EXPECT_EQ(after.refused, before.refused + 5);
	EXPECT_EQ(after.bytes_held, before.bytes_held);
	EXPECT_EQ(after.live_allocations, before.live_allocations);
	EXPECT_EQ(after.bytes_in_use, before.bytes_in_use);
	EXPECT_EQ(Mapped(), mapped);

	// Freeing makes room again; a large block fits under a larger cap.
	ASSERT_EQ(aml_arena_free(&s.base, blocks.back()), 0);
	blocks.pop_back();
	p = aml_arena_malloc(&s.base, 1000);
	ASSERT_NE(p, nullptr);
	blocks.push_back(p);
	ASSERT_EQ(aml_arena_scalable_set_cap(&s.base, cap + 2 * kMiB), 0);
	p = aml_arena_malloc(&s.base, kMiB);
	ASSERT_NE(p, nullptr);
	blocks.push_back(p);
	EXPECT_LE(Usage().bytes_held, cap + 2 * kMiB);
	// A cap below what is held refuses, and takes nothing back.
	ASSERT_EQ(aml_arena_scalable_set_cap(&s.base, 1), 0);
	EXPECT_EQ(aml_arena_malloc(&s.base, 16), nullptr);
	EXPECT_EQ(Usage().live_allocations, blocks.size());
	ASSERT_EQ(aml_arena_scalable_set_cap(&s.base, 0), 0);
	for (void *q : blocks)
		ASSERT_EQ(aml_arena_free(&s.base, q), 0);
	EXPECT_EQ(Usage().live_allocations, 0u);
}

// The walk and the report list exactly the live blocks, with their sizes
// and device.
TEST_F(ArenaScalableStats, ReportListsExactlyTheLiveBlocks)
{
	std::map<uintptr_t, size_t> live;
	std::vector<void *> freed;
	for (int round = 0; round < 2; round++)
		for (size_t n : kSizes) {
			void *p = aml_arena_malloc(&s.base, n);
			ASSERT_NE(p, nullptr);
			std::memset(p, 1, n);
			if ((live.size() + freed.size()) % 3 == 0)
				freed.push_back(p);
			else
				live[(uintptr_t)p] = Usable(p);
		}
	for (void *p : freed)
		ASSERT_EQ(aml_arena_free(&s.base, p), 0);
	EXPECT_EQ(Walk(), live);

	char *text = nullptr;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	ASSERT_NE(out, nullptr);
	ASSERT_EQ(aml_arena_scalable_report(&s.base, out, t), 0);
	std::fclose(out);
	std::istringstream in(text);
	std::free(text);
	std::string line;
	ASSERT_TRUE(std::getline(in, line));
	struct aml_arena_usage u = Usage();
	EXPECT_EQ(line.rfind("scalable arena: live blocks " +
	                             std::to_string(live.size()) +
	                             ", bytes in use " +
	                             std::to_string(u.bytes_in_use) + ",",
	                     0),
	          0u)
	        << line;
	std::map<uintptr_t, size_t> listed;
	std::string where = std::string(" on ") + dev->name + " (device 1)";
	while (std::getline(in, line)) {
		unsigned long long addr = 0;
		size_t size = 0;
		ASSERT_EQ(std::sscanf(line.c_str(), "  %llx %zu bytes", &addr,
		                      &size),
		          2)
		        << line;
		EXPECT_NE(line.find(where), std::string::npos) << line;
		listed[(uintptr_t)addr] = size;
	}
	EXPECT_EQ(listed, live);

	// Without a topology: no device column.
	out = open_memstream(&text, &len);
	ASSERT_NE(out, nullptr);
	ASSERT_EQ(aml_arena_scalable_report(&s.base, out, nullptr), 0);
	std::fclose(out);
	EXPECT_EQ(std::string(text).find(" on "), std::string::npos);
	std::free(text);
	for (auto &b : live)
		ASSERT_EQ(aml_arena_free(&s.base, (void *)b.first), 0);
	EXPECT_TRUE(Walk().empty());
}

// Usage, walk and report while two threads allocate and free: every
// call succeeds, and after the joins the counts are exact again (under
// TSan in CI: the reads of the threads' caches race nothing).
TEST_F(ArenaScalableStats, UsageWhileThreadsWork)
{
	std::atomic<int> running{2};
	auto work = [&](unsigned seed) {
		std::vector<void *> held;
		for (unsigned i = 0; i < 4000; i++) {
			size_t n = (seed * 7919u + i * 104729u) % 12000 + 1;
			void *p = aml_arena_malloc(&s.base, n);
			ASSERT_NE(p, nullptr);
			held.push_back(p);
			if (held.size() > 40) {
				ASSERT_EQ(aml_arena_free(&s.base, held.front()),
				          0);
				held.erase(held.begin());
			}
		}
		for (void *p : held)
			ASSERT_EQ(aml_arena_free(&s.base, p), 0);
		running--;
	};
	std::thread a(work, 1), b(work, 2);
	int rounds = 0;
	while (running.load() > 0 || rounds < 3) {
		struct aml_arena_usage u = {};
		ASSERT_EQ(aml_arena_scalable_usage(&s.base, &u), 0);
		EXPECT_LE(u.bytes_held, u.peak_bytes_held);
		size_t walked = 0;
		ASSERT_EQ(aml_arena_scalable_foreach(
		                  &s.base,
		                  [](void *, size_t, void *arg) {
			                  ++*static_cast<size_t *>(arg);
		                  },
		                  &walked),
		          0);
		FILE *out = std::fopen("/dev/null", "w");
		ASSERT_NE(out, nullptr);
		EXPECT_EQ(aml_arena_scalable_report(&s.base, out, t), 0);
		std::fclose(out);
		rounds++;
	}
	a.join();
	b.join();
	struct aml_arena_usage u = Usage();
	EXPECT_EQ(u.live_allocations, 0u);
	EXPECT_EQ(u.bytes_in_use, 0u);
	EXPECT_EQ(u.bytes_held, 0u);
	EXPECT_TRUE(Walk().empty());
}

TEST_F(ArenaScalableStats, BadInputIsEinval)
{
	struct aml_arena_usage u;
	std::memset(&u, 0xff, sizeof(u));
	EXPECT_EQ(aml_arena_scalable_usage(nullptr, &u), AML_EINVAL);
	EXPECT_EQ(u.bytes_held, 0u);
	EXPECT_EQ(aml_arena_scalable_usage(&s.base, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_arena_scalable_set_cap(nullptr, 1), AML_EINVAL);
	auto fn = [](void *, size_t, void *) {};
	EXPECT_EQ(aml_arena_scalable_foreach(nullptr, fn, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_arena_scalable_foreach(&s.base, nullptr, nullptr),
	          AML_EINVAL);
	EXPECT_EQ(aml_arena_scalable_report(nullptr, stdout, nullptr),
	          AML_EINVAL);
	EXPECT_EQ(aml_arena_scalable_report(&s.base, nullptr, nullptr),
	          AML_EINVAL);

	// Another kind of arena, and a finalised one.
	struct aml_arena *pool = nullptr;
	ASSERT_EQ(aml_arena_pool_create(&pool, &area.base, 64, 0, 0), 0);
	EXPECT_EQ(aml_arena_scalable_usage(pool, &u), AML_EINVAL);
	EXPECT_EQ(aml_arena_scalable_set_cap(pool, 1), AML_EINVAL);
	EXPECT_EQ(aml_arena_scalable_foreach(pool, fn, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_arena_scalable_report(pool, stdout, nullptr), AML_EINVAL);
	aml_arena_pool_destroy(&pool);
	AML_ARENA_SCALABLE_DECL(gone);
	ASSERT_EQ(aml_arena_scalable_init(&gone, &area.base), 0);
	aml_arena_scalable_fini(&gone);
	EXPECT_EQ(aml_arena_scalable_usage(&gone.base, &u), AML_EINVAL);
	EXPECT_EQ(aml_arena_scalable_set_cap(&gone.base, 1), AML_EINVAL);
}

} // namespace
