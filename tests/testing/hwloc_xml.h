// SPDX-License-Identifier: BSD-3-Clause
// hwloc XML text for tests: the fixtures, edits of them, and small valid
// machines written from scratch.
#ifndef AML_TESTS_TESTING_HWLOC_XML_H
#define AML_TESTS_TESTING_HWLOC_XML_H

#include <cstddef>
#include <string>
#include <vector>

namespace aml_testing
{

// tests/fixtures/topology/<name>.xml, or "" if it cannot be read.
std::string ReadFixture(const std::string &name);

// text with the first from replaced by to (a test failure if none).
std::string
Replace(std::string text, const std::string &from, const std::string &to);

// The line (from 1) where what first appears in text; the last line for "".
size_t LineOf(const std::string &text, const std::string &what);

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

#endif // AML_TESTS_TESTING_HWLOC_XML_H
