// SPDX-License-Identifier: BSD-3-Clause
#include "tests/testing/hwloc_machine.h"

#include <cstdio>

namespace aml_testing
{

std::string HwlocSet(const std::vector<int> &indices)
{
	std::vector<unsigned> words(1, 0);
	for (int i : indices) {
		if (words.size() <= (size_t)i / 32)
			words.resize(i / 32 + 1, 0);
		words[i / 32] |= 1u << (i % 32);
	}
	std::string s;
	for (size_t w = words.size(); w-- > 0;) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%s0x%08x",
		         w + 1 == words.size() ? "" : ",", words[w]);
		s += buf;
	}
	return s;
}

std::string Sets(const std::vector<int> &cpus, const std::vector<int> &nodes)
{
	return " cpuset=\"" + HwlocSet(cpus) + "\" complete_cpuset=\"" +
	       HwlocSet(cpus) + "\" nodeset=\"" + HwlocSet(nodes) +
	       "\" complete_nodeset=\"" + HwlocSet(nodes) + "\"";
}

std::string Machine(int n, const std::string &memattrs)
{
	std::vector<int> all;
	for (int i = 0; i < n; i++)
		all.push_back(i);
	std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                "<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n"
	                "<topology version=\"2.0\">\n"
	                "<object type=\"Machine\" os_index=\"0\"" +
	                Sets(all, all) + " gp_index=\"1\">\n";
	for (int p = 0; p < n; p++) {
		std::string id = std::to_string(p);
		s += " <object type=\"Package\" os_index=\"" + id + "\"" +
		     Sets({p}, {p}) + " gp_index=\"" +
		     std::to_string(2 + 3 * p) + "\">\n";
		s += "  <object type=\"NUMANode\" os_index=\"" + id + "\"" +
		     Sets({p}, {p}) + " gp_index=\"" +
		     std::to_string(3 + 3 * p) +
		     "\" local_memory=\"1073741824\"/>\n";
		s += "  <object type=\"PU\" os_index=\"" + id + "\"" +
		     Sets({p}, {p}) + " gp_index=\"" +
		     std::to_string(4 + 3 * p) + "\"/>\n";
		s += " </object>\n";
	}
	return s + "</object>\n" + memattrs + "</topology>\n";
}

std::string
Value(int node, const std::vector<int> &cpus, unsigned long long value)
{
	return " <memattr_value target_obj_type=\"NUMANode\" "
	       "target_obj_gp_index=\"" +
	       std::to_string(3 + 3 * node) + "\" value=\"" +
	       std::to_string(value) + "\" initiator_cpuset=\"" +
	       HwlocSet(cpus) + "\"/>\n";
}

} // namespace aml_testing
