// SPDX-License-Identifier: BSD-3-Clause
// Guest-only: hugetlb pages of 2 MiB on the 3-node kernel, from pools
// reserved per node (/sys/devices/system/node/nodeN/hugepages, as root in
// the guest). A device area bound to a node gets its huge pages there
// (smaps' KernelPageSize, move_pages(2) and aml_topology_locate() agree,
// and that node's pool shrinks), a move takes whole huge pages to the
// other node (to a node without a pool too: the pool follows them), a
// range that cuts a huge page is refused, a node without pages is refused
// up front with the reason, and transparent huge pages, which the guest's
// kernel has "never", are AML_ENOTSUP.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>

#include "tests/testing/smaps.h"
#include "tests/vm/guest.h"
#include "tests/vm/node_pool.h"

namespace
{

using aml_vm::NodesOf;
using aml_vm::Page;
using aml_vm::ReadNodePool;
using aml_vm::Touch;
using aml_vm::WriteNodePool;

constexpr size_t kMiB = 1 << 20;
constexpr size_t kHuge = 2 * kMiB;

std::string Detail()
{
	char buf[AML_ERROR_DETAIL_MAX];
	aml_error_detail(buf, sizeof(buf));
	return buf;
}

// Each node's pool set for a test, and emptied after it.
class Numa3HugePages : public aml_vm::Guest3Node
{
      protected:
	void SetUp() override
	{
		Guest3Node::SetUp();
		if (IsSkipped() || HasFatalFailure())
			return;
		Reserve(0, 0, 0);
	}
	void TearDown() override
	{
		if (aml_vm::InGuest())
			Reserve(0, 0, 0);
	}
	// Pools of n0, n1 and n2 pages on nodes 0, 1 and 2, all free.
	void Reserve(long n0, long n1, long n2)
	{
		long n[3] = {n0, n1, n2};
		for (int node = 0; node < 3; node++) {
			ASSERT_TRUE(WriteNodePool(node, (size_t)n[node]))
			        << "node" << node;
			ASSERT_EQ(ReadNodePool(node, "free_hugepages"), n[node])
			        << "node" << node;
		}
	}
	// A hugetlb map of size bytes by an area over node numa_id with
	// policy, kept in area_.
	char *Map(int numa_id, enum aml_policy policy, size_t size)
	{
		EXPECT_EQ(aml_area_device_init(&area_, t, &node[numa_id], 1,
		                               policy, nullptr),
		          0);
		inited_ = true;
		struct aml_area_mmap_options o = {};
		o.pages = AML_PAGE_HUGETLB_2M;
		return static_cast<char *>(
		        aml_area_mmap(&area_.base, size, &o));
	}
	~Numa3HugePages() override
	{
		if (inited_)
			aml_area_device_fini(&area_);
	}

	AML_AREA_DEVICE_DECL(area_);
	bool inited_ = false;
};

TEST_F(Numa3HugePages, BoundPagesComeFromTheNodesOwnPool)
{
	for (int n = 1; n < 3; n++) {
		Reserve(4, n == 1 ? 4 : 0, n == 2 ? 4 : 0);
		char *p = Map(n, AML_POLICY_BIND, 2 * kHuge);
		ASSERT_NE(p, nullptr)
		        << aml_errname(aml_errno) << ": " << Detail();
		EXPECT_EQ((uintptr_t)p % kHuge, 0u);
		size_t npages = 2 * kHuge / Page();
		Touch(p, npages);
		EXPECT_EQ(aml_testing::SmapsKb(p, 2 * kHuge, "KernelPageSize"),
		          2048u);
		EXPECT_EQ(NodesOf(p, npages), std::vector<int>(npages, n));
		EXPECT_EQ(LocatedNodes(p, npages), std::vector<int>(npages, n));
		EXPECT_EQ(ReadNodePool(n, "free_hugepages"), 2) << "node" << n;
		EXPECT_EQ(ReadNodePool(0, "free_hugepages"), 4);
		EXPECT_EQ(aml_area_munmap(&area_.base, p, 2 * kHuge), 0);
		EXPECT_EQ(ReadNodePool(n, "free_hugepages"), 4) << "node" << n;
		aml_area_device_fini(&area_);
		inited_ = false;
	}
}

TEST_F(Numa3HugePages, AMoveTakesWholeHugePagesToTheOtherNode)
{
	Reserve(0, 2, 2);
	char *p = Map(1, AML_POLICY_BIND, 2 * kHuge);
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno) << ": " << Detail();
	size_t npages = 2 * kHuge / Page();
	Touch(p, npages);
	for (size_t i = 0; i < npages; i++)
		p[i * Page()] = (char)i;
	ASSERT_EQ(NodesOf(p, npages), std::vector<int>(npages, 1));
	ASSERT_EQ(aml_device_move(node[2], p, 2 * kHuge), 0) << Detail();
	EXPECT_EQ(NodesOf(p, npages), std::vector<int>(npages, 2));
	EXPECT_EQ(LocatedNodes(p, npages), std::vector<int>(npages, 2));
	EXPECT_EQ(aml_testing::SmapsKb(p, 2 * kHuge, "KernelPageSize"), 2048u);
	EXPECT_EQ(ReadNodePool(1, "free_hugepages"), 2);
	EXPECT_EQ(ReadNodePool(2, "free_hugepages"), 0);
	for (size_t i = 0; i < npages; i++)
		ASSERT_EQ(p[i * Page()], (char)i) << "page " << i;
	EXPECT_EQ(aml_area_munmap(&area_.base, p, 2 * kHuge), 0);
}

TEST_F(Numa3HugePages, AMoveOntoANodeWithoutPagesTakesAFreshHugePage)
{
	Reserve(0, 2, 0);
	char *p = Map(1, AML_POLICY_BIND, 2 * kHuge);
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno) << ": " << Detail();
	size_t npages = 2 * kHuge / Page();
	Touch(p, npages);
	// An end inside a huge page: mbind() cannot split the VMA there.
	aml_errno = 0;
	EXPECT_EQ(aml_device_move(node[2], p + Page(), Page()), AML_EINVAL)
	        << Detail();
	EXPECT_EQ(aml_device_move(node[2], p, kHuge + Page()), AML_EINVAL)
	        << Detail();
	EXPECT_EQ(NodesOf(p, npages), std::vector<int>(npages, 1));
	// Node 0 has no pool, yet the huge pages move there.
	ASSERT_EQ(aml_device_move(node[0], p, 2 * kHuge), 0) << Detail();
	EXPECT_EQ(NodesOf(p, npages), std::vector<int>(npages, 0));
	EXPECT_EQ(aml_testing::SmapsKb(p, 2 * kHuge, "KernelPageSize"), 2048u);
	// Each went to a fresh huge page of node 0, which joined node 0's
	// pool, and node 1's left its pool for free memory
	// (alloc_migrate_huge_page(), move_hugetlb_state()).
	EXPECT_EQ(ReadNodePool(0, "nr_hugepages"), 2);
	EXPECT_EQ(ReadNodePool(0, "free_hugepages"), 0);
	EXPECT_EQ(ReadNodePool(1, "nr_hugepages"), 0);
	EXPECT_EQ(ReadNodePool(0, "surplus_hugepages"), 0);
	EXPECT_EQ(aml_area_munmap(&area_.base, p, 2 * kHuge), 0);
	EXPECT_EQ(ReadNodePool(0, "free_hugepages"), 2);
}

TEST_F(Numa3HugePages, ABoundNodeWithoutPagesIsRefusedWithTheReason)
{
	// Pages on node 1 only: a bind to node 2 would SIGBUS at the first
	// touch, so it is refused before anything is mapped.
	Reserve(0, 4, 0);
	aml_errno = 0;
	EXPECT_EQ(Map(2, AML_POLICY_BIND, 2 * kHuge), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_NE(Detail().find("0 free on node 2"), std::string::npos)
	        << Detail();
	EXPECT_EQ(ReadNodePool(1, "free_hugepages"), 4);
	std::ifstream resv(
	        "/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages");
	long reserved = -1;
	resv >> reserved;
	EXPECT_EQ(reserved, 0) << "nothing reserved by the refused map";
}

TEST_F(Numa3HugePages, TransparentHugePagesAreNotSupportedHere)
{
	// The guest's kernel runs with transparent_hugepage=never.
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, t, &node[1], 1, AML_POLICY_BIND,
	                               nullptr),
	          0);
	struct aml_area_mmap_options o = {};
	o.pages = AML_PAGE_TRANSPARENT_HUGE;
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&area.base, kHuge, &o), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOTSUP) << Detail();
	aml_area_device_fini(&area);
}

} // namespace
