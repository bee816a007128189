// SPDX-License-Identifier: BSD-3-Clause
// Discovery of the hand-written hwloc XML fixtures (docs/topology-fixtures.md):
// a KNL in flat mode, a 2-socket Xeon Max in flat SNC4 mode, and a DDR + CXL
// server. Each must be classified and ranked as the real machine would be,
// with nodes keyed by OS index.
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

namespace
{

constexpr uint64_t kMiB = 1 << 20;

class TopologyXml : public ::testing::Test
{
      protected:
	struct aml_topology *Load(const std::string &name)
	{
		std::string path = "tests/fixtures/topology/" + name + ".xml";
		int err = aml_topology_load_xml(&topo, path.c_str());
		if (err == AML_ENOTSUP)
			return nullptr;
		EXPECT_EQ(err, 0) << path << ": " << aml_errname(err);
		return topo;
	}

	void TearDown() override
	{
		aml_topology_destroy(&topo);
	}

	const struct aml_device *Node(int id)
	{
		const struct aml_device *d =
		        aml_topology_device_of_node(topo, id);
		EXPECT_NE(d, nullptr) << "node " << id;
		return d;
	}

	std::vector<int> Ranked(enum aml_topology_rank by, const char *cpus)
	{
		struct aml_bitmap initiator;
		EXPECT_EQ(aml_bitmap_parse(&initiator, cpus), 0);
		const struct aml_device *out[32];
		int n = aml_topology_rank(topo, by, &initiator, out, 32);
		std::vector<int> ids;
		for (int i = 0; i < n; i++)
			ids.push_back(out[i]->numa_id);
		return ids;
	}

	static std::string List(const struct aml_bitmap &b)
	{
		char buf[AML_BITMAP_FORMAT_MAX];
		aml_bitmap_format(&b, buf, sizeof(buf));
		return buf;
	}

	struct aml_topology *topo = nullptr;
};

#define LOAD_OR_SKIP(name)                                                     \
	do {                                                                   \
		if (Load(name) == nullptr) {                                   \
			if (HasFailure())                                      \
				return;                                        \
			GTEST_SKIP() << "aml built without hwloc";             \
		}                                                              \
	} while (0)

TEST_F(TopologyXml, KnlFlatHasDdrAndMcdram)
{
	LOAD_OR_SKIP("knl-flat");
	ASSERT_EQ(aml_topology_ndevices(topo), 2);
	const struct aml_device *ddr = Node(0), *mcdram = Node(1);
	EXPECT_EQ(ddr->kind, AML_DEVICE_DRAM);
	EXPECT_EQ(mcdram->kind, AML_DEVICE_HBM); // subtype MCDRAM
	EXPECT_EQ(ddr->capacity, 96ULL << 30);
	EXPECT_EQ(mcdram->capacity, 16ULL << 30);
	EXPECT_EQ(List(ddr->cpus), "0-271");
	EXPECT_EQ(List(mcdram->cpus), ""); // CPU-less
	ASSERT_EQ(mcdram->ninitiators, 1u);
	EXPECT_EQ(mcdram->initiators[0].perf.bandwidth, 429153 * kMiB);
	EXPECT_EQ(mcdram->initiators[0].perf.latency_ns, 150u);
	EXPECT_STREQ(aml_topology_source(topo),
	             "hwloc XML tests/fixtures/topology/knl-flat.xml");
}

TEST_F(TopologyXml, KnlFlatRanksMcdramFirstByBandwidthDdrFirstOtherwise)
{
	LOAD_OR_SKIP("knl-flat");
	EXPECT_EQ(Ranked(AML_RANK_BANDWIDTH, "0"), (std::vector<int>{1, 0}));
	EXPECT_EQ(Ranked(AML_RANK_LATENCY, "0"), (std::vector<int>{0, 1}));
	EXPECT_EQ(Ranked(AML_RANK_CAPACITY, "0"), (std::vector<int>{0, 1}));
	EXPECT_EQ(aml_topology_nearest(topo, 100)->numa_id, 0);
}

TEST_F(TopologyXml, XeonMaxNodesAreKeyedByOsIndex)
{
	LOAD_OR_SKIP("xeon-max-snc4-flat");
	ASSERT_EQ(aml_topology_ndevices(topo), 16);
	// hwloc's logical order is DDR0, HBM8, DDR1, HBM9, ...: logical
	// index 1 is HBM node 8. Node 1 must be cluster 1's DDR.
	EXPECT_EQ(Node(1)->kind, AML_DEVICE_DRAM);
	EXPECT_EQ(List(Node(1)->cpus), "14-27,126-139");
	for (int k = 0; k < 8; k++) {
		const struct aml_device *ddr = Node(k), *hbm = Node(8 + k);
		EXPECT_EQ(ddr->kind, AML_DEVICE_DRAM) << k;
		EXPECT_EQ(hbm->kind, AML_DEVICE_HBM) << k; // by bandwidth
		EXPECT_EQ(ddr->capacity, 64ULL << 30) << k;
		EXPECT_EQ(hbm->capacity, 16ULL << 30) << k;
		EXPECT_EQ(aml_bitmap_count(&ddr->cpus), 28) << k;
		EXPECT_EQ(aml_bitmap_count(&hbm->cpus), 0) << k;
		EXPECT_EQ(hbm->ninitiators, 8u) << k;
	}
	const struct aml_device *hbm[16];
	ASSERT_EQ(aml_topology_by_kind(topo, AML_DEVICE_HBM, hbm, 16), 8);
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(hbm[i]->numa_id, 8 + i);
}

TEST_F(TopologyXml, XeonMaxRanksTheLocalClusterFirst)
{
	LOAD_OR_SKIP("xeon-max-snc4-flat");
	// From cluster 1 (CPU 14): its HBM, then the 3 other HBM of socket 0,
	// (ties by node), then DDR...
	std::vector<int> by_bw = Ranked(AML_RANK_BANDWIDTH, "14");
	ASSERT_EQ(by_bw.size(), 16u);
	EXPECT_EQ(by_bw[0], 9);
	EXPECT_EQ(std::vector<int>(by_bw.begin() + 1, by_bw.begin() + 4),
	          (std::vector<int>{8, 10, 11}));
	EXPECT_EQ(by_bw[4], 1); // local DDR: 73242 MiB/s
	// By latency: local DDR (110 ns), the socket's other DDR (125 ns,
	// tied, by node), then the local HBM (130 ns).
	std::vector<int> by_latency = Ranked(AML_RANK_LATENCY, "14");
	EXPECT_EQ(std::vector<int>(by_latency.begin(), by_latency.begin() + 5),
	          (std::vector<int>{1, 0, 2, 3, 9}));
	// From cluster 6 (CPU 200 is a hyperthread of cluster 6).
	EXPECT_EQ(Ranked(AML_RANK_BANDWIDTH, "200")[0], 14);
	EXPECT_EQ(aml_topology_nearest(topo, 200)->numa_id, 6);
	// DDR first by capacity: the 8 DDR nodes, then the 8 HBM ones.
	std::vector<int> by_capacity = Ranked(AML_RANK_CAPACITY, "0");
	EXPECT_EQ(
	        std::vector<int>(by_capacity.begin(), by_capacity.begin() + 8),
	        (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
	// Remote socket: HBM across UPI is slower than local DDR.
	struct aml_bitmap cpu56;
	aml_bitmap_parse(&cpu56, "56");
	const struct aml_device_perf *remote =
	        aml_device_perf_from(Node(8), &cpu56);
	ASSERT_NE(remote, nullptr);
	EXPECT_EQ(remote->bandwidth, 30518 * kMiB);
	EXPECT_EQ(remote->latency_ns, 210u);
}

TEST_F(TopologyXml, DdrCxlHasTheExpanderLastByLatency)
{
	LOAD_OR_SKIP("ddr-cxl");
	ASSERT_EQ(aml_topology_ndevices(topo), 2);
	// 292969 MiB/s is above memkind's HBM threshold, but the node has
	// CPUs: a DDR5 socket, not HBM.
	EXPECT_EQ(Node(0)->initiators[0].perf.bandwidth, 292969 * kMiB);
	EXPECT_EQ(Node(0)->kind, AML_DEVICE_DRAM);
	// No subtype: CPU-less and 190 ns against 110 ns makes it CXL.
	EXPECT_EQ(Node(1)->kind, AML_DEVICE_CXL);
	EXPECT_EQ(Ranked(AML_RANK_LATENCY, "0"), (std::vector<int>{0, 1}));
	EXPECT_EQ(Ranked(AML_RANK_BANDWIDTH, "0"), (std::vector<int>{0, 1}));
	const struct aml_device *cxl[2];
	EXPECT_EQ(aml_topology_by_kind(topo, AML_DEVICE_CXL, cxl, 2), 1);
}

TEST_F(TopologyXml, HbmNodesOverrideReclassifies)
{
	setenv("AML_HBM_NODES", "1", 1);
	bool loaded = Load("ddr-cxl") != nullptr;
	unsetenv("AML_HBM_NODES");
	if (!loaded)
		GTEST_SKIP() << "aml built without hwloc";
	EXPECT_EQ(Node(1)->kind, AML_DEVICE_HBM);
}

TEST_F(TopologyXml, NodesThisMachineLacksCannotMap)
{
	LOAD_OR_SKIP("xeon-max-snc4-flat");
	aml_errno = 0;
	EXPECT_EQ(aml_device_map(Node(15), 4096), nullptr);
	EXPECT_EQ(aml_errno, AML_ENODEV);
}

TEST_F(TopologyXml, BadFilesAreInvalid)
{
	struct aml_topology *t = nullptr;
	int err = aml_topology_load_xml(&t, "tests/topology_xml_test.cc");
	if (err == AML_ENOTSUP)
		GTEST_SKIP() << "aml built without hwloc";
	EXPECT_EQ(err, AML_EINVAL);
	EXPECT_EQ(t, nullptr);
	EXPECT_EQ(aml_topology_load_xml(&t, "tests/no/such/file.xml"),
	          AML_EINVAL);
	EXPECT_EQ(t, nullptr);
}

} // namespace
