// SPDX-License-Identifier: BSD-3-Clause
// Page kinds of area maps (enum aml_page_kind): transparent huge pages,
// hugetlb pages, and the errors where the system or the topology has none.
// Each test reads the host's settings first and checks what they imply, so
// it passes, and can fail, on any machine: THP "never" must be
// AML_ENOTSUP, a hugetlb pool of 0 AML_ENOMEM, and so on.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/emulator.h>

#include "tests/testing/node0.h"
#include "tests/testing/process.h"
#include "tests/testing/smaps.h"

namespace
{

constexpr size_t kMiB = 1 << 20;

std::string ReadFile(const char *path)
{
	std::ifstream in(path);
	std::string s;
	std::getline(in, s, '\0');
	return s;
}

bool ThpNever()
{
	std::string s = ReadFile("/sys/kernel/mm/transparent_hugepage/enabled");
	return s.empty() || s.find("[never]") != std::string::npos;
}

// The detail of the calling thread's last error.
std::string Detail()
{
	char buf[AML_ERROR_DETAIL_MAX];
	aml_error_detail(buf, sizeof(buf));
	return buf;
}

void Touch(void *p, size_t size)
{
	for (size_t off = 0; off < size; off += aml_page_size())
		static_cast<volatile char *>(p)[off] = 1;
}

// The NUMA node of the page at p, by move_pages(2) itself.
int KernelNode(void *p)
{
	void *pages[1] = {p};
	int status[1] = {-1};
	long r = syscall(SYS_move_pages, 0, 1UL, pages, nullptr, status, 0);
	return r == 0 ? status[0] : -1;
}

size_t ReadNumber(const char *path)
{
	std::string s = ReadFile(path);
	return s.empty() ? 0 : std::stoul(s);
}

const char *kNr2M = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
const char *kFree2M =
        "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";

// Sets the 2 MiB pool to n pages for the test's life (root only), and
// gives the old size back.
class HugePool
{
      public:
	explicit HugePool(size_t n) : old_(ReadNumber(kNr2M))
	{
		FILE *f = fopen(kNr2M, "w");
		if (f == nullptr)
			return;
		written_ = fprintf(f, "%zu\n", n) > 0;
		written_ = fclose(f) == 0 && written_;
	}
	~HugePool()
	{
		if (!written_)
			return;
		FILE *f = fopen(kNr2M, "w");
		if (f == nullptr)
			return;
		fprintf(f, "%zu\n", old_);
		fclose(f);
	}
	bool Written() const
	{
		return written_;
	}

      private:
	size_t old_;
	bool written_ = false;
};

class AreaPages : public aml_testing::Node0
{
      protected:
	void SetUp() override
	{
		Node0::SetUp();
		if (IsSkipped())
			return;
		ASSERT_EQ(aml_area_device_init(&area, t, &node0, 1,
		                               AML_POLICY_BIND, nullptr),
		          0);
	}
	void TearDown() override
	{
		aml_area_device_fini(&area);
	}
	void *Map(size_t size, enum aml_page_kind pages)
	{
		struct aml_area_mmap_options o = {};
		o.pages = pages;
		return aml_area_mmap(&area.base, size, &o);
	}
	AML_AREA_DEVICE_DECL(area);
};

TEST_F(AreaPages, UnknownKindIsEinval)
{
	long before = aml_testing::VirtualPages();
	aml_errno = 0;
	EXPECT_EQ(Map(kMiB, AML_PAGE_KIND_COUNT), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(Map(kMiB, static_cast<enum aml_page_kind>(-1)), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_TRUE(aml_testing::LeftNothingMapped(before, kMiB));
	EXPECT_EQ(aml_area_device_set_pages(&area.base, AML_PAGE_KIND_COUNT),
	          AML_EINVAL);
	EXPECT_EQ(aml_area_device_set_pages(nullptr, AML_PAGE_BASE),
	          AML_EINVAL);
	// The area still maps base pages.
	void *p = Map(kMiB, AML_PAGE_DEFAULT);
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(aml_area_munmap(&area.base, p, kMiB), 0);
}

TEST_F(AreaPages, TransparentHugeGivesHugePagesOrSaysWhyNot)
{
	const size_t size = 8 * kMiB;
	aml_errno = 0;
	char *p = static_cast<char *>(Map(size, AML_PAGE_TRANSPARENT_HUGE));
	if (ThpNever()) {
		EXPECT_EQ(p, nullptr);
		EXPECT_EQ(aml_errno, AML_ENOTSUP);
		EXPECT_NE(Detail().find("transparent"), std::string::npos)
		        << Detail();
		return;
	}
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno) << ": " << Detail();
	EXPECT_EQ((uintptr_t)p % (2 * kMiB), 0u);
	Touch(p, size);
	EXPECT_GT(aml_testing::SmapsKb(p, size, "AnonHugePages"), 0u);
	int id = -1;
	ASSERT_EQ(aml_topology_locate(t, p, 1, &id), 0);
	EXPECT_EQ(id, static_cast<int>(index));
	EXPECT_EQ(aml_area_munmap(&area.base, p, size), 0);
}

TEST_F(AreaPages, AreaKindReachesMapsThatLeaveTheDefault)
{
	ASSERT_EQ(aml_area_device_set_pages(&area.base,
	                                    AML_PAGE_TRANSPARENT_HUGE),
	          0);
	const size_t size = 4 * kMiB;
	char *p = static_cast<char *>(Map(size, AML_PAGE_DEFAULT));
	if (ThpNever()) {
		EXPECT_EQ(p, nullptr);
		EXPECT_EQ(aml_errno, AML_ENOTSUP);
		return;
	}
	ASSERT_NE(p, nullptr) << Detail();
	EXPECT_EQ((uintptr_t)p % (2 * kMiB), 0u);
	Touch(p, size);
	EXPECT_GT(aml_testing::SmapsKb(p, size, "AnonHugePages"), 0u);
	EXPECT_EQ(aml_area_munmap(&area.base, p, size), 0);
	// A map that names base pages gets them on the same area.
	struct aml_area_mmap_options base = {};
	base.pages = AML_PAGE_BASE;
	base.alignment = 2 * kMiB;
	p = static_cast<char *>(aml_area_mmap(&area.base, size, &base));
	ASSERT_NE(p, nullptr);
	Touch(p, size);
	EXPECT_EQ(aml_testing::SmapsKb(p, size, "AnonHugePages"), 0u);
	EXPECT_EQ(aml_area_munmap(&area.base, p, size), 0);
}

TEST_F(AreaPages, OneGigabyteWhereTheSystemHasNoneIsEnotsup)
{
	if (access("/sys/kernel/mm/hugepages/hugepages-1048576kB", F_OK) == 0)
		GTEST_SKIP() << "this system offers 1 GiB pages";
	long before = aml_testing::VirtualPages();
	aml_errno = 0;
	EXPECT_EQ(Map(kMiB, AML_PAGE_HUGETLB_1G), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOTSUP);
	EXPECT_NE(Detail().find("hugepages-1048576kB"), std::string::npos)
	        << Detail();
	EXPECT_TRUE(aml_testing::LeftNothingMapped(before, 1 << 30));
}

TEST_F(AreaPages, HugetlbWithoutAPoolIsEnomemWithTheReason)
{
	if (access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) != 0)
		GTEST_SKIP() << "no 2 MiB hugetlb pages on this system";
	// An empty pool: the host's, or one this test empties (root).
	HugePool empty(0);
	if (ReadNumber(kNr2M) != 0)
		GTEST_SKIP() << "2 MiB pages are reserved and cannot be freed";
	long before = aml_testing::VirtualPages();
	aml_errno = 0;
	EXPECT_EQ(Map(3 * kMiB, AML_PAGE_HUGETLB_2M), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM) << Detail();
	EXPECT_NE(Detail().find("no 2 MiB huge pages reserved"),
	          std::string::npos)
	        << Detail();
	EXPECT_TRUE(aml_testing::LeftNothingMapped(before, 4 * kMiB));
}

TEST_F(AreaPages, HugetlbPagesAreTwoMegabytesAndLocated)
{
	if (access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) != 0)
		GTEST_SKIP() << "no 2 MiB hugetlb pages on this system";
	// Four pages in the pool for the test (root), or the host's own.
	HugePool pool(ReadNumber(kNr2M) + 4);
	if (ReadNumber(kFree2M) < 4)
		GTEST_SKIP() << "cannot reserve 2 MiB pages (not root?)";
	// 3 MiB rounds up to two huge pages.
	char *p = static_cast<char *>(Map(3 * kMiB, AML_PAGE_HUGETLB_2M));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno) << ": " << Detail();
	EXPECT_EQ((uintptr_t)p % (2 * kMiB), 0u);
	Touch(p, 4 * kMiB);
	EXPECT_EQ(aml_testing::SmapsKb(p, 4 * kMiB, "KernelPageSize"), 2048u);
	int ids[2] = {-1, -1};
	ASSERT_EQ(aml_topology_locate(t, p + 2 * kMiB + 4096, 1, ids), 0);
	EXPECT_EQ(ids[0], static_cast<int>(index));
	EXPECT_EQ(KernelNode(p), node0->numa_id);
	EXPECT_EQ(KernelNode(p + 2 * kMiB), node0->numa_id);
	// Unmapping what was asked releases the whole huge pages; a part
	// must start on a huge page.
	EXPECT_EQ(aml_area_munmap(&area.base, p + 4096, 4096), AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(&area.base, p + 2 * kMiB, 4096), 0);
	EXPECT_EQ(aml_area_munmap(&area.base, p, 3 * kMiB), AML_EINVAL)
	        << "the second huge page is gone already";
	EXPECT_EQ(aml_area_munmap(&area.base, p, 2 * kMiB), 0);
	EXPECT_EQ(ReadNumber(kFree2M) >= 4, true);
}

TEST(AreaPagesEmulated, HugetlbNeedsThePoolThpIsPlacedWhole)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "knl-flat", nullptr), 0);
	const struct aml_device *dev = aml_topology_device(t, 0);
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, t, &dev, 1, AML_POLICY_BIND,
	                               nullptr),
	          0);
	struct aml_area_mmap_options o = {};
	o.pages = AML_PAGE_HUGETLB_2M;
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&area.base, 2 * kMiB, &o), nullptr);
	// Its spec reserves no hugetlb pages (tier key hugepages_2m).
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_NE(Detail().find("no 2 MiB huge pages reserved"),
	          std::string::npos)
	        << Detail();
	o.pages = AML_PAGE_HUGETLB_1G;
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&area.base, 2 * kMiB, &o), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_NE(Detail().find("no 1 GiB huge pages reserved"),
	          std::string::npos)
	        << Detail();
	// THP: a huge page on the bound device, whatever the host's THP
	// setting (tests/emulator_hugepages_test.cc has the rest).
	o.pages = AML_PAGE_TRANSPARENT_HUGE;
	char *p = static_cast<char *>(aml_area_mmap(&area.base, 2 * kMiB, &o));
	ASSERT_NE(p, nullptr) << Detail();
	EXPECT_EQ((uintptr_t)p % (2 * kMiB), 0u);
	p[0] = 1;
	int id = -1;
	ASSERT_EQ(aml_topology_locate(t, p + 2 * kMiB - 4096, 1, &id), 0);
	EXPECT_EQ(id, 0);
	EXPECT_EQ(aml_area_munmap(&area.base, p, 2 * kMiB), 0);
	aml_area_device_fini(&area);
	aml_topology_destroy(&t);
}

} // namespace
