// SPDX-License-Identifier: BSD-3-Clause
// The one placement path (aml/src/placement.c) seen from its callers: one
// policy enum for topologies and areas, one registry whose ranges carry an
// owner, and devices that declare what their unmap can release.
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>

#include "tests/testing/emulated.h"

namespace
{

size_t Page()
{
	return aml_page_size();
}

// The area's former names are the topology's policies.
static_assert(AML_AREA_BIND == AML_POLICY_BIND, "");
static_assert(AML_AREA_PREFERRED == AML_POLICY_PREFERRED, "");
static_assert(AML_AREA_INTERLEAVE == AML_POLICY_INTERLEAVE, "");
static_assert(AML_AREA_WEIGHTED_INTERLEAVE == AML_POLICY_WEIGHTED_INTERLEAVE,
              "");
static_assert(AML_AREA_FIRST_TOUCH == AML_POLICY_LOCAL, "");
static_assert(AML_AREA_POLICY_COUNT == AML_POLICY_COUNT, "");

class Placement : public aml_testing::Emulated
{
      protected:
	size_t Resident(size_t device)
	{
		struct aml_emu_stats s = {};
		EXPECT_EQ(aml_emu_stats(t, device, &s), 0);
		return s.pages;
	}
	// An emulated knl-flat, and @p area a weighted interleave over its
	// DDR (weight w0) and MCDRAM (w1).
	void MakeWeightedOverTwo(struct aml_area_device *area,
	                         unsigned w0,
	                         unsigned w1)
	{
		Make("knl-flat;scale=1/64");
		const struct aml_device *two[2] = {Dev(0), Dev(1)};
		const unsigned weights[2] = {w0, w1};
		ASSERT_EQ(aml_area_device_init(area, t, two, 2,
		                               AML_POLICY_WEIGHTED_INTERLEAVE,
		                               weights),
		          0);
	}
};

TEST_F(Placement, OldAreaPolicyTypeNameStillCompiles)
{
	enum aml_area_policy old = AML_AREA_FIRST_TOUCH;
	enum aml_policy policy = old;
	EXPECT_EQ(policy, AML_POLICY_LOCAL);
}

// PREFERRED_MANY through an area: the set while it has room, then the
// others, page for page as aml_topology_map() places it.
TEST_F(Placement, APreferredManyAreaSpillsAsTopologyMapDoes)
{
	Make("qemu-3node;scale=1/256");
	const struct aml_device *pair[2] = {Dev(1), Dev(2)};
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, t, pair, 2,
	                               AML_POLICY_PREFERRED_MANY, nullptr),
	          0);
	size_t n = (Dev(1)->capacity + Dev(2)->capacity) / Page() + 4;
	char *p = static_cast<char *>(
	        aml_area_mmap(&area.base, n * Page(), nullptr));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	std::vector<int> by_area = Placed(p, n);
	ASSERT_EQ(aml_area_munmap(&area.base, p, n * Page()), 0);

	struct aml_bitmap set;
	aml_bitmap_zero(&set);
	aml_bitmap_set(&set, 1);
	aml_bitmap_set(&set, 2);
	p = static_cast<char *>(aml_topology_map(
	        t, &set, AML_POLICY_PREFERRED_MANY, n * Page()));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(Placed(p, n), by_area);
	ASSERT_EQ(aml_topology_unmap(t, p, n * Page()), 0);

	size_t spilled = 0;
	for (int id : by_area)
		spilled += id == 0;
	EXPECT_EQ(spilled, 4u); // the set filled, the rest on node0
	aml_area_device_fini(&area);
}

TEST_F(Placement, APreferredManyAreaPrintsItsPolicy)
{
	Make("qemu-3node;scale=1/256");
	const struct aml_device *pair[2] = {Dev(1), Dev(2)};
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, t, pair, 2,
	                               AML_POLICY_PREFERRED_MANY, nullptr),
	          0);
	char buf[256] = {};
	FILE *out = fmemopen(buf, sizeof(buf) - 1, "w");
	ASSERT_NE(out, nullptr);
	EXPECT_EQ(aml_area_print(&area.base, out, ""), 0);
	fclose(out);
	EXPECT_NE(std::strstr(buf, "preferred-many"), nullptr) << buf;
	aml_area_device_fini(&area);
}

// Weights come with an area; the topology alone has none to give.
TEST_F(Placement, TopologyMapRefusesAWeightedInterleaveWithoutWeights)
{
	Make("qemu-3node;scale=1/256");
	struct aml_bitmap set;
	aml_bitmap_zero(&set);
	aml_bitmap_set(&set, 0);
	aml_errno = 0;
	EXPECT_EQ(aml_topology_map(t, &set, AML_POLICY_WEIGHTED_INTERLEAVE,
	                           Page()),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(Resident(0), 0u);
}

// One registry, two owners: neither releases the other's range.
TEST_F(Placement, TheTopologyAndAnAreaUnmapOnlyTheirOwnRanges)
{
	Make("qemu-3node;scale=1/256");
	const struct aml_device *pair[2] = {Dev(0), Dev(1)};
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, t, pair, 2, AML_POLICY_INTERLEAVE,
	                               nullptr),
	          0);
	struct aml_bitmap set;
	aml_bitmap_zero(&set);
	aml_bitmap_set(&set, 0);
	aml_bitmap_set(&set, 1);
	char *mine = static_cast<char *>(
	        aml_area_mmap(&area.base, 2 * Page(), nullptr));
	ASSERT_NE(mine, nullptr);
	char *theirs = static_cast<char *>(
	        aml_topology_map(t, &set, AML_POLICY_INTERLEAVE, 2 * Page()));
	ASSERT_NE(theirs, nullptr);
	EXPECT_EQ(aml_topology_unmap(t, mine, 2 * Page()), AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(&area.base, theirs, 2 * Page()), AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(&area.base, theirs, Page()), AML_EINVAL);
	std::memset(mine, 1, 2 * Page()); // both still mapped
	std::memset(theirs, 2, 2 * Page());
	EXPECT_EQ(aml_area_munmap(&area.base, mine, 2 * Page()), 0);
	EXPECT_EQ(aml_topology_unmap(t, theirs, 2 * Page()), 0);
	EXPECT_EQ(Resident(0) + Resident(1), 0u);
	aml_area_device_fini(&area);
}

// fini leaves the area's mappings valid, the topology's now: an area made
// again in the same storage cannot unmap them, the topology can.
TEST_F(Placement, AFinalisedAreasMappingsPassToTheTopology)
{
	Make("qemu-3node;scale=1/256");
	const struct aml_device *node1 = Dev(1);
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, t, &node1, 1, AML_POLICY_BIND,
	                               nullptr),
	          0);
	char *p = static_cast<char *>(
	        aml_area_mmap(&area.base, 3 * Page(), nullptr));
	ASSERT_NE(p, nullptr);
	aml_area_device_fini(&area);
	std::memset(p, 7, 3 * Page());
	EXPECT_EQ(Locate(p, 3), std::vector<int>(3, 1));
	ASSERT_EQ(aml_area_device_init(&area, t, &node1, 1, AML_POLICY_BIND,
	                               nullptr),
	          0);
	EXPECT_EQ(aml_area_munmap(&area.base, p, 3 * Page()), AML_EINVAL);
	EXPECT_EQ(p[3 * Page() - 1], 7);
	EXPECT_EQ(aml_topology_unmap(t, p, 3 * Page()), 0);
	EXPECT_EQ(Resident(1), 0u);
	aml_area_device_fini(&area);
}

// An aligned map over-maps and trims in the topology's backend: the
// registry records the aligned range only, which unmaps in parts.
TEST_F(Placement, AnAlignedWeightedMapIsRecordedAlignedAndPlacedByWeight)
{
	AML_AREA_DEVICE_DECL(area);
	ASSERT_NO_FATAL_FAILURE(MakeWeightedOverTwo(&area, 1, 1));
	struct aml_area_mmap_options opts = {1 << 20, false, AML_PAGE_DEFAULT};
	char *p = static_cast<char *>(
	        aml_area_mmap(&area.base, 4 * Page(), &opts));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ((uintptr_t)p % (1 << 20), 0u);
	EXPECT_EQ(Placed(p, 4), (std::vector<int>{0, 1, 0, 1}));
	EXPECT_EQ(Resident(0) + Resident(1), 4u); // head and tail went back
	EXPECT_EQ(aml_area_munmap(&area.base, p - Page(), Page()), AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(&area.base, p + Page(), 2 * Page()), 0);
	EXPECT_EQ(aml_area_munmap(&area.base, p, Page()), 0);
	EXPECT_EQ(aml_area_munmap(&area.base, p + 3 * Page(), Page()), 0);
	EXPECT_EQ(Resident(0) + Resident(1), 0u);
	aml_area_device_fini(&area);
}

// The runs of an aligned weighted map start at the aligned address, as the
// policy promises (pages 0..w0-1 on the first device): they used to start
// at the over-mapped head, so the first page's device depended on where
// the kernel put the mapping. With weights 1:1000 and a 2 MiB alignment,
// runs counted from the head put page 0 on the second device unless the
// head happened to be empty (one chance in 512).
TEST_F(Placement, AnAlignedWeightedMapStartsItsRunsAtTheAlignedAddress)
{
	AML_AREA_DEVICE_DECL(area);
	ASSERT_NO_FATAL_FAILURE(MakeWeightedOverTwo(&area, 1, 1000));
	struct aml_area_mmap_options opts = {2 << 20, false, AML_PAGE_DEFAULT};
	for (int attempt = 0; attempt < 4; attempt++) {
		char *p = static_cast<char *>(
		        aml_area_mmap(&area.base, 4 * Page(), &opts));
		ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
		EXPECT_EQ(Placed(p, 4), (std::vector<int>{0, 1, 1, 1}));
		EXPECT_EQ(aml_area_munmap(&area.base, p, 4 * Page()), 0);
	}
	aml_area_device_fini(&area);
}

// A device written here that frees whole maps only, and says so: an aligned
// map, which would have to give back its ends, never reaches map().
class WholeOnlyDevice
{
      public:
	WholeOnlyDevice()
	{
		dev_.ops = &ops_;
		dev_.data = this;
		dev_.numa_id = -1;
	}
	const struct aml_device *Device() const
	{
		return &dev_;
	}
	int maps = 0;

      private:
	static void *Map(const struct aml_device *dev, size_t size)
	{
		static_cast<WholeOnlyDevice *>(dev->data)->maps++;
		void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			aml_errno = AML_ENOMEM;
			return nullptr;
		}
		return p;
	}
	static int Unmap(const struct aml_device *, void *ptr, size_t size)
	{
		return munmap(ptr, size) == 0 ? 0 : AML_EINVAL;
	}
	static constexpr struct aml_device_ops ops_ = {.map = Map,
	                                               .unmap = Unmap,
	                                               .move = nullptr,
	                                               .free_bytes = nullptr,
	                                               .unmaps_whole_only =
	                                                       true};
	struct aml_device dev_ = {};
};

TEST(PlacementDevice, AnAlignedMapOnAWholeOnlyDeviceIsRefusedBeforeMapping)
{
	WholeOnlyDevice fake;
	const struct aml_device *dev = fake.Device();
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, nullptr, &dev, 1, AML_POLICY_BIND,
	                               nullptr),
	          0);
	struct aml_area_mmap_options opts = {1 << 20, false, AML_PAGE_DEFAULT};
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&area.base, Page(), &opts), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOTSUP);
	EXPECT_EQ(fake.maps, 0);
	void *p = aml_area_mmap(&area.base, Page(), nullptr);
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(fake.maps, 1);
	EXPECT_EQ(aml_area_munmap(&area.base, p, Page()), 0);
	aml_area_device_fini(&area);
}

} // namespace
