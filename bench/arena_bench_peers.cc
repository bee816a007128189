// SPDX-License-Identifier: BSD-3-Clause
// jemalloc and mimalloc, the allocators the scalable arena is measured
// against (issue #17), on one and two threads; linked into
// //bench:arena_bench when the host has them (third_party/host_libs.bzl).
// mimalloc is called through its own API (mi_malloc/mi_free); jemalloc
// through its malloc and free, looked up in its own library (mallocx and
// dallocx cost 2-3 ns more), whichever library provides malloc here.
#include <dlfcn.h>

#include <benchmark/benchmark.h>

#ifdef AML_BENCH_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif
#ifdef AML_BENCH_HAVE_MIMALLOC
#include <mimalloc.h>
#endif

#include "bench/arena_bench.h"

namespace
{

#ifdef AML_BENCH_HAVE_JEMALLOC
struct Jemalloc {
	void *(*malloc)(size_t);
	void (*free)(void *);
};

// jemalloc's malloc and free, from the library that defines mallocx.
const Jemalloc *JemallocFunctions()
{
	static const Jemalloc *je = []() -> const Jemalloc * {
		static Jemalloc found;
		Dl_info info;
		void *lib = nullptr;
		if (dladdr(reinterpret_cast<void *>(&mallocx), &info) != 0)
			lib = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
		void *m = lib != nullptr ? dlsym(lib, "malloc") : nullptr;
		void *f = lib != nullptr ? dlsym(lib, "free") : nullptr;
		if (m == nullptr || f == nullptr)
			return nullptr;
		found.malloc = reinterpret_cast<void *(*)(size_t)>(m);
		found.free = reinterpret_cast<void (*)(void *)>(f);
		return &found;
	}();
	return je;
}

void BM_Jemalloc(benchmark::State &state)
{
	const Jemalloc *je = JemallocFunctions();
	if (je == nullptr) {
		state.SkipWithError("jemalloc's malloc not found");
		return;
	}
	aml_bench::MallocFreeLoop(state, je->malloc, je->free);
}
#endif

#ifdef AML_BENCH_HAVE_MIMALLOC
void BM_Mimalloc(benchmark::State &state)
{
	aml_bench::MallocFreeLoop(state, mi_malloc, mi_free);
}
#endif

} // namespace

#ifdef AML_BENCH_HAVE_JEMALLOC
BENCHMARK(BM_Jemalloc)
        ->Name("arena/malloc_free/jemalloc")
        ->Apply(aml_bench::ArenaSizes);
BENCHMARK(BM_Jemalloc)
        ->Name("arena/malloc_free/jemalloc")
        ->Apply(aml_bench::ArenaSizes)
        ->Threads(2);
#endif
#ifdef AML_BENCH_HAVE_MIMALLOC
BENCHMARK(BM_Mimalloc)
        ->Name("arena/malloc_free/mimalloc")
        ->Apply(aml_bench::ArenaSizes);
BENCHMARK(BM_Mimalloc)
        ->Name("arena/malloc_free/mimalloc")
        ->Apply(aml_bench::ArenaSizes)
        ->Threads(2);
#endif
