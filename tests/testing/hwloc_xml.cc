// SPDX-License-Identifier: BSD-3-Clause
#include "tests/testing/hwloc_xml.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace aml_testing
{

std::string ReadFixture(const std::string &name)
{
	std::ifstream in("tests/fixtures/topology/" + name + ".xml");
	std::stringstream text;
	text << in.rdbuf();
	return text.str();
}

std::string
Replace(std::string text, const std::string &from, const std::string &to)
{
	size_t at = text.find(from);
	EXPECT_NE(at, std::string::npos) << "not in the text: " << from;
	if (at != std::string::npos)
		text.replace(at, from.size(), to);
	return text;
}

size_t LineOf(const std::string &text, const std::string &what)
{
	size_t at = what.empty() ? text.size() : text.find(what);
	EXPECT_NE(at, std::string::npos) << "not in the text: " << what;
	size_t line = 1;
	for (size_t i = 0; i < at && i < text.size(); i++)
		line += text[i] == '\n';
	return line;
}

} // namespace aml_testing
