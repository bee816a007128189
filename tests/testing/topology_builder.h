// SPDX-License-Identifier: BSD-3-Clause
// Test helper: topologies made by hand through the private builder, with
// devices that cannot map (their ops say AML_ENOTSUP), for tests of ranking,
// classification and queries that must not depend on this machine.
#ifndef AML_TESTS_TESTING_TOPOLOGY_BUILDER_H
#define AML_TESTS_TESTING_TOPOLOGY_BUILDER_H

#include <cstdint>
#include <string>
#include <vector>

#include <aml.h>

#include "aml/src/device/spi.h"

namespace aml_testing
{

// One node of a hand-made topology. Bandwidths in GiB/s for readability.
struct Node {
	int numa_id;
	uint64_t capacity_gib;
	std::string cpus; // numactl list of the node's own CPUs, "" if none
	std::string initiator; // CPUs of the (only) initiator, "" for none
	double bandwidth_gib_s;
	uint64_t latency_ns;
	std::string subtype;
	// An optional second, remote initiator with its own values.
	std::string remote_initiator = "";
	double remote_bandwidth_gib_s = 0;
	uint64_t remote_latency_ns = 0;
};

// Builds and finishes a topology, classifying kinds. Fails the test on error.
struct aml_topology *BuildTopology(const std::vector<Node> &nodes);

struct aml_bitmap Cpus(const std::string &list);

} // namespace aml_testing

#endif // AML_TESTS_TESTING_TOPOLOGY_BUILDER_H
