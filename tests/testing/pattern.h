// SPDX-License-Identifier: BSD-3-Clause
// Test data for copies: bytes that differ with the seed and along the
// buffer, made fast enough in the unoptimised build for buffers of tens of
// MiB (splitmix64, eight bytes a step; a byte per mt19937 draw took
// seconds per 64 MiB, most of dma_test's time on a busy machine).
#ifndef AML_TESTS_TESTING_PATTERN_H
#define AML_TESTS_TESTING_PATTERN_H

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace aml_testing
{

inline std::vector<unsigned char> Pattern(size_t n, unsigned seed)
{
	std::vector<unsigned char> v(n);
	uint64_t x = seed;
	for (size_t i = 0; i < n; i += 8) {
		x += 0x9e3779b97f4a7c15ULL;
		uint64_t z = x;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		std::memcpy(&v[i], &z, n - i < 8 ? n - i : 8);
	}
	return v;
}

} // namespace aml_testing

#endif // AML_TESTS_TESTING_PATTERN_H
