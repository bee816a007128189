// SPDX-License-Identifier: BSD-3-Clause
// DMA engines against memcpy, in one binary:
//   bazel run -c opt //bench:dma_bench -- --benchmark_repetitions=5
// (repetitions in a random order, bench/fair_order.h).
//
// Engines (the row's second part): aml_seq copies in the caller;
// aml_par_inline is a par engine with its defaults, 1 worker, which copies
// up to 16 KiB inline in the caller; aml_par_worker is a par engine with 1
// worker and inline_max = AML_DMA_PAR_NO_INLINE, so every copy goes to the
// worker's queue (the caller's wait copies chunks still queued itself: its
// own, and others' while the worker holds its own);
// aml_par_2_workers likewise with 2 workers (for copies above 16 KiB:
// default inlining); aml_par_worker_2_workers is 2 workers, no inlining.
// - dma/copy/<engine>/<bytes>: one synchronous copy per iteration.
// - dma/async_round_trip/<engine>/4096: submit one 4 KiB async copy, then wait;
//   "per_request" is the whole round trip. aml_par_worker: through the
//   worker's queue and back, with the worker spinning; as the wait comes
//   at once, the waiter mostly copies the request itself (an idle worker
//   leaves a lone small request for about 1 us, par.c). aml_par_inline:
//   the copy in the caller plus the request's bookkeeping.
// - dma/inflight_4KiB/<engine>/<n>: n async copies of 4 KiB (distinct
//   buffers), then n waits, so up to n requests are in flight at once;
//   "per_request" is the iteration's time / n. The memcpy row makes the n
//   copies back to back. The family gives the growth of the cost per
//   request with the number in flight (docs/dma.md).
// - dma/batch_64x16KiB/<engine>: 64 async copies of 16 KiB, then 64 waits.
// - dma/copy/memcpy/<bytes>, dma/inflight_4KiB/memcpy/<n> and
//   dma/batch_64x16KiB/memcpy: the peer, in the caller's thread.
// - dma/line_handoff/2_threads: one cache line passed to a second thread
//   and back (a round trip; "one_way" is half of it), spinning on both
//   sides: what any hand-off between two CPUs costs at least, once each
//   way (the request there, its end back). Measured, 2 threads.
// - dma/copy/stream_copy_2_threads/<bytes>: STREAM's copy kernel on two
//   threads (each memcpy's one half; the second thread is kept spinning
//   between iterations, as an OpenMP team is): the machine's copy
//   bandwidth, the bar for the engines' large copies.
// Every copy row reports bytes/s of payload (bytes copied, not bytes moved).
// The 1 GiB copies (2 GiB of buffers) are left out under `bazel test`.
// Times are wall-clock (UseRealTime): workers' CPU time is not the
// caller's. Buffers are touched before timing, and each benchmark copies the
// same buffers every iteration: the figures are for memory already mapped.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include <aml.h>
#include <aml/dma.h>
#include <aml/dma/par.h>
#include <aml/dma/seq.h>

namespace
{

enum Kind { kSeq, kPar, kParNoInline, kPar2Workers, kPar2WorkersNoInline };

// An engine for the life of one benchmark.
struct Engine {
	explicit Engine(Kind k)
	{
		struct aml_dma_par_options o = {};
		switch (k) {
		case kSeq:
			aml_dma_seq_create(&dma, nullptr);
			return;
		case kPar:
			o.nworkers = 1;
			break;
		case kParNoInline:
			o.nworkers = 1;
			o.inline_max = AML_DMA_PAR_NO_INLINE;
			break;
		case kPar2Workers:
			o.nworkers = 2;
			break;
		case kPar2WorkersNoInline:
			o.nworkers = 2;
			o.inline_max = AML_DMA_PAR_NO_INLINE;
			break;
		}
		aml_dma_par_create(&dma, nullptr, &o);
		par = true;
	}
	~Engine()
	{
		if (par)
			aml_dma_par_destroy(&dma);
		else
			aml_dma_seq_destroy(&dma);
	}
	struct aml_dma *dma = nullptr;
	bool par = false;
};

// The same placement for every benchmark, so that aml and memcpy copy
// alike: both page-aligned, the destination 256 bytes into its page. (With
// heap addresses, a 4 KiB memcpy took 46 ns in one run and 98 ns in the
// next, as the two buffers' distance fell on a multiple of 4 KiB or not.)
class Buffers
{
      public:
	explicit Buffers(size_t n)
	    : src_(Allocate(n)), dst_(Allocate(n + kDstOffset))
	{
		std::memset(src_.get(), 1, n);
		std::memset(dst_.get(), 0, n + kDstOffset);
	}
	char *src() const
	{
		return src_.get();
	}
	char *dst() const
	{
		return dst_.get() + kDstOffset;
	}

      private:
	static constexpr size_t kDstOffset = 256;
	struct Free {
		void operator()(char *p) const
		{
			std::free(p);
		}
	};
	static char *Allocate(size_t n)
	{
		size_t page = 4096, size = (n + page - 1) / page * page;
		return static_cast<char *>(std::aligned_alloc(page, size));
	}
	std::unique_ptr<char, Free> src_, dst_;
};

void Bytes(benchmark::State &state, size_t per_iteration)
{
	state.SetBytesProcessed((int64_t)(state.iterations() * per_iteration));
}

void BM_Memcpy(benchmark::State &state)
{
	size_t n = (size_t)state.range(0);
	Buffers b(n);
	for (auto _ : state) {
		std::memcpy(b.dst(), b.src(), n);
		benchmark::ClobberMemory();
	}
	Bytes(state, n);
}

template <Kind K> void BM_Copy(benchmark::State &state)
{
	size_t n = (size_t)state.range(0);
	Buffers b(n);
	Engine e(K);
	for (auto _ : state) {
		if (aml_dma_copy_bytes(e.dma, b.dst(), b.src(), n) != 0) {
			state.SkipWithError("copy failed");
			break;
		}
		benchmark::ClobberMemory();
	}
	Bytes(state, n);
}

template <Kind K> void BM_AsyncRoundTrip(benchmark::State &state)
{
	size_t n = (size_t)state.range(0);
	Buffers b(n);
	Engine e(K);
	for (auto _ : state) {
		struct aml_dma_request *r;
		aml_dma_async_copy_bytes(e.dma, &r, b.dst(), b.src(), n);
		aml_dma_wait(e.dma, &r);
		benchmark::ClobberMemory();
	}
	Bytes(state, n);
	state.counters["per_request"] = benchmark::Counter(
	        1, benchmark::Counter::kIsIterationInvariantRate |
	                   benchmark::Counter::kInvert);
}

// A second thread that copies the upper half of each iteration's copy.
class Helper
{
      public:
	Helper(char *dst, const char *src, size_t n)
	    : dst_(dst), src_(src), n_(n), thread_([this] { Run(); })
	{
	}
	~Helper()
	{
		stop_.store(true);
		thread_.join();
	}
	// Start the upper half; Join waits for it.
	void Start()
	{
		go_.fetch_add(1, std::memory_order_release);
	}
	void Join()
	{
		while (done_.load(std::memory_order_acquire) !=
		       go_.load(std::memory_order_relaxed))
			;
	}

      private:
	void Run()
	{
		unsigned long seen = 0;
		while (!stop_.load(std::memory_order_relaxed)) {
			if (go_.load(std::memory_order_acquire) == seen)
				continue;
			seen++;
			size_t half = n_ / 2;
			std::memcpy(dst_ + half, src_ + half, n_ - half);
			done_.store(seen, std::memory_order_release);
		}
	}
	char *dst_;
	const char *src_;
	size_t n_;
	std::atomic<unsigned long> go_{0}, done_{0};
	std::atomic<bool> stop_{false};
	std::thread thread_;
};

void BM_StreamCopy2Threads(benchmark::State &state)
{
	size_t n = (size_t)state.range(0);
	Buffers b(n);
	Helper h(b.dst(), b.src(), n);
	for (auto _ : state) {
		h.Start();
		std::memcpy(b.dst(), b.src(), n / 2);
		h.Join();
		benchmark::ClobberMemory();
	}
	Bytes(state, n);
}

// Spin until word holds want, or stop is set (then false): yields now and
// then, so that a machine with one CPU still moves on.
bool SpinUntil(const std::atomic<unsigned long> &word,
               unsigned long want,
               const std::atomic<bool> &stop)
{
	for (unsigned i = 1; word.load(std::memory_order_acquire) != want;
	     i++) {
		if (stop.load(std::memory_order_relaxed))
			return false;
		if (i % 4096 == 0)
			std::this_thread::yield();
	}
	return true;
}

// One cache line passed between two threads and back: the floor under
// any hand-off between them, which must at least carry the request one
// way and its end the other.
void BM_LineHandoff(benchmark::State &state)
{
	struct alignas(64) Line {
		std::atomic<unsigned long> turn{0};
	} line;
	std::atomic<bool> stop{false};
	std::thread peer([&] {
		for (unsigned long t = 1; SpinUntil(line.turn, t, stop); t += 2)
			line.turn.store(t + 1, std::memory_order_release);
	});
	unsigned long t = 0;
	for (auto _ : state) {
		line.turn.store(t + 1, std::memory_order_release);
		SpinUntil(line.turn, t + 2, stop);
		t += 2;
	}
	stop.store(true);
	peer.join();
	state.counters["one_way"] = benchmark::Counter(
	        2, benchmark::Counter::kIsIterationInvariantRate |
	                   benchmark::Counter::kInvert);
}

constexpr size_t kSmall = 4 << 10;

void BM_InflightMemcpy(benchmark::State &state)
{
	size_t n = (size_t)state.range(0);
	Buffers b(n * kSmall);
	for (auto _ : state) {
		for (size_t i = 0; i < n; i++)
			std::memcpy(b.dst() + i * kSmall, b.src() + i * kSmall,
			            kSmall);
		benchmark::ClobberMemory();
	}
	Bytes(state, n * kSmall);
	state.counters["per_request"] = benchmark::Counter(
	        (double)n, benchmark::Counter::kIsIterationInvariantRate |
	                           benchmark::Counter::kInvert);
}

template <Kind K> void BM_Inflight(benchmark::State &state)
{
	size_t n = (size_t)state.range(0);
	Buffers b(n * kSmall);
	Engine e(K);
	std::vector<struct aml_dma_request *> r(n);
	for (auto _ : state) {
		for (size_t i = 0; i < n; i++)
			if (aml_dma_async_copy_bytes(
			            e.dma, &r[i], b.dst() + i * kSmall,
			            b.src() + i * kSmall, kSmall) != 0) {
				state.SkipWithError("submit failed");
				return;
			}
		for (size_t i = 0; i < n; i++)
			aml_dma_wait(e.dma, &r[i]);
		benchmark::ClobberMemory();
	}
	Bytes(state, n * kSmall);
	state.counters["per_request"] = benchmark::Counter(
	        (double)n, benchmark::Counter::kIsIterationInvariantRate |
	                           benchmark::Counter::kInvert);
}

void InFlight(benchmark::internal::Benchmark *b)
{
	b->Arg(1)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);
}

constexpr size_t kBatch = 64, kBatchBytes = 16 << 10;

void BM_BatchMemcpy(benchmark::State &state)
{
	Buffers b(kBatch * kBatchBytes);
	for (auto _ : state) {
		for (size_t i = 0; i < kBatch; i++)
			std::memcpy(b.dst() + i * kBatchBytes,
			            b.src() + i * kBatchBytes, kBatchBytes);
		benchmark::ClobberMemory();
	}
	Bytes(state, kBatch * kBatchBytes);
}

template <Kind K> void BM_Batch(benchmark::State &state)
{
	Buffers b(kBatch * kBatchBytes);
	Engine e(K);
	struct aml_dma_request *r[kBatch];
	for (auto _ : state) {
		for (size_t i = 0; i < kBatch; i++)
			aml_dma_async_copy_bytes(
			        e.dma, &r[i], b.dst() + i * kBatchBytes,
			        b.src() + i * kBatchBytes, kBatchBytes);
		for (size_t i = 0; i < kBatch; i++)
			aml_dma_wait(e.dma, &r[i]);
		benchmark::ClobberMemory();
	}
	Bytes(state, kBatch * kBatchBytes);
}

// 1 GiB copies need 2 GiB: a benchmark run has it, a smoke test (bazel
// test sets TEST_TARGET) must not depend on it.
void Large(benchmark::internal::Benchmark *b)
{
	b->Arg(1 << 20)->Arg(64 << 20);
	if (std::getenv("TEST_TARGET") == nullptr)
		b->Arg((int64_t)1 << 30);
}

void Sizes(benchmark::internal::Benchmark *b)
{
	b->Arg(4 << 10);
	Large(b);
}

} // namespace

BENCHMARK(BM_Memcpy)->Name("dma/copy/memcpy")->Apply(Sizes)->UseRealTime();
BENCHMARK(BM_LineHandoff)->Name("dma/line_handoff/2_threads")->UseRealTime();
BENCHMARK(BM_StreamCopy2Threads)
        ->Name("dma/copy/stream_copy_2_threads")
        ->Apply(Large)
        ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Copy, kSeq)
        ->Name("dma/copy/aml_seq")
        ->Apply(Sizes)
        ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Copy, kPar)
        ->Name("dma/copy/aml_par")
        ->Apply(Sizes)
        ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Copy, kPar2Workers)
        ->Name("dma/copy/aml_par_2_workers")
        ->Apply(Sizes)
        ->UseRealTime();
BENCHMARK_TEMPLATE(BM_AsyncRoundTrip, kPar)
        ->Name("dma/async_round_trip/aml_par_inline")
        ->Arg(4 << 10)
        ->UseRealTime();
BENCHMARK_TEMPLATE(BM_AsyncRoundTrip, kParNoInline)
        ->Name("dma/async_round_trip/aml_par_worker")
        ->Arg(4 << 10)
        ->UseRealTime();
BENCHMARK_TEMPLATE(BM_AsyncRoundTrip, kSeq)
        ->Name("dma/async_round_trip/aml_seq")
        ->Arg(4 << 10)
        ->UseRealTime();
BENCHMARK(BM_InflightMemcpy)
        ->Name("dma/inflight_4KiB/memcpy")
        ->Apply(InFlight)
        ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Inflight, kParNoInline)
        ->Name("dma/inflight_4KiB/aml_par_worker")
        ->Apply(InFlight)
        ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Inflight, kPar)
        ->Name("dma/inflight_4KiB/aml_par_inline")
        ->Apply(InFlight)
        ->UseRealTime();
BENCHMARK(BM_BatchMemcpy)->Name("dma/batch_64x16KiB/memcpy")->UseRealTime();
BENCHMARK_TEMPLATE(BM_Batch, kSeq)
        ->Name("dma/batch_64x16KiB/aml_seq")
        ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Batch, kPar)
        ->Name("dma/batch_64x16KiB/aml_par_inline")
        ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Batch, kParNoInline)
        ->Name("dma/batch_64x16KiB/aml_par_worker")
        ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Batch, kPar2WorkersNoInline)
        ->Name("dma/batch_64x16KiB/aml_par_worker_2_workers")
        ->UseRealTime();
