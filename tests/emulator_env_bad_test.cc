// SPDX-License-Identifier: BSD-3-Clause
// A malformed AML_EMULATE (set in this test's BUILD target) leaves no
// default topology, with AML_EINVAL: never the real machine in its place.
#include <gtest/gtest.h>

#include <aml.h>

namespace
{

TEST(EmulatorEnvBad, MalformedSpecGivesNoTopology)
{
	aml_errno = 0;
	EXPECT_EQ(aml_topology_default(), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
}

} // namespace
