// SPDX-License-Identifier: BSD-3-Clause
// Guest-only: the low-level blocks over the numa backend on the 3-node
// kernel. Device areas place on each node; every arena (bump, pool, buddy,
// jemalloc where built) over areas bound to node 1 and node 2 keeps its
// blocks there; bindings (single, interleave, block, by page and by tile)
// move pages onto the three nodes, and check finds a page moved behind
// their back. Placement is read with move_pages(2) directly.
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/arena.h>
#include <aml/arena/buddy.h>
#include <aml/arena/bump.h>
#include <aml/arena/jemalloc.h>
#include <aml/arena/pool.h>
#include <aml/binding.h>
#include <aml/binding/devices.h>
#include <aml/layout.h>
#include <aml/tiling.h>
#include <aml/tiling/nd.h>

#include "tests/vm/guest.h"

namespace
{

using aml_vm::NodesOf;
using aml_vm::Page;
using aml_vm::Touch;

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;

class Numa3Blocks : public aml_vm::Guest3Node
{
};

TEST_F(Numa3Blocks, AreasPlaceOnEachNodeAndOverSets)
{
	for (int n = 0; n < 3; n++) {
		AML_AREA_DEVICE_DECL(area);
		ASSERT_EQ(aml_area_device_init(&area, t, &node[n], 1,
		                               AML_AREA_BIND, nullptr),
		          0);
		const size_t npages = 512;
		struct aml_area_mmap_options aligned = {2 * kMiB, false,
		                                        AML_PAGE_DEFAULT};
		char *p = static_cast<char *>(
		        aml_area_mmap(&area.base, npages * Page(), &aligned));
		ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
		EXPECT_EQ((uintptr_t)p % (2 * kMiB), 0u);
		Touch(p, npages);
		EXPECT_EQ(NodesOf(p, npages), std::vector<int>(npages, n));
		// Give back the middle; both ends stay on the node.
		ASSERT_EQ(aml_area_munmap(&area.base, p + 128 * Page(),
		                          256 * Page()),
		          0);
		EXPECT_EQ(NodesOf(p, 128), std::vector<int>(128, n));
		EXPECT_EQ(aml_area_munmap(&area.base, p, 128 * Page()), 0);
		EXPECT_EQ(aml_area_munmap(&area.base, p + 384 * Page(),
		                          128 * Page()),
		          0);
		aml_area_device_fini(&area);
	}
	// PREFERRED on node 2 within capacity: all there.
	AML_AREA_DEVICE_DECL(preferred);
	ASSERT_EQ(aml_area_device_init(&preferred, t, &node[2], 1,
	                               AML_AREA_PREFERRED, nullptr),
	          0);
	char *p = static_cast<char *>(
	        aml_area_mmap(&preferred.base, 16 * kMiB, nullptr));
	ASSERT_NE(p, nullptr);
	Touch(p, 16 * kMiB / Page());
	EXPECT_EQ(NodesOf(p, 16 * kMiB / Page()),
	          std::vector<int>(16 * kMiB / Page(), 2));
	EXPECT_EQ(aml_area_munmap(&preferred.base, p, 16 * kMiB), 0);
	aml_area_device_fini(&preferred);
}

// One arena kind: how to make it over an area.
struct ArenaKind {
	const char *name;
	size_t block_size;
	std::function<int(struct aml_arena **, const struct aml_area *)> create;
	std::function<void(struct aml_arena **)> destroy;
};

std::vector<ArenaKind> Kinds()
{
	return {
	        {"bump", 3000,
	         [](struct aml_arena **out, const struct aml_area *a) {
		         return aml_arena_bump_create(out, a, 256 * kKiB);
	         },
	         aml_arena_bump_destroy},
	        {"pool", 256,
	         [](struct aml_arena **out, const struct aml_area *a) {
		         return aml_arena_pool_create(out, a, 256, 64, 0);
	         },
	         aml_arena_pool_destroy},
	        {"buddy", 5000,
	         [](struct aml_arena **out, const struct aml_area *a) {
		         return aml_arena_buddy_create(out, a, 256 * kKiB);
	         },
	         aml_arena_buddy_destroy},
	        {"jemalloc", 7000,
	         [](struct aml_arena **out, const struct aml_area *a) {
		         return aml_arena_jemalloc_create(out, a, 4 * kMiB);
	         },
	         aml_arena_jemalloc_destroy},
	};
}

TEST_F(Numa3Blocks, ArenasKeepTheirBlocksOnTheAreasNode)
{
	for (int n : {1, 2}) {
		AML_AREA_DEVICE_DECL(area);
		ASSERT_EQ(aml_area_device_init(&area, t, &node[n], 1,
		                               AML_AREA_BIND, nullptr),
		          0);
		for (const ArenaKind &kind : Kinds()) {
			SCOPED_TRACE(std::string(kind.name) + " on node" +
			             std::to_string(n));
			struct aml_arena *arena = nullptr;
			int err = kind.create(&arena, &area.base);
			if (err == AML_ENOTSUP &&
			    !aml_backend_is_built(AML_BACKEND_MEMKIND))
				continue; // jemalloc needs memkind
			ASSERT_EQ(err, 0) << aml_errname(err);
			// About 2 MiB of blocks: several regions or slabs.
			std::vector<char *> blocks;
			for (size_t used = 0; used < 2 * kMiB;
			     used += kind.block_size) {
				char *b = static_cast<char *>(aml_arena_malloc(
				        arena, kind.block_size));
				ASSERT_NE(b, nullptr) << aml_errname(aml_errno);
				std::memset(b, 0x33, kind.block_size);
				blocks.push_back(b);
			}
			// Every page any block touches is on the node.
			for (char *b : blocks) {
				uintptr_t first = (uintptr_t)b & ~(Page() - 1);
				uintptr_t end = (uintptr_t)b + kind.block_size;
				size_t npages =
				        (end - first + Page() - 1) / Page();
				ASSERT_EQ(NodesOf((void *)first, npages),
				          std::vector<int>(npages, n));
			}
			kind.destroy(&arena);
		}
		aml_area_device_fini(&area);
	}
}

// A 24-page buffer first placed on node 0, described as one tile per page
// (or per two pages), for the bindings.
class Numa3Binding : public aml_vm::Guest3Node
{
      protected:
	void SetUp() override
	{
		Guest3Node::SetUp();
		if (IsSkipped() || HasFatalFailure())
			return;
		buf = static_cast<char *>(
		        aml_device_map(node[0], kPages * Page()));
		ASSERT_NE(buf, nullptr);
		std::memset(buf, 0x44, kPages * Page());
		size_t dims[1] = {kPages * Page()};
		ASSERT_EQ(aml_layout_init(&bytes, buf, AML_LAYOUT_ORDER_C, 1, 1,
		                          dims, nullptr),
		          0);
	}
	void TearDown() override
	{
		if (buf != nullptr) {
			EXPECT_EQ(
			        aml_device_unmap(node[0], buf, kPages * Page()),
			        0);
		}
	}
	// Apply @p b over tiles of @p tile_pages pages, then check it.
	std::vector<int> ApplyAndCheck(const struct aml_binding *b,
	                               size_t tile_pages)
	{
		AML_TILING_ND_DECL(tiling);
		size_t tile[1] = {tile_pages * Page()};
		EXPECT_EQ(aml_tiling_nd_init(&tiling, &bytes, tile,
		                             AML_TILING_ORDER_ROW_MAJOR,
		                             AML_TILING_RESIZE,
		                             AML_TILING_IN_PLACE),
		          0);
		EXPECT_EQ(aml_binding_apply(b, &tiling.base, buf), 0);
		size_t count = 99;
		EXPECT_EQ(aml_binding_check(b, t, &tiling.base, buf, nullptr, 0,
		                            &count),
		          0);
		EXPECT_EQ(count, 0u);
		aml_tiling_nd_fini(&tiling);
		return NodesOf(buf, kPages);
	}

	static constexpr size_t kPages = 24;
	char *buf = nullptr;
	struct aml_layout bytes;
};

TEST_F(Numa3Binding, SingleInterleaveAndBlockOverTheThreeNodes)
{
	const struct aml_device *all[3] = {node[0], node[1], node[2]};
	std::vector<int> want(kPages);

	AML_BINDING_DEVICES_DECL(single);
	ASSERT_EQ(aml_binding_devices_init(&single, &node[2], 1,
	                                   AML_BINDING_SINGLE,
	                                   AML_BINDING_PAGE),
	          0);
	EXPECT_EQ(ApplyAndCheck(&single.base, 1), std::vector<int>(kPages, 2));

	AML_BINDING_DEVICES_DECL(interleave);
	ASSERT_EQ(aml_binding_devices_init(&interleave, all, 3,
	                                   AML_BINDING_INTERLEAVE,
	                                   AML_BINDING_PAGE),
	          0);
	for (size_t i = 0; i < kPages; i++)
		want[i] = (int)(i % 3); // a binding starts at device 0
	EXPECT_EQ(ApplyAndCheck(&interleave.base, 1), want);

	AML_BINDING_DEVICES_DECL(block);
	ASSERT_EQ(aml_binding_devices_init(&block, all, 3, AML_BINDING_BLOCK,
	                                   AML_BINDING_PAGE),
	          0);
	for (size_t i = 0; i < kPages; i++)
		want[i] = (int)(i * 3 / kPages);
	EXPECT_EQ(ApplyAndCheck(&block.base, 1), want);

	// By tile: tiles of two pages, interleaved.
	AML_BINDING_DEVICES_DECL(tiles);
	ASSERT_EQ(aml_binding_devices_init(&tiles, all, 3,
	                                   AML_BINDING_INTERLEAVE,
	                                   AML_BINDING_TILE),
	          0);
	for (size_t i = 0; i < kPages; i++)
		want[i] = (int)(i / 2 % 3);
	EXPECT_EQ(ApplyAndCheck(&tiles.base, 2), want);
	// The data came along through every move.
	EXPECT_EQ(buf[kPages * Page() - 1], 0x44);
}

TEST_F(Numa3Binding, CheckFindsAPageMovedBehindTheBindingsBack)
{
	const struct aml_device *all[3] = {node[0], node[1], node[2]};
	AML_BINDING_DEVICES_DECL(b);
	ASSERT_EQ(aml_binding_devices_init(&b, all, 3, AML_BINDING_INTERLEAVE,
	                                   AML_BINDING_PAGE),
	          0);
	ApplyAndCheck(&b.base, 1);
	// Page 7 belongs on node 1: send it to node 2 with move_pages, and
	// page 12 (node 0) to node 1 with aml_device_move.
	ASSERT_EQ(aml_vm::MovePageBehindAmlsBack(buf + 7 * Page(), 2), 2);
	ASSERT_EQ(aml_device_move(node[1], buf + 12 * Page(), Page()), 0);
	AML_TILING_ND_DECL(tiling);
	size_t tile[1] = {Page()};
	ASSERT_EQ(aml_tiling_nd_init(&tiling, &bytes, tile,
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	size_t misplaced[4] = {}, count = 0;
	ASSERT_EQ(aml_binding_check(&b.base, t, &tiling.base, buf, misplaced, 4,
	                            &count),
	          0);
	EXPECT_EQ(count, 2u);
	EXPECT_EQ(misplaced[0], 7u);
	EXPECT_EQ(misplaced[1], 12u);
	// Applying again puts them back.
	ASSERT_EQ(aml_binding_apply(&b.base, &tiling.base, buf), 0);
	ASSERT_EQ(aml_binding_check(&b.base, t, &tiling.base, buf, misplaced, 4,
	                            &count),
	          0);
	EXPECT_EQ(count, 0u);
	EXPECT_EQ(NodesOf(buf + 7 * Page(), 1), std::vector<int>(1, 1));
	aml_tiling_nd_fini(&tiling);
}

} // namespace
