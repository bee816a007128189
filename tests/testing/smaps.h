// SPDX-License-Identifier: BSD-3-Clause
// What /proc/self/smaps says of a range: the page sizes the kernel gave it
// (KernelPageSize, AnonHugePages), read independently of aml, for the tests
// and benchmarks of huge pages.
#ifndef AML_TESTS_TESTING_SMAPS_H
#define AML_TESTS_TESTING_SMAPS_H

#include <cstddef>

namespace aml_testing
{

// The kB of smaps field @p field ("KernelPageSize", "AnonHugePages", ...)
// summed over the process's mappings that overlap [p, p + size); 0 where
// none has it, or smaps cannot be read.
size_t SmapsKb(const void *p, size_t size, const char *field);

} // namespace aml_testing

#endif // AML_TESTS_TESTING_SMAPS_H
