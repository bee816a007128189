/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memkind backend. For now it reports the memkind library in use and
 * whether it finds high-bandwidth memory; devices over memkind's kinds build
 * on it (issue #3).
 */
#include <stdio.h>

#include <memkind.h>

#include "aml/src/backend.h"

static int memkind_backend_describe(char *buf, size_t size)
{
	/* memkind_get_version() is major * 1000000 + minor * 1000 + patch. */
	int version = memkind_get_version();
	/* memkind decides from HMAT bandwidth, or MEMKIND_HBW_NODES if set. */
	const char *hbw =
	        memkind_check_available(MEMKIND_HBW) == MEMKIND_SUCCESS
	                ? "available"
	                : "not available";
	return snprintf(buf, size, "memkind %d.%d.%d: high-bandwidth memory %s",
	                version / 1000000, version / 1000 % 1000,
	                version % 1000, hbw);
}

const struct aml_backend_impl aml_backend_memkind_impl = {
        .name = "memkind",
        .built = true,
        .describe = memkind_backend_describe,
};
