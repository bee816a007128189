// SPDX-License-Identifier: BSD-3-Clause
// An emulated machine of two quadrants, as a sub-NUMA-clustered Xeon Max:
// each a DDR node d<i> with one CPU (i) and an HBM node h<i> without CPUs,
// seen at 400 GB/s from its own quadrant's CPU and 100 GB/s from the
// other's.
#ifndef AML_TESTS_TESTING_SNC_MACHINE_H
#define AML_TESTS_TESTING_SNC_MACHINE_H

namespace aml_testing
{

inline constexpr char kSncMachine[] =
        "tier: name=d0, kind=DRAM, capacity=64MiB, bw=100GB/s, "
        "latency=100ns, cpus=0;"
        "tier: name=d1, kind=DRAM, capacity=64MiB, bw=100GB/s, "
        "latency=100ns, cpus=1;"
        "tier: name=h0, kind=HBM, capacity=16MiB, bw=400GB/s, "
        "latency=120ns;"
        "tier: name=h1, kind=HBM, capacity=16MiB, bw=400GB/s, "
        "latency=120ns;"
        "access: from=d0, to=h0, bw=400GB/s, latency=120ns;"
        "access: from=d0, to=h1, bw=100GB/s, latency=200ns;"
        "access: from=d1, to=h1, bw=400GB/s, latency=120ns;"
        "access: from=d1, to=h0, bw=100GB/s, latency=200ns";

} // namespace aml_testing

#endif // AML_TESTS_TESTING_SNC_MACHINE_H
