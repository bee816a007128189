// SPDX-License-Identifier: BSD-3-Clause
// The emulator's costs against the memcpy it wraps, in one binary:
// - emulator/copy/memcpy and emulator/copy/aml_emu_copy: bookkeeping overhead
// of accounting
//   mode (the bound: within 5 % of memcpy from 64 KiB);
// - emulator/delayed_copy/{aml_emu_copy,par2}/<size>/<pair>: delay mode,
//   measured: per copy, the caller's wall time over its modelled time (the
//   advance of its virtual clock) x dilation, as the counters
//   wall_over_model_p50 and wall_over_model_p90 (the bounds: 1 +- 0.05 and
//   1 +- 0.25) and wall_over_model (total over total). aml_emu_copy runs
//   inline on the calling thread; par2 goes through a par engine with 2
//   workers and no inline copies, the caller waiting. pair 0 copies node2
//   (30 GiB/s) to node1, far within the dilation; pair 1 node1 to node1,
//   the fastest tier, whose dilated model leaves the host copy only the
//   calibration's margin;
// - emulator/delayed_copy/memcpy/<size>/<pair>: the same bytes copied by a
//   plain memcpy, measured, over their modelled time x dilation: how much
//   of its dilated model the host's own copy takes (below 1 when the
//   margin covers it; the inline copy above cannot end before this);
// - emulator/first_touch: the first write of each page of a fresh mapping,
//   map and unmap included, one thread, measured: a plain anonymous mmap
//   against an emulated device's map, whose touches go through the fault
//   thread (userfaultfd) that places them; items are pages;
// - emulator/populate: the same pages given memory at map time, one call:
//   mmap(MAP_POPULATE) against aml_topology_map_populate().
// - emulator/replace: with N one-page mappings live, unmap one and map one
//   page again, one thread, measured: plain munmap + mmap against an
//   emulated device's unmap + map, whose page table holds the N mappings
//   (placed at touch, each a page of a slab: emulator/slab.c); N from 10^2
//   to 10^5, for the growth of the page table's updates.
// Buffers are on qemu-3node's node2 (30 GiB/s) and node1 (400 GiB/s).
//
//   bazel run -c opt //bench:emulator_bench
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

#include <aml.h>
#include <aml/dma/par.h>

namespace
{

struct Buffers {
	struct aml_topology *t = nullptr;
	char *src = nullptr;
	char *dst = nullptr;
	size_t size = 0;

	// dst_n bytes on node1 (n if 0), n on node2.
	explicit Buffers(size_t n,
	                 const char *spec = "qemu-3node;scale=1/4",
	                 size_t dst_n = 0)
	    : size(n)
	{
		dst_n = dst_n != 0 ? dst_n : n;
		if (aml_emu_create(&t, spec, nullptr) != 0)
			return;
		src = static_cast<char *>(
		        aml_device_map(aml_topology_device(t, 2), n));
		dst = static_cast<char *>(
		        aml_device_map(aml_topology_device(t, 1), dst_n));
		if (src != nullptr && dst != nullptr) {
			std::memset(src, 1, n);
			std::memset(dst, 2, dst_n);
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

// The q-quantile of v (sorted here), nearest rank.
double Quantile(std::vector<double> &v, double q)
{
	if (v.empty())
		return 0;
	std::sort(v.begin(), v.end());
	size_t i = (size_t)(q * (double)(v.size() - 1) + 0.5);
	return v[i];
}

// A copy of one of the pairs described at the top, in delay mode, through
// aml_emu_copy (workers 0) or a par engine with that many workers.
void DelayedCopy(benchmark::State &state, size_t workers)
{
	size_t size = (size_t)state.range(0);
	// Unscaled: 2 x 64 MiB fit on node1.
	Buffers b(size, "qemu-3node", 2 * size);
	double dilation = 0;
	if (!b.ok() || aml_emu_set_mode(b.t, AML_EMU_DELAY) != 0 ||
	    aml_emu_dilation(b.t, &dilation) != 0) {
		state.SkipWithError("cannot set up delay mode");
		return;
	}
	const char *src = state.range(1) == 0 ? b.src : b.dst + size;
	char *dst = b.dst;
	AML_DMA_PAR_DECL(dma);
	struct aml_dma_par_options o = {};
	o.nworkers = workers;
	o.inline_max = AML_DMA_PAR_NO_INLINE;
	if (workers > 0 && aml_dma_par_init(&dma, b.t, &o) != 0) {
		state.SkipWithError("cannot start the par engine");
		return;
	}
	std::vector<double> ratios;
	double wall_sum = 0, model_sum = 0;
	for (auto _ : state) {
		struct aml_emu_clock c0, c1;
		aml_emu_clock(b.t, &c0);
		uint64_t t0 = NowNs();
		if (workers > 0)
			aml_dma_copy_bytes(&dma.base, dst, src, size);
		else
			aml_emu_copy(b.t, dst, src, size);
		uint64_t wall = NowNs() - t0;
		aml_emu_clock(b.t, &c1);
		double model = (double)(c1.thread_ns - c0.thread_ns) * dilation;
		ratios.push_back((double)wall / model);
		wall_sum += (double)wall;
		model_sum += model;
	}
	if (workers > 0)
		aml_dma_par_fini(&dma);
	state.SetBytesProcessed(state.iterations() * (int64_t)size);
	state.counters["wall_over_model"] = wall_sum / model_sum;
	state.counters["wall_over_model_p50"] = Quantile(ratios, 0.5);
	state.counters["wall_over_model_p90"] = Quantile(ratios, 0.9);
	state.counters["dilation"] = dilation;
}

// The host's own copy against the dilated model of the same copy.
void BM_DelayedMemcpy(benchmark::State &state)
{
	size_t size = (size_t)state.range(0);
	Buffers b(size, "qemu-3node", 2 * size);
	double dilation = 0;
	uint64_t model_ns = 0;
	const char *src = state.range(1) == 0 ? b.src : b.dst + size;
	if (!b.ok() || aml_emu_set_mode(b.t, AML_EMU_DELAY) != 0 ||
	    aml_emu_dilation(b.t, &dilation) != 0 ||
	    aml_emu_copy_cost(b.t, b.dst, src, size, &model_ns) != 0) {
		state.SkipWithError("cannot set up delay mode");
		return;
	}
	double budget = (double)model_ns * dilation;
	std::vector<double> ratios;
	for (auto _ : state) {
		uint64_t t0 = NowNs();
		std::memcpy(b.dst, src, size);
		benchmark::ClobberMemory();
		ratios.push_back((double)(NowNs() - t0) / budget);
	}
	state.SetBytesProcessed(state.iterations() * (int64_t)size);
	state.counters["host_over_model_p50"] = Quantile(ratios, 0.5);
	state.counters["host_over_model_p90"] = Quantile(ratios, 0.9);
	state.counters["dilation"] = dilation;
}

void DelayedSizes(benchmark::internal::Benchmark *b)
{
	for (int pair = 0; pair < 2; pair++) {
		for (int64_t size = 4 << 10; size <= 64 << 20; size *= 16)
			b->Args({size, pair});
		b->Args({(int64_t)64 << 20, pair});
	}
}

void BM_DelayedCopy(benchmark::State &state)
{
	DelayedCopy(state, 0);
}
BENCHMARK(BM_DelayedCopy)
        ->Name("emulator/delayed_copy/aml_emu_copy")
        ->Apply(DelayedSizes);

void BM_DelayedParCopy(benchmark::State &state)
{
	DelayedCopy(state, 2);
}
BENCHMARK(BM_DelayedParCopy)
        ->Name("emulator/delayed_copy/par2")
        ->Apply(DelayedSizes);
BENCHMARK(BM_DelayedMemcpy)
        ->Name("emulator/delayed_copy/memcpy")
        ->Apply(DelayedSizes);

void Pages(benchmark::internal::Benchmark *b)
{
	b->Arg(256)->Arg(4096); // 1 and 16 MiB of 4 KiB pages
}

void TouchEachPage(char *p, size_t npages)
{
	for (size_t i = 0; i < npages; i++)
		p[i * aml_page_size()] = 1;
	benchmark::ClobberMemory();
}

void BM_FirstTouchPlain(benchmark::State &state)
{
	size_t npages = (size_t)state.range(0), size = npages * aml_page_size();
	for (auto _ : state) {
		char *p = static_cast<char *>(mmap(
		        nullptr, size, PROT_READ | PROT_WRITE,
		        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
		if (p == MAP_FAILED) {
			state.SkipWithError("mmap failed");
			return;
		}
		TouchEachPage(p, npages);
		munmap(p, size);
	}
	state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_FirstTouchPlain)->Name("emulator/first_touch/mmap")->Apply(Pages);

void BM_FirstTouchEmulated(benchmark::State &state)
{
	size_t npages = (size_t)state.range(0), size = npages * aml_page_size();
	struct aml_topology *t = nullptr;
	if (aml_emu_create(&t, "qemu-3node", nullptr) != 0) {
		state.SkipWithError("cannot make the emulated machine");
		return;
	}
	state.counters["at_touch"] = aml_emu_places_at_touch(t);
	const struct aml_device *node1 = aml_topology_device(t, 1);
	for (auto _ : state) {
		char *p = static_cast<char *>(aml_device_map(node1, size));
		if (p == nullptr) {
			state.SkipWithError("cannot map emulated pages");
			break;
		}
		TouchEachPage(p, npages);
		aml_device_unmap(node1, p, size);
	}
	state.SetItemsProcessed(state.iterations() * state.range(0));
	aml_topology_destroy(&t);
}
BENCHMARK(BM_FirstTouchEmulated)
        ->Name("emulator/first_touch/aml_device_map")
        ->Apply(Pages);

void BM_PopulatePlain(benchmark::State &state)
{
	size_t npages = (size_t)state.range(0), size = npages * aml_page_size();
	for (auto _ : state) {
		void *p =
		        mmap(nullptr, size, PROT_READ | PROT_WRITE,
		             MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED) {
			state.SkipWithError("mmap failed");
			return;
		}
		munmap(p, size);
	}
	state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_PopulatePlain)
        ->Name("emulator/populate/mmap_populate")
        ->Apply(Pages);

void BM_PopulateEmulated(benchmark::State &state)
{
	size_t npages = (size_t)state.range(0), size = npages * aml_page_size();
	struct aml_topology *t = nullptr;
	if (aml_emu_create(&t, "qemu-3node", nullptr) != 0) {
		state.SkipWithError("cannot make the emulated machine");
		return;
	}
	struct aml_bitmap node1;
	aml_bitmap_zero(&node1);
	aml_bitmap_set(&node1, 1);
	for (auto _ : state) {
		void *p = aml_topology_map_populate(t, &node1, AML_POLICY_BIND,
		                                    size);
		if (p == nullptr) {
			state.SkipWithError("cannot populate emulated pages");
			break;
		}
		aml_topology_unmap(t, p, size);
	}
	state.SetItemsProcessed(state.iterations() * state.range(0));
	aml_topology_destroy(&t);
}
BENCHMARK(BM_PopulateEmulated)
        ->Name("emulator/populate/aml_topology_map_populate")
        ->Apply(Pages);

// N one-page mappings, made by map(), and one of them replaced at a time,
// in turn, by unmap() then map(): each iteration is a replacement.
template <typename Map, typename Unmap>
void ReplaceOneOfN(benchmark::State &state, Map map, Unmap unmap)
{
	size_t n = (size_t)state.range(0);
	std::vector<void *> live(n, nullptr);
	for (size_t i = 0; i < n; i++) {
		live[i] = map();
		if (live[i] == nullptr) {
			state.SkipWithError("cannot make the mappings");
			break;
		}
	}
	size_t next = 0;
	for (auto _ : state) {
		if (live[next] == nullptr)
			break;
		unmap(live[next]);
		live[next] = map();
		if (live[next] == nullptr) {
			state.SkipWithError("cannot map again");
			break;
		}
		next = (next + 7919) % n; // a prime: all over the table
	}
	for (void *p : live) {
		if (p != nullptr)
			unmap(p);
	}
	state.SetItemsProcessed(state.iterations());
}

void Mappings(benchmark::internal::Benchmark *b)
{
	b->Arg(100)->Arg(1000)->Arg(10000)->Arg(100000);
}

void BM_ReplacePlain(benchmark::State &state)
{
	size_t page = aml_page_size();
	ReplaceOneOfN(
	        state,
	        [page]() -> void * {
		        void *p = mmap(nullptr, page, PROT_READ | PROT_WRITE,
		                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		        return p == MAP_FAILED ? nullptr : p;
	        },
	        [page](void *p) { munmap(p, page); });
}
BENCHMARK(BM_ReplacePlain)->Name("emulator/replace/mmap")->Apply(Mappings);

void BM_ReplaceEmulated(benchmark::State &state)
{
	struct aml_topology *t = nullptr;
	// Untouched pages take no capacity: scaled up, node0 takes 10^5 maps.
	if (aml_emu_create(&t, "qemu-3node;scale=16", nullptr) != 0) {
		state.SkipWithError("cannot make the emulated machine");
		return;
	}
	const struct aml_device *node0 = aml_topology_device(t, 0);
	size_t page = aml_page_size();
	ReplaceOneOfN(
	        state, [node0, page]() { return aml_device_map(node0, page); },
	        [node0, page](void *p) { aml_device_unmap(node0, p, page); });
	aml_topology_destroy(&t);
}
BENCHMARK(BM_ReplaceEmulated)
        ->Name("emulator/replace/aml_device_map")
        ->Apply(Mappings);

} // namespace
