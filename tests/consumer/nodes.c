/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A consumer of @aml//aml: checks the library version, then reads a node
 * list given on the command line and prints it back in canonical form.
 *   nodes 8,0-3   ->   aml 0.7.0: 5 node(s): 0-3,8
 */
#include <stdio.h>

#include <aml.h>

int main(int argc, char **argv)
{
	int err = AML_VERSION_CHECK();
	if (err != 0) {
		fprintf(stderr, "aml %s: %s\n", aml_version_string(),
		        aml_strerror(err));
		return 1;
	}
	struct aml_bitmap nodes;
	err = aml_bitmap_parse(&nodes, argc > 1 ? argv[1] : "");
	if (err != 0) {
		fprintf(stderr, "%s: %s\n", aml_errname(err),
		        aml_strerror(err));
		return 2;
	}
	char list[AML_BITMAP_FORMAT_MAX];
	aml_bitmap_format(&nodes, list, sizeof(list));
	printf("aml %s: %d node(s): %s\n", aml_version_string(),
	       aml_bitmap_count(&nodes), list);
	return 0;
}
