// SPDX-License-Identifier: BSD-3-Clause
// A fixture's base for tests of huge pages on an emulated machine: device
// areas kept until the test ends, maps of a page kind, and what the
// emulator counts and where it placed each page.
#ifndef AML_TESTS_TESTING_EMULATED_PAGES_H
#define AML_TESTS_TESTING_EMULATED_PAGES_H

#include <cstddef>
#include <deque>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>

#include "tests/testing/emulated.h"

namespace aml_testing
{

class EmulatedPages : public Emulated
{
      protected:
	void TearDown() override
	{
		for (auto &a : areas)
			aml_area_device_fini(&a);
		Emulated::TearDown();
	}
	// An area over devices ds under policy, kept until the test ends.
	const struct aml_area *Area(std::vector<size_t> ds,
	                            enum aml_policy policy = AML_POLICY_BIND)
	{
		std::vector<const struct aml_device *> devs;
		for (size_t d : ds)
			devs.push_back(Dev(d));
		areas.emplace_back();
		EXPECT_EQ(aml_area_device_init(&areas.back(), t, devs.data(),
		                               devs.size(), policy, nullptr),
		          0);
		return &areas.back().base;
	}
	const struct aml_area *Area(size_t d,
	                            enum aml_policy policy = AML_POLICY_BIND)
	{
		return Area(std::vector<size_t>{d}, policy);
	}
	char *
	Map(const struct aml_area *area, size_t size, enum aml_page_kind pages)
	{
		struct aml_area_mmap_options o = {};
		o.pages = pages;
		return static_cast<char *>(aml_area_mmap(area, size, &o));
	}
	struct aml_emu_stats Stats(size_t d)
	{
		struct aml_emu_stats s = {};
		EXPECT_EQ(aml_emu_stats(t, d, &s), 0);
		return s;
	}
	size_t FreeBytes(size_t d)
	{
		size_t free = 0;
		EXPECT_EQ(aml_device_free_bytes(Dev(d), &free), 0);
		return free;
	}
	// How many of pages [first, first + n) of p are located on device d.
	size_t On(char *p, size_t first, size_t n, int d)
	{
		std::vector<int> ids = Locate(p + first * aml_page_size(), n);
		size_t count = 0;
		for (int id : ids)
			count += id == d;
		return count;
	}
	// A deque: the areas stay where they are as more are added.
	std::deque<struct aml_area_device> areas;
};

} // namespace aml_testing

#endif // AML_TESTS_TESTING_EMULATED_PAGES_H
