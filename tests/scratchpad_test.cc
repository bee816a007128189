// SPDX-License-Identifier: BSD-3-Clause
// The scratchpad on emulated knl-flat: source array on DDR, slots on MCDRAM.
// Round trips of every tile of 1d and 2d tilings (ragged borders, both
// border rules), hits without copies, LRU eviction with write-back, pins,
// AML_EBUSY, asynchronous pulls and pushes on the seq and par engines, the
// double-buffered loop of the header, placement, concurrency, a bad-input
// table, and random operations over a dma that fails on demand, checked
// against a model of what the caller wrote.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/dma/par.h>
#include <aml/dma/seq.h>
#include <aml/scratchpad.h>
#include <aml/tiling/nd.h>

#include "tests/testing/knl_areas.h"

namespace
{

// Every coordinate vector of a box of dims, in row-major order.
template <typename F> void ForEachCoord(const std::vector<size_t> &dims, F f)
{
	std::vector<size_t> c(dims.size(), 0);
	for (;;) {
		f(c.data());
		size_t d = dims.size();
		while (d > 0) {
			if (++c[d - 1] < dims[d - 1])
				break;
			c[d - 1] = 0;
			d--;
		}
		if (d == 0)
			return;
	}
}

// A uint32 value that names an array element.
uint32_t Mark(const size_t *c, size_t ndims)
{
	uint32_t v = 1;
	for (size_t d = 0; d < ndims; d++)
		v = v * 1000u + (uint32_t)c[d] + 1;
	return v;
}

enum class Engine { kSeq, kPar };

// knl-flat with a DDR area and an MCDRAM area, a source array on DDR, a
// tiling of it, and a dma engine charging the emulator.
class Scratchpad : public ::testing::Test, public aml_testing::KnlAreas
{
      public:
	void SetUp() override
	{
		ASSERT_TRUE(SetUpKnlAreas());
		UseEngine(Engine::kSeq);
	}
	void TearDown() override
	{
		DropEngine();
		if (tiled)
			aml_tiling_nd_fini(&tiling);
		if (src != nullptr) {
			EXPECT_EQ(aml_area_munmap(&slow.base, src, src_bytes),
			          0);
		}
		TearDownKnlAreas();
	}
	void DropEngine()
	{
		if (par)
			aml_dma_par_destroy(&dma);
		else
			aml_dma_seq_destroy(&dma);
		par = false;
	}
	void UseEngine(Engine e)
	{
		DropEngine();
		if (e == Engine::kSeq) {
			ASSERT_EQ(aml_dma_seq_create(&dma, t), 0);
			return;
		}
		// Every copy to the workers, so async copies really are.
		struct aml_dma_par_options o = {};
		o.nworkers = 2;
		o.inline_max = AML_DMA_PAR_NO_INLINE;
		o.spin_ns = 1000;
		ASSERT_EQ(aml_dma_par_create(&dma, t, &o), 0);
		par = true;
	}
	// A C-order array of uint32 with @p pitch elements along the last
	// dimension (0: dense), tiled by @p tile; elements hold Mark().
	void MakeArray(std::vector<size_t> dims_,
	               std::vector<size_t> tile,
	               enum aml_tiling_border border = AML_TILING_RESIZE,
	               size_t pitch = 0)
	{
		dims = dims_;
		size_t n = dims.size();
		std::vector<size_t> strides(n);
		strides[n - 1] = sizeof(uint32_t);
		size_t last = pitch != 0 ? pitch : dims[n - 1];
		size_t rows = 1;
		for (size_t d = n - 1; d > 0; d--) {
			size_t ext = d == n - 1 ? last : dims[d];
			strides[d - 1] = strides[d] * ext;
		}
		for (size_t d = 0; d + 1 < n; d++)
			rows *= dims[d];
		// Room for padding tiles past the last row too (PAD).
		src_bytes = (rows + tile[0]) * last * sizeof(uint32_t) + 4096;
		src = aml_area_mmap(&slow.base, src_bytes, nullptr);
		ASSERT_NE(src, nullptr);
		ASSERT_EQ(aml_layout_init(&array, src, AML_LAYOUT_ORDER_C,
		                          sizeof(uint32_t), n, dims.data(),
		                          strides.data()),
		          0);
		ForEachCoord(dims, [&](const size_t *c) {
			*At(c) = Mark(c, dims.size());
		});
		ASSERT_EQ(aml_tiling_nd_init(&tiling, &array, tile.data(),
		                             AML_TILING_ORDER_ROW_MAJOR, border,
		                             AML_TILING_IN_PLACE),
		          0);
		tiled = true;
	}
	uint32_t *At(const size_t *c)
	{
		return static_cast<uint32_t *>(aml_layout_address(&array, c));
	}
	// Check that @p slot holds tile @p id, element by element, and add
	// @p add to each element of the slot that lies inside the array.
	void CheckSlot(struct aml_scratchpad *sp,
	               size_t slot,
	               size_t id,
	               uint32_t add = 0)
	{
		size_t n = dims.size();
		std::vector<size_t> origin(n), valid(n);
		ASSERT_EQ(
		        aml_tiling_tile_origin(&tiling.base, id, origin.data()),
		        0);
		ASSERT_EQ(aml_tiling_tile_valid_dims(&tiling.base, id,
		                                     valid.data()),
		          0);
		struct aml_layout sl;
		ASSERT_EQ(aml_scratchpad_slot_layout(sp, slot, &sl), 0);
		ASSERT_EQ(aml_layout_base(&sl),
		          aml_scratchpad_slot_ptr(sp, slot));
		ASSERT_EQ(aml_layout_is_contiguous(&sl), 1);
		size_t held = 0;
		ASSERT_EQ(aml_scratchpad_slot_tile(sp, slot, &held), 0);
		ASSERT_EQ(held, id);
		ForEachCoord(valid, [&](const size_t *c) {
			std::vector<size_t> a(n);
			for (size_t d = 0; d < n; d++)
				a[d] = origin[d] + c[d];
			uint32_t *p = static_cast<uint32_t *>(
			        aml_layout_address(&sl, c));
			ASSERT_EQ(*p, *At(a.data())) << "tile " << id;
			*p += add;
		});
	}
	// Every element of the array is Mark() + @p add.
	void CheckArray(uint32_t add)
	{
		ForEachCoord(dims, [&](const size_t *c) {
			ASSERT_EQ(*At(c), Mark(c, dims.size()) + add);
		});
	}
	struct aml_scratchpad_stats Stats(struct aml_scratchpad *sp)
	{
		struct aml_scratchpad_stats s = {};
		EXPECT_EQ(aml_scratchpad_stats(sp, &s), 0);
		return s;
	}
	int Device(const void *p)
	{
		int id = -100;
		uintptr_t page =
		        (uintptr_t)p & ~(uintptr_t)(aml_page_size() - 1);
		EXPECT_EQ(aml_topology_locate(t, (const void *)page, 1, &id),
		          0);
		return id;
	}

	struct aml_dma *dma = nullptr;
	bool par = false;
	std::vector<size_t> dims;
	void *src = nullptr;
	size_t src_bytes = 0;
	struct aml_layout array;
	AML_TILING_ND_DECL(tiling);
	bool tiled = false;
};

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

TEST_F(Scratchpad, InitBadInputTable)
{
	MakeArray({256}, {32});
	struct aml_layout shape;
	size_t d = 256, td = 32;
	ASSERT_EQ(aml_layout_init(&shape, nullptr, AML_LAYOUT_ORDER_C, 4, 1, &d,
	                          nullptr),
	          0);
	AML_TILING_ND_DECL(shape_only);
	ASSERT_EQ(aml_tiling_nd_init(&shape_only, &shape, &td,
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	size_t free_before;
	ASSERT_EQ(aml_device_free_bytes(mcdram, &free_before), 0);
	struct Case {
		const char *what;
		bool null_sp;
		const struct aml_tiling *tiling;
		const struct aml_area *area;
		struct aml_dma *dma;
		size_t nslots;
		int want;
	} cases[] = {
	        {"NULL storage", true, &tiling.base, &fast.base, dma, 2,
	         AML_EINVAL},
	        {"NULL tiling", false, nullptr, &fast.base, dma, 2, AML_EINVAL},
	        {"NULL area", false, &tiling.base, nullptr, dma, 2, AML_EINVAL},
	        {"NULL dma", false, &tiling.base, &fast.base, nullptr, 2,
	         AML_EINVAL},
	        {"zero slots", false, &tiling.base, &fast.base, dma, 0,
	         AML_EINVAL},
	        {"shape-only tiling", false, &shape_only.base, &fast.base, dma,
	         2, AML_EINVAL},
	        {"slots overflow size_t", false, &tiling.base, &fast.base, dma,
	         SIZE_MAX / 64, AML_EINVAL},
	        {"rounded to pages overflows", false, &tiling.base, &fast.base,
	         dma, SIZE_MAX / 128, AML_EINVAL},
	        {"more than MCDRAM", false, &tiling.base, &fast.base, dma,
	         (size_t)1 << 30, AML_ENOMEM},
	};
	for (const Case &c : cases) {
		AML_SCRATCHPAD_DECL(sp);
		int err =
		        aml_scratchpad_init(c.null_sp ? nullptr : &sp, c.tiling,
		                            c.area, c.dma, c.nslots);
		EXPECT_EQ(err, c.want) << c.what << ": " << aml_errname(err);
		if (!c.null_sp) {
			struct aml_scratchpad *out = &sp;
			err = aml_scratchpad_create(&out, c.tiling, c.area,
			                            c.dma, c.nslots);
			EXPECT_EQ(err, c.want) << c.what;
			EXPECT_EQ(out, nullptr) << c.what;
		}
		size_t free_after;
		ASSERT_EQ(aml_device_free_bytes(mcdram, &free_after), 0);
		EXPECT_EQ(free_after, free_before) << c.what;
	}
	EXPECT_EQ(aml_scratchpad_create(nullptr, &tiling.base, &fast.base, dma,
	                                2),
	          AML_EINVAL);
	aml_scratchpad_fini(nullptr);
	aml_tiling_nd_fini(&shape_only);
}

TEST_F(Scratchpad, CallBadInputTable)
{
	MakeArray({256}, {32}); // 8 tiles
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, 2),
	          0);
	AML_SCRATCHPAD_DECL(other);
	ASSERT_EQ(aml_scratchpad_init(&other, &tiling.base, &fast.base, dma, 2),
	          0);
	size_t pinned, unpinned, s;
	ASSERT_EQ(aml_scratchpad_pull(&sp, 1, 0, &pinned), 0);
	ASSERT_EQ(aml_scratchpad_pull(&sp, 2, 0, &unpinned), 0);
	ASSERT_EQ(aml_scratchpad_release(&sp, unpinned), 0);
	struct aml_scratchpad_request *foreign = nullptr;
	ASSERT_EQ(aml_scratchpad_async_pull(&other, 0, 0, &s, &foreign), 0);
	struct aml_scratchpad_stats before = Stats(&sp);
	struct aml_scratchpad_request *r = nullptr, *null_req = nullptr;
	struct aml_layout l;
	size_t out = 77;
	struct Case {
		const char *what;
		int got;
		int want;
	} cases[] = {
	        {"pull NULL sp", aml_scratchpad_pull(nullptr, 0, 0, &out),
	         AML_EINVAL},
	        {"pull NULL slot", aml_scratchpad_pull(&sp, 0, 0, nullptr),
	         AML_EINVAL},
	        {"pull unknown flag", aml_scratchpad_pull(&sp, 0, 8, &out),
	         AML_EINVAL},
	        {"pull tile out of range", aml_scratchpad_pull(&sp, 8, 0, &out),
	         AML_EDOM},
	        {"pull tile SIZE_MAX",
	         aml_scratchpad_pull(&sp, SIZE_MAX, 0, &out), AML_EDOM},
	        {"async pull NULL request",
	         aml_scratchpad_async_pull(&sp, 0, 0, &out, nullptr),
	         AML_EINVAL},
	        {"async pull NULL sp",
	         aml_scratchpad_async_pull(nullptr, 0, 0, &out, &r),
	         AML_EINVAL},
	        {"async pull tile out of range",
	         aml_scratchpad_async_pull(&sp, 9, 0, &out, &r), AML_EDOM},
	        {"push NULL", aml_scratchpad_push(nullptr, 0), AML_EINVAL},
	        {"push slot out of range", aml_scratchpad_push(&sp, 2),
	         AML_EDOM},
	        {"push unpinned", aml_scratchpad_push(&sp, unpinned),
	         AML_EPERM},
	        {"async push NULL request",
	         aml_scratchpad_async_push(&sp, pinned, nullptr), AML_EINVAL},
	        {"async push unpinned",
	         aml_scratchpad_async_push(&sp, unpinned, &r), AML_EPERM},
	        {"async push out of range",
	         aml_scratchpad_async_push(&sp, 5, &r), AML_EDOM},
	        {"release NULL", aml_scratchpad_release(nullptr, 0),
	         AML_EINVAL},
	        {"release out of range", aml_scratchpad_release(&sp, 2),
	         AML_EDOM},
	        {"release unpinned", aml_scratchpad_release(&sp, unpinned),
	         AML_EPERM},
	        {"mark_dirty unpinned",
	         aml_scratchpad_mark_dirty(&sp, unpinned), AML_EPERM},
	        {"mark_dirty out of range",
	         aml_scratchpad_mark_dirty(&sp, SIZE_MAX), AML_EDOM},
	        {"mark_dirty NULL", aml_scratchpad_mark_dirty(nullptr, 0),
	         AML_EINVAL},
	        {"wait NULL sp", aml_scratchpad_wait(nullptr, &foreign),
	         AML_EINVAL},
	        {"wait NULL", aml_scratchpad_wait(&sp, nullptr), AML_EINVAL},
	        {"wait &NULL", aml_scratchpad_wait(&sp, &null_req), AML_EINVAL},
	        {"wait another's request", aml_scratchpad_wait(&sp, &foreign),
	         AML_EINVAL},
	        {"flush NULL", aml_scratchpad_flush(nullptr), AML_EINVAL},
	        {"slot_layout NULL out",
	         aml_scratchpad_slot_layout(&sp, pinned, nullptr), AML_EINVAL},
	        {"slot_layout out of range",
	         aml_scratchpad_slot_layout(&sp, 3, &l), AML_EDOM},
	        {"slot_tile NULL sp",
	         aml_scratchpad_slot_tile(nullptr, 0, &out), AML_EINVAL},
	        {"slot_tile out of range",
	         aml_scratchpad_slot_tile(&sp, 2, &out), AML_EDOM},
	        {"stats NULL out", aml_scratchpad_stats(&sp, nullptr),
	         AML_EINVAL},
	        {"stats NULL sp", aml_scratchpad_stats(nullptr, &before),
	         AML_EINVAL},
	};
	for (const Case &c : cases)
		EXPECT_EQ(c.got, c.want)
		        << c.what << ": got " << aml_errname(c.got);
	EXPECT_EQ(out, 77u);
	EXPECT_EQ(r, nullptr);
	ASSERT_NE(foreign, nullptr);
	aml_errno = 0;
	EXPECT_EQ(aml_scratchpad_slot_ptr(&sp, 2), nullptr);
	EXPECT_EQ(aml_errno, AML_EDOM);
	EXPECT_EQ(aml_scratchpad_slot_ptr(nullptr, 0), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_scratchpad_nslots(nullptr), 0u);
	// Nothing changed: same counters, same pins, same tiles.
	struct aml_scratchpad_stats after = Stats(&sp);
	EXPECT_EQ(0, std::memcmp(&before, &after, sizeof(before)));
	size_t held;
	ASSERT_EQ(aml_scratchpad_slot_tile(&sp, pinned, &held), 0);
	EXPECT_EQ(held, 1u);
	ASSERT_EQ(aml_scratchpad_slot_tile(&sp, unpinned, &held), 0);
	EXPECT_EQ(held, 2u);
	ASSERT_EQ(aml_scratchpad_release(&sp, pinned), 0);
	EXPECT_EQ(aml_scratchpad_release(&sp, pinned), AML_EPERM);
	// A slot that never held a tile has no layout.
	AML_SCRATCHPAD_DECL(fresh);
	ASSERT_EQ(aml_scratchpad_init(&fresh, &tiling.base, &fast.base, dma, 1),
	          0);
	EXPECT_EQ(aml_scratchpad_slot_layout(&fresh, 0, &l), AML_EINVAL);
	EXPECT_EQ(aml_scratchpad_slot_tile(&fresh, 0, &out), AML_EINVAL);
	aml_scratchpad_fini(&fresh);
	ASSERT_EQ(aml_scratchpad_wait(&other, &foreign), 0);
	ASSERT_EQ(aml_scratchpad_release(&other, s), 0);
	aml_scratchpad_fini(&other);
	aml_scratchpad_fini(&sp);
}

// A dma engine, through the public ops table, that copies when a request is
// waited (so a copy in flight has not happened yet) and fails on demand: a
// submission refused (nothing copied), or a copy that fails after it
// scribbled over its whole destination, as a copy that dies half-way may.
class FailingDma
{
      public:
	explicit FailingDma(struct aml_dma *inner, unsigned seed)
	    : inner_(inner), rng_(seed)
	{
		base.ops = &kOps;
		base.data = this;
	}
	// Percent of submissions refused, and of copies failed.
	void Fail(unsigned submit_pct, unsigned copy_pct)
	{
		std::lock_guard<std::mutex> hold(lock_);
		submit_pct_ = submit_pct;
		copy_pct_ = copy_pct;
	}
	size_t Refused() const
	{
		return refused_;
	}
	size_t Failed() const
	{
		return failed_;
	}
	size_t InFlight()
	{
		std::lock_guard<std::mutex> hold(lock_);
		return copies_.size();
	}

	struct aml_dma base;

      private:
	struct Copy {
		struct aml_layout dst, src;
	};
	static FailingDma *Of(struct aml_dma *dma)
	{
		return static_cast<FailingDma *>(dma->data);
	}
	bool Roll(unsigned pct)
	{
		return rng_() % 100 < pct;
	}
	static int Submit(struct aml_dma *dma,
	                  struct aml_dma_request **out,
	                  const struct aml_layout *dst,
	                  const struct aml_layout *src)
	{
		FailingDma *self = Of(dma);
		std::unique_lock<std::mutex> hold(self->lock_);
		if (self->Roll(self->submit_pct_)) {
			self->refused_++;
			return AML_ENOMEM;
		}
		Copy c = {*dst, *src};
		if (out == nullptr) {
			(void)self->Run(c);
			return 0;
		}
		uintptr_t id = self->next_++;
		self->copies_[id] = c;
		*out = reinterpret_cast<struct aml_dma_request *>(id);
		return 0;
	}
	static int Wait(struct aml_dma *dma, struct aml_dma_request *r)
	{
		FailingDma *self = Of(dma);
		std::unique_lock<std::mutex> hold(self->lock_);
		auto it = self->copies_.find(reinterpret_cast<uintptr_t>(r));
		if (it == self->copies_.end())
			return AML_EINVAL;
		Copy c = it->second;
		self->copies_.erase(it);
		return self->Run(c);
	}
	static int Cancel(struct aml_dma *dma, struct aml_dma_request *r)
	{
		FailingDma *self = Of(dma);
		std::unique_lock<std::mutex> hold(self->lock_);
		return self->copies_.erase(reinterpret_cast<uintptr_t>(r)) == 1
		               ? 0
		               : AML_EINVAL;
	}
	static int Barrier(struct aml_dma *dma)
	{
		(void)dma;
		return 0; // fire-and-forget copies ran at submission
	}
	int Run(const Copy &c)
	{
		if (!Roll(copy_pct_))
			return aml_dma_copy(inner_, &c.dst, &c.src);
		std::vector<size_t> dims(c.dst.dims, c.dst.dims + c.dst.ndims);
		ForEachCoord(dims, [&](const size_t *at) {
			std::memset(aml_layout_address(&c.dst, at), 0xee,
			            c.dst.element_size);
		});
		failed_++;
		return AML_FAILURE;
	}

	static const struct aml_dma_ops kOps;
	struct aml_dma *inner_;
	std::mt19937 rng_;
	std::mutex lock_;
	unsigned submit_pct_ = 0, copy_pct_ = 0;
	size_t refused_ = 0, failed_ = 0;
	uintptr_t next_ = 1;
	std::map<uintptr_t, Copy> copies_;
};

const struct aml_dma_ops FailingDma::kOps = {Submit, nullptr, Wait, Cancel,
                                             Barrier};

// The caller of the model test: what it pinned, what it wrote, what is in
// flight, and the array it expects once everything is written back.
class ModelCaller
{
      public:
	ModelCaller(Scratchpad *f, struct aml_scratchpad *sp, unsigned seed)
	    : f_(f), sp_(sp), rng_(seed)
	{
		ForEachCoord(f->dims, [&](const size_t *c) {
			model_.push_back(Mark(c, 2));
		});
	}
	// One random operation.
	void Step()
	{
		unsigned r = rng_() % 100;
		if (r < 20)
			Pull(false);
		else if (r < 35)
			Pull(true);
		else if (r < 55)
			Write();
		else if (r < 70)
			Release();
		else if (r < 90)
			WaitOne();
		else
			Flush();
	}
	// Wait for everything, release every pin.
	void Drain()
	{
		while (!reqs_.empty())
			WaitOne();
		while (!pins_.empty())
			Release();
	}
	// The array holds what the caller wrote, element by element.
	void CheckArray()
	{
		size_t i = 0;
		ForEachCoord(f_->dims, [&](const size_t *c) {
			ASSERT_EQ(*f_->At(c), model_[i]) << "element " << i;
			i++;
		});
	}
	size_t writes = 0, lost_pulls = 0;

      private:
	struct Pin {
		size_t slot, tile;
		bool usable; // the tile is in the slot: read and write it
	};
	struct Req {
		struct aml_scratchpad_request *r;
		int pin; // the pull's pin, or -1 for a push
		size_t slot;
	};
	// Element (i) of the model at coordinates c of the array.
	size_t Index(const size_t *c)
	{
		return c[0] * f_->dims[1] + c[1];
	}
	// Visit (slot element, model index) of every valid element of tile.
	template <typename F> void ForTile(size_t slot, size_t tile, F fn)
	{
		size_t origin[2], valid[2];
		ASSERT_EQ(
		        aml_tiling_tile_origin(&f_->tiling.base, tile, origin),
		        0);
		ASSERT_EQ(aml_tiling_tile_valid_dims(&f_->tiling.base, tile,
		                                     valid),
		          0);
		struct aml_layout sl;
		ASSERT_EQ(aml_scratchpad_slot_layout(sp_, slot, &sl), 0);
		ForEachCoord({valid[0], valid[1]}, [&](const size_t *c) {
			size_t a[2] = {origin[0] + c[0], origin[1] + c[1]};
			fn(static_cast<uint32_t *>(aml_layout_address(&sl, c)),
			   Index(a), a);
		});
	}
	void CheckSlot(const Pin &p)
	{
		ForTile(p.slot, p.tile, [&](uint32_t *e, size_t i, size_t *) {
			ASSERT_EQ(*e, model_[i]) << "tile " << p.tile;
		});
	}
	void CheckTile(const Pin &p)
	{
		ForTile(p.slot, p.tile, [&](uint32_t *, size_t i, size_t *a) {
			ASSERT_EQ(*f_->At(a), model_[i]) << "tile " << p.tile;
		});
	}
	// A pin whose tile arrived: an OVERWRITE pull writes it all first,
	// once no push of the slot is in flight.
	void Arrived(int id, bool overwrite)
	{
		Pin &p = pins_[id];
		p.usable = true;
		if (!overwrite) {
			CheckSlot(p);
			return;
		}
		for (size_t k = 0; k < reqs_.size();) {
			if (reqs_[k].pin >= 0 || reqs_[k].slot != p.slot) {
				k++;
				continue;
			}
			int err = aml_scratchpad_wait(sp_, &reqs_[k].r);
			ASSERT_TRUE(err == 0 || DmaError(err));
			reqs_.erase(reqs_.begin() + (long)k);
		}
		ForTile(p.slot, p.tile, [&](uint32_t *e, size_t i, size_t *) {
			*e = model_[i] = (uint32_t)rng_();
		});
		writes++;
	}
	static bool DmaError(int err)
	{
		return err == AML_ENOMEM || err == AML_FAILURE;
	}
	void Pull(bool async)
	{
		size_t tile = rng_() % aml_tiling_ntiles(&f_->tiling.base);
		unsigned kind = rng_() % 5;
		unsigned flags = kind == 0   ? AML_SCRATCHPAD_DIRTY
		                 : kind == 1 ? AML_SCRATCHPAD_OVERWRITE
		                             : 0;
		size_t slot = SIZE_MAX;
		struct aml_scratchpad_request *r = nullptr;
		int err = async ? aml_scratchpad_async_pull(sp_, tile, flags,
		                                            &slot, &r)
		                : aml_scratchpad_pull(sp_, tile, flags, &slot);
		if (err == AML_EBUSY || DmaError(err)) {
			lost_pulls += err != AML_EBUSY;
			return;
		}
		ASSERT_EQ(err, 0) << aml_errname(err);
		int id = next_pin_++;
		pins_[id] = Pin{slot, tile, false};
		bool overwrite = flags & AML_SCRATCHPAD_OVERWRITE;
		if (!async) {
			Arrived(id, overwrite);
			return;
		}
		if (!overwrite) {
			reqs_.push_back(Req{r, id, slot});
			return;
		}
		// Written as soon as it arrives: wait for it now.
		err = aml_scratchpad_wait(sp_, &r);
		if (err == 0)
			Arrived(id, true);
		else
			ASSERT_TRUE(DmaError(err)) << aml_errname(err);
	}
	bool Pushing(size_t slot)
	{
		for (const Req &q : reqs_)
			if (q.pin < 0 && q.slot == slot)
				return true;
		return false;
	}
	// Write a few elements of a pinned tile, then mark it dirty or push
	// it (synchronously or not): the caller's part of the contract.
	void Write()
	{
		std::vector<int> ok;
		for (auto &kv : pins_)
			if (kv.second.usable && !Pushing(kv.second.slot))
				ok.push_back(kv.first);
		if (ok.empty())
			return;
		Pin &p = pins_[ok[rng_() % ok.size()]];
		ForTile(p.slot, p.tile, [&](uint32_t *e, size_t i, size_t *) {
			if (rng_() % 8 == 0)
				*e = model_[i] = (uint32_t)rng_();
		});
		writes++;
		unsigned how = rng_() % 3;
		if (how == 0) {
			ASSERT_EQ(aml_scratchpad_mark_dirty(sp_, p.slot), 0);
			return;
		}
		if (how == 1) {
			int err = aml_scratchpad_push(sp_, p.slot);
			if (err == 0)
				CheckTile(p);
			else
				ASSERT_TRUE(DmaError(err)) << aml_errname(err);
			return;
		}
		struct aml_scratchpad_request *r = nullptr;
		int err = aml_scratchpad_async_push(sp_, p.slot, &r);
		if (err == 0)
			reqs_.push_back(Req{r, -1, p.slot});
		else
			ASSERT_TRUE(DmaError(err)) << aml_errname(err);
	}
	void Release()
	{
		if (pins_.empty())
			return;
		auto it = pins_.begin();
		std::advance(it, rng_() % pins_.size());
		ASSERT_EQ(aml_scratchpad_release(sp_, it->second.slot), 0);
		pins_.erase(it);
	}
	void WaitOne()
	{
		if (reqs_.empty())
			return;
		size_t k = rng_() % reqs_.size();
		Req q = reqs_[k];
		reqs_.erase(reqs_.begin() + (long)k);
		int err = aml_scratchpad_wait(sp_, &q.r);
		ASSERT_TRUE(err == 0 || DmaError(err)) << aml_errname(err);
		auto it = q.pin >= 0 ? pins_.find(q.pin) : pins_.end();
		if (err == 0 && it != pins_.end())
			Arrived(it->first, false);
	}
	void Flush()
	{
		int err = aml_scratchpad_flush(sp_);
		ASSERT_TRUE(err == 0 || DmaError(err)) << aml_errname(err);
	}

	Scratchpad *f_;
	struct aml_scratchpad *sp_;
	std::mt19937 rng_;
	std::vector<uint32_t> model_;
	std::map<int, Pin> pins_;
	std::vector<Req> reqs_;
	int next_pin_ = 0;
};

// Random pulls, writes, pushes, releases, waits and flushes over a dma that
// refuses a submission or fails a copy now and then: every pull that
// succeeds sees the latest writes, and whatever failed, what the caller
// wrote and then marked dirty or pushed is in the array after a flush.
TEST_F(Scratchpad, FailuresNeverLoseWhatTheCallerWrote)
{
	MakeArray({48, 40}, {16, 16}); // 3 x 3 tiles, the last column ragged
	const unsigned rates[][2] = {
	        {0, 0}, {10, 10}, {30, 30}, {0, 40}, {40, 0}};
	for (unsigned seed = 1; seed <= 8; seed++) {
		FailingDma fdma(dma, seed);
		AML_SCRATCHPAD_DECL(sp);
		ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base,
		                              &fdma.base, 3),
		          0);
		ModelCaller caller(this, &sp, seed);
		std::mt19937 rng(seed);
		for (int step = 0; step < 3000; step++) {
			if (step % 50 == 0) {
				const unsigned *r = rates[rng() % 5];
				fdma.Fail(r[0], r[1]);
			}
			caller.Step();
			if (HasFatalFailure())
				return;
		}
		caller.Drain();
		fdma.Fail(0, 0);
		ASSERT_EQ(aml_scratchpad_flush(&sp), 0);
		caller.CheckArray();
		aml_scratchpad_fini(&sp);
		caller.CheckArray();
		EXPECT_EQ(fdma.InFlight(), 0u);
		EXPECT_GT(fdma.Refused(), 0u);
		EXPECT_GT(fdma.Failed(), 0u);
		EXPECT_GT(caller.writes, 100u);
		if (HasFatalFailure())
			return;
		// Restore the array for the next seed.
		ForEachCoord(dims, [&](const size_t *c) {
			*At(c) = Mark(c, dims.size());
		});
	}
}

} // namespace
