// SPDX-License-Identifier: BSD-3-Clause
// aml linked with hwloc and memkind absent
// (//aml:aml_without_optional_backends), whatever this host has: the path a
// build without them takes.
#include <gtest/gtest.h>

#include <aml.h>

namespace
{

TEST(BackendAbsent, OptionalBackendsReportNotBuilt)
{
	EXPECT_EQ(aml_backend_is_built(AML_BACKEND_NUMA), 1);
	EXPECT_EQ(aml_backend_is_built(AML_BACKEND_HWLOC), 0);
	EXPECT_EQ(aml_backend_is_built(AML_BACKEND_MEMKIND), 0);
}

TEST(BackendAbsent, NamesStillAnswer)
{
	EXPECT_STREQ(aml_backend_name(AML_BACKEND_HWLOC), "hwloc");
	EXPECT_STREQ(aml_backend_name(AML_BACKEND_MEMKIND), "memkind");
}

TEST(BackendAbsent, DescribeIsNotSupportedAndLeavesTheBuffer)
{
	for (auto b : {AML_BACKEND_HWLOC, AML_BACKEND_MEMKIND}) {
		char line[AML_BACKEND_DESCRIBE_MAX] = "keep";
		EXPECT_EQ(aml_backend_describe(b, line, sizeof(line)),
		          AML_ENOTSUP);
		EXPECT_STREQ(line, "keep");
	}
	// Argument errors still come first.
	EXPECT_EQ(aml_backend_describe(AML_BACKEND_MEMKIND, nullptr, 8),
	          AML_EINVAL);
}

} // namespace
