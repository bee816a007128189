// SPDX-License-Identifier: BSD-3-Clause
// Bitmaps as numactl-style lists: parse, format, round trips and bad input.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

namespace
{

std::string Format(const struct aml_bitmap &b)
{
	char buf[AML_BITMAP_FORMAT_MAX];
	int n = aml_bitmap_format(&b, buf, sizeof(buf));
	EXPECT_GE(n, 0) << aml_errname(n);
	return n >= 0 ? std::string(buf, (size_t)n) : std::string("<error>");
}

struct GoodList {
	const char *text;
	std::vector<int> indices;
	const char *canonical;
};

class BitmapParse : public ::testing::TestWithParam<GoodList>
{
};

TEST_P(BitmapParse, ReadsTheIndicesAndPrintsCanonically)
{
	const GoodList &g = GetParam();
	struct aml_bitmap b;
	ASSERT_EQ(aml_bitmap_parse(&b, g.text), 0) << g.text;
	std::vector<int> got;
	AML_BITMAP_FOREACH (i, &b)
		got.push_back(i);
	EXPECT_EQ(got, g.indices) << g.text;
	EXPECT_EQ(Format(b), g.canonical) << g.text;
}

INSTANTIATE_TEST_SUITE_P(
        All,
        BitmapParse,
        ::testing::Values(
                GoodList{"", {}, ""},
                GoodList{"0", {0}, "0"},
                GoodList{"0-3,8,10-11", {0, 1, 2, 3, 8, 10, 11}, "0-3,8,10-11"},
                GoodList{"3-3", {3}, "3"},
                GoodList{"4-5", {4, 5}, "4-5"},
                GoodList{"8,0-3", {0, 1, 2, 3, 8}, "0-3,8"},
                GoodList{"1,1,0-2", {0, 1, 2}, "0-2"},
                GoodList{"0-1,2-3", {0, 1, 2, 3}, "0-3"},
                GoodList{"007", {7}, "7"},
                GoodList{"63,64", {63, 64}, "63-64"},
                GoodList{"1023", {1023}, "1023"},
                GoodList{"1022-1023", {1022, 1023}, "1022-1023"}));

TEST(BitmapParse, AllIsEveryIndex)
{
	struct aml_bitmap b;
	ASSERT_EQ(aml_bitmap_parse(&b, "all"), 0);
	EXPECT_EQ(aml_bitmap_count(&b), AML_BITMAP_MAX);
	EXPECT_EQ(Format(b), "0-" + std::to_string(AML_BITMAP_MAX - 1));
}

class BitmapParseBadInput : public ::testing::TestWithParam<const char *>
{
};

TEST_P(BitmapParseBadInput, IsInvalidAndChangesNothing)
{
	const char *text = GetParam();
	struct aml_bitmap b, before;
	aml_bitmap_zero(&b);
	aml_bitmap_set_range(&b, 100, 200);
	before = b;
	EXPECT_EQ(aml_bitmap_parse(&b, text), AML_EINVAL)
	        << "\"" << text << "\"";
	EXPECT_EQ(std::memcmp(&b, &before, sizeof(b)), 0) << text;
}

INSTANTIATE_TEST_SUITE_P(All,
                         BitmapParseBadInput,
                         ::testing::Values(
                                 // Malformed items and separators.
                                 ",",
                                 ",0",
                                 "0,",
                                 "0,,1",
                                 "-",
                                 "-1",
                                 "1-",
                                 "1--2",
                                 "1-2-3",
                                 "1,-2",
                                 "a",
                                 "1a",
                                 "0x1",
                                 "+1",
                                 " 1",
                                 "1 ",
                                 "1, 2",
                                 "1;2",
                                 "1\n",
                                 "\t",
                                 "ALL",
                                 "all,1",
                                 "1,all",
                                 "al",
                                 "alll",
                                 // Reversed ranges.
                                 "3-1",
                                 "1023-0",
                                 // Out of range and overflowing.
                                 "1024",
                                 "0-1024",
                                 "1024-1025",
                                 "99999999999999999999999",
                                 "0-18446744073709551616",
                                 "18446744073709551615",
                                 // A good prefix does not rescue a bad tail.
                                 "0-3,8,10-11,",
                                 "0-3,8,x"));

TEST(BitmapParse, NullArgumentsAreInvalid)
{
	struct aml_bitmap b;
	aml_bitmap_zero(&b);
	aml_bitmap_set(&b, 4);
	struct aml_bitmap before = b;
	EXPECT_EQ(aml_bitmap_parse(nullptr, "0-3"), AML_EINVAL);
	EXPECT_EQ(aml_bitmap_parse(&b, nullptr), AML_EINVAL);
	EXPECT_EQ(std::memcmp(&b, &before, sizeof(b)), 0);
}

TEST(BitmapFormat, MeasuresWithNullBuffer)
{
	struct aml_bitmap b;
	aml_bitmap_parse(&b, "0-3,8,10-11");
	EXPECT_EQ(aml_bitmap_format(&b, nullptr, 0), 11);
	aml_bitmap_zero(&b);
	EXPECT_EQ(aml_bitmap_format(&b, nullptr, 0), 0);
}

TEST(BitmapFormat, ExactFitAndOneByteShort)
{
	struct aml_bitmap b;
	aml_bitmap_parse(&b, "0-3,8");
	char buf[8];
	std::memset(buf, '#', sizeof(buf));
	// "0-3,8" needs 5 characters and the NUL.
	EXPECT_EQ(aml_bitmap_format(&b, buf, 5), AML_EDOM);
	EXPECT_EQ(buf[0], '#'); // untouched on error
	EXPECT_EQ(aml_bitmap_format(&b, buf, 6), 5);
	EXPECT_STREQ(buf, "0-3,8");
}

TEST(BitmapFormat, EmptySetNeedsOnlyTheNul)
{
	struct aml_bitmap b;
	aml_bitmap_zero(&b);
	char buf[1] = {'#'};
	EXPECT_EQ(aml_bitmap_format(&b, buf, 1), 0);
	EXPECT_EQ(buf[0], '\0');
	// A real buffer with no room for the NUL is too small, even when empty.
	EXPECT_EQ(aml_bitmap_format(&b, buf, 0), AML_EDOM);
}

TEST(BitmapFormat, BadArguments)
{
	struct aml_bitmap b;
	aml_bitmap_zero(&b);
	char buf[4] = "abc";
	EXPECT_EQ(aml_bitmap_format(nullptr, buf, sizeof(buf)), AML_EINVAL);
	EXPECT_EQ(aml_bitmap_format(&b, nullptr, 4), AML_EINVAL);
	EXPECT_STREQ(buf, "abc");
}

TEST(BitmapFormat, WorstCasesFitInFormatMax)
{
	// Patterns that maximise the number of printed items: singletons
	// (101010...), pairs (110110...) and the long numbers at the top end.
	for (size_t period : {2, 3, 4}) {
		struct aml_bitmap b;
		aml_bitmap_zero(&b);
		for (size_t i = 0; i < AML_BITMAP_MAX; i++) {
			if (i % period != period - 1)
				aml_bitmap_set(&b, i);
		}
		int n = aml_bitmap_format(&b, nullptr, 0);
		ASSERT_GT(n, 0);
		EXPECT_LT(n, AML_BITMAP_FORMAT_MAX) << "period " << period;
		EXPECT_EQ(Format(b).size(), (size_t)n);
	}
}

TEST(BitmapFormat, RandomSetsRoundTrip)
{
	std::mt19937 rng(7);
	for (int round = 0; round < 500; round++) {
		struct aml_bitmap b, back;
		aml_bitmap_zero(&b);
		std::bernoulli_distribution density(round % 10 / 10.0);
		for (size_t i = 0; i < AML_BITMAP_MAX; i++) {
			if (density(rng))
				aml_bitmap_set(&b, i);
		}
		std::string text = Format(b);
		ASSERT_EQ(aml_bitmap_parse(&back, text.c_str()), 0) << text;
		ASSERT_EQ(aml_bitmap_equal(&b, &back), 1) << text;
	}
}

} // namespace
