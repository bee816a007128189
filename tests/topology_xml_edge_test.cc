// SPDX-License-Identifier: BSD-3-Clause
// hwloc XML at aml's limits (issue #13, 2.10). A node aml cannot hold (OS
// index past 1023, or none) is AML_EINVAL with a reason, not the
// undocumented AML_EDOM; a valid file with more initiators than a device
// holds loads; a bandwidth whose bytes per second do not fit in 64 bits is
// refused rather than wrapped to 0 ("unknown").
#include <dirent.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

#include "tests/testing/hwloc_xml.h"

namespace
{

using aml_testing::Machine;
using aml_testing::ReadFixture;
using aml_testing::Replace;
using aml_testing::Value;

class TopologyXmlEdge : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		if (aml_backend_is_built(AML_BACKEND_HWLOC) != 1)
			GTEST_SKIP() << "aml built without hwloc";
	}

	void TearDown() override
	{
		aml_topology_destroy(&topo);
	}

	int Load(const std::string &text)
	{
		aml_topology_destroy(&topo);
		memset(&error, 0, sizeof(error));
		return aml_topology_load_xml_buffer(&topo, text.data(),
		                                    text.size(), &error);
	}

	// The figures node sees from CPU cpu.
	const struct aml_device_perf *From(int node, int cpu)
	{
		struct aml_bitmap from;
		aml_bitmap_zero(&from);
		aml_bitmap_set(&from, cpu);
		const struct aml_device *dev =
		        aml_topology_device_of_node(topo, node);
		EXPECT_NE(dev, nullptr);
		return dev != nullptr ? aml_device_perf_from(dev, &from)
		                      : nullptr;
	}

	static std::string
	Memattr(const char *name, int flags, const std::string &values)
	{
		return std::string("<memattr name=\"") + name + "\" flags=\"" +
		       std::to_string(flags) + "\">\n" + values +
		       "</memattr>\n";
	}

	struct aml_topology *topo = nullptr;
	struct aml_topology_xml_error error;
};

TEST_F(TopologyXmlEdge, NodePastTheNodeLimitIsInvalid)
{
	std::string knl = ReadFixture("knl-flat");
	EXPECT_EQ(Load(Replace(knl, "type=\"NUMANode\" os_index=\"1\"",
	                       "type=\"NUMANode\" os_index=\"1024\"")),
	          AML_EINVAL);
	EXPECT_STREQ(error.reason,
	             "NUMANode os_index 1024: aml handles indices below 1024");
	EXPECT_EQ(error.line, 17u);
	EXPECT_EQ(Load(Replace(knl, "type=\"NUMANode\" os_index=\"1\"",
	                       "type=\"NUMANode\"")),
	          AML_EINVAL);
	EXPECT_STREQ(error.reason, "NUMANode has no os_index");
	EXPECT_EQ(error.line, 17u);
	// Node 1023, the last one aml holds, loads.
	std::string last = Replace(knl, "type=\"NUMANode\" os_index=\"1\"",
	                           "type=\"NUMANode\" os_index=\"1023\"");
	std::string node1023 = aml_testing::HwlocSet({1023});
	std::string both = aml_testing::HwlocSet({0, 1023});
	last = Replace(last,
	               "nodeset=\"0x00000002\" complete_nodeset=\"0x00000002\"",
	               "nodeset=\"" + node1023 + "\" complete_nodeset=\"" +
	                       node1023 + "\"");
	// Every object above holds both nodes.
	for (size_t at;
	     (at = last.find("\"0x00000003\"")) != std::string::npos;)
		last.replace(at, 12, "\"" + both + "\"");
	ASSERT_EQ(Load(last), 0) << error.line << ": " << error.reason;
	EXPECT_NE(aml_topology_device_of_node(topo, 1023), nullptr);
}

TEST_F(TopologyXmlEdge, FortyInitiatorsWithFewFiguresAreAllKept)
{
	// 40 initiators of node 0, from its own CPU (1000 MiB/s) and from
	// 39 others in 3 classes. Latency comes from other initiators than
	// bandwidth: 40 CPU sets over both, where aml said AML_ENOMEM.
	std::string bw, lat;
	for (int cpu = 0; cpu < 40; cpu++) {
		if (cpu < 20)
			bw += Value(0, {cpu}, cpu == 0 ? 1000 : 100 + cpu % 3);
		if (cpu == 0 || cpu >= 20)
			lat += Value(0, {cpu}, cpu == 0 ? 80 : 200 + cpu % 3);
	}
	ASSERT_EQ(Load(Machine(40, Memattr("Bandwidth", 5, bw) +
	                                   Memattr("Latency", 6, lat))),
	          0)
	        << error.reason;
	for (int cpu = 0; cpu < 40; cpu++) {
		const struct aml_device_perf *perf = From(0, cpu);
		ASSERT_NE(perf, nullptr) << cpu;
		uint64_t bw_mib = cpu == 0   ? 1000
		                  : cpu < 20 ? 100 + cpu % 3
		                             : 0;
		uint64_t lat_ns = cpu == 0 ? 80 : cpu >= 20 ? 200 + cpu % 3 : 0;
		EXPECT_EQ(perf->bandwidth, bw_mib << 20) << cpu;
		EXPECT_EQ(perf->latency_ns, lat_ns) << cpu;
	}
	EXPECT_LE(aml_topology_device_of_node(topo, 0)->ninitiators,
	          (size_t)AML_DEVICE_INITIATORS_MAX);
}

TEST_F(TopologyXmlEdge, FortyDistinctInitiatorsKeepTheBestAndUnderstateTheRest)
{
	// 40 different bandwidths, best from the node itself: the best 15
	// are exact, the others share the worst figure (never more than
	// theirs).
	std::string bw;
	for (int cpu = 0; cpu < 40; cpu++)
		bw += Value(0, {cpu}, 2000 - 10 * cpu);
	ASSERT_EQ(Load(Machine(40, Memattr("Bandwidth", 5, bw))), 0)
	        << error.reason;
	const struct aml_device *node0 = aml_topology_device_of_node(topo, 0);
	EXPECT_EQ(node0->ninitiators, (size_t)AML_DEVICE_INITIATORS_MAX);
	for (int cpu = 0; cpu < 40; cpu++) {
		uint64_t real = (uint64_t)(2000 - 10 * cpu) << 20;
		const struct aml_device_perf *perf = From(0, cpu);
		ASSERT_NE(perf, nullptr);
		if (cpu < AML_DEVICE_INITIATORS_MAX - 1)
			EXPECT_EQ(perf->bandwidth, real) << cpu;
		else
			EXPECT_EQ(perf->bandwidth, (uint64_t)(2000 - 390) << 20)
			        << cpu;
		EXPECT_LE(perf->bandwidth, real) << cpu;
	}
}

TEST_F(TopologyXmlEdge, ValuesPerNodeAreBounded)
{
	// hwloc looks up each value among the node's previous ones: aml
	// takes 256 per attribute and node, as many initiators as hwloc
	// answers in linear time.
	std::string bw;
	for (int i = 0; i < 256; i++)
		bw += Value(0, {i}, 1000 + i);
	EXPECT_EQ(Load(Machine(256, Memattr("Bandwidth", 5, bw))), 0)
	        << error.reason;
	bw += Value(0, {0, 1}, 999);
	std::string text = Machine(256, Memattr("Bandwidth", 5, bw));
	EXPECT_EQ(Load(text), AML_EINVAL);
	EXPECT_STREQ(error.reason,
	             "more than 256 Bandwidth values for NUMANode 0");
	EXPECT_EQ(error.line, aml_testing::LineOf(text, "value=\"999\""));
}

TEST_F(TopologyXmlEdge, BandwidthPastAmlsRangeIsRefused)
{
	// 2^44 MiB/s is 2^64 bytes/s: it wrapped to 0 ("unknown").
	const unsigned long long top = (1ull << 44) - 1;
	for (const char *name :
	     {"Bandwidth", "ReadBandwidth", "WriteBandwidth"}) {
		SCOPED_TRACE(name);
		for (unsigned long long v : {1ull << 44, ~0ull}) {
			std::string text =
			        Machine(2, Memattr(name, 5, Value(0, {0}, v)));
			EXPECT_EQ(Load(text), AML_EINVAL);
			EXPECT_EQ(error.line,
			          aml_testing::LineOf(text, std::to_string(v)));
			EXPECT_EQ(std::string(error.reason),
			          std::string(name) + " " + std::to_string(v) +
			                  " MiB/s: aml's bytes per second stop "
			                  "at 2^44 MiB/s");
		}
	}
	// The largest that fits loads, exactly; latencies are ns as is.
	ASSERT_EQ(Load(Machine(2, Memattr("Bandwidth", 5, Value(0, {0}, top)) +
	                                  Memattr("Latency", 6,
	                                          Value(0, {0}, ~0ull)))),
	          0)
	        << error.reason;
	EXPECT_EQ(From(0, 0)->bandwidth, top << 20);
	EXPECT_EQ(From(0, 0)->latency_ns, ~0ull);
}

TEST_F(TopologyXmlEdge, OddButValidTreesLoad)
{
	// tools/fuzz.sh xml's own seeds: types nested upside down, groups
	// hwloc merges away, CPU-less groups, restricted allowed sets, nodes
	// under PUs or memory-side caches, node and PU 1023.
	const char *dir = "tests/fuzz/topology_xml_seeds";
	DIR *d = opendir(dir);
	ASSERT_NE(d, nullptr);
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != nullptr;) {
		std::string name = e->d_name;
		if (name.size() < 4 || name.substr(name.size() - 4) != ".xml")
			continue;
		std::string path = std::string(dir) + "/" + name;
		aml_topology_destroy(&topo);
		EXPECT_EQ(
		        aml_topology_load_xml_file(&topo, path.c_str(), &error),
		        0)
		        << path << ":" << error.line << ": " << error.reason;
		n++;
	}
	closedir(d);
	EXPECT_GE(n, 10);
}

} // namespace
