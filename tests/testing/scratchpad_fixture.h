// SPDX-License-Identifier: BSD-3-Clause
// The scratchpad tests' fixture: emulated knl-flat with a DDR area and an
// MCDRAM area, a source array on DDR whose elements name themselves
// (Mark()), a tiling of it, and a dma engine charging the emulator.
#ifndef AML_TESTS_TESTING_SCRATCHPAD_FIXTURE_H
#define AML_TESTS_TESTING_SCRATCHPAD_FIXTURE_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/dma/par.h>
#include <aml/dma/seq.h>
#include <aml/scratchpad.h>
#include <aml/tiling/nd.h>

#include "tests/testing/knl_areas.h"

namespace aml_testing
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
inline uint32_t Mark(const size_t *c, size_t ndims)
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

} // namespace aml_testing

#endif // AML_TESTS_TESTING_SCRATCHPAD_FIXTURE_H
