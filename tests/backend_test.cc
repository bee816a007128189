// SPDX-License-Identifier: BSD-3-Clause
// Backends as built on this host: the run-time answers agree with the
// generated <aml/build_config.h>, and every query rejects bad input.
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include <aml.h>

namespace
{

// In enum aml_backend order.
static_assert(AML_BACKEND_NUMA == 0 && AML_BACKEND_HWLOC == 1 &&
                      AML_BACKEND_MEMKIND == 2 && AML_BACKEND_EMULATOR == 3 &&
                      AML_BACKEND_COUNT == 4,
              "update the tables below");
// The emulator is part of every build.
const int kHave[AML_BACKEND_COUNT] = {AML_HAVE_NUMA, AML_HAVE_HWLOC,
                                      AML_HAVE_MEMKIND, 1};

TEST(Backend, NamesAreStable)
{
	EXPECT_STREQ(aml_backend_name(AML_BACKEND_NUMA), "numa");
	EXPECT_STREQ(aml_backend_name(AML_BACKEND_HWLOC), "hwloc");
	EXPECT_STREQ(aml_backend_name(AML_BACKEND_MEMKIND), "memkind");
	EXPECT_STREQ(aml_backend_name(AML_BACKEND_EMULATOR), "emulator");
}

TEST(Backend, RunTimeAgreesWithBuildConfig)
{
	EXPECT_EQ(AML_HAVE_NUMA, 1); // libnuma is required
	for (int b = 0; b < AML_BACKEND_COUNT; b++) {
		EXPECT_EQ(aml_backend_is_built((enum aml_backend)b), kHave[b])
		        << aml_backend_name((enum aml_backend)b);
	}
}

TEST(Backend, BuiltBackendsDescribeTheirLibrary)
{
	const char *prefix[AML_BACKEND_COUNT] = {"libnuma API ", "hwloc ",
	                                         "memkind ",
	                                         "software memory tiers; "};
	for (int b = 0; b < AML_BACKEND_COUNT; b++) {
		auto backend = (enum aml_backend)b;
		char line[AML_BACKEND_DESCRIBE_MAX];
		int n = aml_backend_describe(backend, line, sizeof(line));
		if (!kHave[b]) {
			EXPECT_EQ(n, AML_ENOTSUP) << aml_errname(n);
			continue;
		}
		ASSERT_GT(n, 0)
		        << aml_backend_name(backend) << ": " << aml_errname(n);
		EXPECT_EQ(std::strlen(line), (size_t)n);
		EXPECT_EQ(std::string(line).rfind(prefix[b], 0), 0u) << line;
	}
}

TEST(Backend, NumaSeesAtLeastOneNode)
{
	char line[AML_BACKEND_DESCRIBE_MAX];
	ASSERT_GT(aml_backend_describe(AML_BACKEND_NUMA, line, sizeof(line)),
	          0);
	// Either libnuma reports its nodes or says the kernel has no NUMA.
	EXPECT_TRUE(std::strstr(line, "configured node(s)") != nullptr ||
	            std::strstr(line, "NUMA not available") != nullptr)
	        << line;
}

TEST(BackendBadInput, OutOfRangeBackend)
{
	for (int b : {-1, (int)AML_BACKEND_COUNT, 1000}) {
		auto backend = (enum aml_backend)b;
		aml_errno = 0;
		EXPECT_EQ(aml_backend_name(backend), nullptr);
		EXPECT_EQ(aml_errno, AML_EINVAL);
		EXPECT_EQ(aml_backend_is_built(backend), AML_EINVAL);
		char line[8] = "keep";
		EXPECT_EQ(aml_backend_describe(backend, line, sizeof(line)),
		          AML_EINVAL);
		EXPECT_STREQ(line, "keep");
	}
}

TEST(BackendBadInput, NullBufferAndShortBuffer)
{
	EXPECT_EQ(aml_backend_describe(AML_BACKEND_NUMA, nullptr, 64),
	          AML_EINVAL);
	char full[AML_BACKEND_DESCRIBE_MAX];
	int n = aml_backend_describe(AML_BACKEND_NUMA, full, sizeof(full));
	ASSERT_GT(n, 0);
	char line[AML_BACKEND_DESCRIBE_MAX];
	std::memset(line, '#', sizeof(line));
	// One byte short of the line and its NUL: refused, buffer untouched.
	EXPECT_EQ(aml_backend_describe(AML_BACKEND_NUMA, line, (size_t)n),
	          AML_EDOM);
	EXPECT_EQ(line[0], '#');
	EXPECT_EQ(aml_backend_describe(AML_BACKEND_NUMA, line, (size_t)n + 1),
	          n);
	EXPECT_STREQ(line, full);
}

} // namespace
