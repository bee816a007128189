// SPDX-License-Identifier: BSD-3-Clause
// Bindings against the libnuma calls a programmer writes instead, in one
// binary, on this machine's memory:
//
//   bazel run -c opt //bench:binding_bench
//
// - binding/apply/<who>/<bytes>: put every page of a touched buffer on the
//   nearest node. aml: a block binding over that one device, applied
//   (one mbind(MPOL_MF_MOVE) per run of pages); mbind: the same call by
//   hand. (numa_tonode_memory() is not a peer: it binds the range without
//   MPOL_MF_MOVE, so pages already there stay where they are.)
// - binding/check/<who>/<bytes>: find the pages that are not where they
//   should be. aml: aml_binding_check(); move_pages: one move_pages()
//   query of every page, compared by hand.
// On a one-node machine nothing moves: the figures are the cost of asking
// the kernel, which is what a binding adds to placement.
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>
#include <numa.h>
#include <numaif.h>

#include <aml.h>
#include <aml/binding/devices.h>
#include <aml/tiling/nd.h>

namespace
{

// A touched buffer on the nearest device, tiled in pages, and a block
// binding of it to that device.
struct Fixture {
	explicit Fixture(size_t bytes) : size(bytes)
	{
		t = aml_topology_default();
		dev = t ? aml_topology_nearest(t, -1) : nullptr;
		page = aml_page_size();
		buf = dev ? aml_device_map(dev, size) : nullptr;
		if (buf == nullptr)
			return;
		std::memset(buf, 1, size);
		size_t dims[] = {size}, tile[] = {page};
		aml_layout_init(&layout, buf, AML_LAYOUT_ORDER_C, 1, 1, dims,
		                nullptr);
		ok = aml_tiling_nd_init(
		             &tiles, &layout, tile, AML_TILING_ORDER_ROW_MAJOR,
		             AML_TILING_RESIZE, AML_TILING_IN_PLACE) == 0 &&
		     aml_binding_devices_init(&binding, &dev, 1,
		                              AML_BINDING_BLOCK,
		                              AML_BINDING_PAGE) == 0;
	}
	~Fixture()
	{
		aml_binding_devices_fini(&binding);
		aml_tiling_nd_fini(&tiles);
		if (buf != nullptr)
			aml_device_unmap(dev, buf, size);
	}
	size_t size;
	size_t page = 0;
	const struct aml_topology *t = nullptr;
	const struct aml_device *dev = nullptr;
	void *buf = nullptr;
	struct aml_layout layout;
	AML_TILING_ND_DECL(tiles) = {};
	AML_BINDING_DEVICES_DECL(binding) = {};
	bool ok = false;
};

void Sizes(benchmark::internal::Benchmark *b)
{
	b->Arg(2 << 20)->Arg(64 << 20);
}

void SetBytes(benchmark::State &state)
{
	state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_Apply(benchmark::State &state)
{
	Fixture f((size_t)state.range(0));
	if (!f.ok) {
		state.SkipWithError("set-up failed");
		return;
	}
	for (auto _ : state) {
		if (aml_binding_apply(&f.binding.base, &f.tiles.base, f.buf) !=
		    0) {
			state.SkipWithError("aml_binding_apply failed");
			break;
		}
	}
	SetBytes(state);
}

void BM_ApplyByHand(benchmark::State &state)
{
	Fixture f((size_t)state.range(0));
	if (!f.ok) {
		state.SkipWithError("set-up failed");
		return;
	}
	struct bitmask *node = numa_allocate_nodemask();
	numa_bitmask_setbit(node, (unsigned)f.dev->numa_id);
	for (auto _ : state) {
		if (mbind(f.buf, f.size, MPOL_BIND, node->maskp, node->size + 1,
		          MPOL_MF_MOVE | MPOL_MF_STRICT) != 0) {
			state.SkipWithError("mbind failed");
			break;
		}
	}
	numa_free_nodemask(node);
	SetBytes(state);
}

void BM_Check(benchmark::State &state)
{
	Fixture f((size_t)state.range(0));
	if (!f.ok) {
		state.SkipWithError("set-up failed");
		return;
	}
	size_t count = 0;
	for (auto _ : state) {
		if (aml_binding_check(&f.binding.base, f.t, &f.tiles.base,
		                      f.buf, nullptr, 0, &count) != 0 ||
		    count != 0) {
			state.SkipWithError("aml_binding_check failed");
			break;
		}
	}
	SetBytes(state);
}

void BM_CheckByHand(benchmark::State &state)
{
	Fixture f((size_t)state.range(0));
	if (!f.ok) {
		state.SkipWithError("set-up failed");
		return;
	}
	size_t n = f.size / f.page;
	std::vector<void *> pages(n);
	std::vector<int> status(n);
	for (auto _ : state) {
		for (size_t i = 0; i < n; i++)
			pages[i] = static_cast<char *>(f.buf) + i * f.page;
		size_t count = 0;
		if (move_pages(0, n, pages.data(), nullptr, status.data(), 0) !=
		    0) {
			state.SkipWithError("move_pages failed");
			break;
		}
		for (size_t i = 0; i < n; i++)
			count += status[i] != f.dev->numa_id;
		benchmark::DoNotOptimize(count);
	}
	SetBytes(state);
}

} // namespace

BENCHMARK(BM_Apply)->Name("binding/apply/aml_block")->Apply(Sizes);
BENCHMARK(BM_ApplyByHand)->Name("binding/apply/mbind")->Apply(Sizes);
BENCHMARK(BM_Check)->Name("binding/check/aml_block")->Apply(Sizes);
BENCHMARK(BM_CheckByHand)->Name("binding/check/move_pages")->Apply(Sizes);
