// SPDX-License-Identifier: BSD-3-Clause
// Tile lookups of aml tilings against the index arithmetic a programmer
// writes by hand, in one binary. Each benchmark walks every tile id of a
// tiling once per iteration; "per_lookup" is the time of one lookup.
//
//   bazel run -c opt //bench:tiling_bench
//
// Peers:
// - by_hand: base + ((i * nj + j) ...) with i, j recovered from the id by
//   '/' and '%' (the same job as aml_tiling_tile_ptr(id));
// - nested_loops: nested loops over i, j (, k), no division at all: the
//   floor for a loop that does not need random access by id.
// Grid sizes come from a volatile so the compiler cannot fold the peers'
// divisions into constants: aml cannot see them at compile time either.
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

#include <aml/layout.h>
#include <aml/tiling.h>
#include <aml/tiling/nd.h>

namespace
{

// Array and tile sizes, in elements of 8 bytes.
volatile size_t kN1 = size_t{1} << 20, kT1 = 64; // 1d: 16384 tiles
volatile size_t kN2 = 1024, kT2 = 16;            // 2d: 64 x 64 tiles
volatile size_t kN3 = 128, kT3 = 8;              // 3d: 16^3 tiles
constexpr size_t kElem = sizeof(double);

void PerLookup(benchmark::State &state, size_t lookups)
{
	state.SetItemsProcessed((int64_t)(state.iterations() * lookups));
	state.counters["per_lookup"] = benchmark::Counter(
	        (double)lookups, benchmark::Counter::kIsIterationInvariantRate |
	                                 benchmark::Counter::kInvert);
}

// An nd tiling over a real buffer, for the life of one benchmark.
struct Fixture {
	std::vector<double> buf;
	struct aml_layout array;
	AML_TILING_ND_DECL(tiles);

	Fixture(const std::vector<size_t> &dims,
	        const std::vector<size_t> &tile,
	        enum aml_tiling_storage storage)
	{
		size_t n = 1;
		for (size_t d : dims)
			n *= d;
		buf.resize(n);
		aml_layout_init(&array, buf.data(), AML_LAYOUT_ORDER_C, kElem,
		                dims.size(), dims.data(), nullptr);
		aml_tiling_nd_init(&tiles, &array, tile.data(),
		                   AML_TILING_ORDER_ROW_MAJOR,
		                   AML_TILING_RESIZE, storage);
	}
	~Fixture()
	{
		aml_tiling_nd_fini(&tiles);
	}
};

void TilePtr(benchmark::State &state, Fixture &f)
{
	const struct aml_tiling *t = &f.tiles.base;
	size_t n = aml_tiling_ntiles(t);
	for (auto _ : state) {
		for (size_t id = 0; id < n; id++)
			benchmark::DoNotOptimize(aml_tiling_tile_ptr(t, id));
	}
	PerLookup(state, n);
}

void BM_AmlTilePtr_1d(benchmark::State &state)
{
	Fixture f({kN1}, {kT1}, AML_TILING_IN_PLACE);
	TilePtr(state, f);
}
BENCHMARK(BM_AmlTilePtr_1d)->Name("tiling/tile_ptr/aml_1d");

void BM_AmlTilePtr_2d(benchmark::State &state)
{
	Fixture f({kN2, kN2}, {kT2, kT2}, AML_TILING_IN_PLACE);
	TilePtr(state, f);
}
BENCHMARK(BM_AmlTilePtr_2d)->Name("tiling/tile_ptr/aml_2d");

void BM_AmlTilePtr_3d(benchmark::State &state)
{
	Fixture f({kN3, kN3, kN3}, {kT3, kT3, kT3}, AML_TILING_IN_PLACE);
	TilePtr(state, f);
}
BENCHMARK(BM_AmlTilePtr_3d)->Name("tiling/tile_ptr/aml_3d");

void BM_AmlTilePtr_2d_Contiguous(benchmark::State &state)
{
	Fixture f({kN2, kN2}, {kT2, kT2}, AML_TILING_CONTIGUOUS);
	TilePtr(state, f);
}
BENCHMARK(BM_AmlTilePtr_2d_Contiguous)
        ->Name("tiling/tile_ptr/aml_2d_contiguous");

void TileCoords(benchmark::State &state, Fixture &f)
{
	const struct aml_tiling *t = &f.tiles.base;
	size_t n = aml_tiling_ntiles(t);
	size_t coords[AML_LAYOUT_NDIMS_MAX];
	for (auto _ : state) {
		for (size_t id = 0; id < n; id++) {
			aml_tiling_tile_coords(t, id, coords);
			benchmark::DoNotOptimize(coords);
		}
	}
	PerLookup(state, n);
}

void BM_AmlTileCoords_2d(benchmark::State &state)
{
	Fixture f({kN2, kN2}, {kT2, kT2}, AML_TILING_IN_PLACE);
	TileCoords(state, f);
}
BENCHMARK(BM_AmlTileCoords_2d)->Name("tiling/tile_coords/aml_2d");

void BM_AmlTileCoords_3d(benchmark::State &state)
{
	Fixture f({kN3, kN3, kN3}, {kT3, kT3, kT3}, AML_TILING_IN_PLACE);
	TileCoords(state, f);
}
BENCHMARK(BM_AmlTileCoords_3d)->Name("tiling/tile_coords/aml_3d");

void BM_AmlTileLayout_2d(benchmark::State &state)
{
	Fixture f({kN2, kN2}, {kT2, kT2}, AML_TILING_IN_PLACE);
	const struct aml_tiling *t = &f.tiles.base;
	size_t n = aml_tiling_ntiles(t);
	struct aml_layout l;
	for (auto _ : state) {
		for (size_t id = 0; id < n; id++) {
			aml_tiling_tile_layout(t, id, &l);
			benchmark::DoNotOptimize(l);
		}
	}
	PerLookup(state, n);
}
BENCHMARK(BM_AmlTileLayout_2d)->Name("tiling/tile_layout/aml_2d");

// ---- Peers: the same pointers by hand.

void BM_HandById_1d(benchmark::State &state)
{
	std::vector<double> buf(kN1);
	char *base = (char *)buf.data();
	size_t t = kT1, n = kN1 / kT1;
	for (auto _ : state) {
		for (size_t id = 0; id < n; id++)
			benchmark::DoNotOptimize(base + id * t * kElem);
	}
	PerLookup(state, n);
}
BENCHMARK(BM_HandById_1d)->Name("tiling/tile_ptr/by_hand_1d");

void BM_HandById_2d(benchmark::State &state)
{
	std::vector<double> buf(kN2 * kN2);
	char *base = (char *)buf.data();
	size_t nj = kN2, t = kT2, tiles_j = kN2 / kT2, n = tiles_j * tiles_j;
	for (auto _ : state) {
		for (size_t id = 0; id < n; id++) {
			size_t i = id / tiles_j, j = id % tiles_j;
			benchmark::DoNotOptimize(base +
			                         (i * t * nj + j * t) * kElem);
		}
	}
	PerLookup(state, n);
}
BENCHMARK(BM_HandById_2d)->Name("tiling/tile_ptr/by_hand_2d");

void BM_HandById_3d(benchmark::State &state)
{
	std::vector<double> buf(kN3 * kN3 * kN3);
	char *base = (char *)buf.data();
	size_t nj = kN3, nk = kN3, t = kT3, g = kN3 / kT3, n = g * g * g;
	for (auto _ : state) {
		for (size_t id = 0; id < n; id++) {
			size_t k = id % g, rest = id / g;
			size_t j = rest % g, i = rest / g;
			benchmark::DoNotOptimize(
			        base +
			        ((i * t * nj + j * t) * nk + k * t) * kElem);
		}
	}
	PerLookup(state, n);
}
BENCHMARK(BM_HandById_3d)->Name("tiling/tile_ptr/by_hand_3d");

void BM_HandNested_2d(benchmark::State &state)
{
	std::vector<double> buf(kN2 * kN2);
	char *base = (char *)buf.data();
	size_t nj = kN2, t = kT2, g = kN2 / kT2;
	for (auto _ : state) {
		for (size_t i = 0; i < g; i++) {
			for (size_t j = 0; j < g; j++)
				benchmark::DoNotOptimize(
				        base + (i * t * nj + j * t) * kElem);
		}
	}
	PerLookup(state, g * g);
}
BENCHMARK(BM_HandNested_2d)->Name("tiling/tile_ptr/nested_loops_2d");

void BM_HandNested_3d(benchmark::State &state)
{
	std::vector<double> buf(kN3 * kN3 * kN3);
	char *base = (char *)buf.data();
	size_t nj = kN3, nk = kN3, t = kT3, g = kN3 / kT3;
	for (auto _ : state) {
		for (size_t i = 0; i < g; i++) {
			for (size_t j = 0; j < g; j++) {
				for (size_t k = 0; k < g; k++)
					benchmark::DoNotOptimize(
					        base +
					        ((i * t * nj + j * t) * nk +
					         k * t) *
					                kElem);
			}
		}
	}
	PerLookup(state, g * g * g);
}
BENCHMARK(BM_HandNested_3d)->Name("tiling/tile_ptr/nested_loops_3d");

} // namespace
