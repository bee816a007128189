// SPDX-License-Identifier: BSD-3-Clause
// Fault injection on areas (tests/testing/fault.h): every policy on an
// emulated qemu-3node and over node 0 of this machine, through create, a
// plain map, an aligned and populating map, a partial unmap that splits a
// mapping, and destroy. After each failure the data written so far must be
// intact and every recorded mapping still mapped; the run must end with
// nothing mapped, nothing placed on the emulated devices, nothing leaked.
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/area/file.h>
#include <aml/device/memkind.h>

#include "tests/testing/fault.h"
#include "tests/testing/node0.h"

namespace
{

using aml_test::FaultRun;
using aml_test::ForEachFault;

size_t Page()
{
	return aml_page_size();
}

// A live mapping of the scenario and the bytes it must hold.
struct Mapping {
	char *p;
	size_t size;
	char fill;
};

void Fill(const Mapping &m)
{
	for (size_t i = 0; i < m.size; i += 512)
		m.p[i] = (char)(m.fill + i / Page());
}

bool Intact(const Mapping &m)
{
	for (size_t i = 0; i < m.size; i += 512)
		if (m.p[i] != (char)(m.fill + i / Page()))
			return false;
	return true;
}

struct AreaCase {
	const char *name;
	enum aml_area_policy policy;
	std::vector<size_t> devices; // indices in the topology
	std::vector<unsigned> weights;
	// Through aml_area_device_init() on the stack, not create.
	bool decl = false;
};

void MapsScenario(FaultRun &run,
                  const struct aml_area *area,
                  std::vector<Mapping> &live,
                  const char *name);

// The scenario: create, map, map aligned and populated, cut a page out of
// the middle of the first mapping, unmap everything, destroy.
void AreaScenario(FaultRun &run,
                  const struct aml_topology *t,
                  const AreaCase &c)
{
	std::vector<const struct aml_device *> devs;
	for (size_t i : c.devices)
		devs.push_back(aml_topology_device(t, i));
	const unsigned *weights =
	        c.weights.empty() ? nullptr : c.weights.data();
	std::vector<Mapping> live;
	run.SetModel([&] {
		for (const Mapping &m : live)
			EXPECT_TRUE(Intact(m)) << c.name << ": mapping of fill "
			                       << (int)m.fill << " changed";
	});

	// Half the cases through create, half through init on the stack.
	struct aml_area *area = nullptr;
	AML_AREA_DEVICE_DECL(storage);
	if (c.decl) {
		run.Call("aml_area_device_init", {AML_ENOMEM}, [&] {
			return aml_area_device_init(&storage, t, devs.data(),
			                            devs.size(), c.policy,
			                            weights);
		});
		area = &storage.base;
	} else {
		run.Call("aml_area_device_create", {AML_ENOMEM}, [&] {
			return aml_area_device_create(&area, t, devs.data(),
			                              devs.size(), c.policy,
			                              weights);
		});
	}
	ASSERT_NE(area, nullptr);
	MapsScenario(run, area, live, c.name);
	if (c.decl) {
		run.Quiet([&] { aml_area_device_fini(&storage); });
	} else {
		run.Quiet([&] { aml_area_device_destroy(&area); });
		EXPECT_EQ(area, nullptr);
	}
}

// Map, map aligned and populated, cut a page out of the middle of the
// first mapping, unmap everything; @p live is the scenario's model.
void MapsScenario(FaultRun &run,
                  const struct aml_area *area,
                  std::vector<Mapping> &live,
                  const char *name)
{
	(void)name;
	size_t n = 8 * Page();
	auto *p = static_cast<char *>(
	        run.CallPtr("aml_area_mmap", {AML_ENOMEM},
	                    [&] { return aml_area_mmap(area, n, nullptr); }));
	ASSERT_NE(p, nullptr);
	live.push_back({p, n, 'a'});
	Fill(live.back());

	struct aml_area_mmap_options opts = {16 * Page(), true,
	                                     AML_PAGE_DEFAULT};
	auto *q = static_cast<char *>(
	        run.CallPtr("aml_area_mmap aligned populated", {AML_ENOMEM},
	                    [&] { return aml_area_mmap(area, n, &opts); }));
	ASSERT_NE(q, nullptr);
	EXPECT_EQ((uintptr_t)q % (16 * Page()), 0u);
	live.push_back({q, n, 'q'});
	Fill(live.back());

	// A page out of the middle: the area's record splits, and so does
	// the topology's (or the device's) and the kernel's mapping.
	run.Call("aml_area_munmap of a middle page", {AML_ENOMEM},
	         [&] { return aml_area_munmap(area, p + 3 * Page(), Page()); });
	live[0] = {p, 3 * Page(), 'a'};
	live.push_back({p + 4 * Page(), 4 * Page(), (char)('a' + 4)});

	// What is left, piece by piece: each was recorded.
	while (!live.empty()) {
		Mapping m = live.back();
		ASSERT_TRUE(Intact(m));
		live.pop_back();
		run.Call("aml_area_munmap", {AML_ENOMEM},
		         [&] { return aml_area_munmap(area, m.p, m.size); });
	}
}

// Is [p, p + size) mapped? mincore() says ENOMEM for any unmapped page.
bool Mapped(const char *p, size_t size)
{
	std::vector<unsigned char> resident(size / Page());
	return mincore(const_cast<char *>(p), size, resident.data()) == 0;
}

// Unmapping a page out of the middle of each of 20 mappings splits every
// record (the area's, the topology's or device's, the kernel's): past the
// 16 entries a record starts with, a split needs memory. A split that
// cannot be made must leave the pages mapped and recorded (issue #13: the
// area unmapped first, then answered AML_ENOMEM with the pages gone and
// kept a record of them, so that the unmap could never be done again).
void SplitScenario(FaultRun &run, const struct aml_area *area)
{
	constexpr int kMaps = 20;
	std::vector<Mapping> live;
	run.SetModel([&] {
		for (const Mapping &m : live) {
			ASSERT_TRUE(Mapped(m.p, m.size))
			        << "fill " << (int)m.fill << " was unmapped";
			EXPECT_TRUE(Intact(m)) << "fill " << (int)m.fill;
		}
	});
	for (int i = 0; i < kMaps; i++) {
		auto *p = static_cast<char *>(
		        aml_area_mmap(area, 3 * Page(), nullptr));
		ASSERT_NE(p, nullptr);
		live.push_back({p, 3 * Page(), (char)(4 * i)});
		Fill(live.back());
	}
	for (int i = 0; i < kMaps; i++) {
		Mapping m = live[i];
		run.Call("aml_area_munmap of a middle page", {AML_ENOMEM}, [&] {
			return aml_area_munmap(area, m.p + Page(), Page());
		});
		live[i] = {m.p, Page(), m.fill};
		live.push_back({m.p + 2 * Page(), Page(), (char)(m.fill + 2)});
	}
	while (!live.empty()) {
		Mapping m = live.back();
		live.pop_back();
		ASSERT_EQ(aml_area_munmap(area, m.p, m.size), 0);
	}
}

// Each run makes its own topology and area, so that every record starts
// with its first 16 entries, as a fresh one does.
TEST(FaultArea, APartialUnmapThatCannotSplitLeavesThePagesMappedAndRecorded)
{
	struct Case {
		const char *name;
		bool emulated;
		size_t ndevices;
		enum aml_area_policy policy;
	} cases[] = {
	        {"emulated, through the device", true, 1, AML_AREA_BIND},
	        {"emulated, through the topology", true, 2, AML_AREA_BIND},
	        {"node 0, through the device", false, 1, AML_AREA_BIND},
	        {"node 0, through the topology", false, 1, AML_AREA_PREFERRED},
	};
	const struct aml_topology *real = aml_topology_default();
	ASSERT_NE(real, nullptr);
	for (const Case &c : cases) {
		SCOPED_TRACE(c.name);
		if (!c.emulated && aml_topology_is_emulated(real) == 1)
			continue;
		unsigned long runs = ForEachFault([&](FaultRun &run) {
			struct aml_topology *t = nullptr;
			ASSERT_EQ(c.emulated ? aml_emu_create(&t,
			                                      "qemu-3node;"
			                                      "scale=1/16",
			                                      nullptr)
			                     : aml_topology_discover(&t),
			          0);
			const struct aml_device *devs[2] = {
			        aml_topology_device(t, 0),
			        aml_topology_device(t, 1)};
			if (!c.emulated)
				devs[0] = aml_topology_device_of_node(t, 0);
			AML_AREA_DEVICE_DECL(area);
			ASSERT_EQ(aml_area_device_init(&area, t, devs,
			                               c.ndevices, c.policy,
			                               nullptr),
			          0);
			SplitScenario(run, &area.base);
			aml_area_device_fini(&area);
			aml_topology_destroy(&t);
		});
		EXPECT_GT(runs, 0u);
	}
}

std::vector<AreaCase> EmulatedCases()
{
	return {
	        {"bind one device", AML_AREA_BIND, {1}, {}},
	        {"bind two devices", AML_AREA_BIND, {0, 1}, {}, true},
	        {"preferred", AML_AREA_PREFERRED, {1}, {}},
	        {"interleave", AML_AREA_INTERLEAVE, {0, 1, 2}, {}, true},
	        {"weighted interleave",
	         AML_AREA_WEIGHTED_INTERLEAVE,
	         {0, 2},
	         {3, 1}},
	        {"first touch", AML_AREA_FIRST_TOUCH, {}, {}},
	};
}

TEST(FaultArea, EveryPolicyOnAnEmulatedTopology)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "qemu-3node;scale=1/16", nullptr), 0);
	for (const AreaCase &c : EmulatedCases()) {
		SCOPED_TRACE(c.name);
		unsigned long runs = ForEachFault([&](FaultRun &run) {
			AreaScenario(run, t, c);
			// The emulator's page table agrees: nothing
			// placed.
			for (size_t d = 0; d < 3; d++) {
				struct aml_emu_stats s = {};
				ASSERT_EQ(aml_emu_stats(t, d, &s), 0);
				EXPECT_EQ(s.pages, 0u) << "device " << d;
			}
		});
		EXPECT_GT(runs, 0u) << "no failure was ever injected";
		if (HasFailure())
			break;
	}
	aml_topology_destroy(&t);
}

class FaultAreaNode0 : public aml_testing::Node0
{
};

TEST_F(FaultAreaNode0, EveryPolicy)
{
	size_t i = index;
	std::vector<AreaCase> cases = {
	        {"bind", AML_AREA_BIND, {i}, {}, true},
	        {"preferred", AML_AREA_PREFERRED, {i}, {}},
	        {"interleave", AML_AREA_INTERLEAVE, {i}, {}},
	        {"weighted interleave", AML_AREA_WEIGHTED_INTERLEAVE, {i}, {2}},
	        {"first touch", AML_AREA_FIRST_TOUCH, {}, {}},
	};
	for (const AreaCase &c : cases) {
		SCOPED_TRACE(c.name);
		unsigned long runs = ForEachFault(
		        [&](FaultRun &run) { AreaScenario(run, t, c); });
		EXPECT_GT(runs, 0u) << "no failure was ever injected";
		if (HasFailure())
			break;
	}
}

// File areas over node 0 (aml/area/file.h): a memfd, shared and private,
// through the same maps and unmaps; memfd_create is not wrapped, the
// mmap, mbind, munmap and populate of the file's ranges are.
TEST_F(FaultAreaNode0, MemfdFileAreas)
{
	for (bool shared : {true, false}) {
		SCOPED_TRACE(shared ? "shared" : "private");
		unsigned long runs = ForEachFault([&](FaultRun &run) {
			std::vector<Mapping> live;
			run.SetModel([&] {
				for (const Mapping &m : live)
					EXPECT_TRUE(Intact(m));
			});
			struct aml_area_file_source src = {};
			src.kind = AML_AREA_FILE_MEMFD;
			src.name = "fault";
			src.capacity = 64 * Page();
			src.shared = shared;
			struct aml_area *area = nullptr;
			run.Call("aml_area_file_create", {AML_ENOMEM}, [&] {
				return aml_area_file_create(
				        &area, &src, t, &node0, 1,
				        AML_POLICY_BIND, nullptr);
			});
			ASSERT_NE(area, nullptr);
			MapsScenario(run, area, live, "file");
			run.Quiet([&] { aml_area_file_destroy(&area); });
			EXPECT_EQ(area, nullptr);
		});
		EXPECT_GT(runs, 0u) << "no failure was ever injected";
		if (HasFailure())
			break;
	}
}

// One memkind kind, a device with no topology, whose registry of maps
// lives as long as the process: maps and unmaps of whole allocations.
TEST(FaultArea, BindToAMemkindKind)
{
	const struct aml_device *kind =
	        aml_memkind_device(AML_MEMKIND_HIGHEST_CAPACITY);
	if (kind == nullptr)
		GTEST_SKIP() << "no memkind: " << aml_errname(aml_errno);
	unsigned long runs = ForEachFault([&](FaultRun &run) {
		std::vector<Mapping> live;
		run.SetModel([&] {
			for (const Mapping &m : live)
				EXPECT_TRUE(Intact(m));
		});
		struct aml_area *area = nullptr;
		run.Call("aml_area_device_create", {AML_ENOMEM}, [&] {
			return aml_area_device_create(&area, nullptr, &kind, 1,
			                              AML_AREA_BIND, nullptr);
		});
		ASSERT_NE(area, nullptr);
		for (char fill : {'k', 'm'}) {
			size_t n = (fill == 'k' ? 4 : 9) * Page();
			auto *p = static_cast<char *>(
			        run.CallPtr("aml_area_mmap", {AML_ENOMEM}, [&] {
				        return aml_area_mmap(area, n, nullptr);
			        }));
			ASSERT_NE(p, nullptr);
			live.push_back({p, n, fill});
			Fill(live.back());
		}
		while (!live.empty()) {
			Mapping m = live.back();
			ASSERT_TRUE(Intact(m));
			live.pop_back();
			run.Call("aml_area_munmap", {AML_ENOMEM}, [&] {
				return aml_area_munmap(area, m.p, m.size);
			});
		}
		run.Quiet([&] { aml_area_device_destroy(&area); });
	});
	EXPECT_GT(runs, 0u);
}

} // namespace
