// SPDX-License-Identifier: BSD-3-Clause
// hwloc XML text for tests: the fixtures and edits of them; machines
// written from scratch are in hwloc_machine.h, included here.
#ifndef AML_TESTS_TESTING_HWLOC_XML_H
#define AML_TESTS_TESTING_HWLOC_XML_H

#include <cstddef>
#include <string>
#include <vector>

#include "tests/testing/hwloc_machine.h"

namespace aml_testing
{

// tests/fixtures/topology/<name>.xml, or "" if it cannot be read.
std::string ReadFixture(const std::string &name);

// text with the first from replaced by to (a test failure if none).
std::string
Replace(std::string text, const std::string &from, const std::string &to);

// The line (from 1) where what first appears in text; the last line for "".
size_t LineOf(const std::string &text, const std::string &what);

} // namespace aml_testing

#endif // AML_TESTS_TESTING_HWLOC_XML_H
