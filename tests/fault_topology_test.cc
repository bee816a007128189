// SPDX-License-Identifier: BSD-3-Clause
// Fault injection on topologies (tests/testing/fault.h): discovery of this
// machine (hwloc, and libnuma with sysfs), an hwloc XML fixture, emulated
// machines from presets, specs and a spec file, maps and unmaps over
// several devices, and the process's default topology. A topology made
// after a failure, or after the retry, is the one made with none.
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

#include "aml/src/backend.h"
#include "backends/numa/numa_backend.h"
#include "tests/testing/fault.h"
#include "tests/testing/topology_builder.h"

namespace
{

using aml_test::FaultRun;
using aml_test::ForEachFault;

size_t Page()
{
	return aml_page_size();
}

// What a topology says of its devices, to compare two of them.
std::string Describe(const struct aml_topology *t)
{
	std::string out = std::string(aml_topology_source(t)) + ":";
	AML_TOPOLOGY_FOREACH (d, t) {
		char cpus[AML_BITMAP_FORMAT_MAX];
		aml_bitmap_format(&d->cpus, cpus, sizeof(cpus));
		out += " [" + std::string(d->name) + " node " +
		       std::to_string(d->numa_id) + " " +
		       aml_device_kind_name(d->kind) + " " +
		       std::to_string(d->capacity) + " B cpus " + cpus + " " +
		       std::to_string(d->ninitiators) + " initiators";
		for (size_t i = 0; i < d->ninitiators; i++)
			out += " " +
			       std::to_string(d->initiators[i].perf.bandwidth) +
			       "/" +
			       std::to_string(d->initiators[i].perf.latency_ns);
		out += "]";
	}
	return out;
}

// Runs once, first in this process: the default topology is made on the
// first call. A failure then must not stay the answer for the life of the
// process (it was cached by pthread_once).
TEST(FaultTopology, DefaultTopologyIsMadeAgainAfterAFailure)
{
	if (getenv("AML_EMULATE") != nullptr ||
	    getenv("AML_TOPOLOGY_XML") != nullptr)
		GTEST_SKIP() << "the default topology is not discovered";
	FaultRun run(1);
	const void *t = run.CallPtr("aml_topology_default", {AML_ENOMEM}, [] {
		return const_cast<void *>(
		        static_cast<const void *>(aml_topology_default()));
	});
	EXPECT_TRUE(run.Injected());
	ASSERT_NE(t, nullptr);
	EXPECT_EQ(aml_topology_default(), t);
}

// Discovery: the documented codes, and the same topology as with no
// failure once retried; then a map over every device and an unmap of part
// of it, and destroy.
void DiscoverScenario(FaultRun &run,
                      const std::string &want,
                      const std::function<int(struct aml_topology **)> &make,
                      const std::vector<int> &documented)
{
	struct aml_topology *t = nullptr;
	run.Call("discovery", documented, [&] { return make(&t); });
	ASSERT_NE(t, nullptr);
	EXPECT_EQ(Describe(t), want);
	if (aml_topology_is_this_system(t) == 1) {
		struct aml_bitmap all;
		aml_bitmap_zero(&all);
		aml_bitmap_set_range(&all, 0,
		                     (size_t)aml_topology_ndevices(t) - 1);
		char *p = static_cast<char *>(
		        run.CallPtr("aml_topology_map", {AML_ENOMEM}, [&] {
			        return aml_topology_map(t, &all,
			                                AML_POLICY_INTERLEAVE,
			                                8 * Page());
		        }));
		ASSERT_NE(p, nullptr);
		p[0] = p[7 * Page()] = 1;
		run.Call("aml_topology_unmap of a middle page", {AML_ENOMEM},
		         [&] {
			         return aml_topology_unmap(t, p + 3 * Page(),
			                                   Page());
		         });
		EXPECT_EQ(p[0] + p[7 * Page()], 2);
		run.Call("aml_topology_unmap", {AML_ENOMEM},
		         [&] { return aml_topology_unmap(t, p, 3 * Page()); });
		// What is left goes with the topology.
		char *q = static_cast<char *>(run.CallPtr(
		        "aml_topology_map_populate", {AML_ENOMEM}, [&] {
			        return aml_topology_map_populate(
			                t, &all, AML_POLICY_BIND, 4 * Page());
		        }));
		ASSERT_NE(q, nullptr);
		q[3 * Page()] = 1;
		run.Call("aml_topology_unmap", {AML_ENOMEM},
		         [&] { return aml_topology_unmap(t, q, 4 * Page()); });
	}
	run.Quiet([&] { aml_topology_destroy(&t); });
}

void ExpectDiscoveryUnderFaults(
        const std::function<int(struct aml_topology **)> &make,
        const std::vector<int> &documented)
{
	struct aml_topology *ref = nullptr;
	int err = make(&ref);
	if (err == AML_ENOTSUP || err == AML_ENODEV)
		GTEST_SKIP() << aml_errname(err);
	ASSERT_EQ(err, 0) << aml_errname(err);
	std::string want = Describe(ref);
	aml_topology_destroy(&ref);
	unsigned long runs = ForEachFault([&](FaultRun &run) {
		DiscoverScenario(run, want, make, documented);
	});
	EXPECT_GT(runs, 0u);
}

TEST(FaultTopology, DiscoverThisMachine)
{
	ExpectDiscoveryUnderFaults(aml_topology_discover, {AML_ENOMEM});
}

TEST(FaultTopology, DiscoverThroughLibnuma)
{
	ExpectDiscoveryUnderFaults(aml_numa_discover, {AML_ENOMEM});
}

TEST(FaultTopology, LoadAnXmlFile)
{
	ExpectDiscoveryUnderFaults(
	        [](struct aml_topology **out) {
		        return aml_topology_load_xml(
		                out, "tests/fixtures/topology/knl-flat.xml");
	        },
	        {AML_ENOMEM});
}

// The emulator, from a preset, a spec and a file: the emulated devices,
// then a map that spills, an unmap of part of it, and destroy.
void EmulateScenario(FaultRun &run, const std::string &want, const char *spec)
{
	struct aml_topology *t = nullptr;
	struct aml_emu_error error = {};
	run.Call("aml_emu_create", {AML_ENOMEM},
	         [&] { return aml_emu_create(&t, spec, &error); });
	ASSERT_NE(t, nullptr);
	EXPECT_EQ(Describe(t), want);
	// On device 1, spilling two pages to the others; on a machine of
	// one device, half of it.
	bool one_device = aml_topology_ndevices(t) == 1;
	struct aml_bitmap one;
	aml_bitmap_zero(&one);
	aml_bitmap_set(&one, one_device ? 0 : 1);
	const struct aml_device *d = aml_topology_device(t, one_device ? 0 : 1);
	size_t n = one_device ? d->capacity / Page() / 2
	                      : d->capacity / Page() + 2;
	char *p = static_cast<char *>(
	        run.CallPtr("aml_topology_map", {AML_ENOMEM}, [&] {
		        return aml_topology_map(t, &one, AML_POLICY_PREFERRED,
		                                n * Page());
	        }));
	ASSERT_NE(p, nullptr);
	p[(n - 1) * Page()] = 1;
	run.Call("aml_topology_unmap of a middle page", {AML_ENOMEM},
	         [&] { return aml_topology_unmap(t, p + Page(), Page()); });
	EXPECT_EQ(p[(n - 1) * Page()], 1);
	run.Quiet([&] { aml_topology_destroy(&t); });
}

void ExpectEmulationUnderFaults(const char *spec)
{
	struct aml_topology *ref = nullptr;
	ASSERT_EQ(aml_emu_create(&ref, spec, nullptr), 0);
	std::string want = Describe(ref);
	aml_topology_destroy(&ref);
	unsigned long runs = ForEachFault(
	        [&](FaultRun &run) { EmulateScenario(run, want, spec); });
	EXPECT_GT(runs, 0u);
}

TEST(FaultTopology, EmulatedMachinesFromPresets)
{
	for (const char *spec : {"qemu-3node;scale=1/256", "single;scale=1/64",
	                         "knl-flat;scale=1/1024"}) {
		SCOPED_TRACE(spec);
		ExpectEmulationUnderFaults(spec);
		if (HasFailure())
			break;
	}
}

// A spec file that cannot be opened or read for lack of memory is
// AML_ENOMEM, not a bad file.
TEST(FaultTopology, EmulatedMachineFromASpecFile)
{
	char path[] = "/tmp/fault_topology_XXXXXX";
	int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	const char text[] = "tier: name=slow, kind=DRAM, capacity=4MiB, "
	                    "bw=100GB/s, latency=100ns, cpus=all\n"
	                    "tier: name=fast, kind=HBM, capacity=1MiB, "
	                    "bw=400GB/s, latency=120ns\n";
	ASSERT_EQ(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	std::string file = std::string("@") + path;
	ExpectEmulationUnderFaults(file.c_str());
	unlink(path);
}

// Ranking keeps answers per thread, in memory it grows to the largest
// topology the thread ranked: without it (the thread's record, or room
// for a larger topology's order), the answer is computed and still right.
// A new thread each run, so each run grows its record anew; the thread's
// exit frees it, which the run's leak check sees.
TEST(FaultTopology, RankingKeepsAnswersOrComputesThem)
{
	std::vector<aml_testing::Node> small, large;
	for (int i = 0; i < 4; i++)
		small.push_back({i, 1, "", "0", (double)(1 + i), 100, ""});
	for (int i = 0; i < 100; i++)
		large.push_back(
		        {i, 1, "", "0", (double)(1 + i * 37 % 100), 100, ""});
	struct aml_topology *ts[2] = {aml_testing::BuildTopology(small),
	                              aml_testing::BuildTopology(large)};
	struct aml_bitmap cpu0 = aml_testing::Cpus("0");
	auto rank = [&](const struct aml_topology *t) {
		std::vector<const struct aml_device *> out(
		        (size_t)aml_topology_ndevices(t));
		int n = aml_topology_rank(t, AML_RANK_BANDWIDTH, &cpu0,
		                          out.data(), out.size());
		std::string names = std::to_string(n) + ":";
		for (int i = 0; i < n; i++)
			names += std::string(" ") + out[(size_t)i]->name;
		return names;
	};
	std::string want[2] = {rank(ts[0]), rank(ts[1])};
	unsigned long runs = ForEachFault([&](FaultRun &run) {
		std::thread([&] {
			// Small then large: the record is made, then grows;
			// asked again, the kept answers.
			for (int i : {0, 1, 0, 1}) {
				std::string got;
				run.Quiet([&] { got = rank(ts[i]); });
				EXPECT_EQ(got, want[i]);
			}
		}).join();
	});
	EXPECT_GT(runs, 2u);
	aml_topology_destroy(&ts[0]);
	aml_topology_destroy(&ts[1]);
}

} // namespace
