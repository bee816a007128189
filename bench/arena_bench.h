// SPDX-License-Identifier: BSD-3-Clause
// Shared by the arena benchmark's files: the sizes issue #5 asks for.
#ifndef AML_BENCH_ARENA_BENCH_H
#define AML_BENCH_ARENA_BENCH_H

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include <benchmark/benchmark.h>

namespace aml_bench
{

// 16 B, 64 B, 256 B, 1 KiB, 4 KiB.
inline void ArenaSizes(benchmark::internal::Benchmark *b)
{
	b->Arg(16)->Arg(64)->Arg(256)->Arg(1 << 10)->Arg(4 << 10);
}

// The timed loop of every arena/malloc_free row: malloc_fn then free_fn
// of state.range(0) bytes per iteration, in the calling thread. Callables
// (lambdas), so that each row calls its allocator as it would directly.
template <class Malloc, class Free>
void MallocFreeLoop(benchmark::State &state, Malloc malloc_fn, Free free_fn)
{
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = malloc_fn(size);
		benchmark::DoNotOptimize(p);
		free_fn(p);
	}
	state.SetItemsProcessed(state.iterations());
}

// A second thread that waits, doing nothing, while it is in scope: the
// arena/malloc_free_threaded rows time one thread as MallocFreeLoop does,
// but in a process that has another thread, as any program that shares an
// arena between threads has. glibc's locks, and the jemalloc arena's, take
// a cheaper path while a process has one thread (__libc_single_threaded),
// which is what the plain rows measure until the first `/threads:2` row.
class ParkedThread
{
      public:
	ParkedThread()
	    : thread_([this] {
		      std::unique_lock<std::mutex> lock(mutex_);
		      cv_.wait(lock, [this] { return done_; });
	      })
	{
	}
	~ParkedThread()
	{
		{
			std::lock_guard<std::mutex> lock(mutex_);
			done_ = true;
		}
		cv_.notify_one();
		thread_.join();
	}

      private:
	std::mutex mutex_;
	std::condition_variable cv_;
	bool done_ = false;
	std::thread thread_;
};

} // namespace aml_bench

#endif // AML_BENCH_ARENA_BENCH_H
