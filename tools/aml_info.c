/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * aml_info: what this build of aml is. Prints the library's version and
 * whether it matches the headers, then each backend: built or not, and what
 * its library sees on this machine. Exits non-zero if the version check
 * fails or a built backend cannot describe itself.
 *
 *   bazel run //tools:aml_info
 */
#include <stdio.h>
#include <stdlib.h>

#include <aml.h>

static int print_backend(enum aml_backend backend)
{
	char line[AML_BACKEND_DESCRIBE_MAX];
	int length = aml_backend_describe(backend, line, sizeof(line));
	const char *name = aml_backend_name(backend);
	if (length == AML_ENOTSUP) {
		printf("  %-8s not built\n", name);
		return 0;
	}
	if (length < 0) {
		printf("  %-8s built, but: %s\n", name, aml_strerror(length));
		return length;
	}
	printf("  %-8s built: %s\n", name, line);
	return 0;
}

int main(void)
{
	int err = AML_VERSION_CHECK();
	printf("aml %s (headers %s: %s)\n", aml_version_string(),
	       AML_VERSION_STRING, err == 0 ? "compatible" : aml_strerror(err));
	printf("backends:\n");
	for (int b = 0; b < AML_BACKEND_COUNT; b++) {
		int backend_err = print_backend((enum aml_backend)b);
		if (err == 0)
			err = backend_err;
	}
	return err == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
