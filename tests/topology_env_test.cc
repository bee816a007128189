// SPDX-License-Identifier: BSD-3-Clause
// AML_TOPOLOGY_XML (set in this test's BUILD target) makes the default
// topology the file's, for every caller.
#include <gtest/gtest.h>

#include <aml.h>

namespace
{

TEST(TopologyEnv, DefaultTopologyReadsAmlTopologyXml)
{
	const struct aml_topology *t = aml_topology_default();
	if (t == nullptr && aml_errno == AML_ENOTSUP)
		GTEST_SKIP() << "aml built without hwloc";
	ASSERT_NE(t, nullptr) << aml_errname(aml_errno);
	EXPECT_STREQ(aml_topology_source(t),
	             "hwloc XML tests/fixtures/topology/knl-flat.xml");
	EXPECT_EQ(aml_topology_ndevices(t), 2);
	EXPECT_EQ(aml_topology_best(t, AML_RANK_BANDWIDTH, nullptr)->kind,
	          AML_DEVICE_HBM);
}

} // namespace
