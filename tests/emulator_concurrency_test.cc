// SPDX-License-Identifier: BSD-3-Clause
// Several threads map, unmap, move, locate and copy on one emulated machine
// at once: the page table and the statistics stay consistent (run under
// --config=tsan in CI too).
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

namespace
{

TEST(EmulatorConcurrency, StatsStayConsistent)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "qemu-3node", nullptr), 0);
	size_t page = aml_page_size();
	constexpr int kThreads = 4, kRounds = 300;
	std::atomic<int> failures{0};
	std::vector<std::thread> threads;
	for (int id = 0; id < kThreads; id++) {
		threads.emplace_back([&, id] {
			const struct aml_device *a =
			        aml_topology_device(t, (size_t)(id % 3));
			const struct aml_device *b =
			        aml_topology_device(t, (size_t)((id + 1) % 3));
			struct aml_bitmap all;
			aml_bitmap_parse(&all, "0-2");
			for (int r = 0; r < kRounds; r++) {
				char *p = static_cast<char *>(
				        aml_device_map(a, 4 * page));
				char *q = static_cast<char *>(aml_topology_map(
				        t, &all, AML_POLICY_INTERLEAVE,
				        3 * page));
				if (p == nullptr || q == nullptr) {
					failures++;
					continue;
				}
				std::memset(p, id, 4 * page);
				if (aml_device_move(b, p, 2 * page) != 0 ||
				    aml_emu_copy(t, q, p, 3 * page) != 0)
					failures++;
				int ids[4];
				aml_topology_locate(t, p, 4, ids);
				if (ids[0] != (id + 1) % 3 || ids[3] != id % 3)
					failures++;
				if (aml_device_unmap(a, p, 4 * page) != 0 ||
				    aml_topology_unmap(t, q, 3 * page) != 0)
					failures++;
			}
		});
	}
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(failures.load(), 0);
	uint64_t moved_in = 0, moved_out = 0, copied_in = 0, copied_out = 0;
	for (size_t d = 0; d < 3; d++) {
		struct aml_emu_stats s;
		ASSERT_EQ(aml_emu_stats(t, d, &s), 0);
		EXPECT_EQ(s.pages, 0u) << d; // everything was unmapped
		EXPECT_EQ(s.resident_bytes, 0u) << d;
		moved_in += s.pages_moved_in;
		moved_out += s.pages_moved_out;
		copied_in += s.bytes_copied_in;
		copied_out += s.bytes_copied_out;
	}
	EXPECT_EQ(moved_in, moved_out);
	EXPECT_EQ(moved_in, (uint64_t)kThreads * kRounds * 2);
	EXPECT_EQ(copied_in, copied_out);
	EXPECT_EQ(copied_in, (uint64_t)kThreads * kRounds * 3 * page);
	aml_topology_destroy(&t);
}

// aml_emu_set_mode calibrates delay mode and publishes its dilation while
// other threads charge and copy, which read it. ThreadSanitizer
// (--config=tsan) reported the plain double written by one and read by the
// others. The threads below agree on phases through relaxed atomics only,
// which order nothing for TSan, so that any unsynchronised access in the
// emulator shows.
TEST(EmulatorConcurrency, SetModeWhileOtherThreadsChargeAndCopy)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "qemu-3node", nullptr), 0);
	size_t page = aml_page_size();
	const struct aml_device *node1 = aml_topology_device(t, 1);
	char *p = static_cast<char *>(aml_device_map(node1, 2 * page));
	ASSERT_NE(p, nullptr);
	uint64_t charge = 0, copy = 0;
	ASSERT_EQ(aml_emu_copy_cost(t, p + page, p, 64, &copy), 0);
	std::atomic<uint64_t> rounds{0};
	std::atomic<bool> stop{false};
	std::atomic<bool> worker_failed{false};
	std::thread worker([&] {
		while (!stop.load(std::memory_order_relaxed)) {
			if (aml_emu_charge(t, p, 64, AML_EMU_READ) != 0 ||
			    aml_emu_copy(t, p + page, p, 64) != 0) {
				worker_failed.store(true,
				                    std::memory_order_relaxed);
				break;
			}
			rounds.fetch_add(1, std::memory_order_relaxed);
		}
	});
	// Each switch happens while the worker goes on: two more rounds
	// each time, unless the worker failed and stopped.
	auto two_more_rounds = [&] {
		uint64_t from = rounds.load(std::memory_order_relaxed);
		while (rounds.load(std::memory_order_relaxed) < from + 2 &&
		       !worker_failed.load(std::memory_order_relaxed))
			std::this_thread::yield();
	};
	two_more_rounds();
	EXPECT_EQ(aml_emu_set_mode(t, AML_EMU_DELAY), 0);
	two_more_rounds();
	EXPECT_EQ(aml_emu_set_mode(t, AML_EMU_ACCOUNT), 0);
	two_more_rounds();
	stop.store(true, std::memory_order_relaxed);
	worker.join();
	EXPECT_FALSE(worker_failed.load()) << "a charge or copy failed";
	// Every round was charged exactly, in either mode.
	ASSERT_EQ(aml_emu_copy_cost(t, p, p, 64, &charge), 0); // same device
	struct aml_emu_clock c;
	ASSERT_EQ(aml_emu_clock(t, &c), 0);
	EXPECT_EQ(c.total_ns, rounds.load() * (charge + copy));
	aml_device_unmap(node1, p, 2 * page);
	aml_topology_destroy(&t);
}

} // namespace
