// SPDX-License-Identifier: BSD-3-Clause
// Valid hwloc XML machines written from scratch, of any size up to aml's
// 1024 NUMA nodes, for tests and for benchmarks (no googletest here).
#ifndef AML_TESTS_TESTING_HWLOC_MACHINE_H
#define AML_TESTS_TESTING_HWLOC_MACHINE_H

#include <string>
#include <vector>

namespace aml_testing
{

// A set in hwloc's syntax: 32-bit words in hex, most significant first.
std::string HwlocSet(const std::vector<int> &indices);

// The four sets of an object: cpuset and complete_cpuset cpus, nodeset and
// complete_nodeset nodes, as attributes with a leading space.
std::string Sets(const std::vector<int> &cpus, const std::vector<int> &nodes);

// A valid machine of n packages: package p holds NUMA node p (gp_index
// 3 + 3p) and PU p; memattrs (<memattr> elements) follow the root object.
std::string Machine(int n, const std::string &memattrs);

// One <memattr_value> for NUMA node p of Machine(), from initiator cpus.
std::string
Value(int node, const std::vector<int> &cpus, unsigned long long value);

} // namespace aml_testing

#endif // AML_TESTS_TESTING_HWLOC_MACHINE_H
