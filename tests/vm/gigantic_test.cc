// SPDX-License-Identifier: BSD-3-Clause
// Guest-only: hugetlb pages of 1 GiB on the qemu-gigantic kernel (two
// nodes, machines/qemu-gigantic.spec), whose kernel line reserves one page
// per node at boot (docs/vm.md says why not at run time). A device area
// bound to a node gets that node's page (smaps' KernelPageSize,
// move_pages(2) and aml_topology_locate() agree, and the node's pool
// counts it), PREFERRED takes the preferred node's page, a move takes the
// whole page to the other node's free page, a move onto a node
// with none fails and leaves the page where it was (the kernel allocates
// no 1 GiB page to migrate into), and a bind to a node whose page is taken
// is refused up front with the reason, nothing mapped.
// Every test gives the pages back: a pool emptied at run time may not fill
// again (the kernel puts its own pages in the freed GiB), so none is. Each
// 1 GiB page touched or moved costs the guest a second or more (TCG), so
// the tests take five in all.
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

using aml_vm::kPool1G;
using aml_vm::NodesOf;
using aml_vm::Page;
using aml_vm::ReadNodePool;
using aml_vm::Touch;

constexpr size_t kGiB = (size_t)1 << 30;
constexpr size_t kStride = (size_t)2 << 20;

std::string Detail()
{
	char buf[AML_ERROR_DETAIL_MAX];
	aml_error_detail(buf, sizeof(buf));
	return buf;
}

long FreeOn(int node)
{
	return ReadNodePool(node, "free_hugepages", kPool1G);
}

long Pool1G(const char *name)
{
	std::ifstream in(std::string("/sys/kernel/mm/hugepages/"
	                             "hugepages-1048576kB/") +
	                 name);
	long n = -1;
	in >> n;
	return n;
}

// Mappings of this process in 1 GiB pages, by smaps.
int GiganticMappings()
{
	std::ifstream in("/proc/self/smaps");
	std::string line;
	int n = 0;
	while (std::getline(in, line)) {
		if (line.compare(0, 15, "KernelPageSize:") == 0 &&
		    std::stoul(line.substr(15)) == kPool1G)
			n++;
	}
	return n;
}

// The two nodes of qemu-gigantic, each with its one free page of 1 GiB;
// skips outside that guest.
class Gigantic : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		if (!aml_vm::InGuest("qemu-gigantic"))
			GTEST_SKIP() << "not in the qemu-gigantic guest: run "
			                "bazel test "
			                "//tests/vm:vm_qemu_gigantic_test";
		t = aml_topology_default();
		ASSERT_NE(t, nullptr) << aml_errname(aml_errno);
		ASSERT_EQ(aml_topology_ndevices(t), 2);
		for (int n = 0; n < 2; n++) {
			node[n] = aml_topology_device_of_node(t, n);
			ASSERT_NE(node[n], nullptr) << "no node " << n;
			// The boot's kernel line (tests/vm/BUILD.bazel).
			ASSERT_EQ(ReadNodePool(n, "nr_hugepages", kPool1G), 1)
			        << "node" << n << ": hugepagesz=1G "
			        << "hugepages=0:1,1:1 should give it one page";
			ASSERT_EQ(FreeOn(n), 1) << "node" << n;
		}
	}
	// A failed test's pages go back too, or the next test's SetUp would
	// find its pools short.
	void TearDown() override
	{
		for (int i = 0; i < 2; i++) {
			if (mapped_[i] != nullptr)
				Unmap(i, mapped_[i]);
			if (inited_[i])
				aml_area_device_fini(&area_[i]);
		}
	}
	// A map of one 1 GiB page by area i over node numa_id with policy.
	char *Map(int i, int numa_id, enum aml_policy policy)
	{
		EXPECT_FALSE(inited_[i]);
		EXPECT_EQ(aml_area_device_init(&area_[i], t, &node[numa_id], 1,
		                               policy, nullptr),
		          0);
		inited_[i] = true;
		struct aml_area_mmap_options o = {};
		o.pages = AML_PAGE_HUGETLB_1G;
		mapped_[i] = static_cast<char *>(
		        aml_area_mmap(&area_[i].base, kGiB, &o));
		return mapped_[i];
	}
	int Unmap(int i, char *p)
	{
		int err = aml_area_munmap(&area_[i].base, p, kGiB);
		if (err == 0 && p == mapped_[i])
			mapped_[i] = nullptr;
		return err;
	}
	// The node of one base page in every 2 MiB of the page at p, by
	// move_pages(2) and by aml_topology_locate(): both answer for the
	// whole huge page at any of its addresses, so 512 looks say what
	// 262144 would.
	void ExpectOn(const char *p, int numa_id)
	{
		EXPECT_EQ(aml_testing::SmapsKb(p, kGiB, "KernelPageSize"),
		          kPool1G);
		std::vector<int> kernel, aml;
		for (size_t off = 0; off < kGiB; off += kStride) {
			kernel.push_back(NodesOf(p + off, 1)[0]);
			aml.push_back(aml_vm::LocatedNodes(t, p + off, 1)[0]);
		}
		std::vector<int> want(kGiB / kStride, numa_id);
		EXPECT_EQ(kernel, want) << "move_pages(2)";
		EXPECT_EQ(aml, want) << "aml_topology_locate()";
	}

	const struct aml_topology *t = nullptr;
	const struct aml_device *node[2] = {};
	AML_AREA_DEVICE_DECL(area_[2]);
	bool inited_[2] = {};
	char *mapped_[2] = {};
};

// Each node's page taken by a map bound to it; with both taken, a move
// and a third map have nowhere to go (one test: two pages touched).
TEST_F(Gigantic, BoundMapsTakeTheirNodesPageAndThenNothingElseFits)
{
	char *p = Map(0, 0, AML_POLICY_BIND);
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno) << ": " << Detail();
	EXPECT_EQ((uintptr_t)p % kGiB, 0u);
	size_t npages = kGiB / Page();
	for (size_t i = 0; i < npages; i++)
		p[i * Page()] = (char)i;
	ExpectOn(p, 0);
	EXPECT_EQ(FreeOn(0), 0);
	EXPECT_EQ(FreeOn(1), 1);
	char *q = Map(1, 1, AML_POLICY_BIND);
	ASSERT_NE(q, nullptr) << aml_errname(aml_errno) << ": " << Detail();
	EXPECT_EQ((uintptr_t)q % kGiB, 0u);
	Touch(q, npages);
	ExpectOn(q, 1);
	EXPECT_EQ(FreeOn(1), 0);
	ASSERT_EQ(GiganticMappings(), 2);

	// The kernel does not allocate a 1 GiB page to migrate into (only
	// 2 MiB ones): with node 1's page taken, the page stays
	// (MPOL_MF_STRICT).
	EXPECT_EQ(aml_device_move(node[1], p, kGiB), AML_FAILURE) << Detail();
	ExpectOn(p, 0);
	for (size_t i = 0; i < npages; i++)
		ASSERT_EQ(p[i * Page()], (char)i) << "page " << i;
	EXPECT_EQ(ReadNodePool(1, "nr_hugepages", kPool1G), 1);
	EXPECT_EQ(ReadNodePool(1, "surplus_hugepages", kPool1G), 0);

	// A third map bound to node 1 is refused before anything is mapped
	// or reserved: the kernel reserves from the whole pool at map time,
	// so a free page elsewhere would let the map through, and its first
	// touch would be a SIGBUS.
	AML_AREA_DEVICE_DECL(third);
	ASSERT_EQ(aml_area_device_init(&third, t, &node[1], 1, AML_POLICY_BIND,
	                               nullptr),
	          0);
	struct aml_area_mmap_options o = {};
	o.pages = AML_PAGE_HUGETLB_1G;
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&third.base, kGiB, &o), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_NE(Detail().find("0 free on node 1"), std::string::npos)
	        << Detail();
	EXPECT_NE(Detail().find("1 GiB"), std::string::npos) << Detail();
	EXPECT_EQ(GiganticMappings(), 2) << "nothing mapped";
	EXPECT_EQ(Pool1G("resv_hugepages"), 0) << "nothing reserved";
	aml_area_device_fini(&third);

	EXPECT_EQ(Unmap(1, q), 0);
	EXPECT_EQ(Unmap(0, p), 0);
	EXPECT_EQ(GiganticMappings(), 0);
	EXPECT_EQ(FreeOn(0), 1);
	EXPECT_EQ(FreeOn(1), 1);
}

TEST_F(Gigantic, PreferredTakesThePreferredNodesPage)
{
	char *p = Map(0, 1, AML_POLICY_PREFERRED);
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno) << ": " << Detail();
	Touch(p, kGiB / Page());
	ExpectOn(p, 1);
	EXPECT_EQ(FreeOn(0), 1);
	EXPECT_EQ(FreeOn(1), 0);
	EXPECT_EQ(Unmap(0, p), 0);
	EXPECT_EQ(FreeOn(1), 1);
}

TEST_F(Gigantic, AMoveTakesTheWholePageToTheOtherNodesFreePage)
{
	char *p = Map(0, 0, AML_POLICY_BIND);
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno) << ": " << Detail();
	size_t npages = kGiB / Page();
	for (size_t i = 0; i < npages; i++)
		p[i * Page()] = (char)i;
	ExpectOn(p, 0);
	// An end inside the page: mbind() cannot split the VMA there.
	EXPECT_EQ(aml_device_move(node[1], p, kGiB / 2), AML_EINVAL)
	        << Detail();
	ExpectOn(p, 0);
	// The kernel copies the page into node 1's free one, and node 0's
	// goes back to node 0's pool.
	ASSERT_EQ(aml_device_move(node[1], p, kGiB), 0) << Detail();
	ExpectOn(p, 1);
	EXPECT_EQ(FreeOn(0), 1);
	EXPECT_EQ(FreeOn(1), 0);
	for (size_t i = 0; i < npages; i++)
		ASSERT_EQ(p[i * Page()], (char)i) << "page " << i;
	EXPECT_EQ(Unmap(0, p), 0);
	EXPECT_EQ(ReadNodePool(0, "nr_hugepages", kPool1G), 1);
	EXPECT_EQ(ReadNodePool(1, "nr_hugepages", kPool1G), 1);
}

} // namespace
