// SPDX-License-Identifier: BSD-3-Clause
// Devices over memkind's kinds (<aml/device/memkind.h>). The target sets
// MEMKIND_HBW_NODES=0, so memkind treats node 0 of this machine as
// high-bandwidth memory and every kind but DAX_KMEM is available.
#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/device.h>
#include <aml/device/memkind.h>
#include <aml/topology.h>

namespace
{

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;

// The kinds MEMKIND_HBW_NODES=0 makes available on any machine.
constexpr enum aml_memkind_kind kUsableKinds[] = {
        AML_MEMKIND_HBW,
        AML_MEMKIND_HBW_PREFERRED,
        AML_MEMKIND_HIGHEST_CAPACITY,
};

// Fill [ptr, ptr + size) with a pattern that depends on the offset and seed.
void fill(void *ptr, size_t size, uint64_t seed)
{
	auto *words = static_cast<uint64_t *>(ptr);
	for (size_t i = 0; i < size / sizeof(uint64_t); i++)
		words[i] = seed ^ (i * 0x9e3779b97f4a7c15ull);
}

// Whether fill(ptr, size, seed) is still there.
bool holds(const void *ptr, size_t size, uint64_t seed)
{
	const auto *words = static_cast<const uint64_t *>(ptr);
	for (size_t i = 0; i < size / sizeof(uint64_t); i++) {
		if (words[i] != (seed ^ (i * 0x9e3779b97f4a7c15ull)))
			return false;
	}
	return true;
}

const struct aml_device *device(enum aml_memkind_kind kind)
{
	const struct aml_device *dev = aml_memkind_device(kind);
	EXPECT_NE(dev, nullptr)
	        << "kind " << kind << ": " << aml_errname(aml_errno);
	return dev;
}

// Every test: skips when aml was built without memkind
// (--config=no_memkind), where memkind_device_absent_test covers the API.
class MemkindDevice : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		if (aml_backend_is_built(AML_BACKEND_MEMKIND) != 1)
			GTEST_SKIP() << "aml built without memkind";
	}
};

TEST_F(MemkindDevice, UsableKindsHaveTheDocumentedAttributes)
{
	struct {
		enum aml_memkind_kind kind;
		const char *name;
		enum aml_device_kind device_kind;
	} expected[] = {
	        {AML_MEMKIND_HBW, "memkind:hbw", AML_DEVICE_HBM},
	        {AML_MEMKIND_HBW_PREFERRED, "memkind:hbw_preferred",
	         AML_DEVICE_HBM},
	        {AML_MEMKIND_HIGHEST_CAPACITY, "memkind:highest_capacity",
	         AML_DEVICE_DRAM},
	};
	for (const auto &e : expected) {
		SCOPED_TRACE(e.name);
		const struct aml_device *dev = device(e.kind);
		ASSERT_NE(dev, nullptr);
		EXPECT_STREQ(dev->name, e.name);
		EXPECT_EQ(dev->kind, e.device_kind);
		EXPECT_EQ(dev->backend, AML_BACKEND_MEMKIND);
		EXPECT_EQ(dev->numa_id, -1);
		EXPECT_EQ(aml_bitmap_count(&dev->cpus), 0);
		EXPECT_EQ(dev->ninitiators, 0u);
		EXPECT_NE(dev->ops, nullptr);
	}
}

TEST_F(MemkindDevice, CapacityIsNodeZerosWhenMemkindKnowsIt)
{
	// memkind sums the nodes a kind allocates from; with node 0 as HBM
	// both kinds see all of node 0. HBW_PREFERRED has no capacity in
	// memkind (it answers -1), which aml reports as 0, "unknown".
	const struct aml_device *hbw = device(AML_MEMKIND_HBW);
	const struct aml_device *big = device(AML_MEMKIND_HIGHEST_CAPACITY);
	ASSERT_NE(hbw, nullptr);
	ASSERT_NE(big, nullptr);
	EXPECT_GT(hbw->capacity, 0u);
	EXPECT_EQ(hbw->capacity, big->capacity);
}

TEST_F(MemkindDevice, EveryRequestGivesTheSameDevice)
{
	for (auto kind : kUsableKinds)
		EXPECT_EQ(aml_memkind_device(kind), aml_memkind_device(kind));
}

TEST_F(MemkindDevice, ThreadsAskingTogetherGetTheSameDevice)
{
	constexpr int kThreads = 8;
	const struct aml_device *seen[kThreads] = {};
	std::vector<std::thread> threads;
	// DAX_KMEM, which no earlier test asks for, so the threads race for
	// its first request; HIGHEST_CAPACITY where there is no DAX memory.
	for (int t = 0; t < kThreads; t++) {
		threads.emplace_back([&seen, t] {
			seen[t] = aml_memkind_device(AML_MEMKIND_DAX_KMEM);
			if (seen[t] == nullptr)
				seen[t] = aml_memkind_device(
				        AML_MEMKIND_HIGHEST_CAPACITY);
		});
	}
	for (auto &thread : threads)
		thread.join();
	for (int t = 1; t < kThreads; t++)
		EXPECT_EQ(seen[t], seen[0]);
	EXPECT_NE(seen[0], nullptr);
}

TEST_F(MemkindDevice, DaxKmemIsEitherNoDeviceOrPersistentMemory)
{
	aml_errno = 0;
	const struct aml_device *dev = aml_memkind_device(AML_MEMKIND_DAX_KMEM);
	if (dev == nullptr) {
		EXPECT_EQ(aml_errno, AML_ENODEV) << aml_errname(aml_errno);
		return;
	}
	EXPECT_STREQ(dev->name, "memkind:dax_kmem");
	EXPECT_EQ(dev->kind, AML_DEVICE_NVM);
	EXPECT_EQ(dev->backend, AML_BACKEND_MEMKIND);
}

TEST_F(MemkindDevice, UnknownKindIsInvalid)
{
	for (int kind : {-1, static_cast<int>(AML_MEMKIND_KIND_COUNT), 1000}) {
		aml_errno = 0;
		EXPECT_EQ(aml_memkind_device(
		                  static_cast<enum aml_memkind_kind>(kind)),
		          nullptr);
		EXPECT_EQ(aml_errno, AML_EINVAL)
		        << "kind " << kind << ": " << aml_errname(aml_errno);
	}
	// The real kinds are unaffected.
	EXPECT_NE(aml_memkind_device(AML_MEMKIND_HBW), nullptr);
}

TEST_F(MemkindDevice, MapsArePageAlignedUsableAndOnNodeZero)
{
	const struct aml_topology *topo = aml_topology_default();
	ASSERT_NE(topo, nullptr) << aml_errname(aml_errno);
	int node0 = aml_topology_index_of(topo,
	                                  aml_topology_device_of_node(topo, 0));
	ASSERT_GE(node0, 0) << aml_errname(node0);
	const size_t page = aml_page_size();

	for (auto kind : kUsableKinds) {
		const struct aml_device *dev = device(kind);
		ASSERT_NE(dev, nullptr);
		for (size_t size : {4 * kKiB, 2 * kMiB, 64 * kMiB}) {
			SCOPED_TRACE(std::string(dev->name) + ", " +
			             std::to_string(size) + " bytes");
			void *ptr = aml_device_map(dev, size);
			ASSERT_NE(ptr, nullptr) << aml_errname(aml_errno);
			EXPECT_EQ(reinterpret_cast<uintptr_t>(ptr) % page, 0u);

			fill(ptr, size, size);
			EXPECT_TRUE(holds(ptr, size, size));

			size_t npages = size / page;
			std::vector<int> ids(npages, 12345);
			ASSERT_EQ(aml_topology_locate(topo, ptr, npages,
			                              ids.data()),
			          0);
			size_t elsewhere = 0;
			for (int id : ids)
				elsewhere += id != node0;
			EXPECT_EQ(elsewhere, 0u) << "first page on " << ids[0]
			                         << " (" << aml_errname(ids[0])
			                         << "), expected " << node0;

			EXPECT_EQ(aml_device_unmap(dev, ptr, size), 0);
		}
	}
}

TEST_F(MemkindDevice, SizesAreRoundedUpToPages)
{
	const struct aml_device *dev = device(AML_MEMKIND_HBW);
	ASSERT_NE(dev, nullptr);
	const size_t page = aml_page_size();
	// One byte maps a whole page, and unmapping one byte releases it.
	auto *ptr = static_cast<unsigned char *>(aml_device_map(dev, 1));
	ASSERT_NE(ptr, nullptr) << aml_errname(aml_errno);
	ptr[0] = 1;
	ptr[page - 1] = 2;
	int err = aml_device_unmap(dev, ptr, 1);
	EXPECT_EQ(err, 0) << aml_errname(err);
}

// A live two-page mapping with a known content, for the error cases.
class MemkindDeviceMapping : public MemkindDevice
{
      protected:
	void SetUp() override
	{
		MemkindDevice::SetUp();
		if (IsSkipped())
			return;
		dev_ = aml_memkind_device(AML_MEMKIND_HBW);
		ASSERT_NE(dev_, nullptr) << aml_errname(aml_errno);
		page_ = aml_page_size();
		size_ = 2 * page_;
		ptr_ = aml_device_map(dev_, size_);
		ASSERT_NE(ptr_, nullptr) << aml_errname(aml_errno);
		fill(ptr_, size_, 42);
	}

	void TearDown() override
	{
		if (ptr_ == nullptr)
			return;
		// Nothing changed: the content is there and the mapping
		// still unmaps, exactly once.
		EXPECT_TRUE(holds(ptr_, size_, 42));
		int err = aml_device_unmap(dev_, ptr_, size_);
		EXPECT_EQ(err, 0) << aml_errname(err);
	}

	// Unmap [ptr, ptr + size) and expect AML_EINVAL.
	void expect_refused(void *ptr, size_t size)
	{
		int err = aml_device_unmap(dev_, ptr, size);
		EXPECT_EQ(err, AML_EINVAL) << aml_errname(err);
	}

	const struct aml_device *dev_ = nullptr;
	size_t page_ = 0;
	size_t size_ = 0;
	void *ptr_ = nullptr;
};

TEST_F(MemkindDeviceMapping, MapOfZeroOrOverflowingSizeIsInvalid)
{
	for (size_t size : {size_t{0}, SIZE_MAX, SIZE_MAX - page_ + 2}) {
		aml_errno = 0;
		EXPECT_EQ(aml_device_map(dev_, size), nullptr);
		EXPECT_EQ(aml_errno, AML_EINVAL)
		        << size << ": " << aml_errname(aml_errno);
	}
}

TEST_F(MemkindDeviceMapping, MapOfMoreThanTheMachineIsNoMemory)
{
	// More than any address space, yet no overflow: memkind's own
	// refusal, whatever the overcommit setting.
	aml_errno = 0;
	EXPECT_EQ(aml_device_map(dev_, size_t{1} << 62), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM) << aml_errname(aml_errno);
}

TEST_F(MemkindDeviceMapping, UnmapOfNullIsInvalid)
{
	expect_refused(nullptr, page_);
}

TEST_F(MemkindDeviceMapping, UnmapOfAnUnalignedPointerIsInvalid)
{
	expect_refused(static_cast<char *>(ptr_) + 1, size_);
}

TEST_F(MemkindDeviceMapping, UnmapOfZeroBytesIsInvalid)
{
	expect_refused(ptr_, 0);
}

TEST_F(MemkindDeviceMapping, UnmapOfAnMmapedPageIsInvalid)
{
	void *foreign = mmap(nullptr, page_, PROT_READ | PROT_WRITE,
	                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(foreign, MAP_FAILED);
	static_cast<char *>(foreign)[0] = 7;
	expect_refused(foreign, page_);
	// The foreign page is untouched too.
	EXPECT_EQ(static_cast<char *>(foreign)[0], 7);
	munmap(foreign, page_);
}

TEST_F(MemkindDeviceMapping, UnmapOfTheStackIsInvalid)
{
	volatile char buffer[64] = {1};
	auto stack = reinterpret_cast<uintptr_t>(&buffer[0]);
	expect_refused(reinterpret_cast<void *>(stack - stack % page_), page_);
	EXPECT_EQ(buffer[0], 1);
}

TEST_F(MemkindDeviceMapping, UnmapWithAWrongSizeIsInvalid)
{
	expect_refused(ptr_, page_);
	expect_refused(ptr_, 3 * page_);
}

TEST_F(MemkindDeviceMapping, UnmapOfTheSecondPageIsInvalid)
{
	expect_refused(static_cast<char *>(ptr_) + page_, page_);
}

TEST_F(MemkindDeviceMapping, UnmapOnAnotherKindIsInvalid)
{
	const struct aml_device *other =
	        aml_memkind_device(AML_MEMKIND_HIGHEST_CAPACITY);
	ASSERT_NE(other, nullptr) << aml_errname(aml_errno);
	int err = aml_device_unmap(other, ptr_, size_);
	EXPECT_EQ(err, AML_EINVAL) << aml_errname(err);
}

TEST_F(MemkindDeviceMapping, SecondUnmapIsInvalid)
{
	int err = aml_device_unmap(dev_, ptr_, size_);
	ASSERT_EQ(err, 0) << aml_errname(err);
	// The same range again: refused, so memkind never frees it twice.
	expect_refused(ptr_, size_);
	ptr_ = nullptr;
}

TEST_F(MemkindDeviceMapping, MoveIsNotSupported)
{
	int err = aml_device_move(dev_, ptr_, size_);
	EXPECT_EQ(err, AML_ENOTSUP) << aml_errname(err);
}

TEST_F(MemkindDeviceMapping, FreeBytesIsNotSupported)
{
	size_t free_bytes = 12345;
	int err = aml_device_free_bytes(dev_, &free_bytes);
	EXPECT_EQ(err, AML_ENOTSUP) << aml_errname(err);
	EXPECT_EQ(free_bytes, 12345u);
}

TEST_F(MemkindDevice, ThreadsMapAndUnmapConcurrently)
{
	constexpr int kThreads = 4;
	constexpr int kRounds = 200;
	const struct aml_device *devs[] = {
	        device(AML_MEMKIND_HBW),
	        device(AML_MEMKIND_HIGHEST_CAPACITY),
	};
	ASSERT_NE(devs[0], nullptr);
	ASSERT_NE(devs[1], nullptr);
	const size_t page = aml_page_size();
	std::atomic<int> failures{0};

	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; t++) {
		threads.emplace_back([&, t] {
			// Keep a few maps live at once so ranges interleave.
			void *live[4] = {};
			size_t sizes[4] = {};
			for (int r = 0; r < kRounds; r++) {
				const struct aml_device *dev = devs[r % 2];
				int slot = r % 4;
				if (live[slot] != nullptr) {
					const struct aml_device *owner =
					        devs[(r - 4) % 2];
					uint64_t seed = uint64_t(t) << 32 |
					                uint64_t(r - 4);
					if (!holds(live[slot], sizes[slot],
					           seed) ||
					    aml_device_unmap(owner, live[slot],
					                     sizes[slot]) != 0)
						failures++;
				}
				sizes[slot] = page * (1 + (t + r) % 16);
				live[slot] = aml_device_map(dev, sizes[slot]);
				if (live[slot] == nullptr) {
					failures++;
					continue;
				}
				fill(live[slot], sizes[slot],
				     uint64_t(t) << 32 | uint64_t(r));
			}
			for (int slot = 0; slot < 4; slot++) {
				int r = kRounds - 4 + slot;
				if (live[slot] != nullptr &&
				    aml_device_unmap(devs[r % 2], live[slot],
				                     sizes[slot]) != 0)
					failures++;
			}
		});
	}
	for (auto &thread : threads)
		thread.join();
	EXPECT_EQ(failures.load(), 0);
}

} // namespace
