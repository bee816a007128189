// SPDX-License-Identifier: BSD-3-Clause
// Copiers (aml/copier.h) and the seam between dma engines and them: the
// memcpy default and its checks; the copier a topology hands out; copy
// plans executed run by run (aml/dma/plan.h); and the seq and par engines
// on a fake copier that counts bytes and keeps a fake clock per thread, so
// that their accounting of modelled time is checked without the emulator.
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/copier.h>
#include <aml/dma/par.h>
#include <aml/dma/plan.h>
#include <aml/dma/seq.h>

#include "tests/testing/knl_areas.h"
#include "tests/testing/pattern.h"

namespace
{

using aml_testing::Pattern;
using Bytes = std::vector<unsigned char>;

// A copier that copies with memcpy, counts, and, if it models time, keeps
// one clock per thread: a copy costs 1 ns per byte, plus kLatencyNs
// unless streamed. One that delays also says that a modelled ns takes
// kWallPerNs ns of wall-clock time, and records what it was asked and
// which threads said they were undelayed (it never delays a copy itself).
class FakeCopier
{
      public:
	static constexpr uint64_t kLatencyNs = 1000;
	static constexpr uint64_t kWallPerNs = 10;

	explicit FakeCopier(bool models_time,
	                    int fail_with = 0,
	                    bool delays = false)
	    : fail_with_(fail_with)
	{
		base = {delays        ? &kDelayOps
		        : models_time ? &kTimedOps
		                      : &kUntimedOps,
		        this};
	}

	// The modelled durations wall_ns was asked for, in order, but its
	// probes of 1 ns (is it delaying now?).
	std::vector<uint64_t> WallAsked()
	{
		std::lock_guard<std::mutex> hold(lock_);
		return wall_asked_;
	}
	std::set<std::thread::id> Undelayed()
	{
		std::lock_guard<std::mutex> hold(lock_);
		return undelayed_;
	}

	uint64_t BytesCopied()
	{
		std::lock_guard<std::mutex> hold(lock_);
		return bytes_;
	}
	uint64_t Calls()
	{
		std::lock_guard<std::mutex> hold(lock_);
		return calls_;
	}
	uint64_t Streamed()
	{
		std::lock_guard<std::mutex> hold(lock_);
		return streamed_;
	}
	std::set<std::thread::id> Copiers()
	{
		std::lock_guard<std::mutex> hold(lock_);
		return threads_;
	}
	// The calling thread's clock.
	uint64_t Now()
	{
		return Time(&base);
	}

	struct aml_copier base;

      private:
	static FakeCopier *Of(const struct aml_copier *c)
	{
		return static_cast<FakeCopier *>(c->data);
	}
	static int Copy(const struct aml_copier *c,
	                void *dst,
	                const void *src,
	                size_t size,
	                bool streamed)
	{
		FakeCopier *self = Of(c);
		if (self->fail_with_ != 0)
			return self->fail_with_;
		std::memcpy(dst, src, size);
		std::lock_guard<std::mutex> hold(self->lock_);
		self->bytes_ += size;
		self->calls_++;
		self->streamed_ += streamed;
		self->threads_.insert(std::this_thread::get_id());
		self->clocks_[std::this_thread::get_id()] +=
		        size + (streamed ? 0 : kLatencyNs);
		return 0;
	}
	static uint64_t Time(const struct aml_copier *c)
	{
		FakeCopier *self = Of(c);
		std::lock_guard<std::mutex> hold(self->lock_);
		return self->clocks_[std::this_thread::get_id()];
	}
	static void WaitUntil(const struct aml_copier *c, uint64_t ns)
	{
		FakeCopier *self = Of(c);
		std::lock_guard<std::mutex> hold(self->lock_);
		uint64_t &clock = self->clocks_[std::this_thread::get_id()];
		clock = std::max(clock, ns);
	}

	static uint64_t WallNs(const struct aml_copier *c, uint64_t ns)
	{
		FakeCopier *self = Of(c);
		std::lock_guard<std::mutex> hold(self->lock_);
		if (ns != 1)
			self->wall_asked_.push_back(ns);
		return ns * kWallPerNs;
	}
	static void Undelayed(const struct aml_copier *c)
	{
		FakeCopier *self = Of(c);
		std::lock_guard<std::mutex> hold(self->lock_);
		self->undelayed_.insert(std::this_thread::get_id());
	}

	static const struct aml_copier_ops kTimedOps;
	static const struct aml_copier_ops kUntimedOps;
	static const struct aml_copier_ops kDelayOps;
	int fail_with_;
	std::mutex lock_;
	uint64_t bytes_ = 0, calls_ = 0, streamed_ = 0;
	std::set<std::thread::id> threads_;
	std::map<std::thread::id, uint64_t> clocks_;
	std::vector<uint64_t> wall_asked_;
	std::set<std::thread::id> undelayed_;
};

const struct aml_copier_ops FakeCopier::kTimedOps = {Copy, Time, WaitUntil,
                                                     nullptr, nullptr};
const struct aml_copier_ops FakeCopier::kUntimedOps = {Copy, nullptr, nullptr,
                                                       nullptr, nullptr};
const struct aml_copier_ops FakeCopier::kDelayOps = {Copy, Time, WaitUntil,
                                                     WallNs, Undelayed};

uint64_t MonotonicNs()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

TEST(Copier, MemcpyDefaultCopiesAndRefusesWhatTheContractForbids)
{
	Bytes a = Pattern(4096, 3), b(4096, 0);
	const struct aml_copier *m = &aml_copier_memcpy;
	EXPECT_FALSE(aml_copier_models_time(m));
	EXPECT_FALSE(aml_copier_delays(m));
	EXPECT_FALSE(aml_copier_delays(nullptr));
	EXPECT_EQ(aml_copier_wall_ns(m, 1000), 0u);
	aml_copier_thread_undelayed(m);       // a no-op
	aml_copier_thread_undelayed(nullptr); // a no-op
	EXPECT_EQ(aml_copier_thread_time(m), 0u);
	aml_copier_thread_wait_until(m, 1000); // a no-op
	EXPECT_EQ(aml_copier_thread_time(m), 0u);
	ASSERT_EQ(aml_copier_copy(m, b.data(), a.data(), a.size(), false), 0);
	EXPECT_EQ(a, b);

	Bytes b0 = b;
	EXPECT_EQ(aml_copier_copy(nullptr, b.data(), a.data(), 1, false),
	          AML_EINVAL);
	EXPECT_EQ(aml_copier_copy(m, nullptr, a.data(), 1, false), AML_EINVAL);
	EXPECT_EQ(aml_copier_copy(m, b.data(), nullptr, 1, false), AML_EINVAL);
	EXPECT_EQ(aml_copier_copy(m, b.data(), a.data(), 0, false), AML_EINVAL);
	EXPECT_EQ(aml_copier_copy(m, b.data() + 1, b.data(), 16, false),
	          AML_EINVAL);
	EXPECT_EQ(aml_copier_copy(m, b.data(),
	                          reinterpret_cast<void *>(UINTPTR_MAX - 8), 16,
	                          false),
	          AML_EINVAL);
	struct aml_copier no_ops = {nullptr, nullptr};
	EXPECT_EQ(aml_copier_copy(&no_ops, b.data(), a.data(), 1, false),
	          AML_EINVAL);
	EXPECT_FALSE(aml_copier_models_time(&no_ops));
	EXPECT_FALSE(aml_copier_models_time(nullptr));
	EXPECT_EQ(b, b0);
	EXPECT_TRUE(aml_copier_can_copy(m));
	EXPECT_FALSE(aml_copier_can_copy(&no_ops));
	EXPECT_FALSE(aml_copier_can_copy(nullptr));

	// Adjacent ranges do not overlap, either way round.
	EXPECT_EQ(aml_copier_copy(m, b.data() + 16, b.data(), 16, false), 0);
	EXPECT_EQ(aml_copier_copy(m, b.data(), b.data() + 16, 16, false), 0);
	EXPECT_EQ(aml_copier_copy(m, b.data(), b.data() + 15, 16, false),
	          AML_EINVAL);

	// A copier with only one of the clock ops does not model time.
	const struct aml_copier_ops half = {
	        aml_copier_memcpy.ops->copy, nullptr,
	        [](const struct aml_copier *, uint64_t) {}, nullptr, nullptr};
	struct aml_copier c = {&half, nullptr};
	EXPECT_FALSE(aml_copier_models_time(&c));
	EXPECT_TRUE(aml_copier_can_copy(&c));
	const struct aml_copier_ops no_copy = {nullptr, nullptr, nullptr,
	                                       nullptr, nullptr};
	struct aml_copier n = {&no_copy, nullptr};
	EXPECT_FALSE(aml_copier_can_copy(&n));
}

// An emulated topology hands out a copier that charges the emulator's
// model and exposes its clock; any other topology, memcpy.
class CopierEmulated : public ::testing::Test, public aml_testing::KnlAreas
{
      protected:
	void SetUp() override
	{
		ASSERT_TRUE(SetUpKnlAreas());
	}
	void TearDown() override
	{
		TearDownKnlAreas();
	}
};

TEST_F(CopierEmulated, TheTopologysCopierChargesTheModelAndKeepsItsClock)
{
	EXPECT_EQ(aml_topology_copier(nullptr), &aml_copier_memcpy);
	const struct aml_copier *c = aml_topology_copier(t);
	ASSERT_NE(c, nullptr);
	EXPECT_NE(c, &aml_copier_memcpy);
	EXPECT_TRUE(aml_copier_models_time(c));

	const size_t size = 64 << 10;
	char *src = nullptr, *dst = nullptr;
	ASSERT_TRUE(MapSlowToFast(size, 5, &src, &dst));
	uint64_t cost = 0, bandwidth_only = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, size, &cost), 0);

	struct aml_emu_clock c0, c1, c2;
	ASSERT_EQ(aml_emu_clock(t, &c0), 0);
	EXPECT_EQ(aml_copier_thread_time(c), c0.thread_ns);
	ASSERT_EQ(aml_copier_copy(c, dst, src, size, false), 0);
	ASSERT_EQ(aml_emu_clock(t, &c1), 0);
	EXPECT_EQ(c1.thread_ns - c0.thread_ns, cost);
	EXPECT_EQ(aml_copier_thread_time(c), c1.thread_ns);
	EXPECT_EQ(std::memcmp(dst, Pattern(size, 5).data(), size), 0);
	// Streamed: the same bytes without the latency.
	ASSERT_EQ(aml_copier_copy(c, dst, src, size, true), 0);
	ASSERT_EQ(aml_emu_clock(t, &c2), 0);
	bandwidth_only = c2.thread_ns - c1.thread_ns;
	EXPECT_GT(bandwidth_only, 0u);
	EXPECT_LT(bandwidth_only, cost);
	// Waiting moves the clock forward, never back.
	aml_copier_thread_wait_until(c, c2.thread_ns + 12345);
	EXPECT_EQ(aml_copier_thread_time(c), c2.thread_ns + 12345);
	aml_copier_thread_wait_until(c, 1);
	EXPECT_EQ(aml_copier_thread_time(c), c2.thread_ns + 12345);

	EXPECT_EQ(aml_area_munmap(&slow.base, src, size), 0);
	EXPECT_EQ(aml_area_munmap(&fast.base, dst, size), 0);
}

// The emulator's copier delays in delay mode only, by the machine's
// dilation, and a thread that leaves its delays to an engine is charged
// as any other (docs/emulator.md, "Delay mode").
TEST_F(CopierEmulated, InDelayModeTheCopierGivesTheDilatedWallTime)
{
	const struct aml_copier *c = aml_topology_copier(t);
	EXPECT_TRUE(aml_copier_delays(c));
	EXPECT_EQ(aml_copier_wall_ns(c, 1000000), 0u); // account mode
	ASSERT_EQ(aml_emu_set_mode(t, AML_EMU_DELAY), 0);
	double dilation = 0;
	ASSERT_EQ(aml_emu_dilation(t, &dilation), 0);
	EXPECT_EQ(aml_copier_wall_ns(c, 1000000),
	          (uint64_t)(1000000 * dilation));

	const size_t size = 64 << 10;
	char *src = nullptr, *dst = nullptr;
	ASSERT_TRUE(MapSlowToFast(size, 6, &src, &dst));
	uint64_t cost = 0, charged = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, size, &cost), 0);
	std::thread worker([&] {
		aml_copier_thread_undelayed(c);
		uint64_t before = aml_copier_thread_time(c);
		EXPECT_EQ(aml_copier_copy(c, dst, src, size, false), 0);
		charged = aml_copier_thread_time(c) - before;
	});
	worker.join();
	EXPECT_EQ(charged, cost);
	EXPECT_EQ(std::memcmp(dst, Pattern(size, 6).data(), size), 0);
	ASSERT_EQ(aml_emu_set_mode(t, AML_EMU_ACCOUNT), 0);
	EXPECT_EQ(aml_copier_wall_ns(c, 1000000), 0u);
	EXPECT_EQ(aml_area_munmap(&slow.base, src, size), 0);
	EXPECT_EQ(aml_area_munmap(&fast.base, dst, size), 0);
}

// A 16 x 64-byte tile of a 16 x 256-byte array: 16 runs of 64 bytes.
struct Tile {
	Bytes array = Pattern(16 * 256, 9);
	Bytes slot = Bytes(16 * 64, 0);
	struct aml_layout whole, tile, dense;
	Tile()
	{
		size_t dims[] = {16, 256}, origin[] = {0, 64}, box[] = {16, 64};
		EXPECT_EQ(aml_layout_init(&whole, array.data(),
		                          AML_LAYOUT_ORDER_C, 1, 2, dims,
		                          nullptr),
		          0);
		EXPECT_EQ(aml_layout_slice(&tile, &whole, origin, box), 0);
		EXPECT_EQ(aml_layout_init(&dense, slot.data(),
		                          AML_LAYOUT_ORDER_C, 1, 2, box,
		                          nullptr),
		          0);
	}
	bool Copied(size_t begin, size_t end) const
	{
		for (size_t i = 0; i < slot.size(); i++) {
			unsigned char want =
			        i >= begin && i < end
			                ? array[(i / 64) * 256 + 64 + i % 64]
			                : 0;
			if (slot[i] != want)
				return false;
		}
		return true;
	}
};

TEST(CopierPlan, ARangeOfAStridedPlanIsCopiedRunByRunStreamingAllButTheFirst)
{
	Tile x;
	struct aml_dma_plan plan;
	ASSERT_EQ(aml_dma_plan_layouts(&plan, &x.dense, &x.tile), 0);
	EXPECT_EQ(plan.bytes, 16u * 64);
	EXPECT_EQ(plan.run, 64u);

	// Bytes [32, 32 + 3 x 64): part of row 0, rows 1 and 2, part of 3.
	FakeCopier fake(true);
	ASSERT_EQ(aml_dma_plan_copy(&plan, 32, 32 + 3 * 64, &fake.base), 0);
	EXPECT_EQ(fake.Calls(), 4u);
	EXPECT_EQ(fake.Streamed(), 3u);
	EXPECT_EQ(fake.BytesCopied(), 3u * 64);
	EXPECT_EQ(fake.Now(), 3 * 64 + FakeCopier::kLatencyNs);
	EXPECT_TRUE(x.Copied(32, 32 + 3 * 64));

	// NULL is the memcpy default; an empty range copies nothing.
	ASSERT_EQ(aml_dma_plan_copy(&plan, 0, plan.bytes, nullptr), 0);
	EXPECT_TRUE(x.Copied(0, plan.bytes));
	EXPECT_EQ(aml_dma_plan_copy(&plan, 5, 5, &fake.base), 0);
	EXPECT_EQ(fake.Calls(), 4u);

	// Out of range: refused, nothing copied.
	EXPECT_EQ(aml_dma_plan_copy(&plan, 0, plan.bytes + 1, &fake.base),
	          AML_EINVAL);
	EXPECT_EQ(aml_dma_plan_copy(&plan, 9, 8, &fake.base), AML_EINVAL);
	EXPECT_EQ(aml_dma_plan_copy(nullptr, 0, 0, &fake.base), AML_EINVAL);
	EXPECT_EQ(fake.Calls(), 4u);

	// A failing copier's code comes back.
	FakeCopier broken(false, AML_FAILURE);
	EXPECT_EQ(aml_dma_plan_copy(&plan, 0, plan.bytes, &broken.base),
	          AML_FAILURE);
}

// With the memcpy default, whole rows are copied by a loop of its own (the
// whole plan, what a seq engine copies, without a division): every kind
// of range copies exactly its bytes.
TEST(CopierPlan, TheMemcpyDefaultCopiesExactlyTheRange)
{
	const size_t ranges[][2] = {{0, 16 * 64},      {64, 3 * 64},
	                            {0, 64},           {15 * 64, 16 * 64},
	                            {32, 32 + 3 * 64}, {64, 64 + 10},
	                            {0, 16 * 64 - 1}};
	for (const auto &r : ranges) {
		Tile x;
		struct aml_dma_plan plan;
		ASSERT_EQ(aml_dma_plan_layouts(&plan, &x.dense, &x.tile), 0);
		ASSERT_EQ(plan.nouter, 1u);
		ASSERT_EQ(aml_dma_plan_copy(&plan, r[0], r[1], nullptr), 0);
		EXPECT_TRUE(x.Copied(r[0], r[1])) << r[0] << ".." << r[1];
	}
}

TEST(CopierPlan, PlanningRefusesMismatchedAndOverlappingCopies)
{
	Tile x;
	struct aml_dma_plan plan;
	EXPECT_EQ(aml_dma_plan_layouts(&plan, &x.whole, &x.tile), AML_EINVAL);
	EXPECT_EQ(aml_dma_plan_layouts(&plan, &x.tile, &x.whole), AML_EINVAL);
	EXPECT_EQ(aml_dma_plan_layouts(nullptr, &x.dense, &x.tile), AML_EINVAL);
	EXPECT_EQ(
	        aml_dma_plan_bytes(&plan, x.slot.data(), x.slot.data() + 8, 16),
	        AML_EINVAL);
	EXPECT_EQ(aml_dma_plan_bytes(&plan, x.slot.data(), x.array.data(), 0),
	          AML_EINVAL);
	EXPECT_EQ(aml_dma_plan_bytes(&plan, x.slot.data() + 16, x.slot.data(),
	                             16),
	          0)
	        << "adjacent, not overlapping";
	ASSERT_EQ(aml_dma_plan_bytes(&plan, x.slot.data(), x.array.data(), 16),
	          0);
	EXPECT_EQ(plan.bytes, 16u);
	EXPECT_EQ(plan.nouter, 0u);
}

TEST(CopierSeq, CopiesGoThroughTheCopierAndTheCallerPaysTheirTime)
{
	FakeCopier fake(true);
	AML_DMA_SEQ_DECL(seq);
	ASSERT_EQ(aml_dma_seq_init_copier(&seq, &fake.base), 0);

	Bytes a = Pattern(4096, 1), b(4096, 0);
	ASSERT_EQ(aml_dma_copy_bytes(&seq.base, b.data(), a.data(), 4096), 0);
	EXPECT_EQ(a, b);
	EXPECT_EQ(fake.BytesCopied(), 4096u);
	EXPECT_EQ(fake.Calls(), 1u);
	EXPECT_EQ(fake.Now(), 4096 + FakeCopier::kLatencyNs);

	// A tile: one call per row, one latency for the copy.
	Tile x;
	ASSERT_EQ(aml_dma_copy(&seq.base, &x.dense, &x.tile), 0);
	EXPECT_TRUE(x.Copied(0, 16 * 64));
	EXPECT_EQ(fake.Calls(), 1u + 16);
	EXPECT_EQ(fake.Streamed(), 15u);
	EXPECT_EQ(fake.Now(), 4096 + 16 * 64 + 2 * FakeCopier::kLatencyNs);
	EXPECT_EQ(fake.Copiers(),
	          std::set<std::thread::id>{std::this_thread::get_id()});
	aml_dma_seq_fini(&seq);
}

TEST(CopierSeq, AFailingCopierFailsTheCopyAndBadCopiersAreRefused)
{
	FakeCopier broken(false, AML_ENOMEM);
	AML_DMA_SEQ_DECL(seq);
	ASSERT_EQ(aml_dma_seq_init_copier(&seq, &broken.base), 0);
	Bytes a(64, 1), b(64, 0);
	EXPECT_EQ(aml_dma_copy_bytes(&seq.base, b.data(), a.data(), 64),
	          AML_ENOMEM);
	aml_dma_seq_fini(&seq);

	EXPECT_EQ(aml_dma_seq_init_copier(&seq, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_dma_copy_bytes(&seq.base, b.data(), a.data(), 64),
	          AML_EINVAL);
	struct aml_copier no_ops = {nullptr, nullptr};
	EXPECT_EQ(aml_dma_seq_init_copier(&seq, &no_ops), AML_EINVAL);
	aml_dma_seq_fini(&seq); // a no-op on refused storage

	AML_DMA_PAR_DECL(par);
	EXPECT_EQ(aml_dma_par_init_copier(&par, nullptr, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_dma_par_init_copier(&par, &no_ops, nullptr), AML_EINVAL);
	aml_dma_par_fini(&par);
}

// A par engine over @p fake with @p nworkers workers that queues every copy
// (none inline), in chunks of 4 KiB.
int InitQueued(struct aml_dma_par *par, FakeCopier *fake, size_t nworkers)
{
	struct aml_dma_par_options o = {};
	o.nworkers = nworkers;
	o.inline_max = AML_DMA_PAR_NO_INLINE;
	o.chunk_size = 4096;
	return aml_dma_par_init_copier(par, &fake->base, &o);
}

// One worker, every copy queued: the worker copies every chunk on its own
// clock, starting no earlier than the submission; the waiter resumes at
// max(its own time, the copy's end), and never copies itself.
TEST(CopierPar, TheWaitersTimeFollowsTheCopiersClockAndWorkersCopyAlone)
{
	FakeCopier fake(true);
	AML_DMA_PAR_DECL(par);
	ASSERT_EQ(InitQueued(&par, &fake, 1), 0);

	const size_t size = 64 << 10; // 16 chunks of 4 KiB
	Bytes a = Pattern(size, 2), b(size, 0);
	const uint64_t nchunks = 8; // 4 x (nworkers + 1) at most
	const uint64_t copy_ns = size + nchunks * FakeCopier::kLatencyNs;
	uint64_t t0 = 100000;
	aml_copier_thread_wait_until(&fake.base, t0);
	for (uint64_t work : {uint64_t{10}, 10 * copy_ns}) {
		struct aml_dma_request *r = nullptr;
		ASSERT_EQ(aml_dma_async_copy_bytes(&par.base, &r, b.data(),
		                                   a.data(), size),
		          0);
		// The caller's own work, in modelled time.
		aml_copier_thread_wait_until(&fake.base, t0 + work);
		ASSERT_EQ(aml_dma_wait(&par.base, &r), 0);
		EXPECT_EQ(fake.Now(), t0 + std::max(work, copy_ns))
		        << "work " << work;
		t0 = fake.Now();
	}
	EXPECT_EQ(a, b);
	EXPECT_EQ(fake.BytesCopied(), 2 * size);
	EXPECT_EQ(fake.Calls(), 2 * nchunks);
	std::set<std::thread::id> copiers = fake.Copiers();
	EXPECT_EQ(copiers.size(), 1u);
	EXPECT_EQ(copiers.count(std::this_thread::get_id()), 0u);

	// A barrier resumes at the end of the fire-and-forget copies.
	ASSERT_EQ(aml_dma_async_copy_bytes(&par.base, nullptr, b.data(),
	                                   a.data(), size),
	          0);
	ASSERT_EQ(aml_dma_barrier(&par.base), 0);
	EXPECT_EQ(fake.Now(), t0 + copy_ns);
	aml_dma_par_fini(&par);
}

// The same calls give the same modelled time, whichever worker takes which
// chunk (docs/emulator.md). Two workers, a copy of 12 chunks of 4 KiB (4 x
// (2 + 1)), and a thread keeping a CPU busy, so that one worker is often
// preempted and the other takes most chunks: the model lays the chunks on
// two workers in order, so every copy ends 6 chunks after its submission.
// Before, each chunk ran on its thread's own clock, and a copy ended after
// 6 to 12 chunks, as the threads happened to run.
TEST(CopierPar, TheSameCopyTakesTheSameModelledTimeWhoeverCopies)
{
	FakeCopier fake(true);
	AML_DMA_PAR_DECL(par);
	ASSERT_EQ(InitQueued(&par, &fake, 2), 0);
	const size_t size = 48 << 10;
	const uint64_t chunk_ns = 4096 + FakeCopier::kLatencyNs;
	Bytes a = Pattern(size, 5), b(size, 0);

	std::atomic<bool> stop{false};
	std::thread busy([&] {
		while (!stop.load(std::memory_order_relaxed))
			;
	});
	std::vector<uint64_t> advances;
	for (int i = 0; i < 20; i++) {
		uint64_t t0 = fake.Now();
		struct aml_dma_request *r = nullptr;
		ASSERT_EQ(aml_dma_async_copy_bytes(&par.base, &r, b.data(),
		                                   a.data(), size),
		          0);
		ASSERT_EQ(aml_dma_wait(&par.base, &r), 0);
		advances.push_back(fake.Now() - t0);
	}
	// Two copies at once share the two workers: the second's chunks
	// wait for the first's, whichever the threads finish first. Each
	// has its own destination: the workers may copy both at once.
	Bytes c(size, 0);
	uint64_t t0 = fake.Now();
	struct aml_dma_request *r1 = nullptr, *r2 = nullptr;
	ASSERT_EQ(aml_dma_async_copy_bytes(&par.base, &r1, b.data(), a.data(),
	                                   size),
	          0);
	ASSERT_EQ(aml_dma_async_copy_bytes(&par.base, &r2, c.data(), a.data(),
	                                   size),
	          0);
	ASSERT_EQ(aml_dma_wait(&par.base, &r2), 0);
	EXPECT_EQ(fake.Now() - t0, 12 * chunk_ns);
	ASSERT_EQ(aml_dma_wait(&par.base, &r1), 0);
	EXPECT_EQ(fake.Now() - t0, 12 * chunk_ns);
	stop = true;
	busy.join();
	EXPECT_EQ(advances, std::vector<uint64_t>(20, 6 * chunk_ns));
	EXPECT_EQ(a, b);
	EXPECT_EQ(a, c);
	EXPECT_EQ(fake.BytesCopied(), 22 * size);
	aml_dma_par_fini(&par);
}

// Delay mode: the workers leave their delays to the engine, which keeps
// the waiter (and a barrier) until the submission plus the copier's wall
// time for the copy's modelled duration, so that the hand-off is absorbed
// rather than added. Modelled time is what it is without delay. The wall
// time is checked as a lower bound only, which the engine guarantees.
TEST(CopierPar, InDelayModeTheWaiterResumesAtTheSubmissionPlusTheWallTime)
{
	FakeCopier fake(true, 0, true);
	AML_DMA_PAR_DECL(par);
	ASSERT_EQ(InitQueued(&par, &fake, 2), 0);
	const size_t size = 48 << 10; // 12 chunks of 4 KiB on 2 workers
	const uint64_t copy_ns = 6 * (4096 + FakeCopier::kLatencyNs);
	Bytes a = Pattern(size, 7), b(size, 0);

	uint64_t t0 = fake.Now(), w0 = MonotonicNs();
	ASSERT_EQ(aml_dma_copy_bytes(&par.base, b.data(), a.data(), size), 0);
	uint64_t waited = MonotonicNs() - w0;
	EXPECT_EQ(fake.Now() - t0, copy_ns);
	EXPECT_EQ(fake.WallAsked(), std::vector<uint64_t>{copy_ns});
	EXPECT_GE(waited, copy_ns * FakeCopier::kWallPerNs);
	EXPECT_EQ(a, b);

	// A barrier resumes at the latest such deadline of what it waited for.
	t0 = fake.Now();
	w0 = MonotonicNs();
	ASSERT_EQ(aml_dma_async_copy_bytes(&par.base, nullptr, b.data(),
	                                   a.data(), size),
	          0);
	ASSERT_EQ(aml_dma_barrier(&par.base), 0);
	waited = MonotonicNs() - w0;
	EXPECT_EQ(fake.Now() - t0, copy_ns);
	EXPECT_EQ(fake.WallAsked(), std::vector<uint64_t>(2, copy_ns));
	EXPECT_GE(waited, copy_ns * FakeCopier::kWallPerNs);

	// Only the workers copied, and each said so before its first copy.
	std::set<std::thread::id> copiers = fake.Copiers();
	EXPECT_EQ(copiers.count(std::this_thread::get_id()), 0u);
	std::set<std::thread::id> undelayed = fake.Undelayed();
	for (std::thread::id id : copiers)
		EXPECT_EQ(undelayed.count(id), 1u);
	aml_dma_par_fini(&par);
	EXPECT_EQ(fake.Undelayed().size(), 2u);
	EXPECT_EQ(fake.Undelayed().count(std::this_thread::get_id()), 0u);
}

// Without modelled time the waiter may help; whoever copies, every byte
// goes through the copier once, and inline copies run in the caller.
TEST(CopierPar, CopiesGoThroughACopierWithoutAClock)
{
	FakeCopier fake(false);
	AML_DMA_PAR_DECL(par);
	struct aml_dma_par_options o = {};
	o.nworkers = 2;
	o.chunk_size = 4096;
	o.inline_max = 8192;
	ASSERT_EQ(aml_dma_par_init_copier(&par, &fake.base, &o), 0);
	const size_t size = 256 << 10;
	Bytes a = Pattern(size, 4), b(size, 0);
	ASSERT_EQ(aml_dma_copy_bytes(&par.base, b.data(), a.data(), size), 0);
	EXPECT_EQ(a, b);
	EXPECT_EQ(fake.BytesCopied(), size);
	ASSERT_EQ(aml_dma_copy_bytes(&par.base, b.data(), a.data(), 8192), 0);
	EXPECT_EQ(fake.BytesCopied(), size + 8192);
	EXPECT_EQ(aml_copier_thread_time(&fake.base), 0u);

	FakeCopier broken(false, AML_FAILURE);
	AML_DMA_PAR_DECL(bad);
	ASSERT_EQ(aml_dma_par_init_copier(&bad, &broken.base, &o), 0);
	EXPECT_EQ(aml_dma_copy_bytes(&bad.base, b.data(), a.data(), size),
	          AML_FAILURE);
	EXPECT_EQ(aml_dma_copy_bytes(&bad.base, b.data(), a.data(), 64),
	          AML_FAILURE);
	aml_dma_par_fini(&bad);
	aml_dma_par_fini(&par);
}

} // namespace
