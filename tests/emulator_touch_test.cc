// SPDX-License-Identifier: BSD-3-Clause
// The emulator places a page when it is first touched, as Linux does: under
// its mapping's policy, the free memory of that moment, and the touching
// thread's CPU; where the kernel would call the OOM killer, the program
// stops. The machines here say placement=touch, so that they place at
// touch without privilege too; skipped where no userfaultfd can be opened
// at all, or under valgrind (the emulator then places pages at map time).
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

#include "tests/testing/emulated.h"
#include "tests/testing/in_child.h"

namespace
{

size_t Page()
{
	return aml_page_size();
}

// Two tiers of 16 pages each at this scale; every CPU on "fast".
const char *kTwoTiers =
        "tier: name=fast, kind=HBM, capacity=64KiB, bw=400GB/s, "
        "latency=120ns, cpus=all;"
        "tier: name=slow, kind=DRAM, capacity=64KiB, bw=100GB/s, "
        "latency=100ns;"
        "distances: 10,20 / 20,10";

class EmulatorTouch : public aml_testing::Emulated
{
      protected:
	// The machine of @p spec, placing pages at first touch even where
	// this process has no privilege.
	void Make(const char *spec)
	{
		Emulated::Make(
		        (std::string(spec) + ";placement=touch").c_str());
	}
	void SetUp() override
	{
		if (!aml_testing::EmulatorPlacesAtTouch())
			GTEST_SKIP() << "no userfaultfd here: pages are "
			                "placed at map time";
		// A death test's child must be a new process, with its own
		// fault thread: a plain fork() has none, and the mappings it
		// inherits are no longer registered.
		GTEST_FLAG_SET(death_test_style, "threadsafe");
	}
	uint64_t Resident(size_t device)
	{
		struct aml_emu_stats s;
		EXPECT_EQ(aml_emu_stats(t, device, &s), 0);
		return s.pages;
	}
	char *Map(size_t device_index, enum aml_policy policy, size_t npages)
	{
		struct aml_bitmap set;
		aml_bitmap_zero(&set);
		if (policy != AML_POLICY_LOCAL)
			aml_bitmap_set(&set, device_index);
		return static_cast<char *>(
		        aml_topology_map(t, &set, policy, npages * Page()));
	}
	static void Touch(char *p, size_t first, size_t npages)
	{
		for (size_t i = first; i < first + npages; i++)
			p[i * Page()] = 1;
	}
};

TEST_F(EmulatorTouch, UntouchedPagesHaveNoDeviceAndTakeNoRoom)
{
	Make(kTwoTiers);
	char *p = Map(1, AML_POLICY_BIND, 8);
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(Locate(p, 8), std::vector<int>(8, AML_ENODEV));
	EXPECT_EQ(Resident(1), 0u);
	size_t free_bytes = 0;
	ASSERT_EQ(aml_device_free_bytes(Dev(1), &free_bytes), 0);
	EXPECT_EQ(free_bytes, 16 * Page());
	Touch(p, 2, 3);
	EXPECT_EQ(Locate(p, 8),
	          (std::vector<int>{AML_ENODEV, AML_ENODEV, 1, 1, 1, AML_ENODEV,
	                            AML_ENODEV, AML_ENODEV}));
	EXPECT_EQ(Resident(1), 3u);
	// Only touched pages give capacity back.
	EXPECT_EQ(aml_topology_unmap(t, p, 8 * Page()), 0);
	EXPECT_EQ(Resident(1), 0u);
}

// Two PREFERRED maps of "fast" that together exceed it: the pages touched
// first get it, whichever map they belong to; the rest spill to "slow".
TEST_F(EmulatorTouch, TheOrderOfTouchesDecidesWhoSpills)
{
	Make(kTwoTiers);
	char *a = Map(0, AML_POLICY_PREFERRED, 12);
	char *b = Map(0, AML_POLICY_PREFERRED, 12);
	ASSERT_NE(a, nullptr);
	ASSERT_NE(b, nullptr);
	Touch(b, 0, 12); // b first: all of it on fast
	Touch(a, 0, 12); // 4 pages of fast left for a
	EXPECT_EQ(Placed(b, 12), std::vector<int>(12, 0));
	std::vector<int> expected(4, 0);
	expected.resize(12, 1);
	EXPECT_EQ(Placed(a, 12), expected);
	EXPECT_EQ(aml_topology_unmap(t, a, 12 * Page()), 0);
	EXPECT_EQ(aml_topology_unmap(t, b, 12 * Page()), 0);
}

TEST_F(EmulatorTouch, InterleavedTouchesOfTwoMapsShareTheRoom)
{
	Make(kTwoTiers);
	char *a = Map(0, AML_POLICY_PREFERRED, 12);
	char *b = Map(0, AML_POLICY_PREFERRED, 12);
	ASSERT_NE(a, nullptr);
	ASSERT_NE(b, nullptr);
	for (size_t i = 0; i < 12; i++) {
		Touch(a, i, 1);
		Touch(b, i, 1);
	}
	std::vector<int> expected(8, 0);
	expected.resize(12, 1);
	EXPECT_EQ(Locate(a, 12), expected);
	EXPECT_EQ(Locate(b, 12), expected);
	EXPECT_EQ(aml_topology_unmap(t, a, 12 * Page()), 0);
	EXPECT_EQ(aml_topology_unmap(t, b, 12 * Page()), 0);
}

// LOCAL (first touch): the device of the CPU the touching thread runs on,
// asked of the kernel at each fault. "near" has CPU 0, "far" the others,
// so on a machine with one CPU only "near" is seen.
TEST_F(EmulatorTouch, ALocalPageGoesToTheTouchingThreadsDevice)
{
	Make("tier: name=near, kind=DRAM, capacity=64KiB, bw=1GB/s, "
	     "latency=1ns, cpus=0;"
	     "tier: name=far, kind=DRAM, capacity=64KiB, bw=1GB/s, "
	     "latency=1ns, cpus=1-1023");
	cpu_set_t mine;
	ASSERT_EQ(sched_getaffinity(0, sizeof(mine), &mine), 0);
	std::vector<int> cpus;
	for (int c = 0; c < CPU_SETSIZE && cpus.size() < 3; c++) {
		if (CPU_ISSET(c, &mine))
			cpus.push_back(c);
	}
	char *p = Map(0, AML_POLICY_LOCAL, cpus.size());
	ASSERT_NE(p, nullptr);
	for (size_t i = 0; i < cpus.size(); i++) {
		std::thread toucher([&] {
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(cpus[i], &one);
			ASSERT_EQ(pthread_setaffinity_np(pthread_self(),
			                                 sizeof(one), &one),
			          0);
			Touch(p, i, 1);
		});
		toucher.join();
		EXPECT_EQ(Locate(p + i * Page(), 1)[0], cpus[i] == 0 ? 0 : 1)
		        << "touched from CPU " << cpus[i];
	}
	EXPECT_EQ(aml_topology_unmap(t, p, cpus.size() * Page()), 0);
}

// A BIND map within the device's capacity but past its free memory: Linux
// maps it, and the touch that finds no room calls the OOM killer. The
// emulator maps it too, and stops the program at that touch, naming it.
TEST_F(EmulatorTouch, ATouchPastABindDevicesFreeMemoryStopsTheProgram)
{
	Make(kTwoTiers);
	char *hog = Map(1, AML_POLICY_BIND, 12);
	ASSERT_NE(hog, nullptr);
	Touch(hog, 0, 12);
	char *p = Map(1, AML_POLICY_BIND, 8); // fits the capacity, not the
	ASSERT_NE(p, nullptr);                // free memory
	Touch(p, 0, 4);                       // the last 4 pages
	EXPECT_DEATH(Touch(p, 4, 1),
	             "aml emulator: out of memory: page 4 .* of a mapping "
	             "under BIND found no room on slow \\(16 of 16 pages\\): "
	             "Linux would call the OOM killer here");
	// A populating map checks the free memory first and fails cleanly.
	struct aml_bitmap slow;
	aml_bitmap_zero(&slow);
	aml_bitmap_set(&slow, 1);
	aml_errno = 0;
	EXPECT_EQ(aml_topology_map_populate(t, &slow, AML_POLICY_BIND, Page()),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_EQ(aml_topology_unmap(t, p, 8 * Page()), 0);
	EXPECT_EQ(aml_topology_unmap(t, hog, 12 * Page()), 0);
}

// PREFERRED with the whole machine full: the kernel's OOM killer too.
TEST_F(EmulatorTouch, ATouchWithTheMachineFullStopsTheProgram)
{
	Make(kTwoTiers);
	char *p = Map(0, AML_POLICY_PREFERRED, 32);
	ASSERT_NE(p, nullptr);
	Touch(p, 0, 32);
	char *q = Map(0, AML_POLICY_PREFERRED, 1);
	ASSERT_NE(q, nullptr);
	EXPECT_DEATH(Touch(q, 0, 1), "out of memory: page 0 .* under "
	                             "PREFERRED found no room on fast "
	                             "\\(16 of 16 pages\\) slow");
	EXPECT_EQ(aml_topology_unmap(t, q, Page()), 0);
	EXPECT_EQ(aml_topology_unmap(t, p, 32 * Page()), 0);
}

// One-page mappings are pages the emulator keeps registered across an
// unmap and hands out again (emulator/slab.c): each map must still read
// zero, have no device until touched, and count as a fresh mapping; an
// unmapped one is unmapped memory to aml_topology_locate.
TEST_F(EmulatorTouch, AOnePageMapAfterAnUnmapReadsZeroAndIsPlacedAgain)
{
	Make(kTwoTiers);
	std::vector<char> zeros(Page(), 0);
	for (int round = 0; round < 64; round++) {
		SCOPED_TRACE("round " + std::to_string(round));
		char *p = Map(round % 2, AML_POLICY_BIND, 1);
		ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
		EXPECT_EQ(Locate(p, 1), std::vector<int>{AML_ENODEV});
		EXPECT_EQ(std::memcmp(p, zeros.data(), Page()), 0);
		EXPECT_EQ(Locate(p, 1), std::vector<int>{round % 2});
		std::memset(p, 0xA5, Page());
		EXPECT_EQ(Resident(round % 2), 1u);
		ASSERT_EQ(aml_topology_unmap(t, p, Page()), 0);
		EXPECT_EQ(Resident(round % 2), 0u);
		EXPECT_EQ(Locate(p, 1), std::vector<int>{AML_EINVAL});
	}
}

// A touch of a one-page mapping once unmapped stops the program, where
// Linux raises SIGSEGV: the page is never given memory behind the page
// table's back.
TEST_F(EmulatorTouch, ATouchOfAnUnmappedOnePageMapStopsTheProgram)
{
	Make(kTwoTiers);
	char *p = Map(0, AML_POLICY_BIND, 1);
	ASSERT_NE(p, nullptr);
	Touch(p, 0, 1);
	ASSERT_EQ(aml_topology_unmap(t, p, Page()), 0);
	EXPECT_DEATH(Touch(p, 0, 1), "aml emulator: a touch of .*, which the "
	                             "program unmapped: Linux would raise "
	                             "SIGSEGV here");
}

// mbind(MPOL_MF_MOVE) of pages nobody touched moves nothing and binds them:
// their first touch places them on the target.
TEST_F(EmulatorTouch, MovingUntouchedPagesBindsThemForTheirFirstTouch)
{
	Make(kTwoTiers);
	char *p = Map(1, AML_POLICY_BIND, 8);
	ASSERT_NE(p, nullptr);
	Touch(p, 0, 2);
	EXPECT_EQ(aml_device_move(Dev(0), p, 8 * Page()), 0);
	EXPECT_EQ(Locate(p, 3), (std::vector<int>{0, 0, AML_ENODEV}));
	struct aml_emu_stats s;
	ASSERT_EQ(aml_emu_stats(t, 0, &s), 0);
	EXPECT_EQ(s.pages_moved_in, 2u); // only the touched ones moved
	Touch(p, 2, 6);
	EXPECT_EQ(Locate(p, 8), std::vector<int>(8, 0));
	EXPECT_EQ(Resident(0), 8u);
	EXPECT_EQ(Resident(1), 0u);
	EXPECT_EQ(aml_topology_unmap(t, p, 8 * Page()), 0);
}

// A populating map places every page at once, in order, from this thread,
// without a fault a page; then its pages are written as usual.
TEST_F(EmulatorTouch, PopulatePlacesEveryPageNow)
{
	// Room for the populate rule's margins (at least 4 MiB a device).
	Make("tier: name=fast, kind=HBM, capacity=16MiB, bw=400GB/s, "
	     "latency=120ns, cpus=all;"
	     "tier: name=slow, kind=DRAM, capacity=64MiB, bw=100GB/s, "
	     "latency=100ns");
	size_t fast_pages = Dev(0)->capacity / Page(), n = fast_pages + 1024;
	struct aml_bitmap fast;
	aml_bitmap_zero(&fast);
	aml_bitmap_set(&fast, 0);
	char *p = static_cast<char *>(aml_topology_map_populate(
	        t, &fast, AML_POLICY_PREFERRED, n * Page()));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	std::vector<int> expected(fast_pages, 0);
	expected.resize(n, 1);
	EXPECT_EQ(Locate(p, n), expected);
	for (size_t i = 0; i < n * Page(); i += 4096)
		ASSERT_EQ(p[i], 0) << i; // zeroed, as Linux gives them
	std::memset(p, 3, n * Page());
	EXPECT_EQ(Locate(p, n), expected);
	EXPECT_EQ(aml_topology_unmap(t, p, n * Page()), 0);
}

// A copy's writes are the first touch of its destination's pages.
TEST_F(EmulatorTouch, ACopyPlacesItsDestination)
{
	Make(kTwoTiers);
	char *src = Map(1, AML_POLICY_BIND, 4);
	char *dst = Map(0, AML_POLICY_PREFERRED, 4);
	ASSERT_NE(src, nullptr);
	ASSERT_NE(dst, nullptr);
	std::memset(src, 9, 4 * Page());
	ASSERT_EQ(aml_emu_copy(t, dst, src, 4 * Page()), 0);
	EXPECT_EQ(Locate(dst, 4), std::vector<int>(4, 0));
	EXPECT_EQ(dst[4 * Page() - 1], 9);
	struct aml_emu_stats s;
	ASSERT_EQ(aml_emu_stats(t, 0, &s), 0);
	EXPECT_EQ(s.bytes_copied_in, 4 * Page());
	EXPECT_EQ(aml_topology_unmap(t, src, 4 * Page()), 0);
	EXPECT_EQ(aml_topology_unmap(t, dst, 4 * Page()), 0);
}

// placement=map: every page is placed by the map, and a full device is an
// AML_ENOMEM from the map.
TEST(EmulatorPlacementAtMap, PagesArePlacedWhenMapped)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(
	                  &t,
	                  (std::string(kTwoTiers) + ";placement=map").c_str(),
	                  nullptr),
	          0);
	EXPECT_EQ(aml_emu_places_at_touch(t), 0);
	struct aml_bitmap slow;
	aml_bitmap_zero(&slow);
	aml_bitmap_set(&slow, 1);
	void *p = aml_topology_map(t, &slow, AML_POLICY_BIND, 12 * Page());
	ASSERT_NE(p, nullptr);
	std::vector<int> ids(12, -100);
	ASSERT_EQ(aml_topology_locate(t, p, 12, ids.data()), 0);
	EXPECT_EQ(ids, std::vector<int>(12, 1));
	aml_errno = 0;
	EXPECT_EQ(aml_topology_map(t, &slow, AML_POLICY_BIND, 8 * Page()),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_EQ(aml_topology_unmap(t, p, 12 * Page()), 0);
	aml_topology_destroy(&t);
	EXPECT_EQ(aml_emu_places_at_touch(nullptr), AML_EINVAL);
}

// May this process open a userfaultfd that reports the kernel's touches
// too (the system call without UFFD_USER_MODE_ONLY, or /dev/userfaultfd)?
bool MayReportKernelTouches()
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd < 0)
		fd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

// In a child: what a user's process is, root's privileges dropped (to
// nobody); 0, or -1 if they could not be.
int DropPrivileges()
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
	    setresuid(65534, 65534, 65534) != 0) {
		std::perror("dropping root's privileges");
		return -1;
	}
	return 0;
}

// Without privilege, where only the program's own touches can be reported
// (UFFD_USER_MODE_ONLY): a machine that does not say placement=touch
// places at map time, so that the kernel's writes into its buffers work;
// one that says it places at touch, and a read() into an untouched page
// fails with EFAULT, as documented.
TEST(EmulatorPlacementTouchWithoutPrivilege, PlacesAtTouch)
{
	if (!aml_testing::kChildrenRun)
		GTEST_SKIP() << "children do not run under this sanitizer";
	if (!aml_testing::EmulatorPlacesAtTouch())
		GTEST_SKIP() << "no userfaultfd here, or valgrind";
	if (!aml_testing::InChild([] { return DropPrivileges(); }))
		GTEST_SKIP() << "root's privileges cannot be dropped here (a "
		                "user namespace without nobody?)";
	if (!aml_testing::InChild([] {
		    return DropPrivileges() == 0 && !MayReportKernelTouches()
		                   ? 0
		                   : 1;
	    }))
		GTEST_SKIP()
		        << "an unprivileged process may open a userfaultfd "
		           "that reports the kernel's touches here "
		           "(vm.unprivileged_userfaultfd=1)";
	EXPECT_TRUE(aml_testing::InChild([] {
		CHILD_EXPECT(DropPrivileges() == 0);
		struct aml_topology *t = nullptr;
		CHILD_EXPECT(aml_emu_create(&t, kTwoTiers, nullptr) == 0);
		CHILD_EXPECT(aml_emu_places_at_touch(t) == 0);
		aml_topology_destroy(&t);

		std::string spec = std::string(kTwoTiers) + ";placement=touch";
		CHILD_EXPECT(aml_emu_create(&t, spec.c_str(), nullptr) == 0);
		CHILD_EXPECT(aml_emu_places_at_touch(t) == 1);
		struct aml_bitmap slow;
		aml_bitmap_zero(&slow);
		aml_bitmap_set(&slow, 1);
		char *p = static_cast<char *>(aml_topology_map(
		        t, &slow, AML_POLICY_BIND, 4 * Page()));
		CHILD_EXPECT(p != nullptr);
		p[Page()] = 1;
		std::vector<int> ids(4, -100);
		CHILD_EXPECT(aml_topology_locate(t, p, 4, ids.data()) == 0);
		CHILD_EXPECT(ids == (std::vector<int>{AML_ENODEV, 1, AML_ENODEV,
		                                      AML_ENODEV}));
		int fds[2];
		CHILD_EXPECT(pipe(fds) == 0);
		CHILD_EXPECT(write(fds[1], "ab", 2) == 2);
		errno = 0;
		CHILD_EXPECT(read(fds[0], p + 2 * Page(), 1) == -1 &&
		             errno == EFAULT);
		// Touched by the program first, the page takes the kernel's
		// write.
		p[2 * Page()] = 0;
		CHILD_EXPECT(read(fds[0], p + 2 * Page(), 1) == 1);
		CHILD_EXPECT(p[2 * Page()] == 'a');
		close(fds[0]);
		close(fds[1]);
		CHILD_EXPECT(aml_topology_unmap(t, p, 4 * Page()) == 0);
		aml_topology_destroy(&t);
		return 0;
	}));
}

// A forked child's own maps are placed at its touches, by a fault thread of
// its own; the parent's machine does not see them. A copy the child makes
// into a page it inherited untouched gives memory to the child's page, not
// to the parent's (the descriptor the child inherits is the parent's).
TEST_F(EmulatorTouch, AForkedChildPlacesItsOwnMaps)
{
	Make(kTwoTiers);
	char *before = Map(1, AML_POLICY_BIND, 2);
	ASSERT_NE(before, nullptr);
	if (!aml_testing::kChildrenRun)
		GTEST_SKIP() << "children do not run under this sanitizer";
	EXPECT_TRUE(aml_testing::InChild([&] {
		char byte = 5;
		CHILD_EXPECT(aml_emu_copy(t, before, &byte, 1) == 0);
		CHILD_EXPECT(before[0] == 5);
		char *p = Map(1, AML_POLICY_BIND, 4);
		CHILD_EXPECT(p != nullptr);
		Touch(p, 0, 4);
		std::vector<int> ids(4, -100);
		CHILD_EXPECT(aml_topology_locate(t, p, 4, ids.data()) == 0);
		CHILD_EXPECT(ids == std::vector<int>(4, 1));
		CHILD_EXPECT(Resident(1) == 4);
		return 0;
	}));
	EXPECT_EQ(Resident(1), 0u);
	Touch(before, 0, 2);
	EXPECT_EQ(Locate(before, 2), std::vector<int>(2, 1));
	EXPECT_EQ(aml_topology_unmap(t, before, 2 * Page()), 0);
}

} // namespace
