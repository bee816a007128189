// SPDX-License-Identifier: BSD-3-Clause
// Fault injection on replicasets (tests/testing/fault.h): one replica per
// device of an emulated qemu-3node (and per NUMA domain of this machine),
// made by init and by create, refreshed after the source changed, in the
// calling thread and through a sequential and a parallel engine. After
// each failure the source is intact; once a call is retried, every replica
// holds the source.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/dma/par.h>
#include <aml/dma/seq.h>
#include <aml/replicaset.h>

#include "tests/testing/fault.h"

namespace
{

using aml_test::FaultRun;
using aml_test::ForEachFault;

constexpr size_t kSize = 5 * 4096 + 100; // not a multiple of pages

void ExpectReplicasHold(const struct aml_replicaset *rs,
                        const std::vector<unsigned char> &source)
{
	int n = aml_replicaset_count(rs);
	ASSERT_GT(n, 0);
	for (int i = 0; i < n; i++) {
		const void *r = aml_replicaset_replica(rs, (size_t)i);
		ASSERT_NE(r, nullptr);
		EXPECT_EQ(std::memcmp(r, source.data(), source.size()), 0)
		        << "replica " << i;
	}
}

void ReplicasetScenario(FaultRun &run,
                        const struct aml_topology *t,
                        struct aml_dma *seq,
                        struct aml_dma *par)
{
	std::vector<unsigned char> source(kSize), copy;
	for (size_t i = 0; i < kSize; i++)
		source[i] = (unsigned char)(i * 7);
	copy = source;
	run.SetModel([&] { EXPECT_EQ(source, copy) << "the source changed"; });

	AML_REPLICASET_DECL(rs);
	run.Call("aml_replicaset_init", {AML_ENOMEM}, [&] {
		return aml_replicaset_init(&rs, t, nullptr, 0, source.data(),
		                           kSize);
	});
	ExpectReplicasHold(&rs, source);
	struct aml_replicaset *created = nullptr;
	const struct aml_device *two[2] = {aml_topology_device(t, 0),
	                                   aml_topology_device(t, 1)};
	run.Call("aml_replicaset_create", {AML_ENOMEM}, [&] {
		return aml_replicaset_create(&created, t, two, 2, source.data(),
		                             kSize);
	});
	ASSERT_NE(created, nullptr);
	ExpectReplicasHold(created, source);

	for (struct aml_dma *dma : {(struct aml_dma *)nullptr, seq, par}) {
		for (size_t i = 0; i < kSize; i += 97)
			source[i]++;
		copy = source;
		run.Call("aml_replicaset_refresh", {AML_ENOMEM},
		         [&] { return aml_replicaset_refresh(&rs, dma); });
		ExpectReplicasHold(&rs, source);
		run.Call("aml_replicaset_refresh", {AML_ENOMEM},
		         [&] { return aml_replicaset_refresh(created, dma); });
		ExpectReplicasHold(created, source);
	}
	run.Quiet([&] {
		aml_replicaset_fini(&rs);
		aml_replicaset_destroy(&created);
	});
	EXPECT_EQ(created, nullptr);
}

// Each run makes its own machine and engines: the emulator keeps a clock
// for every thread that charged a copy until the machine is destroyed, and
// which of the parallel engine's workers charge depends on the scheduler.
TEST(FaultReplicaset, OnAnEmulatedQemu3node)
{
	unsigned long runs = ForEachFault([&](FaultRun &run) {
		struct aml_topology *t = nullptr;
		ASSERT_EQ(aml_emu_create(&t, "qemu-3node;scale=1/256", nullptr),
		          0);
		struct aml_dma *seq = nullptr, *par = nullptr;
		ASSERT_EQ(aml_dma_seq_create(&seq, t), 0);
		struct aml_dma_par_options opts = {};
		opts.nworkers = 2;
		opts.inline_max = AML_DMA_PAR_NO_INLINE;
		ASSERT_EQ(aml_dma_par_create(&par, t, &opts), 0);
		ReplicasetScenario(run, t, seq, par);
		for (size_t d = 0; d < 3; d++) {
			struct aml_emu_stats s = {};
			ASSERT_EQ(aml_emu_stats(t, d, &s), 0);
			EXPECT_EQ(s.pages, 0u) << "device " << d;
		}
		aml_dma_par_destroy(&par);
		aml_dma_seq_destroy(&seq);
		aml_topology_destroy(&t);
	});
	EXPECT_GT(runs, 0u);
}

} // namespace
