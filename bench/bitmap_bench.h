// SPDX-License-Identifier: BSD-3-Clause
// Inputs shared by the bitmap benchmark and its peers, so that every library
// works on the same sets.
#ifndef AML_BENCH_BITMAP_BENCH_H
#define AML_BENCH_BITMAP_BENCH_H

#include <cstddef>

namespace aml_bench
{

// A node list of a large machine: 2 sockets x 4 SNC domains of DDR, and the
// matching 8 HBM nodes, as on a Xeon Max in SNC4 flat mode, plus CXL nodes.
constexpr const char *kNodeList = "0-7,8-15,16,17,20-23,64-127,1000-1023";

// Indices set by the set/scan benchmarks: every third index.
constexpr size_t kStride = 3;
constexpr size_t kBits = 1024;

} // namespace aml_bench

#endif // AML_BENCH_BITMAP_BENCH_H
