// SPDX-License-Identifier: BSD-3-Clause
// Failed inits of the objects that hold locks (dma engines, scratchpads,
// locked arenas): whatever fails (bad input, memory, a thread, a mutex or
// a condition variable), init returns a documented code and leaves its
// storage, which held garbage as a _DECL variable does, finalised: fini is
// a no-op and every other call is AML_EINVAL. Memory and threads fail
// through tests/testing/fault.h; this target also wraps
// pthread_mutex_init and pthread_cond_init, which fail here on demand.
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/arena/bump.h>
#include <aml/arena/locked.h>
#include <aml/dma/par.h>
#include <aml/dma/seq.h>
#include <aml/scratchpad.h>
#include <aml/tiling/nd.h>

#include "tests/testing/fault.h"

extern "C" {
int __real_pthread_mutex_init(pthread_mutex_t *mutex,
                              const pthread_mutexattr_t *attr);
int __real_pthread_cond_init(pthread_cond_t *cond,
                             const pthread_condattr_t *attr);
int __wrap_pthread_mutex_init(pthread_mutex_t *mutex,
                              const pthread_mutexattr_t *attr);
int __wrap_pthread_cond_init(pthread_cond_t *cond,
                             const pthread_condattr_t *attr);
}

namespace
{

// The n-th mutex or condition variable made by the armed thread fails.
thread_local bool sync_armed = false;
thread_local unsigned sync_counted = 0, sync_fail_at = 0;
thread_local bool sync_injected = false;

bool SyncFails()
{
	if (!sync_armed || ++sync_counted != sync_fail_at)
		return false;
	sync_injected = true;
	return true;
}

} // namespace

extern "C" int __wrap_pthread_mutex_init(pthread_mutex_t *mutex,
                                         const pthread_mutexattr_t *attr)
{
	return SyncFails() ? ENOMEM : __real_pthread_mutex_init(mutex, attr);
}

extern "C" int __wrap_pthread_cond_init(pthread_cond_t *cond,
                                        const pthread_condattr_t *attr)
{
	return SyncFails() ? ENOMEM : __real_pthread_cond_init(cond, attr);
}

namespace
{

using aml_test::FaultRun;
using aml_test::ForEachFault;

// What a _DECL variable holds before init.
template <typename T> void Garbage(T *storage)
{
	std::memset(static_cast<void *>(storage), 0xa5, sizeof(*storage));
}

// Calls @p init with the n-th mutex or condition variable failing, for
// n = 1, 2, ... until one call makes fewer; returns the calls that had a
// failure.
unsigned ForEachSyncFault(const std::function<void()> &init)
{
	unsigned failed = 0;
	for (unsigned n = 1;; n++) {
		sync_counted = 0;
		sync_fail_at = n;
		sync_injected = false;
		sync_armed = true;
		init();
		sync_armed = false;
		if (!sync_injected)
			return failed;
		failed++;
	}
}

// ---- dma engines ----

// Engine storage after a failed init: refused calls, fini a no-op.
void ExpectFinalised(struct aml_dma *dma)
{
	char a[64] = {}, b[64] = {};
	struct aml_dma_request *r = nullptr;
	EXPECT_EQ(aml_dma_copy_bytes(dma, a, b, sizeof(a)), AML_EINVAL);
	EXPECT_EQ(aml_dma_async_copy_bytes(dma, &r, a, b, sizeof(a)),
	          AML_EINVAL);
	EXPECT_EQ(r, nullptr);
	EXPECT_EQ(aml_dma_barrier(dma), AML_EINVAL);
}

void ExpectCopies(struct aml_dma *dma)
{
	std::vector<char> a(1 << 16, 1), b(1 << 16, 2);
	EXPECT_EQ(aml_dma_copy_bytes(dma, a.data(), b.data(), a.size()), 0);
	EXPECT_EQ(a, b);
}

// Init into garbage, check the storage whatever init returned, fini it
// (twice: a second fini is a no-op too). @return init's result.
int SeqRound(const std::function<int(const std::function<int()> &)> &call)
{
	AML_DMA_SEQ_DECL(dma);
	Garbage(&dma);
	int err = call([&] { return aml_dma_seq_init(&dma, nullptr); });
	if (err == 0)
		ExpectCopies(&dma.base);
	else
		ExpectFinalised(&dma.base);
	aml_dma_seq_fini(&dma);
	aml_dma_seq_fini(&dma);
	ExpectFinalised(&dma.base);
	return err;
}

int ParRound(const std::function<int(const std::function<int()> &)> &call,
             const struct aml_dma_par_options *options)
{
	AML_DMA_PAR_DECL(dma);
	Garbage(&dma);
	int err =
	        call([&] { return aml_dma_par_init(&dma, nullptr, options); });
	struct aml_dma_par_options got;
	if (err == 0) {
		ExpectCopies(&dma.base);
	} else {
		ExpectFinalised(&dma.base);
		EXPECT_EQ(aml_dma_par_options(&dma, &got), AML_EINVAL);
	}
	aml_dma_par_fini(&dma);
	aml_dma_par_fini(&dma);
	ExpectFinalised(&dma.base);
	return err;
}

struct aml_dma_par_options TwoWorkers()
{
	struct aml_dma_par_options o = {};
	o.nworkers = 2;
	o.inline_max = AML_DMA_PAR_NO_INLINE;
	return o;
}

TEST(FaultInit, EnginesWithBadOptions)
{
	struct aml_dma_par_options o = TwoWorkers();
	o.nworkers = AML_DMA_PAR_WORKERS_MAX + 1;
	EXPECT_EQ(
	        ParRound(
	                [](const std::function<int()> &init) { return init(); },
	                &o),
	        AML_EINVAL);
	o = TwoWorkers();
	o.chunk_size = SIZE_MAX;
	EXPECT_EQ(
	        ParRound(
	                [](const std::function<int()> &init) { return init(); },
	                &o),
	        AML_EINVAL);
}

TEST(FaultInit, EnginesWithoutMemoryOrThreads)
{
	struct aml_dma_par_options o = TwoWorkers();
	unsigned long runs = ForEachFault([&](FaultRun &run) {
		auto armed = [&](const std::function<int()> &init) {
			bool injected = false;
			int err = run.Raw(init, &injected);
			EXPECT_TRUE(err == 0 || injected) << aml_errname(err);
			return err;
		};
		int err = SeqRound(armed);
		EXPECT_TRUE(err == 0 || err == AML_ENOMEM) << aml_errname(err);
		err = ParRound(armed, &o);
		EXPECT_TRUE(err == 0 || err == AML_ENOMEM || err == AML_FAILURE)
		        << aml_errname(err);
	});
	EXPECT_GT(runs, 0u);
}

TEST(FaultInit, EnginesWithoutAMutexOrConditionVariable)
{
	auto armed = [](const std::function<int()> &init) {
		int err = init();
		EXPECT_EQ(err, sync_injected ? AML_ENOMEM : 0)
		        << aml_errname(err);
		return err;
	};
	EXPECT_GT(ForEachSyncFault([&] { SeqRound(armed); }), 0u);
	struct aml_dma_par_options o = TwoWorkers();
	EXPECT_GT(ForEachSyncFault([&] { ParRound(armed, &o); }), 0u);
}

// ---- scratchpads ----

// knl-flat, an MCDRAM area for slots, a DDR array tiled in 8.
class FaultInitScratchpad : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		ASSERT_EQ(aml_emu_create(&t, "knl-flat;scale=1/1024", nullptr),
		          0);
		const struct aml_device *mcdram = aml_topology_device(t, 1);
		ASSERT_EQ(aml_area_device_init(&fast, t, &mcdram, 1,
		                               AML_AREA_BIND, nullptr),
		          0);
		ASSERT_EQ(aml_dma_seq_create(&dma, t), 0);
		size_t dims = kBytes, tile = kBytes / 8;
		ASSERT_EQ(aml_layout_init(&array, data.data(),
		                          AML_LAYOUT_ORDER_C, 1, 1, &dims,
		                          nullptr),
		          0);
		ASSERT_EQ(aml_tiling_nd_init(&tiling, &array, &tile,
		                             AML_TILING_ORDER_ROW_MAJOR,
		                             AML_TILING_RESIZE,
		                             AML_TILING_IN_PLACE),
		          0);
	}
	void TearDown() override
	{
		aml_tiling_nd_fini(&tiling);
		aml_dma_seq_destroy(&dma);
		aml_area_device_fini(&fast);
		aml_topology_destroy(&t);
	}
	// Init into garbage with @p nslots slots, check, fini twice.
	int Round(const std::function<int(const std::function<int()> &)> &call,
	          size_t nslots = 2)
	{
		AML_SCRATCHPAD_DECL(sp);
		Garbage(&sp);
		int err = call([&] {
			return aml_scratchpad_init(&sp, &tiling.base,
			                           &fast.base, dma, nslots);
		});
		size_t slot = 99;
		if (err == 0) {
			EXPECT_EQ(aml_scratchpad_pull(&sp, 3, 0, &slot), 0);
			EXPECT_EQ(aml_scratchpad_release(&sp, slot), 0);
		} else {
			struct aml_scratchpad_request *r = nullptr;
			EXPECT_EQ(aml_scratchpad_pull(&sp, 3, 0, &slot),
			          AML_EINVAL);
			EXPECT_EQ(
			        aml_scratchpad_async_pull(&sp, 3, 0, &slot, &r),
			        AML_EINVAL);
			EXPECT_EQ(aml_scratchpad_flush(&sp), AML_EINVAL);
			EXPECT_EQ(aml_scratchpad_nslots(&sp), 0u);
			EXPECT_EQ(slot, 99u);
		}
		aml_scratchpad_fini(&sp);
		aml_scratchpad_fini(&sp);
		EXPECT_EQ(aml_scratchpad_flush(&sp), AML_EINVAL);
		return err;
	}
	static constexpr size_t kBytes = 1 << 16;
	struct aml_topology *t = nullptr;
	AML_AREA_DEVICE_DECL(fast) = {};
	struct aml_dma *dma = nullptr;
	std::vector<char> data = std::vector<char>(kBytes, 1);
	struct aml_layout array;
	AML_TILING_ND_DECL(tiling);
};

TEST_F(FaultInitScratchpad, WithBadInput)
{
	EXPECT_EQ(Round([](const std::function<int()> &init) { return init(); },
	                0),
	          AML_EINVAL);
}

TEST_F(FaultInitScratchpad, WithoutMemory)
{
	unsigned long runs = ForEachFault([&](FaultRun &run) {
		int err = Round([&](const std::function<int()> &init) {
			bool injected = false;
			int e = run.Raw(init, &injected);
			EXPECT_TRUE(e == 0 || injected) << aml_errname(e);
			return e;
		});
		EXPECT_TRUE(err == 0 || err == AML_ENOMEM) << aml_errname(err);
	});
	EXPECT_GT(runs, 0u);
}

// scratchpad.h lists AML_ENOMEM, not AML_FAILURE, for a lock that
// cannot be made, as locked arenas and rangesets answer.
TEST_F(FaultInitScratchpad, WithoutAMutexOrConditionVariable)
{
	unsigned failed = ForEachSyncFault([&] {
		Round([](const std::function<int()> &init) {
			int err = init();
			EXPECT_EQ(err, sync_injected ? AML_ENOMEM : 0)
			        << aml_errname(err);
			return err;
		});
	});
	EXPECT_EQ(failed, 2u); // the mutex, the condition variable
}

// ---- locked arenas ----

void LockedRound(struct aml_arena *inner, bool fail_sync, int want)
{
	AML_ARENA_LOCKED_DECL(arena);
	Garbage(&arena);
	sync_counted = 0;
	sync_fail_at = 1;
	sync_armed = fail_sync;
	int err = aml_arena_locked_init(&arena, inner);
	sync_armed = false;
	EXPECT_EQ(err, want) << aml_errname(err);
	aml_errno = 0;
	void *p = aml_arena_malloc(&arena.base, 8);
	if (err == 0) {
		EXPECT_NE(p, nullptr);
		EXPECT_EQ(aml_arena_free(&arena.base, p), 0);
	} else {
		EXPECT_EQ(p, nullptr);
		EXPECT_EQ(aml_errno, AML_EINVAL);
	}
	aml_arena_locked_fini(&arena);
	aml_arena_locked_fini(&arena);
	EXPECT_EQ(aml_arena_malloc(&arena.base, 8), nullptr);
}

TEST(FaultInit, LockedArenas)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "knl-flat;scale=1/1024", nullptr), 0);
	const struct aml_device *ddr = aml_topology_device(t, 0);
	AML_AREA_DEVICE_DECL(slow);
	ASSERT_EQ(
	        aml_area_device_init(&slow, t, &ddr, 1, AML_AREA_BIND, nullptr),
	        0);
	AML_ARENA_BUMP_DECL(bump);
	ASSERT_EQ(aml_arena_bump_init(&bump, &slow.base, 0), 0);
	LockedRound(nullptr, false, AML_EINVAL);
	struct aml_arena none = {};
	LockedRound(&none, false, AML_EINVAL);
	LockedRound(&bump.base, true, AML_ENOMEM);
	LockedRound(&bump.base, false, 0);
	aml_arena_bump_fini(&bump);
	aml_area_device_fini(&slow);
	aml_topology_destroy(&t);
}

} // namespace
