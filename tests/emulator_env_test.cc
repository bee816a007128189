// SPDX-License-Identifier: BSD-3-Clause
// AML_EMULATE (set in this test's BUILD target) makes the default topology
// the emulated machine.
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

namespace
{

// First: threads that ask at once may each make a machine, and all get
// the one published first (the others are destroyed: the leak checkers
// see it).
TEST(EmulatorEnv, ThreadsThatAskAtOnceGetOneTopology)
{
	std::vector<const struct aml_topology *> got(8);
	std::vector<std::thread> threads;
	for (size_t i = 0; i < got.size(); i++)
		threads.emplace_back(
		        [&got, i] { got[i] = aml_topology_default(); });
	for (std::thread &th : threads)
		th.join();
	ASSERT_NE(got[0], nullptr);
	for (const struct aml_topology *t : got)
		EXPECT_EQ(t, got[0]);
	EXPECT_EQ(aml_topology_default(), got[0]);
}

TEST(EmulatorEnv, DefaultTopologyIsTheEmulatedMachine)
{
	const struct aml_topology *t = aml_topology_default();
	ASSERT_NE(t, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(aml_topology_is_emulated(t), 1);
	EXPECT_EQ(std::string(aml_topology_source(t)),
	          "emulated qemu-3node;scale=1/64");
	ASSERT_EQ(aml_topology_ndevices(t), 3);
	EXPECT_EQ(aml_topology_device(t, 1)->kind, AML_DEVICE_HBM);
	EXPECT_EQ(aml_topology_device(t, 2)->kind, AML_DEVICE_CXL);
	EXPECT_EQ(aml_topology_best(t, AML_RANK_BANDWIDTH, nullptr),
	          aml_topology_device(t, 1));
	EXPECT_EQ(aml_topology_best(t, AML_RANK_CAPACITY, nullptr),
	          aml_topology_device(t, 0));
	const struct aml_device *far[3];
	EXPECT_EQ(aml_topology_rank(t, AML_RANK_LATENCY, nullptr, far, 3), 3);
	EXPECT_EQ(far[2], aml_topology_device(t, 2));
	// node0's usable 469116 KiB (machines/qemu-3node.spec) / 64, in pages.
	size_t page = aml_page_size();
	EXPECT_EQ(aml_topology_device(t, 0)->capacity,
	          (size_t)469116 * 1024 / 64 / page * page);
}

} // namespace
