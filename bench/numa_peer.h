// SPDX-License-Identifier: BSD-3-Clause
// Shared by the benchmarks that measure against libnuma: node 0 of this
// machine, and numa_alloc_onnode as the peer of a bound map.
#ifndef AML_BENCH_NUMA_PEER_H
#define AML_BENCH_NUMA_PEER_H

#include <benchmark/benchmark.h>
#include <numa.h>

#include <aml.h>

#include "bench/device_bench.h"

namespace aml_bench
{

// This machine's node 0, or NULL with the benchmark skipped.
inline const struct aml_device *Node0(benchmark::State &state)
{
	const struct aml_topology *t = aml_topology_default();
	const struct aml_device *dev =
	        t ? aml_topology_device_of_node(t, 0) : nullptr;
	if (dev == nullptr)
		state.SkipWithError("no NUMA node 0");
	return dev;
}

// The peer: numa_alloc_onnode (mmap + mbind) on node 0, and numa_free.
template <bool touch> void BM_NumaAllocOnnode(benchmark::State &state)
{
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = numa_alloc_onnode(size, 0);
		if (p == nullptr) {
			state.SkipWithError("numa_alloc_onnode failed");
			break;
		}
		if (touch)
			TouchPages(p, size);
		numa_free(p, size);
	}
	SetBytes(state);
}

} // namespace aml_bench

#endif // AML_BENCH_NUMA_PEER_H
