// SPDX-License-Identifier: BSD-3-Clause
// Fault injection on fast memory (tests/testing/fault.h): creation, small
// and large blocks, zeroed, aligned and resized ones, under PREFERRED and
// BIND (which populates its mappings) on an emulated two-quadrant machine.
// After each failure every live block keeps its bytes and the instance
// goes on serving; each run ends with nothing mapped and nothing leaked.
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/fast.h>

#include "tests/testing/fault.h"
#include "tests/testing/snc_machine.h"

namespace
{

using aml_test::FaultRun;
using aml_test::ForEachFault;

struct Block {
	unsigned char *p;
	size_t size;
	unsigned char fill;
};

void Scenario(FaultRun &run,
              const struct aml_topology *t,
              enum aml_fast_policy policy)
{
	struct aml_fast_memory *f = nullptr;
	struct aml_fast_options o = {};
	o.policy = policy;
	ASSERT_EQ(run.Call("create", {AML_ENOMEM},
	                   [&] {
		                   return f != nullptr ? 0
		                                       : aml_fast_memory_create(
		                                                 &f, t, &o);
	                   }),
	          0);
	std::vector<Block> blocks;
	run.SetModel([&] {
		for (const Block &b : blocks)
			for (size_t i = 0; i < b.size; i++)
				ASSERT_EQ(b.p[i], b.fill) << b.size;
	});
	unsigned char fill = 1;
	for (size_t size : {24, 4000, 9000, 300000, 3 << 20}) {
		void *p = run.CallPtr("malloc", {AML_ENOMEM}, [&] {
			return aml_fast_memory_malloc(f, size);
		});
		ASSERT_NE(p, nullptr);
		std::memset(p, fill, size);
		blocks.push_back(
		        {static_cast<unsigned char *>(p), size, fill++});
	}
	void *z = run.CallPtr("calloc", {AML_ENOMEM}, [&] {
		return aml_fast_memory_calloc(f, 3, 700);
	});
	ASSERT_NE(z, nullptr);
	std::memset(z, fill, 2100);
	blocks.push_back({static_cast<unsigned char *>(z), 2100, fill++});
	void *a = nullptr;
	ASSERT_EQ(
	        run.Call(
	                "posix_memalign", {AML_ENOMEM},
	                [&] {
		                return a != nullptr
		                               ? 0
		                               : aml_fast_memory_posix_memalign(
		                                         f, &a, 4096, 5000);
	                }),
	        0);
	std::memset(a, fill, 5000);
	blocks.push_back({static_cast<unsigned char *>(a), 5000, fill++});
	// Grow the first block past its class: the old one stays intact on
	// failure.
	Block &first = blocks[0];
	void *grown = run.CallPtr("realloc", {AML_ENOMEM}, [&] {
		return aml_fast_memory_realloc(f, first.p, 100000);
	});
	ASSERT_NE(grown, nullptr);
	first.p = static_cast<unsigned char *>(grown);
	std::memset(first.p + first.size, first.fill, 100000 - first.size);
	first.size = 100000;
	for (const Block &b : blocks)
		ASSERT_EQ(
		        run.Call("free", {},
		                 [&] { return aml_fast_memory_free(f, b.p); }),
		        0);
	blocks.clear();
	run.Quiet([&] { aml_fast_memory_destroy(&f); });
}

TEST(FaultFast, EveryFailureIsCleanAndLeavesBlocksIntact)
{
	struct aml_topology *t = nullptr;
	struct aml_emu_error error = {};
	ASSERT_EQ(aml_emu_create(&t, aml_testing::kSncMachine, &error), 0)
	        << error.reason;
	for (auto policy : {AML_FAST_PREFERRED, AML_FAST_BIND}) {
		SCOPED_TRACE(aml_fast_policy_name(policy));
		unsigned long runs = ForEachFault(
		        [&](FaultRun &run) { Scenario(run, t, policy); });
		EXPECT_GT(runs, 0u);
		for (int d = 0; d < aml_topology_ndevices(t); d++) {
			struct aml_emu_stats s = {};
			ASSERT_EQ(aml_emu_stats(t, d, &s), 0);
			EXPECT_EQ(s.pages, 0u) << "left on device " << d;
		}
		if (HasFailure())
			break;
	}
	aml_topology_destroy(&t);
}

} // namespace
