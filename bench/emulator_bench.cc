// SPDX-License-Identifier: BSD-3-Clause
// The emulator's costs against the memcpy it wraps, in one binary:
// - emulator/copy/memcpy and emulator/copy/aml_emu_copy: bookkeeping overhead
// of accounting
//   mode (the bound: within 5 % of memcpy from 64 KiB);
// - emulator/delayed_copy: delay mode's wall time over modelled time x
// dilation,
//   reported as the counter wall_over_model (the bound: 1 +- 0.05).
// - emulator/first_touch: the first write of each page of a fresh mapping,
//   map and unmap included, one thread, measured: a plain anonymous mmap
//   against an emulated device's map, whose touches go through the fault
//   thread (userfaultfd) that places them; items are pages;
// - emulator/populate: the same pages given memory at map time, one call:
//   mmap(MAP_POPULATE) against aml_topology_map_populate().
// - emulator/replace: with N one-page mappings live, unmap one and map one
//   page again, one thread, measured: plain munmap + mmap against an
//   emulated device's unmap + map, whose page table holds the N mappings;
//   N from 10^2 to 10^5, for the growth of the page table's updates.
// Buffers are on qemu-3node's node2 (30 GiB/s) and node1 (400 GiB/s).
//
//   bazel run -c opt //bench:emulator_bench
#include <sys/mman.h>
#include <time.h>

#include <cstring>
#include <vector>

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
