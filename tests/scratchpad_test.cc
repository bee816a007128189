// SPDX-License-Identifier: BSD-3-Clause
// The scratchpad on emulated knl-flat, synchronously: source array on DDR,
// slots on MCDRAM. Round trips of every tile of 1d and 2d tilings (ragged
// borders, both border rules), placement, hits without copies, output
// tiles, LRU eviction with write-back, pins and AML_EBUSY, storage inside
// a struct, synchronous copies through a seq engine's copier, and on the
// memcpy copier, whose full tiles the scratchpad copies itself. Asynchronous
// use: scratchpad_async_test.cc; bad input and failures:
// scratchpad_failure_test.cc.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <list>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/copier.h>
#include <aml/dma/seq.h>
#include <aml/scratchpad.h>

#include "tests/testing/counting_copier.h"
#include "tests/testing/scratchpad_fixture.h"

namespace
{

using aml_testing::Engine;
using aml_testing::ForEachCoord;
using aml_testing::Mark;
using aml_testing::Scratchpad;

// Pull every tile, check it, add 7 in the slot, push, release; the array
// then holds every element plus 7, once.
void RoundTrip(Scratchpad *f, struct aml_scratchpad *sp)
{
	size_t n = aml_tiling_ntiles(&f->tiling.base);
	AML_TILING_FOREACH (id, &f->tiling.base) {
		size_t slot = SIZE_MAX;
		ASSERT_EQ(aml_scratchpad_pull(sp, id, 0, &slot), 0);
		f->CheckSlot(sp, slot, id, 7);
		ASSERT_EQ(aml_scratchpad_push(sp, slot), 0);
		ASSERT_EQ(aml_scratchpad_release(sp, slot), 0);
	}
	f->CheckArray(7);
	struct aml_scratchpad_stats s = f->Stats(sp);
	EXPECT_EQ(s.pulls, n);
	EXPECT_EQ(s.misses, n);
	EXPECT_EQ(s.pushes, n);
	EXPECT_EQ(s.copies, 2 * n);
	EXPECT_EQ(s.writebacks, 0u); // pushed: clean when evicted
}

TEST_F(Scratchpad, RoundTripEveryTile1dRagged)
{
	MakeArray({1000}, {64}); // 16 tiles, the last of 40 elements
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, 3),
	          0);
	RoundTrip(this, &sp);
	aml_scratchpad_fini(&sp);
}

TEST_F(Scratchpad, RoundTripEveryTile2dRaggedResize)
{
	MakeArray({70, 45}, {16, 8}); // 5 x 6 tiles, ragged on both axes
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, 4),
	          0);
	RoundTrip(this, &sp);
	aml_scratchpad_fini(&sp);
}

TEST_F(Scratchpad, RoundTripEveryTile2dPitchedPad)
{
	// Pitch 48 >= 6 tiles of 8 columns: room for the padding.
	MakeArray({37, 45}, {8, 8}, AML_TILING_PAD, 48);
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, 2),
	          0);
	RoundTrip(this, &sp);
	aml_scratchpad_fini(&sp);
}

TEST_F(Scratchpad, RoundTripOnTheParEngine)
{
	UseEngine(Engine::kPar);
	MakeArray({300, 300}, {64, 100});
	struct aml_scratchpad *sp = nullptr;
	ASSERT_EQ(aml_scratchpad_create(&sp, &tiling.base, &fast.base, dma, 2),
	          0);
	RoundTrip(this, sp);
	aml_scratchpad_destroy(&sp);
	EXPECT_EQ(sp, nullptr);
}

TEST_F(Scratchpad, SlotsLiveOnMcdramAndTheSourceOnDdr)
{
	MakeArray({512, 512}, {128, 128});
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, 3),
	          0);
	int hbm = aml_topology_index_of(t, mcdram);
	int dram = aml_topology_index_of(t, ddr);
	ASSERT_NE(hbm, dram);
	for (size_t s = 0; s < 3; s++) {
		char *p = static_cast<char *>(aml_scratchpad_slot_ptr(&sp, s));
		ASSERT_NE(p, nullptr);
		// A page is placed at its first touch (as on Linux).
		std::memset(p, 0, 128 * 128 * 4);
		EXPECT_EQ(Device(p), hbm) << "slot " << s;
		EXPECT_EQ(Device(p + 128 * 128 * 4 - 1), hbm) << "slot " << s;
	}
	AML_TILING_FOREACH (id, &tiling.base)
		EXPECT_EQ(Device(aml_tiling_tile_ptr(&tiling.base, id)), dram);
	// A pull lands the tile on MCDRAM, and the copy is charged to the
	// emulated clock.
	size_t slot;
	ASSERT_EQ(aml_scratchpad_pull(&sp, 5, 0, &slot), 0);
	EXPECT_EQ(Device(aml_scratchpad_slot_ptr(&sp, slot)), hbm);
	CheckSlot(&sp, slot, 5);
	ASSERT_EQ(aml_scratchpad_release(&sp, slot), 0);
	aml_scratchpad_fini(&sp);
}

TEST_F(Scratchpad, HitsCostNoCopy)
{
	MakeArray({256}, {32});
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, 2),
	          0);
	size_t a, b, c;
	ASSERT_EQ(aml_scratchpad_pull(&sp, 3, 0, &a), 0);
	ASSERT_EQ(aml_scratchpad_pull(&sp, 3, 0, &b), 0); // pinned twice
	EXPECT_EQ(a, b);
	ASSERT_EQ(aml_scratchpad_release(&sp, a), 0);
	ASSERT_EQ(aml_scratchpad_release(&sp, a), 0);
	EXPECT_EQ(aml_scratchpad_release(&sp, a), AML_EPERM);
	ASSERT_EQ(aml_scratchpad_pull(&sp, 3, 0, &c), 0); // cached, unpinned
	EXPECT_EQ(c, a);
	CheckSlot(&sp, c, 3);
	struct aml_scratchpad_request *r = nullptr;
	ASSERT_EQ(aml_scratchpad_async_pull(&sp, 3, 0, &c, &r), 0);
	ASSERT_NE(r, nullptr);
	EXPECT_EQ(aml_scratchpad_wait(&sp, &r), 0);
	EXPECT_EQ(r, nullptr);
	struct aml_scratchpad_stats s = Stats(&sp);
	EXPECT_EQ(s.pulls, 4u);
	EXPECT_EQ(s.hits, 3u);
	EXPECT_EQ(s.misses, 1u);
	EXPECT_EQ(s.copies, 1u);
	EXPECT_EQ(s.bytes_pulled, 32u * 4);
	aml_scratchpad_fini(&sp);
}

// An output tile is not read: an OVERWRITE pull that misses copies
// nothing, on both the synchronous and the asynchronous path, and the
// slot is written back like a dirty one.
TEST_F(Scratchpad, OverwritePullsLoadNothingAndAreWrittenBack)
{
	MakeArray({256}, {32});
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, 2),
	          0);
	auto fill = [&](size_t slot, uint32_t v) {
		uint32_t *p = static_cast<uint32_t *>(
		        aml_scratchpad_slot_ptr(&sp, slot));
		for (size_t i = 0; i < 32; i++)
			p[i] = v;
	};
	size_t a = SIZE_MAX, b = SIZE_MAX, c = SIZE_MAX;
	ASSERT_EQ(aml_scratchpad_pull(&sp, 2, AML_SCRATCHPAD_OVERWRITE, &a), 0);
	fill(a, 5);
	ASSERT_EQ(aml_scratchpad_release(&sp, a), 0);
	struct aml_scratchpad_request *r = nullptr;
	ASSERT_EQ(aml_scratchpad_async_pull(&sp, 5, AML_SCRATCHPAD_OVERWRITE,
	                                    &b, &r),
	          0);
	ASSERT_EQ(aml_scratchpad_wait(&sp, &r), 0);
	EXPECT_NE(a, b);
	fill(b, 9);
	ASSERT_EQ(aml_scratchpad_release(&sp, b), 0);
	struct aml_scratchpad_stats s = Stats(&sp);
	EXPECT_EQ(s.misses, 2u);
	EXPECT_EQ(s.copies, 0u);
	EXPECT_EQ(s.bytes_pulled, 0u);
	// A hit keeps what the slot holds.
	ASSERT_EQ(aml_scratchpad_pull(&sp, 2, AML_SCRATCHPAD_OVERWRITE, &c), 0);
	EXPECT_EQ(c, a);
	EXPECT_EQ(static_cast<uint32_t *>(aml_scratchpad_slot_ptr(&sp, c))[31],
	          5u);
	ASSERT_EQ(aml_scratchpad_release(&sp, c), 0);
	EXPECT_EQ(aml_scratchpad_pull(&sp, 3, 4u, &c), AML_EINVAL);
	ASSERT_EQ(aml_scratchpad_flush(&sp), 0);
	s = Stats(&sp);
	EXPECT_EQ(s.writebacks, 2u);
	EXPECT_EQ(s.bytes_pushed, 2u * 32 * 4);
	for (size_t i = 0; i < 256; i++) {
		uint32_t want = i / 32 == 2   ? 5u
		                : i / 32 == 5 ? 9u
		                              : Mark(&i, 1);
		ASSERT_EQ(*At(&i), want) << "element " << i;
	}
	aml_scratchpad_fini(&sp);
}

TEST_F(Scratchpad, LruEvictsTheLeastRecentlyReleasedAndWritesBackDirty)
{
	MakeArray({256}, {32});
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, 2),
	          0);
	size_t s0, s1, s;
	ASSERT_EQ(aml_scratchpad_pull(&sp, 0, AML_SCRATCHPAD_DIRTY, &s0), 0);
	static_cast<uint32_t *>(aml_scratchpad_slot_ptr(&sp, s0))[0] = 42;
	ASSERT_EQ(aml_scratchpad_release(&sp, s0), 0);
	ASSERT_EQ(aml_scratchpad_pull(&sp, 1, 0, &s1), 0);
	ASSERT_NE(s0, s1);
	ASSERT_EQ(aml_scratchpad_release(&sp, s1), 0);
	// Touch tile 0 again: tile 1 is now the least recently released.
	ASSERT_EQ(aml_scratchpad_pull(&sp, 0, 0, &s), 0);
	ASSERT_EQ(aml_scratchpad_release(&sp, s), 0);
	size_t zero = 0;
	EXPECT_EQ(static_cast<uint32_t *>(src)[0], Mark(&zero, 1))
	        << "not written back before eviction";
	ASSERT_EQ(aml_scratchpad_pull(&sp, 2, 0, &s), 0);
	EXPECT_EQ(s, s1) << "tile 1 was evicted, not tile 0";
	size_t held;
	ASSERT_EQ(aml_scratchpad_slot_tile(&sp, s0, &held), 0);
	EXPECT_EQ(held, 0u);
	EXPECT_EQ(static_cast<uint32_t *>(src)[0], Mark(&zero, 1));
	ASSERT_EQ(aml_scratchpad_release(&sp, s), 0);
	// Now tile 0 (dirty) is the least recent: evicting it writes it back.
	ASSERT_EQ(aml_scratchpad_pull(&sp, 3, 0, &s), 0);
	EXPECT_EQ(s, s0);
	EXPECT_EQ(static_cast<uint32_t *>(src)[0], 42u);
	CheckSlot(&sp, s, 3);
	struct aml_scratchpad_stats st = Stats(&sp);
	EXPECT_EQ(st.evictions, 2u);
	EXPECT_EQ(st.writebacks, 1u);
	EXPECT_EQ(st.bytes_pushed, 32u * 4);
	ASSERT_EQ(aml_scratchpad_release(&sp, s), 0);
	aml_scratchpad_fini(&sp);
}

TEST_F(Scratchpad, PinnedSlotsAreNeverEvictedAndAllPinnedIsBusy)
{
	MakeArray({256}, {32});
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, 3),
	          0);
	size_t s[3];
	for (size_t i = 0; i < 3; i++)
		ASSERT_EQ(aml_scratchpad_pull(&sp, i, AML_SCRATCHPAD_DIRTY,
		                              &s[i]),
		          0);
	struct aml_scratchpad_stats before = Stats(&sp);
	size_t out = 1234;
	struct aml_scratchpad_request *r = nullptr;
	EXPECT_EQ(aml_scratchpad_pull(&sp, 5, 0, &out), AML_EBUSY);
	EXPECT_EQ(aml_scratchpad_async_pull(&sp, 5, 0, &out, &r), AML_EBUSY);
	EXPECT_EQ(out, 1234u);
	EXPECT_EQ(r, nullptr);
	// Hits still work while everything is pinned.
	ASSERT_EQ(aml_scratchpad_pull(&sp, 1, 0, &out), 0);
	EXPECT_EQ(out, s[1]);
	ASSERT_EQ(aml_scratchpad_release(&sp, out), 0);
	struct aml_scratchpad_stats after = Stats(&sp);
	EXPECT_EQ(after.misses, before.misses);
	EXPECT_EQ(after.evictions, 0u);
	EXPECT_EQ(after.copies, before.copies);
	// Free one: only that one is evicted, many times over.
	ASSERT_EQ(aml_scratchpad_release(&sp, s[1]), 0);
	for (size_t i = 3; i < 8; i++) {
		ASSERT_EQ(aml_scratchpad_pull(&sp, i, 0, &out), 0);
		EXPECT_EQ(out, s[1]);
		ASSERT_EQ(aml_scratchpad_release(&sp, out), 0);
	}
	for (size_t i : {0, 2}) {
		size_t held;
		ASSERT_EQ(aml_scratchpad_slot_tile(&sp, s[i], &held), 0);
		EXPECT_EQ(held, i);
		CheckSlot(&sp, s[i], i);
		ASSERT_EQ(aml_scratchpad_release(&sp, s[i]), 0);
	}
	EXPECT_EQ(Stats(&sp).writebacks, 1u); // tile 1, once
	aml_scratchpad_fini(&sp);
}

TEST_F(Scratchpad, DeclWorksInsideAStruct)
{
	MakeArray({128}, {16});
	struct Holder {
		int before;
		AML_SCRATCHPAD_DECL(sp);
		int after;
	} h = {};
	ASSERT_EQ(aml_scratchpad_init(&h.sp, &tiling.base, &fast.base, dma, 2),
	          0);
	EXPECT_EQ(aml_scratchpad_nslots(&h.sp), 2u);
	size_t s;
	ASSERT_EQ(aml_scratchpad_pull(&h.sp, 7, 0, &s), 0);
	CheckSlot(&h.sp, s, 7);
	ASSERT_EQ(aml_scratchpad_release(&h.sp, s), 0);
	aml_scratchpad_fini(&h.sp);
	aml_scratchpad_fini(&h.sp); // twice: a no-op
	EXPECT_EQ(h.before, 0);
	EXPECT_EQ(h.after, 0);
}

// A seq engine runs a scratchpad's synchronous copies (loads, pushes,
// write-backs) in the caller's thread without a dma request: they still
// go through the engine's copier, whose errors they report.
TEST_F(Scratchpad, SeqCopiesGoThroughTheEnginesCopier)
{
	MakeArray({64, 64}, {8, 16}); // tiles of 8 rows of 64 B
	aml_testing::CountingCopier counter;
	AML_DMA_SEQ_DECL(seq);
	ASSERT_EQ(aml_dma_seq_init_copier(&seq, &counter.copier), 0);
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, &seq.base,
	                              1),
	          0);
	const size_t tile_bytes = 8 * 16 * sizeof(uint32_t);
	size_t slot = SIZE_MAX;
	ASSERT_EQ(aml_scratchpad_pull(&sp, 5, AML_SCRATCHPAD_DIRTY, &slot), 0);
	EXPECT_EQ(counter.bytes, tile_bytes);
	CheckSlot(&sp, slot, 5, 1);
	ASSERT_EQ(aml_scratchpad_push(&sp, slot), 0);
	EXPECT_EQ(counter.bytes, 2 * tile_bytes);
	ASSERT_EQ(aml_scratchpad_mark_dirty(&sp, slot), 0);
	ASSERT_EQ(aml_scratchpad_release(&sp, slot), 0);

	// The write-back of tile 5 fails: the pull of tile 6 fails with the
	// copier's error and tile 5 stays cached and dirty.
	counter.fail = true;
	size_t other = SIZE_MAX;
	EXPECT_EQ(aml_scratchpad_pull(&sp, 6, 0, &other), AML_ENODEV);
	EXPECT_EQ(other, SIZE_MAX);
	size_t held = SIZE_MAX;
	ASSERT_EQ(aml_scratchpad_slot_tile(&sp, 0, &held), 0);
	EXPECT_EQ(held, 5u);
	struct aml_scratchpad_stats s = Stats(&sp);
	EXPECT_EQ(s.pulls, 1u);
	EXPECT_EQ(s.copies, 2u);
	EXPECT_EQ(s.writebacks, 0u);

	// Once the copier works again: write-back, then load.
	counter.fail = false;
	ASSERT_EQ(aml_scratchpad_pull(&sp, 6, 0, &other), 0);
	EXPECT_EQ(counter.bytes, 4 * tile_bytes);
	CheckSlot(&sp, other, 6);
	ASSERT_EQ(aml_scratchpad_release(&sp, other), 0);
	s = Stats(&sp);
	EXPECT_EQ(s.copies, 4u);
	EXPECT_EQ(s.writebacks, 1u);
	EXPECT_EQ(s.bytes_pulled, 2 * tile_bytes);
	EXPECT_EQ(s.bytes_pushed, 2 * tile_bytes);
	aml_scratchpad_fini(&sp);
	aml_dma_seq_fini(&seq);
	const size_t corner[] = {8, 16}, next[] = {8, 32}; // tiles 5 and 6
	EXPECT_EQ(*At(corner), Mark(corner, 2) + 1);
	EXPECT_EQ(*At(next), Mark(next, 2));
}

// A seq engine on the memcpy copier: the scratchpad copies the rows of a
// tile of a uniform tiling itself (slots.c), loads, pushes and write-backs.
void RoundTripOnMemcpy(Scratchpad *f, size_t nslots)
{
	AML_DMA_SEQ_DECL(seq);
	ASSERT_EQ(aml_dma_seq_init_copier(&seq, &aml_copier_memcpy), 0);
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &f->tiling.base, &f->fast.base,
	                              &seq.base, nslots),
	          0);
	RoundTrip(f, &sp);
	aml_scratchpad_fini(&sp);
	aml_dma_seq_fini(&seq);
}

TEST_F(Scratchpad, RoundTripOnMemcpy1dUniform)
{
	MakeArray({1024}, {64}); // one run per tile
	RoundTripOnMemcpy(this, 3);
}

TEST_F(Scratchpad, RoundTripOnMemcpy2dUniform)
{
	MakeArray({64, 96}, {16, 32}); // 4 x 3 tiles of 16 rows
	RoundTripOnMemcpy(this, 2);
}

TEST_F(Scratchpad, RoundTripOnMemcpy2dPitched)
{
	MakeArray({64, 96}, {16, 32}, AML_TILING_RESIZE, 100);
	RoundTripOnMemcpy(this, 2);
}

TEST_F(Scratchpad, RoundTripOnMemcpy2dRagged)
{
	MakeArray({60, 90}, {16, 32}); // border tiles: the general path
	RoundTripOnMemcpy(this, 2);
}

TEST_F(Scratchpad, RoundTripOnMemcpy3dUniform)
{
	// Two outer dimensions a tile: the plan, through aml_dma_plan_copy().
	MakeArray({8, 12, 16}, {4, 4, 8});
	RoundTripOnMemcpy(this, 2);
}

// A dirty tile evicted on the memcpy copier is written back by the rows
// copied in the scratchpad.
TEST_F(Scratchpad, WriteBackOnMemcpy)
{
	MakeArray({64, 64}, {8, 16});
	AML_DMA_SEQ_DECL(seq);
	ASSERT_EQ(aml_dma_seq_init_copier(&seq, &aml_copier_memcpy), 0);
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, &seq.base,
	                              1),
	          0);
	size_t slot = SIZE_MAX;
	ASSERT_EQ(aml_scratchpad_pull(&sp, 5, AML_SCRATCHPAD_DIRTY, &slot), 0);
	CheckSlot(&sp, slot, 5, 3);
	ASSERT_EQ(aml_scratchpad_release(&sp, slot), 0);
	ASSERT_EQ(aml_scratchpad_pull(&sp, 6, 0, &slot), 0); // evicts 5
	CheckSlot(&sp, slot, 6);
	ASSERT_EQ(aml_scratchpad_release(&sp, slot), 0);
	struct aml_scratchpad_stats s = Stats(&sp);
	EXPECT_EQ(s.writebacks, 1u);
	EXPECT_EQ(s.bytes_pushed, 8 * 16 * sizeof(uint32_t));
	aml_scratchpad_fini(&sp);
	aml_dma_seq_fini(&seq);
	const size_t corner[] = {8, 16}, last[] = {15, 31}, next[] = {8, 32};
	EXPECT_EQ(*At(corner), Mark(corner, 2) + 3);
	EXPECT_EQ(*At(last), Mark(last, 2) + 3);
	EXPECT_EQ(*At(next), Mark(next, 2));
}

// The index under churn: 37 slots over the tiles of @p f's array, pulled
// in an order that mixes hits, misses and evictions (entries shifted back
// in a hashed table as others leave). Every pull must hit exactly when an
// LRU model says so, and give the slot holding its tile.
void ChurnAgainstAnLruModel(Scratchpad *f, bool direct)
{
	size_t ntiles = aml_tiling_ntiles(&f->tiling.base);
	AML_DMA_SEQ_DECL(seq);
	ASSERT_EQ(aml_dma_seq_init_copier(&seq, &aml_copier_memcpy), 0);
	AML_SCRATCHPAD_DECL(sp);
	const size_t nslots = 37;
	ASSERT_EQ(aml_scratchpad_init(&sp, &f->tiling.base, &f->fast.base,
	                              &seq.base, nslots),
	          0);
	// Which of the index's two forms this run covers (a private field,
	// read so that the test cannot silently cover the other one).
	ASSERT_EQ(sp.hash_mask == 0, direct);
	std::list<size_t> lru; // most recent first
	size_t hits = 0;
	for (size_t i = 0; i < 4000; i++) {
		// Mostly a window of 48 tiles moving slowly, sometimes far.
		size_t tile = i % 5 == 0 ? (i * 7919) % ntiles
		                         : (i / 16 + (i * 31) % 48) % ntiles;
		auto it = std::find(lru.begin(), lru.end(), tile);
		bool hit = it != lru.end();
		if (hit)
			lru.erase(it);
		else if (lru.size() == nslots)
			lru.pop_back();
		lru.push_front(tile);
		hits += hit;
		size_t slot = SIZE_MAX;
		ASSERT_EQ(aml_scratchpad_pull(&sp, tile, 0, &slot), 0);
		size_t held = SIZE_MAX;
		ASSERT_EQ(aml_scratchpad_slot_tile(&sp, slot, &held), 0);
		ASSERT_EQ(held, tile) << "pull " << i;
		f->CheckSlot(&sp, slot, tile);
		ASSERT_EQ(aml_scratchpad_release(&sp, slot), 0);
		ASSERT_EQ(f->Stats(&sp).hits, hits) << "pull " << i;
	}
	EXPECT_GT(hits, 0u);
	EXPECT_LT(hits, 4000u);
	aml_scratchpad_fini(&sp);
	aml_dma_seq_fini(&seq);
}

// 1024 tiles: the table maps tiles directly.
TEST_F(Scratchpad, IndexFollowsAnLruModelUnderChurn)
{
	MakeArray({4096}, {4}); // 1024 tiles of 16 B
	ChurnAgainstAnLruModel(this, true);
}

// 2^17 tiles, more than a direct table takes: the table hashes.
TEST_F(Scratchpad, HashedIndexFollowsAnLruModelUnderChurn)
{
	MakeArray({size_t{1} << 17}, {1}); // 2^17 tiles of 4 B
	ChurnAgainstAnLruModel(this, false);
}

} // namespace
