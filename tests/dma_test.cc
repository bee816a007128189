// SPDX-License-Identifier: BSD-3-Clause
// DMA engines: every shape of copy against memcpy or an element-wise
// reference, on the seq engine, on par engines that inline, chunk finely,
// or neither, and on a multiplex engine over a seq and a par one; many
// requests in flight; cancel; barrier; errors; and charging to the
// emulator.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/dma.h>
#include <aml/dma/multiplex.h>
#include <aml/dma/par.h>
#include <aml/dma/seq.h>
#include <aml/tiling/nd.h>

#include "tests/testing/counting_copier.h"
#include "tests/testing/knl_areas.h"
#include "tests/testing/pattern.h"

namespace
{

enum class Engine { kSeq, kPar, kParNoInline, kParFineChunks, kMultiplex };

std::string EngineName(const ::testing::TestParamInfo<Engine> &info)
{
	switch (info.param) {
	case Engine::kSeq:
		return "seq";
	case Engine::kPar:
		return "par";
	case Engine::kParNoInline:
		return "par_no_inline";
	case Engine::kParFineChunks:
		return "par_fine_chunks";
	case Engine::kMultiplex:
		return "multiplex";
	}
	return "unknown";
}

// An engine of the given kind, destroyed with the fixture.
struct Dma {
	explicit Dma(Engine e, const struct aml_topology *topology = nullptr)
	{
		struct aml_dma_par_options o = {};
		switch (e) {
		case Engine::kSeq:
			EXPECT_EQ(aml_dma_seq_create(&dma, topology), 0);
			return;
		case Engine::kPar:
			break;
		case Engine::kParNoInline:
			o.nworkers = 2;
			o.inline_max = AML_DMA_PAR_NO_INLINE;
			break;
		case Engine::kParFineChunks:
			// Chunks of 4 KiB: every copy above 8 KiB is split.
			o.nworkers = 3;
			o.chunk_size = 4096;
			o.inline_max = AML_DMA_PAR_NO_INLINE;
			o.spin_ns = 1000;
			break;
		case Engine::kMultiplex: {
			// Copies spread 1:2 over a seq engine and a par
			// engine that hands every copy to its workers.
			o.nworkers = 2;
			o.inline_max = AML_DMA_PAR_NO_INLINE;
			EXPECT_EQ(aml_dma_seq_create(&inner_seq, topology), 0);
			EXPECT_EQ(aml_dma_par_create(&inner_par, topology, &o),
			          0);
			struct aml_dma *engines[] = {inner_seq, inner_par};
			const unsigned weights[] = {1, 2};
			EXPECT_EQ(aml_dma_multiplex_create(&dma, engines,
			                                   weights, 2),
			          0);
			return;
		}
		}
		EXPECT_EQ(aml_dma_par_create(&dma, topology, &o), 0);
		par = true;
	}
	~Dma()
	{
		if (inner_par != nullptr) {
			aml_dma_multiplex_destroy(&dma);
			aml_dma_par_destroy(&inner_par);
			aml_dma_seq_destroy(&inner_seq);
		} else if (par) {
			aml_dma_par_destroy(&dma);
		} else {
			aml_dma_seq_destroy(&dma);
		}
	}
	struct aml_dma *dma = nullptr;
	bool par = false;
	struct aml_dma *inner_seq = nullptr, *inner_par = nullptr;
};

using aml_testing::Pattern;

struct aml_layout Layout(void *base,
                         enum aml_layout_order order,
                         size_t esize,
                         std::vector<size_t> dims,
                         std::vector<size_t> strides = {})
{
	struct aml_layout l;
	EXPECT_EQ(aml_layout_init(&l, base, order, esize, dims.size(),
	                          dims.data(),
	                          strides.empty() ? nullptr : strides.data()),
	          0);
	return l;
}

// Every element of two same-shaped layouts compares equal.
void ExpectSameElements(const struct aml_layout &a, const struct aml_layout &b)
{
	ASSERT_EQ(a.ndims, b.ndims);
	std::vector<size_t> c(a.ndims, 0);
	size_t n = aml_layout_nelements(&a);
	for (size_t i = 0; i < n; i++) {
		const void *pa = aml_layout_address(&a, c.data());
		const void *pb = aml_layout_address(&b, c.data());
		ASSERT_EQ(std::memcmp(pa, pb, a.element_size), 0)
		        << "element " << i;
		for (size_t d = 0; d < a.ndims; d++) {
			if (++c[d] < a.dims[d])
				break;
			c[d] = 0;
		}
	}
}

class DmaCopy : public ::testing::TestWithParam<Engine>
{
};

TEST_P(DmaCopy, BytesOfEverySizeAndAlignmentMatchMemcpy)
{
	Dma d(GetParam());
	const size_t sizes[] = {1,         7,           63,      4096,    4097,
	                        65536 + 3, 1048576 + 5, 4 << 20, 64 << 20};
	for (size_t size : sizes) {
		for (size_t skew : {0, 1, 3}) {
			auto src = Pattern(size + skew, (unsigned)size);
			std::vector<unsigned char> dst(size + 2 * skew + 1,
			                               0xa5);
			ASSERT_EQ(aml_dma_copy_bytes(d.dma, dst.data() + skew,
			                             src.data() + skew, size),
			          0);
			EXPECT_EQ(std::memcmp(dst.data() + skew,
			                      src.data() + skew, size),
			          0)
			        << size << " bytes, skew " << skew;
			// Nothing written outside the range.
			for (size_t i = 0; i < skew; i++)
				ASSERT_EQ(dst[i], 0xa5);
			for (size_t i = skew + size; i < dst.size(); i++)
				ASSERT_EQ(dst[i], 0xa5);
			if (size >= (4u << 20))
				break; // one skew is enough for the big ones
		}
	}
}

TEST_P(DmaCopy, TilesPackIntoContiguousSlotsAndBack)
{
	Dma d(GetParam());
	// 300 x 77 floats in tiles of 64 x 10: ragged in both dimensions.
	const size_t rows = 300, cols = 77;
	auto bytes = Pattern(rows * cols * 4, 7);
	struct aml_layout array =
	        Layout(bytes.data(), AML_LAYOUT_ORDER_C, 4, {rows, cols});
	const size_t tile[] = {64, 10};
	AML_TILING_ND_DECL(tiles);
	ASSERT_EQ(aml_tiling_nd_init(&tiles, &array, tile,
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	std::vector<unsigned char> back(bytes.size(), 0);
	struct aml_layout back_array =
	        Layout(back.data(), AML_LAYOUT_ORDER_C, 4, {rows, cols});
	AML_TILING_ND_DECL(back_tiles);
	ASSERT_EQ(aml_tiling_nd_init(&back_tiles, &back_array, tile,
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	std::vector<unsigned char> slot(64 * 10 * 4);
	AML_TILING_FOREACH (id, &tiles.base) {
		struct aml_layout t, b;
		ASSERT_EQ(aml_tiling_tile_layout(&tiles.base, id, &t), 0);
		ASSERT_EQ(aml_tiling_tile_layout(&back_tiles.base, id, &b), 0);
		struct aml_layout packed =
		        Layout(slot.data(), AML_LAYOUT_ORDER_C, 4,
		               {t.dims[0], t.dims[1]});
		ASSERT_EQ(aml_dma_copy(d.dma, &packed, &t), 0) << "tile " << id;
		ExpectSameElements(packed, t);
		ASSERT_EQ(aml_dma_copy(d.dma, &b, &packed), 0);
	}
	EXPECT_EQ(back, bytes);
	aml_tiling_nd_fini(&tiles);
	aml_tiling_nd_fini(&back_tiles);
}

TEST_P(DmaCopy, StridedLayoutsTransposeAndSlices)
{
	Dma d(GetParam());
	// C-order source, Fortran-order destination: a transpose in memory.
	const size_t n0 = 513, n1 = 129;
	auto src = Pattern(n0 * n1 * 8, 11);
	std::vector<unsigned char> dst(src.size(), 0);
	struct aml_layout s =
	        Layout(src.data(), AML_LAYOUT_ORDER_C, 8, {n0, n1});
	struct aml_layout t =
	        Layout(dst.data(), AML_LAYOUT_ORDER_FORTRAN, 8, {n0, n1});
	ASSERT_EQ(aml_dma_copy(d.dma, &t, &s), 0);
	ExpectSameElements(t, s);

	// A 3-d box with padded pitches on both sides, unaligned element size.
	const size_t dims[] = {9, 17, 33};
	std::vector<unsigned char> a = Pattern(12 * 20 * 40 * 3, 5);
	std::vector<unsigned char> b(11 * 19 * 37 * 3 + 1, 0);
	struct aml_layout la =
	        Layout(a.data(), AML_LAYOUT_ORDER_C, 3, {12, 20, 40});
	struct aml_layout lb =
	        Layout(b.data() + 1, AML_LAYOUT_ORDER_C, 3,
	               {dims[0], dims[1], dims[2]}, {19 * 37 * 3, 37 * 3, 3});
	struct aml_layout box;
	const size_t origin[] = {2, 1, 5};
	ASSERT_EQ(aml_layout_slice(&box, &la, origin, dims), 0);
	ASSERT_EQ(aml_dma_copy(d.dma, &lb, &box), 0);
	ExpectSameElements(lb, box);
}

TEST_P(DmaCopy, TenThousandRequestsInFlightWaitedInRandomOrder)
{
	Dma d(GetParam());
	const size_t n = 10000;
	std::vector<size_t> sizes(n), offsets(n);
	std::mt19937 rng(3);
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		sizes[i] = 1 + rng() % 20000;
		offsets[i] = total;
		total += sizes[i];
	}
	auto src = Pattern(total, 9);
	std::vector<unsigned char> dst(total, 0);
	std::vector<struct aml_dma_request *> req(n, nullptr);
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(aml_dma_async_copy_bytes(
		                  d.dma, &req[i], dst.data() + offsets[i],
		                  src.data() + offsets[i], sizes[i]),
		          0);
	std::vector<size_t> order(n);
	std::iota(order.begin(), order.end(), 0);
	std::shuffle(order.begin(), order.end(), rng);
	for (size_t i : order) {
		ASSERT_NE(req[i], nullptr);
		ASSERT_EQ(aml_dma_wait(d.dma, &req[i]), 0);
		EXPECT_EQ(req[i], nullptr);
		ASSERT_EQ(std::memcmp(dst.data() + offsets[i],
		                      src.data() + offsets[i], sizes[i]),
		          0)
		        << "request " << i;
	}
}

TEST_P(DmaCopy, BarrierThenWaitAndFireAndForget)
{
	Dma d(GetParam());
	const size_t n = 64, size = 256 << 10;
	auto src = Pattern(n * size, 13);
	std::vector<unsigned char> dst(n * size, 0), dst2(n * size, 0);
	std::vector<struct aml_dma_request *> req(n);
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ(aml_dma_async_copy_bytes(d.dma, &req[i],
		                                   dst.data() + i * size,
		                                   src.data() + i * size, size),
		          0);
		// Fire-and-forget: no handle.
		ASSERT_EQ(aml_dma_async_copy_bytes(d.dma, nullptr,
		                                   dst2.data() + i * size,
		                                   src.data() + i * size, size),
		          0);
	}
	ASSERT_EQ(aml_dma_barrier(d.dma), 0);
	EXPECT_EQ(dst2, src);
	EXPECT_EQ(dst, src);
	for (auto &r : req)
		EXPECT_EQ(aml_dma_wait(d.dma, &r), 0);
}

TEST_P(DmaCopy, CancelBeforeDuringAndAfter)
{
	Dma d(GetParam());
	const size_t big = 64 << 20;
	auto src = Pattern(big, 17);
	std::vector<unsigned char> dst(big, 0), dst2(big, 0);

	// After: the copy has ended; cancel only frees the request.
	struct aml_dma_request *r = nullptr;
	ASSERT_EQ(aml_dma_async_copy_bytes(d.dma, &r, dst.data(), src.data(),
	                                   4096),
	          0);
	ASSERT_EQ(aml_dma_barrier(d.dma), 0);
	EXPECT_EQ(aml_dma_cancel(d.dma, &r), 1);
	EXPECT_EQ(r, nullptr);
	EXPECT_EQ(std::memcmp(dst.data(), src.data(), 4096), 0);

	// During or before: a large copy, cancelled at once and after a
	// moment. Either way the request is gone and the engine still works.
	for (int pause_us : {0, 2000}) {
		ASSERT_EQ(aml_dma_async_copy_bytes(d.dma, &r, dst.data(),
		                                   src.data(), big),
		          0);
		// A second request queued behind it, cancelled first.
		struct aml_dma_request *r2 = nullptr;
		ASSERT_EQ(aml_dma_async_copy_bytes(d.dma, &r2, dst2.data(),
		                                   src.data(), big),
		          0);
		int c2 = aml_dma_cancel(d.dma, &r2);
		EXPECT_TRUE(c2 == 0 || c2 == 1) << c2;
		if (pause_us > 0)
			usleep(pause_us);
		int c = aml_dma_cancel(d.dma, &r);
		EXPECT_TRUE(c == 0 || c == 1) << c;
		if (c == 1) {
			EXPECT_EQ(dst, src); // it had ended: all there
		}
		if (GetParam() == Engine::kSeq) {
			EXPECT_EQ(c, 1); // seq copies at submission
		}
	}
	// The engine still copies after cancels.
	std::fill(dst.begin(), dst.end(), 0);
	ASSERT_EQ(aml_dma_copy_bytes(d.dma, dst.data(), src.data(), big), 0);
	EXPECT_EQ(dst, src);
	EXPECT_EQ(aml_dma_barrier(d.dma), 0);
}

TEST_P(DmaCopy, ManyThreadsSubmitAndWaitAtOnce)
{
	Dma d(GetParam());
	const size_t nthreads = 4, per = 200, size = 40000;
	auto src = Pattern(nthreads * per * size / 8, 19);
	std::vector<unsigned char> dst(src.size(), 0);
	std::vector<std::thread> threads;
	for (size_t t = 0; t < nthreads; t++) {
		threads.emplace_back([&, t] {
			for (size_t i = 0; i < per; i++) {
				size_t off = ((t * per + i) * size / 8) %
				             (src.size() - size);
				off -= off % size; // 0 or a multiple of size
				struct aml_dma_request *r;
				std::vector<unsigned char> mine(size);
				ASSERT_EQ(aml_dma_async_copy_bytes(
				                  d.dma, &r, mine.data(),
				                  src.data() + off, size),
				          0);
				ASSERT_EQ(aml_dma_wait(d.dma, &r), 0);
				ASSERT_EQ(std::memcmp(mine.data(),
				                      src.data() + off, size),
				          0);
			}
		});
	}
	for (auto &th : threads)
		th.join();
}

// More small copies in flight from one thread than a par engine's lane
// holds (1024, aml/src/dma/par_lane.c), some fire-and-forget, waited in
// reverse order; and more submitting threads than it has lanes (16), each
// waiting for its copies in another thread. Every copy lands whichever
// way it went (a lane or the queue).
TEST_P(DmaCopy, MoreInFlightThanALaneAndMoreThreadsThanLanes)
{
	Dma d(GetParam());
	const size_t n = 3000, size = 4096;
	auto src = Pattern(n * size, 23);
	std::vector<unsigned char> dst(n * size, 0);
	std::vector<struct aml_dma_request *> r(n, nullptr);
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(aml_dma_async_copy_bytes(d.dma,
		                                   i % 3 == 0 ? nullptr : &r[i],
		                                   dst.data() + i * size,
		                                   src.data() + i * size, size),
		          0);
	for (size_t i = n; i-- > 0;) {
		if (i % 3 != 0) {
			ASSERT_EQ(aml_dma_wait(d.dma, &r[i]), 0);
		}
	}
	ASSERT_EQ(aml_dma_barrier(d.dma), 0);
	EXPECT_EQ(dst, src);

	const size_t nthreads = 20, per = 100;
	std::fill(dst.begin(), dst.end(), 0);
	std::vector<std::vector<struct aml_dma_request *>> handles(
	        nthreads, std::vector<struct aml_dma_request *>(per));
	std::vector<std::thread> submitters;
	for (size_t t = 0; t < nthreads; t++)
		submitters.emplace_back([&, t] {
			for (size_t i = 0; i < per; i++) {
				size_t k = t * per + i;
				ASSERT_EQ(aml_dma_async_copy_bytes(
				                  d.dma, &handles[t][i],
				                  dst.data() + k * size,
				                  src.data() + k * size, size),
				          0);
			}
		});
	for (auto &th : submitters)
		th.join();
	std::vector<std::thread> waiters;
	for (size_t t = 0; t < nthreads; t++)
		waiters.emplace_back([&, t] {
			// Another thread's handles.
			auto &mine = handles[(t + 1) % nthreads];
			for (auto &h : mine)
				ASSERT_EQ(aml_dma_wait(d.dma, &h), 0);
		});
	for (auto &th : waiters)
		th.join();
	EXPECT_EQ(std::memcmp(dst.data(), src.data(), nthreads * per * size),
	          0);
}

// A handle is good for one wait or cancel. A copy of it used again, a
// handle of another engine and a made-up pointer are AML_EINVAL and change
// nothing: the engine goes on giving each copy a request of its own.
TEST_P(DmaCopy, StaleAndForeignHandlesAreRefused)
{
	Dma d(GetParam());
	Dma other(GetParam());
	// Inline on the default par engine, and handed to the workers.
	for (size_t size : {size_t(4096), size_t(1) << 20}) {
		auto src = Pattern(size, (unsigned)size);
		std::vector<unsigned char> dst(size, 0), a(size, 0), b(size, 0);
		struct aml_dma_request *r = nullptr;
		ASSERT_EQ(aml_dma_async_copy_bytes(d.dma, &r, dst.data(),
		                                   src.data(), size),
		          0);
		struct aml_dma_request *const kept = r;
		struct aml_dma_request *copy = kept;
		EXPECT_EQ(aml_dma_wait(other.dma, &copy), AML_EINVAL);
		copy = kept;
		EXPECT_EQ(aml_dma_cancel(other.dma, &copy), AML_EINVAL);
		ASSERT_EQ(aml_dma_wait(d.dma, &r), 0); // still valid here
		EXPECT_EQ(dst, src);
		copy = kept;
		EXPECT_EQ(aml_dma_wait(d.dma, &copy), AML_EINVAL) << size;
		copy = kept;
		EXPECT_EQ(aml_dma_cancel(d.dma, &copy), AML_EINVAL) << size;
		// Two copies at once still get two requests, both done.
		struct aml_dma_request *ra = nullptr, *rb = nullptr;
		ASSERT_EQ(aml_dma_async_copy_bytes(d.dma, &ra, a.data(),
		                                   src.data(), size),
		          0);
		ASSERT_EQ(aml_dma_async_copy_bytes(d.dma, &rb, b.data(),
		                                   src.data(), size),
		          0);
		EXPECT_NE(ra, rb);
		copy = kept;
		EXPECT_EQ(aml_dma_wait(d.dma, &copy), AML_EINVAL) << size;
		ASSERT_EQ(aml_dma_wait(d.dma, &rb), 0);
		ASSERT_EQ(aml_dma_wait(d.dma, &ra), 0);
		EXPECT_EQ(a, src);
		EXPECT_EQ(b, src);
		// A cancelled request is gone too.
		ASSERT_EQ(aml_dma_async_copy_bytes(d.dma, &r, dst.data(),
		                                   src.data(), size),
		          0);
		copy = r;
		int c = aml_dma_cancel(d.dma, &r);
		EXPECT_TRUE(c == 0 || c == 1) << c;
		EXPECT_EQ(aml_dma_wait(d.dma, &copy), AML_EINVAL);
	}
	// Pointers no engine gave out.
	int local = 0;
	struct aml_dma_request *made_up[] = {
	        reinterpret_cast<struct aml_dma_request *>(&local),
	        reinterpret_cast<struct aml_dma_request *>(uintptr_t(1)),
	        reinterpret_cast<struct aml_dma_request *>(UINTPTR_MAX),
	};
	for (struct aml_dma_request *m : made_up) {
		struct aml_dma_request *copy = m;
		EXPECT_EQ(aml_dma_wait(d.dma, &copy), AML_EINVAL);
		copy = m;
		EXPECT_EQ(aml_dma_cancel(d.dma, &copy), AML_EINVAL);
	}
	EXPECT_EQ(aml_dma_barrier(d.dma), 0);
}

// Two threads wait copies of one handle at once: one waits the copy, the
// other is refused, whichever comes first.
TEST_P(DmaCopy, AHandleWaitedByTwoThreadsAtOnceIsWaitedOnce)
{
	Dma d(GetParam());
	const size_t size = 1 << 20; // above inline_max: on par, to workers
	auto src = Pattern(size, 31);
	std::vector<unsigned char> dst(size, 0);
	for (int round = 0; round < 20; round++) {
		struct aml_dma_request *r = nullptr;
		ASSERT_EQ(aml_dma_async_copy_bytes(d.dma, &r, dst.data(),
		                                   src.data(), size),
		          0);
		int got[2] = {1, 1};
		std::thread a([&] {
			struct aml_dma_request *mine = r;
			got[0] = aml_dma_wait(d.dma, &mine);
		});
		std::thread b([&] {
			struct aml_dma_request *mine = r;
			got[1] = aml_dma_wait(d.dma, &mine);
		});
		a.join();
		b.join();
		EXPECT_EQ(std::min(got[0], got[1]), AML_EINVAL);
		EXPECT_EQ(std::max(got[0], got[1]), 0);
		EXPECT_EQ(dst, src);
	}
	EXPECT_EQ(aml_dma_barrier(d.dma), 0);
}

// A fire-and-forget copy that fails is reported by the next barrier, once
// (aml/dma.h), by both engines.
TEST(DmaBarrier, ReportsTheFirstFireAndForgetFailureOnce)
{
	for (bool par : {false, true}) {
		SCOPED_TRACE(par ? "par" : "seq");
		aml_testing::CountingCopier failing;
		failing.fail = true;
		AML_DMA_SEQ_DECL(seq);
		AML_DMA_PAR_DECL(pe);
		struct aml_dma *dma = nullptr;
		if (par) {
			ASSERT_EQ(aml_dma_par_init_copier(&pe, &failing.copier,
			                                  nullptr),
			          0);
			dma = &pe.base;
		} else {
			ASSERT_EQ(
			        aml_dma_seq_init_copier(&seq, &failing.copier),
			        0);
			dma = &seq.base;
		}
		std::vector<char> src(4096, 1), dst(4096);
		ASSERT_EQ(aml_dma_async_copy_bytes(dma, nullptr, dst.data(),
		                                   src.data(), src.size()),
		          0);
		EXPECT_EQ(aml_dma_barrier(dma), AML_ENODEV);
		EXPECT_EQ(aml_dma_barrier(dma), 0);
		// A failure of a copy with a handle goes to its wait only.
		failing.fail = true;
		struct aml_dma_request *r = nullptr;
		ASSERT_EQ(aml_dma_async_copy_bytes(dma, &r, dst.data(),
		                                   src.data(), src.size()),
		          0);
		EXPECT_EQ(aml_dma_barrier(dma), 0);
		EXPECT_EQ(aml_dma_wait(dma, &r), AML_ENODEV);
		if (par)
			aml_dma_par_fini(&pe);
		else
			aml_dma_seq_fini(&seq);
	}
}

INSTANTIATE_TEST_SUITE_P(Engines,
                         DmaCopy,
                         ::testing::Values(Engine::kSeq,
                                           Engine::kPar,
                                           Engine::kParNoInline,
                                           Engine::kParFineChunks,
                                           Engine::kMultiplex),
                         EngineName);

TEST(DmaPar, DestroyWithRequestsInFlightCompletesThem)
{
	const size_t n = 8, size = 8 << 20;
	auto src = Pattern(n * size, 23);
	std::vector<unsigned char> dst(n * size, 0);
	struct aml_dma *dma = nullptr;
	struct aml_dma_par_options o = {};
	o.nworkers = 2;
	ASSERT_EQ(aml_dma_par_create(&dma, nullptr, &o), 0);
	struct aml_dma_request *kept = nullptr;
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(aml_dma_async_copy_bytes(dma,
		                                   i == 0 ? &kept : nullptr,
		                                   dst.data() + i * size,
		                                   src.data() + i * size, size),
		          0);
	aml_dma_par_destroy(&dma); // completes, then frees kept too
	EXPECT_EQ(dma, nullptr);
	EXPECT_EQ(dst, src);
}

// A copier whose copy from one source waits, once begun, until it has
// made `needed` copies of other sources: the thread that took that copy
// holds it until others copy those.
struct GatedCopier {
	static int Copy(const struct aml_copier *c,
	                void *dst,
	                const void *src,
	                size_t size,
	                bool)
	{
		auto *self = static_cast<GatedCopier *>(c->data);
		if (src == self->gated) {
			self->entered.store(true);
			while (self->others.load() < self->needed)
				std::this_thread::yield();
		}
		std::memcpy(dst, src, size);
		if (src != self->gated)
			self->others.fetch_add(1);
		return 0;
	}
	const void *gated = nullptr;
	int needed = 0;
	std::atomic<bool> entered{false};
	std::atomic<int> others{0};
};

const struct aml_copier_ops kGatedCopierOps = {GatedCopier::Copy, nullptr,
                                               nullptr, nullptr, nullptr};

// While the only worker holds A, a wait for A copies B and C, queued
// after it, in the calling thread; A's copy ends only once they are
// copied, so an engine whose waiter only spins or sleeps never returns
// (the test then times out).
TEST(DmaPar, AWaiterCopiesQueuedRequestsWhileAWorkerHoldsItsOwn)
{
	const size_t size = 4096;
	auto src = Pattern(3 * size, 41);
	std::vector<unsigned char> dst(3 * size, 0);
	GatedCopier gate;
	gate.gated = src.data();
	gate.needed = 2;
	const struct aml_copier copier = {&kGatedCopierOps, &gate};
	AML_DMA_PAR_DECL(dma);
	struct aml_dma_par_options o = {};
	o.nworkers = 1;
	o.inline_max = AML_DMA_PAR_NO_INLINE;
	ASSERT_EQ(aml_dma_par_init_copier(&dma, &copier, &o), 0);
	struct aml_dma_request *r[3] = {nullptr, nullptr, nullptr};
	ASSERT_EQ(aml_dma_async_copy_bytes(&dma.base, &r[0], dst.data(),
	                                   src.data(), size),
	          0);
	while (!gate.entered.load())
		std::this_thread::yield(); // the worker holds A
	for (size_t i = 1; i < 3; i++)
		ASSERT_EQ(aml_dma_async_copy_bytes(&dma.base, &r[i],
		                                   dst.data() + i * size,
		                                   src.data() + i * size, size),
		          0);
	EXPECT_EQ(aml_dma_wait(&dma.base, &r[0]), 0);
	for (size_t i = 1; i < 3; i++)
		EXPECT_EQ(aml_dma_wait(&dma.base, &r[i]), 0);
	EXPECT_EQ(gate.others.load(), 2);
	EXPECT_EQ(dst, src);
	aml_dma_par_fini(&dma);
}

TEST(DmaPar, OptionsResolveAndRefuse)
{
	AML_DMA_PAR_DECL(dma);
	struct aml_dma_par_options o = {};
	ASSERT_EQ(aml_dma_par_init(&dma, nullptr, &o), 0);
	struct aml_dma_par_options got;
	ASSERT_EQ(aml_dma_par_options(&dma, &got), 0);
	EXPECT_GE(got.nworkers, 1u);
	// A quarter of this host's L2, within the documented bounds: valgrind
	// reports caches of its own, so no one figure holds everywhere.
	EXPECT_GE(got.chunk_size, 64u << 10);
	EXPECT_LE(got.chunk_size, 4u << 20);
	EXPECT_EQ(got.inline_max, 16u << 10);
	EXPECT_GT(got.spin_ns, 0u);
	aml_dma_par_fini(&dma);
	aml_dma_par_fini(&dma); // twice is a no-op
	EXPECT_EQ(aml_dma_par_options(&dma, &got), AML_EINVAL);

	o.nworkers = AML_DMA_PAR_WORKERS_MAX + 1;
	EXPECT_EQ(aml_dma_par_init(&dma, nullptr, &o), AML_EINVAL);
	o.nworkers = 1;
	o.chunk_size = SIZE_MAX;
	EXPECT_EQ(aml_dma_par_init(&dma, nullptr, &o), AML_EINVAL);
	EXPECT_EQ(aml_dma_par_init(nullptr, nullptr, nullptr), AML_EINVAL);
	struct aml_dma *out = reinterpret_cast<struct aml_dma *>(&o);
	EXPECT_EQ(aml_dma_par_create(&out, nullptr, &o), AML_EINVAL);
	EXPECT_EQ(out, nullptr);
}

TEST(DmaErrors, BadInputIsRefusedAndCopiesNothing)
{
	Dma d(Engine::kPar);
	std::vector<unsigned char> a(4096, 1), b(4096, 2);
	const auto b0 = b;
	struct aml_dma_request *r = reinterpret_cast<struct aml_dma_request *>(
	        &a); // must be reset to NULL on error
	EXPECT_EQ(aml_dma_copy_bytes(nullptr, b.data(), a.data(), 16),
	          AML_EINVAL);
	EXPECT_EQ(aml_dma_copy_bytes(d.dma, nullptr, a.data(), 16), AML_EINVAL);
	EXPECT_EQ(aml_dma_copy_bytes(d.dma, b.data(), nullptr, 16), AML_EINVAL);
	EXPECT_EQ(aml_dma_copy_bytes(d.dma, b.data(), a.data(), 0), AML_EINVAL);
	EXPECT_EQ(aml_dma_copy_bytes(d.dma, b.data(), a.data(), SIZE_MAX),
	          AML_EINVAL);
	// Overlapping ranges.
	EXPECT_EQ(aml_dma_copy_bytes(d.dma, a.data() + 1, a.data(), 64),
	          AML_EINVAL);
	EXPECT_EQ(
	        aml_dma_async_copy_bytes(d.dma, &r, b.data(), b.data() + 8, 64),
	        AML_EINVAL);
	EXPECT_EQ(r, nullptr);

	struct aml_layout la =
	        Layout(a.data(), AML_LAYOUT_ORDER_C, 4, {32, 32});
	struct aml_layout lb =
	        Layout(b.data(), AML_LAYOUT_ORDER_C, 4, {32, 32});
	struct aml_layout wrong_dims =
	        Layout(b.data(), AML_LAYOUT_ORDER_C, 4, {16, 64});
	struct aml_layout wrong_size =
	        Layout(b.data(), AML_LAYOUT_ORDER_C, 2, {32, 32});
	struct aml_layout wrong_ndims =
	        Layout(b.data(), AML_LAYOUT_ORDER_C, 4, {1024});
	struct aml_layout shape_only =
	        Layout(nullptr, AML_LAYOUT_ORDER_C, 4, {32, 32});
	EXPECT_EQ(aml_dma_copy(d.dma, &wrong_dims, &la), AML_EINVAL);
	EXPECT_EQ(aml_dma_copy(d.dma, &wrong_size, &la), AML_EINVAL);
	EXPECT_EQ(aml_dma_copy(d.dma, &wrong_ndims, &la), AML_EINVAL);
	EXPECT_EQ(aml_dma_copy(d.dma, &shape_only, &la), AML_EINVAL);
	EXPECT_EQ(aml_dma_copy(d.dma, &lb, &shape_only), AML_EINVAL);
	EXPECT_EQ(aml_dma_copy(d.dma, &la, &la), AML_EINVAL); // overlap
	EXPECT_EQ(aml_dma_copy(d.dma, nullptr, &la), AML_EINVAL);
	EXPECT_EQ(aml_dma_copy(d.dma, &lb, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_dma_copy(nullptr, &lb, &la), AML_EINVAL);
	EXPECT_EQ(b, b0); // nothing was copied

	EXPECT_EQ(aml_dma_wait(d.dma, nullptr), AML_EINVAL);
	r = nullptr;
	EXPECT_EQ(aml_dma_wait(d.dma, &r), AML_EINVAL);
	EXPECT_EQ(aml_dma_cancel(d.dma, &r), AML_EINVAL);
	EXPECT_EQ(aml_dma_cancel(nullptr, &r), AML_EINVAL);
	EXPECT_EQ(aml_dma_barrier(nullptr), AML_EINVAL);
	struct aml_dma no_ops = {nullptr, nullptr};
	EXPECT_EQ(aml_dma_barrier(&no_ops), AML_EINVAL);
	EXPECT_EQ(aml_dma_copy_bytes(&no_ops, b.data(), a.data(), 16),
	          AML_EINVAL);

	// A finalised engine refuses work instead of crashing.
	AML_DMA_SEQ_DECL(seq);
	ASSERT_EQ(aml_dma_seq_init(&seq, nullptr), 0);
	aml_dma_seq_fini(&seq);
	EXPECT_EQ(aml_dma_copy_bytes(&seq.base, b.data(), a.data(), 16),
	          AML_EINVAL);
	EXPECT_EQ(aml_dma_seq_init(nullptr, nullptr), AML_EINVAL);
	EXPECT_EQ(b, b0);

	// Destroy leaves other kinds alone.
	struct aml_dma *seq_dma = nullptr;
	ASSERT_EQ(aml_dma_seq_create(&seq_dma, nullptr), 0);
	struct aml_dma *keep = seq_dma;
	aml_dma_par_destroy(&seq_dma);
	EXPECT_EQ(seq_dma, keep);
	aml_dma_seq_destroy(&seq_dma);
	EXPECT_EQ(seq_dma, nullptr);
}

// On an emulated machine, a copy advances the virtual clock by its
// modelled cost and shows in the devices' statistics, on both engines.
class DmaEmulated : public ::testing::TestWithParam<Engine>,
                    public aml_testing::KnlAreas
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

// The emulated KNL areas, for tests of the par engine alone.
class DmaEmulatedPar : public ::testing::Test, public aml_testing::KnlAreas
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

TEST_P(DmaEmulated, CopiesFromDdrToMcdramAreChargedToTheModel)
{
	const size_t size = 2 << 20;
	char *src = nullptr, *dst = nullptr;
	ASSERT_TRUE(MapSlowToFast(size, 29, &src, &dst));

	Dma d(GetParam(), t);
	uint64_t cost = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, size, &cost), 0);
	struct aml_emu_clock before, after;
	struct aml_emu_stats in0, in1;
	ASSERT_EQ(aml_emu_clock(t, &before), 0);
	ASSERT_EQ(aml_emu_stats(t, 1, &in0), 0);
	ASSERT_EQ(aml_dma_copy_bytes(d.dma, dst, src, size), 0);
	ASSERT_EQ(aml_emu_clock(t, &after), 0);
	ASSERT_EQ(aml_emu_stats(t, 1, &in1), 0);
	EXPECT_EQ(std::memcmp(dst, Pattern(size, 29).data(), size), 0);
	EXPECT_EQ(in1.bytes_copied_in - in0.bytes_copied_in, size);
	// Chunks pay the latency once each: at least the one-piece cost.
	EXPECT_GE(after.total_ns - before.total_ns, cost);
	EXPECT_LE(after.total_ns - before.total_ns, cost + cost / 4);

	EXPECT_EQ(aml_area_munmap(&slow.base, src, size), 0);
	EXPECT_EQ(aml_area_munmap(&fast.base, dst, size), 0);
}

// The rows of a strided copy stream like one copy: one latency per copy
// (per chunk on par), not one per row, as a tile of 64 rows costs on real
// hardware and as a kernel charges its own tile accesses.
TEST_P(DmaEmulated, StridedCopiesPayOneLatencyNotOnePerRow)
{
	// A 64 x 64 tile of a 512 x 512 array of doubles: 64 runs of 512 B.
	const size_t n = 512, side = 64, bytes = side * side * 8;
	double *array = static_cast<double *>(
	        aml_area_mmap(&slow.base, n * n * 8, nullptr));
	double *slot = static_cast<double *>(
	        aml_area_mmap(&fast.base, bytes, nullptr));
	ASSERT_NE(array, nullptr);
	ASSERT_NE(slot, nullptr);
	for (size_t i = 0; i < n * n; i++)
		array[i] = (double)i;
	struct aml_layout whole, tile, dense;
	size_t dims[] = {n, n}, origin[] = {64, 128}, box[] = {side, side};
	ASSERT_EQ(aml_layout_init(&whole, array, AML_LAYOUT_ORDER_C, 8, 2, dims,
	                          nullptr),
	          0);
	ASSERT_EQ(aml_layout_slice(&tile, &whole, origin, box), 0);
	ASSERT_EQ(aml_layout_init(&dense, slot, AML_LAYOUT_ORDER_C, 8, 2, box,
	                          nullptr),
	          0);

	// The same bytes in one run, between the same two devices.
	uint64_t one_run = 0, row = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, slot, array, bytes, &one_run), 0);
	ASSERT_EQ(aml_emu_copy_cost(t, slot, array, side * 8, &row), 0);
	Dma d(GetParam(), t);
	struct aml_emu_clock before, after;
	ASSERT_EQ(aml_emu_clock(t, &before), 0);
	ASSERT_EQ(aml_dma_copy(d.dma, &dense, &tile), 0);
	ASSERT_EQ(aml_emu_clock(t, &after), 0);
	uint64_t charged = after.total_ns - before.total_ns;
	// Each row's transfer time rounds up to a whole ns: 64 ns of slack;
	// each chunk of a split copy pays its own latency (below a row's
	// cost).
	size_t chunks = GetParam() == Engine::kParFineChunks ? bytes / 4096 : 1;
	EXPECT_GE(charged, one_run);
	EXPECT_LE(charged, one_run + side + (chunks - 1) * row);
	// One latency per row would have cost 64 rows at the row's price.
	EXPECT_LT(charged, side * row / 2);
	for (size_t r = 0; r < side; r++)
		ASSERT_EQ(slot[r * side + 7], array[(64 + r) * n + 128 + 7]);

	EXPECT_EQ(aml_area_munmap(&slow.base, array, n * n * 8), 0);
	EXPECT_EQ(aml_area_munmap(&fast.base, slot, bytes), 0);
}

// In modelled time, a copy handed to a worker overlaps with the waiter's
// own work: the waiter resumes at max(its work, the copy's end), where
// the sequential engine adds the two.
TEST_F(DmaEmulated, WorkerCopiesOverlapTheWaitersWorkInModelledTime)
{
	const size_t size = 1 << 20;
	char *src =
	        static_cast<char *>(aml_area_mmap(&slow.base, size, nullptr));
	char *dst =
	        static_cast<char *>(aml_area_mmap(&fast.base, size, nullptr));
	char *work =
	        static_cast<char *>(aml_area_mmap(&fast.base, size, nullptr));
	ASSERT_NE(src, nullptr);
	ASSERT_NE(dst, nullptr);
	ASSERT_NE(work, nullptr);
	uint64_t copy_ns = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, size, &copy_ns), 0);

	struct aml_dma *par = nullptr;
	struct aml_dma_par_options o = {};
	o.nworkers = 1;
	o.inline_max = AML_DMA_PAR_NO_INLINE;
	ASSERT_EQ(aml_dma_par_create(&par, t, &o), 0);
	for (int reads : {1, 40}) { // work shorter, then longer than the copy
		struct aml_emu_clock c0, c1, c2;
		ASSERT_EQ(aml_emu_clock(t, &c0), 0);
		struct aml_dma_request *r;
		ASSERT_EQ(aml_dma_async_copy_bytes(par, &r, dst, src, size), 0);
		for (int i = 0; i < reads; i++)
			ASSERT_EQ(aml_emu_charge(t, work, size, AML_EMU_READ),
			          0);
		ASSERT_EQ(aml_emu_clock(t, &c1), 0);
		uint64_t work_ns = c1.thread_ns - c0.thread_ns;
		ASSERT_EQ(aml_dma_wait(par, &r), 0);
		ASSERT_EQ(aml_emu_clock(t, &c2), 0);
		uint64_t elapsed = c2.thread_ns - c0.thread_ns;
		uint64_t ideal = std::max(work_ns, copy_ns);
		EXPECT_GE(elapsed, ideal) << reads << " reads";
		// One chunk: the worker's latency once, nothing else.
		EXPECT_LE(elapsed, ideal + copy_ns / 100 + 1000)
		        << reads << " reads, work " << work_ns << " copy "
		        << copy_ns;
		EXPECT_LT(elapsed, work_ns + copy_ns);
	}
	aml_dma_par_destroy(&par);

	// The sequential engine copies in the caller: the times add up.
	Dma seq(Engine::kSeq, t);
	struct aml_emu_clock c0, c1;
	ASSERT_EQ(aml_emu_clock(t, &c0), 0);
	ASSERT_EQ(aml_dma_copy_bytes(seq.dma, dst, src, size), 0);
	ASSERT_EQ(aml_emu_charge(t, work, size, AML_EMU_READ), 0);
	ASSERT_EQ(aml_emu_clock(t, &c1), 0);
	EXPECT_GE(c1.thread_ns - c0.thread_ns, copy_ns);

	for (char *p : {src})
		EXPECT_EQ(aml_area_munmap(&slow.base, p, size), 0);
	for (char *p : {dst, work})
		EXPECT_EQ(aml_area_munmap(&fast.base, p, size), 0);
}

// The same calls advance the caller's clock by the same amount
// (docs/emulator.md), on the emulator's copier too: a copy with 2 workers,
// repeated under contention (a thread keeping a CPU busy), advances the
// waiter's clock identically every time. Before, it ranged from 0.50 to
// 1.04 times the serial cost, as the workers happened to share the chunks.
TEST_F(DmaEmulatedPar, TwoWorkersAdvanceTheClockTheSameEveryTime)
{
	const size_t size = 4 << 20;
	char *src = nullptr, *dst = nullptr;
	ASSERT_TRUE(MapSlowToFast(size, 31, &src, &dst));
	uint64_t serial = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, dst, src, size, &serial), 0);

	struct aml_dma *par = nullptr;
	struct aml_dma_par_options o = {};
	o.nworkers = 2;
	o.inline_max = AML_DMA_PAR_NO_INLINE;
	ASSERT_EQ(aml_dma_par_create(&par, t, &o), 0);
	std::atomic<bool> stop{false};
	std::thread busy([&] {
		while (!stop.load(std::memory_order_relaxed))
			;
	});
	std::vector<uint64_t> advances;
	for (int i = 0; i < 20; i++) {
		struct aml_emu_clock c0, c1;
		ASSERT_EQ(aml_emu_clock(t, &c0), 0);
		ASSERT_EQ(aml_dma_copy_bytes(par, dst, src, size), 0);
		ASSERT_EQ(aml_emu_clock(t, &c1), 0);
		advances.push_back(c1.thread_ns - c0.thread_ns);
	}
	stop = true;
	busy.join();
	aml_dma_par_destroy(&par);
	auto [lo, hi] = std::minmax_element(advances.begin(), advances.end());
	RecordProperty("advance_over_serial",
	               std::to_string(*hi / (double)serial));
	EXPECT_EQ(*lo, *hi)
	        << "advances over 20 runs: " << *lo / (double)serial << " to "
	        << *hi / (double)serial << " x the serial cost " << serial;
	// Two workers share 12 chunks: about half the serial cost, plus a
	// latency per chunk.
	EXPECT_LT(*hi, serial * 6 / 10);
	EXPECT_GT(*lo, serial / 2);
	EXPECT_EQ(aml_area_munmap(&slow.base, src, size), 0);
	EXPECT_EQ(aml_area_munmap(&fast.base, dst, size), 0);
}

INSTANTIATE_TEST_SUITE_P(Engines,
                         DmaEmulated,
                         ::testing::Values(Engine::kSeq,
                                           Engine::kPar,
                                           Engine::kParFineChunks),
                         EngineName);

} // namespace
