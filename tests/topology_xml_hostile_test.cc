// SPDX-License-Identifier: BSD-3-Clause
// Hostile and malformed hwloc XML (issue #13, 2.1): whatever text a user
// names gives a topology or AML_EINVAL with a line and a reason, never a
// crash, a stall, a leak or another code. Inputs that crashed hwloc 2.9 run
// in a child process (EXPECT_EXIT), so a regression fails one test instead
// of killing the test binary. The edge cases of valid files (2.10) are in
// topology_xml_edge_test.cc.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include <aml.h>

#include "tests/testing/hwloc_xml.h"

namespace
{

using aml_testing::LineOf;
using aml_testing::ReadFixture;
using aml_testing::Replace;

struct Verdict {
	int err;
	size_t line;
	std::string reason;
};

Verdict Load(const std::string &text)
{
	struct aml_topology *t = nullptr;
	struct aml_topology_xml_error error;
	memset(&error, 0xa5, sizeof(error));
	int err = aml_topology_load_xml_buffer(&t, text.data(), text.size(),
	                                       &error);
	EXPECT_EQ(err == 0, t != nullptr);
	aml_topology_destroy(&t);
	if (err == 0)
		return {err, 0, ""};
	return {err, error.line, error.reason};
}

class TopologyXmlHostile : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		if (aml_backend_is_built(AML_BACKEND_HWLOC) != 1)
			GTEST_SKIP() << "aml built without hwloc";
		knl = ReadFixture("knl-flat");
		ASSERT_FALSE(knl.empty());
	}

	// Refused at the line of what, with a reason containing words.
	void ExpectRefused(const std::string &text,
	                   const std::string &what,
	                   const std::string &words)
	{
		Verdict v = Load(text);
		EXPECT_EQ(v.err, AML_EINVAL) << what;
		EXPECT_EQ(v.line, LineOf(text, what)) << v.reason;
		EXPECT_NE(v.reason.find(words), std::string::npos)
		        << "reason: " << v.reason;
	}

	std::string knl;
};

// In a child: a crash fails this test only.
#define EXPECT_REFUSED_IN_CHILD(text)                                          \
	EXPECT_EXIT(exit(Load(text).err == AML_EINVAL ? 0 : 1),                \
	            ::testing::ExitedWithCode(0), "")

TEST_F(TopologyXmlHostile, NumaNodeWithoutCompleteNodesetIsRefused)
{
	// hwloc 2.9 inserts the node as is and dereferences NULL (SIGSEGV).
	std::string text = Replace(knl,
	                           " nodeset=\"0x00000002\" "
	                           "complete_nodeset=\"0x00000002\"",
	                           " nodeset=\"0x00000002\"");
	EXPECT_REFUSED_IN_CHILD(text);
	ExpectRefused(text, "type=\"NUMANode\" os_index=\"1\"",
	              "NUMANode has no complete_nodeset");
}

TEST_F(TopologyXmlHostile, MissingQuoteIsRefused)
{
	// The opening quote of a node's complete_nodeset and of a PU's
	// complete_cpuset (hwloc stops reading the tag there, then
	// SIGSEGV), and of a gp_index (hwloc silently loses the node's
	// subtype and capacity).
	std::string a = Replace(knl, " complete_nodeset=\"0x00000002\"",
	                        " complete_nodeset=0x00000002\"");
	std::string b = Replace(knl, " complete_cpuset=\"0x00000001\"",
	                        " complete_cpuset=0x00000001\"");
	std::string c = Replace(knl, "gp_index=\"4\"", "gp_index=4\"");
	EXPECT_REFUSED_IN_CHILD(a);
	EXPECT_REFUSED_IN_CHILD(b);
	EXPECT_REFUSED_IN_CHILD(c);
	ExpectRefused(a, "complete_nodeset=0x00000002\"", "in quotes");
	ExpectRefused(c, "gp_index=4\"", "the value of gp_index must be in");
	// A closing quote: the value runs into the next attribute.
	ExpectRefused(Replace(knl, "os_index=\"1\"", "os_index=\"1"),
	              "os_index=\"1 cpuset", "expected a space");
}

TEST_F(TopologyXmlHostile, HugeNumaOsIndexIsRefusedAtOnce)
{
	// hwloc sized a node set by it: 515 MiB and seconds before loading.
	std::string text = Replace(knl, "type=\"NUMANode\" os_index=\"1\"",
	                           "type=\"NUMANode\" os_index=\"4294967295\"");
	EXPECT_REFUSED_IN_CHILD(text);
	ExpectRefused(text, "os_index=\"4294967295\"",
	              "os_index 4294967295: aml handles indices below 1024");
}

TEST_F(TopologyXmlHostile, NotWellFormedIsRefusedWithItsLine)
{
	struct Case {
		std::string from, to, at, words;
	} cases[] = {
	        {"<object type=\"L2Cache\"",
	         "<object type=\"L2Cache\" x=", " x= ", "must be in quotes"},
	        {"</topology>", "</topologie>", "</topologie>",
	         "</topologie> closes <topology>"},
	        {"</topology>", "", "", "<topology> is not closed"},
	        {"value=\"Quadrant\"", "value=\"Quad&rant;\"", "Quad&rant",
	         "unknown entity"},
	        {"value=\"Quadrant\"", "value=\"Quad&#0;\"", "Quad&#0",
	         "U+0000"},
	        {"value=\"Quadrant\"", "value=\"Quad<\"", "Quad<", "'<' in"},
	        {"value=\"Quadrant\"", "value=\"Q\" value=\"R\"", "value=\"R",
	         "given twice"},
	        {"<info name=\"MemoryMode\"", "<![CDATA[x]]><info name=\"M\"",
	         "<![CDATA[", "CDATA"},
	        {"<info name=\"MemoryMode\"", "<?pi x?><info name=\"M\"",
	         "<?pi", "processing instructions"},
	        {"<info name=\"MemoryMode\"", "text<info name=\"M\"", "text<",
	         "text inside <object>"},
	        {"<!-- aml test fixture", "<!-- a -- b --><!-- aml",
	         "<!-- a --", "'--' inside a comment"},
	        {"<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">",
	         "<!DOCTYPE topology [<!ENTITY a \"b\">]>", "<!DOCTYPE",
	         "internal subset"},
	        {"<topology version=\"2.0\">", "<topology version=\"1.0\">",
	         "<topology", "hwloc 1.x XML"},
	        {"</topology>", "</topology><topology/>", "<topology/>",
	         "a second root element"},
	        {"</object>\n  <distances2",
	         "</object>\n<object type=\"Misc\"/>\n  <distances2",
	         "<object type=\"Misc\"/>", "a second root object"},
	};
	for (const Case &c : cases) {
		SCOPED_TRACE(c.to);
		ExpectRefused(Replace(knl, c.from, c.to), c.at, c.words);
	}
	ExpectRefused(knl + std::string("\0", 1), "", "U+0000");
	ExpectRefused(Replace(knl, "Quadrant", "Quad\xff"), "Quad\xff",
	              "not UTF-8");
	Verdict v = Load("");
	EXPECT_EQ(v.err, AML_EINVAL);
	EXPECT_EQ(v.reason, "no root element");
}

// What a reason quotes from the text is one printable line, as every aml
// message about a user's text: other bytes, and the backslash that starts
// an escape, appear as \xNN (docs/errors.md).
TEST_F(TopologyXmlHostile, ReasonsShowOtherBytesAsEscapes)
{
	struct Case {
		std::string type, reason;
	} cases[] = {
	        {"Caf\xc3\xa9", "unknown object type \"Caf\\xc3\\xa9\""},
	        {"a&#9;b&#10;c", "unknown object type \"a\\x09b\\x0ac\""},
	        {"a\\b", "unknown object type \"a\\x5cb\""},
	        {"&#x7f;", "unknown object type \"\\x7f\""},
	};
	for (const Case &c : cases) {
		SCOPED_TRACE(c.type);
		std::string text = Replace(knl, "type=\"Package\"",
		                           "type=\"" + c.type + "\"");
		Verdict v = Load(text);
		EXPECT_EQ(v.err, AML_EINVAL);
		EXPECT_EQ(v.line, LineOf(text, "type=\"" + c.type));
		EXPECT_EQ(v.reason, c.reason);
	}
}

TEST_F(TopologyXmlHostile, DeepNestingIsRefused)
{
	// 100000 Groups one in another, each valid: refused at 64 deep,
	// before hwloc recurses into them.
	std::string text = "<topology version=\"2.0\">\n";
	const int depth = 100000;
	for (int i = 0; i < depth; i++)
		text += std::string("<object type=\"") +
		        (i == 0 ? "Machine" : "Group") + "\"" +
		        aml_testing::Sets({0}, {0}) + " gp_index=\"" +
		        std::to_string(i + 1) + "\">\n";
	Verdict v = Load(text);
	EXPECT_EQ(v.err, AML_EINVAL);
	EXPECT_EQ(v.line, 65u);
	EXPECT_EQ(v.reason, "elements nested deeper than 64");
}

TEST_F(TopologyXmlHostile, BrokenTreesAreRefused)
{
	struct Case {
		std::string from, to, at, words;
	} cases[] = {
	        // The root, the types, and where objects may go.
	        {"<object type=\"Machine\"", "<object type=\"Package\"",
	         "<object type=\"Package\" os_index=\"0\" cpuset=\"0x0000ffff",
	         "the root object is a Package"},
	        {"<object type=\"Package\"", "<object type=\"Socket\"",
	         "\"Socket\"", "unknown object type \"Socket\""},
	        {"type=\"PU\" os_index=\"0\" ", "type=\"PU\" ",
	         "type=\"PU\" cpuset", "PU has no os_index"},
	        // Sets: missing, malformed, out of range, inconsistent.
	        {" complete_cpuset=\"0x00000001\"", "",
	         "type=\"PU\" os_index=\"0\"", "PU has no complete_cpuset"},
	        {"cpuset=\"0x00000001\"", "cpuset=\"0xf...f\"", "0xf...f",
	         "not a set in hwloc's syntax"},
	        {"cpuset=\"0x00000001\"", "cpuset=\"-1\"", "\"-1\"",
	         "not a set"},
	        {"nodeset=\"0x00000002\"",
	         "nodeset=\"0x1" + std::string(32, ',') + "0x0\"", "0x1,,,",
	         "index 1024 or more"},
	        {"type=\"NUMANode\" os_index=\"1\"",
	         "type=\"NUMANode\" os_index=\"2\"",
	         "type=\"NUMANode\" os_index=\"2\"", "must be itself alone"},
	        // Numbers as hwloc's strtoul() would misread them.
	        {"gp_index=\"4\"", "gp_index=\" 4\"", "gp_index=\" 4",
	         "not a decimal number"},
	        {"gp_index=\"4\"", "gp_index=\"-4\"", "gp_index=\"-4",
	         "not a decimal number"},
	        {"gp_index=\"4\"", "gp_index=\"3\"", "gp_index=\"3\" subtype",
	         "gp_index 3 given twice"},
	        {"local_memory=\"17179869184\"",
	         "local_memory=\"18446744073709551616\"", "local_memory=\"1844",
	         "is more than 18446744073709551615"},
	        {"depth=\"2\"", "depth=\"1\"", "type=\"L2Cache\"",
	         "L2Cache needs depth=\"2\""},
	        {"<object type=\"L1iCache\"", "<object type=\"L1Cache\"",
	         "gp_index=\"7\"",
	         "needs depth=\"1\" and cache_type=\"0 or 1\""},
	        // Memory attributes.
	        {"target_obj_gp_index=\"4\" value=\"429153\"",
	         "target_obj_gp_index=\"5\" value=\"429153\"",
	         "target_obj_gp_index=\"5\"", "value of no NUMANode"},
	        {"<memattr name=\"Bandwidth\" flags=\"5\">",
	         "<memattr name=\"Bandwidth\" flags=\"6\">", "flags=\"6\">",
	         "not hwloc's 5"},
	        {"value=\"429153\"", "value=\"429153\" oops=\"1\"", "oops",
	         "unknown attribute oops"},
	        // Distances are checked, then left out.
	        {"nbobjs=\"2\"", "nbobjs=\"65536\"", "<distances2",
	         "needs 65536 indexes"},
	};
	for (const Case &c : cases) {
		SCOPED_TRACE(c.to);
		ExpectRefused(Replace(knl, c.from, c.to), c.at, c.words);
	}
}

TEST_F(TopologyXmlHostile, TooManySiblingsAreRefused)
{
	// hwloc walks the siblings to append each child: 64000 CPU-less
	// groups under one object took it 10 s. Real objects have at most
	// 1024 children with CPUs, and a CPU-less one per NUMA node.
	std::string groups;
	for (int i = 0; i < 2048; i++) // beside a Package
		groups += "<object type=\"Group\"" +
		          aml_testing::Sets({}, {0}) + " gp_index=\"" +
		          std::to_string(100 + i) + "\"/>\n";
	std::string text =
	        Replace(aml_testing::Machine(1, ""), " </object>\n</object>\n",
	                " </object>\n" + groups + "</object>\n");
	ExpectRefused(text, "gp_index=\"2147\"",
	              "more than 2048 normal children of one object");
	// 2048 children load.
	text = Replace(text, groups.substr(groups.rfind("<object")), "");
	struct aml_topology *t = nullptr;
	EXPECT_EQ(aml_topology_load_xml_buffer(&t, text.data(), text.size(),
	                                       nullptr),
	          0);
	aml_topology_destroy(&t);
}

TEST_F(TopologyXmlHostile, CommentsAnywhereAreFine)
{
	// hwloc's own parser loses NUMA nodes after a comment in <object>.
	std::string text = Replace(knl, "<info name=\"ClusterMode\"",
	                           "<!-- a comment hwloc would choke on -->"
	                           "<info name=\"ClusterMode\"");
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_topology_load_xml_buffer(&t, text.data(), text.size(),
	                                       nullptr),
	          0);
	EXPECT_EQ(aml_topology_ndevices(t), 2);
	aml_topology_destroy(&t);
}

TEST_F(TopologyXmlHostile, FilesThatCannotBeReadAreInvalid)
{
	struct aml_topology *t = nullptr;
	struct aml_topology_xml_error error;
	std::string dir = getenv("TEST_TMPDIR") != nullptr
	                          ? getenv("TEST_TMPDIR")
	                          : "/tmp";
	EXPECT_EQ(aml_topology_load_xml_file(&t, "tests/no/such.xml", &error),
	          AML_EINVAL);
	EXPECT_STREQ(error.reason,
	             "cannot open the file: No such file or directory");
	EXPECT_EQ(error.line, 0u);
	EXPECT_EQ(aml_topology_load_xml_file(&t, dir.c_str(), &error),
	          AML_EINVAL);
	EXPECT_STREQ(error.reason, "a directory, not a file");
	// Past AML_TOPOLOGY_XML_MAX: refused from its size, unread.
	std::string big = dir + "/big.xml";
	int fd = open(big.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(ftruncate(fd, (off_t)AML_TOPOLOGY_XML_MAX + 1), 0);
	close(fd);
	EXPECT_EQ(aml_topology_load_xml_file(&t, big.c_str(), &error),
	          AML_EINVAL);
	EXPECT_STREQ(error.reason, "the file is larger than 16777216 bytes");
	// Empty, and a FIFO nobody writes to: no wait in open().
	fd = open(big.c_str(), O_WRONLY | O_TRUNC);
	close(fd);
	EXPECT_EQ(aml_topology_load_xml_file(&t, big.c_str(), &error),
	          AML_EINVAL);
	EXPECT_STREQ(error.reason, "the file is empty");
	unlink(big.c_str());
	std::string fifo = dir + "/fifo.xml";
	ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
	EXPECT_EQ(aml_topology_load_xml_file(&t, fifo.c_str(), &error),
	          AML_EINVAL);
	EXPECT_STREQ(error.reason, "the file is empty");
	unlink(fifo.c_str());
	// A device that never ends stops at the limit.
	EXPECT_EQ(aml_topology_load_xml_file(&t, "/dev/zero", &error),
	          AML_EINVAL);
	EXPECT_STREQ(error.reason, "the file is larger than 16777216 bytes");
	EXPECT_EQ(t, nullptr);
}

TEST_F(TopologyXmlHostile, NullArgumentsAreInvalid)
{
	struct aml_topology *t = nullptr;
	struct aml_topology_xml_error error;
	EXPECT_EQ(aml_topology_load_xml_buffer(nullptr, "x", 1, &error),
	          AML_EINVAL);
	EXPECT_EQ(aml_topology_load_xml_buffer(&t, nullptr, 1, &error),
	          AML_EINVAL);
	EXPECT_EQ(aml_topology_load_xml_file(&t, nullptr, &error), AML_EINVAL);
	EXPECT_EQ(aml_topology_load_xml_file(nullptr, "x", nullptr),
	          AML_EINVAL);
	EXPECT_STREQ(error.reason, "NULL argument");
	EXPECT_EQ(t, nullptr);
}

} // namespace
