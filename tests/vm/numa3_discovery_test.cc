// SPDX-License-Identifier: BSD-3-Clause
// Guest-only: discovery of the 3-node kernel. hwloc, and libnuma with sysfs,
// both find three devices with the HMAT bandwidth and latency QEMU was given
// (102400, 409600 and 30720 MiB/s; 100, 120 and 300 ns), classify node 1 as
// HBM and node 2 as CXL, and rank them, with the distances the kernel gives
// in nodeN/distance; memkind finds high-bandwidth memory on node 1 from HMAT
// alone, with no MEMKIND_HBW_NODES.
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/device/memkind.h>

#include "aml/src/backend.h"
#include "backends/hwloc/hwloc_backend.h"
#include "backends/numa/numa_backend.h"
#include "tests/vm/guest.h"

namespace
{

using aml_vm::NodesOf;
using aml_vm::Page;
using aml_vm::Touch;

struct Expected {
	enum aml_device_kind kind;
	uint64_t bandwidth_mib_s;
	uint64_t latency_ns;
};

// The hmat-lb lines of tests/vm/run_vm.py, as Linux reports them.
const Expected kNodes[3] = {
        {AML_DEVICE_DRAM, 102400, 100},
        {AML_DEVICE_HBM, 409600, 120},
        {AML_DEVICE_CXL, 30720, 300},
};

// Row @p from of the kernel's distances: one value per online node, which
// in the guest are nodes 0, 1 and 2.
std::vector<unsigned> KernelDistances(int from)
{
	std::ifstream row("/sys/devices/system/node/node" +
	                  std::to_string(from) + "/distance");
	std::vector<unsigned> out;
	for (unsigned d; row >> d;)
		out.push_back(d);
	return out;
}

void ExpectTheKernelsDistances(const struct aml_topology *t)
{
	auto index = [t](int node) {
		return (size_t)aml_topology_index_of(
		        t, aml_topology_device_of_node(t, node));
	};
	for (int from = 0; from < 3; from++) {
		std::vector<unsigned> kernel = KernelDistances(from);
		ASSERT_EQ(kernel.size(), 3u);
		for (int to = 0; to < 3; to++) {
			unsigned d = 0;
			ASSERT_EQ(aml_topology_distance(t, index(from),
			                                index(to), &d),
			          0);
			EXPECT_EQ(d, kernel[to]) << from << " -> " << to;
		}
	}
}

void ExpectTheGuest(const struct aml_topology *t)
{
	ExpectTheKernelsDistances(t);
	ASSERT_EQ(aml_topology_ndevices(t), 3);
	for (int n = 0; n < 3; n++) {
		const struct aml_device *dev =
		        aml_topology_device_of_node(t, n);
		ASSERT_NE(dev, nullptr);
		SCOPED_TRACE(dev->name);
		EXPECT_EQ(dev->kind, kNodes[n].kind)
		        << aml_device_kind_name(dev->kind);
		ASSERT_GE(dev->ninitiators, 1u);
		const struct aml_device_perf &perf = dev->initiators[0].perf;
		EXPECT_EQ(perf.read_bandwidth, kNodes[n].bandwidth_mib_s << 20);
		EXPECT_EQ(perf.write_bandwidth,
		          kNodes[n].bandwidth_mib_s << 20);
		EXPECT_EQ(perf.bandwidth, kNodes[n].bandwidth_mib_s << 20);
		EXPECT_EQ(perf.latency_ns, kNodes[n].latency_ns);
		// The initiator is node 0's CPUs, for every node.
		EXPECT_EQ(aml_bitmap_count(&dev->initiators[0].cpus), 2);
	}
	const struct aml_device *order[3];
	std::vector<int> ids;
	ASSERT_EQ(aml_topology_rank(t, AML_RANK_BANDWIDTH, nullptr, order, 3),
	          3);
	for (const auto *d : order)
		ids.push_back(d->numa_id);
	EXPECT_EQ(ids, std::vector<int>({1, 0, 2}));
	ids.clear();
	ASSERT_EQ(aml_topology_rank(t, AML_RANK_LATENCY, nullptr, order, 3), 3);
	for (const auto *d : order)
		ids.push_back(d->numa_id);
	EXPECT_EQ(ids, std::vector<int>({0, 1, 2}));
	const struct aml_device *hbm[3];
	ASSERT_EQ(aml_topology_by_kind(t, AML_DEVICE_HBM, hbm, 3), 1);
	EXPECT_EQ(hbm[0]->numa_id, 1);
}

TEST(Numa3Discovery, HwlocFindsThreeDevicesWithTheirHmatFigures)
{
	AML_VM_REQUIRE_GUEST();
	if (!aml_backend_is_built(AML_BACKEND_HWLOC))
		GTEST_SKIP() << "aml built without hwloc";
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_hwloc_discover(&t, nullptr, 0, nullptr), 0);
	EXPECT_STREQ(aml_topology_source(t), "hwloc");
	ExpectTheGuest(t);
	aml_topology_destroy(&t);
	// And the default topology is hwloc's.
	const struct aml_topology *def = aml_topology_default();
	ASSERT_NE(def, nullptr);
	EXPECT_STREQ(aml_topology_source(def), "hwloc");
}

TEST(Numa3Discovery, LibnumaAndSysfsFindTheSame)
{
	AML_VM_REQUIRE_GUEST();
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_numa_discover(&t), 0);
	EXPECT_STREQ(aml_topology_source(t), "libnuma");
	ExpectTheGuest(t);
	aml_topology_destroy(&t);
}

TEST(Numa3Discovery, MemkindFindsHbmOnNode1FromHmatAlone)
{
	AML_VM_REQUIRE_GUEST();
	if (!aml_backend_is_built(AML_BACKEND_MEMKIND))
		GTEST_SKIP() << "aml built without memkind";
	// No variable tells memkind which node is HBM: HMAT does.
	ASSERT_EQ(std::getenv("MEMKIND_HBW_NODES"), nullptr);
	char line[AML_BACKEND_DESCRIBE_MAX];
	ASSERT_GT(aml_backend_describe(AML_BACKEND_MEMKIND, line, sizeof(line)),
	          0);
	EXPECT_NE(std::string(line).find("high-bandwidth memory available"),
	          std::string::npos)
	        << line;
	for (enum aml_memkind_kind which :
	     {AML_MEMKIND_HBW, AML_MEMKIND_HBW_PREFERRED}) {
		const struct aml_device *hbw = aml_memkind_device(which);
		ASSERT_NE(hbw, nullptr) << aml_errname(aml_errno);
		SCOPED_TRACE(hbw->name);
		EXPECT_EQ(hbw->kind, AML_DEVICE_HBM);
		const size_t npages = 2048; // 8 MiB: memkind's large path
		char *p = static_cast<char *>(
		        aml_device_map(hbw, npages * Page()));
		ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
		Touch(p, npages);
		EXPECT_EQ(NodesOf(p, npages), std::vector<int>(npages, 1));
		// aml's view agrees.
		const struct aml_topology *t = aml_topology_default();
		std::vector<int> ids(npages);
		ASSERT_EQ(aml_topology_locate(t, p, npages, ids.data()), 0);
		int node1 = aml_topology_index_of(
		        t, aml_topology_device_of_node(t, 1));
		EXPECT_EQ(ids, std::vector<int>(npages, node1));
		EXPECT_EQ(aml_device_unmap(hbw, p, npages * Page()), 0);
		// Small maps too.
		p = static_cast<char *>(aml_device_map(hbw, Page()));
		ASSERT_NE(p, nullptr);
		Touch(p, 1);
		EXPECT_EQ(NodesOf(p, 1), std::vector<int>(1, 1));
		EXPECT_EQ(aml_device_unmap(hbw, p, Page()), 0);
	}
}

} // namespace
