// SPDX-License-Identifier: BSD-3-Clause
// A NUMA node's pool of hugetlb pages of one size (2 MiB unless said),
// through its sysfs files (/sys/devices/system/node/nodeN/hugepages/
// hugepages-2048kB/, -1048576kB/ for 1 GiB), for the guest's huge-page
// tests and the scenario runner.
#ifndef AML_TESTS_VM_NODE_POOL_H
#define AML_TESTS_VM_NODE_POOL_H

#include <cstddef>
#include <string>

namespace aml_vm
{

// The huge page of a pool, in KiB as sysfs names it.
constexpr size_t kPool2m = 2048;
constexpr size_t kPool1g = 1048576;

// The pool file @p name ("nr_hugepages", "free_hugepages", ...) of @p node
// for huge pages of @p kib KiB.
std::string NodePoolFile(int node, const char *name, size_t kib = kPool2m);

// The number in that file, or -1 if it cannot be read.
long ReadNodePool(int node, const char *name, size_t kib = kPool2m);

// Asks for a pool of @p pages on @p node (nr_hugepages), as root; false if
// the write is refused. The kernel may give fewer: read nr_hugepages.
bool WriteNodePool(int node, size_t pages, size_t kib = kPool2m);

} // namespace aml_vm

#endif // AML_TESTS_VM_NODE_POOL_H
