// SPDX-License-Identifier: BSD-3-Clause
// A NUMA node's pool of 2 MiB hugetlb pages, through its sysfs files
// (/sys/devices/system/node/nodeN/hugepages/hugepages-2048kB/), for the
// guest's huge-page tests and the scenario runner.
#ifndef AML_TESTS_VM_NODE_POOL_H
#define AML_TESTS_VM_NODE_POOL_H

#include <cstddef>
#include <string>

namespace aml_vm
{

// The pool file @p name ("nr_hugepages", "free_hugepages", ...) of @p node.
std::string NodePoolFile(int node, const char *name);

// The number in that file, or -1 if it cannot be read.
long ReadNodePool(int node, const char *name);

// Asks for a pool of @p pages on @p node (nr_hugepages), as root; false if
// the write is refused. The kernel may give fewer: read nr_hugepages.
bool WriteNodePool(int node, size_t pages);

} // namespace aml_vm

#endif // AML_TESTS_VM_NODE_POOL_H
