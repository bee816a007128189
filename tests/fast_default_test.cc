// SPDX-License-Identifier: BSD-3-Clause
// The one-call fast memory interface (aml/fast.h) on AML_EMULATE's
// knl-flat (set by the BUILD target): blocks on MCDRAM, the policy fixed
// by the first call, blocks usable across threads.
#include <cstring>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/fast.h>

namespace
{

int McdramIndex()
{
	const struct aml_topology *t = aml_topology_default();
	for (int i = 0; i < aml_topology_ndevices(t); i++) {
		if (aml_topology_device(t, (size_t)i)->kind == AML_DEVICE_HBM)
			return i;
	}
	return -1;
}

TEST(FastDefault, ServesMcdramAndFixesThePolicyAtTheFirstCall)
{
	ASSERT_EQ(aml_fast_set_policy(AML_FAST_POLICY_COUNT), AML_EINVAL);
	ASSERT_EQ(aml_fast_set_policy(AML_FAST_BIND), 0);
	char why[AML_FAST_REASON_MAX];
	EXPECT_EQ(aml_fast_available(why, sizeof(why)), 1) << why;
	EXPECT_EQ(aml_fast_get_policy(), AML_FAST_BIND);
	EXPECT_EQ(aml_fast_set_policy(AML_FAST_PREFERRED), AML_EBUSY);
	EXPECT_EQ(aml_fast_get_policy(), AML_FAST_BIND);

	char *p = static_cast<char *>(aml_fast_malloc(10000));
	ASSERT_NE(p, nullptr);
	std::memset(p, 1, 10000);
	EXPECT_EQ(aml_fast_locate(p), McdramIndex());
	EXPECT_GE(aml_fast_usable_size(p), 10000u);
	p = static_cast<char *>(aml_fast_realloc(p, 20000));
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(p[9999], 1);
	void *z = aml_fast_calloc(10, 10);
	ASSERT_NE(z, nullptr);
	void *a = nullptr;
	ASSERT_EQ(aml_fast_posix_memalign(&a, 256, 1), 0);
	EXPECT_EQ((uintptr_t)a % 256, 0u);
	std::thread([&] {
		aml_fast_free(p);
		aml_fast_free(z);
		aml_fast_free(a);
	}).join();
	EXPECT_EQ(aml_fast_usable_size(p), 0u);
	aml_fast_free(nullptr);
}

} // namespace
