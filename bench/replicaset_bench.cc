// SPDX-License-Identifier: BSD-3-Clause
// Replicasets on this machine's NUMA nodes (one replica per node with
// CPUs), against what a programmer writes with libnuma, in one binary:
//
//   bazel run -c opt //bench:replicaset_bench
//
// - Replicate/<bytes>: aml_replicaset_init + fini, against
//   numa_alloc_onnode + memcpy + numa_free on every node with CPUs.
// - Refresh/<bytes>: aml_replicaset_refresh through a par dma engine,
//   against one memcpy per replica.
// - Nearest: the replica for the calling thread, against sched_getcpu()
//   alone (the floor: aml's lookup is that plus one table read).
#include <sched.h>

#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>
#include <numa.h>

#include <aml.h>
#include <aml/dma/par.h>
#include <aml/replicaset.h>

namespace
{

// The nodes with CPUs, as libnuma sees them.
std::vector<int> NodesWithCpus()
{
	std::vector<int> nodes;
	struct bitmask *cpus = numa_allocate_cpumask();
	for (int n = 0; n <= numa_max_node(); n++) {
		if (numa_node_to_cpus(n, cpus) == 0 &&
		    numa_bitmask_weight(cpus) > 0)
			nodes.push_back(n);
	}
	numa_free_cpumask(cpus);
	return nodes;
}

void BM_Replicate(benchmark::State &state)
{
	size_t size = (size_t)state.range(0);
	std::vector<char> src(size, 7);
	const struct aml_topology *t = aml_topology_default();
	for (auto _ : state) {
		AML_REPLICASET_DECL(rs);
		if (aml_replicaset_init(&rs, t, nullptr, 0, src.data(), size) !=
		    0) {
			state.SkipWithError("aml_replicaset_init failed");
			break;
		}
		aml_replicaset_fini(&rs);
	}
	state.SetBytesProcessed((int64_t)(state.iterations() * size));
}

void BM_ReplicateNuma(benchmark::State &state)
{
	size_t size = (size_t)state.range(0);
	std::vector<char> src(size, 7);
	std::vector<int> nodes = NodesWithCpus();
	std::vector<void *> copies(nodes.size());
	for (auto _ : state) {
		for (size_t i = 0; i < nodes.size(); i++) {
			copies[i] = numa_alloc_onnode(size, nodes[i]);
			std::memcpy(copies[i], src.data(), size);
		}
		benchmark::ClobberMemory();
		for (void *p : copies)
			numa_free(p, size);
	}
	state.SetBytesProcessed((int64_t)(state.iterations() * size));
}

void BM_Refresh(benchmark::State &state)
{
	size_t size = (size_t)state.range(0);
	std::vector<char> src(size, 7);
	const struct aml_topology *t = aml_topology_default();
	AML_REPLICASET_DECL(rs);
	struct aml_dma *dma = nullptr;
	if (aml_replicaset_init(&rs, t, nullptr, 0, src.data(), size) != 0 ||
	    aml_dma_par_create(&dma, t, nullptr) != 0) {
		state.SkipWithError("set-up failed");
		return;
	}
	for (auto _ : state)
		aml_replicaset_refresh(&rs, dma);
	state.SetBytesProcessed((int64_t)(state.iterations() * size));
	aml_dma_par_destroy(&dma);
	aml_replicaset_fini(&rs);
}

void BM_RefreshMemcpy(benchmark::State &state)
{
	size_t size = (size_t)state.range(0);
	std::vector<char> src(size, 7);
	std::vector<int> nodes = NodesWithCpus();
	std::vector<void *> copies;
	for (int n : nodes) {
		copies.push_back(numa_alloc_onnode(size, n));
		std::memset(copies.back(), 0, size);
	}
	for (auto _ : state) {
		for (void *p : copies)
			std::memcpy(p, src.data(), size);
		benchmark::ClobberMemory();
	}
	state.SetBytesProcessed((int64_t)(state.iterations() * size));
	for (void *p : copies)
		numa_free(p, size);
}

void BM_Nearest(benchmark::State &state)
{
	std::vector<char> src(4096, 7);
	AML_REPLICASET_DECL(rs);
	if (aml_replicaset_init(&rs, aml_topology_default(), nullptr, 0,
	                        src.data(), src.size()) != 0) {
		state.SkipWithError("aml_replicaset_init failed");
		return;
	}
	for (auto _ : state)
		benchmark::DoNotOptimize(aml_replicaset_nearest(&rs));
	aml_replicaset_fini(&rs);
}

void BM_SchedGetcpu(benchmark::State &state)
{
	for (auto _ : state)
		benchmark::DoNotOptimize(sched_getcpu());
}

void Sizes(benchmark::internal::Benchmark *b)
{
	b->Arg(64 << 10)->Arg(16 << 20)->UseRealTime();
}

} // namespace

BENCHMARK(BM_Replicate)->Name("replicaset/replicate/aml")->Apply(Sizes);
BENCHMARK(BM_ReplicateNuma)
        ->Name("replicaset/replicate/numa_alloc_onnode")
        ->Apply(Sizes);
BENCHMARK(BM_Refresh)->Name("replicaset/refresh/aml_par")->Apply(Sizes);
BENCHMARK(BM_RefreshMemcpy)->Name("replicaset/refresh/memcpy")->Apply(Sizes);
BENCHMARK(BM_Nearest)->Name("replicaset/nearest/aml");
BENCHMARK(BM_SchedGetcpu)->Name("replicaset/nearest/sched_getcpu");
