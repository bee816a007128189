// SPDX-License-Identifier: BSD-3-Clause
// Delay mode's calibration: a measurement that fails (no memory for its
// buffers, once) is tried again by the next caller, instead of leaving
// delay mode dead for the rest of the process. The failure comes from the
// emulator's seam for the calibration's allocation, not from this host's
// memory, so the test is the same on any machine.
#include <gtest/gtest.h>

#include <aml.h>

#include "emulator/emulator_internal.h"

namespace
{

void *(*real_map)(size_t size);
int calls, failures_left;

void *FailingMap(size_t size)
{
	calls++;
	if (failures_left > 0) {
		failures_left--;
		return nullptr;
	}
	return real_map(size);
}

// One test: what it checks is state of the whole process.
TEST(EmulatorDelay, CalibrationThatFailedIsTriedAgain)
{
	real_map = emu_calibration_map;
	emu_calibration_map = FailingMap;
	failures_left = 3;
	// A machine made in delay mode while calibration fails is not made.
	struct aml_topology *t = reinterpret_cast<struct aml_topology *>(1);
	EXPECT_EQ(aml_emu_create(&t, "qemu-3node;mode=delay", nullptr),
	          AML_FAILURE);
	EXPECT_EQ(t, nullptr);
	ASSERT_EQ(aml_emu_create(&t, "qemu-3node", nullptr), 0);
	double dilation = -1;
	EXPECT_EQ(aml_emu_dilation(t, &dilation), AML_FAILURE);
	EXPECT_EQ(dilation, -1); // untouched
	EXPECT_EQ(aml_emu_set_mode(t, AML_EMU_DELAY), AML_FAILURE);
	EXPECT_EQ(calls, 3);
	// Memory is back: the next attempt measures, and succeeds.
	EXPECT_EQ(aml_emu_set_mode(t, AML_EMU_DELAY), 0);
	EXPECT_EQ(calls, 4);
	ASSERT_EQ(aml_emu_dilation(t, &dilation), 0);
	EXPECT_GE(dilation, 1.0);
	EXPECT_EQ(aml_emu_set_mode(t, AML_EMU_ACCOUNT), 0);
	// Once it succeeded, it is not measured again: another machine
	// in delay mode reuses the measurement.
	struct aml_topology *other = nullptr;
	EXPECT_EQ(aml_emu_create(&other, "knl-flat;mode=delay", nullptr), 0);
	EXPECT_EQ(calls, 4);
	aml_topology_destroy(&other);
	emu_calibration_map = real_map;
	aml_topology_destroy(&t);
}

} // namespace
