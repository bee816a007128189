// SPDX-License-Identifier: BSD-3-Clause
// Replicasets: one replica per device equal to the source and placed page by
// page on its device (emulated knl-flat, qemu-3node and a two-socket spec,
// and this machine), the nearest replica of every CPU, refresh through no
// engine, the sequential and the parallel one, capacity failures that leave
// nothing mapped, and a bad-input table.
#include <pthread.h>
#include <sched.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/dma/par.h>
#include <aml/dma/seq.h>
#include <aml/replicaset.h>

#include "tests/testing/emulated.h"

namespace
{

size_t Page()
{
	return aml_page_size();
}

// Not a multiple of the page size, so the zero-filled tail is checked.
const size_t kSize = 64 * 4096 + 123;

// Two sockets of one DRAM node each, and a CPU-less HBM node.
const char kTwoSockets[] =
        "tier: name=s0, kind=DRAM, capacity=64MiB, bw=100GB/s, "
        "latency=100ns, cpus=0; "
        "tier: name=s1, kind=DRAM, capacity=64MiB, bw=100GB/s, "
        "latency=100ns, cpus=1; "
        "tier: name=hbm, kind=HBM, capacity=16MiB, bw=400GB/s, "
        "latency=120ns";

std::vector<unsigned char> Pattern(size_t size, unsigned seed)
{
	std::vector<unsigned char> v(size);
	for (size_t i = 0; i < size; i++)
		v[i] = static_cast<unsigned char>((i * 131 + seed) % 251);
	return v;
}

class ReplicasetEmulated : public aml_testing::Emulated
{
      protected:
	uint64_t Resident()
	{
		uint64_t sum = 0;
		for (size_t i = 0; i < NDevices(); i++) {
			struct aml_emu_stats s;
			EXPECT_EQ(aml_emu_stats(t, i, &s), 0);
			sum += s.resident_bytes;
		}
		return sum;
	}
	// Every replica equals the source, is zero up to its page boundary,
	// and has every page on its own device.
	void ExpectReplicas(const struct aml_replicaset *rs,
	                    const std::vector<unsigned char> &src)
	{
		int n = aml_replicaset_count(rs);
		ASSERT_GT(n, 0);
		size_t npages = (src.size() + Page() - 1) / Page();
		for (size_t i = 0; i < static_cast<size_t>(n); i++) {
			const auto *p = static_cast<const unsigned char *>(
			        aml_replicaset_replica(rs, i));
			ASSERT_NE(p, nullptr) << i;
			EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % Page(), 0u);
			EXPECT_EQ(std::memcmp(p, src.data(), src.size()), 0)
			        << "replica " << i;
			for (size_t b = src.size(); b < npages * Page(); b++)
				ASSERT_EQ(p[b], 0) << "replica " << i;
			int index = aml_topology_index_of(
			        t, aml_replicaset_device(rs, i));
			std::vector<int> ids(npages, -100);
			ASSERT_EQ(aml_topology_locate(t, p, npages, ids.data()),
			          0);
			EXPECT_EQ(ids, std::vector<int>(npages, index))
			        << "replica " << i;
		}
	}
};

// ---- Placement and content.

TEST_F(ReplicasetEmulated, OnePerDeviceEqualAndPlacedOnKnlFlat)
{
	Make("knl-flat;scale=1/4096");
	std::vector<unsigned char> src = Pattern(kSize, 1);
	const struct aml_device *both[2] = {Dev(0), Dev(1)};
	AML_REPLICASET_DECL(rs);
	ASSERT_EQ(aml_replicaset_init(&rs, t, both, 2, src.data(), src.size()),
	          0);
	EXPECT_EQ(aml_replicaset_count(&rs), 2);
	EXPECT_EQ(aml_replicaset_size(&rs), kSize);
	EXPECT_EQ(aml_replicaset_device(&rs, 0), Dev(0));
	EXPECT_EQ(aml_replicaset_device(&rs, 1), Dev(1));
	EXPECT_NE(aml_replicaset_replica(&rs, 0),
	          aml_replicaset_replica(&rs, 1));
	ExpectReplicas(&rs, src);
	size_t mapped = (kSize + Page() - 1) / Page() * Page();
	EXPECT_EQ(Resident(), 2 * mapped);
	aml_replicaset_fini(&rs);
	EXPECT_EQ(Resident(), 0u);
	EXPECT_EQ(aml_replicaset_count(&rs), AML_EINVAL);
	aml_replicaset_fini(&rs); // twice is a no-op
}

TEST_F(ReplicasetEmulated, OnePerDeviceEqualAndPlacedOnQemu3Node)
{
	Make("qemu-3node;scale=1/64");
	std::vector<unsigned char> src = Pattern(kSize, 2);
	// In an order of the caller's choosing: replica i is on devices[i].
	const struct aml_device *all[3] = {Dev(2), Dev(0), Dev(1)};
	struct aml_replicaset *rs = nullptr;
	ASSERT_EQ(aml_replicaset_create(&rs, t, all, 3, src.data(), src.size()),
	          0);
	ASSERT_NE(rs, nullptr);
	EXPECT_EQ(aml_replicaset_count(rs), 3);
	for (size_t i = 0; i < 3; i++)
		EXPECT_EQ(aml_replicaset_device(rs, i), all[i]) << i;
	ExpectReplicas(rs, src);
	aml_replicaset_destroy(&rs);
	EXPECT_EQ(rs, nullptr);
	EXPECT_EQ(Resident(), 0u);
}

TEST_F(ReplicasetEmulated, DefaultIsOnePerNumaDomain)
{
	std::vector<unsigned char> src = Pattern(kSize, 3);
	struct {
		const char *spec;
		std::vector<size_t> devices; // topology indices, in order
	} cases[] = {
	        // CPU-less MCDRAM, HBM and CXL nodes are left out.
	        {"knl-flat;scale=1/4096", {0}},
	        {"qemu-3node;scale=1/64", {0}},
	        {kTwoSockets, {0, 1}},
	};
	for (const auto &c : cases) {
		Make(c.spec);
		AML_REPLICASET_DECL(rs);
		ASSERT_EQ(aml_replicaset_init(&rs, t, nullptr, 0, src.data(),
		                              src.size()),
		          0)
		        << c.spec;
		ASSERT_EQ(aml_replicaset_count(&rs),
		          static_cast<int>(c.devices.size()))
		        << c.spec;
		for (size_t i = 0; i < c.devices.size(); i++)
			EXPECT_EQ(aml_replicaset_device(&rs, i),
			          Dev(c.devices[i]))
			        << c.spec << " replica " << i;
		ExpectReplicas(&rs, src);
		aml_replicaset_fini(&rs);
		EXPECT_EQ(Resident(), 0u) << c.spec;
		aml_topology_destroy(&t);
	}
}

// ---- The nearest rule.

// For each case, the replica index every CPU from 0 to AML_BITMAP_MAX - 1
// must get: the first entry lists exceptions, `others` is the rest.
TEST_F(ReplicasetEmulated, NearestReplicaOfEveryCpuFollowsTheRule)
{
	std::vector<unsigned char> src = Pattern(4096, 4);
	struct Case {
		const char *what;
		const char *spec;
		std::vector<size_t> devices;
		std::vector<std::pair<int, int>> cpus; // cpu -> replica
		int others;
	} cases[] = {
	        // The CPU's own node when it holds a replica...
	        {"knl ddr+mcdram", "knl-flat;scale=1/4096", {0, 1}, {}, 0},
	        {"knl mcdram+ddr", "knl-flat;scale=1/4096", {1, 0}, {}, 1},
	        // ... else the lowest latency from the CPU: MCDRAM (150 ns),
	        // node1 (120 ns) before node2 (300 ns).
	        {"knl mcdram only", "knl-flat;scale=1/4096", {1}, {}, 0},
	        {"qemu node2+node1", "qemu-3node;scale=1/64", {2, 1}, {}, 1},
	        {"qemu node2 only", "qemu-3node;scale=1/64", {2}, {}, 0},
	        // Each socket reads its own replica. CPUs of no socket get
	        // the topology's nearest: equal latency, equal capacity, so
	        // the lower NUMA id, s0.
	        {"sockets", kTwoSockets, {0, 1}, {{0, 0}, {1, 1}}, 0},
	        {"sockets reversed", kTwoSockets, {1, 0}, {{0, 1}, {1, 0}}, 1},
	        // CPU 0's node has no replica: s1 (100 ns) before HBM.
	        {"hbm+s1", kTwoSockets, {2, 1}, {{0, 1}, {1, 1}}, 1},
	        {"hbm only", kTwoSockets, {2}, {}, 0},
	};
	for (const Case &c : cases) {
		Make(c.spec);
		std::vector<const struct aml_device *> devices;
		for (size_t d : c.devices)
			devices.push_back(Dev(d));
		AML_REPLICASET_DECL(rs);
		ASSERT_EQ(aml_replicaset_init(&rs, t, devices.data(),
		                              devices.size(), src.data(),
		                              src.size()),
		          0)
		        << c.what;
		for (int cpu = 0; cpu < AML_BITMAP_MAX; cpu++) {
			int want = c.others;
			for (const auto &e : c.cpus)
				if (e.first == cpu)
					want = e.second;
			ASSERT_EQ(aml_replicaset_nearest_index(&rs, cpu), want)
			        << c.what << " cpu " << cpu;
			ASSERT_EQ(aml_replicaset_nearest_to_cpu(&rs, cpu),
			          aml_replicaset_replica(&rs, want))
			        << c.what << " cpu " << cpu;
		}
		aml_replicaset_fini(&rs);
		aml_topology_destroy(&t);
	}
}

// A thread pinned to each CPU it may use reads the replica of that CPU.
TEST_F(ReplicasetEmulated, NearestIsTheCallingThreadsCpu)
{
	Make(kTwoSockets);
	std::vector<unsigned char> src = Pattern(4096, 5);
	AML_REPLICASET_DECL(rs);
	ASSERT_EQ(
	        aml_replicaset_init(&rs, t, nullptr, 0, src.data(), src.size()),
	        0);
	cpu_set_t saved;
	ASSERT_EQ(pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved),
	          0);
	int checked = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &saved))
			continue;
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof(one),
		                                 &one),
		          0);
		ASSERT_EQ(sched_getcpu(), cpu);
		EXPECT_EQ(aml_replicaset_nearest(&rs),
		          aml_replicaset_nearest_to_cpu(&rs, cpu))
		        << cpu;
		EXPECT_EQ(aml_replicaset_nearest_index(&rs, -1),
		          aml_replicaset_nearest_index(&rs, cpu))
		        << cpu;
		checked++;
	}
	ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved),
	          0);
	EXPECT_GT(checked, 0);
	aml_replicaset_fini(&rs);
}

// ---- Refresh.

TEST_F(ReplicasetEmulated, RefreshMakesEveryReplicaEqualAgain)
{
	Make("qemu-3node;scale=1/64");
	std::vector<unsigned char> src = Pattern(kSize, 6);
	const struct aml_device *all[3] = {Dev(0), Dev(1), Dev(2)};
	AML_REPLICASET_DECL(rs);
	ASSERT_EQ(aml_replicaset_init(&rs, t, all, 3, src.data(), src.size()),
	          0);
	std::vector<unsigned char> old = src;

	AML_DMA_SEQ_DECL(seq);
	ASSERT_EQ(aml_dma_seq_init(&seq, t), 0);
	AML_DMA_PAR_DECL(par);
	struct aml_dma_par_options o = {};
	o.nworkers = 2;
	o.chunk_size = 4096;
	o.inline_max = AML_DMA_PAR_NO_INLINE;
	ASSERT_EQ(aml_dma_par_init(&par, t, &o), 0);
	struct {
		const char *what;
		struct aml_dma *dma;
	} engines[] = {
	        {"no engine", nullptr},
	        {"seq", &seq.base},
	        {"par", &par.base},
	};
	unsigned seed = 7;
	for (const auto &e : engines) {
		// The source changes; the replicas keep the old data until
		// the refresh.
		std::vector<unsigned char> next = Pattern(kSize, seed++);
		std::memcpy(src.data(), next.data(), kSize);
		for (size_t i = 0; i < 3; i++)
			ASSERT_EQ(std::memcmp(aml_replicaset_replica(&rs, i),
			                      old.data(), kSize),
			          0)
			        << e.what;
		std::vector<struct aml_emu_stats> before(3), after(3);
		for (size_t i = 0; i < 3; i++)
			aml_emu_stats(t, i, &before[i]);
		ASSERT_EQ(aml_replicaset_refresh(&rs, e.dma), 0) << e.what;
		ExpectReplicas(&rs, src);
		// Every engine charges the emulator: each device took in
		// one replica's bytes.
		for (size_t i = 0; i < 3; i++) {
			aml_emu_stats(t, i, &after[i]);
			EXPECT_EQ(after[i].bytes_copied_in -
			                  before[i].bytes_copied_in,
			          kSize)
			        << e.what << " device " << i;
		}
		old = src;
	}
	aml_dma_par_fini(&par);
	aml_dma_seq_fini(&seq);
	aml_replicaset_fini(&rs);
	EXPECT_EQ(aml_replicaset_refresh(&rs, nullptr), AML_EINVAL);
}

// More replicas than refresh keeps in flight at once (16).
TEST_F(ReplicasetEmulated, RefreshOfManyReplicasInBatches)
{
	std::string spec;
	const size_t n = 20;
	for (size_t i = 0; i < n; i++)
		spec += "tier: name=t" + std::to_string(i) +
		        ", kind=DRAM, capacity=4MiB, bw=100GB/s, latency=" +
		        std::to_string(100 + i) + "ns" +
		        (i == 0 ? ", cpus=all; " : "; ");
	Make(spec.c_str());
	ASSERT_EQ(NDevices(), n);
	std::vector<const struct aml_device *> devices;
	for (size_t i = 0; i < n; i++)
		devices.push_back(Dev(i));
	std::vector<unsigned char> src = Pattern(kSize, 20);
	AML_REPLICASET_DECL(rs);
	ASSERT_EQ(aml_replicaset_init(&rs, t, devices.data(), n, src.data(),
	                              src.size()),
	          0);
	ExpectReplicas(&rs, src);
	AML_DMA_PAR_DECL(par);
	ASSERT_EQ(aml_dma_par_init(&par, t, nullptr), 0);
	std::vector<unsigned char> next = Pattern(kSize, 21);
	std::memcpy(src.data(), next.data(), kSize);
	ASSERT_EQ(aml_replicaset_refresh(&rs, &par.base), 0);
	ExpectReplicas(&rs, src);
	aml_dma_par_fini(&par);
	aml_replicaset_fini(&rs);
	EXPECT_EQ(Resident(), 0u);
}

// ---- Capacity.

TEST_F(ReplicasetEmulated, ADeviceTooSmallLeavesNothingMapped)
{
	Make("knl-flat;scale=1/4096"); // DDR4 24 MiB, MCDRAM 4 MiB
	std::vector<unsigned char> src(5 << 20, 1);
	const struct aml_device *ddr_first[2] = {Dev(0), Dev(1)};
	const struct aml_device *mcdram_first[2] = {Dev(1), Dev(0)};
	for (const auto *devices : {ddr_first, mcdram_first}) {
		AML_REPLICASET_DECL(rs);
		std::memset(&rs, 0x5a, sizeof(rs));
		EXPECT_EQ(aml_replicaset_init(&rs, t, devices, 2, src.data(),
		                              src.size()),
		          AML_ENOMEM);
		EXPECT_EQ(reinterpret_cast<unsigned char *>(&rs)[0], 0x5a)
		        << "storage touched";
		EXPECT_EQ(Resident(), 0u);
		struct aml_replicaset *out =
		        reinterpret_cast<struct aml_replicaset *>(1);
		EXPECT_EQ(aml_replicaset_create(&out, t, devices, 2, src.data(),
		                                src.size()),
		          AML_ENOMEM);
		EXPECT_EQ(out, nullptr);
		EXPECT_EQ(Resident(), 0u);
		for (size_t i = 0; i < 2; i++) {
			struct aml_emu_stats s;
			ASSERT_EQ(aml_emu_stats(t, i, &s), 0);
			EXPECT_EQ(s.pages, 0u) << i;
		}
	}
	// What fits still works afterwards, up to the last page.
	const struct aml_device *mcdram = Dev(1);
	AML_REPLICASET_DECL(rs);
	ASSERT_EQ(aml_replicaset_init(&rs, t, &mcdram, 1, src.data(),
	                              mcdram->capacity),
	          0);
	aml_replicaset_fini(&rs);
	EXPECT_EQ(Resident(), 0u);
}

// ---- Bad input.

TEST_F(ReplicasetEmulated, InitBadInputTable)
{
	Make("qemu-3node;scale=1/64");
	struct aml_topology *other = nullptr;
	ASSERT_EQ(aml_emu_create(&other, "single;scale=1/1024", nullptr), 0);
	std::vector<unsigned char> src = Pattern(kSize, 8);
	const struct aml_device *d0 = Dev(0), *d1 = Dev(1);
	const struct aml_device *foreign = aml_topology_device(other, 0);
	const struct aml_device *pair[2] = {d0, d1};
	const struct aml_device *twice[2] = {d0, d0};
	const struct aml_device *with_null[2] = {d0, nullptr};
	const struct aml_device *with_foreign[2] = {d0, foreign};
	struct Case {
		const char *what;
		const struct aml_topology *t;
		const struct aml_device *const *devices;
		size_t n;
		const void *source;
		size_t size;
	} cases[] = {
	        {"NULL topology", nullptr, pair, 2, src.data(), kSize},
	        {"NULL source", t, pair, 2, nullptr, kSize},
	        {"size 0", t, pair, 2, src.data(), 0},
	        {"size overflows", t, pair, 2, src.data(), SIZE_MAX},
	        {"size overflows when rounded", t, pair, 2, src.data(),
	         SIZE_MAX - Page() + 2},
	        {"empty device set", t, pair, 0, src.data(), kSize},
	        {"NULL devices with a count", t, nullptr, 2, src.data(), kSize},
	        {"a NULL device", t, with_null, 2, src.data(), kSize},
	        {"a device twice", t, twice, 2, src.data(), kSize},
	        {"a foreign device", t, with_foreign, 2, src.data(), kSize},
	};
	for (const Case &c : cases) {
		AML_REPLICASET_DECL(rs);
		std::memset(&rs, 0x5a, sizeof(rs));
		EXPECT_EQ(aml_replicaset_init(&rs, c.t, c.devices, c.n,
		                              c.source, c.size),
		          AML_EINVAL)
		        << c.what;
		std::vector<unsigned char> untouched(sizeof(rs), 0x5a);
		EXPECT_EQ(std::memcmp(&rs, untouched.data(), sizeof(rs)), 0)
		        << c.what << ": storage touched";
		struct aml_replicaset *out =
		        reinterpret_cast<struct aml_replicaset *>(1);
		EXPECT_EQ(aml_replicaset_create(&out, c.t, c.devices, c.n,
		                                c.source, c.size),
		          AML_EINVAL)
		        << c.what;
		EXPECT_EQ(out, nullptr) << c.what;
		EXPECT_EQ(Resident(), 0u) << c.what;
	}
	EXPECT_EQ(aml_replicaset_init(nullptr, t, pair, 2, src.data(), kSize),
	          AML_EINVAL);
	EXPECT_EQ(aml_replicaset_create(nullptr, t, pair, 2, src.data(), kSize),
	          AML_EINVAL);
	EXPECT_EQ(Resident(), 0u);
	aml_replicaset_fini(nullptr);
	aml_replicaset_destroy(nullptr);
	struct aml_replicaset *null_rs = nullptr;
	aml_replicaset_destroy(&null_rs);
	aml_topology_destroy(&other);
}

TEST_F(ReplicasetEmulated, QueriesBadInput)
{
	Make("knl-flat;scale=1/4096");
	std::vector<unsigned char> src = Pattern(kSize, 9);
	AML_REPLICASET_DECL(rs);
	ASSERT_EQ(
	        aml_replicaset_init(&rs, t, nullptr, 0, src.data(), src.size()),
	        0);
	ASSERT_EQ(aml_replicaset_count(&rs), 1);

	EXPECT_EQ(aml_replicaset_count(nullptr), AML_EINVAL);
	aml_errno = 0;
	EXPECT_EQ(aml_replicaset_size(nullptr), 0u);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	struct {
		const char *what;
		const struct aml_replicaset *rs;
		size_t index;
		int err;
	} lookups[] = {
	        {"NULL replicaset", nullptr, 0, AML_EINVAL},
	        {"index past the last", &rs, 1, AML_EDOM},
	        {"huge index", &rs, SIZE_MAX, AML_EDOM},
	};
	for (const auto &c : lookups) {
		aml_errno = 0;
		EXPECT_EQ(aml_replicaset_replica(c.rs, c.index), nullptr)
		        << c.what;
		EXPECT_EQ(aml_errno, c.err) << c.what;
		aml_errno = 0;
		EXPECT_EQ(aml_replicaset_device(c.rs, c.index), nullptr)
		        << c.what;
		EXPECT_EQ(aml_errno, c.err) << c.what;
	}
	struct {
		const char *what;
		const struct aml_replicaset *rs;
		int cpu;
		int err;
	} cpus[] = {
	        {"NULL replicaset", nullptr, 0, AML_EINVAL},
	        {"NULL replicaset, this CPU", nullptr, -1, AML_EINVAL},
	        {"cpu -2", &rs, -2, AML_EDOM},
	        {"cpu INT_MIN", &rs, INT32_MIN, AML_EDOM},
	        {"cpu AML_BITMAP_MAX", &rs, AML_BITMAP_MAX, AML_EDOM},
	        {"cpu INT_MAX", &rs, INT32_MAX, AML_EDOM},
	};
	for (const auto &c : cpus) {
		EXPECT_EQ(aml_replicaset_nearest_index(c.rs, c.cpu), c.err)
		        << c.what;
		aml_errno = 0;
		EXPECT_EQ(aml_replicaset_nearest_to_cpu(c.rs, c.cpu), nullptr)
		        << c.what;
		EXPECT_EQ(aml_errno, c.err) << c.what;
	}
	aml_errno = 0;
	EXPECT_EQ(aml_replicaset_nearest(nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_replicaset_refresh(nullptr, nullptr), AML_EINVAL);

	// Nothing changed: the replicaset still answers and holds the data.
	ExpectReplicas(&rs, src);
	EXPECT_NE(aml_replicaset_nearest(&rs), nullptr);

	// A finalised replicaset refuses everything.
	aml_replicaset_fini(&rs);
	EXPECT_EQ(aml_replicaset_count(&rs), AML_EINVAL);
	aml_errno = 0;
	EXPECT_EQ(aml_replicaset_replica(&rs, 0), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_replicaset_nearest_index(&rs, 0), AML_EINVAL);
	EXPECT_EQ(aml_replicaset_refresh(&rs, nullptr), AML_EINVAL);
	EXPECT_EQ(Resident(), 0u);
}

struct HoldsAReplicaset {
	int before;
	AML_REPLICASET_DECL(rs);
	int after;
};

TEST_F(ReplicasetEmulated, DeclWorksInsideAStruct)
{
	Make("single;scale=1/1024");
	std::vector<unsigned char> src = Pattern(100, 10);
	HoldsAReplicaset h = {1, {}, 2};
	ASSERT_EQ(aml_replicaset_init(&h.rs, t, nullptr, 0, src.data(),
	                              src.size()),
	          0);
	ExpectReplicas(&h.rs, src);
	aml_replicaset_fini(&h.rs);
	EXPECT_EQ(h.before, 1);
	EXPECT_EQ(h.after, 2);
}

// ---- This machine.

TEST(ReplicasetNuma, OnePerNodeWithCpusOnThisMachine)
{
	const struct aml_topology *t = aml_topology_default();
	ASSERT_NE(t, nullptr) << aml_errname(aml_errno);
	if (aml_topology_is_emulated(t) == 1)
		GTEST_SKIP() << "AML_EMULATE is set";
	int with_cpus = 0;
	AML_TOPOLOGY_FOREACH (dev, t) {
		if (aml_bitmap_count(&dev->cpus) > 0)
			with_cpus++;
	}
	std::vector<unsigned char> src = Pattern(kSize, 11);
	AML_REPLICASET_DECL(rs);
	ASSERT_EQ(
	        aml_replicaset_init(&rs, t, nullptr, 0, src.data(), src.size()),
	        0);
	int n = aml_replicaset_count(&rs);
	EXPECT_EQ(n, with_cpus);
	size_t npages = (kSize + Page() - 1) / Page();
	for (size_t i = 0; i < static_cast<size_t>(n); i++) {
		const void *p = aml_replicaset_replica(&rs, i);
		ASSERT_NE(p, nullptr);
		EXPECT_EQ(std::memcmp(p, src.data(), kSize), 0) << i;
		std::vector<int> ids(npages, -100);
		ASSERT_EQ(aml_topology_locate(t, p, npages, ids.data()), 0);
		int index =
		        aml_topology_index_of(t, aml_replicaset_device(&rs, i));
		EXPECT_EQ(ids, std::vector<int>(npages, index)) << i;
	}
	// Every CPU this thread may use reads the replica on its own node.
	for (int cpu = 0; cpu < CPU_SETSIZE && cpu < AML_BITMAP_MAX; cpu++) {
		const struct aml_device *local = aml_topology_nearest(t, cpu);
		ASSERT_NE(local, nullptr);
		if (aml_bitmap_is_set(&local->cpus, (size_t)cpu) != 1)
			continue;
		int r = aml_replicaset_nearest_index(&rs, cpu);
		ASSERT_GE(r, 0);
		EXPECT_EQ(aml_replicaset_device(&rs, (size_t)r), local) << cpu;
	}
	EXPECT_NE(aml_replicaset_nearest(&rs), nullptr);
	std::vector<unsigned char> next = Pattern(kSize, 12);
	std::memcpy(src.data(), next.data(), kSize);
	AML_DMA_PAR_DECL(par);
	ASSERT_EQ(aml_dma_par_init(&par, t, nullptr), 0);
	ASSERT_EQ(aml_replicaset_refresh(&rs, &par.base), 0);
	for (size_t i = 0; i < static_cast<size_t>(n); i++)
		EXPECT_EQ(std::memcmp(aml_replicaset_replica(&rs, i),
		                      src.data(), kSize),
		          0)
		        << i;
	aml_dma_par_fini(&par);
	aml_replicaset_fini(&rs);
}

} // namespace
