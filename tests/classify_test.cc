// SPDX-License-Identifier: BSD-3-Clause
// The rule that gives a NUMA node its kind (docs/classification.md), one
// clause at a time, and the environment variables that steer it.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include <aml.h>

#include "aml/src/device/classify.h"
#include "aml/src/quote.h"
#include "tests/testing/topology_builder.h"

namespace
{

using aml_testing::Cpus;

struct aml_device
Device(int numa_id, const char *cpus, double bw_gib_s, uint64_t latency_ns)
{
	struct aml_device dev = {};
	dev.numa_id = numa_id;
	dev.cpus = Cpus(cpus);
	if (bw_gib_s > 0 || latency_ns > 0) {
		dev.ninitiators = 1;
		dev.initiators[0].cpus = Cpus("0-3");
		dev.initiators[0].perf.bandwidth =
		        (uint64_t)(bw_gib_s * (1 << 30));
		dev.initiators[0].perf.latency_ns = latency_ns;
	}
	return dev;
}

struct aml_classify_env Env()
{
	struct aml_classify_env env = {};
	env.hbm_threshold = AML_HBM_THRESHOLD_DEFAULT;
	env.cpu_node_latency_ns = 110;
	return env;
}

TEST(Classify, SubtypesName)
{
	struct aml_classify_env env = Env();
	struct aml_device slow = Device(1, "", 10, 110);
	EXPECT_EQ(aml_classify(&slow, "MCDRAM", &env), AML_DEVICE_HBM);
	EXPECT_EQ(aml_classify(&slow, "HBM", &env), AML_DEVICE_HBM);
	EXPECT_EQ(aml_classify(&slow, "CXL-DRAM", &env), AML_DEVICE_CXL);
	EXPECT_EQ(aml_classify(&slow, "NVM", &env), AML_DEVICE_NVM);
	EXPECT_EQ(aml_classify(&slow, "DRAM", &env), AML_DEVICE_DRAM);
	EXPECT_EQ(aml_classify(&slow, "SomethingNew", &env), AML_DEVICE_DRAM);
}

TEST(Classify, BandwidthThresholdIsMemkinds)
{
	struct aml_classify_env env = Env();
	// 204800 MiB/s = 200 GiB/s exactly.
	struct aml_device at = Device(1, "", 200, 120);
	struct aml_device below = Device(1, "", 199.9, 120);
	EXPECT_EQ(aml_classify(&at, "", &env), AML_DEVICE_HBM);
	EXPECT_EQ(aml_classify(&below, "", &env), AML_DEVICE_DRAM);
	env.hbm_threshold = 100ULL << 30;
	EXPECT_EQ(aml_classify(&below, "", &env), AML_DEVICE_HBM);
}

TEST(Classify, FastNodesWithCpusAreNotHbmByBandwidth)
{
	// One socket of 8-channel DDR5-4800: 307.2 GB/s, above memkind's
	// threshold, yet ordinary DRAM. Only CPU-less nodes pass rule 4.
	struct aml_classify_env env = Env();
	struct aml_device ddr5 = Device(0, "0-63", 286.1, 110);
	EXPECT_EQ(aml_classify(&ddr5, "", &env), AML_DEVICE_DRAM);
	EXPECT_EQ(aml_classify(&ddr5, "HBM", &env), AML_DEVICE_HBM);
}

TEST(Classify, CpulessAndSlowIsCxl)
{
	struct aml_classify_env env = Env(); // fastest CPU node: 110 ns
	struct aml_device far = Device(2, "", 30, 165);  // 1.5 x
	struct aml_device near = Device(2, "", 30, 164); // just below
	struct aml_device with_cpus = Device(2, "4-7", 30, 300);
	EXPECT_EQ(aml_classify(&far, "", &env), AML_DEVICE_CXL);
	EXPECT_EQ(aml_classify(&near, "", &env), AML_DEVICE_DRAM);
	EXPECT_EQ(aml_classify(&with_cpus, "", &env), AML_DEVICE_DRAM);
	env.cpu_node_latency_ns = 0; // no reference: no guess
	EXPECT_EQ(aml_classify(&far, "", &env), AML_DEVICE_DRAM);
}

// Latencies past 2^63 ns come from files, not machines: the comparison
// must not wrap them into "near".
TEST(Classify, HugeLatenciesAreStillFar)
{
	struct aml_classify_env env = Env();
	for (uint64_t ns :
	     {(uint64_t)1 << 63, ((uint64_t)1 << 63) + 1, UINT64_MAX}) {
		struct aml_device far = Device(2, "", 30, ns);
		EXPECT_EQ(aml_classify(&far, "", &env), AML_DEVICE_CXL) << ns;
	}
	env.cpu_node_latency_ns = UINT64_MAX; // a reference past any device
	struct aml_device near = Device(2, "", 30, UINT64_MAX - 1);
	EXPECT_EQ(aml_classify(&near, "", &env), AML_DEVICE_DRAM);
}

TEST(Classify, NoPerformanceDataIsDram)
{
	struct aml_classify_env env = Env();
	struct aml_device unknown = Device(0, "", 0, 0);
	EXPECT_EQ(aml_classify(&unknown, "", &env), AML_DEVICE_DRAM);
}

TEST(Classify, MemkindHbwNodesMakeHbm)
{
	struct aml_classify_env env = Env();
	env.has_memkind_nodes = true;
	env.memkind_nodes = Cpus("0");
	struct aml_device node0 = Device(0, "0-3", 90, 110);
	struct aml_device node1 = Device(1, "4-7", 90, 110);
	EXPECT_EQ(aml_classify(&node0, "", &env), AML_DEVICE_HBM);
	EXPECT_EQ(aml_classify(&node1, "", &env), AML_DEVICE_DRAM);
}

TEST(Classify, AmlHbmNodesOverridesEveryHbmRule)
{
	struct aml_classify_env env = Env();
	env.has_hbm_nodes = true;
	env.hbm_nodes = Cpus("3");
	struct aml_device listed = Device(3, "", 10, 110);
	struct aml_device mcdram = Device(1, "", 420, 150);
	struct aml_device far = Device(2, "", 30, 300);
	EXPECT_EQ(aml_classify(&listed, "", &env), AML_DEVICE_HBM);
	EXPECT_EQ(aml_classify(&mcdram, "MCDRAM", &env), AML_DEVICE_DRAM);
	EXPECT_EQ(aml_classify(&mcdram, "", &env), AML_DEVICE_DRAM);
	// Non-HBM rules still apply to unlisted nodes.
	EXPECT_EQ(aml_classify(&far, "", &env), AML_DEVICE_CXL);
	EXPECT_EQ(aml_classify(&far, "NVM", &env), AML_DEVICE_NVM);
}

class ClassifyEnv : public ::testing::Test
{
      protected:
	void TearDown() override
	{
		unsetenv("AML_HBM_NODES");
		unsetenv("MEMKIND_HBW_NODES");
		unsetenv("AML_HBM_THRESHOLD");
	}
};

TEST_F(ClassifyEnv, VariablesAreRead)
{
	setenv("AML_HBM_NODES", "8-15", 1);
	setenv("MEMKIND_HBW_NODES", "1", 1);
	setenv("AML_HBM_THRESHOLD", "100000", 1);
	struct aml_classify_env env;
	aml_classify_env_read(&env);
	EXPECT_TRUE(env.has_hbm_nodes);
	EXPECT_EQ(aml_bitmap_count(&env.hbm_nodes), 8);
	EXPECT_TRUE(env.has_memkind_nodes);
	EXPECT_EQ(aml_bitmap_first(&env.memkind_nodes), 1);
	EXPECT_EQ(env.hbm_threshold, 100000ULL << 20);
}

TEST_F(ClassifyEnv, MalformedVariablesAreIgnored)
{
	const char *bad_lists[] = {"8-", "x", "1,,2", "99999", ""};
	const char *bad_thresholds[] = {"", "-5", "12x", "0",
	                                "99999999999999999999"};
	for (const char *list : bad_lists) {
		for (const char *threshold : bad_thresholds) {
			setenv("AML_HBM_NODES", list, 1);
			setenv("MEMKIND_HBW_NODES", list, 1);
			setenv("AML_HBM_THRESHOLD", threshold, 1);
			struct aml_classify_env env;
			aml_classify_env_read(&env);
			bool empty_list = list[0] == '\0';
			// "" is a valid, empty node list.
			EXPECT_EQ(env.has_hbm_nodes, empty_list) << list;
			EXPECT_EQ(env.has_memkind_nodes, empty_list) << list;
			EXPECT_EQ(env.hbm_threshold, AML_HBM_THRESHOLD_DEFAULT)
			        << threshold;
		}
	}
}

// A malformed variable's message is one printable line whatever the value
// holds: control bytes and escape sequences are shown as \xNN, and a long
// value is cut.
TEST_F(ClassifyEnv, MessagesQuoteTheValue)
{
	std::string long_list(1000, '7');
	setenv("AML_HBM_NODES", "1\x1b]0;title\x07\n2", 1);
	setenv("MEMKIND_HBW_NODES", long_list.c_str(), 1);
	setenv("AML_HBM_THRESHOLD", "\"\\", 1);
	testing::internal::CaptureStderr();
	struct aml_classify_env env;
	aml_classify_env_read(&env);
	std::string text = testing::internal::GetCapturedStderr();
	EXPECT_EQ(
	        text,
	        "aml: ignoring AML_HBM_NODES=\"1\\x1b]0;title\\x07\\x0a2\": "
	        "not a node list\n"
	        "aml: ignoring MEMKIND_HBW_NODES=\"" +
	                std::string(AML_ENV_QUOTE_MAX, '7') +
	                "...\": not a node list\n"
	                "aml: ignoring AML_HBM_THRESHOLD=\"\\x22\\x5c\": not a "
	                "bandwidth in MiB/s\n");
}

} // namespace
