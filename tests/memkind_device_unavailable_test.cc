// SPDX-License-Identifier: BSD-3-Clause
// memkind devices on a machine without high-bandwidth memory: no
// MEMKIND_HBW_NODES here, so memkind decides from HMAT, and this machine has
// none. On a machine with HBM the HBW cases skip.
#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/device.h>
#include <aml/device/memkind.h>

namespace
{

// Every test: skips when aml was built without memkind
// (--config=no_memkind), where memkind_device_absent_test covers the API.
class MemkindDeviceUnavailable : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		if (aml_backend_is_built(AML_BACKEND_MEMKIND) != 1)
			GTEST_SKIP() << "aml built without memkind";
	}
};

TEST_F(MemkindDeviceUnavailable, HbwIsNoDeviceAndStaysSo)
{
	if (aml_memkind_device(AML_MEMKIND_HBW) != nullptr)
		GTEST_SKIP() << "this machine has HBM";
	// Asked twice: the answer is decided once and cached.
	for (int i = 0; i < 2; i++) {
		aml_errno = 0;
		EXPECT_EQ(aml_memkind_device(AML_MEMKIND_HBW), nullptr);
		EXPECT_EQ(aml_errno, AML_ENODEV) << aml_errname(aml_errno);
	}
}

TEST_F(MemkindDeviceUnavailable, HbwPreferredIsNoDeviceEither)
{
	if (aml_memkind_device(AML_MEMKIND_HBW) != nullptr)
		GTEST_SKIP() << "this machine has HBM";
	// memkind 1.14 checks HBW_PREFERRED as HBW: without high-bandwidth
	// nodes it is not available, although it would fall back to DDR.
	aml_errno = 0;
	EXPECT_EQ(aml_memkind_device(AML_MEMKIND_HBW_PREFERRED), nullptr);
	EXPECT_EQ(aml_errno, AML_ENODEV) << aml_errname(aml_errno);
}

TEST_F(MemkindDeviceUnavailable, HighestCapacityStillMapsAndUnmaps)
{
	const struct aml_device *dev =
	        aml_memkind_device(AML_MEMKIND_HIGHEST_CAPACITY);
	ASSERT_NE(dev, nullptr) << aml_errname(aml_errno);
	EXPECT_STREQ(dev->name, "memkind:highest_capacity");
	EXPECT_EQ(dev->kind, AML_DEVICE_DRAM);
	EXPECT_GT(dev->capacity, 0u);

	const size_t size = 64 * aml_page_size();
	auto *ptr = static_cast<unsigned char *>(aml_device_map(dev, size));
	ASSERT_NE(ptr, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(reinterpret_cast<uintptr_t>(ptr) % aml_page_size(), 0u);
	memset(ptr, 0xa5, size);
	EXPECT_EQ(ptr[0], 0xa5);
	EXPECT_EQ(ptr[size - 1], 0xa5);
	int err = aml_device_unmap(dev, ptr, size);
	EXPECT_EQ(err, 0) << aml_errname(err);
}

TEST_F(MemkindDeviceUnavailable, AnUnavailableKindDoesNotHideTheOthers)
{
	// Asking for HBW first must not change what other kinds answer.
	(void)aml_memkind_device(AML_MEMKIND_HBW);
	EXPECT_NE(aml_memkind_device(AML_MEMKIND_HIGHEST_CAPACITY), nullptr)
	        << aml_errname(aml_errno);
}

} // namespace
