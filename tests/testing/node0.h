// SPDX-License-Identifier: BSD-3-Clause
// A fixture for tests on this machine's node 0 through the numa backend:
// the default topology (skipped when AML_EMULATE makes it emulated), node
// 0's device and its index.
#ifndef AML_TESTS_TESTING_NODE0_H
#define AML_TESTS_TESTING_NODE0_H

#include <cstddef>

#include <gtest/gtest.h>

#include <aml.h>

namespace aml_testing
{

class Node0 : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		t = aml_topology_default();
		ASSERT_NE(t, nullptr) << aml_errname(aml_errno);
		if (aml_topology_is_emulated(t) == 1)
			GTEST_SKIP() << "AML_EMULATE is set";
		node0 = aml_topology_device_of_node(t, 0);
		ASSERT_NE(node0, nullptr);
		index = (size_t)aml_topology_index_of(t, node0);
	}
	const struct aml_topology *t = nullptr;
	const struct aml_device *node0 = nullptr;
	size_t index = 0;
};

} // namespace aml_testing

#endif // AML_TESTS_TESTING_NODE0_H
