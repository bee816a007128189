// SPDX-License-Identifier: BSD-3-Clause
// Upstream AML's random workflow on every arena kind: 2^9 live blocks of
// random sizes (seeded), each freed and replaced by another of a new size
// many times (the benchmark's arena/random_workflow rows). Sizes are 4 KiB
// to 16 MiB, on the 16 GiB MCDRAM of an emulated knl-flat, where the live
// set always fits: no allocation may fail, and every block keeps its
// contents (its first and last bytes, the only pages touched). With 16 MiB
// to map, the live set does not fit: a failed allocation must be NULL
// with AML_ENOMEM, and everything must go back to the device at the end.
//
// "Does not fit" is a budget of mapped bytes (an area wrapped below):
// the emulator, as Linux, lets mappings exceed the device and stops the
// program when their pages are touched, which is not the failure under
// test.
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
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
constexpr size_t kMin = 4 * kKiB;
constexpr size_t kMax = 16 * kMiB;
constexpr size_t kSmallMax = 256 * kKiB;
constexpr size_t kLive = 512;
constexpr int kOps = 2048;

struct Kind {
	const char *name;
	std::function<int(struct aml_arena **, const struct aml_area *)> create;
	std::function<void(struct aml_arena **)> destroy;
};

std::vector<Kind> Kinds()
{
	return {
	        {"bump",
	         [](struct aml_arena **out, const struct aml_area *a) {
		         return aml_arena_bump_create(out, a, 0);
	         },
	         aml_arena_bump_destroy},
	        // Objects of the largest size, one per slab.
	        {"pool",
	         [](struct aml_arena **out, const struct aml_area *a) {
		         return aml_arena_pool_create(out, a, kMax, 0,
		                                      2 * kMax);
	         },
	         aml_arena_pool_destroy},
	        {"buddy",
	         [](struct aml_arena **out, const struct aml_area *a) {
		         return aml_arena_buddy_create(out, a, 0);
	         },
	         aml_arena_buddy_destroy},
	        // Regions smaller than the largest blocks: the large-block
	        // path.
	        {"buddy_small_regions",
	         [](struct aml_arena **out, const struct aml_area *a) {
		         return aml_arena_buddy_create(out, a, 64 * kKiB);
	         },
	         aml_arena_buddy_destroy},
	        {"jemalloc",
	         [](struct aml_arena **out, const struct aml_area *a) {
		         return aml_arena_jemalloc_create(out, a, 4 * kMiB);
	         },
	         aml_arena_jemalloc_destroy},
	        {"scalable", aml_arena_scalable_create,
	         aml_arena_scalable_destroy},
	        {"locked_buddy", aml_testing::LockedBuddyCreate,
	         aml_testing::LockedBuddyDestroy},
	};
}

// Forwards to @p inner while at most @p budget bytes are mapped through
// it; maps beyond are AML_ENOMEM.
struct BudgetArea {
	struct aml_area base;
	const struct aml_area *inner;
	size_t budget;
	size_t mapped;

	static void *Map(const struct aml_area *a,
	                 size_t size,
	                 const struct aml_area_mmap_options *opts)
	{
		auto *self = static_cast<BudgetArea *>(a->data);
		if (size > self->budget - self->mapped) {
			aml_errno = AML_ENOMEM;
			return nullptr;
		}
		void *p = aml_area_mmap(self->inner, size, opts);
		if (p != nullptr)
			self->mapped += size;
		return p;
	}
	static int Unmap(const struct aml_area *a, void *p, size_t size)
	{
		auto *self = static_cast<BudgetArea *>(a->data);
		int err = aml_area_munmap(self->inner, p, size);
		if (err == 0)
			self->mapped -= size;
		return err;
	}
};

const struct aml_area_ops kBudgetOps = {
        .map = BudgetArea::Map,
        .unmap = BudgetArea::Unmap,
        .print = nullptr,
};

void PrintTo(const Kind &k, std::ostream *os)
{
	*os << k.name;
}

class ArenaWorkflow : public ::testing::TestWithParam<Kind>
{
      protected:
	// An arena over the MCDRAM of knl-flat (16 GiB), through an area
	// that maps at most @p budget bytes.
	void Make(size_t budget)
	{
		const char *spec = "knl-flat";
		struct aml_emu_error error = {};
		ASSERT_EQ(aml_emu_create(&t, spec, &error), 0) << error.reason;
		const struct aml_device *dev = aml_topology_device(t, 1);
		ASSERT_NE(dev, nullptr);
		ASSERT_EQ(aml_area_device_init(&area, t, &dev, 1, AML_AREA_BIND,
		                               nullptr),
		          0);
		made = true;
		limited = BudgetArea{
		        {&kBudgetOps, &limited}, &area.base, budget, 0};
		int err = GetParam().create(&arena, &limited.base);
		if (err == AML_ENOTSUP)
			GTEST_SKIP() << "aml built without memkind";
		ASSERT_EQ(err, 0) << aml_errname(err);
	}
	void TearDown() override
	{
		if (arena != nullptr)
			GetParam().destroy(&arena);
		EXPECT_EQ(limited.mapped, 0u);
		if (made)
			aml_area_device_fini(&area);
		if (t != nullptr) {
			struct aml_emu_stats s = {};
			EXPECT_EQ(aml_emu_stats(t, 1, &s), 0);
			EXPECT_EQ(s.resident_bytes, 0u);
			aml_topology_destroy(&t);
		}
	}

	struct Block {
		unsigned char *p;
		size_t size;
	};

	// Runs the workflow with sizes up to @p max; returns the number of
	// failed allocations (each checked to be NULL with AML_ENOMEM), or -1
	// after a failed check.
	int Run(size_t max)
	{
		std::mt19937_64 rng(2021);
		std::uniform_int_distribution<size_t> size(kMin, max);
		std::vector<Block> live(kLive, Block{nullptr, 0});
		int failed = 0;
		bool ok = true;
		auto make = [&](size_t i) {
			Block &b = live[i];
			b.size = size(rng);
			aml_errno = 0;
			b.p = static_cast<unsigned char *>(
			        aml_arena_malloc(arena, b.size));
			if (b.p == nullptr) {
				EXPECT_EQ(aml_errno, AML_ENOMEM)
				        << aml_errname(aml_errno);
				ok = ok && aml_errno == AML_ENOMEM;
				failed++;
				return;
			}
			b.p[0] = b.p[b.size - 1] = (unsigned char)i;
		};
		auto check_and_free = [&](size_t i) {
			Block &b = live[i];
			if (b.p == nullptr)
				return;
			bool kept = b.p[0] == (unsigned char)i &&
			            b.p[b.size - 1] == (unsigned char)i;
			EXPECT_TRUE(kept) << "block " << i;
			int err = aml_arena_free(arena, b.p);
			EXPECT_EQ(err, 0) << aml_errname(err);
			ok = ok && kept && err == 0;
			b.p = nullptr;
		};
		for (size_t i = 0; i < kLive && ok; i++)
			make(i);
		for (int op = 0; op < kOps && ok; op++) {
			size_t i = rng() % kLive;
			check_and_free(i);
			make(i);
		}
		for (size_t i = 0; i < kLive; i++)
			check_and_free(i);
		return ok ? failed : -1;
	}

	struct aml_topology *t = nullptr;
	AML_AREA_DEVICE_DECL(area);
	BudgetArea limited{};
	bool made = false;
	struct aml_arena *arena = nullptr;
};

// Upstream's sizes: the live set (8 GiB at most) fits in 16 GiB, so
// nothing may fail. The jemalloc arena failed here until it reused the
// memory freed in regions older than its newest.
TEST_P(ArenaWorkflow, ServesEveryAllocationWhenTheLiveSetFits)
{
	Make(SIZE_MAX);
	if (arena == nullptr)
		return;
	EXPECT_EQ(Run(kMax), 0);
}

// Sizes to 256 KiB: the live set (64 MiB on average) does not fit in
// 16 MiB: failures are
// clean AML_ENOMEM, and the arena keeps serving and freeing.
TEST_P(ArenaWorkflow, FailsCleanlyWhenTheLiveSetDoesNotFit)
{
	Make(16 * kMiB);
	if (arena == nullptr)
		return;
	EXPECT_GT(Run(kSmallMax), 0);
}

INSTANTIATE_TEST_SUITE_P(AllArenas,
                         ArenaWorkflow,
                         ::testing::ValuesIn(Kinds()),
                         [](const ::testing::TestParamInfo<Kind> &info) {
	                         return std::string(info.param.name);
                         });

} // namespace
