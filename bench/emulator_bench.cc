// SPDX-License-Identifier: BSD-3-Clause
// The emulator's costs against the memcpy it wraps, in one binary:
// - emulator/copy/memcpy and emulator/copy/aml_emu_copy: bookkeeping overhead
// of accounting
//   mode (the bound: within 5 % of memcpy from 64 KiB);
// - emulator/delayed_copy: delay mode's wall time over modelled time x
// dilation,
//   reported as the counter wall_over_model (the bound: 1 +- 0.05).
// Buffers are on qemu-3node's node2 (30 GiB/s) and node1 (400 GiB/s).
//
//   bazel run -c opt //bench:emulator_bench
#include <time.h>

#include <cstring>

#include <benchmark/benchmark.h>

#include <aml.h>

namespace
{

struct Buffers {
	struct aml_topology *t = nullptr;
	char *src = nullptr;
	char *dst = nullptr;
	size_t size = 0;

	explicit Buffers(size_t n) : size(n)
	{
		if (aml_emu_create(&t, "qemu-3node;scale=1/4", nullptr) != 0)
			return;
		src = static_cast<char *>(
		        aml_device_map(aml_topology_device(t, 2), n));
		dst = static_cast<char *>(
		        aml_device_map(aml_topology_device(t, 1), n));
		if (src != nullptr && dst != nullptr) {
			std::memset(src, 1, n);
			std::memset(dst, 2, n);
		}
	}
	~Buffers()
	{
		aml_topology_destroy(&t); // releases the maps too
	}
	bool ok() const
	{
		return src != nullptr && dst != nullptr;
	}
};

void Sizes(benchmark::internal::Benchmark *b)
{
	b->Arg(64 << 10)->Arg(1 << 20)->Arg(16 << 20);
}

void BM_Memcpy(benchmark::State &state)
{
	Buffers b((size_t)state.range(0));
	if (!b.ok()) {
		state.SkipWithError("cannot map emulated buffers");
		return;
	}
	for (auto _ : state) {
		std::memcpy(b.dst, b.src, b.size);
		benchmark::ClobberMemory();
	}
	state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Memcpy)->Name("emulator/copy/memcpy")->Apply(Sizes);

void BM_EmuCopy(benchmark::State &state)
{
	Buffers b((size_t)state.range(0));
	if (!b.ok()) {
		state.SkipWithError("cannot map emulated buffers");
		return;
	}
	for (auto _ : state) {
		aml_emu_copy(b.t, b.dst, b.src, b.size);
		benchmark::ClobberMemory();
	}
	state.SetBytesProcessed(state.iterations() * state.range(0));
	struct aml_emu_clock clock;
	aml_emu_clock(b.t, &clock);
	state.counters["modelled_ns"] = benchmark::Counter(
	        (double)clock.total_ns, benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_EmuCopy)->Name("emulator/copy/aml_emu_copy")->Apply(Sizes);

// The bookkeeping alone: what aml_emu_copy adds to its memcpy.
void BM_EmuCopyCost(benchmark::State &state)
{
	Buffers b((size_t)state.range(0));
	if (!b.ok()) {
		state.SkipWithError("cannot map emulated buffers");
		return;
	}
	uint64_t ns = 0;
	for (auto _ : state) {
		aml_emu_copy_cost(b.t, b.dst, b.src, b.size, &ns);
		benchmark::DoNotOptimize(ns);
	}
}
BENCHMARK(BM_EmuCopyCost)
        ->Name("emulator/copy/aml_emu_copy_cost")
        ->Apply(Sizes);

uint64_t NowNs()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void BM_DelayedCopy(benchmark::State &state)
{
	Buffers b((size_t)state.range(0));
	double dilation = 0;
	uint64_t cost = 0;
	if (!b.ok() || aml_emu_set_mode(b.t, AML_EMU_DELAY) != 0 ||
	    aml_emu_dilation(b.t, &dilation) != 0 ||
	    aml_emu_copy_cost(b.t, b.dst, b.src, b.size, &cost) != 0) {
		state.SkipWithError("cannot set up delay mode");
		return;
	}
	uint64_t wall = 0;
	for (auto _ : state) {
		uint64_t t0 = NowNs();
		aml_emu_copy(b.t, b.dst, b.src, b.size);
		wall += NowNs() - t0;
	}
	state.SetBytesProcessed(state.iterations() * state.range(0));
	double model = (double)cost * dilation * (double)state.iterations();
	state.counters["wall_over_model"] = (double)wall / model;
	state.counters["dilation"] = dilation;
}
BENCHMARK(BM_DelayedCopy)
        ->Name("emulator/delayed_copy/aml_emu_copy")
        ->Apply(Sizes);

} // namespace
