// SPDX-License-Identifier: BSD-3-Clause
// Fast memory on a sub-NUMA-clustered machine as Linux shows it: the
// kernel exposes only the best (local) initiator of each memory node
// (sysfs access0), so a CPU of another cluster has no figures for a
// node. The Xeon Max SNC4 fixture, with its memory attributes cut down to
// the local values, must still give each cluster its own HBM node, and
// rank each cluster's own nodes first: a node the CPU has no figures for
// is not taken for a local one.
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/fast.h>

namespace
{

// The fixture without the figures from remote initiators: of Bandwidth
// and Latency, only the local values (73242 and 390625 MiB/s, 110 and
// 130 ns) are kept, as in Linux's access0 view.
std::string LocalInitiatorsOnly(const std::string &xml)
{
	std::istringstream in(xml);
	std::ostringstream out;
	const std::regex remote("<memattr_value target_obj_type=\"NUMANode\" "
	                        "target_obj_gp_index=\"[0-9]+\" "
	                        "value=\"(54932|29297|292969|30518|125|145|"
	                        "190|210)\" initiator_cpuset=");
	std::string line;
	size_t dropped = 0;
	while (std::getline(in, line)) {
		if (std::regex_search(line, remote)) {
			dropped++;
			continue;
		}
		out << line << '\n';
	}
	// 16 nodes x 7 remote clusters x (Bandwidth, Latency).
	EXPECT_EQ(dropped, 16u * 7 * 2);
	return out.str();
}

// The SNC4 fixture as Linux shows it, or NULL where aml has no XML
// loader (the test is then skipped).
struct aml_topology *LoadLocalOnly()
{
	std::ifstream file("tests/fixtures/topology/xeon-max-snc4-flat.xml");
	EXPECT_TRUE(file.good());
	std::stringstream text;
	text << file.rdbuf();
	std::string xml = LocalInitiatorsOnly(text.str());
	struct aml_topology *t = nullptr;
	int err = aml_topology_load_xml_buffer(&t, xml.data(), xml.size(),
	                                       nullptr);
	EXPECT_TRUE(err == 0 || err == AML_ENOTSUP) << aml_errname(err);
	return t;
}

TEST(FastLocalInitiators, EachSnc4ClusterGetsItsOwnHbm)
{
	struct aml_topology *t = LoadLocalOnly();
	if (t == nullptr)
		GTEST_SKIP() << "aml built without hwloc";
	struct aml_fast_memory *fast = nullptr;
	ASSERT_EQ(aml_fast_memory_create(&fast, t, nullptr), 0);
	// Cluster k (0..7) holds CPUs 14k..14k+13 and 112+14k..; its HBM is
	// NUMA node 8 + k.
	for (int k = 0; k < 8; k++) {
		for (int cpu : {14 * k, 14 * k + 13, 112 + 14 * k}) {
			const struct aml_device *d =
			        aml_fast_memory_device_for_cpu(fast, cpu);
			ASSERT_NE(d, nullptr);
			EXPECT_EQ(d->numa_id, 8 + k) << "cpu " << cpu;
		}
	}
	aml_fast_memory_destroy(&fast);
	aml_topology_destroy(&t);
}

// The rankings follow the same rule: from a cluster's CPU, a device with
// no figures from it sorts with the unknown ones, last.
TEST(FastLocalInitiators, RankingsFromAClusterPutItsOwnNodesFirst)
{
	struct aml_topology *t = LoadLocalOnly();
	if (t == nullptr)
		GTEST_SKIP() << "aml built without hwloc";
	for (int k = 0; k < 8; k++) {
		struct aml_bitmap cpu;
		aml_bitmap_zero(&cpu);
		aml_bitmap_set(&cpu, (size_t)(14 * k));
		const struct aml_device *ranked[16] = {};
		ASSERT_EQ(aml_topology_rank(t, AML_RANK_BANDWIDTH, &cpu, ranked,
		                            16),
		          16);
		EXPECT_EQ(ranked[0]->numa_id, 8 + k) << "cluster " << k;
		EXPECT_EQ(ranked[1]->numa_id, k) << "cluster " << k;
		const struct aml_device *nearest =
		        aml_topology_best(t, AML_RANK_LATENCY, &cpu);
		ASSERT_NE(nearest, nullptr);
		EXPECT_EQ(nearest->numa_id, k) << "cluster " << k;
	}
	aml_topology_destroy(&t);
}

} // namespace
