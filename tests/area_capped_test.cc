// SPDX-License-Identifier: BSD-3-Clause
// The capped area (aml/area/capped.h) over emulated MCDRAM: the cap holds
// for maps, for an arena over it and for two threads at once; a refused map
// maps nothing and says why; statistics and the report of live mappings;
// destroy unmaps what is left; bad input.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/capped.h>
#include <aml/area/device.h>
#include <aml/arena/scalable.h>

namespace
{

constexpr size_t kKiB = 1024;

struct Capped {
	struct aml_topology *t = nullptr;
	AML_AREA_DEVICE_DECL(mcdram);
	struct aml_area *area = nullptr;
	explicit Capped(size_t cap)
	{
		EXPECT_EQ(aml_emu_create(&t, "knl-flat;scale=1/64", nullptr),
		          0);
		const struct aml_device *dev = aml_topology_device(t, 1);
		EXPECT_EQ(aml_area_device_init(&mcdram, t, &dev, 1,
		                               AML_POLICY_BIND, nullptr),
		          0);
		EXPECT_EQ(aml_area_capped_create(&area, &mcdram.base, cap, t),
		          0);
	}
	~Capped()
	{
		aml_area_capped_destroy(&area);
		aml_area_device_fini(&mcdram);
		aml_topology_destroy(&t);
	}
	struct aml_area_capped_stats Stats() const
	{
		struct aml_area_capped_stats s = {};
		EXPECT_EQ(aml_area_capped_stats(area, &s), 0);
		return s;
	}
	size_t PagesOnMcdram() const
	{
		struct aml_emu_stats s = {};
		EXPECT_EQ(aml_emu_stats(t, 1, &s), 0);
		return s.pages;
	}
};

TEST(AreaCapped, RefusesPastTheCapAndSaysWhy)
{
	Capped c(1024 * kKiB);
	void *a = aml_area_mmap(c.area, 512 * kKiB, nullptr);
	void *b = aml_area_mmap(c.area, 512 * kKiB, nullptr);
	ASSERT_NE(a, nullptr);
	ASSERT_NE(b, nullptr);
	EXPECT_EQ(aml_area_mmap(c.area, 1, nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	char detail[AML_ERROR_DETAIL_MAX];
	EXPECT_EQ(aml_error_detail(detail, sizeof(detail)), AML_ENOMEM);
	EXPECT_STREQ(detail,
	             "cap of 1048576 bytes: 1048576 mapped, 4096 more asked");
	struct aml_area_capped_stats s = c.Stats();
	EXPECT_EQ(s.cap_bytes, 1024 * kKiB);
	EXPECT_EQ(s.mapped_bytes, 1024 * kKiB);
	EXPECT_EQ(s.peak_mapped_bytes, 1024 * kKiB);
	EXPECT_EQ(s.mappings, 2u);
	EXPECT_EQ(s.maps, 2u);
	EXPECT_EQ(s.refused_maps, 1u);
	// Half of one back: room for half again.
	EXPECT_EQ(aml_area_munmap(c.area, b, 256 * kKiB), 0);
	EXPECT_EQ(c.Stats().mapped_bytes, 768 * kKiB);
	void *d = aml_area_mmap(c.area, 256 * kKiB, nullptr);
	ASSERT_NE(d, nullptr);
	EXPECT_EQ(c.Stats().mappings, 3u);
	// A range it did not map is refused, and changes nothing.
	int x;
	EXPECT_EQ(aml_area_munmap(c.area, &x, 4096), AML_EINVAL);
	EXPECT_EQ(c.Stats().mapped_bytes, 1024 * kKiB);
	EXPECT_EQ(aml_area_munmap(c.area, a, 512 * kKiB), 0);
	EXPECT_EQ(aml_area_munmap(c.area, static_cast<char *>(b) + 256 * kKiB,
	                          256 * kKiB),
	          0);
	EXPECT_EQ(aml_area_munmap(c.area, d, 256 * kKiB), 0);
	EXPECT_EQ(c.Stats().mapped_bytes, 0u);
	EXPECT_EQ(c.Stats().peak_mapped_bytes, 1024 * kKiB);
}

TEST(AreaCapped, ReportListsLiveMappingsAndTheirDevice)
{
	Capped c(1024 * kKiB);
	char *touched =
	        static_cast<char *>(aml_area_mmap(c.area, 8192, nullptr));
	void *untouched = aml_area_mmap(c.area, 4096, nullptr);
	ASSERT_NE(touched, nullptr);
	ASSERT_NE(untouched, nullptr);
	touched[0] = 1;
	char *text = nullptr;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	ASSERT_EQ(aml_area_capped_report(c.area, out), 0);
	fclose(out);
	std::string report(text);
	free(text);
	EXPECT_NE(report.find("capped area: 12288 of 1048576 bytes mapped "
	                      "(peak 12288), 2 mappings, 2 maps, 0 refused"),
	          std::string::npos)
	        << report;
	char line[64];
	snprintf(line, sizeof(line), "%#zx 8192 bytes on mcdram (device 1)",
	         (size_t)touched);
	EXPECT_NE(report.find(line), std::string::npos) << report;
	// Where the emulator places pages at map time (under valgrind, which
	// has no userfaultfd), an untouched page is placed already.
	if (aml_emu_places_at_touch(c.t) == 1)
		snprintf(line, sizeof(line), "%#zx 4096 bytes untouched",
		         (size_t)untouched);
	else
		snprintf(line, sizeof(line),
		         "%#zx 4096 bytes on mcdram (device 1)",
		         (size_t)untouched);
	EXPECT_NE(report.find(line), std::string::npos) << report;
}

TEST(AreaCapped, AnArenaOverItServesAtMostTheCap)
{
	Capped c(1024 * kKiB);
	struct aml_arena *arena = nullptr;
	ASSERT_EQ(aml_arena_scalable_create(&arena, c.area), 0);
	std::vector<void *> blocks;
	size_t served = 0;
	for (int i = 0; i < 1000; i++) {
		void *p = aml_arena_malloc(arena, 4 * kKiB);
		if (p == nullptr)
			break;
		std::memset(p, 1, 4 * kKiB);
		blocks.push_back(p);
		served += 4 * kKiB;
	}
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_GT(served, 0u);
	EXPECT_LE(served, 1024 * kKiB);
	EXPECT_LE(c.Stats().mapped_bytes, 1024 * kKiB);
	EXPECT_GT(c.Stats().refused_maps, 0u);
	for (void *p : blocks)
		EXPECT_EQ(aml_arena_free(arena, p), 0);
	aml_arena_scalable_destroy(&arena);
	EXPECT_EQ(c.Stats().mapped_bytes, 0u);
}

TEST(AreaCapped, TwoThreadsNeverPassTheCapTogether)
{
	Capped c(1024 * kKiB);
	std::atomic<size_t> total{0};
	auto fill = [&] {
		while (aml_area_mmap(c.area, 64 * kKiB, nullptr) != nullptr)
			total += 64 * kKiB;
	};
	std::thread a(fill), b(fill);
	a.join();
	b.join();
	EXPECT_EQ(total.load(), 1024 * kKiB);
	EXPECT_EQ(c.Stats().mapped_bytes, 1024 * kKiB);
	EXPECT_EQ(c.Stats().mappings, 16u);
}

TEST(AreaCapped, DestroyUnmapsWhatIsLeft)
{
	Capped c(1024 * kKiB);
	char *p =
	        static_cast<char *>(aml_area_mmap(c.area, 64 * kKiB, nullptr));
	ASSERT_NE(p, nullptr);
	std::memset(p, 1, 64 * kKiB);
	EXPECT_EQ(c.PagesOnMcdram(), 16u);
	aml_area_capped_destroy(&c.area);
	EXPECT_EQ(c.area, nullptr);
	EXPECT_EQ(c.PagesOnMcdram(), 0u);
}

TEST(AreaCapped, BadInput)
{
	Capped c(100);
	struct aml_area *out = c.area;
	EXPECT_EQ(aml_area_capped_create(nullptr, c.area, 1, nullptr),
	          AML_EINVAL);
	EXPECT_EQ(aml_area_capped_create(&out, nullptr, 1, nullptr),
	          AML_EINVAL);
	EXPECT_EQ(out, nullptr);
	EXPECT_EQ(aml_area_capped_create(&out, c.area, 0, nullptr), AML_EINVAL);
	struct aml_area_capped_stats s;
	EXPECT_EQ(aml_area_capped_stats(&c.mcdram.base, &s), AML_EINVAL);
	EXPECT_EQ(aml_area_capped_stats(c.area, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_area_capped_report(c.area, nullptr), AML_EINVAL);
	struct aml_area *other = &c.mcdram.base;
	aml_area_capped_destroy(&other);
	EXPECT_EQ(other, &c.mcdram.base);
	aml_area_capped_destroy(nullptr);
	// A cap below a page: every map refused.
	EXPECT_EQ(aml_area_mmap(c.area, 1, nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
}

} // namespace
