// SPDX-License-Identifier: BSD-3-Clause
// The order every benchmark binary runs its rows in unless told otherwise:
// three repetitions of each, all repetitions of all rows in a random order
// (google-benchmark's --benchmark_enable_random_interleaving). On a shared
// or virtual machine, a burst of noise, or a slow first second, then
// spoils one repetition of several rows, which their medians drop, and not
// every repetition of whichever row ran at that moment: run in turn, the
// rows registered first read up to 1.5x slower here than the same rows
// later in the binary. Compare the `_median` rows.
#ifndef AML_BENCH_FAIR_ORDER_H
#define AML_BENCH_FAIR_ORDER_H

#include <string>
#include <vector>

namespace aml_bench
{

// Whether a flag starting with @p prefix is among argv[1..argc).
bool HasFlag(int argc, char **argv, const char *prefix);

// The flags to add to argv for the fair order: each of
// --benchmark_repetitions=3 and --benchmark_enable_random_interleaving=true
// that the command line does not set itself.
std::vector<std::string> FairOrderFlags(int argc, char **argv);

// Initialises google-benchmark with @p args (the program's name first) and
// the fair order's flags that @p args does not set. False if an argument
// is not google-benchmark's: it has said which on stderr.
bool InitializeInFairOrder(std::vector<char *> args);

} // namespace aml_bench

#endif
