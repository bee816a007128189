// SPDX-License-Identifier: BSD-3-Clause
// aml_topology_usage(): what aml's live maps hold in all and on each device,
// on emulated knl-flat (maps of the topology and of an area over it, pages
// touched or not, unmaps whole and partial, the peaks, bytes bound to one
// device and maps bound to none) and on this machine
// (a bound map's pages on its node, as the kernel says); bad input.
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>

namespace
{

struct Usage {
	struct aml_topology_usage total = {};
	std::vector<struct aml_device_usage> devices;
};

Usage UsageOf(const struct aml_topology *t)
{
	Usage u;
	u.devices.resize((size_t)aml_topology_ndevices(t));
	EXPECT_EQ(aml_topology_usage(t, &u.total, u.devices.data(),
	                             u.devices.size()),
	          0);
	return u;
}

void *MapOn(const struct aml_topology *t, size_t device, size_t size)
{
	struct aml_bitmap set;
	aml_bitmap_zero(&set);
	aml_bitmap_set(&set, device);
	return aml_topology_map(t, &set, AML_POLICY_BIND, size);
}

TEST(TopologyUsage, CountsMapsAndLocatesTheirPagesOnEachDevice)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "knl-flat;scale=1/64", nullptr), 0);
	const size_t page = aml_page_size();
	const size_t ddr = 0, mcdram = 1;

	Usage none = UsageOf(t);
	EXPECT_EQ(none.total.mapped_bytes, 0u);
	EXPECT_EQ(none.total.mappings, 0u);
	EXPECT_EQ(none.devices[mcdram].resident_bytes, 0u);

	// 4 pages on MCDRAM, 3 touched; 2 on DDR, both touched.
	char *hbm = static_cast<char *>(MapOn(t, mcdram, 4 * page));
	char *dram = static_cast<char *>(MapOn(t, ddr, 2 * page));
	ASSERT_NE(hbm, nullptr);
	ASSERT_NE(dram, nullptr);
	memset(hbm, 1, 3 * page);
	memset(dram, 2, 2 * page);
	// An area's maps count too: 1 page on MCDRAM, touched.
	AML_AREA_DEVICE_DECL(area);
	const struct aml_device *dev = aml_topology_device(t, mcdram);
	ASSERT_EQ(aml_area_device_init(&area, t, &dev, 1, AML_POLICY_BIND,
	                               nullptr),
	          0);
	char *a = static_cast<char *>(aml_area_mmap(&area.base, page, nullptr));
	ASSERT_NE(a, nullptr);
	a[0] = 3;

	// Where the emulator places pages at map time (no userfaultfd, as
	// under valgrind), the untouched page is placed already.
	const size_t untouched = aml_emu_places_at_touch(t) == 1 ? page : 0;
	Usage u = UsageOf(t);
	EXPECT_EQ(u.total.mapped_bytes, 7 * page);
	EXPECT_EQ(u.total.peak_mapped_bytes, 7 * page);
	EXPECT_EQ(u.total.mappings, 3u);
	EXPECT_EQ(u.total.unplaced_bytes, untouched);
	EXPECT_EQ(u.devices[mcdram].resident_bytes, 5 * page - untouched);
	EXPECT_EQ(u.devices[mcdram].mappings, 2u);
	EXPECT_EQ(u.devices[ddr].resident_bytes, 2 * page);
	EXPECT_EQ(u.devices[ddr].mappings, 1u);
	// Bound to one device: counted there, touched or not.
	EXPECT_EQ(u.devices[mcdram].bound_bytes, 5 * page);
	EXPECT_EQ(u.devices[mcdram].peak_bound_bytes, 5 * page);
	EXPECT_EQ(u.devices[ddr].bound_bytes, 2 * page);

	// The totals alone locate nothing.
	struct aml_topology_usage totals = {};
	EXPECT_EQ(aml_topology_usage(t, &totals, nullptr, 0), 0);
	EXPECT_EQ(totals.mapped_bytes, 7 * page);
	EXPECT_EQ(totals.unplaced_bytes, 0u);

	// A partial unmap splits a map; the peak stays.
	ASSERT_EQ(aml_topology_unmap(t, hbm + page, page), 0);
	u = UsageOf(t);
	EXPECT_EQ(u.total.mapped_bytes, 6 * page);
	EXPECT_EQ(u.total.peak_mapped_bytes, 7 * page);
	EXPECT_EQ(u.total.mappings, 4u);
	EXPECT_EQ(u.devices[mcdram].resident_bytes, 4 * page - untouched);
	EXPECT_EQ(u.devices[mcdram].bound_bytes, 4 * page);
	EXPECT_EQ(u.devices[mcdram].peak_bound_bytes, 5 * page);
	EXPECT_EQ(u.devices[mcdram].mappings, 3u);

	ASSERT_EQ(aml_area_munmap(&area.base, a, page), 0);
	ASSERT_EQ(aml_topology_unmap(t, hbm, page), 0);
	ASSERT_EQ(aml_topology_unmap(t, hbm + 2 * page, 2 * page), 0);
	ASSERT_EQ(aml_topology_unmap(t, dram, 2 * page), 0);
	u = UsageOf(t);
	EXPECT_EQ(u.total.mapped_bytes, 0u);
	EXPECT_EQ(u.total.peak_mapped_bytes, 7 * page);
	EXPECT_EQ(u.total.mappings, 0u);
	EXPECT_EQ(u.devices[mcdram].resident_bytes, 0u);
	EXPECT_EQ(u.devices[ddr].resident_bytes, 0u);
	EXPECT_EQ(u.devices[mcdram].bound_bytes, 0u);
	EXPECT_EQ(u.devices[mcdram].peak_bound_bytes, 5 * page);
	EXPECT_EQ(u.devices[ddr].bound_bytes, 0u);
	EXPECT_EQ(u.devices[ddr].peak_bound_bytes, 2 * page);

	// Maps over both devices, or that may spill, are bound to none.
	struct aml_bitmap both;
	aml_bitmap_zero(&both);
	aml_bitmap_set(&both, ddr);
	aml_bitmap_set(&both, mcdram);
	void *spread =
	        aml_topology_map(t, &both, AML_POLICY_INTERLEAVE, 4 * page);
	ASSERT_NE(spread, nullptr);
	struct aml_bitmap one;
	aml_bitmap_zero(&one);
	aml_bitmap_set(&one, mcdram);
	void *preferred =
	        aml_topology_map(t, &one, AML_POLICY_PREFERRED, 2 * page);
	ASSERT_NE(preferred, nullptr);
	u = UsageOf(t);
	EXPECT_EQ(u.total.mapped_bytes, 6 * page);
	EXPECT_EQ(u.devices[mcdram].bound_bytes, 0u);
	EXPECT_EQ(u.devices[ddr].bound_bytes, 0u);
	ASSERT_EQ(aml_topology_unmap(t, spread, 4 * page), 0);
	ASSERT_EQ(aml_topology_unmap(t, preferred, 2 * page), 0);
	aml_area_device_fini(&area);
	aml_topology_destroy(&t);
}

TEST(TopologyUsage, OnThisMachineTheKernelPlacesABoundMapOnItsNode)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_topology_discover(&t), 0);
	const size_t page = aml_page_size();
	char *p = static_cast<char *>(MapOn(t, 0, 8 * page));
	ASSERT_NE(p, nullptr);
	memset(p, 1, 8 * page);
	Usage u = UsageOf(t);
	EXPECT_EQ(u.total.mapped_bytes, 8 * page);
	EXPECT_EQ(u.total.mappings, 1u);
	EXPECT_EQ(u.total.unplaced_bytes, 0u);
	EXPECT_EQ(u.devices[0].resident_bytes, 8 * page);
	EXPECT_EQ(u.devices[0].mappings, 1u);
	EXPECT_EQ(u.devices[0].bound_bytes, 8 * page);
	EXPECT_EQ(u.devices[0].peak_bound_bytes, 8 * page);
	ASSERT_EQ(aml_topology_unmap(t, p, 8 * page), 0);
	aml_topology_destroy(&t);
}

TEST(TopologyUsage, RefusesBadInputAndLeavesNothingHalfFilled)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "knl-flat;scale=1/64", nullptr), 0);
	struct aml_topology_usage total = {};
	struct aml_device_usage devices[3] = {};
	EXPECT_EQ(aml_topology_usage(nullptr, &total, devices, 2), AML_EINVAL);
	EXPECT_EQ(aml_topology_usage(t, nullptr, devices, 2), AML_EINVAL);
	EXPECT_EQ(aml_topology_usage(t, &total, nullptr, 2), AML_EINVAL);
	// knl-flat has two devices.
	EXPECT_EQ(aml_topology_usage(t, &total, devices, 3), AML_EINVAL);
	// Fewer entries than devices: pages elsewhere count as unplaced.
	const size_t page = aml_page_size();
	char *p = static_cast<char *>(MapOn(t, 1, page));
	ASSERT_NE(p, nullptr);
	p[0] = 1;
	EXPECT_EQ(aml_topology_usage(t, &total, devices, 1), 0);
	EXPECT_EQ(devices[0].resident_bytes, 0u);
	EXPECT_EQ(total.unplaced_bytes, page);
	ASSERT_EQ(aml_topology_unmap(t, p, page), 0);
	aml_topology_destroy(&t);
}

} // namespace
