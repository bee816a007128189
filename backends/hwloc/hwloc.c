/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The hwloc backend. For now it reports the hwloc library in use; discovery
 * of NUMA nodes and their memory attributes builds on it (issue #3).
 */
#include <stdio.h>

#include <hwloc.h>

#include "aml/src/backend.h"

/* HWLOC_API_VERSION is 0xMMmmpp00-style: major in bits 16-23, minor 8-15. */
static unsigned hwloc_backend_major(unsigned api)
{
	return api >> 16;
}

static int hwloc_backend_describe(char *buf, size_t size)
{
	unsigned runtime = hwloc_get_api_version();
	/* hwloc's documented check: a different major means another ABI. */
	const char *abi = hwloc_backend_major(runtime) ==
	                                  hwloc_backend_major(HWLOC_API_VERSION)
	                          ? "ABI matches"
	                          : "ABI MISMATCH with the headers";
	return snprintf(
	        buf, size, "hwloc API %u.%u.%u (built against %u.%u.%u, %s)",
	        runtime >> 16, (runtime >> 8) & 0xff, runtime & 0xff,
	        HWLOC_API_VERSION >> 16, (HWLOC_API_VERSION >> 8) & 0xff,
	        HWLOC_API_VERSION & 0xff, abi);
}

const struct aml_backend_impl aml_backend_hwloc_impl = {
        .name = "hwloc",
        .built = true,
        .describe = hwloc_backend_describe,
};
