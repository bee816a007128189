/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The umbrella header as strict C11 (-pedantic-errors), used from C the way a
 * C program would: errors, aml_errno, the version check and a bitmap; and
 * the device area's former policy names, which must keep compiling.
 */
#include <stdio.h>
#include <string.h>

#include <aml.h>
#include <aml/area/device.h>

int main(void)
{
	if (AML_VERSION_CHECK() != 0)
		return 1;
	aml_errno = AML_EINVAL;
	if (aml_errno != AML_EINVAL ||
	    strcmp(aml_errname(aml_errno), "AML_EINVAL") != 0)
		return 2;
	struct aml_bitmap nodes;
	if (aml_bitmap_parse(&nodes, "0-3,8") != 0)
		return 3;
	int sum = 0;
	AML_BITMAP_FOREACH (node, &nodes)
		sum += node;
	if (sum != 0 + 1 + 2 + 3 + 8)
		return 4;
	if (aml_backend_is_built(AML_BACKEND_NUMA) != AML_HAVE_NUMA)
		return 5;
	enum aml_area_policy old = AML_AREA_FIRST_TOUCH;
	enum aml_policy policy = old;
	if (policy != AML_POLICY_LOCAL || AML_AREA_BIND != AML_POLICY_BIND ||
	    AML_AREA_POLICY_COUNT != AML_POLICY_COUNT)
		return 6;
	puts("c_header_test: ok");
	return 0;
}
