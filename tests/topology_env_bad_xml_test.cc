// SPDX-License-Identifier: BSD-3-Clause
// A malformed AML_TOPOLOGY_XML (set in this test's BUILD target: a file on
// which libhwloc 2.9 crashes) leaves no default topology, with AML_EINVAL
// and the line and reason on stderr: never the real machine in its place,
// never a crash in hwloc.
#include <string>

#include <gtest/gtest.h>

#include <aml.h>

namespace
{

TEST(TopologyEnvBadXml, MalformedFileGivesNoTopologyAndSaysWhy)
{
	if (aml_backend_is_built(AML_BACKEND_HWLOC) != 1)
		GTEST_SKIP() << "aml built without hwloc";
	::testing::internal::CaptureStderr();
	aml_errno = 0;
	EXPECT_EQ(aml_topology_default(), nullptr);
	std::string said = ::testing::internal::GetCapturedStderr();
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(said, "aml: AML_TOPOLOGY_XML=\"tests/fixtures/malformed/"
	                "numanode-without-complete-nodeset.xml\": line 8: "
	                "NUMANode has no complete_nodeset\n");
}

} // namespace
