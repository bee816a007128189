// SPDX-License-Identifier: BSD-3-Clause
// Test helper for the guest-only tests (guest.h). Placement is also read
// with move_pages(2) directly, so that a test does not trust aml to check
// aml.
#include "tests/vm/guest.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <numaif.h>

namespace aml_vm
{

bool InGuest(const char *machine)
{
	const char *guest = std::getenv("AML_VM_GUEST");
	return guest != nullptr && std::strcmp(guest, machine) == 0;
}

size_t Page()
{
	return aml_page_size();
}

std::vector<int> NodesOf(const void *ptr, size_t npages)
{
	std::vector<void *> pages(npages);
	std::vector<int> status(npages, -1000);
	for (size_t i = 0; i < npages; i++)
		pages[i] = (char *)(uintptr_t)ptr + i * Page();
	if (move_pages(0, npages, pages.data(), nullptr, status.data(), 0) != 0)
		ADD_FAILURE() << "move_pages: " << std::strerror(errno);
	return status;
}

int MovePageBehindAmlsBack(void *page, int node)
{
	int status = -1000;
	if (move_pages(0, 1, &page, &node, &status, MPOL_MF_MOVE) != 0)
		ADD_FAILURE() << "move_pages: " << std::strerror(errno);
	return status;
}

void Touch(void *ptr, size_t npages)
{
	for (size_t i = 0; i < npages; i++)
		static_cast<volatile char *>(ptr)[i * Page()] = 1;
}

void Guest3Node::SetUp()
{
	AML_VM_REQUIRE_GUEST();
	t = aml_topology_default();
	ASSERT_NE(t, nullptr) << aml_errname(aml_errno);
	ASSERT_EQ(aml_topology_ndevices(t), 3);
	for (int i = 0; i < 3; i++) {
		node[i] = aml_topology_device_of_node(t, i);
		ASSERT_NE(node[i], nullptr) << "no node " << i;
	}
}

std::vector<int>
LocatedNodes(const struct aml_topology *t, const void *ptr, size_t npages)
{
	std::vector<int> ids(npages, -1000);
	EXPECT_EQ(aml_topology_locate(t, ptr, npages, ids.data()), 0);
	for (int &id : ids) {
		if (id >= 0)
			id = aml_topology_device(t, (size_t)id)->numa_id;
	}
	return ids;
}

std::vector<int> Guest3Node::LocatedNodes(const void *ptr, size_t npages) const
{
	return aml_vm::LocatedNodes(t, ptr, npages);
}

size_t Guest3Node::FreeBytes(int numa_id) const
{
	size_t bytes = 0;
	EXPECT_EQ(aml_device_free_bytes(node[numa_id], &bytes), 0);
	return bytes;
}

} // namespace aml_vm
