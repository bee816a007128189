// SPDX-License-Identifier: BSD-3-Clause
// The one-call fast memory interface where AML_FAST_POLICY or
// AML_FAST_PAGES holds a word it does not take (set by the BUILD target,
// with the reason expected in EXPECTED_REASON): every call refuses with
// AML_EINVAL, says which variable and which words it takes, and a later
// call's choice does not mend it (the environment decided).
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/fast.h>

namespace
{

TEST(FastDefaultBadWord, EveryCallRefusesAndNamesTheVariable)
{
	const char *expected = std::getenv("EXPECTED_REASON");
	ASSERT_NE(expected, nullptr) << "the BUILD target sets it";
	char why[AML_FAST_REASON_MAX];
	EXPECT_EQ(aml_fast_available(why, sizeof(why)), AML_EINVAL);
	EXPECT_EQ(std::string(why), expected);
	EXPECT_EQ(aml_fast_malloc(8), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_fast_set_policy(AML_FAST_PREFERRED), 0);
	EXPECT_EQ(aml_fast_malloc(8), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
}

} // namespace
