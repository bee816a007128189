/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The libnuma backend. For now it reports what libnuma sees; devices, maps
 * and moves over mbind(2) and move_pages(2) build on it (issue #3).
 */
#include <stdio.h>

#include <numa.h>

#include "aml/src/backend.h"
#include "backends/numa/numa_backend.h"

static int numa_backend_describe(char *buf, size_t size)
{
	/* numa_available() must come first: other calls are undefined without
	 * NUMA support in the kernel. */
	if (numa_available() < 0)
		return snprintf(buf, size,
		                "libnuma API %d: NUMA not available on this "
		                "kernel",
		                LIBNUMA_API_VERSION);
	return snprintf(buf, size,
	                "libnuma API %d: %d configured node(s), highest node "
	                "%d, %d allowed",
	                LIBNUMA_API_VERSION, numa_num_configured_nodes(),
	                numa_max_node(),
	                numa_bitmask_weight(numa_all_nodes_ptr));
}

const struct aml_backend_impl aml_backend_numa_impl = {
        .name = "numa",
        .built = true,
        .describe = numa_backend_describe,
        .discover = aml_numa_discover,
        .priority = 10,
};
