// SPDX-License-Identifier: BSD-3-Clause
// Fault injection on arenas (tests/testing/fault.h): bump, pool, buddy,
// jemalloc, a locked pool and scalable, through init or create, small and large
// blocks, aligned, zeroed and resized ones, frees that give regions back,
// reset and fini, on an area over an emulated MCDRAM. After each failure
// every live block keeps its bytes and the arena goes on serving; each run
// ends with nothing mapped and nothing leaked.
#include <cstdint>
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
#include <aml/arena/locked.h>
#include <aml/arena/pool.h>
#include <aml/arena/scalable.h>

#include "tests/testing/fault.h"

namespace
{

using aml_test::FaultRun;
using aml_test::ForEachFault;

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;

// A live block and the bytes it must hold.
struct Block {
	unsigned char *p;
	size_t size;
	unsigned char fill;
};

void Fill(const Block &b)
{
	for (size_t i = 0; i < b.size; i++)
		b.p[i] = (unsigned char)(b.fill + i % 251);
}

bool Intact(const Block &b)
{
	for (size_t i = 0; i < b.size; i++)
		if (b.p[i] != (unsigned char)(b.fill + i % 251))
			return false;
	return true;
}

// One arena implementation: how to make it (through init on storage the
// scenario owns, or create) and what it serves.
struct Kind {
	const char *name;
	size_t max_size; // largest block it serves
	size_t max_align;
	bool has_reset;
	// Small blocks of the scenario: enough for a second slab of a pool;
	// few for jemalloc, where each is a call that can fail (and a run).
	int nsmall;
	// Makes the arena into *out, through FaultRun::Call with the codes
	// the header documents.
	std::function<void(
	        FaultRun &, const struct aml_area *, struct aml_arena **)>
	        make;
	std::function<void(struct aml_arena **)> unmake;
};

// Storage for the arenas made through init.
struct Storage {
	AML_ARENA_BUMP_DECL(bump);
	AML_ARENA_POOL_DECL(pool);
	AML_ARENA_LOCKED_DECL(locked);
};

Storage storage;

std::vector<Kind> Kinds()
{
	return {
	        {"bump (init)", SIZE_MAX, AML_ARENA_ALIGNMENT_MAX, true, 40,
	         [](FaultRun &run, const struct aml_area *a,
	            struct aml_arena **out) {
		         // init allocates nothing: no failure to document.
		         run.Call("aml_arena_bump_init", {}, [&] {
			         return aml_arena_bump_init(&storage.bump, a,
			                                    64 * kKiB);
		         });
		         *out = &storage.bump.base;
	         },
	         [](struct aml_arena **a) {
		         aml_arena_bump_fini(&storage.bump);
		         *a = nullptr;
	         }},
	        {"pool (create)", 200, 64, true, 80,
	         [](FaultRun &run, const struct aml_area *a,
	            struct aml_arena **out) {
		         run.Call("aml_arena_pool_create", {AML_ENOMEM}, [&] {
			         return aml_arena_pool_create(out, a, 200, 64,
			                                      16 * kKiB);
		         });
	         },
	         aml_arena_pool_destroy},
	        {"buddy (create)", SIZE_MAX, AML_ARENA_ALIGNMENT_MAX, true, 40,
	         [](FaultRun &run, const struct aml_area *a,
	            struct aml_arena **out) {
		         run.Call("aml_arena_buddy_create", {AML_ENOMEM}, [&] {
			         return aml_arena_buddy_create(out, a,
			                                       64 * kKiB);
		         });
	         },
	         aml_arena_buddy_destroy},
	        {"jemalloc (create)", SIZE_MAX, AML_ARENA_ALIGNMENT_MAX, false,
	         6,
	         [](FaultRun &run, const struct aml_area *a,
	            struct aml_arena **out) {
		         run.Call("aml_arena_jemalloc_create", {AML_ENOMEM},
		                  [&] {
			                  return aml_arena_jemalloc_create(
			                          out, a, 4 * kMiB);
		                  });
	         },
	         aml_arena_jemalloc_destroy},
	        {"scalable (create)", SIZE_MAX, AML_ARENA_ALIGNMENT_MAX, false,
	         80,
	         [](FaultRun &run, const struct aml_area *a,
	            struct aml_arena **out) {
		         run.Call("aml_arena_scalable_create", {AML_ENOMEM},
		                  [&] {
			                  return aml_arena_scalable_create(out,
			                                                   a);
		                  });
	         },
	         aml_arena_scalable_destroy},
	        {"locked pool (init)", 200, 64, true, 80,
	         [](FaultRun &run, const struct aml_area *a,
	            struct aml_arena **out) {
		         run.Call("aml_arena_pool_init", {}, [&] {
			         return aml_arena_pool_init(&storage.pool, a,
			                                    200, 64, 16 * kKiB);
		         });
		         run.Call("aml_arena_locked_init", {AML_ENOMEM}, [&] {
			         return aml_arena_locked_init(
			                 &storage.locked, &storage.pool.base);
		         });
		         *out = &storage.locked.base;
	         },
	         [](struct aml_arena **a) {
		         aml_arena_locked_fini(&storage.locked);
		         aml_arena_pool_fini(&storage.pool);
		         *a = nullptr;
	         }},
	};
}

// The scenario: blocks of every shape in turn, with a model of what each
// holds.
void ArenaScenario(FaultRun &run, const struct aml_area *area, const Kind &k)
{
	std::vector<Block> live;
	run.SetModel([&] {
		for (const Block &b : live)
			EXPECT_TRUE(Intact(b))
			        << k.name << ": block of fill " << (int)b.fill;
	});
	struct aml_arena *arena = nullptr;
	k.make(run, area, &arena);
	ASSERT_NE(arena, nullptr);
	auto clamp = [&](size_t s) { return s < k.max_size ? s : k.max_size; };
	unsigned char fill = 1;
	auto keep = [&](void *p, size_t size) {
		ASSERT_NE(p, nullptr);
		live.push_back({static_cast<unsigned char *>(p), size, fill++});
		Fill(live.back());
	};
	auto malloc_call = [&](size_t size) {
		size = clamp(size);
		keep(run.CallPtr("aml_arena_malloc", {AML_ENOMEM},
		                 [&] { return aml_arena_malloc(arena, size); }),
		     size);
	};

	// Small ones.
	for (int i = 0; i < k.nsmall; i++)
		malloc_call(100 + (size_t)i * 37 % 100);
	// Larger than a region: a mapping of its own.
	malloc_call(96 * kKiB);
	size_t align = k.max_align < 256 * kKiB ? k.max_align : 256 * kKiB;
	size_t asize = clamp(1000);
	keep(run.CallPtr("aml_arena_aligned_alloc", {AML_ENOMEM},
	                 [&] {
		                 return aml_arena_aligned_alloc(arena, align,
		                                                asize);
	                 }),
	     asize);
	size_t csize = clamp(3000);
	void *c = run.CallPtr("aml_arena_calloc", {AML_ENOMEM}, [&] {
		return aml_arena_calloc(arena, 1, csize);
	});
	ASSERT_NE(c, nullptr);
	for (size_t i = 0; i < csize; i++)
		ASSERT_EQ(static_cast<unsigned char *>(c)[i], 0);
	keep(c, csize);

	// Grow a block past its region, then shrink it: its bytes follow.
	for (size_t size : {clamp(5000), clamp(80 * kKiB), clamp(50)}) {
		Block &b = live[3];
		size_t kept = b.size < size ? b.size : size;
		void *q = run.CallPtr("aml_arena_realloc", {AML_ENOMEM}, [&] {
			return aml_arena_realloc(arena, b.p, size);
		});
		ASSERT_NE(q, nullptr);
		Block moved = {static_cast<unsigned char *>(q), kept, b.fill};
		ASSERT_TRUE(Intact(moved)) << k.name << " realloc to " << size;
		b = {moved.p, size, fill++};
		Fill(b);
	}

	// Free every other block, then allocate again into the holes.
	for (size_t i = 0; i < live.size(); i++) {
		ASSERT_TRUE(Intact(live[i]));
		run.Call("aml_arena_free", {},
		         [&] { return aml_arena_free(arena, live[i].p); });
		live.erase(live.begin() + (long)i);
	}
	for (int i = 0; i < 10; i++)
		malloc_call(150);

	struct aml_arena_stats stats;
	if (k.has_reset) {
		run.Call("aml_arena_reset", {},
		         [&] { return aml_arena_reset(arena); });
		live.clear();
		EXPECT_EQ(aml_arena_stats(arena, &stats), 0);
		malloc_call(64);
	}
	while (!live.empty()) {
		ASSERT_TRUE(Intact(live.back()));
		run.Call("aml_arena_free", {},
		         [&] { return aml_arena_free(arena, live.back().p); });
		live.pop_back();
	}
	run.Quiet([&] { k.unmake(&arena); });
	EXPECT_EQ(arena, nullptr);
}

TEST(FaultArena, EveryArenaOnEmulatedMcdram)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "knl-flat;scale=1/256", nullptr), 0);
	const struct aml_device *mcdram = aml_topology_device(t, 1);
	for (const Kind &k : Kinds()) {
		SCOPED_TRACE(k.name);
		if (std::string(k.name).find("jemalloc") == 0 &&
		    aml_backend_is_built(AML_BACKEND_MEMKIND) != 1)
			continue; // AML_ENOTSUP without memkind
		unsigned long runs = ForEachFault([&](FaultRun &run) {
			AML_AREA_DEVICE_DECL(area);
			ASSERT_EQ(aml_area_device_init(&area, t, &mcdram, 1,
			                               AML_AREA_BIND, nullptr),
			          0);
			ArenaScenario(run, &area.base, k);
			aml_area_device_fini(&area);
			struct aml_emu_stats s = {};
			ASSERT_EQ(aml_emu_stats(t, 1, &s), 0);
			EXPECT_EQ(s.pages, 0u) << "left on MCDRAM";
		});
		EXPECT_GT(runs, 0u);
		if (HasFailure())
			break;
	}
	aml_topology_destroy(&t);
}

} // namespace
