// SPDX-License-Identifier: BSD-3-Clause
// The canonical copy of a checked file that hwloc reads
// (aml/src/topology_xml/values.c): what is written is written whole, and
// only a lack of memory is reported as one.
#include <cstdlib>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "aml/src/topology_xml/internal.h"

namespace
{

struct CheckDeleter {
	void operator()(struct xml_check *c) const
	{
		free(c->out.buf);
		delete c;
	}
};

using Check = std::unique_ptr<struct xml_check, CheckDeleter>;

std::string Written(const Check &c)
{
	return std::string(c->out.buf, c->out.len);
}

// A formatted line longer than any buffer putf might keep on its stack is
// written whole: cutting it was reported as a lack of memory, which the
// loader then gave as AML_ENOMEM for a valid file.
TEST(TopologyXmlOutput, FormattedLinesOfAnyLengthAreWrittenWhole)
{
	Check c(new xml_check());
	for (size_t n : {0, 1, 100, 127, 128, 200, 5000}) {
		SCOPED_TRACE(n);
		std::string value(n, 'v');
		size_t before = c->out.len;
		aml_xml_putf(c.get(), "<a v=\"%s\" n=\"%zu\"/>\n",
		             value.c_str(), n);
		EXPECT_FALSE(c->out.nomem);
		EXPECT_EQ(Written(c).substr(before),
		          "<a v=\"" + value + "\" n=\"" + std::to_string(n) +
		                  "\"/>\n");
	}
}

TEST(TopologyXmlOutput, AttributesAreEscapedAsHwlocDecodes)
{
	Check c(new xml_check());
	aml_xml_put_attr(c.get(), "name", "a<b>&\"\t\n\r'");
	EXPECT_FALSE(c->out.nomem);
	EXPECT_EQ(Written(c), " name=\"a&lt;b&gt;&amp;&quot;&#9;&#10;&#13;'\"");
}

} // namespace
