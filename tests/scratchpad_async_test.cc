// SPDX-License-Identifier: BSD-3-Clause
// The scratchpad's asynchronous pulls and pushes on emulated knl-flat, on
// the seq and par engines: shared loads, request handles good for one
// wait, slots kept from eviction while a copy is in flight, the
// double-buffered loop of the header, threads sharing a scratchpad, and
// fini with copies in flight.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/scratchpad.h>

#include "tests/testing/scratchpad_fixture.h"

namespace
{

using aml_testing::Engine;
using aml_testing::ForEachCoord;
using aml_testing::Mark;
using aml_testing::Scratchpad;

TEST_F(Scratchpad, AsyncPullAndPushOnThePar)
{
	UseEngine(Engine::kPar);
	MakeArray({200, 300}, {50, 64}); // 4 x 5 tiles
	size_t n = aml_tiling_ntiles(&tiling.base);
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, n),
	          0);
	std::vector<size_t> slot(n);
	std::vector<struct aml_scratchpad_request *> req(n);
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(
		        aml_scratchpad_async_pull(&sp, i, 0, &slot[i], &req[i]),
		        0);
	// A second pull of a tile in flight shares its load; a synchronous
	// pull joins it too.
	size_t again, sync;
	struct aml_scratchpad_request *r2 = nullptr;
	ASSERT_EQ(aml_scratchpad_async_pull(&sp, 0, 0, &again, &r2), 0);
	EXPECT_EQ(again, slot[0]);
	ASSERT_EQ(aml_scratchpad_pull(&sp, 1, 0, &sync), 0);
	EXPECT_EQ(sync, slot[1]);
	CheckSlot(&sp, sync, 1);
	EXPECT_EQ(Stats(&sp).copies, n);
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(aml_scratchpad_wait(&sp, &req[i]), 0);
	ASSERT_EQ(aml_scratchpad_wait(&sp, &r2), 0);
	ASSERT_EQ(aml_scratchpad_release(&sp, again), 0);
	ASSERT_EQ(aml_scratchpad_release(&sp, sync), 0);
	for (size_t i = 0; i < n; i++)
		CheckSlot(&sp, slot[i], i, 3);
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(aml_scratchpad_async_push(&sp, slot[i], &req[i]), 0);
	// In flight: the slot is busy for another push, and not evictable.
	EXPECT_EQ(aml_scratchpad_push(&sp, slot[0]), AML_EBUSY);
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ(aml_scratchpad_wait(&sp, &req[i]), 0);
		ASSERT_EQ(aml_scratchpad_release(&sp, slot[i]), 0);
	}
	CheckArray(3);
	struct aml_scratchpad_stats s = Stats(&sp);
	EXPECT_EQ(s.misses, n);
	EXPECT_EQ(s.hits, 2u);
	EXPECT_EQ(s.pushes, n);
	EXPECT_EQ(s.copies, 2 * n);
	aml_scratchpad_fini(&sp);
}

// A request handle is good for one wait: a copy of it waited again, and a
// made-up pointer, are AML_EINVAL and change nothing, whether the request
// was a load, a hit (complete at once), a push, or one of two pulls that
// share a load.
TEST_F(Scratchpad, StaleRequestsAreRefused)
{
	UseEngine(Engine::kPar);
	MakeArray({256}, {32});
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, 2),
	          0);
	auto stale = [&](struct aml_scratchpad_request *kept) {
		struct aml_scratchpad_stats before = Stats(&sp);
		struct aml_scratchpad_request *copy = kept;
		EXPECT_EQ(aml_scratchpad_wait(&sp, &copy), AML_EINVAL);
		struct aml_scratchpad_stats after = Stats(&sp);
		EXPECT_EQ(0, std::memcmp(&before, &after, sizeof(before)));
	};
	size_t s1, s2, s3;
	struct aml_scratchpad_request *r1 = nullptr, *r2 = nullptr,
	                              *r3 = nullptr;
	// Two pulls of one tile share its load, each with its own handle.
	ASSERT_EQ(aml_scratchpad_async_pull(&sp, 1, 0, &s1, &r1), 0);
	ASSERT_EQ(aml_scratchpad_async_pull(&sp, 1, 0, &s2, &r2), 0);
	EXPECT_EQ(s1, s2);
	EXPECT_NE(r1, r2);
	struct aml_scratchpad_request *k1 = r1, *k2 = r2;
	ASSERT_EQ(aml_scratchpad_wait(&sp, &r1), 0);
	stale(k1);
	ASSERT_EQ(aml_scratchpad_wait(&sp, &r2), 0);
	stale(k2);
	stale(k1);
	// A hit: complete at once, still one wait.
	ASSERT_EQ(aml_scratchpad_async_pull(&sp, 1, 0, &s3, &r3), 0);
	EXPECT_EQ(s3, s1);
	struct aml_scratchpad_request *k3 = r3;
	ASSERT_EQ(aml_scratchpad_wait(&sp, &r3), 0);
	stale(k3);
	CheckSlot(&sp, s1, 1);
	// A push.
	ASSERT_EQ(aml_scratchpad_async_push(&sp, s1, &r1), 0);
	k1 = r1;
	ASSERT_EQ(aml_scratchpad_wait(&sp, &r1), 0);
	stale(k1);
	int local = 0;
	stale(reinterpret_cast<struct aml_scratchpad_request *>(&local));
	stale(reinterpret_cast<struct aml_scratchpad_request *>(uintptr_t(1)));
	for (size_t s : {s1, s2, s3})
		ASSERT_EQ(aml_scratchpad_release(&sp, s), 0);
	// Still works: every slot can be pulled into.
	size_t a, b;
	ASSERT_EQ(aml_scratchpad_pull(&sp, 5, 0, &a), 0);
	ASSERT_EQ(aml_scratchpad_pull(&sp, 6, 0, &b), 0);
	CheckSlot(&sp, a, 5);
	CheckSlot(&sp, b, 6);
	ASSERT_EQ(aml_scratchpad_release(&sp, a), 0);
	ASSERT_EQ(aml_scratchpad_release(&sp, b), 0);
	aml_scratchpad_fini(&sp);
}

TEST_F(Scratchpad, AnInFlightCopyKeepsItsSlotFromEviction)
{
	MakeArray({256}, {32});
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, 1),
	          0);
	size_t s, out;
	struct aml_scratchpad_request *r = nullptr;
	ASSERT_EQ(aml_scratchpad_async_pull(&sp, 0, 0, &s, &r), 0);
	// Load in flight: push refused, and release does not free the slot.
	EXPECT_EQ(aml_scratchpad_push(&sp, s), AML_EBUSY);
	ASSERT_EQ(aml_scratchpad_release(&sp, s), 0);
	EXPECT_EQ(aml_scratchpad_pull(&sp, 1, 0, &out), AML_EBUSY);
	ASSERT_EQ(aml_scratchpad_wait(&sp, &r), 0); // valid after release
	ASSERT_EQ(aml_scratchpad_pull(&sp, 1, 0, &out), 0);
	EXPECT_EQ(out, s);
	ASSERT_EQ(aml_scratchpad_async_push(&sp, out, &r), 0);
	ASSERT_EQ(aml_scratchpad_release(&sp, out), 0);
	EXPECT_EQ(aml_scratchpad_pull(&sp, 2, 0, &out), AML_EBUSY);
	ASSERT_EQ(aml_scratchpad_wait(&sp, &r), 0);
	ASSERT_EQ(aml_scratchpad_pull(&sp, 2, 0, &out), 0);
	ASSERT_EQ(aml_scratchpad_release(&sp, out), 0);
	aml_scratchpad_fini(&sp);
}

// The loop of the header: pull tile i + 1 while computing on tile i.
void DoubleBuffered(Scratchpad *f)
{
	f->MakeArray({300, 200}, {64, 64}); // 5 x 4 tiles, ragged
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &f->tiling.base, &f->fast.base,
	                              f->dma, 2),
	          0);
	size_t n = aml_tiling_ntiles(&f->tiling.base);
	std::vector<int> computed(n, 0);
	size_t cur = 0, next = 0;
	struct aml_scratchpad_request *rcur = nullptr, *rnext = nullptr;
	ASSERT_EQ(aml_scratchpad_async_pull(&sp, 0, 0, &cur, &rcur), 0);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n) {
			ASSERT_EQ(aml_scratchpad_async_pull(&sp, i + 1, 0,
			                                    &next, &rnext),
			          0);
		}
		ASSERT_EQ(aml_scratchpad_wait(&sp, &rcur), 0);
		// Compute: double every element of the tile, in the slot.
		struct aml_layout sl;
		ASSERT_EQ(aml_scratchpad_slot_layout(&sp, cur, &sl), 0);
		size_t tile;
		ASSERT_EQ(aml_scratchpad_slot_tile(&sp, cur, &tile), 0);
		ASSERT_EQ(tile, i);
		uint32_t *p = static_cast<uint32_t *>(
		        aml_scratchpad_slot_ptr(&sp, cur));
		for (size_t k = 0; k < aml_layout_nelements(&sl); k++)
			p[k] *= 2;
		computed[i]++;
		ASSERT_EQ(aml_scratchpad_mark_dirty(&sp, cur), 0);
		ASSERT_EQ(aml_scratchpad_release(&sp, cur), 0);
		cur = next;
		rcur = rnext;
		rnext = nullptr;
	}
	ASSERT_EQ(aml_scratchpad_flush(&sp), 0);
	for (size_t i = 0; i < n; i++)
		EXPECT_EQ(computed[i], 1) << "tile " << i;
	ForEachCoord(f->dims, [&](const size_t *c) {
		ASSERT_EQ(*f->At(c), 2 * Mark(c, 2));
	});
	struct aml_scratchpad_stats s = f->Stats(&sp);
	EXPECT_EQ(s.misses, n);
	EXPECT_EQ(s.hits, 0u);
	EXPECT_EQ(s.writebacks, n); // n - 2 by eviction, 2 by the flush
	EXPECT_EQ(s.evictions, n - 2);
	aml_scratchpad_fini(&sp);
}

TEST_F(Scratchpad, DoubleBufferedLoopOnSeq)
{
	DoubleBuffered(this);
}

TEST_F(Scratchpad, DoubleBufferedLoopOnPar)
{
	UseEngine(Engine::kPar);
	DoubleBuffered(this);
}

TEST_F(Scratchpad, ThreadsSharingAScratchpad)
{
	UseEngine(Engine::kPar);
	MakeArray({4096}, {64}); // 64 tiles
	size_t n = aml_tiling_ntiles(&tiling.base);
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, 6),
	          0);
	std::atomic<int> bad{0};
	std::vector<std::thread> threads;
	for (unsigned w = 0; w < 3; w++) {
		threads.emplace_back([&, w] {
			for (size_t k = 0; k < 300; k++) {
				size_t id = (k * 7 + w * 13) % n, s;
				struct aml_scratchpad_request *r = nullptr;
				int err = (k % 2) ? aml_scratchpad_pull(&sp, id,
				                                        0, &s)
				                  : aml_scratchpad_async_pull(
				                            &sp, id, 0, &s, &r);
				if (err == AML_EBUSY)
					continue;
				if (err != 0 ||
				    (r != nullptr &&
				     aml_scratchpad_wait(&sp, &r) != 0)) {
					bad++;
					continue;
				}
				const uint32_t *p = static_cast<uint32_t *>(
				        aml_scratchpad_slot_ptr(&sp, s));
				size_t c = id * 64;
				if (p[0] != Mark(&c, 1))
					bad++;
				if (aml_scratchpad_release(&sp, s) != 0)
					bad++;
			}
		});
	}
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(bad.load(), 0);
	struct aml_scratchpad_stats s = Stats(&sp);
	EXPECT_EQ(s.pulls, s.hits + s.misses);
	aml_scratchpad_fini(&sp);
}

TEST_F(Scratchpad, FiniWaitsForCopiesAndWritesBackDirtySlots)
{
	UseEngine(Engine::kPar);
	MakeArray({1024}, {256});
	struct aml_scratchpad *sp = nullptr;
	ASSERT_EQ(aml_scratchpad_create(&sp, &tiling.base, &fast.base, dma, 2),
	          0);
	size_t a, b;
	struct aml_scratchpad_request *ra = nullptr, *rb = nullptr;
	ASSERT_EQ(aml_scratchpad_pull(sp, 0, AML_SCRATCHPAD_DIRTY, &a), 0);
	static_cast<uint32_t *>(aml_scratchpad_slot_ptr(sp, a))[0] = 99;
	ASSERT_EQ(aml_scratchpad_async_pull(sp, 1, 0, &b, &rb), 0);
	ASSERT_EQ(aml_scratchpad_async_push(sp, a, &ra), 0);
	// Neither request waited, nothing released: destroy cleans up.
	aml_scratchpad_destroy(&sp);
	EXPECT_EQ(sp, nullptr);
	EXPECT_EQ(static_cast<uint32_t *>(src)[0], 99u);
	aml_scratchpad_destroy(&sp); // &NULL: no-op
	aml_scratchpad_destroy(nullptr);
}

} // namespace
