// SPDX-License-Identifier: BSD-3-Clause
// Test helper for the guest-only tests: they run in the 3-node QEMU guest of
// tests/vm/run_vm.py, whose /init sets AML_VM_GUEST to the machine's name
// (qemu-3node here), and skip anywhere else (a laptop, a CI runner, a real
// multi-node machine with another topology). In the guest they are
// mandatory: a guest that does not look like the machine of docs/vm.md
// fails them.
#ifndef AML_TESTS_VM_GUEST_H
#define AML_TESTS_VM_GUEST_H

#include <cstddef>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

namespace aml_vm
{

// Is this process in the guest of @p machine (AML_VM_GUEST=machine)?
bool InGuest(const char *machine = "qemu-3node");

// The page size.
size_t Page();

// NUMA node of each page from @p ptr, read with move_pages(2) directly,
// independently of aml: a node id, or the negative errno move_pages gives
// (-ENOENT for a page not present).
std::vector<int> NodesOf(const void *ptr, size_t npages);

// Move the page at @p page to NUMA node @p node with move_pages(2), behind
// aml's back. @return the page's status after the call.
int MovePageBehindAmlsBack(void *page, int node);

// Touch every page of [ptr, ptr + npages pages), in order.
void Touch(void *ptr, size_t npages);

// aml_topology_locate() of each page from @p ptr on @p t, as NUMA ids
// (aml's view); a page aml cannot place keeps locate's negative code.
std::vector<int>
LocatedNodes(const struct aml_topology *t, const void *ptr, size_t npages);

// The guest's three nodes through aml_topology_default(): skips outside the
// guest, and checks inside it that there are three devices, nodes 0, 1, 2.
class Guest3Node : public ::testing::Test
{
      protected:
	void SetUp() override;
	// Device index of NUMA node @p numa_id (0, 1 or 2).
	int Index(int numa_id) const
	{
		return aml_topology_index_of(t, node[numa_id]);
	}
	// aml_topology_locate() of each page, as NUMA ids (aml's view).
	std::vector<int> LocatedNodes(const void *ptr, size_t npages) const;
	size_t FreeBytes(int numa_id) const;

	const struct aml_topology *t = nullptr;
	const struct aml_device *node[3] = {};
};

} // namespace aml_vm

// Skip the rest of the test outside the guest.
#define AML_VM_REQUIRE_GUEST()                                                 \
	do {                                                                   \
		if (!aml_vm::InGuest())                                        \
			GTEST_SKIP() << "not in the qemu-3node guest "         \
			                "(AML_VM_GUEST unset): run "           \
			                "bazel test //tests/vm:vm_test";       \
	} while (0)

#endif // AML_TESTS_VM_GUEST_H
