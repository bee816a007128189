// SPDX-License-Identifier: BSD-3-Clause
// Statistics, cap and report of fast memory (aml/fast.h): sums over the
// domains of an emulated two-quadrant machine, from threads pinned to
// each quadrant and frees across them; the cap per domain; the one-call
// interface over AML_EMULATE's knl-flat (set by the BUILD target).
#include <pthread.h>
#include <sched.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/fast.h>

#include "tests/testing/snc_machine.h"

namespace
{

constexpr size_t kKiB = 1024;

struct Machine {
	struct aml_topology *t = nullptr;
	explicit Machine(const char *spec = aml_testing::kSncMachine)
	{
		struct aml_emu_error error = {};
		EXPECT_EQ(aml_emu_create(&t, spec, &error), 0) << error.reason;
	}
	~Machine()
	{
		aml_topology_destroy(&t);
	}
};

struct Fast {
	struct aml_fast_memory *f = nullptr;
	explicit Fast(const Machine &m)
	{
		struct aml_fast_options o = {};
		o.policy = AML_FAST_BIND;
		EXPECT_EQ(aml_fast_memory_create(&f, m.t, &o), 0);
	}
	~Fast()
	{
		aml_fast_memory_destroy(&f);
	}
};

// Runs @p fn on a thread pinned to @p cpu where allowed, else unpinned.
template <typename F> void OnCpu(int cpu, F fn)
{
	std::thread([&] {
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		(void)pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
		fn();
	}).join();
}

std::string Report(int (*print)(FILE *, const void *), const void *arg)
{
	char *text = nullptr;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	EXPECT_NE(out, nullptr);
	EXPECT_EQ(print(out, arg), 0);
	std::fclose(out);
	std::string s(text);
	std::free(text);
	return s;
}

// The blocks a report lists, by address, with their size and the name of
// the device it says holds them.
std::map<uintptr_t, std::pair<size_t, std::string>>
Listed(const std::string &report)
{
	std::map<uintptr_t, std::pair<size_t, std::string>> listed;
	std::istringstream in(report);
	std::string line;
	while (std::getline(in, line)) {
		unsigned long long addr;
		size_t size;
		char name[64] = "";
		if (line.rfind("  0x", 0) != 0)
			continue;
		EXPECT_GE(std::sscanf(line.c_str(), "  %llx %zu bytes on %63s",
		                      &addr, &size, name),
		          2)
		        << line;
		listed[(uintptr_t)addr] = {size, name};
	}
	return listed;
}

TEST(FastStats, SumsTheDomainsAndReportsEveryLiveBlock)
{
	Machine m;
	Fast fast(m);
	ASSERT_NE(fast.f, nullptr);
	struct aml_arena_usage u = {};
	ASSERT_EQ(aml_fast_memory_stats(fast.f, &u), 0);
	EXPECT_EQ(u.live_allocations, 0u);
	EXPECT_EQ(u.bytes_in_use, 0u);

	// Each quadrant's thread allocates; CPU 1's thread frees half of
	// CPU 0's blocks.
	const size_t sizes[] = {16, 100, 1000, 8192, 20000};
	std::vector<void *> zero, one;
	OnCpu(0, [&] {
		for (int i = 0; i < 50; i++) {
			zero.push_back(
			        aml_fast_memory_malloc(fast.f, sizes[i % 5]));
			ASSERT_NE(zero.back(), nullptr);
			std::memset(zero.back(), 1, sizes[i % 5]);
		}
	});
	OnCpu(1, [&] {
		for (size_t i = 0; i < zero.size(); i += 2)
			ASSERT_EQ(aml_fast_memory_free(fast.f, zero[i]), 0);
		for (int i = 0; i < 30; i++) {
			one.push_back(aml_fast_memory_malloc(
			        fast.f, sizes[(i + 2) % 5]));
			ASSERT_NE(one.back(), nullptr);
			std::memset(one.back(), 1, sizes[(i + 2) % 5]);
		}
	});
	std::map<uintptr_t, std::pair<size_t, std::string>> live;
	size_t bytes = 0;
	auto keep = [&](void *p) {
		size_t n = aml_fast_memory_usable_size(fast.f, p);
		int where = aml_fast_memory_locate(fast.f, p);
		ASSERT_GE(where, 0);
		live[(uintptr_t)p] = {
		        n, aml_topology_device(m.t, (size_t)where)->name};
		bytes += n;
	};
	for (size_t i = 1; i < zero.size(); i += 2)
		keep(zero[i]);
	for (void *p : one)
		keep(p);
	ASSERT_EQ(aml_fast_memory_stats(fast.f, &u), 0);
	EXPECT_EQ(u.live_allocations, live.size());
	EXPECT_EQ(u.bytes_in_use, bytes);
	EXPECT_GE(u.peak_bytes_held, u.bytes_in_use);

	std::string report = Report(
	        [](FILE *out, const void *f) {
		        return aml_fast_memory_report(
		                static_cast<const struct aml_fast_memory *>(f),
		                out);
	        },
	        fast.f);
	EXPECT_NE(report.find("fast domain 0 (h0):\n"), std::string::npos)
	        << report;
	EXPECT_NE(report.find("fast domain 1 (h1):\n"), std::string::npos)
	        << report;
	EXPECT_EQ(Listed(report), live) << report;

	for (auto &b : live)
		ASSERT_EQ(aml_fast_memory_free(fast.f, (void *)b.first), 0);
	ASSERT_EQ(aml_fast_memory_stats(fast.f, &u), 0);
	EXPECT_EQ(u.live_allocations, 0u);
	EXPECT_EQ(u.bytes_in_use, 0u);
}

TEST(FastStats, CapPerDomainRefusesWithTheReason)
{
	// One fast device, so one domain whichever CPU the thread runs on.
	Machine m("knl-flat;scale=1/256");
	Fast fast(m);
	ASSERT_NE(fast.f, nullptr);
	const size_t cap = 32 * kKiB;
	ASSERT_EQ(aml_fast_memory_set_cap(fast.f, cap), 0);
	std::vector<void *> blocks;
	void *p;
	while ((p = aml_fast_memory_malloc(fast.f, 512)) != nullptr)
		blocks.push_back(p);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	char detail[AML_ERROR_DETAIL_MAX];
	aml_error_detail(detail, sizeof(detail));
	EXPECT_NE(std::strstr(detail, "cap of 32768 bytes"), nullptr) << detail;
	// One thread alone fills its domain to the byte.
	EXPECT_EQ(blocks.size(), cap / 512);
	struct aml_arena_usage u = {};
	ASSERT_EQ(aml_fast_memory_stats(fast.f, &u), 0);
	EXPECT_EQ(u.cap_bytes, cap);
	EXPECT_EQ(u.refused, 1u);
	EXPECT_EQ(u.bytes_in_use, cap);
	ASSERT_EQ(aml_fast_memory_set_cap(fast.f, 0), 0);
	p = aml_fast_memory_malloc(fast.f, 512);
	ASSERT_NE(p, nullptr);
	blocks.push_back(p);
	for (void *q : blocks)
		ASSERT_EQ(aml_fast_memory_free(fast.f, q), 0);
}

TEST(FastStats, BadInputIsEinval)
{
	Machine m;
	Fast fast(m);
	struct aml_arena_usage u;
	std::memset(&u, 0xff, sizeof(u));
	EXPECT_EQ(aml_fast_memory_stats(nullptr, &u), AML_EINVAL);
	EXPECT_EQ(u.bytes_in_use, 0u);
	EXPECT_EQ(aml_fast_memory_stats(fast.f, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_fast_memory_set_cap(nullptr, 1), AML_EINVAL);
	EXPECT_EQ(aml_fast_memory_report(nullptr, stdout), AML_EINVAL);
	EXPECT_EQ(aml_fast_memory_report(fast.f, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_fast_stats(nullptr), AML_EINVAL);
	EXPECT_EQ(aml_fast_report(nullptr), AML_EINVAL);
}

TEST(FastStats, OneCallInterfaceCountsAndReports)
{
	struct aml_arena_usage u = {};
	ASSERT_EQ(aml_fast_stats(&u), 0);
	EXPECT_EQ(u.live_allocations, 0u);
	void *a = aml_fast_malloc(100);
	void *b = aml_fast_malloc(50000);
	ASSERT_NE(a, nullptr);
	ASSERT_NE(b, nullptr);
	std::memset(a, 1, 100);
	std::memset(b, 1, 50000);
	ASSERT_EQ(aml_fast_stats(&u), 0);
	EXPECT_EQ(u.live_allocations, 2u);
	EXPECT_EQ(u.bytes_in_use,
	          aml_fast_usable_size(a) + aml_fast_usable_size(b));
	std::string report = Report(
	        [](FILE *out, const void *) { return aml_fast_report(out); },
	        nullptr);
	auto listed = Listed(report);
	ASSERT_EQ(listed.size(), 2u) << report;
	const struct aml_topology *t = aml_topology_default();
	for (void *p : {a, b}) {
		ASSERT_EQ(listed.count((uintptr_t)p), 1u) << report;
		EXPECT_EQ(listed[(uintptr_t)p].first, aml_fast_usable_size(p));
		EXPECT_EQ(listed[(uintptr_t)p].second,
		          aml_topology_device(t, (size_t)aml_fast_locate(p))
		                  ->name);
	}
	ASSERT_EQ(aml_fast_set_cap(4096), 0);
	EXPECT_EQ(aml_fast_malloc(8192), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	ASSERT_EQ(aml_fast_set_cap(0), 0);
	aml_fast_free(a);
	aml_fast_free(b);
	ASSERT_EQ(aml_fast_stats(&u), 0);
	EXPECT_EQ(u.live_allocations, 0u);
	EXPECT_EQ(u.refused, 1u);
}

} // namespace
