// SPDX-License-Identifier: BSD-3-Clause
// aml_error_detail(): what aml knew when it returned an error, on emulated
// knl-flat: a BIND past capacity, a populate past free memory, a weighted
// share past a device's capacity, fast memory missing under a policy that
// needs it. The detail is per thread, and stays with the code it explains.
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/fast.h>

namespace
{

std::string Detail(int *code)
{
	char buf[AML_ERROR_DETAIL_MAX];
	*code = aml_error_detail(buf, sizeof(buf));
	return buf;
}

struct Knl {
	struct aml_topology *t = nullptr;
	Knl()
	{
		EXPECT_EQ(aml_emu_create(&t, "knl-flat;scale=1/64", nullptr),
		          0);
	}
	~Knl()
	{
		aml_topology_destroy(&t);
	}
	struct aml_bitmap Set(size_t index) const
	{
		struct aml_bitmap set;
		aml_bitmap_zero(&set);
		aml_bitmap_set(&set, index);
		return set;
	}
};

TEST(ErrorDetail, NoneInAFreshThread)
{
	std::thread([] {
		char buf[8] = "x";
		EXPECT_EQ(aml_error_detail(buf, sizeof(buf)), 0);
		EXPECT_STREQ(buf, "");
		EXPECT_EQ(aml_error_detail(nullptr, 0), 0);
	}).join();
}

TEST(ErrorDetail, BindPastCapacityNamesTheDeviceAndItsCapacity)
{
	Knl knl;
	struct aml_bitmap mcdram = knl.Set(1);
	EXPECT_EQ(aml_topology_map(knl.t, &mcdram, AML_POLICY_BIND, 1ul << 30),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	int code;
	EXPECT_EQ(Detail(&code),
	          "BIND of 1073741824 bytes on mcdram: capacity 268435456 "
	          "bytes");
	EXPECT_EQ(code, AML_ENOMEM);
	// An error aml does not explain leaves the detail, with its code.
	EXPECT_EQ(aml_topology_map(knl.t, nullptr, AML_POLICY_BIND, 4096),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	Detail(&code);
	EXPECT_EQ(code, AML_ENOMEM);
	// Another thread has its own.
	std::thread([] { EXPECT_EQ(aml_error_detail(nullptr, 0), 0); }).join();
}

TEST(ErrorDetail, PopulatePastFreeMemorySaysWhatWasFree)
{
	Knl knl;
	struct aml_bitmap mcdram = knl.Set(1);
	size_t most = 200ul << 20;
	void *p = aml_topology_map_populate(knl.t, &mcdram, AML_POLICY_BIND,
	                                    most);
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(aml_topology_map_populate(knl.t, &mcdram, AML_POLICY_BIND,
	                                    100ul << 20),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	int code;
	std::string detail = Detail(&code);
	EXPECT_EQ(code, AML_ENOMEM);
	EXPECT_EQ(detail.find("populating 104857600 bytes on mcdram: "), 0u)
	        << detail;
	EXPECT_NE(detail.find("bytes free"), std::string::npos) << detail;
	EXPECT_EQ(aml_topology_unmap(knl.t, p, most), 0);
}

TEST(ErrorDetail, WeightedShareNamesTheDevice)
{
	Knl knl;
	const struct aml_device *devs[2] = {aml_topology_device(knl.t, 0),
	                                    aml_topology_device(knl.t, 1)};
	unsigned weights[2] = {1, 1};
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, knl.t, devs, 2,
	                               AML_POLICY_WEIGHTED_INTERLEAVE, weights),
	          0);
	EXPECT_EQ(aml_area_mmap(&area.base, 1ul << 30, nullptr), nullptr);
	int code;
	std::string detail = Detail(&code);
	EXPECT_EQ(code, AML_ENOMEM);
	EXPECT_EQ(detail,
	          "WEIGHTED_INTERLEAVE of 1073741824 bytes puts 536870912 on "
	          "mcdram: its capacity is 268435456 bytes");
	aml_area_device_fini(&area);
}

TEST(ErrorDetail, FastMemoryMissingSaysWhy)
{
	struct aml_topology *one = nullptr;
	ASSERT_EQ(aml_emu_create(&one, "single", nullptr), 0);
	struct aml_fast_memory *f = nullptr;
	struct aml_fast_options o = {};
	o.policy = AML_FAST_BIND;
	EXPECT_EQ(aml_fast_memory_create(&f, one, &o), AML_ENODEV);
	int code;
	std::string detail = Detail(&code);
	EXPECT_EQ(code, AML_ENODEV);
	EXPECT_EQ(detail.find("bind policy: no fast memory: none of the 1 "
	                      "devices is HBM"),
	          0u)
	        << detail;
	aml_topology_destroy(&one);
}

} // namespace
