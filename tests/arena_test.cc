// SPDX-License-Identifier: BSD-3-Clause
// Arenas through the generic API: every implementation (bump, pool, buddy,
// jemalloc, locked) on an area over node 0 of this machine and on the
// MCDRAM of an emulated knl-flat. libc semantics, growth and give-back,
// reset, a randomized allocate/free run, and a bad-input table.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/arena.h>
#include <aml/arena/buddy.h>
#include <aml/arena/bump.h>
#include <aml/arena/jemalloc.h>
#include <aml/arena/locked.h>
#include <aml/arena/pool.h>
#include <aml/arena/scalable.h>

#include "tests/testing/locked_buddy.h"

namespace
{

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;

// What an implementation can do, so that one fixture tests them all.
struct ArenaKind {
	const char *name;
	// Largest malloc() size and alignment it serves.
	size_t max_size;
	size_t max_align;
	bool has_reset;
	// free() of every block gives regions back to the area.
	bool gives_back;
	std::function<int(struct aml_arena **, const struct aml_area *)> create;
	std::function<void(struct aml_arena **)> destroy;
};

// The pool's objects: 256 B aligned to 64, in 64 KiB slabs.
constexpr size_t kPoolObject = 256;
constexpr size_t kPoolAlign = 64;

std::vector<ArenaKind> Kinds()
{
	return {
	        {"bump", SIZE_MAX, AML_ARENA_ALIGNMENT_MAX, true, false,
	         [](struct aml_arena **out, const struct aml_area *a) {
		         return aml_arena_bump_create(out, a, 256 * kKiB);
	         },
	         aml_arena_bump_destroy},
	        {"pool", kPoolObject, kPoolAlign, true, true,
	         [](struct aml_arena **out, const struct aml_area *a) {
		         return aml_arena_pool_create(out, a, kPoolObject,
		                                      kPoolAlign, 0);
	         },
	         aml_arena_pool_destroy},
	        {"buddy", SIZE_MAX, AML_ARENA_ALIGNMENT_MAX, true, true,
	         [](struct aml_arena **out, const struct aml_area *a) {
		         return aml_arena_buddy_create(out, a, 256 * kKiB);
	         },
	         aml_arena_buddy_destroy},
	        {"jemalloc", SIZE_MAX, AML_ARENA_ALIGNMENT_MAX, false, false,
	         [](struct aml_arena **out, const struct aml_area *a) {
		         return aml_arena_jemalloc_create(out, a, 4 * kMiB);
	         },
	         aml_arena_jemalloc_destroy},
	        {"scalable", SIZE_MAX, AML_ARENA_ALIGNMENT_MAX, false, true,
	         aml_arena_scalable_create, aml_arena_scalable_destroy},
	        {"thread_safe", SIZE_MAX, AML_ARENA_ALIGNMENT_MAX, false, true,
	         aml_arena_thread_safe_create, aml_arena_thread_safe_destroy},
	        {"locked_buddy", SIZE_MAX, AML_ARENA_ALIGNMENT_MAX, true, true,
	         aml_testing::LockedBuddyCreate,
	         aml_testing::LockedBuddyDestroy},
	};
}

enum class Where { kNode0, kEmulatedMcdram };

struct Param {
	ArenaKind kind;
	Where where;
};

std::string ParamName(const ::testing::TestParamInfo<Param> &info)
{
	return std::string(info.param.kind.name) +
	       (info.param.where == Where::kNode0 ? "_Node0" : "_Mcdram");
}

// gtest prints a parameter whose type it does not know byte by byte,
// padding and std::function internals included, which valgrind reports as
// reads of uninitialised memory.
void PrintTo(const Param &p, std::ostream *os)
{
	*os << ParamName(::testing::TestParamInfo<Param>(p, 0));
}

std::vector<Param> Params()
{
	std::vector<Param> out;
	for (const ArenaKind &k : Kinds())
		for (Where w : {Where::kNode0, Where::kEmulatedMcdram})
			out.push_back({k, w});
	return out;
}

class Arena : public ::testing::TestWithParam<Param>
{
      protected:
	void SetUp() override
	{
		const Param &p = GetParam();
		if (p.where == Where::kNode0) {
			topo = aml_topology_default();
			ASSERT_NE(topo, nullptr);
			dev = aml_topology_device_of_node(topo, 0);
			if (dev == nullptr)
				dev = aml_topology_device(topo, 0);
		} else {
			struct aml_emu_error error = {};
			ASSERT_EQ(aml_emu_create(&owned,
			                         "knl-flat;scale=1/1024",
			                         &error),
			          0)
			        << error.reason;
			topo = owned;
			dev = aml_topology_device(topo, 1); // MCDRAM, 16 MiB
		}
		ASSERT_NE(dev, nullptr);
		ASSERT_EQ(aml_area_device_init(&area, topo, &dev, 1,
		                               AML_AREA_BIND, nullptr),
		          0);
		int err = p.kind.create(&arena, &area.base);
		if (err == AML_ENOTSUP)
			GTEST_SKIP() << p.kind.name << ": aml built without "
			             << "memkind";
		ASSERT_EQ(err, 0) << aml_errname(err);
	}
	void TearDown() override
	{
		if (arena != nullptr)
			GetParam().kind.destroy(&arena);
		aml_area_device_fini(&area);
		if (owned != nullptr)
			aml_topology_destroy(&owned);
	}
	const ArenaKind &Kind() const
	{
		return GetParam().kind;
	}
	size_t Clamp(size_t size) const
	{
		return size < Kind().max_size ? size : Kind().max_size;
	}
	struct aml_arena_stats Stats() const
	{
		struct aml_arena_stats s = {};
		EXPECT_EQ(aml_arena_stats(arena, &s), 0);
		return s;
	}
	// Resident bytes on the emulated device; 0 on the real machine.
	uint64_t Resident() const
	{
		if (owned == nullptr)
			return 0;
		struct aml_emu_stats s = {};
		EXPECT_EQ(aml_emu_stats(owned, 1, &s), 0);
		return s.resident_bytes;
	}

	const struct aml_topology *topo = nullptr;
	struct aml_topology *owned = nullptr;
	const struct aml_device *dev = nullptr;
	AML_AREA_DEVICE_DECL(area);
	struct aml_arena *arena = nullptr;
};

TEST_P(Arena, MallocZeroGivesDistinctFreeableBlocks)
{
	void *a = aml_arena_malloc(arena, 0);
	void *b = aml_arena_malloc(arena, 0);
	ASSERT_NE(a, nullptr);
	ASSERT_NE(b, nullptr);
	EXPECT_NE(a, b);
	size_t usable = 0;
	EXPECT_EQ(aml_arena_usable_size(arena, a, &usable), 0);
	EXPECT_GE(usable, 1u);
	EXPECT_EQ(aml_arena_free(arena, a), 0);
	EXPECT_EQ(aml_arena_free(arena, b), 0);
	EXPECT_EQ(aml_arena_free(arena, nullptr), 0);
}

TEST_P(Arena, CallocZeroesEvenReusedMemory)
{
	size_t n = Clamp(200);
	for (int round = 0; round < 3; round++) {
		auto *p = static_cast<unsigned char *>(
		        aml_arena_calloc(arena, 1, n));
		ASSERT_NE(p, nullptr);
		for (size_t i = 0; i < n; i++)
			ASSERT_EQ(p[i], 0)
			        << "byte " << i << " round " << round;
		std::memset(p, 0xa5, n);
		EXPECT_EQ(aml_arena_free(arena, p), 0);
	}
	auto *q = static_cast<uint32_t *>(aml_arena_calloc(arena, 4, n / 4));
	ASSERT_NE(q, nullptr);
	for (size_t i = 0; i < n / 4; i++)
		ASSERT_EQ(q[i], 0u);
	EXPECT_EQ(aml_arena_free(arena, q), 0);
}

TEST_P(Arena, AlignmentHonoured)
{
	std::vector<void *> blocks;
	for (size_t align = 1; align <= 2 * kMiB; align *= 2) {
		if (align > Kind().max_align)
			break;
		void *p = aml_arena_aligned_alloc(arena, align, Clamp(24));
		ASSERT_NE(p, nullptr)
		        << "align " << align << ": " << aml_errname(aml_errno);
		EXPECT_EQ((uintptr_t)p % align, 0u) << "align " << align;
		std::memset(p, 1, Clamp(24));
		blocks.push_back(p);
		void *q = aml_arena_malloc(arena, Clamp(40));
		ASSERT_NE(q, nullptr);
		EXPECT_EQ((uintptr_t)q % AML_ARENA_ALIGNMENT, 0u);
		blocks.push_back(q);
	}
	for (void *p : blocks)
		EXPECT_EQ(aml_arena_free(arena, p), 0);
}

TEST_P(Arena, ReallocKeepsDataOnGrowthAndShrink)
{
	auto *p = static_cast<unsigned char *>(
	        aml_arena_realloc(arena, nullptr, 16));
	ASSERT_NE(p, nullptr); // realloc(NULL) is malloc
	for (int i = 0; i < 16; i++)
		p[i] = (unsigned char)i;
	size_t sizes[] = {Clamp(100), Clamp(5000),      Clamp(300 * kKiB),
	                  8,          Clamp(70 * kKiB), 0};
	size_t kept = 16;
	for (size_t size : sizes) {
		auto *q = static_cast<unsigned char *>(
		        aml_arena_realloc(arena, p, size));
		ASSERT_NE(q, nullptr) << size << ": " << aml_errname(aml_errno);
		size_t check = size < kept ? size : kept;
		for (size_t i = 0; i < check; i++)
			ASSERT_EQ(q[i], (unsigned char)i) << size;
		for (size_t i = check; i < size && i < 16; i++)
			q[i] = (unsigned char)i;
		kept = size < 16 ? size : 16;
		p = q;
	}
	EXPECT_EQ(aml_arena_free(arena, p), 0); // realloc(p, 0) kept a block
}

TEST_P(Arena, GrowsPastTheFirstRegionAndGivesMemoryBack)
{
	uint64_t resident0 = Resident();
	std::vector<void *> blocks;
	size_t size = Clamp(8 * kKiB);
	while (Stats().maps < 3) {
		void *p = aml_arena_malloc(arena, size);
		ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
		std::memset(p, 7, size);
		blocks.push_back(p);
		ASSERT_LT(blocks.size(), 100000u);
	}
	EXPECT_GT(Stats().mapped_bytes, 0u);
	if (owned != nullptr) {
		EXPECT_GT(Resident(), resident0);
	}
	for (void *p : blocks)
		ASSERT_EQ(aml_arena_free(arena, p), 0);
	if (Kind().gives_back) {
		struct aml_arena_stats s = Stats();
		EXPECT_GT(s.unmaps, 0u);
		EXPECT_LT(s.mapped_bytes, s.peak_mapped_bytes);
		if (owned != nullptr) {
			EXPECT_LT(Resident(), resident0 + s.peak_mapped_bytes);
		}
	}
}

TEST_P(Arena, ResetForgetsEverything)
{
	if (!Kind().has_reset) {
		EXPECT_EQ(aml_arena_reset(arena), AML_ENOTSUP);
		return;
	}
	size_t size = Clamp(48 * kKiB);
	std::vector<void *> blocks;
	while (Stats().maps < 3) {
		void *p = aml_arena_malloc(arena, size);
		ASSERT_NE(p, nullptr);
		blocks.push_back(p);
	}
	size_t peak = Stats().mapped_bytes;
	EXPECT_EQ(aml_arena_reset(arena), 0);
	EXPECT_LT(Stats().mapped_bytes, peak);
	// Old pointers are no longer blocks, unless the memory was reused.
	EXPECT_EQ(aml_arena_free(arena, blocks.back()), AML_EINVAL);
	void *p = aml_arena_malloc(arena, size);
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(aml_arena_free(arena, p), 0);
	EXPECT_EQ(aml_arena_reset(arena), 0);
}

// Thousands of random mallocs, reallocs and frees; every live block holds
// a pattern from its id, checked before it goes, and no two overlap.
TEST_P(Arena, RandomizedBlocksNeverOverlapAndKeepTheirContents)
{
	struct Block {
		unsigned char *p;
		size_t size;
		uint32_t id;
	};
	std::mt19937 rng(12345);
	std::vector<Block> live;
	uint32_t next_id = 1;
	auto fill = [](const Block &b) {
		for (size_t i = 0; i < b.size; i++)
			b.p[i] = (unsigned char)(b.id * 31 + i);
	};
	auto check = [](const Block &b) {
		for (size_t i = 0; i < b.size; i++)
			if (b.p[i] != (unsigned char)(b.id * 31 + i))
				return false;
		return true;
	};
	auto random_size = [&]() {
		// Log-uniform from 1 B to 64 KiB.
		size_t bits = rng() % 17;
		size_t s = ((size_t)1 << bits) + rng() % ((size_t)1 << bits);
		size_t max = Kind().has_reset && !Kind().gives_back
		                     ? 4 * kKiB // bump reuses nothing
		                     : 64 * kKiB;
		return Clamp(s > max ? max : s);
	};
	for (int op = 0; op < 5000; op++) {
		unsigned what = rng() % 10;
		if (live.size() >= 256)
			what = 9; // keep the live set within the device
		if (what < 4 || live.empty()) {
			Block b = {nullptr, random_size(), next_id++};
			size_t align = (size_t)1 << (rng() % 8);
			if (align > Kind().max_align)
				align = Kind().max_align;
			b.p = static_cast<unsigned char *>(
			        rng() % 2 ? aml_arena_malloc(arena, b.size)
			                  : aml_arena_aligned_alloc(
			                            arena, align, b.size));
			ASSERT_NE(b.p, nullptr)
			        << op << ": " << aml_errname(aml_errno);
			fill(b);
			live.push_back(b);
		} else if (what < 6) {
			size_t i = rng() % live.size();
			Block &b = live[i];
			ASSERT_TRUE(check(b)) << "block " << b.id;
			size_t size = random_size();
			auto *q = static_cast<unsigned char *>(
			        aml_arena_realloc(arena, b.p, size));
			ASSERT_NE(q, nullptr) << aml_errname(aml_errno);
			b.p = q;
			b.size = size;
			b.id = next_id++;
			fill(b);
		} else {
			size_t i = rng() % live.size();
			ASSERT_TRUE(check(live[i])) << "block " << live[i].id;
			ASSERT_EQ(aml_arena_free(arena, live[i].p), 0);
			live[i] = live.back();
			live.pop_back();
		}
		if (op % 500 == 0) {
			std::vector<Block> sorted = live;
			std::sort(sorted.begin(), sorted.end(),
			          [](const Block &a, const Block &b) {
				          return a.p < b.p;
			          });
			for (size_t i = 1; i < sorted.size(); i++)
				ASSERT_LE(sorted[i - 1].p + sorted[i - 1].size,
				          sorted[i].p)
				        << "overlap at op " << op;
		}
	}
	for (const Block &b : live) {
		ASSERT_TRUE(check(b)) << "block " << b.id;
		ASSERT_EQ(aml_arena_free(arena, b.p), 0);
	}
}

// One row per bad call: the documented code, and nothing changed.
TEST_P(Arena, BadInputIsRejectedAndChangesNothing)
{
	auto *good = static_cast<unsigned char *>(
	        aml_arena_malloc(arena, Clamp(128)));
	ASSERT_NE(good, nullptr);
	std::memset(good, 0x3c, Clamp(128));
	void *freed = aml_arena_malloc(arena, Clamp(64));
	void *keep = aml_arena_malloc(arena, Clamp(64)); // freed is not last
	ASSERT_EQ(aml_arena_free(arena, freed), 0);
	int on_stack = 0;
	void *from_libc = std::malloc(64);
	struct aml_arena_stats before = Stats();

	struct PtrRow {
		const char *what;
		void *ptr;
	};
	std::vector<PtrRow> bad_ptrs = {
	        {"stack", &on_stack},
	        {"libc", from_libc},
	        {"interior", good + 32},
	        {"misaligned", good + 1},
	        {"double free", freed},
	        {"wild", reinterpret_cast<void *>(uintptr_t{0x1000})},
	};
	for (const PtrRow &row : bad_ptrs) {
		// A double free that the implementation cannot see is the
		// only excuse; every arena here sees it (freed is not last).
		EXPECT_EQ(aml_arena_free(arena, row.ptr), AML_EINVAL)
		        << row.what;
		aml_errno = 0;
		EXPECT_EQ(aml_arena_realloc(arena, row.ptr, 10), nullptr)
		        << row.what;
		EXPECT_EQ(aml_errno, AML_EINVAL) << row.what;
		size_t usable = 99;
		EXPECT_EQ(aml_arena_usable_size(arena, row.ptr, &usable),
		          AML_EINVAL)
		        << row.what;
		EXPECT_EQ(usable, 0u) << row.what;
	}

	struct AllocRow {
		const char *what;
		std::function<void *()> call;
	};
	std::vector<AllocRow> bad_allocs = {
	        {"malloc NULL", [] { return aml_arena_malloc(nullptr, 8); }},
	        {"malloc SIZE_MAX",
	         [&] { return aml_arena_malloc(arena, SIZE_MAX); }},
	        {"malloc PTRDIFF_MAX+1",
	         [&] {
		         return aml_arena_malloc(arena,
		                                 (size_t)PTRDIFF_MAX + 1);
	         }},
	        {"calloc NULL", [] { return aml_arena_calloc(nullptr, 1, 8); }},
	        {"calloc overflow",
	         [&] { return aml_arena_calloc(arena, SIZE_MAX / 2, 3); }},
	        {"calloc overflow 2",
	         [&] {
		         return aml_arena_calloc(arena, 1 << 20,
		                                 SIZE_MAX >> 10);
	         }},
	        {"aligned NULL",
	         [] { return aml_arena_aligned_alloc(nullptr, 16, 8); }},
	        {"align 0",
	         [&] { return aml_arena_aligned_alloc(arena, 0, 8); }},
	        {"align 3",
	         [&] { return aml_arena_aligned_alloc(arena, 3, 8); }},
	        {"align 48",
	         [&] { return aml_arena_aligned_alloc(arena, 48, 8); }},
	        {"align 2^62",
	         [&] {
		         return aml_arena_aligned_alloc(arena, (size_t)1 << 62,
		                                        8);
	         }},
	        {"align SIZE_MAX",
	         [&] { return aml_arena_aligned_alloc(arena, SIZE_MAX, 8); }},
	        {"realloc NULL arena",
	         [&] { return aml_arena_realloc(nullptr, good, 8); }},
	        {"realloc SIZE_MAX",
	         [&] { return aml_arena_realloc(arena, good, SIZE_MAX); }},
	};
	for (const AllocRow &row : bad_allocs) {
		aml_errno = 0;
		EXPECT_EQ(row.call(), nullptr) << row.what;
		EXPECT_EQ(aml_errno, AML_EINVAL) << row.what;
	}
	// Sizes and alignments beyond what the arena serves.
	if (Kind().max_size != SIZE_MAX) {
		aml_errno = 0;
		EXPECT_EQ(aml_arena_malloc(arena, Kind().max_size + 1),
		          nullptr);
		EXPECT_EQ(aml_errno, AML_EINVAL);
		EXPECT_EQ(aml_arena_realloc(arena, good, Kind().max_size + 1),
		          nullptr);
		EXPECT_EQ(aml_errno, AML_EINVAL);
	}
	if (Kind().max_align < AML_ARENA_ALIGNMENT_MAX) {
		aml_errno = 0;
		EXPECT_EQ(
		        aml_arena_aligned_alloc(arena, 2 * Kind().max_align, 8),
		        nullptr);
		EXPECT_EQ(aml_errno, AML_EINVAL);
	}

	EXPECT_EQ(aml_arena_free(nullptr, good), AML_EINVAL);
	EXPECT_EQ(aml_arena_reset(nullptr), AML_EINVAL);
	struct aml_arena_stats scratch;
	EXPECT_EQ(aml_arena_stats(nullptr, &scratch), AML_EINVAL);
	EXPECT_EQ(aml_arena_stats(arena, nullptr), AML_EINVAL);
	size_t usable;
	EXPECT_EQ(aml_arena_usable_size(nullptr, good, &usable), AML_EINVAL);
	EXPECT_EQ(aml_arena_usable_size(arena, nullptr, &usable), AML_EINVAL);
	EXPECT_EQ(aml_arena_usable_size(arena, good, nullptr), AML_EINVAL);

	// Nothing changed: same mappings, the good block intact and usable.
	struct aml_arena_stats after = Stats();
	EXPECT_EQ(after.mapped_bytes, before.mapped_bytes);
	EXPECT_EQ(after.maps, before.maps);
	for (size_t i = 0; i < Clamp(128); i++)
		ASSERT_EQ(good[i], 0x3c);
	EXPECT_EQ(aml_arena_free(arena, good), 0);
	EXPECT_EQ(aml_arena_free(arena, keep), 0);
	std::free(from_libc);
}

// Sizes up to PTRDIFF_MAX are valid requests that no area can map:
// AML_ENOMEM, never AML_EINVAL (issue #13: the buddy arena said EINVAL just
// at or below PTRDIFF_MAX), whatever the alignment, and nothing changes.
TEST_P(Arena, SizesNearPtrdiffMaxAreEnomemAndChangeNothing)
{
	auto *good = static_cast<unsigned char *>(
	        aml_arena_malloc(arena, Clamp(64)));
	ASSERT_NE(good, nullptr);
	std::memset(good, 0x5a, Clamp(64));
	struct aml_arena_stats before = Stats();
	const size_t max = PTRDIFF_MAX, page = aml_page_size();
	// A pool serves its object size only: larger is AML_EINVAL.
	int want = Kind().max_size < max ? AML_EINVAL : AML_ENOMEM;
	struct Row {
		std::string what;
		std::function<void *()> call;
	};
	std::vector<Row> rows;
	for (size_t size : {max, max - 1, max - 15, max - page, max - page - 1,
	                    max - 2 * page, max / 2 + 1, max >> 8}) {
		std::string s = std::to_string(max - size);
		rows.push_back({"malloc PTRDIFF_MAX-" + s,
		                [=] { return aml_arena_malloc(arena, size); }});
		rows.push_back({"calloc PTRDIFF_MAX-" + s, [=] {
			                return aml_arena_calloc(arena, 1, size);
		                }});
		rows.push_back(
		        {"realloc PTRDIFF_MAX-" + s,
		         [=] { return aml_arena_realloc(arena, good, size); }});
		for (size_t align : {(size_t)32, page, (size_t)2 << 20,
		                     AML_ARENA_ALIGNMENT_MAX}) {
			if (align > Kind().max_align)
				break;
			rows.push_back({"aligned " + std::to_string(align) +
			                        " PTRDIFF_MAX-" + s,
			                [=] {
				                return aml_arena_aligned_alloc(
				                        arena, align, size);
			                }});
		}
	}
	for (const Row &row : rows) {
		aml_errno = 0;
		EXPECT_EQ(row.call(), nullptr) << row.what;
		EXPECT_EQ(aml_errno, want)
		        << row.what << ": " << aml_errname(aml_errno);
	}
	struct aml_arena_stats after = Stats();
	EXPECT_EQ(after.mapped_bytes, before.mapped_bytes);
	EXPECT_EQ(after.maps, before.maps);
	for (size_t i = 0; i < Clamp(64); i++)
		ASSERT_EQ(good[i], 0x5a);
	EXPECT_EQ(aml_arena_free(arena, good), 0);
}

INSTANTIATE_TEST_SUITE_P(AllArenas,
                         Arena,
                         ::testing::ValuesIn(Params()),
                         ParamName);

// ---- Per-implementation behaviour ----

class ArenaEmulated : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		struct aml_emu_error error = {};
		// MCDRAM: 64 MiB, room for jemalloc's arenas of two threads.
		ASSERT_EQ(aml_emu_create(&t, "knl-flat;scale=1/256", &error),
		          0);
		dev = aml_topology_device(t, 1);
		ASSERT_EQ(aml_area_device_init(&area, t, &dev, 1, AML_AREA_BIND,
		                               nullptr),
		          0);
	}
	void TearDown() override
	{
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
};

TEST_F(ArenaEmulated, InitRejectsBadArguments)
{
	AML_ARENA_BUMP_DECL(bump);
	AML_ARENA_POOL_DECL(pool);
	AML_ARENA_BUDDY_DECL(buddy);
	AML_ARENA_LOCKED_DECL(locked);
	AML_ARENA_JEMALLOC_DECL(je);
	size_t page = aml_page_size();
	EXPECT_EQ(aml_arena_bump_init(nullptr, &area.base, 0), AML_EINVAL);
	EXPECT_EQ(aml_arena_bump_init(&bump, nullptr, 0), AML_EINVAL);
	EXPECT_EQ(aml_arena_bump_init(&bump, &area.base, page + 1), AML_EINVAL);
	EXPECT_EQ(aml_arena_pool_init(nullptr, &area.base, 8, 0, 0),
	          AML_EINVAL);
	EXPECT_EQ(aml_arena_pool_init(&pool, nullptr, 8, 0, 0), AML_EINVAL);
	EXPECT_EQ(aml_arena_pool_init(&pool, &area.base, 0, 0, 0), AML_EINVAL);
	EXPECT_EQ(aml_arena_pool_init(&pool, &area.base, 8, 3, 0), AML_EINVAL);
	EXPECT_EQ(aml_arena_pool_init(&pool, &area.base, 8, 0, 3 * page),
	          AML_EINVAL);
	EXPECT_EQ(
	        aml_arena_pool_init(&pool, &area.base, 64 * kKiB, 0, 64 * kKiB),
	        AML_EINVAL); // no room for the header
	EXPECT_EQ(aml_arena_pool_init(&pool, &area.base, 8, 1 << 20, 0),
	          AML_EINVAL);
	EXPECT_EQ(aml_arena_buddy_init(nullptr, &area.base, 0), AML_EINVAL);
	EXPECT_EQ(aml_arena_buddy_init(&buddy, nullptr, 0), AML_EINVAL);
	EXPECT_EQ(aml_arena_buddy_init(&buddy, &area.base, 3 * page),
	          AML_EINVAL);
	EXPECT_EQ(aml_arena_buddy_init(&buddy, &area.base, page / 2),
	          AML_EINVAL);
	EXPECT_EQ(aml_arena_buddy_init(&buddy, &area.base, (size_t)1 << 31),
	          AML_EINVAL);
	EXPECT_EQ(aml_arena_locked_init(nullptr, &bump.base), AML_EINVAL);
	EXPECT_EQ(aml_arena_locked_init(&locked, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_arena_jemalloc_init(nullptr, &area.base, 0), AML_EINVAL);
	EXPECT_EQ(aml_arena_jemalloc_init(&je, nullptr, 0), AML_EINVAL);

	struct aml_arena *out = reinterpret_cast<struct aml_arena *>(1);
	EXPECT_EQ(aml_arena_bump_create(&out, nullptr, 0), AML_EINVAL);
	EXPECT_EQ(out, nullptr);
	EXPECT_EQ(aml_arena_bump_create(nullptr, &area.base, 0), AML_EINVAL);
	// Destroying NULL, &NULL or another kind is a no-op.
	aml_arena_bump_destroy(nullptr);
	out = nullptr;
	aml_arena_pool_destroy(&out);
	ASSERT_EQ(aml_arena_buddy_create(&out, &area.base, 0), 0);
	aml_arena_bump_destroy(&out);
	EXPECT_NE(out, nullptr);
	aml_arena_buddy_destroy(&out);
	EXPECT_EQ(out, nullptr);
}

TEST_F(ArenaEmulated, DeclInitFiniGiveEverythingBack)
{
	uint64_t r0 = Resident();
	AML_ARENA_BUDDY_DECL(buddy);
	ASSERT_EQ(aml_arena_buddy_init(&buddy, &area.base, 0), 0);
	void *big = aml_arena_malloc(&buddy.base, 3 * kMiB); // large block
	void *small = aml_arena_malloc(&buddy.base, 100);
	ASSERT_NE(big, nullptr);
	ASSERT_NE(small, nullptr);
	std::memset(big, 1, 3 * kMiB); // resident once touched
	EXPECT_GE(Resident(), r0 + 3 * kMiB);
	EXPECT_EQ(aml_arena_free(&buddy.base, big), 0);
	EXPECT_LT(Resident(), r0 + 3 * kMiB);
	aml_arena_buddy_fini(&buddy);
	EXPECT_EQ(Resident(), r0);
}

// Every arena after fini: each call is AML_EINVAL and maps nothing, as
// with any other invalid handle (issue #13: jemalloc's dereferenced NULL),
// and the storage can be initialised again.
TEST_F(ArenaEmulated, UseAfterFiniIsEinvalAndMapsNothing)
{
	AML_ARENA_BUMP_DECL(bump);
	AML_ARENA_POOL_DECL(pool);
	AML_ARENA_BUDDY_DECL(buddy);
	AML_ARENA_JEMALLOC_DECL(je);
	AML_ARENA_POOL_DECL(inner);
	AML_ARENA_LOCKED_DECL(locked);
	AML_ARENA_SCALABLE_DECL(scalable);
	struct Kind {
		const char *name;
		struct aml_arena *arena;
		std::function<int()> init;
		std::function<void()> fini;
	};
	std::vector<Kind> kinds = {
	        {"bump", &bump.base,
	         [&] { return aml_arena_bump_init(&bump, &area.base, 0); },
	         [&] { aml_arena_bump_fini(&bump); }},
	        {"pool", &pool.base,
	         [&] {
		         return aml_arena_pool_init(&pool, &area.base, 64, 0,
		                                    0);
	         },
	         [&] { aml_arena_pool_fini(&pool); }},
	        {"buddy", &buddy.base,
	         [&] { return aml_arena_buddy_init(&buddy, &area.base, 0); },
	         [&] { aml_arena_buddy_fini(&buddy); }},
	        {"jemalloc", &je.base,
	         [&] {
		         return aml_arena_jemalloc_init(&je, &area.base,
		                                        4 * kMiB);
	         },
	         [&] { aml_arena_jemalloc_fini(&je); }},
	        {"scalable", &scalable.base,
	         [&] { return aml_arena_scalable_init(&scalable, &area.base); },
	         [&] { aml_arena_scalable_fini(&scalable); }},
	        {"locked", &locked.base,
	         [&] {
		         int err = aml_arena_pool_init(&inner, &area.base, 64,
		                                       0, 0);
		         return err != 0 ? err
		                         : aml_arena_locked_init(&locked,
		                                                 &inner.base);
	         },
	         [&] {
		         aml_arena_locked_fini(&locked);
		         aml_arena_pool_fini(&inner);
	         }},
	};
	for (const Kind &k : kinds) {
		SCOPED_TRACE(k.name);
		int err = k.init();
		if (err == AML_ENOTSUP)
			continue; // jemalloc without memkind
		ASSERT_EQ(err, 0);
		void *p = aml_arena_malloc(k.arena, 64);
		ASSERT_NE(p, nullptr);
		k.fini();
		EXPECT_EQ(Resident(), 0u);
		aml_errno = 0;
		EXPECT_EQ(aml_arena_malloc(k.arena, 64), nullptr);
		EXPECT_EQ(aml_errno, AML_EINVAL);
		aml_errno = 0;
		EXPECT_EQ(aml_arena_aligned_alloc(k.arena, 4096, 64), nullptr);
		EXPECT_EQ(aml_errno, AML_EINVAL);
		aml_errno = 0;
		EXPECT_EQ(aml_arena_calloc(k.arena, 2, 64), nullptr);
		EXPECT_EQ(aml_errno, AML_EINVAL);
		aml_errno = 0;
		EXPECT_EQ(aml_arena_realloc(k.arena, nullptr, 64), nullptr);
		EXPECT_EQ(aml_errno, AML_EINVAL);
		aml_errno = 0;
		EXPECT_EQ(aml_arena_realloc(k.arena, p, 128), nullptr);
		EXPECT_EQ(aml_errno, AML_EINVAL);
		EXPECT_EQ(aml_arena_free(k.arena, p), AML_EINVAL);
		size_t usable = 1;
		EXPECT_EQ(aml_arena_usable_size(k.arena, p, &usable),
		          AML_EINVAL);
		EXPECT_EQ(aml_arena_reset(k.arena), AML_EINVAL);
		struct aml_arena_stats st;
		EXPECT_EQ(aml_arena_stats(k.arena, &st), AML_EINVAL);
		EXPECT_EQ(Resident(), 0u);
		k.fini(); // twice is harmless
		// The storage works again once initialised.
		ASSERT_EQ(k.init(), 0);
		p = aml_arena_malloc(k.arena, 64);
		ASSERT_NE(p, nullptr);
		EXPECT_EQ(aml_arena_free(k.arena, p), 0);
		k.fini();
		EXPECT_EQ(Resident(), 0u);
	}
}

TEST_F(ArenaEmulated, BuddyCoalescesAndUnmapsEmptyRegions)
{
	AML_ARENA_BUDDY_DECL(buddy);
	ASSERT_EQ(aml_arena_buddy_init(&buddy, &area.base, 64 * kKiB), 0);
	struct aml_arena *a = &buddy.base;
	// Fill three regions with 64 B chunks, free in a scattered order.
	std::vector<void *> blocks;
	for (size_t i = 0; i < 3 * 1024; i++)
		blocks.push_back(aml_arena_malloc(a, 64));
	struct aml_arena_stats s;
	ASSERT_EQ(aml_arena_stats(a, &s), 0);
	EXPECT_EQ(s.mapped_bytes, 3 * 64 * kKiB);
	for (size_t i = 0; i < blocks.size(); i += 2)
		ASSERT_EQ(aml_arena_free(a, blocks[i]), 0);
	for (size_t i = 1; i < blocks.size(); i += 2)
		ASSERT_EQ(aml_arena_free(a, blocks[i]), 0);
	ASSERT_EQ(aml_arena_stats(a, &s), 0);
	EXPECT_EQ(s.mapped_bytes, 64 * kKiB); // one empty region is kept
	// Coalesced all the way: a whole region is one chunk again.
	void *whole = aml_arena_malloc(a, 64 * kKiB);
	ASSERT_NE(whole, nullptr);
	ASSERT_EQ(aml_arena_stats(a, &s), 0);
	EXPECT_EQ(s.maps, 3u);
	EXPECT_EQ(aml_arena_free(a, whole), 0);
	aml_arena_buddy_fini(&buddy);
}

// Freed chunks of 64 B to 4 KiB are cached and reused as they are; a
// cached chunk is not live (double free), and the cache neither keeps a
// region mapped nor makes the arena map one more.
TEST_F(ArenaEmulated, BuddyCacheReusesChunksAndMapsNothingMore)
{
	AML_ARENA_BUDDY_DECL(buddy);
	ASSERT_EQ(aml_arena_buddy_init(&buddy, &area.base, 64 * kKiB), 0);
	struct aml_arena *a = &buddy.base;
	void *p = aml_arena_malloc(a, 100);
	ASSERT_NE(p, nullptr);
	ASSERT_EQ(aml_arena_free(a, p), 0);
	EXPECT_EQ(aml_arena_free(a, p), AML_EINVAL);
	size_t usable = 0;
	EXPECT_EQ(aml_arena_usable_size(a, p, &usable), AML_EINVAL);
	void *q = aml_arena_malloc(a, 128);
	EXPECT_EQ(q, p);
	ASSERT_EQ(aml_arena_free(a, q), 0);
	// Two regions of 1 KiB blocks, freed: the second region goes back
	// although some of its chunks were cached.
	std::vector<void *> blocks;
	for (size_t i = 0; i < 128; i++) {
		blocks.push_back(aml_arena_malloc(a, kKiB));
		ASSERT_NE(blocks.back(), nullptr);
	}
	struct aml_arena_stats s;
	ASSERT_EQ(aml_arena_stats(a, &s), 0);
	EXPECT_EQ(s.mapped_bytes, 2 * 64 * kKiB);
	for (void *b : blocks)
		ASSERT_EQ(aml_arena_free(a, b), 0);
	ASSERT_EQ(aml_arena_stats(a, &s), 0);
	EXPECT_EQ(s.mapped_bytes, 64 * kKiB);
	// The kept region, with cached chunks, still serves a whole region.
	void *whole = aml_arena_malloc(a, 64 * kKiB);
	ASSERT_NE(whole, nullptr);
	ASSERT_EQ(aml_arena_stats(a, &s), 0);
	EXPECT_EQ(s.maps, 2u);
	EXPECT_EQ(aml_arena_free(a, whole), 0);
	aml_arena_buddy_fini(&buddy);
}

// The default thread-safe arena is the scalable one, shared by threads;
// bad arguments change nothing.
TEST_F(ArenaEmulated, ThreadSafeDefaultIsTheScalableArena)
{
	struct aml_arena *a = nullptr;
	EXPECT_EQ(aml_arena_thread_safe_create(nullptr, &area.base),
	          AML_EINVAL);
	EXPECT_EQ(aml_arena_thread_safe_create(&a, nullptr), AML_EINVAL);
	EXPECT_EQ(a, nullptr);
	ASSERT_EQ(aml_arena_thread_safe_create(&a, &area.base), 0);
	AML_ARENA_SCALABLE_DECL(probe);
	ASSERT_EQ(aml_arena_scalable_init(&probe, &area.base), 0);
	EXPECT_EQ(a->ops, probe.base.ops);
	aml_arena_scalable_fini(&probe);
	std::vector<std::thread> threads;
	std::atomic<int> bad{0};
	for (int t = 0; t < 2; t++)
		threads.emplace_back([&, t] {
			for (size_t i = 0; i < 2000; i++) {
				void *p = aml_arena_malloc(a,
				                           16 + (i + t) % 5000);
				if (p == nullptr || aml_arena_free(a, p) != 0)
					bad++;
			}
		});
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(bad.load(), 0);
	// Another implementation is left alone.
	struct aml_arena *buddy = nullptr;
	ASSERT_EQ(aml_arena_buddy_create(&buddy, &area.base, 0), 0);
	aml_arena_thread_safe_destroy(&buddy);
	EXPECT_NE(buddy, nullptr);
	aml_arena_buddy_destroy(&buddy);
	aml_arena_thread_safe_destroy(nullptr);
	aml_arena_thread_safe_destroy(&a);
	EXPECT_EQ(a, nullptr);
	aml_arena_thread_safe_destroy(&a);
}

TEST_F(ArenaEmulated, PoolGivesEmptySlabsBack)
{
	AML_ARENA_POOL_DECL(pool);
	ASSERT_EQ(aml_arena_pool_init(&pool, &area.base, 1000, 0, 0), 0);
	std::vector<void *> objs;
	struct aml_arena_stats s = {};
	while (s.maps < 4) {
		objs.push_back(aml_arena_malloc(&pool.base, 1000));
		ASSERT_NE(objs.back(), nullptr);
		ASSERT_EQ(aml_arena_stats(&pool.base, &s), 0);
	}
	for (void *p : objs)
		ASSERT_EQ(aml_arena_free(&pool.base, p), 0);
	ASSERT_EQ(aml_arena_stats(&pool.base, &s), 0);
	EXPECT_EQ(s.mapped_bytes, AML_ARENA_POOL_SLAB_SIZE);
	EXPECT_EQ(s.unmaps, 3u);
	aml_arena_pool_fini(&pool);
	EXPECT_EQ(Resident(), 0u);
}

TEST_F(ArenaEmulated, BumpFreesOnlyTheLastBlock)
{
	AML_ARENA_BUMP_DECL(bump);
	ASSERT_EQ(aml_arena_bump_init(&bump, &area.base, 0), 0);
	void *a = aml_arena_malloc(&bump.base, 100);
	void *b = aml_arena_malloc(&bump.base, 100);
	EXPECT_EQ(aml_arena_free(&bump.base, b), 0);
	EXPECT_EQ(aml_arena_malloc(&bump.base, 100), b); // reused
	EXPECT_EQ(aml_arena_free(&bump.base, a), 0);
	void *c = aml_arena_malloc(&bump.base, 100);
	EXPECT_NE(c, a); // not the last block: waits for reset
	// A block larger than a region has its own, unmapped on free.
	void *big = aml_arena_malloc(&bump.base, 3 * kMiB);
	ASSERT_NE(big, nullptr);
	struct aml_arena_stats s;
	ASSERT_EQ(aml_arena_stats(&bump.base, &s), 0);
	EXPECT_EQ(s.maps, 2u);
	EXPECT_EQ(aml_arena_free(&bump.base, big), 0);
	ASSERT_EQ(aml_arena_stats(&bump.base, &s), 0);
	EXPECT_EQ(s.mapped_bytes, AML_ARENA_BUMP_REGION_SIZE);
	aml_arena_bump_fini(&bump);
	EXPECT_EQ(Resident(), 0u);
}

TEST_F(ArenaEmulated, FullDeviceIsEnomemAndChangesNothing)
{
	AML_ARENA_BUDDY_DECL(buddy);
	ASSERT_EQ(aml_arena_buddy_init(&buddy, &area.base, 0), 0);
	aml_errno = 0;
	EXPECT_EQ(aml_arena_malloc(&buddy.base, 128 * kMiB), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	struct aml_arena_stats s;
	ASSERT_EQ(aml_arena_stats(&buddy.base, &s), 0);
	EXPECT_EQ(s.mapped_bytes, 0u);
	aml_arena_buddy_fini(&buddy);
}

TEST_F(ArenaEmulated, LockedArenaSharesAPoolBetweenThreads)
{
	AML_ARENA_POOL_DECL(pool);
	AML_ARENA_LOCKED_DECL(locked);
	ASSERT_EQ(aml_arena_pool_init(&pool, &area.base, 48, 0, 0), 0);
	ASSERT_EQ(aml_arena_locked_init(&locked, &pool.base), 0);
	auto work = [&](int seed) {
		std::vector<void *> mine;
		for (int i = 0; i < 20000; i++) {
			if ((i * seed) % 3 != 2 || mine.empty()) {
				void *p = aml_arena_malloc(&locked.base, 48);
				ASSERT_NE(p, nullptr);
				std::memset(p, seed, 48);
				mine.push_back(p);
			} else {
				void *p = mine.back();
				mine.pop_back();
				ASSERT_EQ(static_cast<unsigned char *>(p)[47],
				          seed);
				ASSERT_EQ(aml_arena_free(&locked.base, p), 0);
			}
		}
		for (void *p : mine)
			ASSERT_EQ(aml_arena_free(&locked.base, p), 0);
	};
	std::thread t1(work, 1), t2(work, 5);
	t1.join();
	t2.join();
	aml_arena_locked_fini(&locked);
	aml_arena_pool_fini(&pool);
}

// Freed blocks up to 4 KiB are cached by size class and reused for any
// request of their class; a cached block is not live.
TEST_F(ArenaEmulated, JemallocCacheReusesBlocksOfAClass)
{
	AML_ARENA_JEMALLOC_DECL(je);
	int err = aml_arena_jemalloc_init(&je, &area.base, 4 * kMiB);
	if (err == AML_ENOTSUP)
		GTEST_SKIP() << "aml built without memkind";
	ASSERT_EQ(err, 0);
	struct aml_arena *a = &je.base;
	for (size_t size : {1, 100, 129, 1000, 4096}) {
		void *p = aml_arena_malloc(a, size);
		ASSERT_NE(p, nullptr);
		size_t usable = 0;
		ASSERT_EQ(aml_arena_usable_size(a, p, &usable), 0);
		EXPECT_GE(usable, size);
		ASSERT_EQ(aml_arena_free(a, p), 0);
		EXPECT_EQ(aml_arena_free(a, p), AML_EINVAL) << size;
		size_t after = 0;
		EXPECT_EQ(aml_arena_usable_size(a, p, &after), AML_EINVAL);
		// Another size of the same class gets the cached block.
		void *q = aml_arena_malloc(a, usable < 4096 ? usable : size);
		EXPECT_EQ(q, p) << size;
		std::memset(q, 0x5a, usable < 4096 ? usable : size);
		ASSERT_EQ(aml_arena_free(a, q), 0);
	}
	aml_arena_jemalloc_fini(&je);
}

TEST_F(ArenaEmulated, JemallocIsThreadSafeAndGrows)
{
	AML_ARENA_JEMALLOC_DECL(je);
	int err = aml_arena_jemalloc_init(&je, &area.base, 4 * kMiB);
	if (err == AML_ENOTSUP)
		GTEST_SKIP() << "aml built without memkind";
	ASSERT_EQ(err, 0);
	auto work = [&](int seed) {
		std::vector<void *> mine;
		for (int i = 0; i < 5000; i++) {
			size_t size = 16 + (size_t)(i * seed) % 3000;
			void *p = aml_arena_malloc(&je.base, size);
			ASSERT_NE(p, nullptr);
			std::memset(p, seed, size);
			mine.push_back(p);
			if (i % 3 == 0) {
				ASSERT_EQ(aml_arena_free(&je.base, mine[0]), 0);
				mine.erase(mine.begin());
			}
		}
		for (void *p : mine)
			ASSERT_EQ(aml_arena_free(&je.base, p), 0);
	};
	std::thread t1(work, 3), t2(work, 7);
	t1.join();
	t2.join();
	void *big = aml_arena_malloc(&je.base, 6 * kMiB); // another region
	ASSERT_NE(big, nullptr);
	struct aml_arena_stats s;
	ASSERT_EQ(aml_arena_stats(&je.base, &s), 0);
	EXPECT_GE(s.maps, 2u);
	EXPECT_EQ(aml_arena_free(&je.base, big), 0);
	aml_arena_jemalloc_fini(&je);
	EXPECT_EQ(Resident(), 0u);
}

} // namespace
