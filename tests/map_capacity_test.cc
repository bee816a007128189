// SPDX-License-Identifier: BSD-3-Clause
// BIND fails cleanly: a map past the bound devices' capacity is AML_ENOMEM
// at map time (devices, topology maps, device areas, a weighted
// interleave's shares), and a populating map follows the free-memory rule
// of aml_topology_map_populate(), on this machine's node 0 and on the
// emulator's qemu-3node. Each refusal leaves nothing mapped.
#include <cstring>
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/device/memkind.h>

#include "tests/testing/node0.h"
#include "tests/testing/process.h"

namespace
{

using aml_testing::KernelAcceptsMap;
using aml_testing::LeftNothingMapped;
using aml_testing::VirtualPages;

size_t Page()
{
	return aml_page_size();
}

struct aml_bitmap Set(std::initializer_list<size_t> indices)
{
	struct aml_bitmap set;
	aml_bitmap_zero(&set);
	for (size_t i : indices)
		aml_bitmap_set(&set, i);
	return set;
}

// ---- The numa backend on this machine's node 0.

class MapCapacityNuma : public aml_testing::Node0
{
      protected:
	void SetUp() override
	{
		Node0::SetUp();
		if (IsSkipped() || HasFatalFailure())
			return;
		ASSERT_GT(node0->capacity, 0u);
	}
	// Past capacity by one page, rounded to pages.
	size_t PastCapacity() const
	{
		return (node0->capacity / Page() + 1) * Page();
	}
	// A map of @p size that aml puts no limit on is made exactly when the
	// kernel takes a plain mapping that size, which RAM, swap and
	// overcommit decide, not aml (where node 0 holds all of RAM and there
	// is no swap, it does not). Other processes change what the kernel
	// takes from one moment to the next, so it is asked before and after:
	// aml may refuse only if the kernel refused at least once, and a
	// refusal leaves nothing mapped.
	void
	ExpectMadeIfTheKernelTakesIt(const std::function<void *()> &map,
	                             const std::function<int(void *)> &unmap,
	                             size_t size)
	{
		long before = VirtualPages();
		bool kernel_took = KernelAcceptsMap(size);
		aml_errno = 0;
		void *p = map();
		if (p != nullptr) {
			EXPECT_EQ(unmap(p), 0);
			return;
		}
		EXPECT_EQ(aml_errno, AML_ENOMEM) << aml_errname(aml_errno);
		EXPECT_TRUE(LeftNothingMapped(before, size));
		kernel_took = kernel_took && KernelAcceptsMap(size);
		EXPECT_FALSE(kernel_took)
		        << "aml refused " << size << " bytes the kernel takes";
	}
};

TEST_F(MapCapacityNuma, DeviceMapPastCapacityIsEnomemAndMapsNothing)
{
	long before = VirtualPages();
	aml_errno = 0;
	EXPECT_EQ(aml_device_map(node0, PastCapacity()), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_TRUE(LeftNothingMapped(before, PastCapacity()));
	// At capacity aml checks nothing beyond what is free of charge (pages
	// come at touch).
	ExpectMadeIfTheKernelTakesIt(
	        [&] { return aml_device_map(node0, node0->capacity); },
	        [&](void *p) {
		        return aml_device_unmap(node0, p, node0->capacity);
	        },
	        node0->capacity);
}

TEST_F(MapCapacityNuma, TopologyBindPastCapacityIsEnomemOtherPoliciesAreNot)
{
	struct aml_bitmap set = Set({index});
	long before = VirtualPages();
	aml_errno = 0;
	EXPECT_EQ(aml_topology_map(t, &set, AML_POLICY_BIND, PastCapacity()),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_TRUE(LeftNothingMapped(before, PastCapacity()));
	// PREFERRED may spill elsewhere: aml puts no limit on it (the
	// emulated case below shows the spill on any machine).
	ExpectMadeIfTheKernelTakesIt(
	        [&] {
		        return aml_topology_map(t, &set, AML_POLICY_PREFERRED,
		                                PastCapacity());
	        },
	        [&](void *p) {
		        return aml_topology_unmap(t, p, PastCapacity());
	        },
	        PastCapacity());
}

TEST_F(MapCapacityNuma, AreaBindPastCapacityIsEnomemOnBothPaths)
{
	// One device maps through the device, a weighted set through the
	// topology: both refuse.
	const unsigned weight = 1;
	struct {
		enum aml_area_policy policy;
		const unsigned *weights;
	} cases[] = {{AML_AREA_BIND, nullptr},
	             {AML_AREA_WEIGHTED_INTERLEAVE, &weight}};
	for (const auto &c : cases) {
		AML_AREA_DEVICE_DECL(area);
		ASSERT_EQ(aml_area_device_init(&area, t, &node0, 1, c.policy,
		                               c.weights),
		          0);
		long before = VirtualPages();
		aml_errno = 0;
		EXPECT_EQ(aml_area_mmap(&area.base, PastCapacity(), nullptr),
		          nullptr)
		        << c.policy;
		EXPECT_EQ(aml_errno, AML_ENOMEM) << c.policy;
		EXPECT_TRUE(LeftNothingMapped(before, PastCapacity()))
		        << c.policy;
		aml_area_device_fini(&area);
	}
}

TEST_F(MapCapacityNuma, PopulatePlacesEveryPageBeforeAnyTouch)
{
	struct aml_bitmap set = Set({index});
	const size_t npages = 256;
	char *p = static_cast<char *>(aml_topology_map_populate(
	        t, &set, AML_POLICY_BIND, npages * Page()));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	std::vector<int> ids(npages, -100);
	ASSERT_EQ(aml_topology_locate(t, p, npages, ids.data()), 0);
	EXPECT_EQ(ids, std::vector<int>(npages, (int)index));
	EXPECT_EQ(p[0], 0); // fresh memory, still zero
	EXPECT_EQ(aml_topology_unmap(t, p, npages * Page()), 0);
}

TEST_F(MapCapacityNuma, PopulateNeedsTheSizePlusTheMarginFree)
{
	// The whole capacity is never free beyond the margin: refused by the
	// free-memory rule, although the capacity check passes.
	struct aml_bitmap set = Set({index});
	long before = VirtualPages();
	aml_errno = 0;
	EXPECT_EQ(aml_topology_map_populate(t, &set, AML_POLICY_BIND,
	                                    node0->capacity),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_TRUE(LeftNothingMapped(before, node0->capacity));
}

TEST_F(MapCapacityNuma, AreaPopulateOptionOnEveryPolicy)
{
	const unsigned weight = 2;
	struct {
		enum aml_area_policy policy;
		size_t n;
		const unsigned *weights;
	} cases[] = {{AML_AREA_BIND, 1, nullptr},
	             {AML_AREA_PREFERRED, 1, nullptr},
	             {AML_AREA_INTERLEAVE, 1, nullptr},
	             {AML_AREA_WEIGHTED_INTERLEAVE, 1, &weight},
	             {AML_AREA_FIRST_TOUCH, 0, nullptr}};
	struct aml_area_mmap_options populate = {0, true, AML_PAGE_DEFAULT};
	for (const auto &c : cases) {
		AML_AREA_DEVICE_DECL(area);
		ASSERT_EQ(aml_area_device_init(&area, t, &node0, c.n, c.policy,
		                               c.weights),
		          0);
		const size_t npages = 32;
		char *p = static_cast<char *>(
		        aml_area_mmap(&area.base, npages * Page(), &populate));
		ASSERT_NE(p, nullptr)
		        << c.policy << ": " << aml_errname(aml_errno);
		std::vector<int> ids(npages, -100);
		ASSERT_EQ(aml_topology_locate(t, p, npages, ids.data()), 0);
		EXPECT_EQ(ids, std::vector<int>(npages, (int)index))
		        << c.policy;
		EXPECT_EQ(aml_area_munmap(&area.base, p, npages * Page()), 0);
		// With an alignment, only the aligned part stays, populated.
		struct aml_area_mmap_options aligned = {2 << 20, true,
		                                        AML_PAGE_DEFAULT};
		p = static_cast<char *>(
		        aml_area_mmap(&area.base, npages * Page(), &aligned));
		ASSERT_NE(p, nullptr) << c.policy;
		EXPECT_EQ((uintptr_t)p % (2 << 20), 0u);
		ASSERT_EQ(aml_topology_locate(t, p, npages, ids.data()), 0);
		EXPECT_EQ(ids, std::vector<int>(npages, (int)index))
		        << c.policy;
		EXPECT_EQ(aml_area_munmap(&area.base, p, npages * Page()), 0);
		aml_area_device_fini(&area);
	}
}

TEST_F(MapCapacityNuma, AreaPopulateBeyondFreeIsEnomem)
{
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, t, &node0, 1, AML_AREA_BIND,
	                               nullptr),
	          0);
	struct aml_area_mmap_options populate = {0, true, AML_PAGE_DEFAULT};
	long before = VirtualPages();
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&area.base, node0->capacity, &populate),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_TRUE(LeftNothingMapped(before, node0->capacity));
	aml_area_device_fini(&area);
}

TEST(MapCapacity, PopulateOnAnAreaWithoutTopologyIsNotSupported)
{
	const struct aml_device *kind =
	        aml_memkind_device(AML_MEMKIND_HIGHEST_CAPACITY);
	if (kind == nullptr)
		GTEST_SKIP() << "no memkind: " << aml_errname(aml_errno);
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, nullptr, &kind, 1, AML_AREA_BIND,
	                               nullptr),
	          0);
	struct aml_area_mmap_options populate = {0, true, AML_PAGE_DEFAULT};
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&area.base, Page(), &populate), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOTSUP);
	// Without the option the same area maps.
	void *p = aml_area_mmap(&area.base, Page(), nullptr);
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(aml_area_munmap(&area.base, p, Page()), 0);
	aml_area_device_fini(&area);
}

TEST(MapCapacity, MarginIsASixtyFourthOfCapacityAndAtLeast4MiB)
{
	struct aml_device dev = {};
	EXPECT_EQ(aml_device_populate_margin(nullptr), 0u);
	dev.capacity = 0;
	EXPECT_EQ(aml_device_populate_margin(&dev), (size_t)4 << 20);
	dev.capacity = (size_t)256 << 20;
	EXPECT_EQ(aml_device_populate_margin(&dev), (size_t)4 << 20);
	dev.capacity = (size_t)16 << 30;
	EXPECT_EQ(aml_device_populate_margin(&dev), (size_t)256 << 20);
}

// ---- The same rules on the emulator, where pages are placed at map time.

// qemu-3node with QEMU's configured sizes (512, 256 and 256 MiB), not the
// usable ones its preset gives the devices (machines/qemu-3node.spec): the
// arithmetic below is on round sizes.
const char kConfigured3Node[] =
        "tier: name=node0, kind=DRAM, capacity=512MiB, bw=100GiB/s, "
        "latency=100ns, cpus=all\n"
        "tier: name=node1, kind=HBM, capacity=256MiB, bw=400GiB/s, "
        "latency=120ns\n"
        "tier: name=node2, kind=CXL, capacity=256MiB, bw=30GiB/s, "
        "latency=300ns\n"
        "distances: 10,12,30 / 12,10,35 / 30,35,10\n";

class MapCapacityEmulated : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		struct aml_emu_error error = {};
		ASSERT_EQ(aml_emu_create(&t, kConfigured3Node, &error), 0)
		        << error.reason;
		for (size_t i = 0; i < 3; i++)
			dev[i] = aml_topology_device(t, i);
	}
	void TearDown() override
	{
		aml_topology_destroy(&t);
	}
	size_t Free(size_t i)
	{
		size_t out = 0;
		EXPECT_EQ(aml_device_free_bytes(dev[i], &out), 0);
		return out;
	}
	struct aml_topology *t = nullptr;
	const struct aml_device *dev[3] = {};
};

TEST_F(MapCapacityEmulated, PopulateFollowsTheSameRule)
{
	// node1: 256 MiB, margin 4 MiB.
	struct aml_bitmap node1 = Set({1});
	const size_t mib = (size_t)1 << 20;
	aml_errno = 0;
	EXPECT_EQ(aml_topology_map_populate(t, &node1, AML_POLICY_BIND,
	                                    253 * mib),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_EQ(Free(1), 256 * mib);
	void *p = aml_topology_map_populate(t, &node1, AML_POLICY_BIND,
	                                    252 * mib);
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(Free(1), 4 * mib);
	EXPECT_EQ(aml_topology_unmap(t, p, 252 * mib), 0);
	// PREFERRED may use every device: the rule sums them all.
	p = aml_topology_map_populate(t, &node1, AML_POLICY_PREFERRED,
	                              600 * mib);
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(Free(1), 0u);
	EXPECT_EQ(aml_topology_unmap(t, p, 600 * mib), 0);
	aml_errno = 0;
	EXPECT_EQ(aml_topology_map_populate(t, &node1, AML_POLICY_PREFERRED,
	                                    1024 * mib - 11 * mib),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
}

TEST_F(MapCapacityEmulated, WeightedSharesPastADevicesCapacityAreEnomem)
{
	// 1:3 over node0 (512 MiB) and node1 (256 MiB): 400 MiB puts 300 MiB
	// on node1, past its capacity, though the set holds 768 MiB.
	const struct aml_device *devs[2] = {dev[0], dev[1]};
	const unsigned weights[2] = {1, 3};
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, t, devs, 2,
	                               AML_AREA_WEIGHTED_INTERLEAVE, weights),
	          0);
	struct aml_emu_stats before[2], after[2];
	for (size_t i = 0; i < 2; i++)
		aml_emu_stats(t, i, &before[i]);
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&area.base, (size_t)400 << 20, nullptr),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	for (size_t i = 0; i < 2; i++) {
		aml_emu_stats(t, i, &after[i]);
		EXPECT_EQ(std::memcmp(&before[i], &after[i], sizeof(after[i])),
		          0)
		        << "device " << i << " changed: something was mapped";
	}
	// 300 MiB puts 225 MiB on node1: fits; with populate, 225 + 4 MiB
	// of margin still fits node1, and 75 + 8 fits node0.
	struct aml_area_mmap_options populate = {0, true, AML_PAGE_DEFAULT};
	void *p = aml_area_mmap(&area.base, (size_t)300 << 20, &populate);
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(Free(1), (size_t)31 << 20);
	EXPECT_EQ(aml_area_munmap(&area.base, p, (size_t)300 << 20), 0);
	// 340 MiB puts 255 MiB on node1: fits its capacity, not the margin.
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&area.base, (size_t)340 << 20, &populate),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	p = aml_area_mmap(&area.base, (size_t)340 << 20, nullptr);
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(aml_area_munmap(&area.base, p, (size_t)340 << 20), 0);
	aml_area_device_fini(&area);
}

TEST_F(MapCapacityEmulated, PopulateBadInput)
{
	struct aml_bitmap node1 = Set({1}), none = Set({}), past = Set({3});
	struct {
		const struct aml_topology *t;
		const struct aml_bitmap *set;
		int policy;
		size_t size;
		int err;
	} cases[] = {
	        {nullptr, &node1, AML_POLICY_BIND, Page(), AML_EINVAL},
	        {t, nullptr, AML_POLICY_BIND, Page(), AML_EINVAL},
	        {t, &none, AML_POLICY_BIND, Page(), AML_EINVAL},
	        {t, &node1, AML_POLICY_LOCAL, Page(), AML_EINVAL},
	        {t, &node1, AML_POLICY_COUNT, Page(), AML_EINVAL},
	        {t, &node1, -1, Page(), AML_EINVAL},
	        {t, &node1, AML_POLICY_BIND, 0, AML_EINVAL},
	        {t, &node1, AML_POLICY_BIND, SIZE_MAX, AML_EINVAL},
	        {t, &past, AML_POLICY_BIND, Page(), AML_EDOM},
	};
	for (const auto &c : cases) {
		aml_errno = 0;
		EXPECT_EQ(aml_topology_map_populate(c.t, c.set,
		                                    (enum aml_policy)c.policy,
		                                    c.size),
		          nullptr);
		EXPECT_EQ(aml_errno, c.err) << aml_errname(aml_errno);
	}
	for (size_t i = 0; i < 3; i++)
		EXPECT_EQ(Free(i), dev[i]->capacity);
}

} // namespace
