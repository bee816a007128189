// SPDX-License-Identifier: BSD-3-Clause
// The fork contract (aml/dma.h, docs/dma.md): in the child of a fork(),
// whatever the parent's threads were doing, every aml object can be used
// (copies complete, waits and barriers return) and destroyed; a copy in
// flight at the fork completes in the parent and in the child. Engines are
// plain and on an emulated machine (aml_emu_create, and AML_EMULATE for
// the default topology, set by the target). A child that hangs is killed
// after a bounded wait and fails the test instead of hanging it.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/arena/locked.h>
#include <aml/arena/pool.h>
#include <aml/dma/par.h>
#include <aml/dma/seq.h>
#include <aml/scratchpad.h>
#include <aml/tiling/nd.h>

#include "tests/testing/in_child.h"
#include "tests/testing/knl_areas.h"
#include "tests/testing/pattern.h"

// ThreadSanitizer's deadlock detector follows at most 64 locks held by one
// thread; prepare holds every aml object's lock, and memkind's jemalloc
// takes its many arenas' after them.
extern "C" const char *__tsan_default_options(void);
extern "C" const char *__tsan_default_options(void)
{
	return "detect_deadlocks=0";
}

namespace
{

using aml_testing::InChild;
using aml_testing::Pattern;

// A par engine that sends every copy to its workers, in chunks.
struct aml_dma *NewPar(const struct aml_topology *t)
{
	struct aml_dma_par_options o = {};
	o.nworkers = 2;
	o.chunk_size = 64 << 10;
	o.inline_max = AML_DMA_PAR_NO_INLINE;
	o.spin_ns = 1000;
	struct aml_dma *dma = nullptr;
	EXPECT_EQ(aml_dma_par_create(&dma, t, &o), 0);
	return dma;
}

// What a child does with an engine: a synchronous copy, an asynchronous one
// waited, fire-and-forget ones and a barrier, each checked; 0 if all went
// well. dst and src are @p size bytes each.
int UseEngine(struct aml_dma *dma, char *dst, const char *src, size_t size)
{
	std::memset(dst, 0, size);
	CHILD_EXPECT(aml_dma_copy_bytes(dma, dst, src, size) == 0);
	CHILD_EXPECT(std::memcmp(dst, src, size) == 0);
	std::memset(dst, 0, size);
	struct aml_dma_request *r = nullptr;
	CHILD_EXPECT(aml_dma_async_copy_bytes(dma, &r, dst, src, size) == 0);
	CHILD_EXPECT(aml_dma_wait(dma, &r) == 0);
	CHILD_EXPECT(std::memcmp(dst, src, size) == 0);
	std::memset(dst, 0, size);
	size_t half = size / 2;
	CHILD_EXPECT(aml_dma_async_copy_bytes(dma, nullptr, dst, src, half) ==
	             0);
	CHILD_EXPECT(aml_dma_async_copy_bytes(dma, nullptr, dst + half,
	                                      src + half, size - half) == 0);
	CHILD_EXPECT(aml_dma_barrier(dma) == 0);
	CHILD_EXPECT(std::memcmp(dst, src, size) == 0);
	return 0;
}

// ---- Engines created before the fork, idle at the fork ----

TEST(Fork, AParEngineWorksAndFinalisesInTheChild)
{
	const size_t size = 1 << 20;
	auto src = Pattern(size, 1);
	std::vector<char> dst(size);
	struct aml_dma *dma = NewPar(nullptr);
	ASSERT_NE(dma, nullptr);
	ASSERT_EQ(aml_dma_copy_bytes(dma, dst.data(), src.data(), size), 0);
	ASSERT_TRUE(InChild([&] {
		int err = UseEngine(dma, dst.data(),
		                    reinterpret_cast<char *>(src.data()), size);
		aml_dma_par_destroy(&dma);
		return err;
	}));
	// The child's fini did not hang; a child that only finalises does
	// not either.
	ASSERT_TRUE(InChild([&] {
		aml_dma_par_destroy(&dma);
		return 0;
	}));
	// The parent's engine is untouched.
	EXPECT_EQ(UseEngine(dma, dst.data(),
	                    reinterpret_cast<char *>(src.data()), size),
	          0);
	aml_dma_par_destroy(&dma);
}

class ForkEmulated : public ::testing::Test, public aml_testing::KnlAreas
{
      protected:
	void SetUp() override
	{
		ASSERT_TRUE(SetUpKnlAreas());
		src = static_cast<char *>(
		        aml_area_mmap(&slow.base, kSize, nullptr));
		dst = static_cast<char *>(
		        aml_area_mmap(&fast.base, kSize, nullptr));
		ASSERT_NE(src, nullptr);
		ASSERT_NE(dst, nullptr);
		auto p = Pattern(kSize, 2);
		std::memcpy(src, p.data(), kSize);
	}
	void TearDown() override
	{
		if (src != nullptr) {
			EXPECT_EQ(aml_area_munmap(&slow.base, src, kSize), 0);
		}
		if (dst != nullptr) {
			EXPECT_EQ(aml_area_munmap(&fast.base, dst, kSize), 0);
		}
		TearDownKnlAreas();
	}
	static constexpr size_t kSize = 1 << 20;
	char *src = nullptr;
	char *dst = nullptr;
};

// On an emulated machine, waiters leave the chunks to the workers (modelled
// time): a child without workers would wait for ever.
TEST_F(ForkEmulated, AParEngineWorksAndFinalisesInTheChild)
{
	struct aml_dma *dma = NewPar(t);
	ASSERT_NE(dma, nullptr);
	ASSERT_EQ(UseEngine(dma, dst, src, kSize), 0);
	ASSERT_TRUE(InChild([&] {
		int err = UseEngine(dma, dst, src, kSize);
		aml_dma_par_destroy(&dma);
		return err;
	}));
	ASSERT_TRUE(InChild([&] {
		aml_dma_par_destroy(&dma);
		return 0;
	}));
	EXPECT_EQ(UseEngine(dma, dst, src, kSize), 0);
	aml_dma_par_destroy(&dma);
}

// The default topology is the machine AML_EMULATE names (the target sets
// it), and engines made before the fork keep charging it in the child.
TEST(Fork, EnginesOnTheDefaultTopologyWorkInTheChild)
{
	const struct aml_topology *t = aml_topology_default();
	ASSERT_NE(t, nullptr);
	const size_t size = 1 << 20;
	auto src = Pattern(size, 3);
	std::vector<char> dst(size);
	struct aml_dma *par = NewPar(t);
	struct aml_dma *seq = nullptr;
	ASSERT_EQ(aml_dma_seq_create(&seq, t), 0);
	ASSERT_TRUE(InChild([&] {
		char *s = reinterpret_cast<char *>(src.data());
		int err = UseEngine(par, dst.data(), s, size);
		if (err == 0)
			err = UseEngine(seq, dst.data(), s, size);
		aml_dma_par_destroy(&par);
		aml_dma_seq_destroy(&seq);
		return err;
	}));
	aml_dma_par_destroy(&par);
	aml_dma_seq_destroy(&seq);
}

// ---- Copies in flight at the fork ----

// A large copy submitted just before the fork is in any state at the fork
// (queued, half copied, done): the child's wait returns once the child's
// destination holds all of it, as the parent's does.
TEST(Fork, ACopyInFlightAtTheForkCompletesInBothProcesses)
{
	const size_t size = 32 << 20;
	auto src = Pattern(size, 4);
	std::vector<unsigned char> dst(size);
	std::vector<unsigned char> lost(size);
	struct aml_dma *dma = NewPar(nullptr);
	ASSERT_NE(dma, nullptr);
	for (int round = 0; round < 5; round++) {
		std::fill(dst.begin(), dst.end(), 0);
		std::fill(lost.begin(), lost.end(), 0);
		struct aml_dma_request *r = nullptr;
		ASSERT_EQ(aml_dma_async_copy_bytes(dma, &r, dst.data(),
		                                   src.data(), size),
		          0);
		// Fire-and-forget too: done by the child's barrier.
		ASSERT_EQ(aml_dma_async_copy_bytes(dma, nullptr, lost.data(),
		                                   src.data(), size),
		          0);
		// EXPECT: whatever the child did, the parent waits below.
		EXPECT_TRUE(InChild([&] {
			CHILD_EXPECT(aml_dma_wait(dma, &r) == 0);
			CHILD_EXPECT(dst == src);
			CHILD_EXPECT(aml_dma_barrier(dma) == 0);
			CHILD_EXPECT(lost == src);
			aml_dma_par_destroy(&dma);
			return 0;
		}));
		ASSERT_EQ(aml_dma_wait(dma, &r), 0);
		ASSERT_EQ(aml_dma_barrier(dma), 0);
		EXPECT_EQ(dst, src);
		EXPECT_EQ(lost, src);
	}
	aml_dma_par_destroy(&dma);
}

// Small copies (a par engine's lane, aml/src/dma/par_lane.c) in flight at
// the fork, queued, being copied by a worker or done: the child's waits and
// barrier return once the child's destinations hold them, as the parent's.
TEST(Fork, SmallCopiesInFlightAtTheForkCompleteInBothProcesses)
{
	const size_t n = 300, size = 4096;
	auto src = Pattern(n * size, 5);
	std::vector<unsigned char> dst(n * size);
	struct aml_dma *dma = NewPar(nullptr);
	ASSERT_NE(dma, nullptr);
	for (int round = 0; round < 5; round++) {
		std::fill(dst.begin(), dst.end(), 0);
		std::vector<struct aml_dma_request *> r(n, nullptr);
		for (size_t i = 0; i < n; i++)
			ASSERT_EQ(aml_dma_async_copy_bytes(
			                  dma, i % 4 == 0 ? nullptr : &r[i],
			                  dst.data() + i * size,
			                  src.data() + i * size, size),
			          0);
		EXPECT_TRUE(InChild([&] {
			for (size_t i = 0; i < n; i++)
				if (i % 4 != 0)
					CHILD_EXPECT(aml_dma_wait(dma, &r[i]) ==
					             0);
			CHILD_EXPECT(aml_dma_barrier(dma) == 0);
			CHILD_EXPECT(dst == src);
			aml_dma_par_destroy(&dma);
			return 0;
		}));
		for (size_t i = 0; i < n; i++) {
			if (i % 4 != 0) {
				ASSERT_EQ(aml_dma_wait(dma, &r[i]), 0);
			}
		}
		ASSERT_EQ(aml_dma_barrier(dma), 0);
		EXPECT_EQ(dst, src);
	}
	aml_dma_par_destroy(&dma);
}

TEST_F(ForkEmulated, AScratchpadLoadInFlightAtTheForkCompletesInTheChild)
{
	struct aml_dma *dma = NewPar(t);
	ASSERT_NE(dma, nullptr);
	struct aml_layout array;
	size_t dims = kSize;
	ASSERT_EQ(aml_layout_init(&array, src, AML_LAYOUT_ORDER_C, 1, 1, &dims,
	                          nullptr),
	          0);
	size_t tile = kSize / 8;
	AML_TILING_ND_DECL(tiles);
	ASSERT_EQ(aml_tiling_nd_init(&tiles, &array, &tile,
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	struct aml_scratchpad *sp = nullptr;
	ASSERT_EQ(aml_scratchpad_create(&sp, &tiles.base, &fast.base, dma, 3),
	          0);
	size_t slot = 0, dirty = 0;
	ASSERT_EQ(aml_scratchpad_pull(sp, 1, AML_SCRATCHPAD_DIRTY, &dirty), 0);
	static_cast<char *>(aml_scratchpad_slot_ptr(sp, dirty))[0] ^= 1;
	struct aml_scratchpad_request *r = nullptr;
	ASSERT_EQ(aml_scratchpad_async_pull(sp, 5, 0, &slot, &r), 0);
	EXPECT_TRUE(InChild([&] {
		CHILD_EXPECT(aml_scratchpad_wait(sp, &r) == 0);
		CHILD_EXPECT(std::memcmp(aml_scratchpad_slot_ptr(sp, slot),
		                         src + 5 * tile, tile) == 0);
		CHILD_EXPECT(aml_scratchpad_release(sp, slot) == 0);
		CHILD_EXPECT(aml_scratchpad_release(sp, dirty) == 0);
		char before = src[tile];
		CHILD_EXPECT(aml_scratchpad_flush(sp) == 0);
		CHILD_EXPECT(src[tile] == (char)(before ^ 1));
		aml_scratchpad_destroy(&sp);
		aml_dma_par_destroy(&dma);
		return 0;
	}));
	ASSERT_EQ(aml_scratchpad_wait(sp, &r), 0);
	ASSERT_EQ(aml_scratchpad_release(sp, slot), 0);
	ASSERT_EQ(aml_scratchpad_release(sp, dirty), 0);
	aml_scratchpad_destroy(&sp);
	aml_dma_par_destroy(&dma);
	aml_tiling_nd_fini(&tiles);
}

// A dma engine, through the public ops table, whose copies happen when
// they are waited or barriered: a copy in flight has not happened yet, as
// on a par engine whose workers have not reached it. Its next wait can be
// held at a gate, before the copy or after it (the request freed), so
// that a thread is inside the engine's wait at a fork, deterministically.
class DeferredDma
{
      public:
	enum class Gate { kNone, kBeforeCopy, kAfterCopy };

	explicit DeferredDma(struct aml_dma *inner) : inner_(inner)
	{
		base.ops = &kOps;
		base.data = this;
	}
	// The next wait stops at @p gate until Open().
	void HoldNextWait(Gate gate)
	{
		arrived_ = false;
		open_ = false;
		gate_ = gate;
	}
	// Return once a wait stopped at the gate.
	void WaitArrived()
	{
		while (!arrived_)
			std::this_thread::yield();
	}
	void Open()
	{
		open_ = true;
	}
	size_t Pending()
	{
		std::lock_guard<std::mutex> hold(lock_);
		return copies_.size();
	}

	struct aml_dma base;

      private:
	struct Copy {
		struct aml_dma_plan plan;
	};
	// The copy, synchronously, through the inner engine's submit op.
	int Run(const Copy &c)
	{
		struct aml_dma_request *r = nullptr;
		int err = inner_->ops->submit(inner_, &r, &c.plan);
		return err != 0 ? err : aml_dma_wait(inner_, &r);
	}
	static DeferredDma *Of(struct aml_dma *dma)
	{
		return static_cast<DeferredDma *>(dma->data);
	}
	void Hold()
	{
		arrived_ = true;
		while (!open_)
			std::this_thread::yield();
	}
	static int Submit(struct aml_dma *dma,
	                  struct aml_dma_request **out,
	                  const struct aml_dma_plan *plan)
	{
		DeferredDma *self = Of(dma);
		std::lock_guard<std::mutex> hold(self->lock_);
		uintptr_t id = self->next_++;
		self->copies_[id] = Copy{*plan};
		if (out != nullptr)
			*out = reinterpret_cast<struct aml_dma_request *>(id);
		return 0;
	}
	static int Wait(struct aml_dma *dma, struct aml_dma_request *r)
	{
		DeferredDma *self = Of(dma);
		Gate gate = self->gate_.exchange(Gate::kNone);
		if (gate == Gate::kBeforeCopy)
			self->Hold();
		Copy c;
		{
			std::lock_guard<std::mutex> hold(self->lock_);
			auto it = self->copies_.find(
			        reinterpret_cast<uintptr_t>(r));
			if (it == self->copies_.end())
				return AML_EINVAL;
			c = it->second;
			self->copies_.erase(it);
		}
		int err = self->Run(c);
		if (gate == Gate::kAfterCopy)
			self->Hold();
		return err;
	}
	static int Cancel(struct aml_dma *dma, struct aml_dma_request *r)
	{
		DeferredDma *self = Of(dma);
		std::lock_guard<std::mutex> hold(self->lock_);
		return self->copies_.erase(reinterpret_cast<uintptr_t>(r)) == 1
		               ? 0
		               : AML_EINVAL;
	}
	// Every copy still queued, in the order submitted.
	static int Barrier(struct aml_dma *dma)
	{
		DeferredDma *self = Of(dma);
		std::map<uintptr_t, Copy> copies;
		{
			std::lock_guard<std::mutex> hold(self->lock_);
			copies.swap(self->copies_);
		}
		int first = 0;
		for (auto &kv : copies) {
			int err = self->Run(kv.second);
			if (err != 0 && first == 0)
				first = err;
		}
		return first;
	}

	static const struct aml_dma_ops kOps;
	struct aml_dma *inner_;
	std::atomic<Gate> gate_{Gate::kNone};
	std::atomic<bool> arrived_{false};
	std::atomic<bool> open_{false};
	std::mutex lock_;
	uintptr_t next_ = 1;
	std::map<uintptr_t, Copy> copies_;
};

const struct aml_dma_ops DeferredDma::kOps = {Submit, Wait, Cancel, Barrier};

void PrintTo(DeferredDma::Gate gate, std::ostream *os)
{
	*os << (gate == DeferredDma::Gate::kBeforeCopy  ? "held before its copy"
	        : gate == DeferredDma::Gate::kAfterCopy ? "held after its copy"
	                                                : "not held");
}

// A scratchpad copy whose waiter was inside the dma's wait at the fork.
// The child completes it and then uses its slot, or its tile, for
// something else; a barrier then runs whatever copy the engine still
// holds, as a par engine's workers would. No copy of the repaired one may
// be left to land late: the child's waiter takes over the dma request the
// gone thread was waiting for (copying again only when that request had
// already ended), rather than copying through a new request and leaving
// the old one queued. Before, a pull's orphan wrote the old tile over the
// slot's new one, and a push's orphan read a slot fini had unmapped.
class ForkScratchpadWaiter
    : public ForkEmulated,
      public ::testing::WithParamInterface<std::tuple<bool, DeferredDma::Gate>>
{
      protected:
	void SetUp() override
	{
		ForkEmulated::SetUp();
		if (HasFatalFailure())
			return;
		ASSERT_EQ(aml_dma_seq_create(&seq, t), 0);
		ddma = new DeferredDma(seq);
		size_t dims = kSize;
		ASSERT_EQ(aml_layout_init(&array, src, AML_LAYOUT_ORDER_C, 1, 1,
		                          &dims, nullptr),
		          0);
		size_t tile = kTile;
		ASSERT_EQ(aml_tiling_nd_init(&tiles, &array, &tile,
		                             AML_TILING_ORDER_ROW_MAJOR,
		                             AML_TILING_RESIZE,
		                             AML_TILING_IN_PLACE),
		          0);
		tiled = true;
		// One slot: the next tile pulled takes the repaired one's.
		ASSERT_EQ(aml_scratchpad_create(&sp, &tiles.base, &fast.base,
		                                &ddma->base, 1),
		          0);
	}
	void TearDown() override
	{
		aml_scratchpad_destroy(&sp);
		if (tiled)
			aml_tiling_nd_fini(&tiles);
		delete ddma;
		aml_dma_seq_destroy(&seq);
		ForkEmulated::TearDown();
	}
	// Another thread waits @p r, and is held inside the dma's wait while
	// the main thread forks and runs @p child in the child.
	void ForkWhileWaiting(struct aml_scratchpad_request *r,
	                      const std::function<int()> &child)
	{
		ddma->HoldNextWait(std::get<1>(GetParam()));
		int waited = -100;
		std::thread waiter(
		        [&] { waited = aml_scratchpad_wait(sp, &r); });
		ddma->WaitArrived();
		EXPECT_TRUE(InChild(child));
		ddma->Open();
		waiter.join();
		EXPECT_EQ(waited, 0);
		EXPECT_EQ(ddma->Pending(), 0u);
	}
	const char *Tile(size_t i)
	{
		return src + i * kTile;
	}
	static constexpr size_t kTile = kSize / 8;
	struct aml_dma *seq = nullptr;
	DeferredDma *ddma = nullptr;
	struct aml_layout array;
	AML_TILING_ND_DECL(tiles);
	bool tiled = false;
	struct aml_scratchpad *sp = nullptr;
};

TEST_P(ForkScratchpadWaiter, LeavesNoCopyBehindToLandLater)
{
	bool push = std::get<0>(GetParam());
	size_t slot = 0;
	struct aml_scratchpad_request *r = nullptr;
	auto want2 = std::vector<char>(Tile(2), Tile(2) + kTile);
	if (!push) {
		ASSERT_EQ(aml_scratchpad_async_pull(sp, 2, 0, &slot, &r), 0);
	} else {
		ASSERT_EQ(aml_scratchpad_pull(sp, 2, 0, &slot), 0);
		char *s =
		        static_cast<char *>(aml_scratchpad_slot_ptr(sp, slot));
		for (size_t i = 0; i < kTile; i++)
			want2[i] = s[i] = (char)(s[i] ^ 0x5a);
		ASSERT_EQ(aml_scratchpad_async_push(sp, slot, &r), 0);
	}
	ForkWhileWaiting(r, [&] {
		char *s =
		        static_cast<char *>(aml_scratchpad_slot_ptr(sp, slot));
		if (!push) {
			// A pull of the tile joins the copy that lost its
			// waiter.
			size_t again;
			CHILD_EXPECT(aml_scratchpad_pull(sp, 2, 0, &again) ==
			             0);
			CHILD_EXPECT(again == slot);
			CHILD_EXPECT(std::memcmp(s, want2.data(), kTile) == 0);
			CHILD_EXPECT(aml_scratchpad_release(sp, slot) == 0);
			CHILD_EXPECT(aml_scratchpad_release(sp, slot) == 0);
			// The only slot takes tile 5.
			CHILD_EXPECT(aml_scratchpad_pull(sp, 5, 0, &again) ==
			             0);
			CHILD_EXPECT(aml_dma_barrier(&ddma->base) == 0);
			CHILD_EXPECT(std::memcmp(s, Tile(5), kTile) == 0);
			CHILD_EXPECT(aml_scratchpad_release(sp, again) == 0);
			aml_scratchpad_destroy(&sp);
			return 0;
		}
		// fini completes the push; the tile is the caller's again.
		CHILD_EXPECT(aml_scratchpad_release(sp, slot) == 0);
		aml_scratchpad_destroy(&sp);
		CHILD_EXPECT(std::memcmp(Tile(2), want2.data(), kTile) == 0);
		std::memset(src + 2 * kTile, 7, kTile);
		CHILD_EXPECT(aml_dma_barrier(&ddma->base) == 0);
		for (size_t i = 0; i < kTile; i++)
			CHILD_EXPECT(Tile(2)[i] == 7);
		return 0;
	});
	char *s = static_cast<char *>(aml_scratchpad_slot_ptr(sp, slot));
	EXPECT_EQ(std::memcmp(s, want2.data(), kTile), 0);
	EXPECT_EQ(std::memcmp(Tile(2), want2.data(), kTile), 0);
	ASSERT_EQ(aml_scratchpad_release(sp, slot), 0);
}

INSTANTIATE_TEST_SUITE_P(
        PullOrPush,
        ForkScratchpadWaiter,
        ::testing::Combine(::testing::Bool(),
                           ::testing::Values(DeferredDma::Gate::kBeforeCopy,
                                             DeferredDma::Gate::kAfterCopy)),
        [](const auto &info) {
	        std::string s = std::get<0>(info.param) ? "Push" : "Pull";
	        return s + (std::get<1>(info.param) ==
	                                    DeferredDma::Gate::kBeforeCopy
	                            ? "HeldBeforeItsCopy"
	                            : "HeldAfterItsCopy");
        });

// ---- Storage initialised twice ----

// Initialising storage that holds a live object again, without fini, is
// AML_EINVAL and leaves the object as it was. Each of these objects is in
// aml's fork() registry: a locked arena's hook is in its storage, so a
// second init linked it twice and made the registry a cycle (the next
// fork looped for ever); a scratchpad's second registration owned the same
// lock as the first (the next fork took it twice and deadlocked); an
// engine's first state stayed registered, leaked.
TEST_F(ForkEmulated, InitialisingALiveObjectAgainIsRefused)
{
	AML_ARENA_POOL_DECL(pool);
	ASSERT_EQ(aml_arena_pool_init(&pool, &slow.base, 64, 0, 0), 0);
	AML_ARENA_LOCKED_DECL(locked);
	ASSERT_EQ(aml_arena_locked_init(&locked, &pool.base), 0);
	EXPECT_EQ(aml_arena_locked_init(&locked, &pool.base), AML_EINVAL);
	AML_DMA_SEQ_DECL(seq);
	ASSERT_EQ(aml_dma_seq_init(&seq, t), 0);
	EXPECT_EQ(aml_dma_seq_init(&seq, t), AML_EINVAL);
	AML_DMA_PAR_DECL(par);
	ASSERT_EQ(aml_dma_par_init(&par, t, nullptr), 0);
	EXPECT_EQ(aml_dma_par_init(&par, t, nullptr), AML_EINVAL);
	struct aml_layout array;
	size_t dims = kSize, tile = kSize / 8;
	ASSERT_EQ(aml_layout_init(&array, src, AML_LAYOUT_ORDER_C, 1, 1, &dims,
	                          nullptr),
	          0);
	AML_TILING_ND_DECL(tiles);
	ASSERT_EQ(aml_tiling_nd_init(&tiles, &array, &tile,
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(
	        aml_scratchpad_init(&sp, &tiles.base, &fast.base, &seq.base, 2),
	        0);
	EXPECT_EQ(
	        aml_scratchpad_init(&sp, &tiles.base, &fast.base, &par.base, 2),
	        AML_EINVAL);
	// A fork with a registry made a cycle, or a lock taken twice, would
	// not return.
	if (HasFailure())
		return;
	auto use = [&]() -> int {
		void *o = aml_arena_malloc(&locked.base, 64);
		CHILD_EXPECT(o != nullptr);
		CHILD_EXPECT(aml_arena_free(&locked.base, o) == 0);
		CHILD_EXPECT(UseEngine(&seq.base, dst, src, kSize) == 0);
		CHILD_EXPECT(UseEngine(&par.base, dst, src, kSize) == 0);
		size_t slot;
		CHILD_EXPECT(aml_scratchpad_pull(&sp, 3, 0, &slot) == 0);
		CHILD_EXPECT(std::memcmp(aml_scratchpad_slot_ptr(&sp, slot),
		                         src + 3 * tile, tile) == 0);
		CHILD_EXPECT(aml_scratchpad_release(&sp, slot) == 0);
		return 0;
	};
	EXPECT_TRUE(InChild([&] {
		int err = use();
		aml_scratchpad_fini(&sp);
		aml_dma_par_fini(&par);
		aml_dma_seq_fini(&seq);
		aml_arena_locked_fini(&locked);
		aml_arena_pool_fini(&pool);
		return err;
	}));
	EXPECT_EQ(use(), 0);
	aml_scratchpad_fini(&sp);
	aml_dma_par_fini(&par);
	aml_dma_seq_fini(&seq);
	aml_arena_locked_fini(&locked);
	// Finalised storage takes an init again.
	ASSERT_EQ(aml_arena_locked_init(&locked, &pool.base), 0);
	ASSERT_EQ(aml_dma_seq_init(&seq, t), 0);
	ASSERT_EQ(
	        aml_scratchpad_init(&sp, &tiles.base, &fast.base, &seq.base, 2),
	        0);
	aml_scratchpad_fini(&sp);
	aml_dma_seq_fini(&seq);
	aml_arena_locked_fini(&locked);
	aml_arena_pool_fini(&pool);
	aml_tiling_nd_fini(&tiles);
}

// ---- Forks while other threads use aml ----

// Every kind of object that holds a lock, used in a loop by two threads
// while the main thread forks 50 times. Each child uses and destroys every
// object: a lock held at the fork, a worker gone, a waiter gone, must not
// stop it.
class ForkWhileBusy : public ForkEmulated
{
      protected:
	void Run(const struct aml_topology *charged)
	{
		par = NewPar(charged);
		ASSERT_NE(par, nullptr);
		ASSERT_EQ(aml_dma_seq_create(&seq, charged), 0);
		size_t dims = kSize;
		ASSERT_EQ(aml_layout_init(&array, src, AML_LAYOUT_ORDER_C, 1, 1,
		                          &dims, nullptr),
		          0);
		size_t tile = kTile;
		ASSERT_EQ(aml_tiling_nd_init(&tiles, &array, &tile,
		                             AML_TILING_ORDER_ROW_MAJOR,
		                             AML_TILING_RESIZE,
		                             AML_TILING_IN_PLACE),
		          0);
		ASSERT_EQ(aml_scratchpad_create(&sp, &tiles.base, &fast.base,
		                                par, 6),
		          0);
		ASSERT_EQ(aml_arena_pool_init(&pool, &slow.base, 64, 0, 0), 0);
		ASSERT_EQ(aml_arena_locked_init(&locked, &pool.base), 0);
		// Keeps the pool's slab: the mapper's allocations never map
		// or unmap one.
		void *kept = aml_arena_malloc(&locked.base, 64);
		ASSERT_NE(kept, nullptr);
		std::atomic<bool> stop{false};
		std::atomic<int> bad{0};
		std::thread copier([&] { Copier(stop, bad); });
		std::thread mapper([&] { Mapper(stop, bad); });
		for (int i = 0; i < 50 && !HasFailure(); i++)
			EXPECT_TRUE(InChild([&] { return Child(i); }))
			        << "fork " << i;
		stop = true;
		copier.join();
		mapper.join();
		EXPECT_EQ(bad.load(), 0);
		EXPECT_EQ(aml_arena_free(&locked.base, kept), 0);
		aml_arena_locked_fini(&locked);
		aml_arena_pool_fini(&pool);
		aml_scratchpad_destroy(&sp);
		aml_tiling_nd_fini(&tiles);
		aml_dma_seq_destroy(&seq);
		aml_dma_par_destroy(&par);
	}

	// Copies of every kind on both engines, and the scratchpad.
	void Copier(std::atomic<bool> &stop, std::atomic<int> &bad)
	{
		std::vector<char> mine(kSize);
		for (unsigned k = 0; !stop; k++) {
			struct aml_dma_request *r = nullptr;
			size_t n = k % 2 ? kSize : 4096;
			if (aml_dma_async_copy_bytes(par, &r, mine.data(), src,
			                             n) != 0 ||
			    aml_dma_wait(par, &r) != 0)
				bad++;
			if (aml_dma_async_copy_bytes(par, nullptr, mine.data(),
			                             src, kSize / 2) != 0 ||
			    aml_dma_barrier(par) != 0)
				bad++;
			if (aml_dma_copy_bytes(seq, mine.data(), src, 8192) !=
			    0)
				bad++;
			size_t slot;
			struct aml_scratchpad_request *sr = nullptr;
			size_t tile = k % (kSize / kTile);
			if (aml_scratchpad_async_pull(sp, tile, 0, &slot,
			                              &sr) != 0 ||
			    aml_scratchpad_wait(sp, &sr) != 0) {
				bad++;
				continue;
			}
			if (k % 3 == 0 && aml_scratchpad_push(sp, slot) != 0)
				bad++;
			if (aml_scratchpad_release(sp, slot) != 0)
				bad++;
		}
	}

	// Maps and unmaps (the emulator's write lock, the area's records),
	// and allocations from the locked arena.
	void Mapper(std::atomic<bool> &stop, std::atomic<int> &bad)
	{
		while (!stop) {
			void *p = aml_area_mmap(&fast.base, 1 << 16, nullptr);
			if (p == nullptr ||
			    aml_area_munmap(&fast.base, p, 1 << 16) != 0)
				bad++;
			void *o = aml_arena_malloc(&locked.base, 64);
			if (o == nullptr ||
			    aml_arena_free(&locked.base, o) != 0)
				bad++;
		}
	}

	// Use every object, then destroy it.
	int Child(int i)
	{
		std::vector<char> buf(kSize);
		CHILD_EXPECT(UseEngine(par, buf.data(), src, kSize) == 0);
		CHILD_EXPECT(UseEngine(seq, buf.data(), src, kSize) == 0);
		size_t slot;
		size_t tile = (size_t)i % (kSize / kTile);
		CHILD_EXPECT(aml_scratchpad_pull(sp, tile, 0, &slot) == 0);
		CHILD_EXPECT(std::memcmp(aml_scratchpad_slot_ptr(sp, slot),
		                         src + tile * kTile, kTile) == 0);
		CHILD_EXPECT(aml_scratchpad_push(sp, slot) == 0);
		CHILD_EXPECT(aml_scratchpad_release(sp, slot) == 0);
		CHILD_EXPECT(aml_scratchpad_flush(sp) == 0);
		// The area the parent's mapper thread was using at the fork:
		// its record and its pages agree in the child too.
		void *p = aml_area_mmap(&fast.base, 1 << 16, nullptr);
		CHILD_EXPECT(p != nullptr);
		CHILD_EXPECT(aml_area_munmap(&fast.base, p, 1 << 16) == 0);
		void *o = aml_arena_malloc(&locked.base, 64);
		CHILD_EXPECT(o != nullptr);
		CHILD_EXPECT(aml_arena_free(&locked.base, o) == 0);
		struct aml_emu_stats stats;
		CHILD_EXPECT(aml_emu_stats(t, 0, &stats) == 0);
		aml_scratchpad_destroy(&sp);
		aml_dma_par_destroy(&par);
		aml_dma_seq_destroy(&seq);
		aml_arena_locked_fini(&locked);
		aml_arena_pool_fini(&pool);
		return 0;
	}

	static constexpr size_t kTile = 64 << 10;
	struct aml_dma *par = nullptr;
	struct aml_dma *seq = nullptr;
	struct aml_layout array;
	AML_TILING_ND_DECL(tiles);
	struct aml_scratchpad *sp = nullptr;
	AML_ARENA_POOL_DECL(pool);
	AML_ARENA_LOCKED_DECL(locked);
};

TEST_F(ForkWhileBusy, FiftyForksOfAPlainEngine)
{
	Run(nullptr);
}

TEST_F(ForkWhileBusy, FiftyForksOfAnEmulatedEngine)
{
	Run(t);
}

} // namespace
