// SPDX-License-Identifier: BSD-3-Clause
// Machine files on the emulator (docs/emulator.md, docs/vm.md): a tier's
// usable capacity is its device's capacity; access items become the
// device's initiators, so a CPU of either socket sees each device with its
// own figures; without them a device has one initiator of every CPU, as
// before machine files.
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include <aml.h>

namespace
{

constexpr uint64_t KiB = 1ULL << 10;
constexpr uint64_t MiB = 1ULL << 20;
constexpr uint64_t GiB = 1ULL << 30;

struct aml_topology *Emulate(const std::string &spec)
{
	struct aml_topology *t = nullptr;
	struct aml_emu_error error = {};
	EXPECT_EQ(aml_emu_create(&t, spec.c_str(), &error), 0)
	        << spec << ": " << error.reason;
	return t;
}

struct aml_bitmap Cpu(size_t cpu)
{
	struct aml_bitmap b;
	aml_bitmap_zero(&b);
	aml_bitmap_set(&b, cpu);
	return b;
}

TEST(EmulatorMachine, UsableIsTheDeviceCapacityScaledAndWholePages)
{
	size_t page = aml_page_size();
	struct aml_topology *t = Emulate(
	        "tier: name=a, kind=DRAM, capacity=64MiB, usable=40MiB, "
	        "bw=1GB/s, latency=1ns, cpus=all\n"
	        "tier: name=b, kind=HBM, capacity=64MiB, bw=1GB/s, "
	        "latency=1ns\n"
	        "scale=1/2");
	ASSERT_NE(t, nullptr);
	EXPECT_EQ(aml_topology_device(t, 0)->capacity, 20 * MiB);
	EXPECT_EQ(aml_topology_device(t, 1)->capacity, 32 * MiB);
	size_t free_bytes = 0;
	ASSERT_EQ(aml_device_free_bytes(aml_topology_device(t, 0), &free_bytes),
	          0);
	EXPECT_EQ(free_bytes, 20 * MiB);
	aml_topology_destroy(&t);

	// The guest's node 0 of qemu-3node: what the kernel reported.
	t = Emulate("qemu-3node");
	ASSERT_NE(t, nullptr);
	EXPECT_EQ(aml_topology_device(t, 0)->capacity,
	          469116 * KiB / page * page);
	EXPECT_EQ(aml_topology_device(t, 1)->capacity,
	          257872 * KiB / page * page);
	aml_topology_destroy(&t);
}

TEST(EmulatorMachine, AccessItemsAreInitiatorsPerSocket)
{
	struct aml_topology *t = Emulate("qemu-4node-2socket");
	ASSERT_NE(t, nullptr);
	ASSERT_EQ(aml_topology_ndevices(t), 4);
	struct aml_bitmap s0 = Cpu(0), s1 = Cpu(1);
	const struct aml_device *hbm = aml_topology_device(t, 2);
	EXPECT_EQ(hbm->kind, AML_DEVICE_HBM);
	ASSERT_EQ(hbm->ninitiators, 2u);
	const struct aml_device_perf *near = aml_device_perf_from(hbm, &s0);
	const struct aml_device_perf *far = aml_device_perf_from(hbm, &s1);
	ASSERT_NE(near, nullptr);
	ASSERT_NE(far, nullptr);
	EXPECT_EQ(near->read_bandwidth, 400 * GiB);
	EXPECT_EQ(near->read_latency_ns, 120u);
	EXPECT_EQ(far->read_bandwidth, 100 * GiB);
	EXPECT_EQ(far->write_latency_ns, 220u);
	// The local initiator comes first: socket 0 for the HBM node.
	EXPECT_EQ(aml_bitmap_equal(&hbm->initiators[0].cpus, &s0), 1);
	// Each socket's DDR: local figures from its own CPU, remote from the
	// other's.
	const struct aml_device *ddr1 = aml_topology_device(t, 1);
	EXPECT_EQ(aml_bitmap_equal(&ddr1->cpus, &s1), 1);
	EXPECT_EQ(aml_device_perf_from(ddr1, &s1)->read_latency_ns, 100u);
	EXPECT_EQ(aml_device_perf_from(ddr1, &s0)->read_latency_ns, 200u);
	// A pair without an access item sees the tier's own figures: CXL from
	// socket 0.
	const struct aml_device *cxl = aml_topology_device(t, 3);
	EXPECT_EQ(aml_device_perf_from(cxl, &s0)->read_latency_ns, 300u);
	EXPECT_EQ(aml_device_perf_from(cxl, &s1)->read_latency_ns, 350u);
	aml_topology_destroy(&t);
}

TEST(EmulatorMachine, WithoutAccessItemsOneInitiatorOfEveryCpu)
{
	struct aml_topology *t =
	        Emulate("tier: name=a, kind=DRAM, capacity=1MiB, bw=1GB/s, "
	                "latency=10ns, vcpus=1\n"
	                "tier: name=b, kind=DRAM, capacity=1MiB, bw=1GB/s, "
	                "latency=10ns, vcpus=1\n"
	                "tier: name=c, kind=HBM, capacity=1MiB, bw=4GB/s, "
	                "latency=12ns\n");
	ASSERT_NE(t, nullptr);
	struct aml_bitmap both = Cpu(0);
	aml_bitmap_set(&both, 1);
	for (size_t i = 0; i < 3; i++) {
		const struct aml_device *dev = aml_topology_device(t, i);
		ASSERT_EQ(dev->ninitiators, 1u) << dev->name;
		EXPECT_EQ(aml_bitmap_equal(&dev->initiators[0].cpus, &both), 1)
		        << dev->name;
	}
	// vcpus without cpus: the guest's CPU numbers.
	struct aml_bitmap s1 = Cpu(1);
	EXPECT_EQ(aml_bitmap_equal(&aml_topology_device(t, 1)->cpus, &s1), 1);
	aml_topology_destroy(&t);
}

} // namespace
