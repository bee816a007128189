/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Run-time version of the library. The values come from <aml/version.h> as it
 * was when the library was compiled, which is what makes them differ from a
 * program's own compile-time macros once the library is installed separately.
 */
#include "aml/src/version.h"

#include <aml/error.h>
#include <aml/version.h>

int aml_version_major(void)
{
	return AML_VERSION_MAJOR;
}

int aml_version_minor(void)
{
	return AML_VERSION_MINOR;
}

int aml_version_patch(void)
{
	return AML_VERSION_PATCH;
}

const char *aml_version_string(void)
{
	return AML_VERSION_STRING;
}

bool aml_version_is_compatible(int lib_major,
                               int lib_minor,
                               int major,
                               int minor)
{
	if (lib_major != major)
		return false;
	/* Before 1.0 every minor release may break the API. */
	if (major == 0)
		return lib_minor == minor;
	return lib_minor >= minor;
}

int aml_version_check(int major, int minor, int patch)
{
	if (major < 0 || minor < 0 || patch < 0)
		return AML_EINVAL;
	if (!aml_version_is_compatible(aml_version_major(), aml_version_minor(),
	                               major, minor))
		return AML_ENOTSUP;
	return 0;
}
