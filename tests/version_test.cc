// SPDX-License-Identifier: BSD-3-Clause
// Version: macros, run-time values and the compatibility rule.
#include <climits>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include <aml.h>

#include "aml/src/version.h"

namespace
{

TEST(Version, StringIsBuiltFromTheNumbers)
{
	char expected[64];
	std::snprintf(expected, sizeof(expected), "%d.%d.%d", AML_VERSION_MAJOR,
	              AML_VERSION_MINOR, AML_VERSION_PATCH);
	EXPECT_STREQ(AML_VERSION_STRING, expected);
	std::snprintf(expected, sizeof(expected), "%d.%d.%d",
	              aml_version_major(), aml_version_minor(),
	              aml_version_patch());
	EXPECT_STREQ(aml_version_string(), expected);
}

TEST(Version, LibraryInThisRepositoryMatchesItsHeaders)
{
	EXPECT_EQ(aml_version_major(), AML_VERSION_MAJOR);
	EXPECT_EQ(aml_version_minor(), AML_VERSION_MINOR);
	EXPECT_EQ(aml_version_patch(), AML_VERSION_PATCH);
	EXPECT_EQ(AML_VERSION_CHECK(), 0);
}

TEST(Version, CheckAgainstTheRunningLibrary)
{
	const int major = aml_version_major();
	const int minor = aml_version_minor();
	const int patch = aml_version_patch();
	EXPECT_EQ(aml_version_check(major, minor, patch + 7), 0);
	EXPECT_EQ(aml_version_check(major + 1, minor, patch), AML_ENOTSUP);
	EXPECT_EQ(aml_version_check(major, minor + 1, patch), AML_ENOTSUP);
	if (major > 0) {
		EXPECT_EQ(aml_version_check(major - 1, minor, patch),
		          AML_ENOTSUP);
	}
}

struct BadVersion {
	int major, minor, patch;
};

class VersionBadInput : public ::testing::TestWithParam<BadVersion>
{
};

TEST_P(VersionBadInput, NegativeComponentsAreInvalid)
{
	const BadVersion &v = GetParam();
	EXPECT_EQ(aml_version_check(v.major, v.minor, v.patch), AML_EINVAL);
}

INSTANTIATE_TEST_SUITE_P(All,
                         VersionBadInput,
                         ::testing::Values(BadVersion{-1, 0, 0},
                                           BadVersion{0, -1, 0},
                                           BadVersion{0, 0, -1},
                                           BadVersion{INT_MIN, INT_MIN,
                                                      INT_MIN}));

struct Compat {
	int lib_major, lib_minor, major, minor;
	bool compatible;
};

// gtest prints a parameter whose type it does not know byte by byte, its
// padding included, which valgrind reports as a read of uninitialised
// memory.
void PrintTo(const Compat &c, std::ostream *os)
{
	*os << c.lib_major << "." << c.lib_minor << " for " << c.major << "."
	    << c.minor;
}

class VersionRule : public ::testing::TestWithParam<Compat>
{
};

TEST_P(VersionRule, FollowsSemver)
{
	const Compat &c = GetParam();
	EXPECT_EQ(aml_version_is_compatible(c.lib_major, c.lib_minor, c.major,
	                                    c.minor),
	          c.compatible)
	        << "library " << c.lib_major << "." << c.lib_minor
	        << ", program " << c.major << "." << c.minor;
}

INSTANTIATE_TEST_SUITE_P(
        All,
        VersionRule,
        ::testing::Values(
                // Major 0: unstable, the minor must match exactly.
                Compat{0, 1, 0, 1, true},
                Compat{0, 2, 0, 1, false},
                Compat{0, 1, 0, 2, false},
                // From 1.0: a newer minor serves an older program, not the
                // reverse.
                Compat{1, 0, 1, 0, true},
                Compat{1, 3, 1, 2, true},
                Compat{1, 2, 1, 3, false},
                // Another major never.
                Compat{2, 0, 1, 0, false},
                Compat{1, 9, 2, 0, false},
                Compat{1, 0, 0, 0, false}));

} // namespace
