// SPDX-License-Identifier: BSD-3-Clause
// Kernels whose speed depends on where their data lives, run with the data
// in the slow tier, in the fast tier, and in the slow tier with a
// scratchpad that prefetches tiles into the fast one (bench/tier.h says
// which tiers, and which clock):
//
//   bazel run -c opt //bench:tier_bench
//   AML_EMULATE=cxl-tiered bazel run -c opt //bench:tier_bench
//   AML_BENCH_DELAY=1 bazel run -c opt //bench:tier_bench   (wall-clock)
//
// - tier/triad/<where>: STREAM's triad, a = b + s * c, over 32 MiB arrays
//   in 1 MiB tiles, 10 passes (STREAM's NTIMES). slow_scratchpad keeps the
//   arrays in the slow tier and their tiles in fast slots: the first pass
//   pulls b and c a tile ahead over a par dma engine, later passes hit,
//   and the last pass pushes a back asynchronously.
// - tier/triad_one_pass/slow_scratchpad: one pass, two slots per array,
//   double-buffered: every byte crosses the slow tier once, so the best it
//   can do is hide the computation behind the transfers. "vs_ideal" is
//   modelled time over that perfect overlap, max(compute, transfer).
// - tier/matmul/<where>: C = A x B for 512 x 512 matrices, tiled in 64 x 64
//   blocks. The scratchpads keep every tile of B and a row panel of A in
//   fast slots (B is read once, then hit), prefetching the next panel of A
//   and the next column of B; C's tiles are computed in fast memory and
//   copied back asynchronously.
// - tier/triad_plain/<where>, tier/matmul_plain/<where>: the same kernels
//   as plain loops, with no aml call inside (no charges): on an emulated
//   machine, access accounting (aml_emu_set_access_accounting) charges
//   their loads and stores, from an empty cache model each iteration. The
//   counter modelled_ns is the modelled time of an iteration, also in
//   delay mode, where the row's time is wall-clock.
// - tier/access_overhead/{host,accounting_off,accounting_on,
//   accounting_sampled}: the wall time of one plain triad pass over this
//   machine's memory, and over the emulated slow tier with access
//   accounting off, on (every page of a block protected) and sampled (its
//   first page: the plain rows' default, AML_BENCH_ACCESSES=on for every
//   page).
//
// Times are the benchmark's manual time: modelled time on an emulated
// machine in accounting mode, wall-clock otherwise. The emulator models
// memory, not cores: in modelled time a kernel costs the traffic it
// charges (each tile it reads or writes, once per use), and its arithmetic
// is free. On real tiers the kernels run on every CPU (OpenMP), as STREAM
// does, since one core cannot draw HBM's bandwidth.
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>

#include <benchmark/benchmark.h>

#include <aml.h>
#include <aml/dma/par.h>
#include <aml/scratchpad.h>
#include <aml/tiling/nd.h>

#include "bench/tier.h"

namespace
{

using aml_bench::TierMachine;
using aml_bench::Tiers;

constexpr double kScalar = 3.0;

enum Where { kSlow, kFast };

// Kernels use every CPU on real tiers; on an emulated machine one thread
// charges the clock the kernel's traffic.
bool Parallel(const TierMachine &m)
{
	return !m.emulated();
}

TierMachine *Machine(benchmark::State &state)
{
	TierMachine &m = Tiers();
	if (!m.ok()) {
		state.SkipWithError(m.error().c_str());
		return nullptr;
	}
	return &m;
}

// Doubles mapped from an area, unmapped at scope exit.
class Buffer
{
      public:
	Buffer(const struct aml_area *area, size_t count)
	    : area_(area), bytes_(count * sizeof(double))
	{
		data_ = static_cast<double *>(
		        aml_area_mmap(area, bytes_, nullptr));
	}
	~Buffer()
	{
		if (data_ != nullptr)
			aml_area_munmap(area_, data_, bytes_);
	}
	Buffer(const Buffer &) = delete;
	Buffer &operator=(const Buffer &) = delete;
	double *data() const
	{
		return data_;
	}

      private:
	const struct aml_area *area_;
	size_t bytes_;
	double *data_ = nullptr;
};

// A par engine with one worker that never copies inline: transfers overlap
// the caller's computation.
class PrefetchEngine
{
      public:
	explicit PrefetchEngine(const struct aml_topology *t)
	{
		struct aml_dma_par_options o = {};
		o.nworkers = 1;
		o.inline_max = AML_DMA_PAR_NO_INLINE;
		ok_ = aml_dma_par_create(&dma_, t, &o) == 0;
	}
	~PrefetchEngine()
	{
		aml_dma_par_destroy(&dma_);
	}
	struct aml_dma *get() const
	{
		return ok_ ? dma_ : nullptr;
	}

      private:
	struct aml_dma *dma_ = nullptr;
	bool ok_ = false;
};

// A 1-d or 2-d array cut into tiles in place, row-major.
class Tiles
{
      public:
	Tiles(double *base, const std::vector<size_t> &dims, size_t tile)
	{
		std::vector<size_t> tile_dims(dims.size(), tile);
		aml_layout_init(&array_, base, AML_LAYOUT_ORDER_C,
		                sizeof(double), dims.size(), dims.data(),
		                nullptr);
		ok_ = aml_tiling_nd_init(&tiles_, &array_, tile_dims.data(),
		                         AML_TILING_ORDER_ROW_MAJOR,
		                         AML_TILING_RESIZE,
		                         AML_TILING_IN_PLACE) == 0;
	}
	~Tiles()
	{
		aml_tiling_nd_fini(&tiles_);
	}
	const struct aml_tiling *get() const
	{
		return ok_ ? &tiles_.base : nullptr;
	}

      private:
	struct aml_layout array_;
	AML_TILING_ND_DECL(tiles_);
	bool ok_ = false;
};

// A scratchpad that is finalised at scope exit.
class Scratchpad
{
      public:
	Scratchpad(const struct aml_tiling *tiles,
	           const struct aml_area *fast,
	           struct aml_dma *dma,
	           size_t nslots)
	{
		ok_ = tiles != nullptr && dma != nullptr &&
		      aml_scratchpad_init(&sp_, tiles, fast, dma, nslots) == 0;
	}
	~Scratchpad()
	{
		if (ok_)
			aml_scratchpad_fini(&sp_);
	}
	bool ok() const
	{
		return ok_;
	}
	struct aml_scratchpad *get()
	{
		return &sp_;
	}
	double *slot(size_t i) const
	{
		return static_cast<double *>(aml_scratchpad_slot_ptr(&sp_, i));
	}

      private:
	AML_SCRATCHPAD_DECL(sp_);
	bool ok_ = false;
};

// modelled: 1 for modelled time, 0 for wall time; in delay mode, the
// dilation the wall time was slowed by (wall = modelled x dilation).
void SetModelled(benchmark::State &state, const TierMachine &m)
{
	state.counters["modelled"] = m.modelled() ? 1 : 0;
	double dilation = 0;
	if (m.emulated() && !m.modelled() &&
	    aml_emu_dilation(m.topology(), &dilation) == 0)
		state.counters["dilation"] = dilation;
}

// Access accounting on for a plain-loop benchmark, off at scope exit; the
// modelled time its iterations took, for the counter modelled_ns (per
// iteration), whatever clock times them.
class Accounting
{
      public:
	// mode: AML_EMU_ACCESSES_ON or _SAMPLED; 0, the machine's.
	Accounting(const TierMachine &m, bool on, int mode = 0)
	    : m_(m), on_(on), mode_(mode)
	{
		ok_ = !on || m.AccountAccesses(true, mode_);
	}
	~Accounting()
	{
		if (on_)
			m_.AccountAccesses(false);
	}
	Accounting(const Accounting &) = delete;
	Accounting &operator=(const Accounting &) = delete;
	bool ok() const
	{
		return ok_;
	}
	// Cold caches: the cache model emptied, as the scratchpads are
	// made cold each iteration.
	void Cold()
	{
		if (on_)
			ok_ = ok_ && m_.AccountAccesses(true, mode_);
	}
	void Start()
	{
		t0_ = m_.ModelledNs();
	}
	void Stop()
	{
		total_ += m_.ModelledNs() - t0_;
		n_++;
	}
	void Report(benchmark::State &state) const
	{
		if (on_ && n_ > 0)
			state.counters["modelled_ns"] =
			        (double)total_ / (double)n_;
	}

      private:
	const TierMachine &m_;
	bool on_;
	int mode_;
	bool ok_;
	uint64_t t0_ = 0, total_ = 0, n_ = 0;
};

// ---- Triad

constexpr size_t kTriadElems = size_t{4} << 20;  // 32 MiB per array
constexpr size_t kTriadTile = size_t{128} << 10; // 1 MiB tiles: 32
constexpr size_t kTriadTiles = kTriadElems / kTriadTile;
// STREAM times each kernel over NTIMES = 10 passes.
constexpr size_t kStreamPasses = 10;

// plain: no aml call, the emulator's access accounting charges the loop.
void TriadTile(const TierMachine &m,
               double *a,
               const double *b,
               const double *c,
               size_t n,
               bool plain = false)
{
#pragma omp parallel for if (Parallel(m)) schedule(static)
	for (size_t i = 0; i < n; i++)
		a[i] = b[i] + kScalar * c[i];
	if (plain)
		return;
	m.Charge(b, n * sizeof(double), AML_EMU_READ);
	m.Charge(c, n * sizeof(double), AML_EMU_READ);
	m.Charge(a, n * sizeof(double), AML_EMU_WRITE);
}

// Three arrays on the slow or the fast tier: a = 0, b = 1, c = 2.
struct TriadArrays {
	explicit TriadArrays(const struct aml_area *home)
	    : a(home, kTriadElems), b(home, kTriadElems), c(home, kTriadElems)
	{
		ok = a.data() != nullptr && b.data() != nullptr &&
		     c.data() != nullptr;
		if (!ok)
			return;
		std::fill(a.data(), a.data() + kTriadElems, 0.0);
		std::fill(b.data(), b.data() + kTriadElems, 1.0);
		std::fill(c.data(), c.data() + kTriadElems, 2.0);
	}
	bool Right() const
	{
		const double want = 1.0 + kScalar * 2.0;
		for (size_t i = 0; i < kTriadElems; i += 4099)
			if (a.data()[i] != want)
				return false;
		return a.data()[kTriadElems - 1] == want;
	}
	Buffer a, b, c;
	bool ok;
};

void TriadReport(benchmark::State &state, const TierMachine &m, size_t passes)
{
	SetModelled(state, m);
	state.SetBytesProcessed((int64_t)(state.iterations() * passes * 3 *
	                                  kTriadElems * sizeof(double)));
}

void BM_Triad(benchmark::State &state,
              Where where,
              size_t passes,
              bool plain = false)
{
	TierMachine *m = Machine(state);
	if (m == nullptr)
		return;
	TriadArrays x(where == kFast ? m->fast() : m->slow());
	if (!x.ok) {
		state.SkipWithError("cannot map the arrays on the tier");
		return;
	}
	Accounting accounting(*m, plain);
	for (auto _ : state) {
		accounting.Cold();
		accounting.Start();
		uint64_t t0 = m->NowNs();
		for (size_t pass = 0; pass < passes; pass++)
			for (size_t i = 0; i < kTriadElems; i += kTriadTile)
				TriadTile(*m, x.a.data() + i, x.b.data() + i,
				          x.c.data() + i, kTriadTile, plain);
		state.SetIterationTime((double)(m->NowNs() - t0) / 1e9);
		accounting.Stop();
	}
	if (!accounting.ok())
		state.SkipWithError("cannot turn access accounting on");
	else if (!x.Right())
		state.SkipWithError("wrong result");
	TriadReport(state, *m, passes);
	accounting.Report(state);
}

// What access accounting costs in wall time: one plain triad pass over the
// arrays in anonymous memory of this machine (host), in the emulated slow
// tier with accounting off, on (every page of a block protected), and
// sampled (its first page only); accounting mode, no delay. Always
// wall-clock; no modelled time.
enum Overhead { kHost, kOff, kOn, kSampled };

void BM_TriadOverhead(benchmark::State &state, Overhead how)
{
	TierMachine *m = Machine(state);
	if (m == nullptr)
		return;
	if (how != kHost && !m->modelled()) {
		state.SkipWithError(
		        "needs an emulated machine, accounting mode");
		return;
	}
	size_t bytes = kTriadElems * sizeof(double);
	double *host = nullptr;
	std::unique_ptr<TriadArrays> x;
	double *a, *b, *c;
	if (how == kHost) {
		host = static_cast<double *>(
		        mmap(nullptr, 3 * bytes, PROT_READ | PROT_WRITE,
		             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
		if (host == MAP_FAILED) {
			state.SkipWithError("cannot map the arrays");
			return;
		}
		std::fill(host, host + 3 * kTriadElems, 1.0);
		a = host;
		b = host + kTriadElems;
		c = host + 2 * kTriadElems;
	} else {
		x.reset(new TriadArrays(m->slow()));
		if (!x->ok) {
			state.SkipWithError(
			        "cannot map the arrays on the tier");
			return;
		}
		a = x->a.data();
		b = x->b.data();
		c = x->c.data();
	}
	Accounting accounting(*m, how == kOn || how == kSampled,
	                      how == kOn ? AML_EMU_ACCESSES_ON
	                                 : AML_EMU_ACCESSES_SAMPLED);
	for (auto _ : state) {
		accounting.Cold();
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		TriadTile(*m, a, b, c, kTriadElems, true);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		state.SetIterationTime((double)(t1.tv_sec - t0.tv_sec) +
		                       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	if (host != nullptr)
		munmap(host, 3 * bytes);
	state.counters["modelled"] = 0;
	state.SetBytesProcessed((int64_t)(state.iterations() * 3 * kTriadElems *
	                                  sizeof(double)));
}

// Modelled cost of every pull and push of one pass: the transfer half of
// the ideal overlap.
uint64_t TriadTransferNs(const TierMachine &m,
                         const double *slow_array,
                         const double *fast_slot)
{
	uint64_t total = 0, ns = 0;
	size_t bytes = kTriadTile * sizeof(double);
	for (size_t i = 0; i < kTriadElems; i += kTriadTile) {
		aml_emu_copy_cost(m.topology(), fast_slot, slow_array + i,
		                  bytes, &ns);
		total += 2 * ns; // b and c in
		aml_emu_copy_cost(m.topology(), slow_array + i, fast_slot,
		                  bytes, &ns);
		total += ns; // a out
	}
	return total;
}

// The arrays stay in the slow tier; three scratchpads bring their tiles
// into the fast one. b and c tiles are pulled a tile ahead (double
// buffering); a's tiles are pulled with OVERWRITE (not read) and pushed
// back asynchronously in the last pass. One pass streams every byte over
// the slow tier once, two slots per array; several passes keep every
// tile in its own slot, so that passes after the first hit.
void BM_TriadScratchpad(benchmark::State &state,
                        size_t passes,
                        bool plain = false)
{
	TierMachine *m = Machine(state);
	if (m == nullptr)
		return;
	TriadArrays x(m->slow());
	if (!x.ok) {
		state.SkipWithError("cannot map the arrays on the slow tier");
		return;
	}
	PrefetchEngine dma(m->topology());
	Tiles ta(x.a.data(), {kTriadElems}, kTriadTile),
	        tb(x.b.data(), {kTriadElems}, kTriadTile),
	        tc(x.c.data(), {kTriadElems}, kTriadTile);
	size_t nslots = passes == 1 ? 2 : kTriadTiles;
	uint64_t compute = 0, last = 0, transfer = 0; // of the last iteration
	Accounting accounting(*m, plain);
	for (auto _ : state) {
		// Cold scratchpads each time: nothing cached from the last.
		Scratchpad sa(ta.get(), m->fast(), dma.get(), nslots),
		        sb(tb.get(), m->fast(), dma.get(), nslots),
		        sc(tc.get(), m->fast(), dma.get(), nslots);
		if (!sa.ok() || !sb.ok() || !sc.ok()) {
			state.SkipWithError("cannot set up the scratchpads");
			return;
		}
		accounting.Cold();
		accounting.Start();
		uint64_t t0 = m->NowNs();
		compute = 0;
		struct aml_scratchpad_request *push[2] = {nullptr, nullptr};
		for (size_t pass = 0; pass < passes; pass++) {
			bool pushing = pass + 1 == passes;
			size_t slot_a, slot_b, slot_c, next_b = 0, next_c = 0;
			struct aml_scratchpad_request *ra, *rb, *rc,
			        *nb = nullptr, *nc = nullptr;
			aml_scratchpad_async_pull(sb.get(), 0, 0, &slot_b, &rb);
			aml_scratchpad_async_pull(sc.get(), 0, 0, &slot_c, &rc);
			for (size_t i = 0; i < kTriadTiles; i++) {
				if (i + 1 < kTriadTiles) {
					aml_scratchpad_async_pull(sb.get(),
					                          i + 1, 0,
					                          &next_b, &nb);
					aml_scratchpad_async_pull(sc.get(),
					                          i + 1, 0,
					                          &next_c, &nc);
				}
				if (push[i % 2] != nullptr) // frees its slot
					aml_scratchpad_wait(sa.get(),
					                    &push[i % 2]);
				aml_scratchpad_async_pull(
				        sa.get(), i, AML_SCRATCHPAD_OVERWRITE,
				        &slot_a, &ra);
				aml_scratchpad_wait(sa.get(), &ra);
				aml_scratchpad_wait(sb.get(), &rb);
				aml_scratchpad_wait(sc.get(), &rc);
				uint64_t c0 = m->NowNs();
				TriadTile(*m, sa.slot(slot_a), sb.slot(slot_b),
				          sc.slot(slot_c), kTriadTile, plain);
				compute += m->NowNs() - c0;
				if (pushing)
					aml_scratchpad_async_push(
					        sa.get(), slot_a, &push[i % 2]);
				aml_scratchpad_release(sa.get(), slot_a);
				aml_scratchpad_release(sb.get(), slot_b);
				aml_scratchpad_release(sc.get(), slot_c);
				slot_b = next_b;
				slot_c = next_c;
				rb = nb;
				rc = nc;
			}
		}
		for (auto &p : push)
			if (p != nullptr)
				aml_scratchpad_wait(sa.get(), &p);
		last = m->NowNs() - t0;
		state.SetIterationTime((double)last / 1e9);
		accounting.Stop();
		if (passes == 1 && m->modelled())
			transfer = TriadTransferNs(*m, x.b.data(), sa.slot(0));
	}
	if (!accounting.ok())
		state.SkipWithError("cannot turn access accounting on");
	else if (!x.Right())
		state.SkipWithError("wrong result");
	TriadReport(state, *m, passes);
	accounting.Report(state);
	if (passes == 1 && m->modelled() && last > 0) {
		uint64_t ideal = std::max(compute, transfer);
		state.counters["ideal_ms"] = (double)ideal / 1e6;
		state.counters["vs_ideal"] = (double)last / (double)ideal;
	}
}

// ---- Matrix multiply

constexpr size_t kMatN = 512;
constexpr size_t kMatTile = 64;
constexpr size_t kMatGrid = kMatN / kMatTile;
constexpr size_t kMatTileBytes = kMatTile * kMatTile * sizeof(double);

// c[T x T] += a[T x T] * b[T x T]; leading dimensions in elements.
void BlockMultiply(double *c,
                   size_t ldc,
                   const double *a,
                   size_t lda,
                   const double *b,
                   size_t ldb)
{
	for (size_t i = 0; i < kMatTile; i++) {
		double *ci = c + i * ldc;
		for (size_t k = 0; k < kMatTile; k++) {
			double aik = a[i * lda + k];
			const double *bk = b + k * ldb;
			for (size_t j = 0; j < kMatTile; j++)
				ci[j] += aik * bk[j];
		}
	}
}

// One access of a tile's bytes, wherever its rows are: a matrix lives on
// one tier, and the hardware streams a tile's rows with one latency, not
// one per row.
void ChargeTile(const TierMachine &m, const double *tile, int how)
{
	m.Charge(tile, kMatTileBytes, how);
}

void FillMatrices(double *a, double *b, double *c)
{
	for (size_t i = 0; i < kMatN * kMatN; i++) {
		a[i] = (double)(i % 7) - 3.0;
		b[i] = (double)(i % 5) - 2.0;
		c[i] = 0.0;
	}
}

// A few entries of C against a direct dot product.
bool MatmulRight(const double *a, const double *b, const double *c)
{
	for (size_t s = 0; s < 16; s++) {
		size_t i = (s * 97) % kMatN, j = (s * 389 + 5) % kMatN;
		double want = 0;
		for (size_t k = 0; k < kMatN; k++)
			want += a[i * kMatN + k] * b[k * kMatN + j];
		if (c[i * kMatN + j] != want)
			return false;
	}
	return true;
}

void MatmulReport(benchmark::State &state, const TierMachine &m)
{
	SetModelled(state, m);
	state.counters["GFlop/s"] = benchmark::Counter(
	        2.0 * kMatN * kMatN * kMatN * 1e-9,
	        benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Matmul(benchmark::State &state, Where where, bool plain = false)
{
	TierMachine *m = Machine(state);
	if (m == nullptr)
		return;
	const struct aml_area *home = where == kFast ? m->fast() : m->slow();
	size_t count = kMatN * kMatN;
	Buffer a(home, count), b(home, count), c(home, count);
	if (a.data() == nullptr || b.data() == nullptr || c.data() == nullptr) {
		state.SkipWithError("cannot map the matrices on the tier");
		return;
	}
	FillMatrices(a.data(), b.data(), c.data());
	Accounting accounting(*m, plain);
	for (auto _ : state) {
		accounting.Cold();
		accounting.Start();
		uint64_t t0 = m->NowNs();
#pragma omp parallel for if (Parallel(*m)) collapse(2) schedule(static)
		for (size_t ti = 0; ti < kMatGrid; ti++) {
			for (size_t tj = 0; tj < kMatGrid; tj++) {
				// The tile of C stays in cache while it sums.
				double *ct =
				        c.data() + (ti * kMatN + tj) * kMatTile;
				for (size_t r = 0; r < kMatTile; r++)
					std::fill(ct + r * kMatN,
					          ct + r * kMatN + kMatTile,
					          0.0);
				for (size_t tk = 0; tk < kMatGrid; tk++) {
					const double *at =
					        a.data() +
					        (ti * kMatN + tk) * kMatTile;
					const double *bt =
					        b.data() +
					        (tk * kMatN + tj) * kMatTile;
					if (!plain) {
						ChargeTile(*m, at,
						           AML_EMU_READ);
						ChargeTile(*m, bt,
						           AML_EMU_READ);
					}
					BlockMultiply(ct, kMatN, at, kMatN, bt,
					              kMatN);
				}
				if (!plain)
					ChargeTile(*m, ct, AML_EMU_WRITE);
			}
		}
		state.SetIterationTime((double)(m->NowNs() - t0) / 1e9);
		accounting.Stop();
	}
	if (!accounting.ok())
		state.SkipWithError("cannot turn access accounting on");
	else if (!MatmulRight(a.data(), b.data(), c.data()))
		state.SkipWithError("wrong result");
	MatmulReport(state, *m);
	accounting.Report(state);
}

// Tile (ti, tj) of a kMatN x kMatN matrix, as a strided layout.
struct aml_layout MatrixTile(double *base, size_t ti, size_t tj)
{
	struct aml_layout whole, tile;
	size_t dims[] = {kMatN, kMatN},
	       origin[] = {ti * kMatTile, tj * kMatTile},
	       box[] = {kMatTile, kMatTile};
	aml_layout_init(&whole, base, AML_LAYOUT_ORDER_C, sizeof(double), 2,
	                dims, nullptr);
	aml_layout_slice(&tile, &whole, origin, box);
	return tile;
}

struct aml_layout DenseTile(double *base)
{
	struct aml_layout tile;
	size_t box[] = {kMatTile, kMatTile};
	aml_layout_init(&tile, base, AML_LAYOUT_ORDER_C, sizeof(double), 2, box,
	                nullptr);
	return tile;
}

// A and B come through scratchpads: B's tiles are pulled column by column
// while the first panel of C is computed, and stay (every later pull would
// hit); each panel of A is prefetched while the previous one is used. C is
// written, never read, so its tiles are computed in two panels of fast
// memory and copied back asynchronously.
void BM_MatmulScratchpad(benchmark::State &state, bool plain = false)
{
	TierMachine *m = Machine(state);
	if (m == nullptr)
		return;
	constexpr size_t kGrid2 = kMatGrid * kMatGrid;
	size_t count = kMatN * kMatN;
	Buffer a(m->slow(), count), b(m->slow(), count), c(m->slow(), count),
	        panels(m->fast(), 2 * kMatGrid * kMatTile * kMatTile);
	if (a.data() == nullptr || b.data() == nullptr || c.data() == nullptr ||
	    panels.data() == nullptr) {
		state.SkipWithError("cannot map the matrices on the tiers");
		return;
	}
	FillMatrices(a.data(), b.data(), c.data());
	PrefetchEngine dma(m->topology());
	Tiles ta(a.data(), {kMatN, kMatN}, kMatTile),
	        tb(b.data(), {kMatN, kMatN}, kMatTile);
	size_t slot_a[2][kMatGrid], slot_b[kGrid2];
	struct aml_scratchpad_request *ra[2][kMatGrid], *rb[kGrid2];
	struct aml_dma_request *push[2][kMatGrid] = {};
	Accounting accounting(*m, plain);
	for (auto _ : state) {
		// Cold scratchpads each time: nothing cached from the last.
		Scratchpad sa(ta.get(), m->fast(), dma.get(), 2 * kMatGrid),
		        sb(tb.get(), m->fast(), dma.get(), kGrid2);
		if (!sa.ok() || !sb.ok()) {
			state.SkipWithError("cannot set up the scratchpads");
			return;
		}
		accounting.Cold();
		accounting.Start();
		uint64_t t0 = m->NowNs();
		for (size_t tj = 0; tj < kMatGrid; tj++)
			for (size_t tk = 0; tk < kMatGrid; tk++) {
				size_t t = tk * kMatGrid + tj;
				aml_scratchpad_async_pull(sb.get(), t, 0,
				                          &slot_b[t], &rb[t]);
			}
		for (size_t tk = 0; tk < kMatGrid; tk++)
			aml_scratchpad_async_pull(sa.get(), tk, 0,
			                          &slot_a[0][tk], &ra[0][tk]);
		for (size_t ti = 0; ti < kMatGrid; ti++) {
			size_t cur = ti % 2, nxt = 1 - cur;
			for (size_t tk = 0; ti + 1 < kMatGrid && tk < kMatGrid;
			     tk++)
				aml_scratchpad_async_pull(
				        sa.get(), (ti + 1) * kMatGrid + tk, 0,
				        &slot_a[nxt][tk], &ra[nxt][tk]);
			for (size_t tk = 0; tk < kMatGrid; tk++)
				aml_scratchpad_wait(sa.get(), &ra[cur][tk]);
			double *panel = panels.data() +
			                cur * kMatGrid * kMatTile * kMatTile;
			for (size_t tj = 0; tj < kMatGrid; tj++)
				if (push[cur][tj] != nullptr)
					aml_dma_wait(dma.get(), &push[cur][tj]);
#pragma omp parallel for if (Parallel(*m)) schedule(static)
			for (size_t tj = 0; tj < kMatGrid; tj++) {
				for (size_t tk = 0; ti == 0 && tk < kMatGrid;
				     tk++)
					aml_scratchpad_wait(
					        sb.get(),
					        &rb[tk * kMatGrid + tj]);
				double *ct = panel + tj * kMatTile * kMatTile;
				std::fill(ct, ct + kMatTile * kMatTile, 0.0);
				for (size_t tk = 0; tk < kMatGrid; tk++) {
					const double *at =
					        sa.slot(slot_a[cur][tk]);
					const double *bt = sb.slot(
					        slot_b[tk * kMatGrid + tj]);
					if (!plain) {
						ChargeTile(*m, at,
						           AML_EMU_READ);
						ChargeTile(*m, bt,
						           AML_EMU_READ);
					}
					BlockMultiply(ct, kMatTile, at,
					              kMatTile, bt, kMatTile);
				}
				if (!plain)
					ChargeTile(*m, ct, AML_EMU_WRITE);
			}
			for (size_t tj = 0; tj < kMatGrid; tj++) {
				struct aml_layout dst = MatrixTile(c.data(), ti,
				                                   tj),
				                  src = DenseTile(
				                          panel +
				                          tj * kMatTile *
				                                  kMatTile);
				aml_dma_async_copy(dma.get(), &push[cur][tj],
				                   &dst, &src);
			}
			for (size_t tk = 0; tk < kMatGrid; tk++)
				aml_scratchpad_release(sa.get(),
				                       slot_a[cur][tk]);
		}
		for (auto &panel_pushes : push)
			for (auto &p : panel_pushes)
				if (p != nullptr)
					aml_dma_wait(dma.get(), &p);
		for (size_t t = 0; t < kGrid2; t++)
			aml_scratchpad_release(sb.get(), slot_b[t]);
		state.SetIterationTime((double)(m->NowNs() - t0) / 1e9);
		accounting.Stop();
	}
	if (!accounting.ok())
		state.SkipWithError("cannot turn access accounting on");
	else if (!MatmulRight(a.data(), b.data(), c.data()))
		state.SkipWithError("wrong result");
	MatmulReport(state, *m);
	accounting.Report(state);
}

} // namespace

// Fixed iterations: in modelled time google-benchmark would otherwise run
// thousands of passes to fill its minimum time, each taking real time.
BENCHMARK_CAPTURE(BM_Triad, slow, kSlow, kStreamPasses)
        ->Name("tier/triad/slow")
        ->UseManualTime()
        ->Iterations(2);
BENCHMARK_CAPTURE(BM_Triad, fast, kFast, kStreamPasses)
        ->Name("tier/triad/fast")
        ->UseManualTime()
        ->Iterations(2);
BENCHMARK_CAPTURE(BM_TriadScratchpad, slow_scratchpad, kStreamPasses)
        ->Name("tier/triad/slow_scratchpad")
        ->UseManualTime()
        ->Iterations(2);
BENCHMARK_CAPTURE(BM_TriadScratchpad, one_pass, 1)
        ->Name("tier/triad_one_pass/slow_scratchpad")
        ->UseManualTime()
        ->Iterations(3);
BENCHMARK_CAPTURE(BM_Matmul, slow, kSlow)
        ->Name("tier/matmul/slow")
        ->UseManualTime()
        ->Iterations(3);
BENCHMARK_CAPTURE(BM_Matmul, fast, kFast)
        ->Name("tier/matmul/fast")
        ->UseManualTime()
        ->Iterations(3);
BENCHMARK_CAPTURE(BM_MatmulScratchpad, slow_scratchpad, false)
        ->Name("tier/matmul/slow_scratchpad")
        ->UseManualTime()
        ->Iterations(3);
// Plain loops: no aml call inside, the emulator's access accounting
// charges them (modelled_ns: modelled ns per iteration). One iteration of
// the triad's 10 passes: in delay mode, its slow tier takes 5-100 s here,
// depending on the machine and the load (access accounting raises the
// dilation, docs/emulator.md).
BENCHMARK_CAPTURE(BM_Triad, plain_slow, kSlow, kStreamPasses, true)
        ->Name("tier/triad_plain/slow")
        ->UseManualTime()
        ->Iterations(1);
BENCHMARK_CAPTURE(BM_Triad, plain_fast, kFast, kStreamPasses, true)
        ->Name("tier/triad_plain/fast")
        ->UseManualTime()
        ->Iterations(1);
BENCHMARK_CAPTURE(BM_TriadScratchpad,
                  plain_slow_scratchpad,
                  kStreamPasses,
                  true)
        ->Name("tier/triad_plain/slow_scratchpad")
        ->UseManualTime()
        ->Iterations(1);
BENCHMARK_CAPTURE(BM_Matmul, plain_slow, kSlow, true)
        ->Name("tier/matmul_plain/slow")
        ->UseManualTime()
        ->Iterations(3);
BENCHMARK_CAPTURE(BM_Matmul, plain_fast, kFast, true)
        ->Name("tier/matmul_plain/fast")
        ->UseManualTime()
        ->Iterations(3);
BENCHMARK_CAPTURE(BM_MatmulScratchpad, plain_slow_scratchpad, true)
        ->Name("tier/matmul_plain/slow_scratchpad")
        ->UseManualTime()
        ->Iterations(3);
BENCHMARK_CAPTURE(BM_TriadOverhead, host, kHost)
        ->Name("tier/access_overhead/host")
        ->UseManualTime()
        ->Iterations(10);
BENCHMARK_CAPTURE(BM_TriadOverhead, off, kOff)
        ->Name("tier/access_overhead/accounting_off")
        ->UseManualTime()
        ->Iterations(10);
BENCHMARK_CAPTURE(BM_TriadOverhead, on, kOn)
        ->Name("tier/access_overhead/accounting_on")
        ->UseManualTime()
        ->Iterations(10);
BENCHMARK_CAPTURE(BM_TriadOverhead, sampled, kSampled)
        ->Name("tier/access_overhead/accounting_sampled")
        ->UseManualTime()
        ->Iterations(10);
