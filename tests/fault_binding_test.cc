// SPDX-License-Identifier: BSD-3-Clause
// Fault injection on bindings, tilings and layouts (tests/testing/fault.h):
// a 2-d array of pages on an emulated knl-flat and on node 0, a layout and
// a slice of it, an nd tiling made by create, device and custom bindings by
// tile and by page, applied and checked. After each failure the array
// keeps its bytes; once a call is retried, its pages are where the binding
// says.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/binding.h>
#include <aml/binding/custom.h>
#include <aml/binding/devices.h>
#include <aml/layout.h>
#include <aml/tiling.h>
#include <aml/tiling/nd.h>

#include "tests/testing/fault.h"
#include "tests/testing/node0.h"

namespace
{

using aml_test::FaultRun;
using aml_test::ForEachFault;

size_t Page()
{
	return aml_page_size();
}

constexpr size_t kRows = 16;

bool Intact(const char *buf)
{
	for (size_t i = 0; i < kRows * Page(); i += 64)
		if (buf[i] != (char)(i / 64 % 127))
			return false;
	return true;
}

const struct aml_device *LastTwoOnTheSecond(size_t unit, size_t n, void *arg)
{
	auto devs = static_cast<const struct aml_device *const *>(arg);
	return unit + 2 >= n ? devs[1] : devs[0];
}

// The scenario over two devices of t (the same one twice on a machine with
// one node): a kRows x one-page array, tiled by 4 rows, bound by tile, then
// by page, each applied and checked.
void BindingScenario(FaultRun &run,
                     const struct aml_topology *t,
                     const struct aml_device *a,
                     const struct aml_device *b)
{
	char *buf = static_cast<char *>(aml_device_map(a, kRows * Page()));
	ASSERT_NE(buf, nullptr);
	for (size_t i = 0; i < kRows * Page(); i += 64)
		buf[i] = (char)(i / 64 % 127);
	run.SetModel([&] { EXPECT_TRUE(Intact(buf)) << "the array changed"; });

	size_t dims[2] = {kRows, Page() / 8}, tile[2] = {4, Page() / 8};
	struct aml_layout matrix, slice;
	run.Call("aml_layout_init", {}, [&] {
		return aml_layout_init(&matrix, buf, AML_LAYOUT_ORDER_C, 8, 2,
		                       dims, nullptr);
	});
	size_t offsets[2] = {4, 0}, sdims[2] = {8, Page() / 8};
	run.Call("aml_layout_slice", {}, [&] {
		return aml_layout_slice(&slice, &matrix, offsets, sdims);
	});
	struct aml_tiling *tiling = nullptr, *slice_tiling = nullptr;
	run.Call("aml_tiling_nd_create", {AML_ENOMEM}, [&] {
		return aml_tiling_nd_create(
		        &tiling, &matrix, tile, AML_TILING_ORDER_ROW_MAJOR,
		        AML_TILING_RESIZE, AML_TILING_IN_PLACE);
	});
	ASSERT_NE(tiling, nullptr);
	AML_TILING_ND_DECL(rows);
	run.Call("aml_tiling_nd_init", {}, [&] {
		return aml_tiling_nd_init(
		        &rows, &slice, tile, AML_TILING_ORDER_COLUMN_MAJOR,
		        AML_TILING_PAD, AML_TILING_CONTIGUOUS);
	});
	slice_tiling = &rows.base;

	// By tile, interleaved: tiles 0 and 2 on b, 1 and 3 on a.
	const struct aml_device *two[2] = {b, a};
	struct aml_binding *by_tile = nullptr;
	run.Call("aml_binding_devices_create", {AML_ENOMEM}, [&] {
		return aml_binding_devices_create(&by_tile, two, 2,
		                                  AML_BINDING_INTERLEAVE,
		                                  AML_BINDING_TILE);
	});
	ASSERT_NE(by_tile, nullptr);
	run.Call("aml_binding_apply by tile", {AML_ENOMEM},
	         [&] { return aml_binding_apply(by_tile, tiling, buf); });
	size_t misplaced[kRows], count = 99;
	run.Call("aml_binding_check by tile", {AML_ENOMEM}, [&] {
		return aml_binding_check(by_tile, t, tiling, buf, misplaced,
		                         kRows, &count);
	});
	EXPECT_EQ(count, 0u);

	// By page, through a callback: the last two pages on b, and over
	// the slice's shape, pages 4 to 11.
	const struct aml_device *ab[2] = {a, b};
	struct aml_binding *by_page = nullptr;
	run.Call("aml_binding_custom_create", {AML_ENOMEM}, [&] {
		return aml_binding_custom_create(&by_page, LastTwoOnTheSecond,
		                                 ab, AML_BINDING_PAGE);
	});
	ASSERT_NE(by_page, nullptr);
	char *slice_buf = buf + 4 * Page();
	run.Call("aml_binding_apply by page", {AML_ENOMEM}, [&] {
		return aml_binding_apply(by_page, slice_tiling, slice_buf);
	});
	count = 99;
	run.Call("aml_binding_check by page", {AML_ENOMEM}, [&] {
		return aml_binding_check(by_page, t, slice_tiling, slice_buf,
		                         misplaced, kRows, &count);
	});
	EXPECT_EQ(count, 0u);
	// The whole array by tile again: the pages the slice moved are back.
	count = 99;
	run.Call("aml_binding_check by tile", {AML_ENOMEM}, [&] {
		return aml_binding_check(by_tile, t, tiling, buf, misplaced,
		                         kRows, &count);
	});
	EXPECT_EQ(count, a == b ? 0u : 2u);

	EXPECT_TRUE(Intact(buf));
	run.Quiet([&] {
		aml_binding_devices_destroy(&by_tile);
		aml_binding_custom_destroy(&by_page);
		aml_tiling_nd_fini(&rows);
		aml_tiling_nd_destroy(&tiling);
	});
	EXPECT_EQ(aml_device_unmap(a, buf, kRows * Page()), 0);
}

TEST(FaultBinding, ByTileAndByPageOnAnEmulatedKnl)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "knl-flat;scale=1/1024", nullptr), 0);
	const struct aml_device *ddr = aml_topology_device(t, 0);
	const struct aml_device *mcdram = aml_topology_device(t, 1);
	unsigned long runs = ForEachFault([&](FaultRun &run) {
		BindingScenario(run, t, ddr, mcdram);
		struct aml_emu_stats s = {};
		ASSERT_EQ(aml_emu_stats(t, 1, &s), 0);
		EXPECT_EQ(s.pages, 0u) << "left on MCDRAM";
	});
	EXPECT_GT(runs, 0u);
	aml_topology_destroy(&t);
}

class FaultBindingNode0 : public aml_testing::Node0
{
};

TEST_F(FaultBindingNode0, ByTileAndByPage)
{
	unsigned long runs = ForEachFault(
	        [&](FaultRun &run) { BindingScenario(run, t, node0, node0); });
	EXPECT_GT(runs, 0u);
}

} // namespace
