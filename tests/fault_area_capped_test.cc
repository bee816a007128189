// SPDX-License-Identifier: BSD-3-Clause
// Fault injection on the capped area (tests/testing/fault.h): creation,
// maps (the inner area's and the record's allocations), partial unmaps and
// destroy over emulated MCDRAM. After each failure the cap's count matches
// what is mapped, and each run ends with nothing mapped and nothing leaked.
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/capped.h>
#include <aml/area/device.h>

#include "tests/testing/fault.h"

namespace
{

using aml_test::FaultRun;
using aml_test::ForEachFault;

TEST(FaultAreaCapped, EveryFailureKeepsTheCountAndLeaksNothing)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "knl-flat;scale=1/256", nullptr), 0);
	const struct aml_device *mcdram = aml_topology_device(t, 1);
	AML_AREA_DEVICE_DECL(inner);
	ASSERT_EQ(aml_area_device_init(&inner, t, &mcdram, 1, AML_POLICY_BIND,
	                               nullptr),
	          0);
	unsigned long runs = ForEachFault([&](FaultRun &run) {
		struct aml_area *area = nullptr;
		ASSERT_EQ(
		        run.Call(
		                "create", {AML_ENOMEM},
		                [&] {
			                return area != nullptr
			                               ? 0
			                               : aml_area_capped_create(
			                                         &area,
			                                         &inner.base,
			                                         1 << 20, t);
		                }),
		        0);
		std::vector<std::pair<char *, size_t>> maps;
		run.SetModel([&] {
			size_t total = 0;
			for (auto &m : maps) {
				total += m.second;
				for (size_t i = 0; i < m.second; i++)
					ASSERT_EQ(m.first[i], 9);
			}
			struct aml_area_capped_stats s = {};
			ASSERT_EQ(aml_area_capped_stats(area, &s), 0);
			ASSERT_EQ(s.mapped_bytes, total);
		});
		for (size_t size : {4096, 65536, 262144}) {
			void *p = run.CallPtr("map", {AML_ENOMEM}, [&] {
				return aml_area_mmap(area, size, nullptr);
			});
			ASSERT_NE(p, nullptr);
			std::memset(p, 9, size);
			maps.push_back({static_cast<char *>(p), size});
		}
		// Half of the last one back: a split of its record.
		auto &last = maps.back();
		ASSERT_EQ(run.Call("partial unmap", {AML_ENOMEM},
		                   [&] {
			                   return aml_area_munmap(
			                           area, last.first + 131072,
			                           131072);
		                   }),
		          0);
		last.second = 131072;
		run.Quiet([&] { aml_area_capped_destroy(&area); });
		maps.clear();
		struct aml_emu_stats s = {};
		ASSERT_EQ(aml_emu_stats(t, 1, &s), 0);
		EXPECT_EQ(s.pages, 0u) << "left on MCDRAM";
	});
	EXPECT_GT(runs, 0u);
	aml_area_device_fini(&inner);
	aml_topology_destroy(&t);
}

} // namespace
