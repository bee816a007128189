// SPDX-License-Identifier: BSD-3-Clause
// An emulated knl-flat machine with an area bound to its DDR and one bound
// to its MCDRAM: the two tiers the dma and scratchpad tests copy between.
#ifndef AML_TESTS_TESTING_KNL_AREAS_H
#define AML_TESTS_TESTING_KNL_AREAS_H

#include <cstring>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>

#include "tests/testing/pattern.h"

namespace aml_testing
{

// A fixture's base: call SetUpKnlAreas() in SetUp (through ASSERT_TRUE) and
// TearDownKnlAreas() in TearDown, after unmapping what the areas mapped.
class KnlAreas
{
      public:
	::testing::AssertionResult SetUpKnlAreas()
	{
		struct aml_emu_error error = {};
		if (aml_emu_create(&t, "knl-flat;scale=1/1024", &error) != 0)
			return ::testing::AssertionFailure() << error.reason;
		if (aml_topology_by_kind(t, AML_DEVICE_DRAM, &ddr, 1) != 1 ||
		    aml_topology_by_kind(t, AML_DEVICE_HBM, &mcdram, 1) != 1)
			return ::testing::AssertionFailure()
			       << "knl-flat without one DRAM and one HBM "
			          "device";
		if (aml_area_device_init(&slow, t, &ddr, 1, AML_AREA_BIND,
		                         nullptr) != 0)
			return ::testing::AssertionFailure() << "DDR area";
		if (aml_area_device_init(&fast, t, &mcdram, 1, AML_AREA_BIND,
		                         nullptr) != 0)
			return ::testing::AssertionFailure() << "MCDRAM area";
		return ::testing::AssertionSuccess();
	}
	// A copy's two ends, @p size bytes each: *src in DDR holding
	// Pattern(size, seed), *dst in MCDRAM. The test unmaps them.
	::testing::AssertionResult
	MapSlowToFast(size_t size, unsigned seed, char **src, char **dst)
	{
		*src = static_cast<char *>(
		        aml_area_mmap(&slow.base, size, nullptr));
		*dst = static_cast<char *>(
		        aml_area_mmap(&fast.base, size, nullptr));
		if (*src == nullptr || *dst == nullptr)
			return ::testing::AssertionFailure()
			       << "mapping " << size
			       << " bytes: " << aml_errname(aml_errno);
		auto pattern = Pattern(size, seed);
		std::memcpy(*src, pattern.data(), size);
		return ::testing::AssertionSuccess();
	}
	// Safe after a failed set-up: areas never initialised are zeroed.
	void TearDownKnlAreas()
	{
		aml_area_device_fini(&fast);
		aml_area_device_fini(&slow);
		aml_topology_destroy(&t);
	}

	struct aml_topology *t = nullptr;
	const struct aml_device *ddr = nullptr, *mcdram = nullptr;
	// Areas bound to DDR and to MCDRAM.
	AML_AREA_DEVICE_DECL(slow) = {};
	AML_AREA_DEVICE_DECL(fast) = {};
};

} // namespace aml_testing

#endif // AML_TESTS_TESTING_KNL_AREAS_H
