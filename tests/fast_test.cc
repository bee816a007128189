// SPDX-License-Identifier: BSD-3-Clause
// Fast memory (aml/fast.h) on emulated machines: which device serves each
// CPU (knl-flat, a two-quadrant SNC machine, an HBM-only machine, one
// tier), where blocks land under each policy, what happens when the fast
// device is full, and bad input. The one-call interface over the default
// topology: fast_default_test.cc.
#include <pthread.h>
#include <sched.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/fast.h>

#include "tests/testing/snc_machine.h"

namespace
{

using aml_testing::kSncMachine;

// One DDR node and a 16 MiB HBM node, for the full-device cases.
const char kSmallHbm[] =
        "tier: name=ddr, kind=DRAM, capacity=256MiB, bw=100GB/s, "
        "latency=100ns, cpus=all;"
        "tier: name=hbm, kind=HBM, capacity=16MiB, bw=400GB/s, "
        "latency=120ns";

// A64FX-like: every node is HBM and has CPUs.
const char kHbmOnly[] =
        "tier: name=cmg0, kind=HBM, capacity=64MiB, bw=256GB/s, "
        "latency=120ns, cpus=0;"
        "tier: name=cmg1, kind=HBM, capacity=64MiB, bw=256GB/s, "
        "latency=120ns, cpus=1;"
        "distances: 10,20/20,10";

struct Machine {
	struct aml_topology *t = nullptr;
	explicit Machine(const char *spec)
	{
		struct aml_emu_error error = {};
		EXPECT_EQ(aml_emu_create(&t, spec, &error), 0) << error.reason;
	}
	~Machine()
	{
		aml_topology_destroy(&t);
	}
	int Index(const char *name) const
	{
		for (int i = 0; i < aml_topology_ndevices(t); i++) {
			if (std::strcmp(aml_topology_device(t, (size_t)i)->name,
			                name) == 0)
				return i;
		}
		return -1;
	}
	const struct aml_device *Device(const char *name) const
	{
		return aml_topology_device(t, (size_t)Index(name));
	}
};

struct Fast {
	struct aml_fast_memory *f = nullptr;
	int err;
	Fast(const Machine &m,
	     enum aml_fast_policy policy,
	     const struct aml_bitmap *devices = nullptr)
	{
		struct aml_fast_options o = {};
		o.policy = policy;
		o.devices = devices;
		err = aml_fast_memory_create(&f, m.t, &o);
	}
	~Fast()
	{
		aml_fast_memory_destroy(&f);
	}
};

// The device index of every page of [p, p + size), after writing it.
std::vector<int> TouchAndLocate(const Fast &fast, void *p, size_t size)
{
	std::memset(p, 0x5a, size);
	std::vector<int> where;
	size_t page = aml_page_size();
	for (size_t off = 0; off < size; off += page)
		where.push_back(aml_fast_memory_locate(
		        fast.f, static_cast<char *>(p) + off));
	return where;
}

TEST(Fast, KnlFlatServesMcdramAndSaysSo)
{
	Machine m("knl-flat;scale=1/64");
	Fast fast(m, AML_FAST_PREFERRED);
	ASSERT_EQ(fast.err, 0);
	char why[AML_FAST_REASON_MAX];
	EXPECT_EQ(aml_fast_memory_available(fast.f, why, sizeof(why)), 1);
	EXPECT_NE(std::string(why).find("HBM"), std::string::npos) << why;
	EXPECT_EQ(aml_fast_memory_device_for_cpu(fast.f, -1),
	          m.Device("mcdram"));
	for (size_t size : {16, 4096, 100000, 3 << 20}) {
		void *p = aml_fast_memory_malloc(fast.f, size);
		ASSERT_NE(p, nullptr) << size;
		for (int where : TouchAndLocate(fast, p, size))
			EXPECT_EQ(where, m.Index("mcdram")) << size;
		EXPECT_GE(aml_fast_memory_usable_size(fast.f, p), size);
		EXPECT_EQ(aml_fast_memory_free(fast.f, p), 0);
	}
	EXPECT_EQ(aml_fast_memory_policy(fast.f), AML_FAST_PREFERRED);
}

TEST(Fast, EachQuadrantGetsItsOwnHbm)
{
	Machine m(kSncMachine);
	for (auto policy : {AML_FAST_PREFERRED, AML_FAST_BIND}) {
		Fast fast(m, policy);
		ASSERT_EQ(fast.err, 0);
		EXPECT_EQ(aml_fast_memory_available(fast.f, nullptr, 0), 2);
		EXPECT_EQ(aml_fast_memory_device_for_cpu(fast.f, 0),
		          m.Device("h0"));
		EXPECT_EQ(aml_fast_memory_device_for_cpu(fast.f, 1),
		          m.Device("h1"));
		// A CPU the machine does not list: one of the fast devices.
		const struct aml_device *other =
		        aml_fast_memory_device_for_cpu(fast.f, 700);
		EXPECT_TRUE(other == m.Device("h0") || other == m.Device("h1"));
	}
}

// A thread that runs on CPU c allocates from c's HBM: pinned threads, on
// the CPUs this host lets the test use.
TEST(Fast, PinnedThreadsAllocateFromTheirQuadrant)
{
	Machine m(kSncMachine);
	Fast fast(m, AML_FAST_BIND);
	ASSERT_EQ(fast.err, 0);
	cpu_set_t allowed;
	ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	int tried = 0;
	for (int cpu = 0; cpu < 2; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		tried++;
		int where = -100;
		std::thread([&] {
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			if (pthread_setaffinity_np(pthread_self(), sizeof(one),
			                           &one) != 0)
				return;
			void *p = aml_fast_memory_malloc(fast.f, 256);
			if (p == nullptr)
				return;
			std::memset(p, 1, 256);
			where = aml_fast_memory_locate(fast.f, p);
			aml_fast_memory_free(fast.f, p);
		}).join();
		EXPECT_EQ(where, m.Index(cpu == 0 ? "h0" : "h1")) << cpu;
	}
	if (tried == 0)
		GTEST_SKIP() << "neither CPU 0 nor CPU 1 is allowed here";
}

TEST(Fast, HbmOnlyMachineServesEachNodeItsOwn)
{
	Machine m(kHbmOnly);
	Fast fast(m, AML_FAST_BIND);
	ASSERT_EQ(fast.err, 0);
	EXPECT_EQ(aml_fast_memory_available(fast.f, nullptr, 0), 2);
	EXPECT_EQ(aml_fast_memory_device_for_cpu(fast.f, 0), m.Device("cmg0"));
	EXPECT_EQ(aml_fast_memory_device_for_cpu(fast.f, 1), m.Device("cmg1"));
}

TEST(Fast, OneTierSaysWhyAndPreferredServesLocalMemory)
{
	Machine m("single;scale=1/1024");
	Fast fast(m, AML_FAST_PREFERRED);
	ASSERT_EQ(fast.err, 0);
	char why[AML_FAST_REASON_MAX];
	EXPECT_EQ(aml_fast_memory_available(fast.f, why, sizeof(why)),
	          AML_ENODEV);
	EXPECT_NE(std::string(why).find("none of the 1 devices is HBM"),
	          std::string::npos)
	        << why;
	EXPECT_EQ(aml_fast_memory_device_for_cpu(fast.f, 0), nullptr);
	EXPECT_EQ(aml_errno, AML_ENODEV);
	void *p = aml_fast_memory_malloc(fast.f, 5000);
	ASSERT_NE(p, nullptr);
	for (int where : TouchAndLocate(fast, p, 5000))
		EXPECT_EQ(where, 0);
	EXPECT_EQ(aml_fast_memory_free(fast.f, p), 0);
	for (auto policy :
	     {AML_FAST_BIND, AML_FAST_BIND_ALL, AML_FAST_INTERLEAVE}) {
		Fast strict(m, policy);
		EXPECT_EQ(strict.err, AML_ENODEV) << policy;
		EXPECT_EQ(strict.f, nullptr);
	}
}

TEST(Fast, DevicesOptionNamesTheFastOnes)
{
	Machine m("knl-flat;scale=1/64");
	struct aml_bitmap ddr;
	aml_bitmap_zero(&ddr);
	aml_bitmap_set(&ddr, (size_t)m.Index("ddr4"));
	Fast fast(m, AML_FAST_BIND, &ddr);
	ASSERT_EQ(fast.err, 0);
	char why[AML_FAST_REASON_MAX];
	EXPECT_EQ(aml_fast_memory_available(fast.f, why, sizeof(why)), 1);
	EXPECT_NE(std::string(why).find("as asked"), std::string::npos) << why;
	void *p = aml_fast_memory_malloc(fast.f, 1000);
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(TouchAndLocate(fast, p, 1000)[0], m.Index("ddr4"));
	aml_fast_memory_free(fast.f, p);

	struct aml_bitmap none;
	aml_bitmap_zero(&none);
	Fast empty(m, AML_FAST_BIND, &none);
	EXPECT_EQ(empty.err, AML_ENODEV);
	struct aml_bitmap past;
	aml_bitmap_zero(&past);
	aml_bitmap_set(&past, 2);
	Fast bad(m, AML_FAST_PREFERRED, &past);
	EXPECT_EQ(bad.err, AML_EINVAL);
}

// Blocks of 256 KiB until the policy says no; at most this many.
std::vector<void *> Fill(const Fast &fast, size_t block, size_t most)
{
	std::vector<void *> blocks;
	while (blocks.size() < most) {
		void *p = aml_fast_memory_malloc(fast.f, block);
		if (p == nullptr)
			break;
		std::memset(p, 7, block);
		blocks.push_back(p);
	}
	return blocks;
}

TEST(Fast, BindSaysNoMemoryWhenTheHbmIsFull)
{
	Machine m(kSmallHbm);
	Fast fast(m, AML_FAST_BIND);
	ASSERT_EQ(fast.err, 0);
	const size_t block = 256 << 10;
	std::vector<void *> blocks = Fill(fast, block, 256);
	ASSERT_LT(blocks.size(), 256u) << "16 MiB of HBM never ran out";
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	ASSERT_GT(blocks.size(), 8u);
	for (void *p : blocks) {
		for (int where : TouchAndLocate(fast, p, block))
			ASSERT_EQ(where, m.Index("hbm"));
	}
	// Freed memory serves again, still on the HBM.
	EXPECT_EQ(aml_fast_memory_free(fast.f, blocks.back()), 0);
	blocks.pop_back();
	void *again = aml_fast_memory_malloc(fast.f, block);
	ASSERT_NE(again, nullptr);
	EXPECT_EQ(TouchAndLocate(fast, again, block)[0], m.Index("hbm"));
	blocks.push_back(again);
	for (void *p : blocks)
		EXPECT_EQ(aml_fast_memory_free(fast.f, p), 0);
}

TEST(Fast, PreferredSpillsToOtherMemoryWhenTheHbmIsFull)
{
	Machine m(kSmallHbm);
	Fast fast(m, AML_FAST_PREFERRED);
	ASSERT_EQ(fast.err, 0);
	const size_t block = 256 << 10;
	std::vector<void *> blocks = Fill(fast, block, 128); // 32 MiB
	ASSERT_EQ(blocks.size(), 128u);
	size_t on_hbm = 0, on_ddr = 0;
	for (void *p : blocks) {
		for (int where : TouchAndLocate(fast, p, block)) {
			on_hbm += where == m.Index("hbm");
			on_ddr += where == m.Index("ddr");
		}
	}
	size_t pages = 128 * block / aml_page_size();
	EXPECT_EQ(on_hbm + on_ddr, pages);
	EXPECT_GT(on_hbm, 0u);
	EXPECT_GT(on_ddr, 0u);
	EXPECT_LE(on_hbm * aml_page_size(), (size_t)16 << 20);
	for (void *p : blocks)
		EXPECT_EQ(aml_fast_memory_free(fast.f, p), 0);
}

TEST(Fast, InterleaveAndBindAllStayOnFastDevices)
{
	Machine m(kSncMachine);
	for (auto policy : {AML_FAST_INTERLEAVE, AML_FAST_BIND_ALL}) {
		Fast fast(m, policy);
		ASSERT_EQ(fast.err, 0);
		const size_t size = 1 << 20;
		void *p = aml_fast_memory_malloc(fast.f, size);
		ASSERT_NE(p, nullptr);
		size_t h0 = 0, h1 = 0;
		for (int where : TouchAndLocate(fast, p, size)) {
			ASSERT_TRUE(where == m.Index("h0") ||
			            where == m.Index("h1"))
			        << where;
			h0 += where == m.Index("h0");
			h1 += where == m.Index("h1");
		}
		if (policy == AML_FAST_INTERLEAVE) {
			EXPECT_GT(h0, 0u);
			EXPECT_GT(h1, 0u);
		}
		EXPECT_EQ(aml_fast_memory_free(fast.f, p), 0);
	}
}

TEST(Fast, ReallocKeepsContentsAndCallocZeroes)
{
	Machine m("knl-flat;scale=1/64");
	Fast fast(m, AML_FAST_PREFERRED);
	ASSERT_EQ(fast.err, 0);
	auto *p = static_cast<unsigned char *>(
	        aml_fast_memory_realloc(fast.f, nullptr, 100));
	ASSERT_NE(p, nullptr);
	for (int i = 0; i < 100; i++)
		p[i] = (unsigned char)i;
	p = static_cast<unsigned char *>(
	        aml_fast_memory_realloc(fast.f, p, 50000));
	ASSERT_NE(p, nullptr);
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(p[i], i);
	EXPECT_EQ(TouchAndLocate(fast, p, 50000)[0], m.Index("mcdram"));
	EXPECT_EQ(aml_fast_memory_realloc(fast.f, p, 0), nullptr);
	EXPECT_EQ(aml_fast_memory_usable_size(fast.f, p), 0u);

	auto *z = static_cast<unsigned char *>(
	        aml_fast_memory_calloc(fast.f, 1000, 10));
	ASSERT_NE(z, nullptr);
	for (int i = 0; i < 10000; i++)
		ASSERT_EQ(z[i], 0);
	EXPECT_EQ(aml_fast_memory_free(fast.f, z), 0);

	void *a = nullptr;
	ASSERT_EQ(aml_fast_memory_posix_memalign(fast.f, &a, 4096, 10), 0);
	EXPECT_EQ((uintptr_t)a % 4096, 0u);
	EXPECT_EQ(aml_fast_memory_free(fast.f, a), 0);
}

TEST(Fast, BadInputChangesNothing)
{
	Machine m("knl-flat;scale=1/64");
	struct aml_fast_memory *f = nullptr;
	EXPECT_EQ(aml_fast_memory_create(nullptr, m.t, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_fast_memory_create(&f, nullptr, nullptr), AML_EINVAL);
	struct aml_fast_options bad = {};
	bad.policy = AML_FAST_POLICY_COUNT;
	EXPECT_EQ(aml_fast_memory_create(&f, m.t, &bad), AML_EINVAL);
	EXPECT_EQ(f, nullptr);
	EXPECT_EQ(aml_fast_policy_name(AML_FAST_POLICY_COUNT), nullptr);
	EXPECT_STREQ(aml_fast_policy_name(AML_FAST_BIND_ALL), "bind_all");

	EXPECT_EQ(aml_fast_memory_malloc(nullptr, 8), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_fast_memory_free(nullptr, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_fast_memory_available(nullptr, nullptr, 0), AML_EINVAL);
	EXPECT_EQ(aml_fast_memory_device_for_cpu(nullptr, 0), nullptr);

	Fast fast(m, AML_FAST_PREFERRED);
	ASSERT_EQ(fast.err, 0);
	EXPECT_EQ(aml_fast_memory_device_for_cpu(fast.f, -2), nullptr);
	EXPECT_EQ(aml_fast_memory_free(fast.f, nullptr), 0);
	EXPECT_EQ(aml_fast_memory_calloc(fast.f, SIZE_MAX, 2), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_fast_memory_malloc(fast.f, SIZE_MAX), nullptr);
	void *out = &fast;
	for (size_t alignment : {0, 3, 4, 48})
		EXPECT_EQ(aml_fast_memory_posix_memalign(fast.f, &out,
		                                         alignment, 8),
		          AML_EINVAL)
		        << alignment;
	EXPECT_EQ(out, &fast);

	int on_stack = 0;
	std::vector<char> heap(100);
	for (void *foreign : {(void *)&on_stack, (void *)heap.data()}) {
		EXPECT_EQ(aml_fast_memory_free(fast.f, foreign), AML_EINVAL);
		EXPECT_EQ(aml_fast_memory_usable_size(fast.f, foreign), 0u);
		EXPECT_EQ(aml_fast_memory_realloc(fast.f, foreign, 10),
		          nullptr);
	}
	char *p = static_cast<char *>(aml_fast_memory_malloc(fast.f, 64));
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(aml_fast_memory_free(fast.f, p + 16), AML_EINVAL);
	EXPECT_EQ(aml_fast_memory_free(fast.f, p), 0);
	EXPECT_EQ(aml_fast_memory_free(fast.f, p), AML_EINVAL);
	aml_fast_memory_destroy(nullptr);
	struct aml_fast_memory *none = nullptr;
	aml_fast_memory_destroy(&none);
}

// Blocks cross threads: allocated on one, freed on the other, on a machine
// with one domain per quadrant.
TEST(Fast, BlocksMayBeFreedByAnyThread)
{
	Machine m(kSncMachine);
	Fast fast(m, AML_FAST_PREFERRED);
	ASSERT_EQ(fast.err, 0);
	std::vector<void *> made(2000);
	std::thread maker([&] {
		for (size_t i = 0; i < made.size(); i++)
			made[i] = aml_fast_memory_malloc(fast.f, 16 + i % 5000);
	});
	maker.join();
	int errors = 0;
	std::thread freer([&] {
		for (void *p : made)
			errors += p == nullptr ||
			          aml_fast_memory_free(fast.f, p) != 0;
	});
	freer.join();
	EXPECT_EQ(errors, 0);
}

} // namespace
