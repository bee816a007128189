// SPDX-License-Identifier: BSD-3-Clause
// A fixture's base for tests on an emulated machine: Make(spec) creates it,
// TearDown destroys it, and the queries every such test asks.
#ifndef AML_TESTS_TESTING_EMULATED_H
#define AML_TESTS_TESTING_EMULATED_H

#include <cstddef>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

namespace aml_testing
{

// Does this process's emulator place pages at first touch, as Linux does,
// on a machine whose spec says placement=touch? Not where no userfaultfd
// can be opened, nor under valgrind: there it places them at map time.
// Asked of a machine made for the question; a machine that cannot be made
// fails the calling test.
inline bool EmulatorPlacesAtTouch()
{
	struct aml_topology *probe = nullptr;
	int err = aml_emu_create(&probe, "single;placement=touch", nullptr);
	EXPECT_EQ(err, 0) << "cannot make the emulated machine 'single'";
	if (err != 0)
		return false;
	int at_touch = aml_emu_places_at_touch(probe);
	aml_topology_destroy(&probe);
	return at_touch == 1;
}

class Emulated : public ::testing::Test
{
      protected:
	void Make(const char *spec)
	{
		struct aml_emu_error error = {};
		ASSERT_EQ(aml_emu_create(&t, spec, &error), 0) << error.reason;
	}
	void TearDown() override
	{
		aml_topology_destroy(&t);
	}
	const struct aml_device *Dev(size_t i)
	{
		return aml_topology_device(t, i);
	}
	size_t NDevices()
	{
		return static_cast<size_t>(aml_topology_ndevices(t));
	}
	// The device index of each page of [p, p + npages pages).
	std::vector<int> Locate(void *p, size_t npages)
	{
		std::vector<int> ids(npages, -100);
		EXPECT_EQ(aml_topology_locate(t, p, npages, ids.data()), 0);
		return ids;
	}
	// Touches every page of [p, p + npages pages) in order from this
	// thread, keeping its bytes, as a program's first writes do (the
	// emulator, like Linux, places a page at its first touch); then says
	// where each went.
	std::vector<int> Placed(void *p, size_t npages)
	{
		for (size_t i = 0; i < npages; i++) {
			volatile char *c =
			        static_cast<char *>(p) + i * aml_page_size();
			*c = *c;
		}
		return Locate(p, npages);
	}
	struct aml_topology *t = nullptr;
};

} // namespace aml_testing

#endif // AML_TESTS_TESTING_EMULATED_H
