// SPDX-License-Identifier: BSD-3-Clause
// A malformed AML_EMULATE (set in this test's BUILD target) leaves no
// default topology, with AML_EINVAL: never the real machine in its place.
// The refusal is final, and printed once, however many threads ask.
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

namespace
{

TEST(EmulatorEnvBad, MalformedSpecGivesNoTopology)
{
	testing::internal::CaptureStderr();
	std::vector<int> errs(8, 0);
	std::vector<std::thread> threads;
	for (size_t i = 0; i < errs.size(); i++)
		threads.emplace_back([&errs, i] {
			aml_errno = 0;
			if (aml_topology_default() == nullptr)
				errs[i] = aml_errno;
		});
	for (std::thread &th : threads)
		th.join();
	aml_errno = 0;
	EXPECT_EQ(aml_topology_default(), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	std::string text = testing::internal::GetCapturedStderr();
	for (int err : errs)
		EXPECT_EQ(err, AML_EINVAL);
	EXPECT_EQ(text, "aml: AML_EMULATE=\"tier:name=x,kind=DRAM\": at 0: "
	                "tier \"x\": missing capacity\n");
}

} // namespace
