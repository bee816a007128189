// SPDX-License-Identifier: BSD-3-Clause
// The dma engines' byte copy for copies larger than the cache
// (aml/src/dma/copy_large.h): the streaming kernel copies every byte for
// any alignment and size and writes nothing else; the copy of a run takes
// the streaming path by the whole copy's size; and the sizes derived from
// the caches follow their rule for given caches, on any machine.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "aml/src/dma/copy_large.h"
#include "aml/src/os.h"

namespace
{

constexpr size_t kKiB = 1024, kMiB = 1024 * 1024;
constexpr size_t kGuard = 64;
constexpr unsigned char kFill = 0xEE;

unsigned char Pattern(size_t i)
{
	// Period 251 (prime): never a multiple of a vector, a line or a page,
	// so a byte copied to the wrong place shows.
	return static_cast<unsigned char>((i * 131 + 7) % 251);
}

// Copies n bytes from src + soff to dst + doff (offsets within a line) with
// copy(), and checks the copy and that nothing around it was written.
template <typename Copy>
void CheckCopy(size_t n, size_t soff, size_t doff, Copy copy)
{
	// 64-byte aligned bases, so the offsets are the alignments.
	std::vector<uint64_t> sbuf((n + soff + 64) / 8 + 1);
	std::vector<uint64_t> dbuf((n + doff + 2 * kGuard + 64) / 8 + 1);
	auto *s0 = reinterpret_cast<unsigned char *>(sbuf.data());
	auto *d0 = reinterpret_cast<unsigned char *>(dbuf.data());
	s0 += -reinterpret_cast<uintptr_t>(s0) & 63;
	d0 += -reinterpret_cast<uintptr_t>(d0) & 63;
	unsigned char *src = s0 + soff;
	unsigned char *dst = d0 + kGuard + doff;
	for (size_t i = 0; i < n; i++)
		src[i] = Pattern(i);
	for (size_t i = 0; i < n + doff + 2 * kGuard; i++)
		d0[i] = kFill;
	copy(dst, src, n);
	size_t wrong = 0, first = n;
	for (size_t i = 0; i < n; i++) {
		if (dst[i] != Pattern(i)) {
			wrong++;
			if (first == n)
				first = i;
		}
	}
	EXPECT_EQ(wrong, 0u)
	        << n << " bytes, src offset " << soff << ", dst offset " << doff
	        << ": first wrong byte " << first;
	for (size_t i = 0; i < kGuard + doff; i++)
		ASSERT_EQ(d0[i], kFill)
		        << "written before dst, " << n << " bytes";
	for (size_t i = 0; i < kGuard; i++)
		ASSERT_EQ(dst[n + i], kFill)
		        << "written after dst, " << n << " bytes";
}

// Sizes around every boundary of the kernel: the line, the 128-byte block,
// a page, and MiB copies with odd tails.
const size_t kSizes[] = {0,        1,         2,
                         63,       64,        65,
                         127,      128,       129,
                         191,      192,       255,
                         256,      257,       4095,
                         4096,     4097,      64 * kKiB + 17,
                         kMiB - 1, kMiB + 65, 3 * kMiB + 11};
const size_t kOffsets[] = {0, 1, 13, 32, 63};

TEST(DmaCopyLarge, StreamCopiesEveryByteAtAnyAlignmentAndSize)
{
	for (size_t n : kSizes)
		for (size_t soff : kOffsets)
			for (size_t doff : kOffsets)
				CheckCopy(
				        n, soff, doff,
				        [](void *d, const void *s, size_t len) {
					        aml_copy_stream(d, s, len);
				        });
}

// aml_copy_run() on both of its paths: a total past any threshold streams
// (if the run is long enough), a total of 0 memcpy's. Buffers are the
// run's size only: the total is a number.
TEST(DmaCopyLarge, RunCopiesEveryByteWhetherTheCopyStreamsOrNot)
{
	for (size_t total : {size_t{0}, size_t{SIZE_MAX}}) {
		for (size_t n : {size_t{1}, AML_COPY_STREAM_RUN_MIN - 1,
		                 AML_COPY_STREAM_RUN_MIN,
		                 AML_COPY_STREAM_RUN_MIN + 129, kMiB + 7}) {
			for (size_t off : {size_t{0}, size_t{5}, size_t{63}})
				CheckCopy(n, off, 63 - off,
				          [total](void *d, const void *s,
				                  size_t len) {
					          aml_copy_run(d, s, len,
					                       total);
				          });
		}
	}
}

// The sizes around this process's threshold, as the engines see them (a
// whole copy of that many bytes), capped so that the test's memory does
// not depend on the machine's caches.
TEST(DmaCopyLarge, CopiesAroundTheThresholdAreExact)
{
	size_t t = aml_copy_stream_threshold();
	size_t at = t < 8 * kMiB ? t : 8 * kMiB;
	for (size_t n : {at - 1, at, at + 33})
		CheckCopy(n, 7, 3, [t](void *d, const void *s, size_t len) {
			// The run is part of a copy of len bytes, or of one
			// just at or below the threshold.
			aml_copy_run(d, s, len, len < t ? t - 1 : t);
		});
}

aml_copy_tuning Tuning(size_t l2, size_t llc, size_t ncpus)
{
	struct aml_cache_sizes caches = {l2, llc};
	aml_copy_tuning t;
	aml_copy_tuning_of(&t, &caches, ncpus);
	return t;
}

TEST(DmaCopyLarge, ThresholdIsTheSmallerOfAQuarterOfTheLlcAndTheCpusShare)
{
	// A VM shown its host socket's L3 (this project's machine: 2 CPUs,
	// 1 MiB of L2, 508 MiB of L3): the CPUs' share, 2 x 4 x 1 MiB.
	EXPECT_EQ(Tuning(kMiB, 508 * kMiB, 2).stream_threshold, 8 * kMiB);
	// One 8-core CCD with 32 MiB of L3: a quarter of it.
	EXPECT_EQ(Tuning(kMiB, 32 * kMiB, 8).stream_threshold, 8 * kMiB);
	// 56 cores, 2 MiB of L2, 105 MiB of L3: a quarter of the L3.
	EXPECT_EQ(Tuning(2 * kMiB, 105 * kMiB, 56).stream_threshold,
	          105 * kMiB / 4);
	// No L3 (the LLC is the L2): never below 2 x L2 nor 1 MiB.
	EXPECT_EQ(Tuning(256 * kKiB, 256 * kKiB, 4).stream_threshold, kMiB);
	EXPECT_EQ(Tuning(2 * kMiB, 2 * kMiB, 4).stream_threshold, 4 * kMiB);
}

TEST(DmaCopyLarge, UnknownCachesAndCpusTakeDefaults)
{
	// 1 MiB of L2, 32 MiB of LLC, 1 CPU: min(8 MiB, 4 MiB).
	aml_copy_tuning t = Tuning(0, 0, 0);
	EXPECT_EQ(t.stream_threshold, 4 * kMiB);
	EXPECT_EQ(t.chunk_size, 256 * kKiB);
	EXPECT_EQ(Tuning(0, 0, 1).stream_threshold, t.stream_threshold);
}

TEST(DmaCopyLarge, ChunkIsAQuarterOfTheL2WithinBounds)
{
	EXPECT_EQ(Tuning(kMiB, 32 * kMiB, 2).chunk_size, 256 * kKiB);
	EXPECT_EQ(Tuning(2 * kMiB, 105 * kMiB, 56).chunk_size, 512 * kKiB);
	EXPECT_EQ(Tuning(128 * kKiB, 128 * kKiB, 1).chunk_size, 64 * kKiB);
	EXPECT_EQ(Tuning(64 * kMiB, 64 * kMiB, 1).chunk_size, 4 * kMiB);
}

TEST(DmaCopyLarge, HugeReportedSizesSaturate)
{
	aml_copy_tuning t = Tuning(SIZE_MAX / 2, SIZE_MAX, SIZE_MAX);
	EXPECT_GE(t.stream_threshold, SIZE_MAX / 4);
	EXPECT_EQ(t.chunk_size, 4 * kMiB);
}

// Whatever this machine reports, the process's sizes are within the rule's
// bounds and stable from call to call.
TEST(DmaCopyLarge, ThisProcesssSizesAreWithinTheRulesBounds)
{
	size_t t = aml_copy_stream_threshold();
	EXPECT_GE(t, AML_COPY_STREAM_MIN);
	EXPECT_EQ(aml_copy_stream_threshold(), t);
	size_t c = aml_copy_chunk_size();
	EXPECT_GE(c, 64 * kKiB);
	EXPECT_LE(c, 4 * kMiB);
	struct aml_cache_sizes caches;
	aml_cache_sizes(&caches);
	aml_copy_tuning want;
	aml_copy_tuning_of(&want, &caches, aml_thread_ncpus());
	EXPECT_EQ(t, want.stream_threshold);
	EXPECT_EQ(c, want.chunk_size);
}

} // namespace
