// SPDX-License-Identifier: BSD-3-Clause
// Fault injection on the emulator's delay mode (tests/testing/fault.h): a
// calibration whose 64 MiB cannot be mapped is AML_ENOMEM, changes
// nothing, and is tried again by the next caller, instead of leaving delay
// mode dead for the rest of the process. The failure comes from the
// wrapped mmap, not from this host's memory, so the test is the same on
// any machine.
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include <aml.h>

#include "tests/testing/fault.h"

namespace
{

using aml_test::FaultBlocksSince;
using aml_test::FaultLiveNow;
using aml_test::FaultRun;

// Calls op with the Nth call aml makes through the wrappers failing, for
// N = 1, 2, ... until the calibration's mmap is the one that fails: each
// earlier failure must be AML_ENOMEM too. Returns whether it was reached.
bool FailUntilTheCalibration(const std::function<int()> &op)
{
	for (unsigned long n = 1;; n++) {
		SCOPED_TRACE(n);
		aml_test::FaultLive before = FaultLiveNow();
		FaultRun run(n);
		bool injected = false;
		int err = run.Raw(op, &injected);
		// A failure leaves nothing behind.
		EXPECT_EQ(FaultLiveNow(), before) << FaultBlocksSince(before);
		if (!injected) {
			ADD_FAILURE()
			        << "the calibration never mapped: " << err;
			return false;
		}
		EXPECT_EQ(err, AML_ENOMEM) << run.Site();
		if (run.Site() == "mmap")
			return true;
		if (::testing::Test::HasFailure())
			return false;
	}
}

// One test: what it checks is state of the whole process (the host's copy
// bandwidth is measured once, by the first caller that succeeds).
TEST(FaultEmulator, CalibrationThatFailedIsTriedAgain)
{
	// A machine made in delay mode while calibration fails is not made.
	struct aml_topology *t = nullptr;
	ASSERT_TRUE(FailUntilTheCalibration([&] {
		return aml_emu_create(&t, "qemu-3node;mode=delay", nullptr);
	}));
	EXPECT_EQ(t, nullptr);
	ASSERT_EQ(aml_emu_create(&t, "qemu-3node", nullptr), 0);
	double dilation = -1;
	ASSERT_TRUE(FailUntilTheCalibration(
	        [&] { return aml_emu_dilation(t, &dilation); }));
	EXPECT_EQ(dilation, -1); // untouched
	ASSERT_TRUE(FailUntilTheCalibration(
	        [&] { return aml_emu_set_mode(t, AML_EMU_DELAY); }));
	// Memory is back: the next attempt measures, and succeeds.
	EXPECT_EQ(aml_emu_set_mode(t, AML_EMU_DELAY), 0);
	ASSERT_EQ(aml_emu_dilation(t, &dilation), 0);
	EXPECT_GE(dilation, 1.0);
	EXPECT_EQ(aml_emu_set_mode(t, AML_EMU_ACCOUNT), 0);
	// Once it succeeded, it is not measured again: another machine in
	// delay mode reuses the measurement, and no failure made while it is
	// created is the calibration's.
	for (unsigned long n = 1;; n++) {
		SCOPED_TRACE(n);
		struct aml_topology *other = nullptr;
		FaultRun run(n);
		bool injected = false;
		int err = run.Raw(
		        [&] {
			        return aml_emu_create(
			                &other, "knl-flat;mode=delay", nullptr);
		        },
		        &injected);
		EXPECT_NE(run.Site(), "mmap");
		aml_topology_destroy(&other);
		if (!injected) {
			EXPECT_EQ(err, 0);
			break;
		}
		EXPECT_EQ(err, AML_ENOMEM);
		if (HasFailure())
			break;
	}
	aml_topology_destroy(&t);
}

// Switching access accounting from one mode to the other that fails keeps
// the mode that was on, instead of leaving accounting off.
TEST(FaultEmulator, AccessModeSwitchThatFailedKeepsTheOldMode)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "qemu-3node", nullptr), 0);
	int err = aml_emu_set_access_accounting(t, AML_EMU_ACCESSES_ON);
	if (err == AML_ENOTSUP) {
		aml_topology_destroy(&t);
		GTEST_SKIP() << "access accounting is refused here (valgrind)";
	}
	ASSERT_EQ(err, 0);
	for (unsigned long n = 1;; n++) {
		SCOPED_TRACE(n);
		FaultRun run(n);
		bool injected = false;
		err = run.Raw(
		        [&] {
			        return aml_emu_set_access_accounting(
			                t, AML_EMU_ACCESSES_SAMPLED);
		        },
		        &injected);
		if (!injected) {
			EXPECT_EQ(err, 0);
			EXPECT_EQ(aml_emu_access_accounting(t),
			          AML_EMU_ACCESSES_SAMPLED);
			break;
		}
		EXPECT_EQ(err, AML_ENOMEM) << run.Site();
		EXPECT_EQ(aml_emu_access_accounting(t), AML_EMU_ACCESSES_ON);
		if (HasFailure())
			break;
	}
	EXPECT_EQ(aml_emu_set_access_accounting(t, AML_EMU_ACCESSES_OFF), 0);
	aml_topology_destroy(&t);
}

} // namespace
