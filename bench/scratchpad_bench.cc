// SPDX-License-Identifier: BSD-3-Clause
// A tiled STREAM triad, a[i] = b[i] + s * c[i], on the emulated knl-flat
// machine, in modelled time (the emulator's virtual clock):
//
//   bazel run -c opt //bench:scratchpad_bench
//
// - Triad/ddr, Triad/mcdram: the arrays live in DDR, or in MCDRAM; each
//   tile's reads and writes are charged where the data is.
// - Triad/scratchpad_double_buffered: the arrays live in DDR. b and c
//   tiles are pulled into MCDRAM slots by a scratchpad over a par dma
//   engine (one worker), tile i + 1 while tile i is computed; a is computed
//   into MCDRAM and pushed back asynchronously. "ideal_ms" is the perfect
//   overlap, max(compute, transfer), where compute is what the loop charged
//   itself and transfer the modelled cost of every pull and push;
//   "vs_ideal" is modelled / ideal (1.0 is perfect overlap).
// Counters are modelled milliseconds per pass; wall time is not the point.
#include <algorithm>
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/dma/par.h>
#include <aml/scratchpad.h>
#include <aml/tiling/nd.h>

namespace
{

constexpr size_t kElems = size_t{4} << 20;  // 32 MiB per array
constexpr size_t kTile = size_t{128} << 10; // 1 MiB tiles: 32 of them
constexpr double kScalar = 3.0;

uint64_t ThreadNs(const struct aml_topology *t)
{
	struct aml_emu_clock c = {};
	aml_emu_clock(t, &c);
	return c.thread_ns;
}

// The machine, an area per tier and three arrays on one of them.
struct Machine {
	explicit Machine(size_t tier)
	{
		struct aml_emu_error error = {};
		ok = aml_emu_create(&t, "knl-flat;scale=1/64", &error) == 0;
		if (!ok)
			return;
		const struct aml_device *ddr = aml_topology_device(t, 0);
		const struct aml_device *mcdram = aml_topology_device(t, 1);
		ok = aml_area_device_init(&slow, t, &ddr, 1, AML_AREA_BIND,
		                          nullptr) == 0 &&
		     aml_area_device_init(&fast, t, &mcdram, 1, AML_AREA_BIND,
		                          nullptr) == 0;
		struct aml_area *home = tier == 0 ? &slow.base : &fast.base;
		for (double *&p : {std::ref(a), std::ref(b), std::ref(c)}) {
			p = static_cast<double *>(
			        aml_area_mmap(home, kElems * 8, nullptr));
			ok = ok && p != nullptr;
		}
		if (!ok)
			return;
		home_area = home;
		std::fill(b, b + kElems, 1.0);
		std::fill(c, c + kElems, 2.0);
	}
	~Machine()
	{
		for (double *p : {a, b, c})
			if (p != nullptr)
				aml_area_munmap(home_area, p, kElems * 8);
		aml_area_device_fini(&slow);
		aml_area_device_fini(&fast);
		aml_topology_destroy(&t);
	}
	struct aml_topology *t = nullptr;
	AML_AREA_DEVICE_DECL(slow) = {};
	AML_AREA_DEVICE_DECL(fast) = {};
	struct aml_area *home_area = nullptr;
	double *a = nullptr, *b = nullptr, *c = nullptr;
	bool ok = false;
};

// Compute one tile and charge its traffic where its operands are.
void TriadTile(const struct aml_topology *t,
               double *a,
               const double *b,
               const double *c,
               size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] = b[i] + kScalar * c[i];
	aml_emu_charge(t, b, n * 8, AML_EMU_READ);
	aml_emu_charge(t, c, n * 8, AML_EMU_READ);
	aml_emu_charge(t, a, n * 8, AML_EMU_WRITE);
}

void Report(benchmark::State &state, uint64_t modelled_ns)
{
	state.counters["modelled_ms"] = (double)modelled_ns / 1e6;
	state.counters["GB/s_modelled"] =
	        (double)(3 * kElems * 8) / (double)modelled_ns;
}

void BM_TriadInPlace(benchmark::State &state)
{
	Machine m((size_t)state.range(0));
	if (!m.ok) {
		state.SkipWithError("emulated knl-flat failed");
		return;
	}
	uint64_t modelled = 0;
	for (auto _ : state) {
		uint64_t t0 = ThreadNs(m.t);
		for (size_t i = 0; i < kElems; i += kTile)
			TriadTile(m.t, m.a + i, m.b + i, m.c + i, kTile);
		modelled = ThreadNs(m.t) - t0;
	}
	Report(state, modelled);
}

// The arrays as 1-d layouts cut into tiles of kTile elements.
struct Tiles {
	explicit Tiles(double *base)
	{
		size_t dims[] = {kElems}, tile[] = {kTile};
		aml_layout_init(&array, base, AML_LAYOUT_ORDER_C, 8, 1, dims,
		                nullptr);
		ok = aml_tiling_nd_init(
		             &tiles, &array, tile, AML_TILING_ORDER_ROW_MAJOR,
		             AML_TILING_RESIZE, AML_TILING_IN_PLACE) == 0;
	}
	~Tiles()
	{
		aml_tiling_nd_fini(&tiles);
	}
	struct aml_layout array;
	AML_TILING_ND_DECL(tiles);
	bool ok = false;
};

void BM_TriadScratchpad(benchmark::State &state)
{
	Machine m(0);
	if (!m.ok) {
		state.SkipWithError("emulated knl-flat failed");
		return;
	}
	Tiles tb(m.b), tc(m.c);
	struct aml_dma_par_options o = {};
	o.nworkers = 1;
	o.inline_max = AML_DMA_PAR_NO_INLINE;
	struct aml_dma *dma = nullptr;
	AML_SCRATCHPAD_DECL(sb);
	AML_SCRATCHPAD_DECL(sc);
	double *out = static_cast<double *>(
	        aml_area_mmap(&m.fast.base, 2 * kTile * 8, nullptr));
	if (!tb.ok || !tc.ok || out == nullptr ||
	    aml_dma_par_create(&dma, m.t, &o) != 0 ||
	    aml_scratchpad_init(&sb, &tb.tiles.base, &m.fast.base, dma, 2) !=
	            0 ||
	    aml_scratchpad_init(&sc, &tc.tiles.base, &m.fast.base, dma, 2) !=
	            0) {
		state.SkipWithError("set-up failed");
		return;
	}
	size_t n = kElems / kTile;
	// The transfers' modelled cost, from the emulator's model.
	uint64_t transfer = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t ns = 0;
		void *slot = aml_scratchpad_slot_ptr(&sb, 0);
		aml_emu_copy_cost(m.t, slot, m.b + i * kTile, kTile * 8, &ns);
		transfer += 2 * ns; // b and c
		aml_emu_copy_cost(m.t, m.a + i * kTile, out, kTile * 8, &ns);
		transfer += ns;
	}
	uint64_t modelled = 0, compute = 0;
	for (auto _ : state) {
		uint64_t t0 = ThreadNs(m.t);
		compute = 0;
		size_t slot_b, slot_c, next_b = 0, next_c = 0;
		struct aml_scratchpad_request *rb, *rc, *nb = nullptr,
		                                        *nc = nullptr;
		struct aml_dma_request *push[2] = {nullptr, nullptr};
		aml_scratchpad_async_pull(&sb, 0, 0, &slot_b, &rb);
		aml_scratchpad_async_pull(&sc, 0, 0, &slot_c, &rc);
		for (size_t i = 0; i < n; i++) {
			if (i + 1 < n) {
				aml_scratchpad_async_pull(&sb, i + 1, 0,
				                          &next_b, &nb);
				aml_scratchpad_async_pull(&sc, i + 1, 0,
				                          &next_c, &nc);
			}
			aml_scratchpad_wait(&sb, &rb);
			aml_scratchpad_wait(&sc, &rc);
			double *o_slot = out + (i % 2) * kTile;
			if (push[i % 2] != nullptr) // that slot's last push
				aml_dma_wait(dma, &push[i % 2]);
			uint64_t c0 = ThreadNs(m.t);
			TriadTile(m.t, o_slot,
			          static_cast<const double *>(
			                  aml_scratchpad_slot_ptr(&sb, slot_b)),
			          static_cast<const double *>(
			                  aml_scratchpad_slot_ptr(&sc, slot_c)),
			          kTile);
			compute += ThreadNs(m.t) - c0;
			aml_dma_async_copy_bytes(dma, &push[i % 2],
			                         m.a + i * kTile, o_slot,
			                         kTile * 8);
			aml_scratchpad_release(&sb, slot_b);
			aml_scratchpad_release(&sc, slot_c);
			slot_b = next_b;
			slot_c = next_c;
			rb = nb;
			rc = nc;
		}
		for (auto &p : push)
			if (p != nullptr)
				aml_dma_wait(dma, &p);
		modelled = ThreadNs(m.t) - t0;
	}
	if (m.a[kElems - 1] != 1.0 + kScalar * 2.0)
		state.SkipWithError("wrong result");
	uint64_t ideal = std::max(compute, transfer);
	Report(state, modelled);
	state.counters["ideal_ms"] = (double)ideal / 1e6;
	state.counters["vs_ideal"] = (double)modelled / (double)ideal;
	aml_scratchpad_fini(&sb);
	aml_scratchpad_fini(&sc);
	aml_dma_par_destroy(&dma);
	aml_area_munmap(&m.fast.base, out, 2 * kTile * 8);
}

} // namespace

BENCHMARK(BM_TriadInPlace)->Name("Triad/ddr")->Arg(0)->Iterations(3);
BENCHMARK(BM_TriadInPlace)->Name("Triad/mcdram")->Arg(1)->Iterations(3);
BENCHMARK(BM_TriadScratchpad)
        ->Name("Triad/scratchpad_double_buffered")
        ->Iterations(3);
