// SPDX-License-Identifier: BSD-3-Clause
// The scenario format and runner (docs/vm.md) on the emulator's qemu-3node:
// every malformed line is refused with its file and line, every shipped
// scenario passes, failures read as "expected X, got Y for pages A-B", and
// a failed map is claimed by an 'expect fails' line or reported.
#include <dirent.h>
#include <signal.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

#include "tests/testing/emulated.h"
#include "tests/vm/scenario.h"

namespace
{

using aml_scenario::Outcome;
using aml_scenario::Parse;
using aml_scenario::Scenario;

// Parse @p text as "t.scn"; the error, or "" when it parses.
std::string ParseError(const std::string &text)
{
	Scenario s;
	std::string error;
	return Parse("dir/t.scn", text, &s, &error) ? "" : error;
}

TEST(ScenarioParse, ReadsEveryStatement)
{
	Scenario s;
	std::string error;
	ASSERT_TRUE(Parse("dir/t.scn",
	                  "# comment\n"
	                  "machine qemu-3node\n"
	                  "run-on node0\n"
	                  "map a weighted node0:3,node1:1 2MiB populate\n"
	                  "  move   a 0-7 node2   # trailing comment\n"
	                  "expect a pages 8-511 repeat node0*3,node1\n"
	                  "expect a pages 0-7 node2\n"
	                  "map b preferred node1 8pages edge\n"
	                  "expect b order node1,node0\n"
	                  "map c first-touch - 1page\n"
	                  "expect c fails ENOMEM\n"
	                  "reserve r node0 leaving 32MiB\n"
	                  "unmap r\n"
	                  "unmap a\n"
	                  "map a interleave node1,node2 4KiB\n"
	                  "expect a pages 0 rotation node1,node2\n",
	                  &s, &error))
	        << error;
	EXPECT_EQ(s.file, "t.scn");
	EXPECT_EQ(s.machine, "qemu-3node");
	ASSERT_EQ(s.statements.size(), 15u);
	const auto &map = s.statements[2];
	EXPECT_EQ(map.line, 4);
	EXPECT_EQ(map.policy, aml_scenario::Policy::kWeighted);
	ASSERT_EQ(map.devices.size(), 2u);
	EXPECT_EQ(map.devices[0].name, "node0");
	EXPECT_EQ(map.devices[0].weight, 3u);
	EXPECT_EQ(map.npages, (2u << 20) / aml_page_size());
	EXPECT_TRUE(map.populate);
	EXPECT_FALSE(map.edge);
	const auto &move = s.statements[3];
	EXPECT_EQ(move.text, "move a 0-7 node2");
	EXPECT_EQ(move.first, 0u);
	EXPECT_EQ(move.last, 7u);
	const auto &repeat = s.statements[4];
	EXPECT_EQ(repeat.check, aml_scenario::Check::kRepeat);
	EXPECT_EQ(repeat.pattern, std::vector<std::string>({"node0", "node0",
	                                                    "node0", "node1"}));
	EXPECT_TRUE(s.statements[6].edge);
	EXPECT_EQ(s.statements[9].error, "AML_ENOMEM");
	EXPECT_EQ(s.statements[10].leave_bytes, 32u << 20);
}

TEST(ScenarioParse, ReadsTouchesPartsCountsAndSizesOfTheMachine)
{
	Scenario s;
	std::string error;
	ASSERT_TRUE(
	        Parse("t.scn",
	              "machine qemu-3node\n"
	              "map a first-touch - 8pages untouched\n"
	              "touch a 0-3 from node0\n"
	              "touch a 4-7\n"
	              "unmap a 2-3\n"
	              "expect a count 0-7 node0 5-6\n"
	              "map b preferred-many node1,node2 capacity(node1)+1page\n"
	              "move b 0-99 node2 fails ENOMEM\n"
	              "expect b pages 9000-9001 node1\n"
	              "map c weighted node0:0,node1:1 free(node2)-1MiB\n"
	              "expect c fails EINVAL\n",
	              &s, &error))
	        << error;
	ASSERT_EQ(s.statements.size(), 11u);
	EXPECT_TRUE(s.statements[1].untouched);
	EXPECT_EQ(s.statements[2].kind, aml_scenario::Kind::kTouch);
	EXPECT_EQ(s.statements[2].device, "node0");
	EXPECT_EQ(s.statements[3].device, "");
	EXPECT_TRUE(s.statements[4].partial);
	EXPECT_EQ(s.statements[4].first, 2u);
	EXPECT_EQ(s.statements[5].check, aml_scenario::Check::kCount);
	EXPECT_EQ(s.statements[5].min_count, 5u);
	EXPECT_EQ(s.statements[5].max_count, 6u);
	const auto &b = s.statements[6];
	EXPECT_EQ(b.policy, aml_scenario::Policy::kPreferredMany);
	EXPECT_EQ(b.size.base, aml_scenario::Size::Base::kCapacity);
	EXPECT_EQ(b.size.device, "node1");
	EXPECT_FALSE(b.size.minus);
	EXPECT_EQ(b.size.bytes, aml_page_size());
	EXPECT_EQ(b.npages, 0u) << "known only when it runs";
	EXPECT_EQ(s.statements[7].error, "AML_ENOMEM");
	const auto &c = s.statements[9];
	EXPECT_EQ(c.devices[0].weight, 0u) << "refused by aml, not the parser";
	EXPECT_EQ(c.size.base, aml_scenario::Size::Base::kFree);
	EXPECT_TRUE(c.size.minus);
	EXPECT_EQ(c.size.bytes, 1u << 20);
}

TEST(ScenarioParse, ReadsPageKindsAndPools)
{
	Scenario s;
	std::string error;
	ASSERT_TRUE(Parse("t.scn",
	                  "machine qemu-3node\n"
	                  "hugepages node1 4\n"
	                  "run-on node0\n"
	                  "hugepages node2 0   # emptied\n"
	                  "transparent-hugepages madvise\n"
	                  "map h bind node1 4MiB hugetlb-2m populate\n"
	                  "map t preferred node1 2MiB thp\n"
	                  "map b bind node0 1page\n"
	                  "expect h pages 0-1023 node1\n",
	                  &s, &error))
	        << error;
	ASSERT_EQ(s.statements.size(), 9u);
	EXPECT_EQ(s.statements[1].pages, aml_scenario::Pages::kHugetlb2m);
	EXPECT_EQ(s.statements[4].kind, aml_scenario::Kind::kThpMode);
	s.statements.erase(s.statements.begin() + 4);
	const auto &pool = s.statements[1];
	EXPECT_EQ(pool.kind, aml_scenario::Kind::kHugepages);
	EXPECT_EQ(pool.device, "node1");
	EXPECT_EQ(pool.huge_pages, 4u);
	EXPECT_EQ(s.statements[3].huge_pages, 0u);
	EXPECT_EQ(s.statements[3].text, "hugepages node2 0");
	EXPECT_EQ(s.statements[4].pages, aml_scenario::Pages::kHugetlb2m);
	EXPECT_TRUE(s.statements[4].populate);
	EXPECT_EQ(s.statements[4].npages, (4u << 20) / aml_page_size());
	EXPECT_EQ(s.statements[5].pages, aml_scenario::Pages::kThp);
	EXPECT_EQ(s.statements[6].pages, aml_scenario::Pages::kBase);
}

TEST(ScenarioParse, ReadsOneGigabytePoolsAndMaps)
{
	Scenario s;
	std::string error;
	ASSERT_TRUE(Parse("t.scn",
	                  "machine qemu-gigantic\n"
	                  "hugepages node1 1 1G\n"
	                  "hugepages node1 3 2M\n"
	                  "hugepages node0 8 1G\n"
	                  "map g bind node1 2GiB hugetlb-1g\n"
	                  "expect g pages 0-524287 node1\n",
	                  &s, &error))
	        << error;
	ASSERT_EQ(s.statements.size(), 6u);
	EXPECT_EQ(s.statements[1].pages, aml_scenario::Pages::kHugetlb1g);
	EXPECT_EQ(s.statements[1].huge_pages, 1u);
	EXPECT_EQ(s.statements[2].pages, aml_scenario::Pages::kHugetlb2m);
	EXPECT_EQ(s.statements[2].huge_pages, 3u);
	EXPECT_EQ(s.statements[3].huge_pages, 8u);
	EXPECT_EQ(s.statements[4].pages, aml_scenario::Pages::kHugetlb1g);
	EXPECT_EQ(s.statements[4].npages, (size_t(2) << 30) / aml_page_size());
}

TEST(ScenarioParse, RefusesWhatTheFormatDoesNotAllow)
{
	const std::string m = "machine qemu-3node\n";
	struct {
		std::string text;
		std::string error;
	} cases[] = {
	        {"", "t.scn: empty scenario"},
	        {m, "t.scn: no 'expect' line"},
	        {"map a bind node0 1page\n", "t.scn:1: the first statement"},
	        {m + "machine qemu-3node\n", "t.scn:2: 'machine' comes once"},
	        {m + "mapp a bind node0 1page\n", "t.scn:2: unknown statement"},
	        {m + "map a bind node0\n",
	         "t.scn:2: 'map' takes 4 to 8 argument(s), not 3"},
	        {m + "map A bind node0 1page\n", "t.scn:2: bad map name 'A'"},
	        {m + "map a bound node0 1page\n", "t.scn:2: unknown policy"},
	        {m + "map a bind node0 1000B\n", "t.scn:2: bad size '1000B'"},
	        {m + "map a bind node0 0pages\n", "is zero"},
	        {m + "map a bind node0 1.5MiB\n", "bad size"},
	        {m + "map a bind node0 -1pages\n", "bad size"},
	        {m + "map a bind node0 9999999999999pages\n", "bad number"},
	        {m + "map a bind node0, 1page\n", "bad device ''"},
	        {m + "map a bind node0,node0 1page\n", "device node0 twice"},
	        {m + "map a bind node0:2 1page\n", "only weighted takes"},
	        {m + "map a weighted node0 1page\n", "weighted needs"},
	        {m + "map a weighted node0:2000000 1page\n", "bad weight"},
	        {m + "map a preferred node0,node1 1page\n", "preferred takes"},
	        {m + "map a first-touch node0 1page\n", "write '-'"},
	        {m + "map a bind node0 1page fast\n", "bad map option 'fast'"},
	        {m + "map a bind node0 1page edge edge\n", "bad map option"},
	        {m + "map a bind node0 1page\nmap a bind node1 1page\n",
	         "t.scn:3: map 'a' is still mapped"},
	        {m + "expect a pages 0 node0\n", "no map named 'a'"},
	        {m + "map a bind node0 4pages\nexpect a pages 0-4 node0\n",
	         "t.scn:3: page 4 is past the 4 pages of 'a'"},
	        {m + "map a bind node0 4pages\nexpect a pages 3-2 node0\n",
	         "bad page range '3-2'"},
	        {m + "map a bind node0 4pages\nexpect a pages x node0\n",
	         "bad number in 'x'"},
	        {m + "map a bind node0 4pages\nexpect a fails ENOMEN\n",
	         "unknown error 'ENOMEN'"},
	        {m + "map a bind node0 4pages\nexpect a is node0\n",
	         "expect what? 'is'"},
	        {m + "map a bind node0 4pages\nexpect a pages 0 cycle n\n",
	         "bad page pattern 'cycle'"},
	        {m + "map a bind node0 4pages\nexpect a order node0*0\n",
	         "bad repeat count"},
	        {m + "map a bind node0 4pages\nunmap a\nexpect a order n\n",
	         "t.scn:4: no map named 'a'"},
	        {m + "reserve r node0 keeping 1MiB\n", "leaving SIZE"},
	        {m + "reserve r node0 leaving 1MiB\nexpect r order node0\n",
	         "'r' is a reserve"},
	        {m + "map a bind node0 4pages\nmove a 0-4 node1\n",
	         "page 4 is past the 4 pages of 'a'"},
	        {m + "run-on\n", "'run-on' takes 1 argument(s), not 0"},
	        {m + "map a bind node0 capacity(node0\n", "no ')'"},
	        {m + "map a bind node0 capacity(node0)*2\n",
	         "+SIZE or -SIZE after ')'"},
	        {m + "map a bind node0 free(Node0)\n", "bad device 'Node0'"},
	        {m + "map a bind node0 free(node0)+0pages\n", "is zero"},
	        {m + "map a bind node0 4pages\ntouch a 0-4\n",
	         "page 4 is past the 4 pages of 'a'"},
	        {m + "map a bind node0 4pages\ntouch a 0 by node0\n",
	         "touch NAME PAGES from DEVICE"},
	        {m + "map a bind node0 4pages\nmove a 0 node1 fail ENOMEM\n",
	         "move NAME PAGES DEVICE fails ERROR"},
	        {m + "map a bind node0 4pages\nmove a 0 node1 fails ENOMEN\n",
	         "unknown error 'ENOMEN'"},
	        {m + "map a bind node0 4pages\nunmap a 2-9\n",
	         "page 9 is past the 4 pages of 'a'"},
	        {m + "reserve r node0 leaving 1MiB\nunmap r 0\n",
	         "'r' is a reserve"},
	        {m + "map a bind node0 4pages\nexpect a count 0-3 node0 5\n",
	         "count '5' is more than the range's 4 pages"},
	        {m + "map a bind node0 4pages\nexpect a count 0-3 node0\n",
	         "'expect' takes 5 argument(s), not 4"},
	        {m + "expect a killed\n", "t.scn:2: no map named 'a'"},
	        {m + "reserve r node1 leaving 1MiB\nexpect r killed\n",
	         "t.scn:3: 'r' is a reserve"},
	        {m + "map a bind node0 4pages\nexpect a killed now\n",
	         "t.scn:3: 'expect' takes 2 argument(s), not 3"},
	        {m + "map a bind node0 4pages untouched\nexpect a killed\n",
	         "t.scn:3: 'a' is untouched: only a map that writes"},
	        {m + "map a bind node0 4pages\nexpect a pages 0 node0\n"
	             "expect a killed\n",
	         "t.scn:4: line 3 is about 'a', which runs in a child "
	         "process: 'expect a killed' comes right after its map"},
	        {m + "map a bind node0 4pages\nexpect a killed\n"
	             "touch a 0\n",
	         "t.scn:4: 'a' runs in a child process (expect a killed): "
	         "nothing of it is left here, only unmap applies to it"},
	        {m + "map a bind node0 4pages\nexpect a killed\n"
	             "expect a killed\n",
	         "t.scn:4: 'a' runs in a child process"},
	        {m + "map a bind node0 4pages\nexpect a killed\n"
	             "expect a fails ENOMEM\n",
	         "t.scn:4: 'a' runs in a child process"},
	        // Page kinds and pools.
	        {m + "map a bind node1 2MiB hugetlb\n",
	         "t.scn:2: bad map option 'hugetlb' (populate, edge, "
	         "untouched, hugetlb-2m, hugetlb-1g, thp)"},
	        {m + "map a bind node1 1GiB hugetlb-1g hugetlb-2m\n",
	         "t.scn:2: a map has one page kind"},
	        {m + "map a bind node1 1026MiB hugetlb-1g\n",
	         "t.scn:2: a map of hugetlb-1g pages is a multiple of 1GiB"},
	        {m + "map a bind node1 2MiB hugetlb-1g\n",
	         "is a multiple of 1GiB, in bytes or pages"},
	        {m + "map a bind node1 2MiB hugetlb-2m thp\n",
	         "t.scn:2: a map has one page kind"},
	        {m + "transparent-hugepages madvise\nmap a bind node1 2MiB "
	             "thp thp\n",
	         "bad map option 'thp'"},
	        {m + "map a bind node1 3MiB hugetlb-2m\n",
	         "t.scn:2: a map of hugetlb-2m pages is a multiple of 2MiB"},
	        {m + "transparent-hugepages madvise\nmap a bind node1 4KiB "
	             "thp\n",
	         "t.scn:3: a map of thp pages is a multiple of 2MiB"},
	        {m + "map a bind node1 2MiB thp\n",
	         "t.scn:2: a thp map needs 'transparent-hugepages madvise' "
	         "first"},
	        {m + "transparent-hugepages always\n",
	         "t.scn:2: bad mode 'always' (madvise"},
	        {m + "transparent-hugepages\n",
	         "'transparent-hugepages' takes 1 argument(s), not 0"},
	        {m + "transparent-hugepages madvise\n"
	             "transparent-hugepages madvise\n",
	         "t.scn:3: 'transparent-hugepages' comes once"},
	        {m + "map a bind node0 4pages\ntransparent-hugepages madvise\n",
	         "t.scn:3: 'transparent-hugepages' comes before any map"},
	        {m + "map a bind node1 capacity(node1) hugetlb-2m\n",
	         "is a multiple of 2MiB, in bytes or pages"},
	        {m + "hugepages node1\n",
	         "t.scn:2: 'hugepages' takes 2 to 3 argument(s), not 1"},
	        {m + "hugepages node1 4 2M now\n",
	         "takes 2 to 3 argument(s), not 4"},
	        {m + "hugepages node1 4 now\n",
	         "t.scn:2: bad huge page size 'now' (2M or 1G)"},
	        {m + "hugepages node1 4 1g\n", "bad huge page size '1g'"},
	        {m + "hugepages node1 4 1GiB\n", "bad huge page size '1GiB'"},
	        {m + "hugepages node1 9 1G\n",
	         "t.scn:2: at most 8 1G huge pages in a pool, not 9"},
	        {m + "hugepages node1 1 1G\nhugepages node1 1 1G\n",
	         "t.scn:3: the 1G pool of node1 set twice"},
	        {m + "hugepages node1 4\nhugepages node1 4 2M\n",
	         "t.scn:3: the 2M pool of node1 set twice"},
	        {m + "hugepages Node1 4\n", "t.scn:2: bad device 'Node1'"},
	        {m + "hugepages node1 four\n", "t.scn:2: bad number in 'four'"},
	        {m + "hugepages node1 -1\n", "bad number in '-1'"},
	        {m + "hugepages node1 4097\n",
	         "t.scn:2: at most 4096 2M huge pages in a pool, not 4097"},
	        {m + "hugepages node1 4\nhugepages node1 2\n",
	         "t.scn:3: the 2M pool of node1 set twice"},
	        {m + "map a bind node0 4pages\nhugepages node1 4\n",
	         "t.scn:3: 'hugepages' lines come before any map"},
	        {m + "reserve r node0 leaving 1MiB\nhugepages node1 4\n",
	         "t.scn:3: 'hugepages' lines come before any map"},
	        {"hugepages node1 4\n" + m, "t.scn:1: the first statement"},
	};
	for (const auto &c : cases) {
		std::string error = ParseError(c.text);
		EXPECT_NE(error.find(c.error), std::string::npos)
		        << "text:\n"
		        << c.text << "error: " << error
		        << "\nwanted: " << c.error;
	}
}

class ScenarioEmulated : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		struct aml_emu_error error = {};
		ASSERT_EQ(aml_emu_create(&t, "qemu-3node", &error), 0)
		        << error.reason;
	}
	void TearDown() override
	{
		aml_topology_destroy(&t);
	}
	Outcome RunText(const std::string &text)
	{
		Scenario s;
		std::string error;
		EXPECT_TRUE(Parse("t.scn", text, &s, &error)) << error;
		return aml_scenario::Run(s, t);
	}
	std::string Failures(const Outcome &out)
	{
		std::string all;
		for (const std::string &f : out.failures)
			all += f + "\n";
		return all;
	}
	struct aml_topology *t = nullptr;
};

// The .scn files of a directory.
std::vector<std::string> ScenariosIn(const std::string &path)
{
	std::vector<std::string> paths;
	DIR *dir = opendir(path.c_str());
	if (dir == nullptr)
		return paths;
	for (struct dirent *e; (e = readdir(dir)) != nullptr;) {
		std::string name = e->d_name;
		if (name.size() > 4 && name.substr(name.size() - 4) == ".scn")
			paths.push_back(path + "/" + name);
	}
	closedir(dir);
	return paths;
}

// Every shipped scenario, by machine (tests/vm/scenarios/MACHINE/*.scn),
// from the test's runfiles.
std::vector<std::pair<std::string, std::string>> ShippedScenarios()
{
	std::vector<std::pair<std::string, std::string>> out;
	const std::string root = "tests/vm/scenarios";
	DIR *dir = opendir(root.c_str());
	if (dir == nullptr)
		return out;
	for (struct dirent *e; (e = readdir(dir)) != nullptr;) {
		std::string machine = e->d_name;
		if (machine[0] == '.')
			continue;
		for (const std::string &path :
		     ScenariosIn(root + "/" + machine))
			out.push_back({machine, path});
	}
	closedir(dir);
	return out;
}

// Each on a fresh emulated machine of its directory's name. The scenarios
// are Linux's behaviour, which places pages at first touch (placement=touch,
// with or without privilege): where this process cannot (valgrind, no
// userfaultfd at all), the emulator places them at map time and those
// about first touch cannot hold.
TEST(ScenarioShipped, EveryShippedScenarioPassesOnItsMachine)
{
	auto scenarios = ShippedScenarios();
	EXPECT_GE(scenarios.size(), 12u);
	if (!aml_testing::EmulatorPlacesAtTouch())
		GTEST_SKIP() << "the emulator places pages at map time here "
		                "(valgrind, or no userfaultfd at all): the "
		                "scenarios "
		                "hold for placement at first touch";
	for (const auto &[machine, path] : scenarios) {
		Scenario s;
		std::string error;
		ASSERT_TRUE(aml_scenario::ParseFile(path, &s, &error)) << error;
		EXPECT_EQ(s.machine, machine) << path;
		struct aml_topology *t = nullptr;
		struct aml_emu_error emu_error = {};
		std::string spec = machine + ";placement=touch";
		ASSERT_EQ(aml_emu_create(&t, spec.c_str(), &emu_error), 0)
		        << emu_error.reason;
		Outcome out = aml_scenario::Run(s, t);
		EXPECT_TRUE(out.passed)
		        << path << "\n"
		        << [&] {
			           std::string all;
			           for (const std::string &f : out.failures)
				           all += f + "\n";
			           return all;
		           }();
		EXPECT_EQ(out.canonical.rfind(s.file + ": ", 0), 0u);
		// Everything was given back.
		AML_TOPOLOGY_FOREACH (dev, t) {
			size_t free_bytes = 0;
			ASSERT_EQ(aml_device_free_bytes(dev, &free_bytes), 0);
			EXPECT_EQ(free_bytes, dev->capacity) << path;
		}
		aml_topology_destroy(&t);
	}
}

// The machine check reads the machine's devices from its file, not from a
// list in the runner: any machine file works, and a topology with other
// devices, or a machine no file names, fails the check.
TEST(ScenarioShipped, TheMachineCheckReadsTheMachineFile)
{
	Scenario s;
	std::string error;
	ASSERT_TRUE(Parse("t.scn",
	                  "machine qemu-4node-2socket\nmap a bind node3 "
	                  "1page\nexpect a pages 0 node3\n",
	                  &s, &error))
	        << error;
	struct aml_topology *four = nullptr, *snc = nullptr;
	ASSERT_EQ(aml_emu_create(&four, "qemu-4node-2socket", nullptr), 0);
	ASSERT_EQ(aml_emu_create(&snc, "qemu-snc", nullptr), 0);
	Outcome out = aml_scenario::Run(s, four);
	EXPECT_TRUE(out.passed);
	out = aml_scenario::Run(s, snc);
	EXPECT_FALSE(out.passed);
	ASSERT_EQ(out.failures.size(), 1u);
	EXPECT_EQ(out.failures[0],
	          "t.scn:1: machine qemu-4node-2socket: this topology is not "
	          "qemu-4node-2socket: expected devices node0:DRAM,"
	          "node1:DRAM,node2:HBM,node3:CXL, got node0:DRAM,node1:DRAM,"
	          "node2:HBM,node3:HBM");
	ASSERT_TRUE(Parse("t.scn",
	                  "machine qemu-9node\nmap a bind node0 1page\n"
	                  "expect a pages 0 node0\n",
	                  &s, &error));
	out = aml_scenario::Run(s, four);
	EXPECT_FALSE(out.passed);
	ASSERT_EQ(out.failures.size(), 1u);
	EXPECT_EQ(out.failures[0].rfind("t.scn:1: machine qemu-9node: unknown "
	                                "machine (not a machine file or "
	                                "preset: ",
	                                0),
	          0u)
	        << out.failures[0];
	aml_topology_destroy(&four);
	aml_topology_destroy(&snc);
}

// On a machine with CPUs on two devices, a map placed by the writing CPU
// must come after run-on: else its pages go where the runner happens to
// run.
TEST(ScenarioShipped, APlacementByTheCpuNeedsRunOnWhereCpusDiffer)
{
	Scenario s;
	std::string error;
	const char *body = "map a first-touch - 1page\n"
	                   "expect a pages 0 node0\n";
	ASSERT_TRUE(Parse("t.scn",
	                  std::string("machine qemu-4node-2socket\n") + body,
	                  &s, &error))
	        << error;
	struct aml_topology *four = nullptr, *three = nullptr;
	ASSERT_EQ(aml_emu_create(&four, "qemu-4node-2socket", nullptr), 0);
	Outcome out = aml_scenario::Run(s, four);
	EXPECT_FALSE(out.passed);
	ASSERT_EQ(out.failures.size(), 1u);
	EXPECT_EQ(out.failures[0],
	          "t.scn:2: map a first-touch - 1page: this machine has CPUs "
	          "on several devices: say where the runner runs first (run-on "
	          "DEVICE), or the pages go where it happens to run");
	ASSERT_TRUE(Parse("t.scn",
	                  std::string("machine qemu-4node-2socket\n"
	                              "run-on node0\n") +
	                          body,
	                  &s, &error))
	        << error;
	EXPECT_TRUE(aml_scenario::Run(s, four).passed);
	// All of qemu-3node's CPUs are on node0: nothing to say.
	ASSERT_TRUE(Parse("t.scn", std::string("machine qemu-3node\n") + body,
	                  &s, &error))
	        << error;
	ASSERT_EQ(aml_emu_create(&three, "qemu-3node", nullptr), 0);
	EXPECT_TRUE(aml_scenario::Run(s, three).passed);
	aml_topology_destroy(&four);
	aml_topology_destroy(&three);
}

// An edge interleave, and a touch of an edge map, read as the devices the
// pages reach: an interleave's order depends on its address, its counts
// at an edge on the machine's free memory.
TEST(ScenarioShipped, AnEdgeInterleaveReadsAsTheDevicesReached)
{
	Scenario s;
	std::string error;
	ASSERT_TRUE(Parse("t.scn",
	                  "machine qemu-3node\n"
	                  "map il interleave node2,node0 8pages edge\n"
	                  "map late interleave node1,node2 4pages untouched "
	                  "edge\n"
	                  "touch late 0-3\n"
	                  "expect il pages 0-7 rotation node0,node2\n",
	                  &s, &error))
	        << error;
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "qemu-3node", nullptr), 0);
	Outcome out = aml_scenario::Run(s, t);
	EXPECT_TRUE(out.passed);
	EXPECT_EQ(out.canonical,
	          "t.scn: il=ok(reached node0,node2); late=ok(untouched); "
	          "touch late 0-3 reached node1,node2; il pages 0-7: rotation "
	          "node0,node2");
	aml_topology_destroy(&t);
}

TEST_F(ScenarioEmulated, AWrongExpectationSaysWhereAndWhat)
{
	Scenario s;
	std::string error;
	ASSERT_TRUE(aml_scenario::ParseFile(
	        "tests/vm/wrong/wrong_expectation.scn", &s, &error))
	        << error;
	Outcome out = aml_scenario::Run(s, t);
	EXPECT_FALSE(out.passed);
	ASSERT_EQ(out.failures.size(), 1u);
	EXPECT_EQ(out.failures[0],
	          "wrong_expectation.scn:6: expect near pages 100-199 node0: "
	          "expected node0, got node1 for pages 100-199 (100 of 100 "
	          "pages differ)");
	EXPECT_EQ(out.canonical,
	          "wrong_expectation.scn: near=ok(node1:200); near pages "
	          "0-99: node1; near pages 100-199: node1*100");
}

TEST_F(ScenarioEmulated, CanonicalLineRecordsObservations)
{
	Outcome out = RunText("machine qemu-3node\n"
	                      "map a weighted node0:1,node2:1 4pages\n"
	                      "expect a pages 0-3 repeat node0,node2\n"
	                      "map b bind node1 300MiB\n"
	                      "expect b fails ENOMEM\n"
	                      "move a 1 node1\n"
	                      "expect a pages 0-3 rotation node0,node1\n");
	EXPECT_EQ(out.canonical,
	          "t.scn: a=ok(node0:2,node2:2); a pages 0-3: repeat "
	          "node0,node2; b=AML_ENOMEM; b fails: AML_ENOMEM; move a 1 "
	          "node1=ok; a pages 0-3: node0,node1,node0,node2");
	ASSERT_EQ(out.failures.size(), 1u) << Failures(out);
	EXPECT_EQ(out.failures[0],
	          "t.scn:7: expect a pages 0-3 rotation node0,node1: "
	          "expected rotation node0,node1, got node2 for page 3 (1 of "
	          "4 pages differ)");
}

// The pool of device index d now, in huge pages.
uint64_t Pool(const struct aml_topology *t, size_t d)
{
	struct aml_emu_stats stats = {};
	EXPECT_EQ(aml_emu_stats(t, d, &stats), 0);
	return stats.hugepages_2m;
}

TEST_F(ScenarioEmulated, PoolsAreSetAndGivenBackAndHugePagesLocatedPerPage)
{
	size_t huge = (2u << 20) / aml_page_size();
	Outcome out = RunText("machine qemu-3node\n"
	                      "hugepages node1 2\n"
	                      "map h bind node1 4MiB hugetlb-2m\n"
	                      "expect h pages 0-" +
	                      std::to_string(2 * huge - 1) +
	                      " node1\n"
	                      "move h 0-" +
	                      std::to_string(huge - 1) +
	                      " node0\n"
	                      "expect h pages 0-" +
	                      std::to_string(huge - 1) + " node0\n");
	EXPECT_TRUE(out.passed) << Failures(out);
	std::string first = "0-" + std::to_string(huge - 1);
	EXPECT_EQ(out.canonical,
	          "t.scn: hugepages node1=2; h=ok(node1:" +
	                  std::to_string(2 * huge) + "); h pages 0-" +
	                  std::to_string(2 * huge - 1) + ": node1; move h " +
	                  first + " node0=ok; h pages " + first + ": node0");
	// Node 0, which no line named, took a huge page by the move: every
	// pool is as the scenario found it.
	for (size_t d = 0; d < 3; d++)
		EXPECT_EQ(Pool(t, d), 0u) << "node" << d;
	// A pool the device cannot hold: what it holds, and a failure.
	size_t fit = aml_topology_device(t, 1)->capacity / (2u << 20);
	out = RunText("machine qemu-3node\n"
	              "hugepages node1 4000\n"
	              "map h bind node1 2MiB hugetlb-2m\n"
	              "expect h pages 0 node1\n");
	ASSERT_EQ(out.failures.size(), 1u) << Failures(out);
	EXPECT_EQ(out.failures[0],
	          "t.scn:2: hugepages node1 4000: expected a pool of 4000 "
	          "huge pages, got " +
	                  std::to_string(fit));
	EXPECT_EQ(Pool(t, 1), 0u);
}

TEST_F(ScenarioEmulated, OneGigabytePoolsAreSetAndGivenBack)
{
	struct aml_topology *gig = nullptr;
	struct aml_emu_error error = {};
	ASSERT_EQ(aml_emu_create(&gig, "qemu-gigantic", &error), 0)
	        << error.reason;
	size_t gunit = (size_t(1) << 30) / aml_page_size();
	std::string all = "0-" + std::to_string(gunit - 1);
	Scenario s;
	std::string perr;
	ASSERT_TRUE(Parse("t.scn",
	                  "machine qemu-gigantic\n"
	                  "hugepages node1 1 1G\n"
	                  "hugepages node1 2\n"
	                  "map g bind node1 1GiB hugetlb-1g\n"
	                  "expect g pages " +
	                          all +
	                          " node1\n"
	                          "move g " +
	                          all +
	                          " node0 fails FAILURE\n"
	                          "map h bind node1 2MiB hugetlb-2m\n"
	                          "expect h pages 0 node1\n",
	                  &s, &perr))
	        << perr;
	Outcome out = aml_scenario::Run(s, gig);
	EXPECT_TRUE(out.passed) << Failures(out);
	EXPECT_EQ(
	        out.canonical,
	        "t.scn: hugepages node1=1(1G); hugepages node1=2; g=ok(node1:" +
	                std::to_string(gunit) + "); g pages " + all +
	                ": node1; move g " + all +
	                " node0=AML_FAILURE; h=ok(node1:" +
	                std::to_string(gunit / 512) + "); h pages 0: node1");
	// Both sizes' pools as the scenario found them: empty.
	struct aml_emu_stats stats = {};
	ASSERT_EQ(aml_emu_stats(gig, 1, &stats), 0);
	EXPECT_EQ(stats.hugepages_1g, 0u);
	EXPECT_EQ(stats.hugepages_2m, 0u);
	// More than the node holds: what it holds (one), and a failure.
	ASSERT_TRUE(Parse("t.scn",
	                  "machine qemu-gigantic\n"
	                  "hugepages node1 2 1G\n"
	                  "map g bind node1 1GiB hugetlb-1g\n"
	                  "expect g pages 0 node1\n",
	                  &s, &perr))
	        << perr;
	out = aml_scenario::Run(s, gig);
	ASSERT_EQ(out.failures.size(), 1u) << Failures(out);
	EXPECT_EQ(out.failures[0], "t.scn:2: hugepages node1 2 1G: expected a "
	                           "pool of 2 huge pages, got 1");
	aml_topology_destroy(&gig);
}

TEST_F(ScenarioEmulated, AFailedMapMustBeExpectedToFail)
{
	Outcome out = RunText("machine qemu-3node\n"
	                      "map big bind node2 257MiB\n"
	                      "map ok bind node2 1page\n"
	                      "expect ok pages 0 node2\n"
	                      "expect big order node2\n");
	ASSERT_EQ(out.failures.size(), 2u) << Failures(out);
	EXPECT_EQ(out.failures[0], "t.scn:5: expect big order node2: map big "
	                           "failed with AML_ENOMEM");
	EXPECT_EQ(out.failures[1],
	          "t.scn:2: map big bind node2 257MiB: failed with AML_ENOMEM, "
	          "and no 'expect big fails' line says it should");
	out = RunText("machine qemu-3node\n"
	              "map fine bind node2 1page\n"
	              "expect fine fails ENOMEM\n");
	ASSERT_EQ(out.failures.size(), 1u) << Failures(out);
	EXPECT_EQ(out.failures[0], "t.scn:3: expect fine fails ENOMEM: "
	                           "expected AML_ENOMEM, got a mapping");
}

// Touches from a device's CPUs, partial unmaps, counts within bounds,
// sizes read off the machine, a move that must fail, PREFERRED_MANY and a
// zero weight, on qemu-3node (node0 has every CPU).
TEST_F(ScenarioEmulated, TouchesPartsCountsAndSizesOfTheMachine)
{
	Outcome out = RunText("machine qemu-3node\n"
	                      "map a first-touch - 8pages untouched\n"
	                      "touch a 0-3 from node0\n"
	                      "expect a pages 0-3 node0\n"
	                      "unmap a 2-3\n"
	                      "expect a pages 0-3 repeat node0*2,unmapped*2\n"
	                      "expect a count 0-7 node0 2-8\n"
	                      "map many preferred-many node1,node2 8pages\n"
	                      "expect many pages 0-7 node1\n"
	                      "map over bind node1 capacity(node1)+1page\n"
	                      "expect over fails ENOMEM\n"
	                      "map full bind node1 free(node1)-4pages\n"
	                      "map buf bind node0 8pages\n"
	                      "move buf 0-7 node1 fails FAILURE\n"
	                      "expect buf count 0-7 node1 4\n"
	                      "map zero weighted node0:0,node1:1 8pages\n"
	                      "expect zero fails EINVAL\n");
	EXPECT_TRUE(out.passed) << Failures(out);
	EXPECT_EQ(out.canonical,
	          "t.scn: a=ok(untouched); touch a 0-3=node0:4; a pages 0-3: "
	          "node0; unmap a 2-3=ok; a pages 0-3: repeat "
	          "node0*2,unmapped*2; a count 0-7: node0 2-8; "
	          "many=ok(node1:8); many pages 0-7: node1; over=AML_ENOMEM; "
	          "over fails: AML_ENOMEM; full=ok(node1:64456); "
	          "buf=ok(node0:8); move buf 0-7 node1=AML_FAILURE; buf count "
	          "0-7: node1 4; zero=AML_EINVAL; zero fails: AML_EINVAL");

	// Out of bounds, a count reads as what it saw; a move that should
	// have failed, and a touch past a map sized off the machine, say so.
	out = RunText("machine qemu-3node\n"
	              "map a bind node2 8pages\n"
	              "expect a count 0-7 node2 0-7\n"
	              "move a 0-7 node1 fails ENOMEM\n"
	              "map b bind node2 free(node2)-250MiB untouched\n"
	              "touch b 0-500\n");
	ASSERT_EQ(out.failures.size(), 3u) << Failures(out);
	EXPECT_EQ(out.failures[0], "t.scn:3: expect a count 0-7 node2 0-7: "
	                           "expected 0-7 pages on node2, got 8");
	EXPECT_EQ(out.failures[1], "t.scn:4: move a 0-7 node1 fails ENOMEM: "
	                           "expected AML_ENOMEM, got ok");
	EXPECT_EQ(out.failures[2],
	          "t.scn:6: touch b 0-500: past the 455 pages of b");
}

TEST(ScenarioParse, KilledRunsTheMapInAChildAndEndsItThere)
{
	Scenario s;
	std::string error;
	ASSERT_TRUE(Parse("t.scn",
	                  "machine qemu-3node\n"
	                  "map a bind node1 4pages\n"
	                  "expect a killed\n"
	                  "unmap a\n"
	                  "map a bind node1 4pages\n"
	                  "expect a pages 0-3 node1\n",
	                  &s, &error))
	        << error;
	ASSERT_EQ(s.statements.size(), 6u);
	EXPECT_TRUE(s.statements[1].forked);
	EXPECT_EQ(s.statements[2].check, aml_scenario::Check::kKilled);
	EXPECT_EQ(s.statements[2].map, "a");
	EXPECT_FALSE(s.statements[4].forked) << "a new map of the same name";
}

// Where a kernel would kill the process, the child that writes the map's
// pages dies of a signal: any signal, the OOM killer's or an abort.
void KillChild(const aml_scenario::Statement &)
{
	raise(SIGKILL);
}
void AbortChild(const aml_scenario::Statement &)
{
	std::abort();
}

// A map expected 'killed' runs in a child process: killed, it reads
// 'killed' and the runner goes on; mapped, or failed, it is a failure that
// says so; and nothing of the child's map is left in the runner, on the
// emulator either (node1 takes 200 MiB twice).
TEST_F(ScenarioEmulated, AMapExpectedKilledRunsInAChild)
{
	const std::string text = "machine qemu-3node\n"
	                         "map oom bind node1 200MiB\n"
	                         "expect oom killed\n"
	                         "map after bind node1 200MiB\n"
	                         "expect after pages 0-51199 node1\n";
	Scenario s;
	std::string error;
	ASSERT_TRUE(Parse("t.scn", text, &s, &error)) << error;
	for (auto hook : {KillChild, AbortChild}) {
		Outcome out = aml_scenario::Run(s, t, hook);
		EXPECT_TRUE(out.passed) << Failures(out);
		EXPECT_EQ(out.canonical,
		          "t.scn: oom=killed; oom killed: killed; "
		          "after=ok(node1:51200); after pages 0-51199: node1");
	}

	Outcome out = RunText(text);
	EXPECT_EQ(out.canonical,
	          "t.scn: oom=ok(child); oom killed: ok(child); "
	          "after=ok(node1:51200); after pages 0-51199: node1");
	ASSERT_EQ(out.failures.size(), 1u) << Failures(out);
	EXPECT_EQ(out.failures[0],
	          "t.scn:3: expect oom killed: expected the map's child "
	          "process to be killed, but it mapped and wrote every page");

	// Past node1's capacity, BIND is refused at map time (on the kernel
	// too): the child reports the error through its exit status.
	out = RunText("machine qemu-3node\n"
	              "map oom bind node1 300MiB\n"
	              "expect oom killed\n");
	EXPECT_EQ(out.canonical, "t.scn: oom=AML_ENOMEM; oom killed: "
	                         "AML_ENOMEM");
	ASSERT_EQ(out.failures.size(), 1u) << Failures(out);
	EXPECT_EQ(out.failures[0],
	          "t.scn:3: expect oom killed: expected the map's child "
	          "process to be killed, but the map failed with AML_ENOMEM");
}

TEST_F(ScenarioEmulated, OrderAndEdgeSummaries)
{
	Outcome out = RunText("machine qemu-3node\n"
	                      "map p preferred node1 300MiB edge\n"
	                      "expect p order node1,node2\n");
	EXPECT_EQ(out.canonical, "t.scn: p=ok(order node1,node0); p order: "
	                         "node1,node0");
	ASSERT_EQ(out.failures.size(), 1u);
	EXPECT_EQ(out.failures[0], "t.scn:3: expect p order node1,node2: "
	                           "expected order node1,node2, got "
	                           "node1,node0");
}

TEST_F(ScenarioEmulated, AnotherMachineIsRefusedNotSkipped)
{
	struct aml_topology *knl = nullptr;
	ASSERT_EQ(aml_emu_create(&knl, "knl-flat;scale=1/1024", nullptr), 0);
	Scenario s;
	std::string error;
	ASSERT_TRUE(Parse("t.scn",
	                  "machine qemu-3node\nmap a bind node0 1page\n"
	                  "expect a pages 0 node0\n",
	                  &s, &error));
	Outcome out = aml_scenario::Run(s, knl);
	EXPECT_FALSE(out.passed);
	ASSERT_EQ(out.failures.size(), 1u);
	EXPECT_EQ(out.failures[0],
	          "t.scn:1: machine qemu-3node: this topology is not "
	          "qemu-3node: expected devices "
	          "node0:DRAM,node1:HBM,node2:CXL, got ddr4:DRAM,mcdram:HBM");
	out = aml_scenario::Run(s, nullptr);
	EXPECT_FALSE(out.passed);
	aml_topology_destroy(&knl);
}

TEST_F(ScenarioEmulated, UnknownDevicesAndUnreadableFiles)
{
	Outcome out = RunText("machine qemu-3node\n"
	                      "map a bind node7 1page\n"
	                      "expect a pages 0 node7\n");
	ASSERT_EQ(out.failures.size(), 2u) << Failures(out);
	EXPECT_EQ(out.failures[0], "t.scn:2: map a bind node7 1page: no "
	                           "device named node7 in this topology");
	Scenario s;
	std::string error;
	EXPECT_FALSE(aml_scenario::ParseFile("no/such.scn", &s, &error));
	EXPECT_EQ(error, "no/such.scn: cannot read");
}

} // namespace
