// SPDX-License-Identifier: BSD-3-Clause
// The one-call fast memory interface where AML_FAST_POLICY=bind asks for
// fast memory that AML_EMULATE's one-tier machine lacks (both set by the
// BUILD target): every call refuses with AML_ENODEV, and says why.
#include <string>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/fast.h>

namespace
{

TEST(FastDefaultRefusal, EveryCallRefusesAndSaysWhy)
{
	char why[AML_FAST_REASON_MAX];
	EXPECT_EQ(aml_fast_available(why, sizeof(why)), AML_ENODEV);
	EXPECT_NE(std::string(why).find("the bind policy needs"),
	          std::string::npos)
	        << why;
	EXPECT_EQ(aml_fast_malloc(8), nullptr);
	EXPECT_EQ(aml_errno, AML_ENODEV);
	EXPECT_EQ(aml_fast_calloc(1, 8), nullptr);
	void *out = nullptr;
	EXPECT_EQ(aml_fast_posix_memalign(&out, 64, 8), AML_ENODEV);
	EXPECT_EQ(out, nullptr);
	EXPECT_EQ(aml_fast_realloc(nullptr, 8), nullptr);
	EXPECT_EQ(aml_fast_get_policy(), AML_ENODEV);
	EXPECT_EQ(aml_fast_set_policy(AML_FAST_PREFERRED), 0);
	// The refusal is final: the environment decided it.
	EXPECT_EQ(aml_fast_malloc(8), nullptr);
	EXPECT_EQ(aml_errno, AML_ENODEV);
	int x = 0;
	aml_fast_free(&x);
	EXPECT_EQ(aml_fast_usable_size(&x), 0u);
}

} // namespace
