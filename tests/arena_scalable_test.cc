// SPDX-License-Identifier: BSD-3-Clause
// The scalable arena beyond the generic contract (arena_test.cc runs that
// on it too): blocks freed by another thread, caches of threads that exit
// or outlive the arena, more arenas than a thread caches for, and
// upstream AML's workflow of 2^9 live blocks of random sizes from 4 KiB to
// 16 MiB. Every test ends with nothing resident on the emulated device.
#include <algorithm>
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
#include <aml/arena/pool.h>
#include <aml/arena/scalable.h>

#include "tests/testing/in_child.h"

namespace
{

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;
constexpr size_t kSpan = AML_ARENA_SCALABLE_SPAN_SIZE;

class ArenaScalable : public ::testing::Test
{
      protected:
	// MCDRAM of a knl-flat at @p scale: 64 MiB at 1/256, 16 GiB at 1.
	void Make(const char *spec)
	{
		struct aml_emu_error error = {};
		ASSERT_EQ(aml_emu_create(&t, spec, &error), 0) << error.reason;
		dev = aml_topology_device(t, 1);
		ASSERT_EQ(aml_area_device_init(&area, t, &dev, 1, AML_AREA_BIND,
		                               nullptr),
		          0);
		made = true;
	}
	void SetUp() override
	{
		Make("knl-flat;scale=1/256");
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
	struct aml_arena_stats Stats(const struct aml_arena *a)
	{
		struct aml_arena_stats s = {};
		EXPECT_EQ(aml_arena_stats(a, &s), 0);
		return s;
	}
	struct aml_topology *t = nullptr;
	const struct aml_device *dev = nullptr;
	AML_AREA_DEVICE_DECL(area);
	bool made = false;
};

TEST_F(ArenaScalable, InitRejectsBadArgumentsAndLiveStorage)
{
	AML_ARENA_SCALABLE_DECL(s);
	EXPECT_EQ(aml_arena_scalable_init(nullptr, &area.base), AML_EINVAL);
	EXPECT_EQ(aml_arena_scalable_init(&s, nullptr), AML_EINVAL);
	aml_arena_scalable_fini(&s); // finalised storage: a no-op
	ASSERT_EQ(aml_arena_scalable_init(&s, &area.base), 0);
	void *p = aml_arena_malloc(&s.base, 100);
	ASSERT_NE(p, nullptr);
	// Storage that holds a live arena is refused and left working.
	EXPECT_EQ(aml_arena_scalable_init(&s, &area.base), AML_EINVAL);
	EXPECT_EQ(aml_arena_free(&s.base, p), 0);
	aml_arena_scalable_fini(&s);
	aml_arena_scalable_fini(&s);

	struct aml_arena *out = reinterpret_cast<struct aml_arena *>(1);
	EXPECT_EQ(aml_arena_scalable_create(&out, nullptr), AML_EINVAL);
	EXPECT_EQ(out, nullptr);
	EXPECT_EQ(aml_arena_scalable_create(nullptr, &area.base), AML_EINVAL);
	aml_arena_scalable_destroy(nullptr);
	aml_arena_scalable_destroy(&out);
	ASSERT_EQ(aml_arena_pool_create(&out, &area.base, 64, 0, 0), 0);
	aml_arena_scalable_destroy(&out); // another kind: left alone
	EXPECT_NE(out, nullptr);
	aml_arena_pool_destroy(&out);
	EXPECT_EQ(Resident(), 0u);
}

// Thread A allocates, thread B checks and frees, for many rounds, each
// with new threads; then every span is empty and at most one per class
// is kept, and fini gives the rest back.
TEST_F(ArenaScalable, BlocksFreedByAnotherThreadComeBack)
{
	AML_ARENA_SCALABLE_DECL(s);
	ASSERT_EQ(aml_arena_scalable_init(&s, &area.base), 0);
	const size_t sizes[] = {16, 24, 64, 100, 256, 1000, 4096, 8192};
	for (int round = 0; round < 20; round++) {
		std::vector<unsigned char *> blocks;
		std::thread a([&] {
			for (int i = 0; i < 600; i++) {
				size_t n = sizes[i % 8];
				auto *p = static_cast<unsigned char *>(
				        aml_arena_malloc(&s.base, n));
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
				ASSERT_EQ(aml_arena_free(&s.base, blocks[i]),
				          0);
				// Freed once: a second free is refused.
				ASSERT_EQ(aml_arena_free(&s.base, blocks[i]),
				          AML_EINVAL);
			}
		});
		b.join();
	}
	// Both threads exited: no block is out, one empty span per class.
	EXPECT_LE(Stats(&s.base).mapped_bytes, 8 * kSpan);
	aml_arena_scalable_fini(&s);
	EXPECT_EQ(Resident(), 0u);
}

// An area over another that hands out spans from a pool of consecutive
// ones (so that a thread's memory of spans, by span number, holds each)
// and maps the last span given back again first, as an area may: the
// address a span was at then holds a span of another class, whatever the
// kernel would have chosen.
struct ReuseArea {
	static constexpr size_t kPool = 8;
	struct aml_area base;
	const struct aml_area *inner;
	char *raw = nullptr;
	char *next = nullptr;
	char *end = nullptr;
	std::vector<void *> kept;

	bool Init(const struct aml_area *over)
	{
		inner = over;
		raw = static_cast<char *>(
		        aml_area_mmap(inner, (kPool + 1) * kSpan, nullptr));
		if (raw == nullptr)
			return false;
		uintptr_t first = ((uintptr_t)raw + kSpan - 1) & ~(kSpan - 1);
		next = reinterpret_cast<char *>(first);
		end = next + kPool * kSpan;
		return true;
	}
	static void *Map(const struct aml_area *a,
	                 size_t size,
	                 const struct aml_area_mmap_options *opts)
	{
		auto *self = static_cast<ReuseArea *>(a->data);
		if (size != kSpan)
			return aml_area_mmap(self->inner, size, opts);
		if (!self->kept.empty()) {
			void *p = self->kept.back();
			self->kept.pop_back();
			return p;
		}
		if (self->next == self->end) {
			aml_errno = AML_ENOMEM;
			return nullptr;
		}
		void *p = self->next;
		self->next += kSpan;
		return p;
	}
	static int Unmap(const struct aml_area *a, void *p, size_t size)
	{
		auto *self = static_cast<ReuseArea *>(a->data);
		if (size != kSpan)
			return aml_area_munmap(self->inner, p, size);
		self->kept.push_back(p);
		return 0;
	}
	void Fini()
	{
		if (raw == nullptr)
			return;
		EXPECT_EQ(aml_area_munmap(inner, raw, (kPool + 1) * kSpan), 0);
		raw = nullptr;
	}
};

const struct aml_area_ops kReuseOps = {
        .map = ReuseArea::Map,
        .unmap = ReuseArea::Unmap,
        .print = nullptr,
};

// A thread remembers the spans it freed into, with their class. A span
// that empties goes back to the area, which may map the same address
// again for a span of another class: a free there must push the block on
// that class's list, not the remembered one (else malloc(64) would hand
// out a 16-byte block).
TEST_F(ArenaScalable, SpanRemadeForAnotherClassAtItsAddress)
{
	ReuseArea reuse;
	reuse.base = {&kReuseOps, &reuse};
	ASSERT_TRUE(reuse.Init(&area.base));
	AML_ARENA_SCALABLE_DECL(s);
	ASSERT_EQ(aml_arena_scalable_init(&s, &reuse.base), 0);
	auto span_of = [](const void *p) {
		return reinterpret_cast<uintptr_t>(p) & ~(uintptr_t)(kSpan - 1);
	};
	// Four spans of 64-byte blocks, all freed (into them, and so into
	// this thread's memory of spans): the emptied ones but one go back
	// to the area.
	std::vector<void *> big;
	std::vector<uintptr_t> spans;
	while (spans.size() < 4) {
		void *p = aml_arena_malloc(&s.base, 64);
		ASSERT_NE(p, nullptr);
		big.push_back(p);
		if (std::find(spans.begin(), spans.end(), span_of(p)) ==
		    spans.end())
			spans.push_back(span_of(p));
	}
	for (void *p : big)
		ASSERT_EQ(aml_arena_free(&s.base, p), 0);
	ASSERT_FALSE(reuse.kept.empty());
	void *dropped = reuse.kept.back();
	// The next span, of 16-byte blocks, is mapped where that one was.
	std::vector<void *> small;
	void *again = nullptr;
	for (int i = 0; i < 4096 && again == nullptr; i++) {
		void *p = aml_arena_malloc(&s.base, 16);
		ASSERT_NE(p, nullptr);
		small.push_back(p);
		if (span_of(p) == (uintptr_t)dropped)
			again = p;
	}
	ASSERT_NE(again, nullptr);
	ASSERT_EQ(aml_arena_free(&s.base, again), 0);
	small.erase(std::find(small.begin(), small.end(), again));
	// The block went back as a 16-byte one.
	void *q = aml_arena_malloc(&s.base, 64);
	ASSERT_NE(q, nullptr);
	EXPECT_NE(q, again);
	size_t usable = 0;
	ASSERT_EQ(aml_arena_usable_size(&s.base, q, &usable), 0);
	EXPECT_GE(usable, 64u);
	std::memset(q, 0xa5, 64);
	ASSERT_EQ(aml_arena_free(&s.base, q), 0);
	void *r = aml_arena_malloc(&s.base, 16);
	EXPECT_EQ(r, again);
	small.push_back(r);
	for (void *p : small)
		ASSERT_EQ(aml_arena_free(&s.base, p), 0);
	aml_arena_scalable_fini(&s);
	reuse.Fini();
	EXPECT_EQ(Resident(), 0u);
}

// Two threads at once, each freeing what the other allocated.
TEST_F(ArenaScalable, TwoThreadsExchangeBlocks)
{
	AML_ARENA_SCALABLE_DECL(s);
	ASSERT_EQ(aml_arena_scalable_init(&s, &area.base), 0);
	std::mutex m;
	std::vector<void *> mailbox[2];
	auto work = [&](int me) {
		std::mt19937 rng(me + 1);
		for (int i = 0; i < 20000; i++) {
			size_t n = 1 + rng() % 2048;
			void *p = aml_arena_malloc(&s.base, n);
			ASSERT_NE(p, nullptr);
			std::memset(p, me, n);
			void *theirs = nullptr;
			{
				std::lock_guard<std::mutex> g(m);
				mailbox[1 - me].push_back(p);
				if (!mailbox[me].empty()) {
					theirs = mailbox[me].back();
					mailbox[me].pop_back();
				}
			}
			if (theirs != nullptr) {
				ASSERT_EQ(aml_arena_free(&s.base, theirs), 0);
			}
		}
	};
	std::thread t0(work, 0), t1(work, 1);
	t0.join();
	t1.join();
	// The rest, from a thread whose cache goes back when it exits.
	std::thread rest([&] {
		for (auto &box : mailbox) {
			for (void *p : box)
				ASSERT_EQ(aml_arena_free(&s.base, p), 0);
		}
	});
	rest.join();
	EXPECT_LE(Stats(&s.base).mapped_bytes,
	          (size_t)AML_ARENA_SCALABLE_CLASSES * kSpan);
	aml_arena_scalable_fini(&s);
	EXPECT_EQ(Resident(), 0u);
}

// A thread's cache holds blocks (and so spans) until the thread exits.
TEST_F(ArenaScalable, ThreadExitHandsItsCacheBack)
{
	AML_ARENA_SCALABLE_DECL(s);
	ASSERT_EQ(aml_arena_scalable_init(&s, &area.base), 0);
	std::mutex m;
	std::condition_variable cv;
	int step = 0;
	std::thread worker([&] {
		std::vector<void *> blocks;
		for (int i = 0; i < 3000; i++) // three spans of 64 B blocks
			blocks.push_back(aml_arena_malloc(&s.base, 64));
		for (void *p : blocks)
			ASSERT_EQ(aml_arena_free(&s.base, p), 0);
		std::unique_lock<std::mutex> lock(m);
		step = 1;
		cv.notify_all();
		cv.wait(lock, [&] { return step == 2; });
	});
	{
		std::unique_lock<std::mutex> lock(m);
		cv.wait(lock, [&] { return step == 1; });
		// The cache keeps a span with blocks besides the empty one.
		EXPECT_GT(Stats(&s.base).mapped_bytes, kSpan);
		step = 2;
		cv.notify_all();
	}
	worker.join();
	EXPECT_EQ(Stats(&s.base).mapped_bytes, kSpan);
	aml_arena_scalable_fini(&s);
	EXPECT_EQ(Resident(), 0u);
}

// fini takes the caches of threads still alive; they exit afterwards.
TEST_F(ArenaScalable, FiniWhileThreadsHoldCaches)
{
	auto *s = new struct aml_arena_scalable;
	ASSERT_EQ(aml_arena_scalable_init(s, &area.base), 0);
	std::mutex m;
	std::condition_variable cv;
	int used = 0;
	bool finalised = false;
	std::vector<std::thread> threads;
	for (int i = 0; i < 3; i++)
		threads.emplace_back([&] {
			void *p = aml_arena_malloc(&s->base, 48);
			EXPECT_NE(p, nullptr);
			EXPECT_EQ(aml_arena_free(&s->base, p), 0);
			std::unique_lock<std::mutex> lock(m);
			used++;
			cv.notify_all();
			cv.wait(lock, [&] { return finalised; });
		});
	{
		std::unique_lock<std::mutex> lock(m);
		cv.wait(lock, [&] { return used == 3; });
	}
	aml_arena_scalable_fini(s);
	delete s; // the exiting threads must not touch it
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
TEST_F(ArenaScalable, MoreArenasThanCacheSlots)
{
	constexpr int kArenas = 12;
	std::vector<struct aml_arena *> arenas(kArenas);
	for (auto &a : arenas)
		ASSERT_EQ(aml_arena_scalable_create(&a, &area.base), 0);
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
		}
		// A new arena in place of the first.
		aml_arena_scalable_destroy(&arenas[0]);
		ASSERT_EQ(aml_arena_scalable_create(&arenas[0], &area.base), 0);
	}
	for (auto &a : arenas)
		aml_arena_scalable_destroy(&a);
	EXPECT_EQ(Resident(), 0u);
}

// Upstream AML's workflow: 2^9 live blocks of random sizes from 4 KiB to
// 16 MiB, each replaced by another many times; on a 16 GiB device, so
// that the live set (8 GiB at most) always fits.
TEST_F(ArenaScalable, ServesRandomBlocksFrom4KiBTo16MiB)
{
	aml_area_device_fini(&area);
	aml_topology_destroy(&t);
	made = false;
	Make("knl-flat");
	AML_ARENA_SCALABLE_DECL(s);
	ASSERT_EQ(aml_arena_scalable_init(&s, &area.base), 0);
	std::mt19937_64 rng(2021);
	std::uniform_int_distribution<size_t> size(4 * kKiB, 16 * kMiB);
	struct Block {
		unsigned char *p;
		size_t size;
	};
	std::vector<Block> live(512);
	auto make = [&](Block &b, unsigned char tag) {
		b.size = size(rng);
		b.p = static_cast<unsigned char *>(
		        aml_arena_malloc(&s.base, b.size));
		ASSERT_NE(b.p, nullptr)
		        << b.size << ": " << aml_errname(aml_errno);
		b.p[0] = b.p[b.size - 1] = tag;
	};
	for (size_t i = 0; i < live.size(); i++)
		make(live[i], (unsigned char)i);
	for (int op = 0; op < 4096; op++) {
		size_t i = rng() % live.size();
		ASSERT_EQ(live[i].p[0], (unsigned char)i);
		ASSERT_EQ(live[i].p[live[i].size - 1], (unsigned char)i);
		ASSERT_EQ(aml_arena_free(&s.base, live[i].p), 0);
		make(live[i], (unsigned char)i);
	}
	for (size_t i = 0; i < live.size(); i++) {
		ASSERT_EQ(live[i].p[0], (unsigned char)i);
		ASSERT_EQ(aml_arena_free(&s.base, live[i].p), 0);
	}
	aml_arena_scalable_fini(&s);
	EXPECT_EQ(Resident(), 0u);
}

// fork() while one thread refills and drains its caches under the arena's
// mutex and another starts and ends threads (the registry's lock): each
// child uses the arena, from a thread of its own too, and finalises it.
TEST_F(ArenaScalable, ForkWhileThreadsUseTheArena)
{
	AML_ARENA_SCALABLE_DECL(s);
	ASSERT_EQ(aml_arena_scalable_init(&s, &area.base), 0);
	std::atomic<bool> stop{false};
	std::atomic<int> bad{0};
	auto burst = [&](size_t seed) {
		std::vector<void *> blocks;
		for (size_t i = 0; i < 300; i++) {
			void *p = aml_arena_malloc(&s.base,
			                           1 + (seed + i * 97) % 9000);
			if (p == nullptr)
				bad++;
			blocks.push_back(p);
		}
		for (void *p : blocks)
			if (aml_arena_free(&s.base, p) != 0)
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
		void *big = aml_arena_malloc(&s.base, 3 * kMiB);
		CHILD_EXPECT(big != nullptr);
		CHILD_EXPECT(aml_arena_free(&s.base, big) == 0);
		aml_arena_scalable_fini(&s);
		return 0;
	};
	for (int i = 0; i < 30 && !HasFailure(); i++)
		EXPECT_TRUE(aml_testing::InChild(child)) << "fork " << i;
	stop = true;
	refiller.join();
	starter.join();
	EXPECT_EQ(bad.load(), 0);
	aml_arena_scalable_fini(&s);
	EXPECT_EQ(Resident(), 0u);
}

} // namespace
