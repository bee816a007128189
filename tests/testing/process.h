// SPDX-License-Identifier: BSD-3-Clause
// What the test process holds, read from /proc: leak checks for maps that
// must fail without leaving anything behind.
#ifndef AML_TESTS_TESTING_PROCESS_H
#define AML_TESTS_TESTING_PROCESS_H

namespace aml_testing
{

// The process's virtual size in pages (/proc/self/statm), or -1 if it
// cannot be read. A refused map that left its mapping behind grows it.
long VirtualPages();

} // namespace aml_testing

#endif // AML_TESTS_TESTING_PROCESS_H
