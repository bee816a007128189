// SPDX-License-Identifier: BSD-3-Clause
// Device maps against the calls they replace, in one binary so every figure
// is also a ratio from one run: aml's numa device (mmap + mbind) beside plain
// mmap and libnuma's numa_alloc_onnode, with and without touching the pages.
// The memkind peers are in device_bench_memkind.cc when memkind is built.
// topology/rank: aml_topology_rank() by bandwidth, one thread, measured, on
// emulated machines of 1, 2 and 16 nodes (the 16: Xeon Max in SNC4 flat
// mode, 8 DDR nodes with 4 CPUs each and 8 HBM nodes, every node recording
// every CPU node as an initiator), for a given CPU set (`cpuset`) and for
// the calling thread (`self`); each iteration asks the same question.
// topology/rank/synthetic/<n>: generated machines of 1 to 64 nodes (the
// emulator's limit), each question new to the thread's kept answers, for
// the growth of a ranking's computation with the topology's size.
// topology/rank/xml/<n> and topology/rank/xml_kept/<n>: the same, and the
// same question again, on hwloc XML machines of 1 to 1024 nodes (aml's
// limit: three decades).
//
//   bazel run -c opt //bench:device_bench
#include "bench/device_bench.h"

#include <sys/mman.h>

#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <numa.h>

#include <aml.h>

#include "bench/numa_peer.h"
#include "tests/testing/hwloc_machine.h"

namespace
{

using aml_bench::BM_NumaAllocOnnode;
using aml_bench::DeviceSizes;
using aml_bench::Node0;
using aml_bench::SetBytes;
using aml_bench::TouchPages;

template <bool touch> void BM_AmlNumaDevice(benchmark::State &state)
{
	const struct aml_device *dev = Node0(state);
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		if (dev == nullptr)
			break;
		void *p = aml_device_map(dev, size);
		if (p == nullptr) {
			state.SkipWithError("aml_device_map failed");
			break;
		}
		if (touch)
			TouchPages(p, size);
		aml_device_unmap(dev, p, size);
	}
	SetBytes(state);
}

template <bool touch> void BM_Mmap(benchmark::State &state)
{
	size_t size = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			state.SkipWithError("mmap failed");
			break;
		}
		if (touch)
			TouchPages(p, size);
		munmap(p, size);
	}
	SetBytes(state);
}

BENCHMARK_TEMPLATE(BM_AmlNumaDevice, true)
        ->Name("device/map_touch_unmap/aml_numa_device")
        ->Apply(DeviceSizes);
BENCHMARK_TEMPLATE(BM_NumaAllocOnnode, true)
        ->Name("device/map_touch_unmap/numa_alloc_onnode")
        ->Apply(DeviceSizes);
BENCHMARK_TEMPLATE(BM_Mmap, true)
        ->Name("device/map_touch_unmap/mmap")
        ->Apply(DeviceSizes);

// Without touching: the cost of the calls themselves (mmap + mbind + munmap
// for both aml and libnuma), which is where a wrapper's overhead shows.
BENCHMARK_TEMPLATE(BM_AmlNumaDevice, false)
        ->Name("device/map_unmap/aml_numa_device")
        ->Apply(DeviceSizes);
BENCHMARK_TEMPLATE(BM_NumaAllocOnnode, false)
        ->Name("device/map_unmap/numa_alloc_onnode")
        ->Apply(DeviceSizes);
BENCHMARK_TEMPLATE(BM_Mmap, false)
        ->Name("device/map_unmap/mmap")
        ->Apply(DeviceSizes);

// Xeon Max 9480 in SNC4 flat mode as an emulated spec: per socket 4 DDR5
// nodes with CPUs and 4 HBM nodes; a node seen from a CPU node of the other
// socket, or another quadrant, is slower.
std::string XeonMaxSnc4()
{
	std::string spec;
	for (int i = 0; i < 8; i++)
		spec += "tier: name=ddr" + std::to_string(i) +
		        ", kind=DRAM, capacity=16GiB, bw=38GB/s, "
		        "latency=110ns, "
		        "vcpus=4;";
	for (int i = 0; i < 8; i++)
		spec += "tier: name=hbm" + std::to_string(i) +
		        ", kind=HBM, capacity=16GiB, bw=100GB/s, "
		        "latency=130ns;";
	for (int from = 0; from < 8; from++) {
		for (int to = 0; to < 16; to++) {
			if (to == from)
				continue;
			bool same_socket = to % 8 / 4 == from / 4;
			int bw = (to < 8 ? 38 : 100) / (same_socket ? 2 : 4);
			spec += "access: from=ddr" + std::to_string(from) +
			        ", to=" + (to < 8 ? "ddr" : "hbm") +
			        std::to_string(to % 8) +
			        ", bw=" + std::to_string(bw) +
			        "GB/s, latency=" +
			        (same_socket ? "150" : "250") + "ns;";
		}
	}
	return spec;
}

template <bool self> void BM_Rank(benchmark::State &state)
{
	std::string spec = state.range(0) == 16  ? XeonMaxSnc4()
	                   : state.range(0) == 2 ? std::string("knl-flat")
	                                         : std::string("single");
	struct aml_topology *t = nullptr;
	struct aml_emu_error error = {};
	if (aml_emu_create(&t, spec.c_str(), &error) != 0) {
		state.SkipWithError(error.reason);
		return;
	}
	struct aml_bitmap cpu0;
	aml_bitmap_zero(&cpu0);
	aml_bitmap_set(&cpu0, 0);
	const struct aml_device *out[16];
	for (auto _ : state) {
		int n = aml_topology_rank(t, AML_RANK_BANDWIDTH,
		                          self ? nullptr : &cpu0, out, 16);
		benchmark::DoNotOptimize(n);
		benchmark::DoNotOptimize(out[0]);
	}
	aml_topology_destroy(&t);
}
BENCHMARK_TEMPLATE(BM_Rank, false)
        ->Name("topology/rank/cpuset")
        ->Arg(1)
        ->Arg(2)
        ->Arg(16);
BENCHMARK_TEMPLATE(BM_Rank, true)
        ->Name("topology/rank/self")
        ->Arg(1)
        ->Arg(2)
        ->Arg(16);

// A synthetic emulated machine of n nodes for the growth of ranking with
// the topology's size (the fixtures have 1, 2 and 16 nodes; the emulator
// has at most 64): 8 CPUs a node, bandwidths spread over 10-99 GB/s so
// that the sort has work, and each node recording the next 3 as
// initiators besides itself (a spec holds at most 256 access items, so
// not every other, as the Xeon Max above does: its keys cost devices x
// nodes, n^2, which this family leaves out).
std::string Synthetic(int n)
{
	std::string spec;
	for (int i = 0; i < n; i++)
		spec += "tier: name=n" + std::to_string(i) +
		        ", kind=DRAM, capacity=1GiB, bw=" +
		        std::to_string(10 + i * 37 % 90) +
		        "GB/s, latency=100ns, vcpus=8;";
	for (int from = 0; from < n; from++) {
		for (int k = 1; k <= 3 && k < n; k++) {
			int to = (from + k) % n;
			spec += "access: from=n" + std::to_string(from) +
			        ", to=n" + std::to_string(to) + ", bw=" +
			        std::to_string(5 + (from + to) * 13 % 40) +
			        "GB/s, latency=200ns;";
		}
	}
	return spec;
}

// The timed loop of the ranking rows: rank the n devices of t by
// bandwidth from CPU 0, or, with rotate, from CPUs 0 to 4 in turn (each
// thread keeps its last 4 answers, so a fifth initiator is never found
// kept, and every question is computed).
void RankByBandwidth(benchmark::State &state,
                     const struct aml_topology *t,
                     int n,
                     bool rotate)
{
	struct aml_bitmap cpus[5];
	for (int i = 0; i < 5; i++) {
		aml_bitmap_zero(&cpus[i]);
		aml_bitmap_set(&cpus[i], (size_t)i);
	}
	std::vector<const struct aml_device *> out((size_t)n);
	int next = 0;
	for (auto _ : state) {
		int got = aml_topology_rank(t, AML_RANK_BANDWIDTH, &cpus[next],
		                            out.data(), out.size());
		benchmark::DoNotOptimize(got);
		benchmark::DoNotOptimize(out[0]);
		if (rotate)
			next = next == 4 ? 0 : next + 1;
	}
	state.SetItemsProcessed(state.iterations());
}

// topology/rank/synthetic/<n>: the ranking computed each time, not kept
// (each thread keeps its last 4 answers: 5 initiators in turn, CPUs 0 to
// 4, never find theirs), so the figure is the work a first question does.
void BM_RankSynthetic(benchmark::State &state)
{
	int n = (int)state.range(0);
	struct aml_topology *t = nullptr;
	struct aml_emu_error error = {};
	if (aml_emu_create(&t, Synthetic(n).c_str(), &error) != 0) {
		state.SkipWithError(error.reason);
		return;
	}
	RankByBandwidth(state, t, n, true);
	aml_topology_destroy(&t);
}
BENCHMARK(BM_RankSynthetic)
        ->Name("topology/rank/synthetic")
        ->RangeMultiplier(2)
        ->Range(1, 64);

// An hwloc XML machine of n nodes (tests/testing/hwloc_machine.h: node p
// and CPU p in package p), n up to 1024, aml's limit of NUMA nodes (OS
// indices below AML_BITMAP_MAX). As Synthetic() above: bandwidths spread
// over 10-99 GB/s (in MiB/s, as hwloc stores them), each node recorded by
// its own CPU and by the 3 nodes before it.
std::string XmlMachine(int n)
{
	std::string bw = "<memattr name=\"Bandwidth\" flags=\"5\">\n";
	for (int to = 0; to < n; to++) {
		bw += aml_testing::Value(
		        to, {to}, (10ULL + (unsigned)to * 37 % 90) * 954);
		for (int k = 1; k <= 3 && k < n; k++) {
			int from = (to + n - k) % n;
			bw += aml_testing::Value(
			        to, {from},
			        (5ULL + (unsigned)(from + to) * 13 % 40) * 954);
		}
	}
	return aml_testing::Machine(n, bw + "</memattr>\n");
}

// Loading 1024 nodes takes hwloc a fraction of a second, and a benchmark
// function runs several times per argument: each machine is loaded once.
class XmlMachines
{
      public:
	~XmlMachines()
	{
		for (auto &kv : loaded_)
			aml_topology_destroy(&kv.second);
	}
	// The machine of n nodes, or NULL (the reason in *reason).
	struct aml_topology *Get(int n, std::string *reason)
	{
		auto it = loaded_.find(n);
		if (it != loaded_.end())
			return it->second;
		std::string xml = XmlMachine(n);
		struct aml_topology *t = nullptr;
		struct aml_topology_xml_error error = {};
		int err = aml_topology_load_xml_buffer(&t, xml.data(),
		                                       xml.size(), &error);
		if (err != 0) {
			*reason = std::string(aml_errname(err)) + ": line " +
			          std::to_string(error.line) + ": " +
			          error.reason;
			return nullptr;
		}
		loaded_[n] = t;
		return t;
	}

      private:
	std::map<int, struct aml_topology *> loaded_;
};

XmlMachines xml_machines;

// topology/rank/xml/<n>: as topology/rank/synthetic, each question new to
// the thread's kept answers (5 initiators in turn), so each is computed.
// topology/rank/xml_kept/<n>: one question asked again, answered from
// what the thread kept.
template <bool kept> void BM_RankXml(benchmark::State &state)
{
	int n = (int)state.range(0);
	std::string reason;
	struct aml_topology *t = xml_machines.Get(n, &reason);
	if (t == nullptr) {
		state.SkipWithError(reason.c_str());
		return;
	}
	if (aml_topology_ndevices(t) != n) {
		state.SkipWithError("the machine lost nodes");
		return;
	}
	RankByBandwidth(state, t, n, !kept);
}
BENCHMARK_TEMPLATE(BM_RankXml, false)
        ->Name("topology/rank/xml")
        ->RangeMultiplier(2)
        ->Range(1, 1024);
BENCHMARK_TEMPLATE(BM_RankXml, true)
        ->Name("topology/rank/xml_kept")
        ->RangeMultiplier(2)
        ->Range(1, 1024);

} // namespace
