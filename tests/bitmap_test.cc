// SPDX-License-Identifier: BSD-3-Clause
// Bitmaps: set, clear, ranges, count, search, iteration and bad input.
#include <cstring>
#include <functional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

#include "aml/src/bitmap.h"

namespace
{

std::vector<int> Indices(const struct aml_bitmap &b)
{
	std::vector<int> out;
	AML_BITMAP_FOREACH (i, &b)
		out.push_back(i);
	return out;
}

struct aml_bitmap Empty()
{
	struct aml_bitmap b;
	aml_bitmap_zero(&b);
	return b;
}

TEST(Bitmap, ZeroAndFill)
{
	struct aml_bitmap b;
	ASSERT_EQ(aml_bitmap_fill(&b), 0);
	EXPECT_EQ(aml_bitmap_count(&b), AML_BITMAP_MAX);
	EXPECT_EQ(aml_bitmap_first(&b), 0);
	ASSERT_EQ(aml_bitmap_zero(&b), 0);
	EXPECT_EQ(aml_bitmap_count(&b), 0);
	EXPECT_EQ(aml_bitmap_first(&b), AML_EDOM);
}

TEST(Bitmap, SetClearAndTestAtWordEdges)
{
	struct aml_bitmap b = Empty();
	const size_t edges[] = {0,
	                        1,
	                        62,
	                        63,
	                        64,
	                        65,
	                        127,
	                        128,
	                        AML_BITMAP_MAX - 2,
	                        AML_BITMAP_MAX - 1};
	for (size_t i : edges) {
		ASSERT_EQ(aml_bitmap_set(&b, i), 0) << i;
		EXPECT_EQ(aml_bitmap_is_set(&b, i), 1) << i;
	}
	EXPECT_EQ(aml_bitmap_count(&b), (int)(sizeof(edges) / sizeof(*edges)));
	EXPECT_EQ(aml_bitmap_is_set(&b, 2), 0);
	ASSERT_EQ(aml_bitmap_clear(&b, 64), 0);
	EXPECT_EQ(aml_bitmap_is_set(&b, 64), 0);
	EXPECT_EQ(aml_bitmap_is_set(&b, 63), 1);
	EXPECT_EQ(aml_bitmap_is_set(&b, 65), 1);
	// Setting twice or clearing a clear index is harmless.
	ASSERT_EQ(aml_bitmap_set(&b, 0), 0);
	ASSERT_EQ(aml_bitmap_clear(&b, 2), 0);
	EXPECT_EQ(aml_bitmap_count(&b),
	          (int)(sizeof(edges) / sizeof(*edges)) - 1);
}

TEST(Bitmap, RangesMatchOneByOne)
{
	// Every range shape across word boundaries, checked against std::set.
	std::mt19937 rng(42);
	std::uniform_int_distribution<size_t> index(0, AML_BITMAP_MAX - 1);
	struct aml_bitmap b = Empty();
	std::set<size_t> model;
	for (int round = 0; round < 2000; round++) {
		size_t first = index(rng), last = index(rng);
		if (first > last)
			std::swap(first, last);
		bool set = round % 3 != 0;
		if (set)
			ASSERT_EQ(aml_bitmap_set_range(&b, first, last), 0);
		else
			ASSERT_EQ(aml_bitmap_clear_range(&b, first, last), 0);
		for (size_t i = first; i <= last; i++) {
			if (set)
				model.insert(i);
			else
				model.erase(i);
		}
		ASSERT_EQ(aml_bitmap_count(&b), (int)model.size());
	}
	std::vector<int> expected(model.begin(), model.end());
	EXPECT_EQ(Indices(b), expected);
}

TEST(Bitmap, SingleIndexRangeAndFullRange)
{
	struct aml_bitmap b = Empty();
	ASSERT_EQ(aml_bitmap_set_range(&b, 5, 5), 0);
	EXPECT_EQ(Indices(b), std::vector<int>{5});
	ASSERT_EQ(aml_bitmap_set_range(&b, 0, AML_BITMAP_MAX - 1), 0);
	EXPECT_EQ(aml_bitmap_count(&b), AML_BITMAP_MAX);
	ASSERT_EQ(aml_bitmap_clear_range(&b, 1, AML_BITMAP_MAX - 2), 0);
	EXPECT_EQ(Indices(b), (std::vector<int>{0, AML_BITMAP_MAX - 1}));
}

TEST(Bitmap, FirstNextAndIteration)
{
	struct aml_bitmap b = Empty();
	for (size_t i : {3, 64, 65, 700, AML_BITMAP_MAX - 1})
		aml_bitmap_set(&b, i);
	EXPECT_EQ(aml_bitmap_first(&b), 3);
	EXPECT_EQ(aml_bitmap_next(&b, 3), 64);
	EXPECT_EQ(aml_bitmap_next(&b, 4), 64);
	EXPECT_EQ(aml_bitmap_next(&b, 64), 65);
	EXPECT_EQ(aml_bitmap_next(&b, 65), 700);
	EXPECT_EQ(aml_bitmap_next(&b, 700), AML_BITMAP_MAX - 1);
	EXPECT_EQ(aml_bitmap_next(&b, AML_BITMAP_MAX - 1), AML_EDOM);
	EXPECT_EQ(aml_bitmap_next(&b, AML_BITMAP_MAX), AML_EDOM);
	EXPECT_EQ(aml_bitmap_next(&b, SIZE_MAX), AML_EDOM);
	EXPECT_EQ(Indices(b),
	          (std::vector<int>{3, 64, 65, 700, AML_BITMAP_MAX - 1}));
	EXPECT_TRUE(Indices(Empty()).empty());
}

TEST(Bitmap, EqualAndOrAnd)
{
	struct aml_bitmap a = Empty(), b = Empty(), out;
	aml_bitmap_set_range(&a, 0, 99);
	aml_bitmap_set_range(&b, 50, 149);
	ASSERT_EQ(aml_bitmap_and(&out, &a, &b), 0);
	EXPECT_EQ(aml_bitmap_count(&out), 50);
	EXPECT_EQ(aml_bitmap_first(&out), 50);
	ASSERT_EQ(aml_bitmap_or(&out, &a, &b), 0);
	EXPECT_EQ(aml_bitmap_count(&out), 150);
	EXPECT_EQ(aml_bitmap_equal(&a, &b), 0);
	EXPECT_EQ(aml_bitmap_equal(&a, &a), 1);
	// The output may alias an input.
	ASSERT_EQ(aml_bitmap_and(&a, &a, &b), 0);
	EXPECT_EQ(aml_bitmap_count(&a), 50);
}

// aml_bitmap_shared (private, aml/src/bitmap.h): the count of the and,
// for sparse, dense, disjoint and word-edge sets.
TEST(Bitmap, SharedCountsTheIntersection)
{
	std::mt19937 rng(7);
	for (int round = 0; round < 200; round++) {
		struct aml_bitmap a = Empty(), b = Empty(), both;
		int density = 1 + round % 5 * 20; // percent
		for (int i = 0; i < AML_BITMAP_MAX; i++) {
			if ((int)(rng() % 100) < density)
				aml_bitmap_set(&a, (size_t)i);
			if ((int)(rng() % 100) < density)
				aml_bitmap_set(&b, (size_t)i);
		}
		ASSERT_EQ(aml_bitmap_and(&both, &a, &b), 0);
		EXPECT_EQ(aml_bitmap_shared(&a, &b), aml_bitmap_count(&both))
		        << "round " << round;
	}
	struct aml_bitmap a = Empty(), b = Empty();
	aml_bitmap_set(&a, 63);
	aml_bitmap_set(&a, 64);
	aml_bitmap_set(&a, AML_BITMAP_MAX - 1);
	EXPECT_EQ(aml_bitmap_shared(&a, &b), 0);
	aml_bitmap_fill(&b);
	EXPECT_EQ(aml_bitmap_shared(&a, &b), 3);
	EXPECT_EQ(aml_bitmap_shared(&b, &b), AML_BITMAP_MAX);
}

// ---- Bad input: each call returns its documented code and changes nothing.

struct BadCall {
	const char *what;
	std::function<int(struct aml_bitmap *)> call;
	int expected;
};

// gtest prints a parameter whose type it does not know byte by byte, its
// padding and std::function internals included, which valgrind reports as
// reads of uninitialised memory.
void PrintTo(const BadCall &b, std::ostream *os)
{
	*os << b.what;
}

class BitmapBadInput : public ::testing::TestWithParam<BadCall>
{
};

TEST_P(BitmapBadInput, ReturnsDocumentedErrorAndChangesNothing)
{
	const BadCall &c = GetParam();
	struct aml_bitmap b = Empty();
	aml_bitmap_set_range(&b, 10, 20);
	struct aml_bitmap before = b;
	EXPECT_EQ(c.call(&b), c.expected)
	        << c.what << ": got " << aml_errname(c.call(&b));
	EXPECT_EQ(std::memcmp(&b, &before, sizeof(b)), 0) << c.what;
}

const struct aml_bitmap kSome = [] {
	struct aml_bitmap b;
	aml_bitmap_zero(&b);
	aml_bitmap_set(&b, 1);
	return b;
}();

INSTANTIATE_TEST_SUITE_P(
        All,
        BitmapBadInput,
        ::testing::Values(
                BadCall{"zero(NULL)",
                        [](struct aml_bitmap *) {
	                        return aml_bitmap_zero(nullptr);
                        },
                        AML_EINVAL},
                BadCall{"fill(NULL)",
                        [](struct aml_bitmap *) {
	                        return aml_bitmap_fill(nullptr);
                        },
                        AML_EINVAL},
                BadCall{"set(NULL)",
                        [](struct aml_bitmap *) {
	                        return aml_bitmap_set(nullptr, 0);
                        },
                        AML_EINVAL},
                BadCall{"set(MAX)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_set(b, AML_BITMAP_MAX);
                        },
                        AML_EDOM},
                BadCall{"set(SIZE_MAX)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_set(b, SIZE_MAX);
                        },
                        AML_EDOM},
                BadCall{"clear(NULL)",
                        [](struct aml_bitmap *) {
	                        return aml_bitmap_clear(nullptr, 0);
                        },
                        AML_EINVAL},
                BadCall{"clear(MAX)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_clear(b, AML_BITMAP_MAX);
                        },
                        AML_EDOM},
                BadCall{"set_range(NULL)",
                        [](struct aml_bitmap *) {
	                        return aml_bitmap_set_range(nullptr, 0, 1);
                        },
                        AML_EINVAL},
                BadCall{"set_range(reversed)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_set_range(b, 5, 4);
                        },
                        AML_EINVAL},
                BadCall{"set_range(last = MAX)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_set_range(b, 0,
	                                                    AML_BITMAP_MAX);
                        },
                        AML_EDOM},
                BadCall{"set_range(SIZE_MAX)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_set_range(b, 0, SIZE_MAX);
                        },
                        AML_EDOM},
                BadCall{"clear_range(NULL)",
                        [](struct aml_bitmap *) {
	                        return aml_bitmap_clear_range(nullptr, 0, 1);
                        },
                        AML_EINVAL},
                BadCall{"clear_range(reversed)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_clear_range(b, 15, 12);
                        },
                        AML_EINVAL},
                BadCall{"clear_range(last past MAX)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_clear_range(
	                                b, 0, AML_BITMAP_MAX + 5);
                        },
                        AML_EDOM},
                BadCall{"is_set(NULL)",
                        [](struct aml_bitmap *) {
	                        return aml_bitmap_is_set(nullptr, 0);
                        },
                        AML_EINVAL},
                BadCall{"is_set(MAX)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_is_set(b, AML_BITMAP_MAX);
                        },
                        AML_EDOM},
                BadCall{"count(NULL)",
                        [](struct aml_bitmap *) {
	                        return aml_bitmap_count(nullptr);
                        },
                        AML_EINVAL},
                BadCall{"equal(NULL, b)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_equal(nullptr, b);
                        },
                        AML_EINVAL},
                BadCall{"equal(b, NULL)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_equal(b, nullptr);
                        },
                        AML_EINVAL},
                BadCall{"and(b, NULL, some)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_and(b, nullptr, &kSome);
                        },
                        AML_EINVAL},
                BadCall{"and(b, some, NULL)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_and(b, &kSome, nullptr);
                        },
                        AML_EINVAL},
                BadCall{"and(NULL, ...)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_and(nullptr, b, &kSome);
                        },
                        AML_EINVAL},
                BadCall{"or(b, NULL, some)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_or(b, nullptr, &kSome);
                        },
                        AML_EINVAL},
                BadCall{"or(b, some, NULL)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_or(b, &kSome, nullptr);
                        },
                        AML_EINVAL},
                BadCall{"or(NULL, ...)",
                        [](struct aml_bitmap *b) {
	                        return aml_bitmap_or(nullptr, b, &kSome);
                        },
                        AML_EINVAL},
                BadCall{"first(NULL)",
                        [](struct aml_bitmap *) {
	                        return aml_bitmap_first(nullptr);
                        },
                        AML_EINVAL},
                BadCall{"next(NULL)",
                        [](struct aml_bitmap *) {
	                        return aml_bitmap_next(nullptr, 0);
                        },
                        AML_EINVAL}),
        [](const ::testing::TestParamInfo<BadCall> &info) {
	        return "case" + std::to_string(info.index);
        });

} // namespace
