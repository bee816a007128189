// SPDX-License-Identifier: BSD-3-Clause
// The multiplex dma engine (aml/dma/multiplex.h) beyond the conformance
// suite of dma_test: copies spread by weights, each whole to one engine;
// handles of the inner engines and of the multiplex one kept apart; fini
// waits what it was given; barrier reports an inner engine's error; bad
// input; and par workers pinned to CPUs copy on those CPUs only.
#include <sched.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/dma.h>
#include <aml/dma/multiplex.h>
#include <aml/dma/par.h>
#include <aml/dma/seq.h>

#include "tests/testing/counting_copier.h"
#include "tests/testing/pattern.h"

namespace
{

using aml_testing::CountingCopier;

// Seq engines over counting copiers: where each copy went is in the counts.
struct Counted {
	CountingCopier copier[3];
	AML_DMA_SEQ_DECL(seq0);
	AML_DMA_SEQ_DECL(seq1);
	AML_DMA_SEQ_DECL(seq2);
	struct aml_dma *engines[3] = {&seq0.base, &seq1.base, &seq2.base};
	Counted()
	{
		EXPECT_EQ(aml_dma_seq_init_copier(&seq0, &copier[0].copier), 0);
		EXPECT_EQ(aml_dma_seq_init_copier(&seq1, &copier[1].copier), 0);
		EXPECT_EQ(aml_dma_seq_init_copier(&seq2, &copier[2].copier), 0);
	}
	~Counted()
	{
		aml_dma_seq_fini(&seq0);
		aml_dma_seq_fini(&seq1);
		aml_dma_seq_fini(&seq2);
	}
};

TEST(DmaMultiplex, SpreadsWholeCopiesByWeightInSmoothTurns)
{
	Counted c;
	const unsigned weights[] = {3, 1, 2};
	AML_DMA_MULTIPLEX_DECL(dma);
	ASSERT_EQ(aml_dma_multiplex_init(&dma, c.engines, weights, 3), 0);
	const size_t size = 1000;
	auto src = aml_testing::Pattern(size, 5);
	std::vector<unsigned char> dst(size);
	// One run of sum(weights) = 6 turns, spread out by smooth weighted
	// round robin (ties to the lower index): 0 2 0 1 2 0.
	const int expected[] = {0, 2, 0, 1, 2, 0};
	for (int want : expected) {
		EXPECT_EQ(aml_dma_multiplex_next(&dma), want);
		size_t before = c.copier[want].bytes;
		ASSERT_EQ(aml_dma_copy_bytes(&dma.base, dst.data(), src.data(),
		                             size),
		          0);
		EXPECT_EQ(c.copier[want].bytes, before + size);
	}
	// 600 copies more: 300, 100 and 200, each whole to one engine.
	for (int i = 0; i < 600; i++)
		ASSERT_EQ(aml_dma_async_copy_bytes(&dma.base, nullptr,
		                                   dst.data(), src.data(),
		                                   size),
		          0);
	ASSERT_EQ(aml_dma_barrier(&dma.base), 0);
	EXPECT_EQ(c.copier[0].bytes, 303 * size);
	EXPECT_EQ(c.copier[1].bytes, 101 * size);
	EXPECT_EQ(c.copier[2].bytes, 202 * size);
	EXPECT_EQ(dst, src);
	aml_dma_multiplex_fini(&dma);
	aml_dma_multiplex_fini(&dma); // a second fini is a no-op
}

TEST(DmaMultiplex, HandlesOfTheInnerEnginesAndOfItsOwnAreKeptApart)
{
	Counted c;
	struct aml_dma *dma = nullptr;
	ASSERT_EQ(aml_dma_multiplex_create(&dma, c.engines, nullptr, 1), 0);
	std::vector<unsigned char> src(4096, 7), dst(4096);
	struct aml_dma_request *mine = nullptr, *inner = nullptr;
	ASSERT_EQ(aml_dma_async_copy_bytes(dma, &mine, dst.data(), src.data(),
	                                   src.size()),
	          0);
	ASSERT_EQ(aml_dma_async_copy_bytes(c.engines[0], &inner, dst.data(),
	                                   src.data(), src.size()),
	          0);
	struct aml_dma_request *copy = mine;
	EXPECT_EQ(aml_dma_wait(c.engines[0], &copy), AML_EINVAL);
	copy = inner;
	EXPECT_EQ(aml_dma_wait(dma, &copy), AML_EINVAL);
	copy = mine;
	EXPECT_EQ(aml_dma_wait(dma, &mine), 0);
	EXPECT_EQ(aml_dma_wait(dma, &copy), AML_EINVAL); // spent
	EXPECT_EQ(aml_dma_wait(c.engines[0], &inner), 0);
	aml_dma_multiplex_destroy(&dma);
	EXPECT_EQ(dma, nullptr);
}

TEST(DmaMultiplex, FiniWaitsItsCopiesAndLeavesTheEnginesWorking)
{
	struct aml_dma_par_options o = {};
	o.nworkers = 1;
	o.inline_max = AML_DMA_PAR_NO_INLINE;
	struct aml_dma *par = nullptr, *seq = nullptr;
	ASSERT_EQ(aml_dma_par_create(&par, nullptr, &o), 0);
	ASSERT_EQ(aml_dma_seq_create(&seq, nullptr), 0);
	struct aml_dma *engines[] = {par, seq};
	const size_t n = 16, size = 1 << 20;
	auto src = aml_testing::Pattern(n * size, 9);
	std::vector<unsigned char> dst(n * size, 0);
	struct aml_dma *dma = nullptr;
	ASSERT_EQ(aml_dma_multiplex_create(&dma, engines, nullptr, 2), 0);
	std::vector<struct aml_dma_request *> kept(n / 2);
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(aml_dma_async_copy_bytes(
		                  dma, i % 2 ? nullptr : &kept[i / 2],
		                  dst.data() + i * size, src.data() + i * size,
		                  size),
		          0);
	// Handles never waited, fire-and-forget copies: all done by fini.
	aml_dma_multiplex_destroy(&dma);
	EXPECT_EQ(dst, src);
	std::fill(dst.begin(), dst.end(), 0);
	ASSERT_EQ(aml_dma_copy_bytes(par, dst.data(), src.data(), size), 0);
	EXPECT_EQ(std::memcmp(dst.data(), src.data(), size), 0);
	aml_dma_par_destroy(&par);
	aml_dma_seq_destroy(&seq);
}

TEST(DmaMultiplex, BarrierReportsAnInnerFireAndForgetFailureOnce)
{
	Counted c;
	c.copier[1].fail = true;
	struct aml_dma *dma = nullptr;
	ASSERT_EQ(aml_dma_multiplex_create(&dma, c.engines, nullptr, 2), 0);
	std::vector<unsigned char> src(64, 1), dst(64);
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(aml_dma_async_copy_bytes(dma, nullptr, dst.data(),
		                                   src.data(), src.size()),
		          0);
	EXPECT_EQ(aml_dma_barrier(dma), AML_ENODEV);
	EXPECT_EQ(aml_dma_barrier(dma), 0);
	// A failure with a handle goes to its wait.
	struct aml_dma_request *r[2] = {};
	for (auto &h : r)
		ASSERT_EQ(aml_dma_async_copy_bytes(dma, &h, dst.data(),
		                                   src.data(), src.size()),
		          0);
	EXPECT_EQ(aml_dma_wait(dma, &r[0]), 0);
	EXPECT_EQ(aml_dma_wait(dma, &r[1]), AML_ENODEV);
	aml_dma_multiplex_destroy(&dma);
}

TEST(DmaMultiplex, RefusesBadInputAndLeavesTheStorageFinalised)
{
	Counted c;
	AML_DMA_MULTIPLEX_DECL(dma);
	const unsigned ok[] = {1, 1}, zero[] = {1, 0},
	               big[] = {AML_DMA_MULTIPLEX_WEIGHTS_MAX, 1};
	struct aml_dma *repeated[] = {c.engines[0], c.engines[0]};
	struct aml_dma *with_null[] = {c.engines[0], nullptr};
	struct aml_dma *with_self[] = {c.engines[0], &dma.base};
	struct aml_dma finalised = {nullptr, nullptr};
	struct aml_dma *with_finalised[] = {c.engines[0], &finalised};
	EXPECT_EQ(aml_dma_multiplex_init(nullptr, c.engines, ok, 2),
	          AML_EINVAL);
	EXPECT_EQ(aml_dma_multiplex_init(&dma, nullptr, ok, 2), AML_EINVAL);
	EXPECT_EQ(aml_dma_multiplex_init(&dma, c.engines, ok, 0), AML_EINVAL);
	EXPECT_EQ(aml_dma_multiplex_init(&dma, c.engines, nullptr,
	                                 AML_DMA_MULTIPLEX_ENGINES_MAX + 1),
	          AML_EINVAL);
	EXPECT_EQ(aml_dma_multiplex_init(&dma, c.engines, zero, 2), AML_EINVAL);
	EXPECT_EQ(aml_dma_multiplex_init(&dma, c.engines, big, 2), AML_EINVAL);
	EXPECT_EQ(aml_dma_multiplex_init(&dma, repeated, ok, 2), AML_EINVAL);
	EXPECT_EQ(aml_dma_multiplex_init(&dma, with_null, ok, 2), AML_EINVAL);
	EXPECT_EQ(aml_dma_multiplex_init(&dma, with_self, ok, 2), AML_EINVAL);
	EXPECT_EQ(aml_dma_multiplex_init(&dma, with_finalised, ok, 2),
	          AML_EINVAL);
	// Left finalised: calls through it are refused, fini is a no-op.
	std::vector<unsigned char> src(64, 1), dst(64);
	EXPECT_EQ(aml_dma_copy_bytes(&dma.base, dst.data(), src.data(), 64),
	          AML_EINVAL);
	EXPECT_EQ(aml_dma_multiplex_next(&dma), AML_EINVAL);
	aml_dma_multiplex_fini(&dma);
	// Live storage is not initialised again.
	ASSERT_EQ(aml_dma_multiplex_init(&dma, c.engines, ok, 2), 0);
	EXPECT_EQ(aml_dma_multiplex_init(&dma, c.engines, ok, 2), AML_EINVAL);
	EXPECT_EQ(aml_dma_copy_bytes(&dma.base, dst.data(), src.data(), 64), 0);
	aml_dma_multiplex_fini(&dma);
	struct aml_dma *made = nullptr;
	EXPECT_EQ(aml_dma_multiplex_create(nullptr, c.engines, ok, 2),
	          AML_EINVAL);
	EXPECT_EQ(aml_dma_multiplex_create(&made, c.engines, zero, 2),
	          AML_EINVAL);
	EXPECT_EQ(made, nullptr);
	aml_dma_multiplex_destroy(nullptr);
	aml_dma_multiplex_destroy(&made);
	// Another kind of engine is left alone.
	struct aml_dma *other = c.engines[0];
	aml_dma_multiplex_destroy(&other);
	EXPECT_EQ(other, c.engines[0]);
}

// The CPUs of the threads that ran its copies other than the test's own.
struct WhereCopier {
	static int Copy(const struct aml_copier *copier,
	                void *dst,
	                const void *src,
	                size_t size,
	                bool)
	{
		auto *self = static_cast<WhereCopier *>(copier->data);
		std::memcpy(dst, src, size);
		if (std::this_thread::get_id() != self->caller) {
			cpu_set_t set;
			EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
			std::lock_guard<std::mutex> hold(self->lock);
			for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
				if (CPU_ISSET(cpu, &set))
					self->affinity.insert(cpu);
			self->worker_copies++;
		}
		return 0;
	}
	const struct aml_copier_ops ops = {Copy, nullptr, nullptr, nullptr,
	                                   nullptr};
	const struct aml_copier copier = {&ops, this};
	std::thread::id caller = std::this_thread::get_id();
	std::mutex lock;
	std::set<int> affinity;
	std::atomic<int> worker_copies{0};
};

TEST(DmaParPinned, WorkersRunOnTheGivenCpusOnly)
{
	// The last CPU this thread may run on: on any machine, one CPU.
	cpu_set_t allowed;
	ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	int last = -1;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed))
			last = cpu;
	ASSERT_GE(last, 0);
	WhereCopier where;
	struct aml_dma_par_options o = {};
	o.inline_max = AML_DMA_PAR_NO_INLINE;
	aml_bitmap_zero(&o.cpus);
	aml_bitmap_set(&o.cpus, (size_t)last);
	AML_DMA_PAR_DECL(dma);
	ASSERT_EQ(aml_dma_par_init_copier(&dma, &where.copier, &o), 0);
	struct aml_dma_par_options got = {};
	ASSERT_EQ(aml_dma_par_options(&dma, &got), 0);
	EXPECT_EQ(got.nworkers, 1u); // one per CPU kept
	// Submit without waiting until a worker has copied: only workers
	// copy until the first wait (the waiter helps). Each copy has a
	// destination of its own: the barrier's help and the worker may
	// copy two of them at once.
	std::vector<unsigned char> src(4096, 3);
	std::deque<std::vector<unsigned char>> dst;
	while (where.worker_copies.load() == 0) {
		dst.emplace_back(src.size());
		ASSERT_EQ(aml_dma_async_copy_bytes(&dma.base, nullptr,
		                                   dst.back().data(),
		                                   src.data(), src.size()),
		          0);
		sched_yield();
	}
	ASSERT_EQ(aml_dma_barrier(&dma.base), 0);
	for (const auto &d : dst)
		EXPECT_EQ(d, src);
	aml_dma_par_fini(&dma);
	EXPECT_EQ(where.affinity, std::set<int>{last});
}

TEST(DmaParPinned, RefusesCpusTheProcessCannotRunOn)
{
	struct aml_dma_par_options o = {};
	aml_bitmap_zero(&o.cpus);
	cpu_set_t allowed;
	ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	// The first CPU index past every allowed one.
	int past = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed))
			past = cpu + 1;
	ASSERT_LT(past, AML_BITMAP_MAX);
	aml_bitmap_set(&o.cpus, (size_t)past);
	AML_DMA_PAR_DECL(dma);
	EXPECT_EQ(aml_dma_par_init(&dma, nullptr, &o), AML_EINVAL);
	std::vector<unsigned char> src(64, 1), dst(64);
	EXPECT_EQ(aml_dma_copy_bytes(&dma.base, dst.data(), src.data(), 64),
	          AML_EINVAL);
	aml_dma_par_fini(&dma);
}

} // namespace
