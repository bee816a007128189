// SPDX-License-Identifier: BSD-3-Clause
// aml_topology_distance(): the distances between devices, as numactl -H
// prints them, from each source: an emulated machine's spec, an hwloc XML
// file's NUMALatency matrix, this machine's kernel (through hwloc and
// through libnuma), and none (a device no discovery makes). The expected
// values are read from the same inputs (the spec file, the XML text,
// /sys/devices/system/node), never written here.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

#include "aml/src/topology_xml/topology_xml.h"
#include "backends/numa/numa_backend.h"
#include "tests/testing/hwloc_xml.h"

namespace
{

using Matrix = std::map<std::pair<int, int>, unsigned>;

std::string ReadFile(const std::string &path)
{
	std::ifstream in(path);
	std::stringstream text;
	text << in.rdbuf();
	return text.str();
}

// Every known distance of t, keyed by NUMA node pair.
Matrix Distances(const struct aml_topology *t)
{
	Matrix m;
	int n = aml_topology_ndevices(t);
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < n; j++) {
			unsigned d = 0;
			int err = aml_topology_distance(t, (size_t)i, (size_t)j,
			                                &d);
			if (err == 0)
				m[{aml_topology_device(t, (size_t)i)->numa_id,
				   aml_topology_device(t, (size_t)j)
				           ->numa_id}] = d;
			else
				EXPECT_EQ(err, AML_ENOTSUP) << aml_errname(err);
		}
	}
	return m;
}

// The "distances:" item of a machine file: row r, column c is from tier r
// (NUMA node r, in the emulator) to tier c.
Matrix SpecDistances(const std::string &text)
{
	Matrix m;
	std::istringstream lines(text);
	for (std::string line; std::getline(lines, line);) {
		if (line.rfind("distances:", 0) != 0)
			continue;
		std::istringstream rows(line.substr(10));
		int r = 0;
		for (std::string row; std::getline(rows, row, '/'); r++) {
			std::istringstream values(row);
			int c = 0;
			for (std::string v; std::getline(values, v, ','); c++)
				m[{r, c}] = (unsigned)std::stoul(v);
		}
	}
	return m;
}

// The numbers of the first <tag ...>numbers</tag> from pos in xml.
std::vector<uint64_t>
XmlNumbers(const std::string &xml, const std::string &tag, size_t *pos)
{
	size_t start = xml.find("<" + tag, *pos);
	size_t open_end = xml.find('>', start);
	size_t end = xml.find("</" + tag + ">", open_end);
	*pos = end;
	std::istringstream numbers(
	        xml.substr(open_end + 1, end - open_end - 1));
	std::vector<uint64_t> out;
	for (uint64_t v; numbers >> v;)
		out.push_back(v);
	return out;
}

// The first <distances2 type="NUMANode" ... indexing="os"> of an XML text.
Matrix XmlDistances(const std::string &xml)
{
	Matrix m;
	size_t pos = xml.find("<distances2 type=\"NUMANode\"");
	if (pos == std::string::npos)
		return m;
	std::vector<uint64_t> nodes = XmlNumbers(xml, "indexes", &pos);
	for (size_t r = 0; r < nodes.size(); r++) {
		std::vector<uint64_t> row = XmlNumbers(xml, "u64values", &pos);
		EXPECT_EQ(row.size(), nodes.size());
		for (size_t c = 0; c < row.size() && c < nodes.size(); c++)
			m[{(int)nodes[r], (int)nodes[c]}] = (unsigned)row[c];
	}
	return m;
}

// What the kernel says: nodeN/distance has one value per online node.
Matrix SysfsDistances()
{
	Matrix m;
	struct aml_bitmap online;
	std::string list = ReadFile("/sys/devices/system/node/online");
	if (!list.empty() && list.back() == '\n')
		list.pop_back();
	if (aml_bitmap_parse(&online, list.c_str()) != 0)
		return m;
	AML_BITMAP_FOREACH (from, &online) {
		std::istringstream row(
		        ReadFile("/sys/devices/system/node/node" +
		                 std::to_string(from) + "/distance"));
		AML_BITMAP_FOREACH (to, &online) {
			unsigned d;
			if (row >> d)
				m[{from, to}] = d;
		}
	}
	return m;
}

struct aml_topology *LoadXml(const std::string &xml)
{
	struct aml_topology *t = nullptr;
	struct aml_topology_xml_error error;
	int err = aml_topology_load_xml_buffer(&t, xml.data(), xml.size(),
	                                       &error);
	EXPECT_TRUE(err == 0 || err == AML_ENOTSUP)
	        << aml_errname(err) << " at " << error.line << ": "
	        << error.reason;
	return t;
}

TEST(TopologyDistance, EmulatedMachineHasItsSpecsDistances)
{
	const std::string name = "qemu-4node-2socket";
	Matrix spec = SpecDistances(ReadFile("machines/" + name + ".spec"));
	ASSERT_EQ(spec.size(), 16u) << "the machine file has a 4x4 matrix";
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, ("@machines/" + name + ".spec").c_str(),
	                         nullptr),
	          0);
	EXPECT_EQ(Distances(t), spec);
	aml_topology_destroy(&t);
}

// Without a distances item the emulator places pages as Linux does on a
// machine without a SLIT (LOCAL_DISTANCE 10, REMOTE_DISTANCE 20), and says
// so.
TEST(TopologyDistance, EmulatedMachineWithoutMatrixHasLinuxDefaults)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t,
	                         "tier: name=a, kind=DRAM, capacity=1MiB, "
	                         "bw=1GB/s, latency=100ns, cpus=all\n"
	                         "tier: name=b, kind=CXL, capacity=1MiB, "
	                         "bw=1GB/s, latency=300ns\n"
	                         "tier: name=c, kind=HBM, capacity=1MiB, "
	                         "bw=9GB/s, latency=100ns",
	                         nullptr),
	          0);
	Matrix m = Distances(t);
	ASSERT_EQ(m.size(), 9u);
	for (const auto &[pair, d] : m)
		EXPECT_EQ(d, pair.first == pair.second ? 10u : 20u);
	aml_topology_destroy(&t);
}

TEST(TopologyDistance, XmlFixtureHasItsNumaLatencyMatrix)
{
	for (const char *name : {"xeon-max-snc4-flat", "knl-flat", "ddr-cxl"}) {
		std::string xml = aml_testing::ReadFixture(name);
		Matrix expected = XmlDistances(xml);
		ASSERT_FALSE(expected.empty()) << name;
		struct aml_topology *t = LoadXml(xml);
		if (t == nullptr)
			GTEST_SKIP() << "hwloc backend not built";
		int n = aml_topology_ndevices(t);
		EXPECT_EQ(expected.size(), (size_t)(n * n)) << name;
		EXPECT_EQ(Distances(t), expected) << name;
		aml_topology_destroy(&t);
	}
}

// Every distance of the XML file's matrix is read, not only the diagonal:
// a changed value in the file shows.
TEST(TopologyDistance, XmlValueChangesWhatIsReported)
{
	std::string xml =
	        aml_testing::Replace(aml_testing::ReadFixture("knl-flat"),
	                             "<u64values length=\"6\">31 "
	                             "10 </u64values>",
	                             "<u64values length=\"6\">42 "
	                             "10 </u64values>");
	struct aml_topology *t = LoadXml(xml);
	if (t == nullptr)
		GTEST_SKIP() << "hwloc backend not built";
	unsigned d = 0;
	ASSERT_EQ(aml_topology_distance(t, 1, 0, &d), 0);
	EXPECT_EQ(d, 42u);
	ASSERT_EQ(aml_topology_distance(t, 0, 1, &d), 0);
	EXPECT_EQ(d, 31u);
	aml_topology_destroy(&t);
}

// Matrices hwloc would not take as the NUMA nodes' SLIT leave every pair
// unknown, and the file still loads: none at all, one indexed by
// gp_index (hwloc ignores those for NUMA nodes), one naming a node the
// file lacks, one of bandwidths.
TEST(TopologyDistance, XmlWithoutUsableMatrixIsUnknown)
{
	const std::string knl = aml_testing::ReadFixture("knl-flat");
	size_t start = knl.find("<distances2");
	size_t end = knl.find("</distances2>") + strlen("</distances2>");
	ASSERT_NE(start, std::string::npos);
	std::string matrix = knl.substr(start, end - start);
	const std::vector<std::string> variants = {
	        knl.substr(0, start) + knl.substr(end),
	        aml_testing::Replace(knl, "indexing=\"os\">",
	                             "indexing=\"gp\">"),
	        aml_testing::Replace(knl, "<indexes length=\"4\">0 1 ",
	                             "<indexes length=\"4\">0 7 "),
	        aml_testing::Replace(knl, "kind=\"5\"", "kind=\"9\""),
	};
	for (size_t v = 0; v < variants.size(); v++) {
		struct aml_topology *t = LoadXml(variants[v]);
		if (t == nullptr)
			GTEST_SKIP() << "hwloc backend not built";
		unsigned d = 7;
		EXPECT_EQ(aml_topology_distance(t, 0, 0, &d), AML_ENOTSUP)
		        << "variant " << v;
		EXPECT_EQ(aml_topology_distance(t, 0, 1, &d), AML_ENOTSUP)
		        << "variant " << v;
		EXPECT_EQ(d, 7u) << "untouched on error";
		aml_topology_destroy(&t);
	}
}

// The canonical copy hwloc reads carries the matrix, written as it was
// read, and checking the copy gives the copy again (a fixed point, as
// tests/fuzz/topology_xml_fuzzer.c requires of every file).
TEST(TopologyDistance, CanonicalCopyKeepsTheMatrixAndIsAFixedPoint)
{
	for (const char *name : {"xeon-max-snc4-flat", "knl-flat", "ddr-cxl"}) {
		std::string xml = aml_testing::ReadFixture(name);
		char *copy = nullptr, *again = nullptr;
		size_t size = 0, size_again = 0;
		struct aml_topology_xml_error error;
		ASSERT_EQ(aml_topology_xml_check(xml.data(), xml.size(), &copy,
		                                 &size, &error),
		          0)
		        << error.reason;
		std::string text(copy, size);
		EXPECT_EQ(XmlDistances(text), XmlDistances(xml)) << name;
		EXPECT_NE(text.find("name=\"NUMALatency\""), std::string::npos);
		ASSERT_EQ(aml_topology_xml_check(copy, size, &again,
		                                 &size_again, &error),
		          0)
		        << error.reason;
		EXPECT_EQ(std::string(again, size_again), text) << name;
		free(copy);
		free(again);
	}
}

// This machine: what the kernel says in nodeN/distance, through the
// default discovery (hwloc when built) and through libnuma.
TEST(TopologyDistance, ThisMachineMatchesTheKernel)
{
	Matrix kernel = SysfsDistances();
	if (kernel.empty())
		GTEST_SKIP() << "no /sys/devices/system/node/node*/distance";
	for (auto discover : {aml_topology_discover, aml_numa_discover}) {
		struct aml_topology *t = nullptr;
		ASSERT_EQ(discover(&t), 0);
		Matrix m = Distances(t);
		int n = aml_topology_ndevices(t);
		EXPECT_EQ(m.size(), (size_t)(n * n)) << aml_topology_source(t);
		for (const auto &[pair, d] : m) {
			ASSERT_EQ(kernel.count(pair), 1u);
			EXPECT_EQ(d, kernel[pair]) << aml_topology_source(t);
			if (pair.first == pair.second) {
				EXPECT_EQ(d, 10u) << "ACPI's local distance";
			}
		}
		aml_topology_destroy(&t);
	}
}

// A device no discovery makes has no distance, not even to itself.
TEST(TopologyDistance, TopologyOfOneDeviceIsUnknown)
{
	struct aml_topology *emulated = nullptr;
	ASSERT_EQ(aml_emu_create(&emulated, "knl-flat;scale=1/1024", nullptr),
	          0);
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_topology_of_device(&t, aml_topology_device(emulated, 1)),
	          0);
	unsigned d = 7;
	EXPECT_EQ(aml_topology_distance(t, 0, 0, &d), AML_ENOTSUP);
	EXPECT_EQ(d, 7u);
	aml_topology_destroy(&t);
	aml_topology_destroy(&emulated);
}

TEST(TopologyDistance, BadArgumentsAreRefused)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "knl-flat;scale=1/1024", nullptr), 0);
	unsigned d = 7;
	EXPECT_EQ(aml_topology_distance(nullptr, 0, 0, &d), AML_EINVAL);
	EXPECT_EQ(aml_topology_distance(t, 0, 0, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_topology_distance(t, 2, 0, &d), AML_EDOM);
	EXPECT_EQ(aml_topology_distance(t, 0, 2, &d), AML_EDOM);
	EXPECT_EQ(aml_topology_distance(t, SIZE_MAX, SIZE_MAX, &d), AML_EDOM);
	EXPECT_EQ(d, 7u) << "untouched on error";
	// Still usable.
	EXPECT_EQ(aml_topology_distance(t, 0, 1, &d), 0);
	EXPECT_GT(d, 10u);
	aml_topology_destroy(&t);
}

} // namespace
