/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The hwloc backend when hwloc was not found or was turned off
 * (--repo_env=AML_WITH_HWLOC=0): aml answers AML_ENOTSUP for it, and
 * discovers the machine through libnuma instead.
 */
#include <stddef.h>

#include <aml/error.h>

#include "aml/src/backend.h"
#include "backends/hwloc/hwloc_backend.h"

const struct aml_backend_impl aml_backend_hwloc_impl = {
        .name = "hwloc",
        .built = false,
        .describe = NULL,
};

int aml_hwloc_discover(struct aml_topology **out,
                       const char *xml,
                       size_t size,
                       const char *source)
{
	(void)xml;
	(void)size;
	(void)source;
	*out = NULL;
	return AML_ENOTSUP;
}
