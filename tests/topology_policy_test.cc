// SPDX-License-Identifier: BSD-3-Clause
// Mappings over a set of devices (numa backend): each policy is handed to the
// kernel exactly as asked, checked independently of aml with
// get_mempolicy(MPOL_F_ADDR), and every bad input is refused.
#include <sys/mman.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>
#include <numaif.h>

#include <aml.h>

namespace
{

class TopologyPolicy : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		topo = aml_topology_default();
		ASSERT_NE(topo, nullptr);
		node0 = aml_topology_device_of_node(topo, 0);
		ASSERT_NE(node0, nullptr);
		aml_bitmap_zero(&node0_set);
		aml_bitmap_set(&node0_set,
		               (size_t)aml_topology_index_of(topo, node0));
		page = aml_page_size();
	}

	// The kernel's policy for the page at ptr: mode and node mask.
	static void KernelPolicy(void *ptr, int *mode, unsigned long *mask)
	{
		*mask = 0;
		ASSERT_EQ(get_mempolicy(mode, mask, 8 * sizeof(*mask) + 1, ptr,
		                        MPOL_F_ADDR),
		          0)
		        << strerror(errno);
	}

	const struct aml_topology *topo = nullptr;
	const struct aml_device *node0 = nullptr;
	struct aml_bitmap node0_set;
	size_t page = 0;
};

struct PolicyCase {
	enum aml_policy policy;
	int mode;
};

class TopologyPolicyEach : public TopologyPolicy,
                           public ::testing::WithParamInterface<PolicyCase>
{
};

TEST_P(TopologyPolicyEach, KernelGetsExactlyThePolicyAndNodes)
{
	const PolicyCase &c = GetParam();
	size_t size = 64 * page;
	char *p = static_cast<char *>(
	        aml_topology_map(topo, &node0_set, c.policy, size));
	if (p == nullptr && aml_errno == AML_ENOTSUP)
		GTEST_SKIP() << "this kernel lacks the policy";
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	int mode = -1;
	unsigned long mask = 0;
	KernelPolicy(p, &mode, &mask);
	EXPECT_EQ(mode, c.mode);
	EXPECT_EQ(mask, 1UL) << "node set widened or changed";
	std::memset(p, 1, size);
	int ids[64];
	ASSERT_EQ(aml_topology_locate(topo, p, 64, ids), 0);
	for (int id : ids)
		EXPECT_EQ(id, aml_topology_index_of(topo, node0));
	EXPECT_EQ(aml_topology_unmap(topo, p, size), 0);
}

INSTANTIATE_TEST_SUITE_P(
        All,
        TopologyPolicyEach,
        ::testing::Values(PolicyCase{AML_POLICY_BIND, MPOL_BIND},
                          PolicyCase{AML_POLICY_PREFERRED, MPOL_PREFERRED},
                          PolicyCase{AML_POLICY_PREFERRED_MANY,
                                     MPOL_PREFERRED_MANY},
                          PolicyCase{AML_POLICY_INTERLEAVE, MPOL_INTERLEAVE}));

TEST_F(TopologyPolicy, MapBadInput)
{
	struct aml_bitmap empty, past_end;
	aml_bitmap_zero(&empty);
	aml_bitmap_zero(&past_end);
	aml_bitmap_set(&past_end, (size_t)aml_topology_ndevices(topo));
	struct {
		const char *what;
		const struct aml_topology *t;
		const struct aml_bitmap *set;
		int policy;
		size_t size;
		int expected;
	} cases[] = {
	        {"NULL topology", nullptr, &node0_set, AML_POLICY_BIND, page,
	         AML_EINVAL},
	        {"NULL set", topo, nullptr, AML_POLICY_BIND, page, AML_EINVAL},
	        {"empty set", topo, &empty, AML_POLICY_BIND, page, AML_EINVAL},
	        {"index past the end", topo, &past_end, AML_POLICY_BIND, page,
	         AML_EDOM},
	        {"unknown policy", topo, &node0_set, AML_POLICY_COUNT, page,
	         AML_EINVAL},
	        {"negative policy", topo, &node0_set, -1, page, AML_EINVAL},
	        {"size 0", topo, &node0_set, AML_POLICY_BIND, 0, AML_EINVAL},
	        {"size overflow", topo, &node0_set, AML_POLICY_BIND, SIZE_MAX,
	         AML_EINVAL},
	};
	for (const auto &c : cases) {
		aml_errno = 0;
		EXPECT_EQ(aml_topology_map(c.t, c.set,
		                           (enum aml_policy)c.policy, c.size),
		          nullptr)
		        << c.what;
		EXPECT_EQ(aml_errno, c.expected)
		        << c.what << ": " << aml_errname(aml_errno);
	}
}

TEST_F(TopologyPolicy, PreferredTakesOneDeviceAndAbsentNodesCannotMap)
{
	struct aml_topology *xml = nullptr;
	int err = aml_topology_load_xml(
	        &xml, "tests/fixtures/topology/xeon-max-snc4-flat.xml");
	if (err == AML_ENOTSUP)
		GTEST_SKIP() << "aml built without hwloc";
	ASSERT_EQ(err, 0);
	struct aml_bitmap two, far;
	aml_bitmap_parse(&two, "0-1");
	aml_bitmap_parse(&far, "15"); // node 15: not on this machine
	aml_errno = 0;
	EXPECT_EQ(aml_topology_map(xml, &two, AML_POLICY_PREFERRED, page),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	for (int policy = 0; policy < AML_POLICY_COUNT; policy++) {
		if (policy == AML_POLICY_PREFERRED_MANY)
			continue; // may say ENOTSUP first on old kernels
		if (policy == AML_POLICY_LOCAL) {
			// LOCAL takes no devices: a set is a bad argument.
			EXPECT_EQ(aml_topology_map(xml, &far, AML_POLICY_LOCAL,
			                           page),
			          nullptr);
			EXPECT_EQ(aml_errno, AML_EINVAL);
			continue;
		}
		if (policy == AML_POLICY_WEIGHTED_INTERLEAVE) {
			// Weights are given through an area only.
			EXPECT_EQ(aml_topology_map(
			                  xml, &far,
			                  AML_POLICY_WEIGHTED_INTERLEAVE, page),
			          nullptr);
			EXPECT_EQ(aml_errno, AML_EINVAL);
			continue;
		}
		aml_errno = 0;
		EXPECT_EQ(aml_topology_map(xml, &far, (enum aml_policy)policy,
		                           page),
		          nullptr);
		EXPECT_EQ(aml_errno, AML_ENODEV) << aml_errname(aml_errno);
	}
	aml_topology_destroy(&xml);
}

TEST_F(TopologyPolicy, UnmapRefusesWhatItDidNotMap)
{
	char *p = static_cast<char *>(
	        aml_topology_map(topo, &node0_set, AML_POLICY_BIND, 3 * page));
	ASSERT_NE(p, nullptr);
	std::memset(p, 3, 3 * page);
	void *plain = mmap(nullptr, page, PROT_READ | PROT_WRITE,
	                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(plain, MAP_FAILED);
	// A device's own maps are not the topology's, and the reverse.
	void *dev_map = aml_device_map(node0, page);
	ASSERT_NE(dev_map, nullptr);

	EXPECT_EQ(aml_topology_unmap(nullptr, p, page), AML_EINVAL);
	EXPECT_EQ(aml_topology_unmap(topo, nullptr, page), AML_EINVAL);
	EXPECT_EQ(aml_topology_unmap(topo, p + 1, page), AML_EINVAL);
	EXPECT_EQ(aml_topology_unmap(topo, p, 0), AML_EINVAL);
	EXPECT_EQ(aml_topology_unmap(topo, p, SIZE_MAX), AML_EINVAL);
	EXPECT_EQ(aml_topology_unmap(topo, p, 4 * page), AML_EINVAL);
	EXPECT_EQ(aml_topology_unmap(topo, plain, page), AML_EINVAL);
	EXPECT_EQ(aml_topology_unmap(topo, dev_map, page), AML_EINVAL);
	EXPECT_EQ(aml_device_unmap(node0, p, page), AML_EINVAL);
	EXPECT_EQ(p[3 * page - 1], 3); // untouched

	// A part may go alone; then the rest.
	EXPECT_EQ(aml_topology_unmap(topo, p + page, page), 0);
	EXPECT_EQ(aml_topology_unmap(topo, p + page, page), AML_EINVAL);
	EXPECT_EQ(aml_topology_unmap(topo, p, page), 0);
	EXPECT_EQ(aml_topology_unmap(topo, p + 2 * page, page), 0);
	EXPECT_EQ(aml_device_unmap(node0, dev_map, page), 0);
	munmap(plain, page);
}

TEST_F(TopologyPolicy, DestroyReleasesTheTopologysMappings)
{
	struct aml_topology *own = nullptr;
	ASSERT_EQ(aml_topology_discover(&own), 0);
	char *p = static_cast<char *>(
	        aml_topology_map(own, &node0_set, AML_POLICY_INTERLEAVE, page));
	ASSERT_NE(p, nullptr);
	p[0] = 1;
	aml_topology_destroy(&own);
	int id = 0;
	ASSERT_EQ(aml_topology_locate(topo, p, 1, &id), 0);
	EXPECT_EQ(id, AML_EINVAL); // unmapped by the destroy
}

} // namespace
