// SPDX-License-Identifier: BSD-3-Clause
// 1 GiB hugetlb pages on the emulator (AML_PAGE_HUGETLB_1G): taken at map
// time from the tiers' 1 GiB pools (hugepages_1g), separate from the 2 MiB
// ones, under the map's policy; counted whole, located page by page, and
// moved whole, only into a free 1 GiB page of the target's pool (Linux 6.1
// makes no temporary gigantic page for a migration, where it makes one of
// 2 MiB). The machine's tiers hold GiBs, but its memory is mapped
// MAP_NORESERVE and placed by labels: a test touches a few base pages of
// this host, not GiBs. Each test runs with placement=touch and
// placement=map; hugetlb pages are placed at map time under both.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/binding/devices.h>
#include <aml/tiling/nd.h>

#include "tests/testing/emulated_pages.h"

namespace
{

constexpr size_t kMiB = 1 << 20;
constexpr size_t kGiB = size_t(1) << 30;

// fast: 3 GiB, two 1 GiB pages and two 2 MiB pages reserved, every CPU;
// slow: 4 GiB, one 1 GiB page; bare: 2 GiB, no pool.
const char *kMachine =
        "tier: name=fast, kind=HBM, capacity=3GiB, bw=400GB/s, "
        "latency=120ns, cpus=all, hugepages_1g=2, hugepages_2m=2;"
        "tier: name=slow, kind=DRAM, capacity=4GiB, bw=100GB/s, "
        "latency=100ns, hugepages_1g=1;"
        "tier: name=bare, kind=DRAM, capacity=2GiB, bw=100GB/s, "
        "latency=100ns";

std::string Detail()
{
	char buf[AML_ERROR_DETAIL_MAX];
	aml_error_detail(buf, sizeof(buf));
	return buf;
}

class EmulatorGiganticPages : public aml_testing::EmulatedPages,
                              public ::testing::WithParamInterface<const char *>
{
      protected:
	void SetUp() override
	{
		Make((std::string(kMachine) + ";placement=" + GetParam())
		             .c_str());
		unit = kGiB / aml_page_size();
	}
	// Maps of 1 GiB pages unless said.
	char *Map(const struct aml_area *area,
	          size_t size,
	          enum aml_page_kind pages = AML_PAGE_HUGETLB_1G)
	{
		return EmulatedPages::Map(area, size, pages);
	}
	size_t unit = 0;
};

TEST_P(EmulatorGiganticPages, ComeFromTheOneGigabytePoolInWholePages)
{
	const struct aml_area *area = Area({0});
	// The pools are not free memory: 3 GiB less 2 GiB and 4 MiB.
	size_t free_before = FreeBytes(0);
	EXPECT_EQ(free_before, 3 * kGiB - 2 * kGiB - 4 * kMiB);
	EXPECT_EQ(Stats(0).hugepages_1g, 2u);
	EXPECT_EQ(Stats(0).hugepages_1g_free, 2u);
	EXPECT_EQ(Stats(0).hugepages_2m, 2u);
	// 1.5 GiB rounds up to two 1 GiB pages: fast's whole pool.
	char *p = Map(area, kGiB + kGiB / 2);
	ASSERT_NE(p, nullptr) << Detail();
	EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kGiB, 0u);
	EXPECT_EQ(On(p, 0, 2 * unit, 0), 2 * unit);
	EXPECT_EQ(Stats(0).pages, 2 * unit);
	EXPECT_EQ(Stats(0).resident_bytes, 2 * kGiB);
	EXPECT_EQ(Stats(0).hugepages_1g_free, 0u);
	EXPECT_EQ(Stats(0).hugepages_2m_free, 2u);
	EXPECT_EQ(FreeBytes(0), free_before);
	// A few bytes of this host's memory, not a GiB.
	p[0] = 1;
	p[2 * kGiB - 1] = 2;
	EXPECT_EQ(p[2 * kGiB - 1], 2);
	// The 1 GiB pool is empty: a third page is refused, nothing mapped;
	// the 2 MiB pool is another pool, and still gives its pages.
	aml_errno = 0;
	EXPECT_EQ(Map(area, kGiB), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_NE(Detail().find("hugetlb pages of 1 GiB: 1 needed, 0 free on "
	                        "the bound devices"),
	          std::string::npos)
	        << Detail();
	EXPECT_EQ(Stats(0).pages, 2 * unit);
	char *small = Map(area, 2 * kMiB, AML_PAGE_HUGETLB_2M);
	ASSERT_NE(small, nullptr) << Detail();
	EXPECT_EQ(Stats(0).hugepages_2m_free, 1u);
	EXPECT_EQ(Stats(0).hugepages_1g_free, 0u);
	EXPECT_EQ(aml_area_munmap(area, small, 2 * kMiB), 0);
	// A part of the map starts on a 1 GiB page, not on a 2 MiB one.
	EXPECT_EQ(aml_area_munmap(area, p + 2 * kMiB, 2 * kMiB), AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(area, p + kGiB, kGiB), 0);
	EXPECT_EQ(Stats(0).pages, unit);
	EXPECT_EQ(Stats(0).hugepages_1g_free, 1u);
	// The page given back is in the pool again.
	char *q = Map(area, kGiB);
	ASSERT_NE(q, nullptr) << Detail();
	EXPECT_EQ(aml_area_munmap(area, q, kGiB), 0);
	EXPECT_EQ(aml_area_munmap(area, p, kGiB), 0);
	EXPECT_EQ(Stats(0).pages, 0u);
	EXPECT_EQ(Stats(0).hugepages_1g_free, 2u);
	EXPECT_EQ(FreeBytes(0), free_before);
}

TEST_P(EmulatorGiganticPages, WithoutAPoolIsEnomemWithTheReason)
{
	aml_errno = 0;
	EXPECT_EQ(Map(Area({2}), kGiB), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_NE(Detail().find("hugetlb pages of 1 GiB: 1 needed, 0 free on "
	                        "the bound devices"),
	          std::string::npos)
	        << Detail();
	EXPECT_EQ(Stats(2).pages, 0u);
	// Two pages BIND over slow and bare: slow has one.
	aml_errno = 0;
	EXPECT_EQ(Map(Area({1, 2}), 2 * kGiB), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_NE(Detail().find("2 needed, 1 free"), std::string::npos)
	        << Detail();
	// A machine without 1 GiB pools says so, and names the key.
	struct aml_topology *other = nullptr;
	ASSERT_EQ(aml_emu_create(&other,
	                         "tier: name=a, kind=DRAM, capacity=4GiB, "
	                         "bw=1GB/s, latency=1ns, hugepages_2m=4",
	                         nullptr),
	          0);
	const struct aml_device *dev = aml_topology_device(other, 0);
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, other, &dev, 1, AML_POLICY_BIND,
	                               nullptr),
	          0);
	struct aml_area_mmap_options o = {};
	o.pages = AML_PAGE_HUGETLB_1G;
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&area.base, kMiB, &o), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_NE(Detail().find("no 1 GiB huge pages reserved on the emulated "
	                        "machine (tier key hugepages_1g)"),
	          std::string::npos)
	        << Detail();
	aml_area_device_fini(&area);
	aml_topology_destroy(&other);
}

TEST_P(EmulatorGiganticPages, PreferredFallsBackToAPoolWithAFreePage)
{
	// bare has no 1 GiB page: the page goes whole to the first device
	// of bare's fallback order whose pool has one.
	const struct aml_area *area = Area({2}, AML_POLICY_PREFERRED);
	char *p = Map(area, kGiB);
	ASSERT_NE(p, nullptr) << Detail();
	int id = Locate(p, 1)[0];
	ASSERT_TRUE(id == 0 || id == 1) << id;
	EXPECT_EQ(On(p, 0, unit, id), unit);
	EXPECT_EQ(Stats(id).hugepages_1g_free, id == 0 ? 1u : 0u);
	EXPECT_EQ(Stats(2).pages, 0u);
	EXPECT_EQ(aml_area_munmap(area, p, kGiB), 0);
	EXPECT_EQ(Stats(id).pages, 0u);
}

TEST_P(EmulatorGiganticPages, InterleaveGoesByThePageNumberWithinTheMap)
{
	// As for 2 MiB hugetlb pages, by the huge page's number within the
	// map (6.1's interleave_nid() with the hstate's shift): fast, slow,
	// fast.
	const struct aml_area *area = Area({0, 1}, AML_POLICY_INTERLEAVE);
	char *p = Map(area, 3 * kGiB);
	ASSERT_NE(p, nullptr) << Detail();
	EXPECT_EQ(On(p, 0, unit, 0), unit);
	EXPECT_EQ(On(p, unit, unit, 1), unit);
	EXPECT_EQ(On(p, 2 * unit, unit, 0), unit);
	EXPECT_EQ(Stats(0).hugepages_1g_free, 0u);
	EXPECT_EQ(Stats(1).hugepages_1g_free, 0u);
	EXPECT_EQ(aml_area_munmap(area, p, 3 * kGiB), 0);
	EXPECT_EQ(Stats(0).hugepages_1g_free + Stats(1).hugepages_1g_free, 3u);
}

TEST_P(EmulatorGiganticPages, MovesWholeOnlyIntoAFreePageOfTheTargetsPool)
{
	const struct aml_area *area = Area({0});
	char *p = Map(area, 2 * kGiB);
	ASSERT_NE(p, nullptr) << Detail();
	// A part of a 1 GiB page is refused, as mbind() refuses to split
	// the hugetlb VMA there, even on a 2 MiB boundary.
	aml_errno = 0;
	EXPECT_EQ(aml_device_move(Dev(1), p + 2 * kMiB, 2 * kMiB), AML_EINVAL);
	EXPECT_NE(Detail().find("part of a 1 GiB hugetlb page"),
	          std::string::npos)
	        << Detail();
	EXPECT_EQ(aml_device_move(Dev(1), p, kGiB + 2 * kMiB), AML_EINVAL);
	EXPECT_EQ(Stats(1).pages_moved_in, 0u);
	// The second page, whole, into slow's free 1 GiB page.
	ASSERT_EQ(aml_device_move(Dev(1), p + kGiB, kGiB), 0) << Detail();
	EXPECT_EQ(On(p, 0, unit, 0), unit);
	EXPECT_EQ(On(p, unit, unit, 1), unit);
	EXPECT_EQ(Stats(1).pages_moved_in, unit);
	EXPECT_EQ(Stats(0).pages_moved_out, unit);
	EXPECT_EQ(Stats(1).hugepages_1g_free, 0u);
	EXPECT_EQ(Stats(0).hugepages_1g_free, 1u);
	EXPECT_EQ(Stats(0).pages, unit);
	// bare has free memory for it but no 1 GiB pool: unlike a 2 MiB
	// page, a gigantic one gets no fresh page there (6.1's
	// alloc_migrate_huge_page() refuses gigantic hstates). Nothing
	// moves, and the move says so, as for a full target.
	size_t bare_free = FreeBytes(2);
	EXPECT_EQ(aml_device_move(Dev(2), p, kGiB), AML_FAILURE);
	EXPECT_EQ(On(p, 0, unit, 0), unit);
	EXPECT_EQ(Stats(2).pages, 0u);
	EXPECT_EQ(Stats(2).hugepages_1g, 0u);
	EXPECT_EQ(FreeBytes(2), bare_free);
	// slow's pool is full now: the first page stays on fast too.
	EXPECT_EQ(aml_device_move(Dev(1), p, kGiB), AML_FAILURE);
	EXPECT_EQ(On(p, 0, unit, 0), unit);
	// With a page reserved on bare, it moves there.
	uint64_t reserved = 0;
	ASSERT_EQ(aml_emu_set_hugepages_1g(t, 2, 1, &reserved), 0);
	ASSERT_EQ(reserved, 1u);
	ASSERT_EQ(aml_device_move(Dev(2), p, kGiB), 0) << Detail();
	EXPECT_EQ(On(p, 0, unit, 2), unit);
	EXPECT_EQ(On(p, unit, unit, 1), unit);
	EXPECT_EQ(Stats(2).hugepages_1g_free, 0u);
	EXPECT_EQ(Stats(0).hugepages_1g_free, 2u);
	// Both back onto fast, whose pool has both pages free again.
	EXPECT_EQ(aml_device_move(Dev(0), p, 2 * kGiB), 0) << Detail();
	EXPECT_EQ(On(p, 0, 2 * unit, 0), 2 * unit);
	EXPECT_EQ(aml_area_munmap(area, p, 2 * kGiB), 0);
	EXPECT_EQ(Stats(0).pages + Stats(1).pages + Stats(2).pages, 0u);
	EXPECT_EQ(Stats(0).hugepages_1g_free, 2u);
	EXPECT_EQ(Stats(1).hugepages_1g_free, 1u);
	EXPECT_EQ(Stats(2).hugepages_1g_free, 1u);
}

TEST_P(EmulatorGiganticPages, ABindingOfOneGigabyteTilesMovesWholePages)
{
	uint64_t reserved = 0;
	ASSERT_EQ(aml_emu_set_hugepages_1g(t, 1, 2, &reserved), 0);
	ASSERT_EQ(reserved, 2u);
	const struct aml_area *area = Area({1});
	char *p = Map(area, 2 * kGiB);
	ASSERT_NE(p, nullptr) << Detail();
	// Two tiles of 1 GiB interleaved over fast and slow.
	struct aml_layout bytes;
	struct aml_tiling_nd tiling;
	size_t dims[1] = {2 * kGiB}, tile[1] = {kGiB};
	ASSERT_EQ(aml_layout_init(&bytes, p, AML_LAYOUT_ORDER_C, 1, 1, dims,
	                          nullptr),
	          0);
	ASSERT_EQ(aml_tiling_nd_init(&tiling, &bytes, tile,
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	const struct aml_device *two[2] = {Dev(0), Dev(1)};
	struct aml_binding *b = nullptr;
	ASSERT_EQ(aml_binding_devices_create(&b, two, 2, AML_BINDING_INTERLEAVE,
	                                     AML_BINDING_TILE),
	          0);
	ASSERT_EQ(aml_binding_apply(b, &tiling.base, p), 0) << Detail();
	EXPECT_EQ(On(p, 0, unit, 0), unit);
	EXPECT_EQ(On(p, unit, unit, 1), unit);
	EXPECT_EQ(Stats(0).pages_moved_in, unit);
	size_t misplaced = 1;
	EXPECT_EQ(aml_binding_check(b, t, &tiling.base, p, nullptr, 0,
	                            &misplaced),
	          0);
	EXPECT_EQ(misplaced, 0u);
	aml_binding_devices_destroy(&b);
	aml_tiling_nd_fini(&tiling);
	EXPECT_EQ(aml_area_munmap(area, p, 2 * kGiB), 0);
}

TEST_P(EmulatorGiganticPages, APoolIsSetAtRunTimeAsNrHugepagesIs)
{
	const struct aml_area *area = Area({2});
	uint64_t reserved = 99;
	EXPECT_EQ(Map(area, kGiB), nullptr);
	// bare holds 2 GiB: five asked, two reserved, and no free memory is
	// left for base pages.
	ASSERT_EQ(aml_emu_set_hugepages_1g(t, 2, 5, &reserved), 0);
	EXPECT_EQ(reserved, 2u);
	EXPECT_EQ(FreeBytes(2), 0u);
	EXPECT_EQ(Stats(2).hugepages_1g, 2u);
	// Its 2 MiB pool has no room left either.
	ASSERT_EQ(aml_emu_set_hugepages_2m(t, 2, 1, &reserved), 0);
	EXPECT_EQ(reserved, 0u);
	char *p = Map(area, kGiB);
	ASSERT_NE(p, nullptr) << Detail();
	EXPECT_EQ(On(p, 0, unit, 2), unit);
	// Shrunk below what is mapped: the mapped page stays.
	ASSERT_EQ(aml_emu_set_hugepages_1g(t, 2, 0, &reserved), 0);
	EXPECT_EQ(reserved, 1u);
	EXPECT_EQ(FreeBytes(2), kGiB);
	EXPECT_EQ(aml_area_munmap(area, p, kGiB), 0);
	ASSERT_EQ(aml_emu_set_hugepages_1g(t, 2, 0, &reserved), 0);
	EXPECT_EQ(reserved, 0u);
	EXPECT_EQ(FreeBytes(2), 2 * kGiB);
	// Bad arguments change nothing.
	EXPECT_EQ(aml_emu_set_hugepages_1g(nullptr, 0, 1, &reserved),
	          AML_EINVAL);
	EXPECT_EQ(aml_emu_set_hugepages_1g(t, 3, 1, &reserved), AML_EDOM);
	EXPECT_EQ(reserved, 0u);
	EXPECT_EQ(Stats(2).hugepages_1g, 0u);
}

INSTANTIATE_TEST_SUITE_P(Placement,
                         EmulatorGiganticPages,
                         ::testing::Values("touch", "map"));

TEST(EmulatorGiganticPagesSpec, PoolIsACountOfHugePages)
{
	struct aml_topology *t = nullptr;
	struct aml_emu_error error = {};
	std::string bad = "tier: name=a, kind=DRAM, capacity=4GiB, "
	                  "bw=1GB/s, latency=1ns, hugepages_1g=x";
	EXPECT_EQ(aml_emu_create(&t, bad.c_str(), &error), AML_EINVAL);
	EXPECT_NE(std::string(error.reason).find("not a number"),
	          std::string::npos)
	        << error.reason;
	EXPECT_EQ(error.offset, bad.find("=x") + 1);
	for (const char *value : {"4x", "-1", "1GiB", ""}) {
		std::string spec = "tier: name=a, kind=DRAM, capacity=4GiB, "
		                   "bw=1GB/s, latency=1ns, hugepages_1g=" +
		                   std::string(value);
		EXPECT_EQ(aml_emu_create(&t, spec.c_str(), &error), AML_EINVAL)
		        << value;
	}
	EXPECT_EQ(aml_emu_create(&t,
	                         "tier: name=a, kind=DRAM, capacity=4GiB, "
	                         "bw=1GB/s, latency=1ns, hugepages_1g=1, "
	                         "hugepages_1g=2",
	                         &error),
	          AML_EINVAL);
	// More than the tier holds: as many as fit, 1 GiB pages first, then
	// 2 MiB ones from what is left (1 GiB + 4 MiB: one and two).
	ASSERT_EQ(aml_emu_create(&t,
	                         "tier: name=a, kind=DRAM, capacity=1028MiB, "
	                         "bw=1GB/s, latency=1ns, hugepages_2m=100, "
	                         "hugepages_1g=100",
	                         &error),
	          0)
	        << error.reason;
	struct aml_emu_stats s = {};
	ASSERT_EQ(aml_emu_stats(t, 0, &s), 0);
	EXPECT_EQ(s.hugepages_1g, 1u);
	EXPECT_EQ(s.hugepages_2m, 2u);
	size_t free = 1;
	EXPECT_EQ(aml_device_free_bytes(aml_topology_device(t, 0), &free), 0);
	EXPECT_EQ(free, 0u);
	aml_topology_destroy(&t);
	// Scaled below 1 GiB, a tier holds no 1 GiB page.
	ASSERT_EQ(aml_emu_create(&t,
	                         "tier: name=a, kind=DRAM, capacity=16GiB, "
	                         "bw=1GB/s, latency=1ns, hugepages_1g=4;"
	                         "scale=1/64",
	                         &error),
	          0)
	        << error.reason;
	ASSERT_EQ(aml_emu_stats(t, 0, &s), 0);
	EXPECT_EQ(s.hugepages_1g, 0u);
	aml_topology_destroy(&t);
}

} // namespace
