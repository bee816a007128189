// SPDX-License-Identifier: BSD-3-Clause
// What a scratchpad costs over managing a fast buffer by hand, in one
// binary (its effect on a kernel is in tier_bench):
//
//   bazel run -c opt //bench:scratchpad_bench
//
// - scratchpad/pull_miss/<who>/<tile bytes>: bring one tile of a 2-d array
//   (a strided block of rows) into fast memory. aml: a pull that misses
//   (every pull evicts the other slot's tile), then release; by_hand: a
//   memcpy per row into a buffer mapped from the same area as the slots
//   (page-aligned, like the one slot), the peer a programmer writes. Both
//   copy the same two tiles in turn, from the same array to the same kind
//   of destination.
// - scratchpad/pull_hit/aml: pull and release a tile already in a slot,
//   the bookkeeping alone.
// - scratchpad/miss/slots/<N>: a miss of a 512 B tile with N slots in use
//   (10 to 10^4), for the growth of the slot index with the number of
//   slots.
// Both sides copy with the calling thread (aml through a seq dma engine),
// on this machine's memory: the figures are the overhead of the slot
// index, LRU and pins, not a tier effect.
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/dma/seq.h>
#include <aml/scratchpad.h>
#include <aml/tiling/nd.h>

namespace
{

constexpr size_t kRows = 1024; // a 1024 x 1024 array of doubles, 8 MiB

// The array, its tiling in tiles of range(0) bytes (rows x cols, cols =
// rows or 2 x rows, so that every power of two from 8 B has a shape), and
// an area on this machine for nslots slots.
struct Fixture {
	explicit Fixture(size_t tile_bytes, size_t nslots = 1)
	    : array(kRows * kRows, 1.0)
	{
		while (rows * cols * 2 * sizeof(double) <= tile_bytes) {
			if (cols == rows)
				cols *= 2;
			else
				rows *= 2;
		}
		size_t dims[] = {kRows, kRows}, tile[] = {rows, cols};
		aml_layout_init(&layout, array.data(), AML_LAYOUT_ORDER_C,
		                sizeof(double), 2, dims, nullptr);
		const struct aml_topology *t = aml_topology_default();
		const struct aml_device *near =
		        t ? aml_topology_nearest(t, -1) : nullptr;
		ok = near != nullptr &&
		     aml_tiling_nd_init(
		             &tiles, &layout, tile, AML_TILING_ORDER_ROW_MAJOR,
		             AML_TILING_RESIZE, AML_TILING_IN_PLACE) == 0 &&
		     aml_area_device_init(&area, t, &near, 1, AML_AREA_BIND,
		                          nullptr) == 0 &&
		     aml_dma_seq_create(&dma, nullptr) == 0 &&
		     aml_scratchpad_init(&sp, &tiles.base, &area.base, dma,
		                         nslots) == 0;
	}
	~Fixture()
	{
		aml_scratchpad_fini(&sp);
		aml_dma_seq_destroy(&dma);
		aml_area_device_fini(&area);
		aml_tiling_nd_fini(&tiles);
	}
	std::vector<double> array;
	size_t rows = 1, cols = 1;
	struct aml_layout layout;
	AML_TILING_ND_DECL(tiles) = {};
	AML_AREA_DEVICE_DECL(area) = {};
	struct aml_dma *dma = nullptr;
	AML_SCRATCHPAD_DECL(sp) = {};
	bool ok = false;
};

void TileSizes(benchmark::internal::Benchmark *b)
{
	b->Arg(16)->Arg(64)->Arg(256)->Arg(512)->Arg(1 << 10)->Arg(2 << 10);
	b->Arg(4 << 10)->Arg(8 << 10)->Arg(32 << 10)->Arg(512 << 10);
}

void SetTileBytes(benchmark::State &state, const Fixture &f)
{
	state.SetBytesProcessed((int64_t)(state.iterations() * f.rows * f.cols *
	                                  sizeof(double)));
}

void BM_PullMiss(benchmark::State &state)
{
	Fixture f((size_t)state.range(0));
	if (!f.ok) {
		state.SkipWithError("set-up failed");
		return;
	}
	size_t slot, tile = 0;
	for (auto _ : state) {
		// One slot: every pull of another tile evicts and loads.
		if (aml_scratchpad_pull(&f.sp, tile, 0, &slot) != 0) {
			state.SkipWithError("pull failed");
			break;
		}
		aml_scratchpad_release(&f.sp, slot);
		tile ^= 1;
	}
	struct aml_scratchpad_stats stats = {};
	aml_scratchpad_stats(&f.sp, &stats);
	if (stats.hits != 0)
		state.SkipWithError("a pull hit: the benchmark is wrong");
	SetTileBytes(state, f);
}

void BM_PullMissByHand(benchmark::State &state)
{
	Fixture f((size_t)state.range(0));
	if (!f.ok) {
		state.SkipWithError("set-up failed");
		return;
	}
	// The buffer a programmer maps in the fast area, as the scratchpad
	// maps its slots: the same destination, page-aligned, for both. With
	// a heap buffer, whose address moves with the binary and the heap,
	// the same loop took 42 ns a 4 KiB tile in one build and 59 ns in
	// another (2026-12-05; why is not measured).
	size_t bytes = f.rows * f.cols * sizeof(double);
	auto *buffer = (double *)aml_area_mmap(&f.area.base, bytes, nullptr);
	if (buffer == nullptr) {
		state.SkipWithError("set-up failed");
		return;
	}
	size_t tile = 0;
	for (auto _ : state) {
		const double *src = f.array.data() + tile * f.cols;
		for (size_t r = 0; r < f.rows; r++)
			std::memcpy(buffer + r * f.cols, src + r * kRows,
			            f.cols * sizeof(double));
		benchmark::ClobberMemory();
		tile ^= 1;
	}
	aml_area_munmap(&f.area.base, buffer, bytes);
	SetTileBytes(state, f);
}

void BM_PullHit(benchmark::State &state)
{
	Fixture f(32 << 10);
	size_t slot;
	if (!f.ok || aml_scratchpad_pull(&f.sp, 0, 0, &slot) != 0) {
		state.SkipWithError("set-up failed");
		return;
	}
	aml_scratchpad_release(&f.sp, slot);
	for (auto _ : state) {
		aml_scratchpad_pull(&f.sp, 0, 0, &slot);
		aml_scratchpad_release(&f.sp, slot);
	}
}

// A miss with N slots, all full: tiles 0..N visited in turn, so that LRU
// evicts the one needed next and every pull misses. 512 B tiles (8 x 8),
// 16384 of them. The time grows with N by the index (docs/scratchpad.md)
// and by the memory the N tiles and slots span (caches: 10^4 slots and
// their tiles are 10 MiB).
void BM_PullMissSlots(benchmark::State &state)
{
	size_t nslots = (size_t)state.range(0);
	Fixture f(512, nslots);
	if (!f.ok) {
		state.SkipWithError("set-up failed");
		return;
	}
	size_t slot, tile = 0;
	for (auto _ : state) {
		if (aml_scratchpad_pull(&f.sp, tile, 0, &slot) != 0) {
			state.SkipWithError("pull failed");
			break;
		}
		aml_scratchpad_release(&f.sp, slot);
		tile = tile == nslots ? 0 : tile + 1;
	}
	struct aml_scratchpad_stats stats = {};
	aml_scratchpad_stats(&f.sp, &stats);
	if (stats.hits != 0)
		state.SkipWithError("a pull hit: the benchmark is wrong");
	state.SetItemsProcessed(state.iterations());
}

void Slots(benchmark::internal::Benchmark *b)
{
	b->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);
}

} // namespace

BENCHMARK(BM_PullMiss)->Name("scratchpad/pull_miss/aml")->Apply(TileSizes);
BENCHMARK(BM_PullMissByHand)
        ->Name("scratchpad/pull_miss/by_hand")
        ->Apply(TileSizes);
BENCHMARK(BM_PullHit)->Name("scratchpad/pull_hit/aml");
BENCHMARK(BM_PullMissSlots)->Name("scratchpad/miss/slots")->Apply(Slots);
