// SPDX-License-Identifier: BSD-3-Clause
// Topology queries on hand-made topologies: ranking, kinds, nearest device,
// lookups, iteration, and bad input. Independent of this machine.
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

#include "tests/testing/topology_builder.h"

namespace
{

using aml_testing::BuildTopology;
using aml_testing::Cpus;
using aml_testing::Node;

// A KNL-like machine, nodes given out of order: DDR 0 and MCDRAM 1 on CPUs
// 0-3, plus a far CXL node 2.
std::vector<Node> ThreeTiers()
{
	return {
	        {2, 64, "", "0-3", 30, 300, ""},
	        {0, 96, "0-3", "0-3", 90, 130, ""},
	        {1, 16, "", "0-3", 420, 150, ""},
	};
}

std::vector<std::string> Names(const struct aml_device *const *devs, int n)
{
	std::vector<std::string> names;
	for (int i = 0; i < n; i++)
		names.push_back(devs[i]->name);
	return names;
}

std::vector<std::string> Rank(const struct aml_topology *t,
                              enum aml_topology_rank by,
                              const struct aml_bitmap *initiator = nullptr)
{
	const struct aml_device *out[8];
	int n = aml_topology_rank(t, by, initiator, out, 8);
	EXPECT_GE(n, 0) << aml_errname(n);
	return Names(out, n);
}

TEST(Topology, DevicesAreSortedByNumaOsIndex)
{
	struct aml_topology *t = BuildTopology(ThreeTiers());
	ASSERT_EQ(aml_topology_ndevices(t), 3);
	for (int i = 0; i < 3; i++) {
		const struct aml_device *d = aml_topology_device(t, (size_t)i);
		ASSERT_NE(d, nullptr);
		EXPECT_EQ(d->numa_id, i);
		EXPECT_EQ(aml_topology_index_of(t, d), i);
		EXPECT_EQ(aml_topology_device_of_node(t, i), d);
	}
	EXPECT_STREQ(aml_topology_source(t), "test");
	aml_topology_destroy(&t);
	EXPECT_EQ(t, nullptr);
}

TEST(Topology, KindsFollowTheClassificationRule)
{
	struct aml_topology *t = BuildTopology(ThreeTiers());
	EXPECT_EQ(aml_topology_device_of_node(t, 0)->kind, AML_DEVICE_DRAM);
	EXPECT_EQ(aml_topology_device_of_node(t, 1)->kind, AML_DEVICE_HBM);
	EXPECT_EQ(aml_topology_device_of_node(t, 2)->kind, AML_DEVICE_CXL);
	aml_topology_destroy(&t);
}

TEST(Topology, RankingByEachCriterion)
{
	struct aml_topology *t = BuildTopology(ThreeTiers());
	struct aml_bitmap cpu0 = Cpus("0");
	EXPECT_EQ(Rank(t, AML_RANK_BANDWIDTH, &cpu0),
	          (std::vector<std::string>{"node1", "node0", "node2"}));
	EXPECT_EQ(Rank(t, AML_RANK_LATENCY, &cpu0),
	          (std::vector<std::string>{"node0", "node1", "node2"}));
	EXPECT_EQ(Rank(t, AML_RANK_CAPACITY, &cpu0),
	          (std::vector<std::string>{"node0", "node2", "node1"}));
	EXPECT_STREQ(aml_topology_best(t, AML_RANK_BANDWIDTH, &cpu0)->name,
	             "node1");
	aml_topology_destroy(&t);
}

// Two sockets of one CPU each (CPUs 0 and 1, as on any machine with two),
// each with its own DDR and HBM; each node records both sockets, the
// remote one slower: what ranks first depends on the CPUs.
std::vector<Node> TwoSockets()
{
	return {
	        {0, 64, "0", "0", 90, 100, "", "1", 40, 200},
	        {1, 64, "1", "1", 90, 100, "", "0", 40, 200},
	        {2, 16, "", "0", 400, 120, "", "1", 60, 250},
	        {3, 16, "", "1", 400, 120, "", "0", 60, 250},
	};
}

// Answers are kept per thread (the topology never changes): asked again,
// in any order, each question gets its own answer, not the last one's.
TEST(Topology, RankingAnswersEachQuestionWhateverWasAskedBefore)
{
	struct aml_topology *t = BuildTopology(TwoSockets());
	struct aml_bitmap socket0 = Cpus("0"), socket1 = Cpus("1");
	const std::vector<std::string> from0{"node2", "node0", "node3",
	                                     "node1"};
	const std::vector<std::string> from1{"node3", "node1", "node2",
	                                     "node0"};
	const std::vector<std::string> latency0{"node0", "node2", "node1",
	                                        "node3"};
	for (int round = 0; round < 3; round++) {
		EXPECT_EQ(Rank(t, AML_RANK_BANDWIDTH, &socket0), from0);
		EXPECT_EQ(Rank(t, AML_RANK_BANDWIDTH, &socket1), from1);
		EXPECT_EQ(Rank(t, AML_RANK_LATENCY, &socket0), latency0);
		EXPECT_EQ(Rank(t, AML_RANK_CAPACITY, &socket1),
		          (std::vector<std::string>{"node0", "node1", "node2",
		                                    "node3"}));
		// More questions than a thread keeps answers to.
		struct aml_bitmap both = Cpus("0-1");
		EXPECT_EQ(Rank(t, AML_RANK_BANDWIDTH, &both)[0], "node2");
	}
	// A changed bitmap is a new question, though at the same address.
	struct aml_bitmap asked = socket0;
	EXPECT_EQ(Rank(t, AML_RANK_BANDWIDTH, &asked), from0);
	asked = socket1;
	EXPECT_EQ(Rank(t, AML_RANK_BANDWIDTH, &asked), from1);
	aml_topology_destroy(&t);
}

// A topology made where another was destroyed, at the same address or not,
// is ranked as itself.
TEST(Topology, RankingOfANewTopologyIsItsOwn)
{
	struct aml_bitmap socket0 = Cpus("0");
	struct aml_topology *two = BuildTopology(TwoSockets());
	EXPECT_EQ(
	        Rank(two, AML_RANK_BANDWIDTH, &socket0),
	        (std::vector<std::string>{"node2", "node0", "node3", "node1"}));
	aml_topology_destroy(&two);
	for (int i = 0; i < 8; i++) {
		struct aml_topology *three = BuildTopology(ThreeTiers());
		EXPECT_EQ(
		        Rank(three, AML_RANK_BANDWIDTH, &socket0),
		        (std::vector<std::string>{"node1", "node0", "node2"}));
		aml_topology_destroy(&three);
		two = BuildTopology(TwoSockets());
		EXPECT_EQ(Rank(two, AML_RANK_BANDWIDTH, &socket0),
		          (std::vector<std::string>{"node2", "node0", "node3",
		                                    "node1"}));
		aml_topology_destroy(&two);
	}
}

// The calling thread's CPUs (NULL): pinned to one socket, then to the
// other and back, a thread gets each socket's ranking. Needs CPUs 0 and 1
// of this machine, the hand-made topology's.
TEST(Topology, RankingForTheCallingThreadFollowsItsAffinity)
{
	cpu_set_t mine;
	ASSERT_EQ(sched_getaffinity(0, sizeof(mine), &mine), 0);
	if (!CPU_ISSET(0, &mine) || !CPU_ISSET(1, &mine))
		GTEST_SKIP() << "CPUs 0 and 1 are not both this process's";
	struct aml_topology *t = BuildTopology(TwoSockets());
	std::thread([&] {
		for (int cpu : {0, 1, 0}) {
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			// Linux moves the thread before the call returns.
			ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0)
			        << "CPU " << cpu;
			EXPECT_EQ(Rank(t, AML_RANK_BANDWIDTH)[0],
			          cpu == 0 ? "node2" : "node3");
		}
	}).join();
	aml_topology_destroy(&t);
}

// Every device of t in order, names.
std::vector<std::string> RankAll(const struct aml_topology *t,
                                 enum aml_topology_rank by,
                                 const struct aml_bitmap *initiator)
{
	std::vector<const struct aml_device *> out(
	        (size_t)aml_topology_ndevices(t));
	int n = aml_topology_rank(t, by, initiator, out.data(), out.size());
	EXPECT_EQ(n, (int)out.size()) << aml_errname(n);
	return Names(out.data(), n < 0 ? 0 : n);
}

// Answers are kept for topologies of any size, up to aml's 1024 nodes: a
// thread's kept orders grow to the largest topology it ranks (forgetting
// the answers they held), and each answer, kept or computed, is its
// question's. Bandwidths 1-1024 GiB/s from CPU 0, one per node in a
// scrambled order (389 is prime to 1024), so the order is known.
TEST(Topology, RankingKeepsAnswersOfTopologiesUpTo1024Nodes)
{
	const int n = AML_BITMAP_MAX;
	std::vector<Node> nodes;
	std::vector<std::string> want((size_t)n);
	for (int i = 0; i < n; i++) {
		int bw = 1 + i * 389 % n;
		nodes.push_back({i, 1, "", "0", (double)bw, 100, ""});
		want[(size_t)(n - bw)] = "node" + std::to_string(i);
	}
	struct aml_topology *big = BuildTopology(nodes);
	struct aml_topology *two = BuildTopology(TwoSockets());
	ASSERT_EQ(aml_topology_ndevices(big), n);
	struct aml_bitmap cpu0 = Cpus("0"), cpu1 = Cpus("1");
	const std::vector<std::string> two_from0{"node2", "node0", "node3",
	                                         "node1"};
	const std::vector<std::string> two_from1{"node3", "node1", "node2",
	                                         "node0"};
	// A new thread: its kept orders start empty, whatever ran before.
	std::thread([&] {
		for (int round = 0; round < 3; round++) {
			EXPECT_EQ(RankAll(two, AML_RANK_BANDWIDTH, &cpu0),
			          two_from0);
			EXPECT_EQ(RankAll(big, AML_RANK_BANDWIDTH, &cpu0),
			          want);
			EXPECT_EQ(RankAll(two, AML_RANK_BANDWIDTH, &cpu1),
			          two_from1);
			EXPECT_EQ(RankAll(big, AML_RANK_BANDWIDTH, &cpu0),
			          want);
			EXPECT_EQ(Rank(big, AML_RANK_BANDWIDTH, &cpu0),
			          std::vector<std::string>(want.begin(),
			                                   want.begin() + 8));
		}
	}).join();
	aml_topology_destroy(&two);
	aml_topology_destroy(&big);
}

// Past 16 devices the ranking sorts otherwise (rank.c): ties still go to
// the larger capacity, then to the lower NUMA index. 40 nodes in 3
// bandwidths and 4 capacities, against the rule applied by std::sort.
TEST(Topology, RankingBreaksTiesTheSameOnLargeTopologies)
{
	std::vector<Node> nodes;
	for (int i = 0; i < 40; i++)
		nodes.push_back({i, (uint64_t)(1 + i * 7 % 4), "", "0",
		                 (double)(1 + i % 3), 100, ""});
	std::vector<Node> want = nodes;
	std::sort(want.begin(), want.end(), [](const Node &a, const Node &b) {
		if (a.bandwidth_gib_s != b.bandwidth_gib_s)
			return a.bandwidth_gib_s > b.bandwidth_gib_s;
		if (a.capacity_gib != b.capacity_gib)
			return a.capacity_gib > b.capacity_gib;
		return a.numa_id < b.numa_id;
	});
	std::vector<std::string> names;
	for (const Node &node : want)
		names.push_back("node" + std::to_string(node.numa_id));
	struct aml_topology *t = BuildTopology(nodes);
	struct aml_bitmap cpu0 = Cpus("0");
	EXPECT_EQ(RankAll(t, AML_RANK_BANDWIDTH, &cpu0), names);
	aml_topology_destroy(&t);
}

TEST(Topology, RankingWritesAtMostMax)
{
	struct aml_topology *t = BuildTopology(ThreeTiers());
	const struct aml_device *out[3] = {nullptr, nullptr, nullptr};
	EXPECT_EQ(aml_topology_rank(t, AML_RANK_BANDWIDTH, nullptr, out, 1), 1);
	EXPECT_NE(out[0], nullptr);
	EXPECT_EQ(out[1], nullptr);
	EXPECT_EQ(aml_topology_rank(t, AML_RANK_BANDWIDTH, nullptr, nullptr, 0),
	          0);
	aml_topology_destroy(&t);
}

TEST(Topology, UnknownValuesRankLastAndTiesGoToCapacityThenNode)
{
	struct aml_topology *t = BuildTopology({
	        {0, 32, "0", "", 0, 0, ""}, // no HMAT values
	        {1, 64, "1", "1", 100, 100, ""},
	        {2, 64, "2", "2", 100, 100, ""}, // ties node 1
	        {3, 128, "3", "3", 100, 100, ""},
	});
	struct aml_bitmap all = Cpus("0-3");
	EXPECT_EQ(
	        Rank(t, AML_RANK_BANDWIDTH, &all),
	        (std::vector<std::string>{"node3", "node1", "node2", "node0"}));
	EXPECT_EQ(
	        Rank(t, AML_RANK_LATENCY, &all),
	        (std::vector<std::string>{"node3", "node1", "node2", "node0"}));
	aml_topology_destroy(&t);
}

TEST(Topology, PerformanceDependsOnTheInitiator)
{
	// Two sockets: each node is fast from its own socket and slow from the
	// other, as HMAT says on a 2-socket machine. The remote initiator is
	// given first: finishing puts the local one first anyway.
	Node n0 = {0, 64, "0-3", "4-7", 50, 200, ""};
	n0.remote_initiator = "0-3";
	n0.remote_bandwidth_gib_s = 100;
	n0.remote_latency_ns = 100;
	Node n1 = {1, 64, "4-7", "4-7", 100, 100, ""};
	n1.remote_initiator = "0-3";
	n1.remote_bandwidth_gib_s = 50;
	n1.remote_latency_ns = 200;
	struct aml_topology *t = BuildTopology({n0, n1});

	const struct aml_device *d0 = aml_topology_device_of_node(t, 0);
	ASSERT_EQ(d0->ninitiators, 2u);
	EXPECT_EQ(aml_bitmap_equal(&d0->initiators[0].cpus, &d0->cpus), 1)
	        << "the local initiator comes first";

	struct aml_bitmap socket0 = Cpus("0-3"), socket1 = Cpus("4-7");
	struct aml_bitmap cpu5 = Cpus("5"), spanning = Cpus("3-7");
	EXPECT_EQ(Rank(t, AML_RANK_BANDWIDTH, &socket0),
	          (std::vector<std::string>{"node0", "node1"}));
	EXPECT_EQ(Rank(t, AML_RANK_BANDWIDTH, &socket1),
	          (std::vector<std::string>{"node1", "node0"}));
	EXPECT_EQ(Rank(t, AML_RANK_LATENCY, &cpu5),
	          (std::vector<std::string>{"node1", "node0"}));
	// An initiator over both sockets takes the values of the one it
	// shares most CPUs with (4 of 5 are on socket 1).
	EXPECT_EQ(Rank(t, AML_RANK_LATENCY, &spanning),
	          (std::vector<std::string>{"node1", "node0"}));
	const struct aml_device_perf *p = aml_device_perf_from(d0, &cpu5);
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(p->latency_ns, 200u);
	aml_topology_destroy(&t);
}

TEST(Topology, ByKind)
{
	struct aml_topology *t = BuildTopology(ThreeTiers());
	const struct aml_device *out[4];
	EXPECT_EQ(aml_topology_by_kind(t, AML_DEVICE_HBM, out, 4), 1);
	EXPECT_STREQ(out[0]->name, "node1");
	EXPECT_EQ(aml_topology_by_kind(t, AML_DEVICE_NVM, out, 4), 0);
	// The count is of all matches, even beyond max.
	EXPECT_EQ(aml_topology_by_kind(t, AML_DEVICE_DRAM, nullptr, 0), 1);
	aml_topology_destroy(&t);
}

TEST(Topology, NearestIsTheCpusOwnNodeElseTheLowestLatency)
{
	struct aml_topology *t = BuildTopology({
	        {0, 96, "0-3", "0-3", 90, 130, ""},
	        {1, 16, "", "0-3", 420, 150, ""},
	        {2, 96, "4-7", "4-7", 90, 130, ""},
	        {3, 16, "", "4-7", 420, 150, ""},
	});
	EXPECT_STREQ(aml_topology_nearest(t, 1)->name, "node0");
	EXPECT_STREQ(aml_topology_nearest(t, 6)->name, "node2");
	// CPU 9 belongs to no node: the lowest latency from it decides, and
	// with no initiator sharing it, each node's local values count.
	EXPECT_NE(aml_topology_nearest(t, 9), nullptr);
	EXPECT_NE(aml_topology_nearest(t, -1), nullptr); // the calling CPU
	aml_topology_destroy(&t);
}

TEST(Topology, ForeachVisitsEveryDeviceInOrder)
{
	struct aml_topology *t = BuildTopology(ThreeTiers());
	std::vector<int> ids;
	AML_TOPOLOGY_FOREACH (d, t)
		ids.push_back(d->numa_id);
	EXPECT_EQ(ids, (std::vector<int>{0, 1, 2}));
	aml_topology_destroy(&t);
}

// ---- Bad input.

TEST(TopologyBadInput, Queries)
{
	struct aml_topology *t = BuildTopology(ThreeTiers());
	const struct aml_device *out[1] = {nullptr};
	EXPECT_EQ(aml_topology_ndevices(nullptr), AML_EINVAL);
	aml_errno = 0;
	EXPECT_EQ(aml_topology_source(nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_topology_device(nullptr, 0), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_topology_device(t, 3), nullptr);
	EXPECT_EQ(aml_errno, AML_EDOM);
	EXPECT_EQ(aml_topology_device(t, SIZE_MAX), nullptr);
	EXPECT_EQ(aml_errno, AML_EDOM);
	EXPECT_EQ(aml_topology_device_of_node(t, 3), nullptr);
	EXPECT_EQ(aml_errno, AML_ENODEV);
	EXPECT_EQ(aml_topology_device_of_node(t, -1), nullptr);
	EXPECT_EQ(aml_errno, AML_ENODEV);
	EXPECT_EQ(aml_topology_device_of_node(t, AML_BITMAP_MAX), nullptr);
	EXPECT_EQ(aml_errno, AML_ENODEV);
	EXPECT_EQ(aml_topology_device_of_node(nullptr, 0), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);

	struct aml_device stranger = *aml_topology_device(t, 0);
	EXPECT_EQ(aml_topology_index_of(t, &stranger), AML_ENODEV);
	EXPECT_EQ(aml_topology_index_of(t, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_topology_index_of(nullptr, &stranger), AML_EINVAL);

	EXPECT_EQ(aml_topology_rank(nullptr, AML_RANK_LATENCY, nullptr, out, 1),
	          AML_EINVAL);
	EXPECT_EQ(aml_topology_rank(t, AML_RANK_LATENCY, nullptr, nullptr, 1),
	          AML_EINVAL);
	EXPECT_EQ(aml_topology_rank(t, (enum aml_topology_rank)7, nullptr, out,
	                            1),
	          AML_EINVAL);
	EXPECT_EQ(out[0], nullptr);
	EXPECT_EQ(aml_topology_best(t, (enum aml_topology_rank) - 1, nullptr),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);

	EXPECT_EQ(aml_topology_by_kind(nullptr, AML_DEVICE_HBM, out, 1),
	          AML_EINVAL);
	EXPECT_EQ(aml_topology_by_kind(t, AML_DEVICE_KIND_COUNT, out, 1),
	          AML_EINVAL);
	EXPECT_EQ(aml_topology_by_kind(t, AML_DEVICE_HBM, nullptr, 1),
	          AML_EINVAL);

	EXPECT_EQ(aml_topology_nearest(nullptr, 0), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_topology_nearest(t, AML_BITMAP_MAX), nullptr);
	EXPECT_EQ(aml_errno, AML_EDOM);
	EXPECT_EQ(aml_topology_nearest(t, -2), nullptr);
	EXPECT_EQ(aml_errno, AML_EDOM);

	int ids[1];
	// A stack address may fall on a page boundary by chance (often under
	// ASan), so the pointers are made from a page-aligned buffer.
	size_t page_size = aml_page_size();
	char *page = static_cast<char *>(aligned_alloc(page_size, page_size));
	ASSERT_NE(page, nullptr);
	EXPECT_EQ(aml_topology_locate(t, page + 8, 1, ids), AML_EINVAL);
	// Aligned, but hand-made topologies cannot locate pages.
	EXPECT_EQ(aml_topology_locate(t, page, 1, ids), AML_ENOTSUP);
	free(page);
	// Hand-made topologies describe: they cannot map over node sets.
	struct aml_bitmap first = Cpus("0");
	EXPECT_EQ(aml_topology_map(t, &first, AML_POLICY_BIND, 4096), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOTSUP);
	aml_topology_destroy(&t);
}

TEST(TopologyBadInput, Construction)
{
	struct aml_topology *t = reinterpret_cast<struct aml_topology *>(0x1);
	EXPECT_EQ(aml_topology_load_xml(&t, nullptr), AML_EINVAL);
	EXPECT_EQ(t, nullptr);
	EXPECT_EQ(aml_topology_load_xml(nullptr, "x.xml"), AML_EINVAL);
	EXPECT_EQ(aml_topology_discover(nullptr), AML_EINVAL);
	t = reinterpret_cast<struct aml_topology *>(0x1);
	int err = aml_topology_load_xml(&t, "/nonexistent/topology.xml");
	EXPECT_TRUE(err == AML_EINVAL || err == AML_ENOTSUP)
	        << aml_errname(err);
	EXPECT_EQ(t, nullptr);
}

TEST(DeviceBadInput, KindNamesAndPerf)
{
	EXPECT_STREQ(aml_device_kind_name(AML_DEVICE_DRAM), "DRAM");
	EXPECT_STREQ(aml_device_kind_name(AML_DEVICE_HBM), "HBM");
	EXPECT_STREQ(aml_device_kind_name(AML_DEVICE_CXL), "CXL");
	EXPECT_STREQ(aml_device_kind_name(AML_DEVICE_NVM), "NVM");
	aml_errno = 0;
	EXPECT_EQ(aml_device_kind_name(AML_DEVICE_KIND_COUNT), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_device_kind_name((enum aml_device_kind) - 1), nullptr);
	EXPECT_EQ(aml_device_perf_from(nullptr, nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	struct aml_device bare = {};
	EXPECT_EQ(aml_device_perf_from(&bare, nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_ENODEV);
	// A device whose ops lack map: refused, not crashed.
	const struct aml_device_ops none = {};
	bare.ops = &none;
	EXPECT_EQ(aml_device_map(&bare, 4096), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	size_t page_size = aml_page_size();
	char *page = static_cast<char *>(aligned_alloc(page_size, page_size));
	ASSERT_NE(page, nullptr);
	EXPECT_EQ(aml_device_move(&bare, page + 8, 1), AML_EINVAL);
	EXPECT_EQ(aml_device_move(&bare, page, 1), AML_ENOTSUP);
	free(page);
}

} // namespace
