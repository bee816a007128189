// SPDX-License-Identifier: BSD-3-Clause
// aml_topology_of_device(): a device no discovery makes (one written here,
// a memkind kind) placed through the one placement path, and the area that
// makes such a topology when it is given none.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <map>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/device/memkind.h>

namespace
{

size_t Page()
{
	return static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

bool Resident(const void *p)
{
	unsigned char v = 0;
	return mincore(const_cast<void *>(p), Page(), &v) == 0 && (v & 1) != 0;
}

// A device written here: anonymous memory, each live map recorded, so a
// test sees what reached map() and unmap() and what is still mapped.
class RecordingDevice
{
      public:
	explicit RecordingDevice(bool whole_only = false,
	                         size_t capacity = 0,
	                         bool knows_free = false)
	{
		ops_.map = Map;
		ops_.unmap = Unmap;
		ops_.free_bytes = knows_free ? FreeBytes : nullptr;
		ops_.unmaps_whole_only = whole_only;
		dev_.ops = &ops_;
		dev_.data = this;
		dev_.numa_id = -1;
		dev_.capacity = capacity;
		std::strcpy(dev_.name, "recording");
	}
	~RecordingDevice()
	{
		for (auto &[start, size] : live_)
			munmap(reinterpret_cast<void *>(start), size);
	}
	const struct aml_device *Device() const
	{
		return &dev_;
	}
	const std::map<uintptr_t, size_t> &Live() const
	{
		return live_;
	}
	int maps = 0;

      private:
	static RecordingDevice *Self(const struct aml_device *dev)
	{
		return static_cast<RecordingDevice *>(dev->data);
	}
	static void *Map(const struct aml_device *dev, size_t size)
	{
		RecordingDevice *self = Self(dev);
		self->maps++;
		void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			aml_errno = AML_ENOMEM;
			return nullptr;
		}
		self->live_[reinterpret_cast<uintptr_t>(p)] = size;
		return p;
	}
	// Whole maps, or (unless whole only) their head or tail.
	static int Unmap(const struct aml_device *dev, void *ptr, size_t size)
	{
		RecordingDevice *self = Self(dev);
		uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
		for (auto it = self->live_.begin(); it != self->live_.end();
		     ++it) {
			uintptr_t start = it->first, end = start + it->second;
			if (p < start || p + size > end)
				continue;
			if (self->ops_.unmaps_whole_only &&
			    (p != start || p + size != end))
				return AML_EINVAL;
			if (p != start && p + size != end)
				return AML_EINVAL; // a hole: not needed here
			munmap(ptr, size);
			size_t rest = it->second - size;
			self->live_.erase(it);
			if (rest != 0)
				self->live_[p == start ? p + size : start] =
				        rest;
			return 0;
		}
		return AML_EINVAL;
	}
	static int FreeBytes(const struct aml_device *, size_t *out)
	{
		*out = SIZE_MAX / 2;
		return 0;
	}
	struct aml_device_ops ops_ = {};
	struct aml_device dev_ = {};
	std::map<uintptr_t, size_t> live_;
};

struct aml_bitmap Only0()
{
	struct aml_bitmap set;
	aml_bitmap_zero(&set);
	aml_bitmap_set(&set, 0);
	return set;
}

// The device's own topology, and a BIND map of @p pages on it.
char *
MakeAndMap(const RecordingDevice &fake, size_t pages, struct aml_topology **t)
{
	EXPECT_EQ(aml_topology_of_device(t, fake.Device()), 0);
	struct aml_bitmap set = Only0();
	return static_cast<char *>(
	        aml_topology_map(*t, &set, AML_POLICY_BIND, pages * Page()));
}

TEST(TopologyOfDevice, BadInputIsRefusedAndMakesNothing)
{
	RecordingDevice fake;
	struct aml_topology *t = reinterpret_cast<struct aml_topology *>(1);
	EXPECT_EQ(aml_topology_of_device(nullptr, fake.Device()), AML_EINVAL);
	EXPECT_EQ(aml_topology_of_device(&t, nullptr), AML_EINVAL);
	EXPECT_EQ(t, nullptr);
	struct aml_device no_ops = {};
	EXPECT_EQ(aml_topology_of_device(&t, &no_ops), AML_EINVAL);
	struct aml_device_ops map_only = {};
	map_only.map = [](const struct aml_device *, size_t) -> void * {
		return nullptr;
	};
	struct aml_device half = {};
	half.ops = &map_only;
	EXPECT_EQ(aml_topology_of_device(&t, &half), AML_EINVAL);
	EXPECT_EQ(t, nullptr);
}

TEST(TopologyOfDevice, ItsOneDeviceIsACopyThatMapsThroughTheDevice)
{
	RecordingDevice fake;
	struct aml_topology *t = nullptr;
	char *p = MakeAndMap(fake, 3, &t);
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	ASSERT_EQ(aml_topology_ndevices(t), 1);
	const struct aml_device *copy = aml_topology_device(t, 0);
	EXPECT_STREQ(copy->name, "recording");
	EXPECT_EQ(copy->ops, fake.Device()->ops);
	EXPECT_EQ(copy->data, fake.Device()->data);
	EXPECT_EQ(aml_topology_index_of(t, copy), 0);
	EXPECT_EQ(fake.maps, 1);
	EXPECT_EQ(fake.Live().size(), 1u);
	EXPECT_EQ(aml_topology_unmap(t, p, 3 * Page()), 0);
	EXPECT_TRUE(fake.Live().empty());
	aml_topology_destroy(&t);
}

TEST(TopologyOfDevice, OnlyBindAndWithinTheCapacity)
{
	RecordingDevice fake(false, 4 * Page());
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_topology_of_device(&t, fake.Device()), 0);
	struct aml_bitmap set = Only0();
	for (enum aml_policy policy :
	     {AML_POLICY_PREFERRED, AML_POLICY_PREFERRED_MANY,
	      AML_POLICY_INTERLEAVE}) {
		aml_errno = 0;
		EXPECT_EQ(aml_topology_map(t, &set, policy, Page()), nullptr);
		EXPECT_EQ(aml_errno, AML_ENOTSUP) << policy;
	}
	aml_errno = 0;
	EXPECT_EQ(aml_topology_map(t, &set, AML_POLICY_BIND, 5 * Page()),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_EQ(fake.maps, 0) << "refused before the device maps";
	EXPECT_TRUE(fake.Live().empty());
	void *p = aml_topology_map(t, &set, AML_POLICY_BIND, 4 * Page());
	EXPECT_NE(p, nullptr) << aml_errname(aml_errno);
	aml_topology_destroy(&t);
}

TEST(TopologyOfDevice, LocateSaysDeviceZeroForTouchedPagesItMapped)
{
	RecordingDevice fake;
	struct aml_topology *t = nullptr;
	char *p = MakeAndMap(fake, 2, &t);
	ASSERT_NE(p, nullptr);
	p[0] = 1;
	int ids[2] = {7, 7};
	ASSERT_EQ(aml_topology_locate(t, p, 2, ids), 0);
	EXPECT_EQ(ids[0], 0);
	EXPECT_EQ(ids[1], AML_ENODEV) << "never touched";

	// A touched page from elsewhere is on no device of this topology.
	char *other = static_cast<char *>(
	        mmap(nullptr, Page(), PROT_READ | PROT_WRITE,
	             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	ASSERT_NE(other, MAP_FAILED);
	other[0] = 1;
	ASSERT_EQ(aml_topology_locate(t, other, 1, ids), 0);
	EXPECT_EQ(ids[0], AML_ENODEV);
	munmap(other, Page());
	ASSERT_EQ(aml_topology_locate(t, other, 1, ids), 0);
	EXPECT_EQ(ids[0], AML_EINVAL) << "not mapped at all";
	aml_topology_destroy(&t);
}

TEST(TopologyOfDevice, DestroyLeavesTheMapsToTheDevice)
{
	RecordingDevice fake;
	struct aml_topology *t = nullptr;
	char *p = MakeAndMap(fake, 2, &t);
	ASSERT_NE(p, nullptr);
	std::memset(p, 5, 2 * Page());
	aml_topology_destroy(&t);
	ASSERT_EQ(fake.Live().size(), 1u);
	EXPECT_EQ(p[2 * Page() - 1], 5);
	EXPECT_EQ(aml_device_unmap(fake.Device(), p, 2 * Page()), 0);
	EXPECT_TRUE(fake.Live().empty());
}

TEST(TopologyOfDevice, AWholeOnlyDeviceIsNeitherAlignedNorUnmappedInPart)
{
	RecordingDevice fake(true);
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_topology_of_device(&t, fake.Device()), 0);
	AML_AREA_DEVICE_DECL(area);
	const struct aml_device *dev = aml_topology_device(t, 0);
	ASSERT_EQ(aml_area_device_init(&area, t, &dev, 1, AML_POLICY_BIND,
	                               nullptr),
	          0);
	struct aml_area_mmap_options aligned = {1 << 20, false,
	                                        AML_PAGE_DEFAULT};
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&area.base, Page(), &aligned), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOTSUP);
	EXPECT_EQ(fake.maps, 0);
	char *p = static_cast<char *>(
	        aml_area_mmap(&area.base, 4 * Page(), nullptr));
	ASSERT_NE(p, nullptr);
	std::memset(p, 3, 4 * Page());
	EXPECT_EQ(aml_area_munmap(&area.base, p, Page()), AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(&area.base, p + 3 * Page(), Page()),
	          AML_EINVAL);
	EXPECT_EQ(p[3 * Page()], 3) << "nothing released";
	EXPECT_EQ(aml_area_munmap(&area.base, p, 4 * Page()), 0);
	EXPECT_TRUE(fake.Live().empty());
	aml_area_device_fini(&area);
	aml_topology_destroy(&t);
}

TEST(TopologyOfDevice, PopulateFaultsEveryPageInWhereTheDeviceKnowsItsFree)
{
	RecordingDevice counts(false, 0, true), blind;
	struct aml_topology *t = nullptr;
	struct aml_bitmap set = Only0();
	ASSERT_EQ(aml_topology_of_device(&t, counts.Device()), 0);
	char *p = static_cast<char *>(aml_topology_map_populate(
	        t, &set, AML_POLICY_BIND, 3 * Page()));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	for (size_t i = 0; i < 3; i++)
		EXPECT_TRUE(Resident(p + i * Page())) << "page " << i;
	aml_topology_destroy(&t);

	ASSERT_EQ(aml_topology_of_device(&t, blind.Device()), 0);
	aml_errno = 0;
	EXPECT_EQ(aml_topology_map_populate(t, &set, AML_POLICY_BIND, Page()),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOTSUP);
	EXPECT_EQ(blind.maps, 0);
	aml_topology_destroy(&t);
}

// Given no topology, the area makes the device's own: maps go through the
// device, and what the area leaves at fini is still the device's.
TEST(TopologyOfDevice, AnAreaWithoutTopologyLeavesItsMapsToTheDevice)
{
	RecordingDevice fake;
	const struct aml_device *dev = fake.Device();
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, nullptr, &dev, 1, AML_POLICY_BIND,
	                               nullptr),
	          0);
	char *kept = static_cast<char *>(
	        aml_area_mmap(&area.base, 2 * Page(), nullptr));
	char *gone =
	        static_cast<char *>(aml_area_mmap(&area.base, Page(), nullptr));
	ASSERT_NE(kept, nullptr);
	ASSERT_NE(gone, nullptr);
	EXPECT_EQ(aml_area_munmap(&area.base, gone, Page()), 0);
	// Another area over the same device cannot unmap this one's map.
	AML_AREA_DEVICE_DECL(other);
	ASSERT_EQ(aml_area_device_init(&other, nullptr, &dev, 1,
	                               AML_POLICY_BIND, nullptr),
	          0);
	EXPECT_EQ(aml_area_munmap(&other.base, kept, 2 * Page()), AML_EINVAL);
	aml_area_device_fini(&other);
	kept[0] = 9;
	aml_area_device_fini(&area);
	ASSERT_EQ(fake.Live().size(), 1u);
	EXPECT_EQ(kept[0], 9);
	EXPECT_EQ(aml_device_unmap(dev, kept, 2 * Page()), 0);
	EXPECT_TRUE(fake.Live().empty());
}

TEST(TopologyOfDevice, AMemkindKindIsAOneDeviceTopology)
{
	const struct aml_device *kind =
	        aml_memkind_device(AML_MEMKIND_HIGHEST_CAPACITY);
	if (kind == nullptr)
		GTEST_SKIP() << "no memkind: " << aml_errname(aml_errno);
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_topology_of_device(&t, kind), 0);
	struct aml_bitmap set = Only0();
	char *p = static_cast<char *>(
	        aml_topology_map(t, &set, AML_POLICY_BIND, 4 * Page()));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	std::memset(p, 1, 4 * Page());
	int ids[4];
	ASSERT_EQ(aml_topology_locate(t, p, 4, ids), 0);
	for (int id : ids)
		EXPECT_EQ(id, 0);
	// memkind frees whole allocations only, and says so.
	EXPECT_EQ(aml_topology_unmap(t, p, Page()), AML_EINVAL);
	EXPECT_EQ(aml_topology_unmap(t, p, 4 * Page()), 0);
	aml_topology_destroy(&t);
}

} // namespace
