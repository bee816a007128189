// SPDX-License-Identifier: BSD-3-Clause
// Discovery of this machine: hwloc (when built) and the libnuma/sysfs
// fallback must see the same nodes, CPUs and sizes.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include <aml.h>

#include "aml/src/backend.h"
#include "backends/hwloc/hwloc_backend.h"
#include "backends/numa/numa_backend.h"
#include "backends/sysfs/sysfs.h"

namespace
{

TEST(TopologyDiscover, DefaultIsThisMachine)
{
	const struct aml_topology *t = aml_topology_default();
	ASSERT_NE(t, nullptr) << aml_errname(aml_errno);
	std::string source = aml_topology_source(t);
	EXPECT_EQ(source, AML_HAVE_HWLOC ? "hwloc" : "libnuma");
	EXPECT_GE(aml_topology_ndevices(t), 1);
	EXPECT_EQ(aml_topology_is_this_system(t), 1);
	EXPECT_EQ(aml_topology_is_this_system(nullptr), AML_EINVAL);
	// Asking again gives the same object.
	EXPECT_EQ(aml_topology_default(), t);
	// Every CPU this thread may run on belongs to some node.
	const struct aml_device *nearest = aml_topology_nearest(t, -1);
	ASSERT_NE(nearest, nullptr);
	EXPECT_GT(aml_bitmap_count(&nearest->cpus), 0);
}

TEST(TopologyDiscover, LibnumaAgreesWithHwloc)
{
	if (!AML_HAVE_HWLOC)
		GTEST_SKIP() << "hwloc is not built: nothing to compare with";
	struct aml_topology *by_hwloc = nullptr, *by_numa = nullptr;
	ASSERT_EQ(aml_hwloc_discover(&by_hwloc, nullptr, 0, nullptr), 0);
	ASSERT_EQ(aml_numa_discover(&by_numa), 0);
	EXPECT_STREQ(aml_topology_source(by_numa), "libnuma");
	ASSERT_EQ(aml_topology_ndevices(by_numa),
	          aml_topology_ndevices(by_hwloc));
	for (int i = 0; i < aml_topology_ndevices(by_numa); i++) {
		const struct aml_device *a = aml_topology_device(by_hwloc, i);
		const struct aml_device *b = aml_topology_device(by_numa, i);
		EXPECT_EQ(a->numa_id, b->numa_id);
		EXPECT_EQ(a->kind, b->kind) << a->name;
		EXPECT_EQ(aml_bitmap_equal(&a->cpus, &b->cpus), 1) << a->name;
		// Both read the node's meminfo; hwloc leaves huge pages out.
		EXPECT_NEAR((double)a->capacity, (double)b->capacity,
		            0.05 * (double)b->capacity)
		        << a->name;
	}
	aml_topology_destroy(&by_hwloc);
	aml_topology_destroy(&by_numa);
}

TEST(TopologyDiscover, LibnumaDevicesMapLikeHwlocOnes)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_numa_discover(&t), 0);
	const struct aml_device *dev = aml_topology_device(t, 0);
	ASSERT_NE(dev, nullptr);
	size_t page = aml_page_size();
	char *p = static_cast<char *>(aml_device_map(dev, 8 * page));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	for (size_t i = 0; i < 8; i++)
		p[i * page] = 1;
	int ids[8];
	ASSERT_EQ(aml_topology_locate(t, p, 8, ids), 0);
	for (int id : ids)
		EXPECT_EQ(id, 0);
	EXPECT_EQ(aml_device_unmap(dev, p, 8 * page), 0);
	aml_topology_destroy(&t);
}

// HMAT's MiB/s, as sysfs and hwloc give them, in bytes per second: both
// backends convert with this, which saturates where a shift by 20 wrapped
// (2^44 MiB/s became 0, the slowest figure).
TEST(TopologyDiscover, HmatBandwidthSaturates)
{
	const uint64_t edge = UINT64_C(1) << 44;
	EXPECT_EQ(aml_hmat_bytes_per_second(0), 0u);
	EXPECT_EQ(aml_hmat_bytes_per_second(1), UINT64_C(1) << 20);
	EXPECT_EQ(aml_hmat_bytes_per_second(204800), UINT64_C(204800) << 20);
	EXPECT_EQ(aml_hmat_bytes_per_second(edge - 1), (edge - 1) << 20);
	EXPECT_EQ(aml_hmat_bytes_per_second(edge), UINT64_MAX);
	EXPECT_EQ(aml_hmat_bytes_per_second(edge + 1), UINT64_MAX);
	EXPECT_EQ(aml_hmat_bytes_per_second(UINT64_MAX), UINT64_MAX);
}

} // namespace
