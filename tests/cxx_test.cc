// SPDX-License-Identifier: BSD-3-Clause
// aml.hpp on AML_EMULATE's knl-flat (set by the BUILD target): owners
// destroy what they made and move without double frees, constructors throw
// aml::error with the code, and std::vector keeps its elements in MCDRAM
// through aml::fast_allocator.
#include <algorithm>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <aml.hpp>

namespace
{

int Mcdram(const struct aml_topology *t)
{
	for (int i = 0; i < aml_topology_ndevices(t); i++) {
		if (aml_topology_device(t, (size_t)i)->kind == AML_DEVICE_HBM)
			return i;
	}
	return -1;
}

TEST(Cxx, VectorOnFastMemory)
{
	const struct aml_topology *t = aml_topology_default();
	ASSERT_NE(t, nullptr);
	std::vector<double, aml::fast_allocator<double>> v(1 << 16, 1.5);
	EXPECT_EQ(aml_fast_locate(v.data()), Mcdram(t));
	v.resize(1 << 18, 2.5);
	EXPECT_EQ(v[0], 1.5);
	EXPECT_EQ(v.back(), 2.5);
	EXPECT_EQ(aml_fast_locate(v.data() + v.size() - 1), Mcdram(t));
	// Rebinding: a node-based container.
	std::map<int, int, std::less<int>,
	         aml::fast_allocator<std::pair<const int, int>>>
	        m;
	for (int i = 0; i < 100; i++)
		m[i] = i * i;
	EXPECT_EQ(m[9], 81);
	struct alignas(256) Wide {
		char bytes[256];
	};
	std::vector<Wide, aml::fast_allocator<Wide>> w(3);
	EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data()) % 256, 0u);
	aml::fast_allocator<char> a;
	EXPECT_THROW(a.allocate(SIZE_MAX), std::bad_alloc);
	EXPECT_TRUE(a == aml::fast_allocator<int>());
}

TEST(Cxx, OwnersMakeMoveAndDestroy)
{
	const struct aml_topology *t = aml_topology_default();
	const struct aml_device *mcdram =
	        aml_topology_device(t, (size_t)Mcdram(t));
	aml::area hbm(t, {mcdram}, AML_POLICY_BIND);
	ASSERT_TRUE(hbm);
	aml::arena a = aml::arena::scalable(hbm);
	void *p = aml_arena_malloc(a.get(), 1000);
	ASSERT_NE(p, nullptr);
	std::memset(p, 3, 1000);
	int where = -1;
	ASSERT_EQ(
	        aml_topology_locate(t,
	                            reinterpret_cast<void *>(
	                                    reinterpret_cast<uintptr_t>(p) &
	                                    ~(uintptr_t)(aml_page_size() - 1)),
	                            1, &where),
	        0);
	EXPECT_EQ(where, Mcdram(t));
	aml::arena moved = std::move(a);
	EXPECT_EQ(a.get(), nullptr);
	EXPECT_EQ(aml_arena_free(moved.get(), p), 0);
	aml::arena safe = aml::arena::thread_safe(hbm);
	moved = std::move(safe);
	EXPECT_NE(moved.get(), nullptr);

	aml::dma seq = aml::dma::seq(t);
	aml::dma par = aml::dma::par(t);
	std::vector<char> src(100000, 7), dst(100000);
	EXPECT_EQ(par.copy(dst.data(), src.data(), src.size()), 0);
	EXPECT_EQ(dst, src);
	{
		// Copies spread 1:2 over the two engines, which outlive it.
		aml::dma spread = aml::dma::multiplex({&seq, &par}, {1, 2});
		std::fill(dst.begin(), dst.end(), 0);
		for (int i = 0; i < 3; i++)
			EXPECT_EQ(
			        spread.copy(dst.data(), src.data(), src.size()),
			        0);
		EXPECT_EQ(dst, src);
		EXPECT_THROW(aml::dma::multiplex({&seq, &par}, {1}),
		             aml::error);
		EXPECT_THROW(aml::dma::multiplex({&seq, &seq}), aml::error);
	}
	seq = std::move(par);
	EXPECT_EQ(par.get(), nullptr);
	EXPECT_EQ(seq.copy(dst.data(), src.data(), 10), 0);

	aml::fast_memory fast(t, AML_FAST_BIND);
	void *f = aml_fast_memory_malloc(fast.get(), 64);
	ASSERT_NE(f, nullptr);
	EXPECT_EQ(aml_fast_memory_free(fast.get(), f), 0);
}

TEST(Cxx, ConstructorsThrowTheCode)
{
	const struct aml_topology *t = aml_topology_default();
	try {
		aml::area none(t, {}, AML_POLICY_BIND);
		FAIL() << "an area over no device was made";
	} catch (const aml::error &e) {
		EXPECT_EQ(e.code(), AML_EINVAL);
		EXPECT_NE(std::string(e.what()).find("aml_area_device_create"),
		          std::string::npos);
	}
	struct aml_topology *one = nullptr;
	ASSERT_EQ(aml_emu_create(&one, "single", nullptr), 0);
	try {
		aml::fast_memory f(one, AML_FAST_BIND);
		FAIL() << "fast memory bound on a machine without any";
	} catch (const aml::error &e) {
		EXPECT_EQ(e.code(), AML_ENODEV);
	}
	aml_topology_destroy(&one);
	struct aml_dma_par_options too_many = {};
	too_many.nworkers = AML_DMA_PAR_WORKERS_MAX + 1;
	EXPECT_THROW(aml::dma::par(t, &too_many), aml::error);
}

} // namespace
