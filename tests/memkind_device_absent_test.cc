// SPDX-License-Identifier: BSD-3-Clause
// memkind devices in aml linked with memkind absent
// (//aml:aml_without_optional_backends), whatever this host has: every kind
// answers AML_ENOTSUP, so code written for memkind still links and runs.
#include <gtest/gtest.h>

#include <aml.h>
#include <aml/device.h>
#include <aml/device/memkind.h>

namespace
{

TEST(MemkindDeviceAbsent, EveryKindIsNotSupported)
{
	for (auto kind : {AML_MEMKIND_HBW, AML_MEMKIND_HBW_PREFERRED,
	                  AML_MEMKIND_HIGHEST_CAPACITY, AML_MEMKIND_DAX_KMEM}) {
		// Twice: the answer does not change.
		for (int i = 0; i < 2; i++) {
			aml_errno = 0;
			EXPECT_EQ(aml_memkind_device(kind), nullptr);
			EXPECT_EQ(aml_errno, AML_ENOTSUP)
			        << "kind " << kind << ": "
			        << aml_errname(aml_errno);
		}
	}
}

TEST(MemkindDeviceAbsent, UnknownKindIsStillInvalid)
{
	for (int kind : {-1, static_cast<int>(AML_MEMKIND_KIND_COUNT)}) {
		aml_errno = 0;
		EXPECT_EQ(aml_memkind_device(
		                  static_cast<enum aml_memkind_kind>(kind)),
		          nullptr);
		EXPECT_EQ(aml_errno, AML_EINVAL)
		        << "kind " << kind << ": " << aml_errname(aml_errno);
	}
}

TEST(MemkindDeviceAbsent, BackendReportsNotBuilt)
{
	EXPECT_EQ(aml_backend_is_built(AML_BACKEND_MEMKIND), 0);
}

} // namespace
