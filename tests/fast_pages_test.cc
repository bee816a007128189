// SPDX-License-Identifier: BSD-3-Clause
// Fast memory in huge pages: the page kind of aml_fast_options reaches the
// spans its arenas map (their areas carry it), on this machine's node 0
// named as the fast device; the one-call interface takes it from
// AML_FAST_PAGES (set to "thp" by the BUILD rule).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/fast.h>

namespace
{

constexpr size_t kMiB = 1 << 20;

bool ThpNever()
{
	std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
	std::string s;
	std::getline(in, s);
	return s.empty() || s.find("[never]") != std::string::npos;
}

// The VmFlags of the mapping that holds p ("" if none).
std::string VmFlags(const void *p)
{
	std::ifstream in("/proc/self/smaps");
	std::string line;
	bool inside = false;
	uintptr_t a = (uintptr_t)p;
	while (std::getline(in, line)) {
		unsigned long start, end;
		if (sscanf(line.c_str(), "%lx-%lx ", &start, &end) == 2 &&
		    line.find(':') > line.find(' ')) {
			inside = start <= a && a < end;
			continue;
		}
		if (inside && line.compare(0, 8, "VmFlags:") == 0)
			return line;
	}
	return "";
}

class FastPages : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		t = aml_topology_default();
		ASSERT_NE(t, nullptr);
		if (aml_topology_is_emulated(t) == 1)
			GTEST_SKIP() << "AML_EMULATE is set";
		const struct aml_device *node0 =
		        aml_topology_device_of_node(t, 0);
		ASSERT_NE(node0, nullptr);
		aml_bitmap_zero(&fast);
		aml_bitmap_set(&fast, (size_t)aml_topology_index_of(t, node0));
	}
	const struct aml_topology *t = nullptr;
	struct aml_bitmap fast;
};

TEST_F(FastPages, UnknownKindIsEinval)
{
	struct aml_fast_options o = {};
	o.devices = &fast;
	o.pages = AML_PAGE_KIND_COUNT;
	struct aml_fast_memory *f = nullptr;
	EXPECT_EQ(aml_fast_memory_create(&f, t, &o), AML_EINVAL);
	EXPECT_EQ(f, nullptr);
	EXPECT_EQ(aml_fast_set_pages(AML_PAGE_KIND_COUNT), AML_EINVAL);
}

TEST_F(FastPages, ThpSpansAreAdvised)
{
	struct aml_fast_options o = {};
	o.devices = &fast;
	o.policy = AML_FAST_BIND;
	o.pages = AML_PAGE_TRANSPARENT_HUGE;
	struct aml_fast_memory *f = nullptr;
	ASSERT_EQ(aml_fast_memory_create(&f, t, &o), 0);
	aml_errno = 0;
	char *p = static_cast<char *>(aml_fast_memory_malloc(f, 4 * kMiB));
	if (ThpNever()) {
		EXPECT_EQ(p, nullptr);
		EXPECT_EQ(aml_errno, AML_ENOTSUP);
	} else {
		ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
		EXPECT_NE(VmFlags(p).find(" hg"), std::string::npos)
		        << VmFlags(p);
		// A small block's span is advised too.
		char *q = static_cast<char *>(aml_fast_memory_malloc(f, 64));
		ASSERT_NE(q, nullptr);
		EXPECT_NE(VmFlags(q).find(" hg"), std::string::npos);
		EXPECT_EQ(aml_fast_memory_free(f, q), 0);
		EXPECT_EQ(aml_fast_memory_free(f, p), 0);
	}
	aml_fast_memory_destroy(&f);
}

TEST_F(FastPages, BaseSpansAreNotAdvised)
{
	struct aml_fast_options o = {};
	o.devices = &fast;
	o.policy = AML_FAST_BIND;
	struct aml_fast_memory *f = nullptr;
	ASSERT_EQ(aml_fast_memory_create(&f, t, &o), 0);
	char *p = static_cast<char *>(aml_fast_memory_malloc(f, 4 * kMiB));
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(VmFlags(p).find(" hg"), std::string::npos) << VmFlags(p);
	EXPECT_EQ(aml_fast_memory_free(f, p), 0);
	aml_fast_memory_destroy(&f);
}

size_t ReadNumber(const char *path)
{
	std::ifstream in(path);
	size_t n = 0;
	in >> n;
	return n;
}

const char *kNr2M = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
const char *kFree2M =
        "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";

bool WritePool(size_t n)
{
	FILE *f = fopen(kNr2M, "w");
	if (f == nullptr)
		return false;
	bool ok = fprintf(f, "%zu\n", n) > 0;
	return fclose(f) == 0 && ok;
}

// hugetlb spans: small and large blocks each take whole 2 MiB pages from
// the pool, and give them all back; with no pool, AML_ENOMEM at the call.
TEST_F(FastPages, HugetlbSpansComeFromThePoolAndGoBack)
{
	if (access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) != 0)
		GTEST_SKIP() << "no 2 MiB hugetlb pages on this system";
	size_t old = ReadNumber(kNr2M);
	bool resized = WritePool(old + 8);
	size_t free_before = ReadNumber(kFree2M);
	RecordProperty("free_huge_pages", (int)free_before);
	struct aml_fast_options o = {};
	o.devices = &fast;
	o.policy = AML_FAST_BIND;
	o.pages = AML_PAGE_HUGETLB_2M;
	struct aml_fast_memory *f = nullptr;
	ASSERT_EQ(aml_fast_memory_create(&f, t, &o), 0);
	aml_errno = 0;
	char *small = static_cast<char *>(aml_fast_memory_malloc(f, 64));
	if (free_before == 0) {
		EXPECT_EQ(small, nullptr);
		EXPECT_EQ(aml_errno, AML_ENOMEM);
	} else if (free_before >= 8) {
		ASSERT_NE(small, nullptr) << aml_errname(aml_errno);
		small[0] = 1;
		char *large = static_cast<char *>(
		        aml_fast_memory_malloc(f, 3 * kMiB));
		ASSERT_NE(large, nullptr) << aml_errname(aml_errno);
		large[0] = large[3 * kMiB - 1] = 1;
		EXPECT_LT(ReadNumber(kFree2M), free_before);
		EXPECT_EQ(aml_fast_memory_free(f, large), 0);
		EXPECT_EQ(aml_fast_memory_free(f, small), 0);
	}
	aml_fast_memory_destroy(&f);
	EXPECT_EQ(ReadNumber(kFree2M), free_before) << "huge pages leaked";
	if (resized)
		WritePool(old);
}

// The one-call interface, with AML_FAST_PAGES=thp and AML_FAST_NODES=0.
TEST_F(FastPages, OneCallTakesThePagesFromTheEnvironment)
{
	char why[AML_FAST_REASON_MAX] = "";
	ASSERT_EQ(aml_fast_available(why, sizeof(why)), 1) << why;
	EXPECT_EQ(aml_fast_set_pages(AML_PAGE_BASE), AML_EBUSY);
	aml_errno = 0;
	char *p = static_cast<char *>(aml_fast_malloc(4 * kMiB));
	if (ThpNever()) {
		EXPECT_EQ(p, nullptr);
		EXPECT_EQ(aml_errno, AML_ENOTSUP);
		return;
	}
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_NE(VmFlags(p).find(" hg"), std::string::npos) << VmFlags(p);
	aml_fast_free(p);
}

} // namespace
