// SPDX-License-Identifier: BSD-3-Clause
// Backends as built on this host: the run-time answers agree with the
// generated <aml/build_config.h>, and every query rejects bad input.
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include <aml.h>

namespace
{

// What this test knows of each backend it names; a backend added later is
// checked by the generic cases below and by its own test.
struct Known {
	enum aml_backend backend;
	const char *name;
	int have; // the build configuration's AML_HAVE_*
	const char *describe_prefix;
};

// The emulator is part of every build.
const Known kKnown[] = {
        {AML_BACKEND_NUMA, "numa", AML_HAVE_NUMA, "libnuma API "},
        {AML_BACKEND_HWLOC, "hwloc", AML_HAVE_HWLOC, "hwloc "},
        {AML_BACKEND_MEMKIND, "memkind", AML_HAVE_MEMKIND, "memkind "},
        {AML_BACKEND_EMULATOR, "emulator", 1, "software memory tiers; "},
};

TEST(Backend, NamesAreStable)
{
	for (const Known &k : kKnown)
		EXPECT_STREQ(aml_backend_name(k.backend), k.name);
}

TEST(Backend, EveryBackendHasADistinctName)
{
	for (int a = 0; a < AML_BACKEND_COUNT; a++) {
		const char *name = aml_backend_name((enum aml_backend)a);
		ASSERT_NE(name, nullptr) << a;
		for (int b = 0; b < a; b++)
			EXPECT_STRNE(aml_backend_name((enum aml_backend)b),
			             name);
	}
}

TEST(Backend, RunTimeAgreesWithBuildConfig)
{
	EXPECT_EQ(AML_HAVE_NUMA, 1); // libnuma is required
	for (const Known &k : kKnown)
		EXPECT_EQ(aml_backend_is_built(k.backend), k.have) << k.name;
	for (int b = 0; b < AML_BACKEND_COUNT; b++) {
		int built = aml_backend_is_built((enum aml_backend)b);
		EXPECT_TRUE(built == 0 || built == 1) << b;
	}
}

TEST(Backend, BuiltBackendsDescribeTheirLibrary)
{
	for (int b = 0; b < AML_BACKEND_COUNT; b++) {
		auto backend = (enum aml_backend)b;
		char line[AML_BACKEND_DESCRIBE_MAX];
		int n = aml_backend_describe(backend, line, sizeof(line));
		if (aml_backend_is_built(backend) == 0) {
			EXPECT_EQ(n, AML_ENOTSUP) << aml_errname(n);
			continue;
		}
		ASSERT_GT(n, 0)
		        << aml_backend_name(backend) << ": " << aml_errname(n);
		EXPECT_EQ(std::strlen(line), (size_t)n);
	}
	for (const Known &k : kKnown) {
		char line[AML_BACKEND_DESCRIBE_MAX];
		if (!k.have ||
		    aml_backend_describe(k.backend, line, sizeof(line)) <= 0)
			continue;
		EXPECT_EQ(std::string(line).rfind(k.describe_prefix, 0), 0u)
		        << line;
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
