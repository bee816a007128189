// SPDX-License-Identifier: BSD-3-Clause
// How aml's messages show a user's text (aml/src/quote.h): printable ASCII
// as it is, every other byte and the backslash as \xNN, '"' too inside
// quotes; cut with "..." at the bytes asked for or at the buffer's end,
// never past it.
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "aml/src/quote.h"

namespace
{

std::string Quote(const std::string &s, size_t max, size_t size = 256)
{
	std::string buf(size + 1, '#'); // one guard byte after the buffer
	aml_quote(&buf[0], size, s.data(), s.size(), max);
	EXPECT_EQ(buf[size], '#') << "written past the buffer";
	EXPECT_LT(strlen(buf.c_str()), size);
	return buf.c_str();
}

TEST(Quote, EscapesEveryByteButPrintableAscii)
{
	std::string all;
	for (int c = 1; c < 256; c++)
		all += static_cast<char>(c);
	std::string want = "\"";
	for (int c = 1; c < 256; c++) {
		char hex[8];
		snprintf(hex, sizeof(hex), "\\x%02x", c);
		bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
		want += plain ? std::string(1, static_cast<char>(c)) : hex;
	}
	want += "\"";
	EXPECT_EQ(Quote(all, all.size(), AML_QUOTE_SIZE(all.size())), want);
	// A NUL inside the given length is a byte like any other.
	EXPECT_EQ(Quote(std::string("a\0b", 3), 8), "\"a\\x00b\"");
}

TEST(Quote, CutsAtMaxOrAtTheBufferWithDots)
{
	EXPECT_EQ(Quote("abcdef", 6), "\"abcdef\"");
	EXPECT_EQ(Quote("abcdef", 4), "\"abcd...\"");
	EXPECT_EQ(Quote("abcdef", 0), "\"...\"");
	EXPECT_EQ(Quote("", 0), "\"\"");
	// The smallest buffer holds the quotes and the dots.
	EXPECT_EQ(Quote("abcdef", 6, AML_QUOTE_SIZE(0)), "\"...\"");
	// An escape is never cut in half.
	EXPECT_EQ(Quote("a\x01", 6, AML_QUOTE_SIZE(0) + 3), "\"a...\"");
	EXPECT_EQ(Quote("a\x01", 6, AML_QUOTE_SIZE(0) + 5), "\"a\\x01\"");
	// AML_QUOTE_SIZE(n) holds any n bytes.
	std::string worst(10, '\x7f');
	std::string want = "\"";
	for (int i = 0; i < 10; i++)
		want += "\\x7f";
	EXPECT_EQ(Quote(worst + "more", 10, AML_QUOTE_SIZE(10)),
	          want + "...\"");
}

TEST(Quote, EscapeKeepsQuotesAndStopsBeforeAnEscapeThatDoesNotFit)
{
	char buf[8];
	EXPECT_EQ(aml_escape(buf, sizeof(buf), "a\"b", 3), 3u);
	EXPECT_STREQ(buf, "a\"b");
	EXPECT_EQ(aml_escape(buf, sizeof(buf), "abcd\x1b", 5), 4u);
	EXPECT_STREQ(buf, "abcd");
	EXPECT_EQ(aml_escape(buf, sizeof(buf), "abc\\", 4), 4u);
	EXPECT_STREQ(buf, "abc\\x5c");
	EXPECT_EQ(aml_escape(buf, 1, "abc", 3), 0u);
	EXPECT_STREQ(buf, "");
}

TEST(Quote, EnvValuesAreCutAtTheirMax)
{
	char buf[AML_ENV_QUOTE_SIZE];
	std::string long_value(1000, 'x');
	EXPECT_EQ(std::string(aml_env_quote(buf, long_value.c_str())),
	          "\"" + std::string(AML_ENV_QUOTE_MAX, 'x') + "...\"");
	std::string exact(AML_ENV_QUOTE_MAX, 'y');
	EXPECT_EQ(std::string(aml_env_quote(buf, exact.c_str())),
	          "\"" + exact + "\"");
}

} // namespace
