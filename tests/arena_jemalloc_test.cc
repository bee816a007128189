// SPDX-License-Identifier: BSD-3-Clause
// The jemalloc arena's thread caches, beyond the generic contract
// (arena_test.cc runs that on it too): blocks freed by another thread and
// freed twice there, two threads exchanging blocks, caches of threads that
// exit before or after fini, more arenas than a thread caches for, and
// fork() while threads use the arena. Every test ends with nothing
// resident on the emulated device. Skipped where aml has no memkind.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/arena.h>
#include <aml/arena/jemalloc.h>

#include "tests/testing/in_child.h"

// ThreadSanitizer's deadlock detector follows at most 64 locks held by one
// thread; memkind's jemalloc takes its many arenas' locks in its fork
// handler (as in fork_test.cc).
extern "C" const char *__tsan_default_options(void);
extern "C" const char *__tsan_default_options(void)
{
	return "detect_deadlocks=0";
}

namespace
{

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;

class ArenaJemalloc : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		if (aml_backend_is_built(AML_BACKEND_MEMKIND) != 1)
			GTEST_SKIP() << "aml built without memkind";
		struct aml_emu_error error = {};
		// MCDRAM: 64 MiB, room for jemalloc's arenas of a few threads.
		ASSERT_EQ(aml_emu_create(&t, "knl-flat;scale=1/256", &error), 0)
		        << error.reason;
		dev = aml_topology_device(t, 1);
		ASSERT_EQ(aml_area_device_init(&area, t, &dev, 1, AML_AREA_BIND,
		                               nullptr),
		          0);
		made = true;
	}
	void TearDown() override
	{
		if (made)
			aml_area_device_fini(&area);
		aml_topology_destroy(&t);
	}
	uint64_t Resident()
	{
		struct aml_emu_stats s = {};
		EXPECT_EQ(aml_emu_stats(t, 1, &s), 0);
		return s.resident_bytes;
	}
	struct aml_topology *t = nullptr;
	const struct aml_device *dev = nullptr;
	AML_AREA_DEVICE_DECL(area);
	bool made = false;
};

// Thread A allocates, thread B checks and frees, and frees again, for
// many rounds, each with new threads (whose caches go back as they exit).
TEST_F(ArenaJemalloc, BlocksFreedByAnotherThreadComeBack)
{
	AML_ARENA_JEMALLOC_DECL(je);
	ASSERT_EQ(aml_arena_jemalloc_init(&je, &area.base, 4 * kMiB), 0);
	const size_t sizes[] = {16, 24, 64, 100, 256, 1000, 4096, 8192};
	for (int round = 0; round < 20; round++) {
		std::vector<unsigned char *> blocks;
		std::thread a([&] {
			for (int i = 0; i < 600; i++) {
				size_t n = sizes[i % 8];
				auto *p = static_cast<unsigned char *>(
				        aml_arena_malloc(&je.base, n));
				ASSERT_NE(p, nullptr);
				std::memset(p, (unsigned char)(i + round), n);
				blocks.push_back(p);
			}
		});
		a.join();
		std::thread b([&] {
			for (size_t i = 0; i < blocks.size(); i++) {
				size_t n = sizes[i % 8];
				ASSERT_EQ(blocks[i][n - 1],
				          (unsigned char)(i + round));
				size_t usable = 0;
				ASSERT_EQ(aml_arena_usable_size(
				                  &je.base, blocks[i], &usable),
				          0);
				EXPECT_GE(usable, n);
				// Not a block start.
				EXPECT_EQ(
				        aml_arena_free(&je.base, blocks[i] + 8),
				        AML_EINVAL);
				if (n >= 64) {
					EXPECT_EQ(
					        aml_arena_free(&je.base,
					                       blocks[i] + 32),
					        AML_EINVAL);
				}
				ASSERT_EQ(aml_arena_free(&je.base, blocks[i]),
				          0);
				// Freed once: a second free is refused, and
				// the block is not live any more.
				ASSERT_EQ(aml_arena_free(&je.base, blocks[i]),
				          AML_EINVAL);
				EXPECT_EQ(aml_arena_usable_size(
				                  &je.base, blocks[i], &usable),
				          AML_EINVAL);
			}
		});
		b.join();
	}
	aml_arena_jemalloc_fini(&je);
	EXPECT_EQ(Resident(), 0u);
}

// Two threads, each freeing what the other allocated; a block is never
// handed out twice (the bytes of each stay its owner's). A thread that
// finds its peer's mailbox full frees its own block instead, so the live
// blocks stay bounded however the threads are scheduled: the second
// schedule runs one thread to its end before the other starts, which is
// what a loaded machine may do to the first.
TEST_F(ArenaJemalloc, TwoThreadsExchangeBlocks)
{
	constexpr size_t kMailboxLimit = 512;
	for (bool one_after_the_other : {false, true}) {
		SCOPED_TRACE(one_after_the_other ? "one after the other"
		                                 : "at once");
		AML_ARENA_JEMALLOC_DECL(je);
		ASSERT_EQ(aml_arena_jemalloc_init(&je, &area.base, 4 * kMiB),
		          0);
		std::mutex m;
		std::vector<std::pair<unsigned char *, size_t>> mailbox[2];
		auto work = [&](int me) {
			std::mt19937 rng(me + 1);
			for (int i = 0; i < 20000; i++) {
				size_t n = 1 + rng() % 6000;
				auto *p = static_cast<unsigned char *>(
				        aml_arena_malloc(&je.base, n));
				ASSERT_NE(p, nullptr);
				std::memset(p, me + 1, n);
				std::pair<unsigned char *, size_t> theirs = {
				        nullptr, 0};
				bool posted = false;
				{
					std::lock_guard<std::mutex> g(m);
					if (mailbox[1 - me].size() <
					    kMailboxLimit) {
						mailbox[1 - me].push_back(
						        {p, n});
						posted = true;
					}
					if (!mailbox[me].empty()) {
						theirs = mailbox[me].back();
						mailbox[me].pop_back();
					}
				}
				if (!posted) {
					ASSERT_EQ(aml_arena_free(&je.base, p),
					          0);
				}
				if (theirs.first != nullptr) {
					ASSERT_EQ(theirs.first[0], 2 - me);
					ASSERT_EQ(
					        theirs.first[theirs.second - 1],
					        2 - me);
					ASSERT_EQ(aml_arena_free(&je.base,
					                         theirs.first),
					          0);
				}
			}
		};
		if (one_after_the_other) {
			std::thread(work, 0).join();
			std::thread(work, 1).join();
		} else {
			std::thread t0(work, 0), t1(work, 1);
			t0.join();
			t1.join();
		}
		// The rest, from a thread whose cache goes back when it
		// exits.
		std::thread rest([&] {
			for (auto &box : mailbox)
				for (auto &b : box)
					ASSERT_EQ(aml_arena_free(&je.base,
					                         b.first),
					          0);
		});
		rest.join();
		aml_arena_jemalloc_fini(&je);
		EXPECT_EQ(Resident(), 0u);
	}
}

// fini takes the caches of threads still alive, with blocks in them;
// they exit afterwards, and must not touch the freed arena.
TEST_F(ArenaJemalloc, FiniWhileThreadsHoldCaches)
{
	auto *je = new struct aml_arena_jemalloc;
	ASSERT_EQ(aml_arena_jemalloc_init(je, &area.base, 4 * kMiB), 0);
	std::mutex m;
	std::condition_variable cv;
	int used = 0;
	bool finalised = false;
	std::vector<std::thread> threads;
	for (int i = 0; i < 3; i++)
		threads.emplace_back([&] {
			std::vector<void *> blocks;
			for (int k = 0; k < 100; k++)
				blocks.push_back(
				        aml_arena_malloc(&je->base, 48));
			for (void *p : blocks)
				EXPECT_EQ(aml_arena_free(&je->base, p), 0);
			std::unique_lock<std::mutex> lock(m);
			used++;
			cv.notify_all();
			cv.wait(lock, [&] { return finalised; });
		});
	{
		std::unique_lock<std::mutex> lock(m);
		cv.wait(lock, [&] { return used == 3; });
	}
	aml_arena_jemalloc_fini(je);
	delete je; // the exiting threads must not touch it
	EXPECT_EQ(Resident(), 0u);
	{
		std::lock_guard<std::mutex> lock(m);
		finalised = true;
		cv.notify_all();
	}
	for (auto &th : threads)
		th.join();
}

// A thread caches for 8 arenas at once; the others work without a cache,
// and a finalised arena's slot serves a new one.
TEST_F(ArenaJemalloc, MoreArenasThanCacheSlots)
{
	constexpr int kArenas = 10;
	std::vector<struct aml_arena *> arenas(kArenas);
	for (auto &a : arenas)
		ASSERT_EQ(aml_arena_jemalloc_create(&a, &area.base, 4 * kMiB),
		          0);
	for (int round = 0; round < 3; round++) {
		std::vector<void *> blocks;
		for (int i = 0; i < 50 * kArenas; i++) {
			void *p = aml_arena_malloc(arenas[i % kArenas], 200);
			ASSERT_NE(p, nullptr);
			std::memset(p, i, 200);
			blocks.push_back(p);
		}
		for (int i = 0; i < 50 * kArenas; i++) {
			// Not a block of the neighbour arena.
			EXPECT_EQ(aml_arena_free(arenas[(i + 1) % kArenas],
			                         blocks[i]),
			          AML_EINVAL);
			ASSERT_EQ(
			        aml_arena_free(arenas[i % kArenas], blocks[i]),
			        0);
			EXPECT_EQ(
			        aml_arena_free(arenas[i % kArenas], blocks[i]),
			        AML_EINVAL);
		}
		// A new arena in place of the first.
		aml_arena_jemalloc_destroy(&arenas[0]);
		ASSERT_EQ(aml_arena_jemalloc_create(&arenas[0], &area.base,
		                                    4 * kMiB),
		          0);
	}
	for (auto &a : arenas)
		aml_arena_jemalloc_destroy(&a);
	EXPECT_EQ(Resident(), 0u);
}

// fork() while one thread fills and drains its caches through the
// arena's lock and another starts and ends threads (the registry's lock):
// each child uses the arena, from a thread of its own too, and finalises
// it.
TEST_F(ArenaJemalloc, ForkWhileThreadsUseTheArena)
{
	AML_ARENA_JEMALLOC_DECL(je);
	ASSERT_EQ(aml_arena_jemalloc_init(&je, &area.base, 4 * kMiB), 0);
	std::atomic<bool> stop{false};
	std::atomic<int> bad{0};
	auto burst = [&](size_t seed) {
		std::vector<void *> blocks;
		for (size_t i = 0; i < 300; i++) {
			void *p = aml_arena_malloc(&je.base,
			                           1 + (seed + i * 97) % 9000);
			if (p == nullptr)
				bad++;
			blocks.push_back(p);
		}
		for (void *p : blocks)
			if (aml_arena_free(&je.base, p) != 0)
				bad++;
	};
	std::thread refiller([&] {
		for (size_t i = 0; !stop; i++)
			burst(i);
	});
	std::thread starter([&] {
		for (size_t i = 0; !stop; i++)
			std::thread([&] { burst(i); }).join();
	});
	auto child = [&]() -> int {
		std::thread t([&] { burst(7); });
		t.join();
		burst(11);
		void *big = aml_arena_malloc(&je.base, 3 * kMiB);
		CHILD_EXPECT(big != nullptr);
		CHILD_EXPECT(aml_arena_free(&je.base, big) == 0);
		aml_arena_jemalloc_fini(&je);
		return 0;
	};
	for (int i = 0; i < 10 && !HasFailure(); i++)
		EXPECT_TRUE(aml_testing::InChild(child)) << "fork " << i;
	stop = true;
	refiller.join();
	starter.join();
	EXPECT_EQ(bad.load(), 0);
	aml_arena_jemalloc_fini(&je);
	EXPECT_EQ(Resident(), 0u);
}

} // namespace
