// SPDX-License-Identifier: BSD-3-Clause
// Device areas: every policy placed page by page (emulated knl-flat and
// qemu-3node, and the real numa backend), full devices, alignment, the
// constructors, and a bad-input table for init. The area contract (bad
// arguments, foreign and partial unmaps, the handle after fini, ...) is
// checked on every kind of area by area_contract_test.
#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/device/memkind.h>

#include "tests/testing/emulated.h"
#include "tests/testing/node0.h"

namespace
{

size_t Page()
{
	return aml_page_size();
}

using AreaEmulated = aml_testing::Emulated;

TEST_F(AreaEmulated, BindPlacesOnTheDevicesAndFailsCleanlyWhenFull)
{
	Make("knl-flat;scale=1/4096"); // MCDRAM: 4 MiB
	const struct aml_device *mcdram = Dev(1);
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, t, &mcdram, 1, AML_AREA_BIND,
	                               nullptr),
	          0);
	size_t all = mcdram->capacity;
	char *p = static_cast<char *>(aml_area_mmap(&area.base, all, nullptr));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(Placed(p, all / Page()), std::vector<int>(all / Page(), 1));
	struct aml_emu_stats before, after;
	aml_emu_stats(t, 1, &before);
	// Full: a populating map is refused (a map without populate would
	// be mapped, and its first touch would stop the program, as Linux's
	// OOM killer would: emulator_touch_test).
	struct aml_area_mmap_options populate = {0, true, AML_PAGE_DEFAULT};
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&area.base, Page(), &populate), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	aml_emu_stats(t, 1, &after);
	EXPECT_EQ(std::memcmp(&before, &after, sizeof(before)), 0);
	EXPECT_EQ(aml_area_munmap(&area.base, p, all), 0);
	aml_area_device_fini(&area);
}

// Where Linux 6.1 puts npages interleaved over devices 0, 1, 2 from p: the
// page with virtual page number v on device (unsigned int)v mod 3 (its
// interleave_nid() for an anonymous mapping), which the emulator follows.
std::vector<int> InterleaveOverAll(const char *p, size_t npages)
{
	std::vector<int> ids;
	for (size_t i = 0; i < npages; i++)
		ids.push_back((int)((unsigned)((uintptr_t)p / Page() + i) % 3));
	return ids;
}

TEST_F(AreaEmulated, PreferredSpillsInterleaveRoundRobins)
{
	Make("qemu-3node;scale=1/256"); // node1: 1 MiB = 256 pages
	const struct aml_device *node1 = Dev(1);
	AML_AREA_DEVICE_DECL(preferred);
	ASSERT_EQ(aml_area_device_init(&preferred, t, &node1, 1,
	                               AML_AREA_PREFERRED, nullptr),
	          0);
	size_t n = node1->capacity / Page() + 4;
	char *p = static_cast<char *>(
	        aml_area_mmap(&preferred.base, n * Page(), nullptr));
	ASSERT_NE(p, nullptr);
	std::vector<int> ids = Placed(p, n);
	for (size_t i = 0; i + 4 < n; i++)
		ASSERT_EQ(ids[i], 1) << i;
	for (size_t i = n - 4; i < n; i++)
		EXPECT_EQ(ids[i], 0) << i; // node0 is nearest to node1 (12)
	EXPECT_EQ(aml_area_munmap(&preferred.base, p, n * Page()), 0);

	const struct aml_device *all[3] = {Dev(0), Dev(1), Dev(2)};
	AML_AREA_DEVICE_DECL(interleave);
	ASSERT_EQ(aml_area_device_init(&interleave, t, all, 3,
	                               AML_AREA_INTERLEAVE, nullptr),
	          0);
	p = static_cast<char *>(
	        aml_area_mmap(&interleave.base, 7 * Page(), nullptr));
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(Placed(p, 7), InterleaveOverAll(p, 7));
	EXPECT_EQ(aml_area_munmap(&interleave.base, p, 7 * Page()), 0);
	aml_area_device_fini(&preferred);
	aml_area_device_fini(&interleave);
}

// INTERLEAVE takes a set of devices: Linux's nodemask has no order, so
// pages go round-robin in topology order (from the phase the address
// gives) whatever order the devices are given in. WEIGHTED_INTERLEAVE with
// equal weights follows the order given.
TEST_F(AreaEmulated, InterleaveIsInTopologyOrderWeightedInTheOrderGiven)
{
	Make("qemu-3node;scale=1/256");
	const struct aml_device *reversed[3] = {Dev(2), Dev(1), Dev(0)};
	AML_AREA_DEVICE_DECL(interleave);
	ASSERT_EQ(aml_area_device_init(&interleave, t, reversed, 3,
	                               AML_AREA_INTERLEAVE, nullptr),
	          0);
	char *p = static_cast<char *>(
	        aml_area_mmap(&interleave.base, 6 * Page(), nullptr));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(Placed(p, 6), InterleaveOverAll(p, 6));
	EXPECT_EQ(aml_area_munmap(&interleave.base, p, 6 * Page()), 0);
	aml_area_device_fini(&interleave);

	const unsigned equal[3] = {1, 1, 1};
	AML_AREA_DEVICE_DECL(weighted);
	ASSERT_EQ(aml_area_device_init(&weighted, t, reversed, 3,
	                               AML_AREA_WEIGHTED_INTERLEAVE, equal),
	          0);
	p = static_cast<char *>(
	        aml_area_mmap(&weighted.base, 6 * Page(), nullptr));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(Placed(p, 6), (std::vector<int>{2, 1, 0, 2, 1, 0}));
	EXPECT_EQ(aml_area_munmap(&weighted.base, p, 6 * Page()), 0);
	aml_area_device_fini(&weighted);
}

TEST_F(AreaEmulated, WeightedInterleaveThreeToOne)
{
	Make("knl-flat;scale=1/1024");
	const struct aml_device *two[2] = {Dev(0), Dev(1)};
	const unsigned weights[2] = {3, 1};
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, t, two, 2,
	                               AML_AREA_WEIGHTED_INTERLEAVE, weights),
	          0);
	size_t n = 1001; // not a multiple of the pattern: a ragged last run
	char *p = static_cast<char *>(
	        aml_area_mmap(&area.base, n * Page(), nullptr));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	std::vector<int> ids = Placed(p, n);
	size_t on[2] = {0, 0};
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ(ids[i], i % 4 < 3 ? 0 : 1) << "page " << i;
		on[ids[i]]++;
	}
	// 3:1 within one run.
	EXPECT_LE(on[0] > 3 * on[1] ? on[0] - 3 * on[1] : 3 * on[1] - on[0],
	          3u);
	// Runs are placements, not migrations.
	struct aml_emu_stats s;
	aml_emu_stats(t, 1, &s);
	EXPECT_EQ(s.pages_moved_in, 0u);
	EXPECT_EQ(aml_area_munmap(&area.base, p, n * Page()), 0);
	aml_area_device_fini(&area);
}

TEST_F(AreaEmulated, FirstTouchIsTheMappingThreadsDevice)
{
	Make("qemu-3node;scale=1/64");
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, t, nullptr, 0,
	                               AML_AREA_FIRST_TOUCH, nullptr),
	          0);
	char *p = static_cast<char *>(
	        aml_area_mmap(&area.base, 8 * Page(), nullptr));
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(Placed(p, 8), std::vector<int>(8, 0)); // node0 has the CPUs
	EXPECT_EQ(aml_area_munmap(&area.base, p, 8 * Page()), 0);
	aml_area_device_fini(&area);
}

TEST_F(AreaEmulated, AlignmentAndPartialUnmap)
{
	Make("knl-flat;scale=1/64");
	const struct aml_device *ddr = Dev(0);
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(
	        aml_area_device_init(&area, t, &ddr, 1, AML_AREA_BIND, nullptr),
	        0);
	struct aml_area_mmap_options opts = {2 << 20, false, AML_PAGE_DEFAULT};
	char *p = static_cast<char *>(
	        aml_area_mmap(&area.base, 3 * Page(), &opts));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ((uintptr_t)p % (2 << 20), 0u);
	std::memset(p, 1, 3 * Page());
	struct aml_emu_stats s;
	aml_emu_stats(t, 0, &s);
	EXPECT_EQ(s.pages, 3u); // the over-mapped head and tail went back
	EXPECT_EQ(aml_area_munmap(&area.base, p + Page(), Page()), 0);
	EXPECT_EQ(aml_area_munmap(&area.base, p, Page()), 0);
	EXPECT_EQ(aml_area_munmap(&area.base, p + 2 * Page(), Page()), 0);
	aml_area_device_fini(&area);
}

TEST_F(AreaEmulated, PrintDescribesTheArea)
{
	Make("knl-flat");
	const struct aml_device *two[2] = {Dev(0), Dev(1)};
	const unsigned weights[2] = {3, 1};
	struct aml_area *area = nullptr;
	ASSERT_EQ(aml_area_device_create(&area, t, two, 2,
	                                 AML_AREA_WEIGHTED_INTERLEAVE, weights),
	          0);
	char *buf = nullptr;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	ASSERT_EQ(aml_area_print(area, out, "> "), 0);
	fclose(out);
	EXPECT_EQ(std::string(buf, len),
	          "> device area: weighted-interleave over ddr4:3,mcdram:1\n");
	free(buf);
	aml_area_device_destroy(&area);
	EXPECT_EQ(area, nullptr);
}

// ---- Several threads on one area (area.h: every function is thread-safe).

// Two threads map, write and unmap one page at a time on one area. The
// kernel, or the emulator, hands a thread back the address another has just
// unmapped, so a map must never find that address still recorded (issue
// #13: 370 false AML_EINVAL in 400 000 maps on an emulated device). Returns
// the maps and unmaps that failed, with the first error seen.
std::string MapUnmapFromTwoThreads(const struct aml_area *area, int rounds)
{
	std::atomic<int> failures{0}, first{0};
	auto work = [&](char fill) {
		for (int i = 0; i < rounds; i++) {
			char *p = static_cast<char *>(
			        aml_area_mmap(area, Page(), nullptr));
			int err = p == nullptr ? aml_errno : 0;
			if (p != nullptr) {
				p[0] = fill;
				err = p[0] == fill
				              ? aml_area_munmap(area, p, Page())
				              : AML_FAILURE;
			}
			if (err != 0) {
				failures++;
				int none = 0;
				first.compare_exchange_strong(none, err);
			}
		}
	};
	std::thread a(work, 'a'), b(work, 'b');
	a.join();
	b.join();
	if (failures == 0)
		return "";
	return std::to_string(failures.load()) + " failed, first " +
	       aml_errname(first.load());
}

TEST_F(AreaEmulated, TwoThreadsMapAndUnmapOneAreaWithoutFalseErrors)
{
	Make("knl-flat;scale=1/64");
	const struct aml_device *ddr = Dev(0);
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(
	        aml_area_device_init(&area, t, &ddr, 1, AML_AREA_BIND, nullptr),
	        0);
	EXPECT_EQ(MapUnmapFromTwoThreads(&area.base, 10000), "");
	aml_area_device_fini(&area);
	// Over a set of devices, the topology's record is a second one.
	const struct aml_device *both[2] = {Dev(0), Dev(1)};
	ASSERT_EQ(aml_area_device_init(&area, t, both, 2, AML_AREA_INTERLEAVE,
	                               nullptr),
	          0);
	EXPECT_EQ(MapUnmapFromTwoThreads(&area.base, 10000), "");
	aml_area_device_fini(&area);
}

// ---- On this machine's numa backend.

class AreaNuma : public aml_testing::Node0
{
};

TEST_F(AreaNuma, EveryPolicyOverNode0PlacesOnNode0)
{
	const unsigned weight = 3;
	struct {
		enum aml_area_policy policy;
		size_t n;
		const unsigned *weights;
	} cases[] = {{AML_AREA_BIND, 1, nullptr},
	             {AML_AREA_PREFERRED, 1, nullptr},
	             {AML_AREA_INTERLEAVE, 1, nullptr},
	             {AML_AREA_WEIGHTED_INTERLEAVE, 1, &weight},
	             {AML_AREA_FIRST_TOUCH, 0, nullptr}};
	for (const auto &c : cases) {
		AML_AREA_DEVICE_DECL(area);
		ASSERT_EQ(aml_area_device_init(&area, t, &node0, c.n, c.policy,
		                               c.weights),
		          0)
		        << c.policy;
		size_t size = 16 * Page();
		char *p = static_cast<char *>(
		        aml_area_mmap(&area.base, size, nullptr));
		ASSERT_NE(p, nullptr)
		        << c.policy << ": " << aml_errname(aml_errno);
		std::memset(p, 1, size);
		int ids[16];
		ASSERT_EQ(aml_topology_locate(t, p, 16, ids), 0);
		for (int id : ids)
			EXPECT_EQ(id, (int)index) << c.policy;
		EXPECT_EQ(aml_area_munmap(&area.base, p, size), 0);
		aml_area_device_fini(&area);
	}
}

TEST_F(AreaNuma, TwoThreadsMapAndUnmapOneAreaWithoutFalseErrors)
{
	// One device under BIND maps through the device, PREFERRED through
	// the topology: both records.
	for (enum aml_area_policy policy :
	     {AML_AREA_BIND, AML_AREA_PREFERRED}) {
		AML_AREA_DEVICE_DECL(area);
		ASSERT_EQ(aml_area_device_init(&area, t, &node0, 1, policy,
		                               nullptr),
		          0);
		EXPECT_EQ(MapUnmapFromTwoThreads(&area.base, 5000), "")
		        << policy;
		aml_area_device_fini(&area);
	}
}

// A device written here: it hands out ranges one page past an alignment
// of 64 KiB, so that an aligned map has both a head and a tail to trim,
// and refuses to release a tail for lack of memory. It records its ranges
// to tell what is left mapped; the memory is a reservation it keeps.
class TailRefusingDevice
{
      public:
	static constexpr size_t kAlign = 64 << 10;
	TailRefusingDevice()
	{
		reserve_ = static_cast<char *>(
		        mmap(nullptr, kReserve, PROT_READ | PROT_WRITE,
		             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
		dev_.ops = &ops_;
		dev_.data = this;
		dev_.numa_id = -1;
	}
	~TailRefusingDevice()
	{
		munmap(reserve_, kReserve);
	}
	const struct aml_device *Device() const
	{
		return &dev_;
	}
	const std::map<uintptr_t, uintptr_t> &Live() const
	{
		return live_;
	}

      private:
	static constexpr size_t kReserve = 1 << 20;
	static void *Map(const struct aml_device *dev, size_t size)
	{
		auto *self = static_cast<TailRefusingDevice *>(dev->data);
		uintptr_t a = ((uintptr_t)self->reserve_ + kAlign - 1) &
		              ~(uintptr_t)(kAlign - 1);
		uintptr_t p = a + kAlign - Page(); // head: one page
		if (p + size > (uintptr_t)self->reserve_ + kReserve) {
			aml_errno = AML_ENOMEM;
			return nullptr;
		}
		self->live_[p] = p + size;
		return (void *)p;
	}
	static int Unmap(const struct aml_device *dev, void *ptr, size_t size)
	{
		auto *self = static_cast<TailRefusingDevice *>(dev->data);
		uintptr_t s = (uintptr_t)ptr, e = s + size;
		auto it = self->live_.upper_bound(s);
		if (it == self->live_.begin())
			return AML_EINVAL;
		--it;
		uintptr_t rs = it->first, re = it->second;
		if (s < rs || e > re)
			return AML_EINVAL;
		if (s > rs && e == re)
			return AML_ENOMEM; // a tail: refused
		self->live_.erase(it);
		if (rs < s)
			self->live_[rs] = s;
		if (e < re)
			self->live_[e] = re;
		return 0;
	}
	static constexpr struct aml_device_ops ops_ = {.map = Map,
	                                               .unmap = Unmap,
	                                               .move = nullptr,
	                                               .free_bytes = nullptr,
	                                               .unmaps_whole_only =
	                                                       false};
	struct aml_device dev_ = {};
	char *reserve_;
	std::map<uintptr_t, uintptr_t> live_;
};

// An aligned map whose tail cannot be given back fails with what the
// device said, and leaves nothing mapped: it used to say AML_ENOTSUP and
// release the whole over-mapped range, head included, which the device
// refused (the head was gone), so the rest stayed mapped for good.
TEST(AreaDevice, AnAlignedMapWhoseTrimFailsLeavesNothingMapped)
{
	TailRefusingDevice fake;
	const struct aml_device *dev = fake.Device();
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, nullptr, &dev, 1, AML_AREA_BIND,
	                               nullptr),
	          0);
	struct aml_area_mmap_options opts = {TailRefusingDevice::kAlign, false,
	                                     AML_PAGE_DEFAULT};
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&area.base, 2 * Page(), &opts), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_TRUE(fake.Live().empty())
	        << fake.Live().size() << " range(s) left mapped";
	aml_area_device_fini(&area);
}

TEST(AreaMemkind, BindToAMemkindKindWithoutTopology)
{
	const struct aml_device *kind =
	        aml_memkind_device(AML_MEMKIND_HIGHEST_CAPACITY);
	if (kind == nullptr)
		GTEST_SKIP() << "no memkind: " << aml_errname(aml_errno);
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, nullptr, &kind, 1, AML_AREA_BIND,
	                               nullptr),
	          0);
	char *p = static_cast<char *>(
	        aml_area_mmap(&area.base, 8 * Page(), nullptr));
	ASSERT_NE(p, nullptr);
	std::memset(p, 2, 8 * Page());
	// memkind frees whole allocations: a part is refused, untouched.
	EXPECT_EQ(aml_area_munmap(&area.base, p, Page()), AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(&area.base, p, 8 * Page()), 0);
	// ... and so aligned maps, which trim, are not supported.
	struct aml_area_mmap_options opts = {2 << 20, false, AML_PAGE_DEFAULT};
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&area.base, Page(), &opts), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOTSUP);
	aml_area_device_fini(&area);
}

// ---- Bad input.

TEST_F(AreaEmulated, InitBadInputTable)
{
	Make("qemu-3node");
	struct aml_topology *other = nullptr;
	ASSERT_EQ(aml_emu_create(&other, "single", nullptr), 0);
	const struct aml_device *d0 = Dev(0), *d1 = Dev(1);
	const struct aml_device *foreign = aml_topology_device(other, 0);
	const struct aml_device *pair[2] = {d0, d1};
	const struct aml_device *twice[2] = {d0, d0};
	const struct aml_device *with_null[2] = {d0, nullptr};
	const struct aml_device *many[AML_AREA_DEVICE_MAX + 1];
	for (auto &m : many)
		m = d0;
	const unsigned weights[2] = {3, 1}, zero[2] = {3, 0};
	struct Case {
		const char *what;
		const struct aml_topology *t;
		const struct aml_device *const *devices;
		size_t n;
		int policy;
		const unsigned *weights;
	} cases[] = {
	        {"no devices", t, pair, 0, AML_AREA_BIND, nullptr},
	        {"NULL devices", t, nullptr, 1, AML_AREA_BIND, nullptr},
	        {"too many", t, many, AML_AREA_DEVICE_MAX + 1, AML_AREA_BIND,
	         nullptr},
	        {"a NULL device", t, with_null, 2, AML_AREA_BIND, nullptr},
	        {"a device twice", t, twice, 2, AML_AREA_INTERLEAVE, nullptr},
	        {"not in the topology", t, &foreign, 1, AML_AREA_INTERLEAVE,
	         nullptr},
	        {"a set without topology", nullptr, pair, 2, AML_AREA_BIND,
	         nullptr},
	        {"preferred without topology", nullptr, pair, 1,
	         AML_AREA_PREFERRED, nullptr},
	        {"unknown policy", t, pair, 1, AML_AREA_POLICY_COUNT, nullptr},
	        {"negative policy", t, pair, 1, -1, nullptr},
	        {"preferred over two", t, pair, 2, AML_AREA_PREFERRED, nullptr},
	        {"weights missing", t, pair, 2, AML_AREA_WEIGHTED_INTERLEAVE,
	         nullptr},
	        {"a zero weight", t, pair, 2, AML_AREA_WEIGHTED_INTERLEAVE,
	         zero},
	        {"weights for bind", t, pair, 2, AML_AREA_BIND, weights},
	        {"first touch with devices", t, pair, 1, AML_AREA_FIRST_TOUCH,
	         nullptr},
	};
	for (const Case &c : cases) {
		AML_AREA_DEVICE_DECL(area);
		std::memset(&area, 0x5a, sizeof(area));
		EXPECT_EQ(aml_area_device_init(&area, c.t, c.devices, c.n,
		                               (enum aml_area_policy)c.policy,
		                               c.weights),
		          AML_EINVAL)
		        << c.what;
		EXPECT_EQ(reinterpret_cast<unsigned char *>(&area)[0], 0x5a)
		        << c.what << ": storage touched";
		struct aml_area *out = reinterpret_cast<struct aml_area *>(1);
		EXPECT_EQ(aml_area_device_create(&out, c.t, c.devices, c.n,
		                                 (enum aml_area_policy)c.policy,
		                                 c.weights),
		          AML_EINVAL)
		        << c.what;
		EXPECT_EQ(out, nullptr) << c.what;
	}
	EXPECT_EQ(aml_area_device_init(nullptr, t, pair, 1, AML_AREA_BIND,
	                               nullptr),
	          AML_EINVAL);
	EXPECT_EQ(aml_area_device_create(nullptr, t, pair, 1, AML_AREA_BIND,
	                                 nullptr),
	          AML_EINVAL);
	aml_area_device_fini(nullptr);
	aml_area_device_destroy(nullptr);
	struct aml_area *null_area = nullptr;
	aml_area_device_destroy(&null_area);
	aml_topology_destroy(&other);
}

// The generic functions with an implementation that lacks an op: a map is
// AML_EINVAL, a print AML_ENOTSUP. Bad arguments to real areas are checked
// on every kind of area by area_contract_test.
TEST(Area, AnImplementationWithoutOpsIsRefused)
{
	const struct aml_area_ops no_ops = {};
	struct aml_area broken = {&no_ops, nullptr};
	aml_errno = 0;
	EXPECT_EQ(aml_area_mmap(&broken, Page(), nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	std::vector<char> heap(2 * Page());
	char *page = reinterpret_cast<char *>(
	        ((uintptr_t)heap.data() + Page() - 1) & ~(Page() - 1));
	EXPECT_EQ(aml_area_munmap(&broken, page, Page()), AML_EINVAL);
	EXPECT_EQ(aml_area_print(&broken, stdout, ""), AML_ENOTSUP);
}

// After fini the handle is invalid (area_contract_test checks its
// AML_EINVAL on every kind of area); nothing it mapped is left placed, a
// second fini is harmless, and init makes the storage usable again.
TEST_F(AreaEmulated, FiniLeavesNothingAndInitReusesTheStorage)
{
	Make("single;scale=1/1024");
	const struct aml_device *dram = Dev(0);
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(aml_area_device_init(&area, t, &dram, 1, AML_AREA_BIND,
	                               nullptr),
	          0);
	char *p =
	        static_cast<char *>(aml_area_mmap(&area.base, Page(), nullptr));
	ASSERT_NE(p, nullptr);
	ASSERT_EQ(aml_area_munmap(&area.base, p, Page()), 0);
	aml_area_device_fini(&area);
	EXPECT_EQ(aml_area_mmap(&area.base, Page(), nullptr), nullptr);
	struct aml_emu_stats s = {};
	ASSERT_EQ(aml_emu_stats(t, 0, &s), 0);
	EXPECT_EQ(s.pages, 0u);
	aml_area_device_fini(&area); // twice is harmless
	ASSERT_EQ(aml_area_device_init(&area, t, &dram, 1, AML_AREA_BIND,
	                               nullptr),
	          0);
	p = static_cast<char *>(aml_area_mmap(&area.base, Page(), nullptr));
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(aml_area_munmap(&area.base, p, Page()), 0);
	aml_area_device_fini(&area);
}

struct HoldsAnArea {
	int before;
	AML_AREA_DEVICE_DECL(area);
	int after;
};

TEST_F(AreaEmulated, DeclWorksInsideAStruct)
{
	Make("single;scale=1/1024");
	const struct aml_device *dram = Dev(0);
	HoldsAnArea h = {1, {}, 2};
	ASSERT_EQ(aml_area_device_init(&h.area, t, &dram, 1, AML_AREA_BIND,
	                               nullptr),
	          0);
	void *p = aml_area_mmap(&h.area.base, Page(), nullptr);
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(aml_area_munmap(&h.area.base, p, Page()), 0);
	aml_area_device_fini(&h.area);
	EXPECT_EQ(h.before, 1);
	EXPECT_EQ(h.after, 2);
}

} // namespace
