// SPDX-License-Identifier: BSD-3-Clause
#include "tests/testing/topology_builder.h"

#include <gtest/gtest.h>

namespace aml_testing
{
namespace
{

// Hand-made devices describe nodes only: nothing maps or locates.
int BuilderLocate(const struct aml_topology *, const void *, size_t, int *)
{
	return AML_ENOTSUP;
}

const struct aml_device_ops kDescriptionOnlyOps = {};

int BuilderDeviceInit(struct aml_device *dev)
{
	dev->ops = &kDescriptionOnlyOps;
	snprintf(dev->name, sizeof(dev->name), "node%d", dev->numa_id);
	return 0;
}

void BuilderDeviceFini(struct aml_device *)
{
}

const struct aml_topology_ops kBuilderOps = {
        .locate = BuilderLocate,
        .device_init = BuilderDeviceInit,
        .device_fini = BuilderDeviceFini,
        // Description only: maps over several nodes are not supported.
        .map_nodes = nullptr,
        .unmap_nodes = nullptr,
        .rebind = nullptr,
        .populate = nullptr,
        .fini = nullptr,
        .map_nodes_hugetlb = nullptr,
        .advise_huge = nullptr,
        .map_file_nodes = nullptr,
        .check_pages = nullptr,
};

} // namespace

struct aml_bitmap Cpus(const std::string &list)
{
	struct aml_bitmap b;
	EXPECT_EQ(aml_bitmap_parse(&b, list.c_str()), 0) << list;
	return b;
}

static void AddInitiator(struct aml_device *dev,
                         const std::string &cpus,
                         double bandwidth_gib_s,
                         uint64_t latency_ns)
{
	if (cpus.empty())
		return;
	struct aml_device_perf perf = {};
	perf.bandwidth = (uint64_t)(bandwidth_gib_s * (1 << 30));
	perf.latency_ns = latency_ns;
	struct aml_bitmap initiator = Cpus(cpus);
	EXPECT_EQ(aml_device_add_initiator(dev, &initiator, &perf), 0);
}

struct aml_topology *BuildTopology(const std::vector<Node> &nodes)
{
	struct aml_topology *t = nullptr;
	struct aml_topology_desc desc = {};
	desc.source = "test";
	desc.ops = &kBuilderOps;
	EXPECT_EQ(aml_topology_create(&t, &desc), 0);
	for (const Node &n : nodes) {
		struct aml_device dev = {};
		dev.numa_id = n.numa_id;
		dev.capacity = n.capacity_gib << 30;
		dev.cpus = Cpus(n.cpus);
		AddInitiator(&dev, n.initiator, n.bandwidth_gib_s,
		             n.latency_ns);
		AddInitiator(&dev, n.remote_initiator, n.remote_bandwidth_gib_s,
		             n.remote_latency_ns);
		EXPECT_EQ(aml_topology_add_device(t, &dev, n.subtype.c_str()),
		          0);
	}
	EXPECT_EQ(aml_topology_finish(t, true), 0);
	return t;
}

} // namespace aml_testing
