/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memkind backend when memkind was not found or was turned off
 * (--repo_env=AML_WITH_MEMKIND=0): aml answers AML_ENOTSUP for it.
 */
#include <stddef.h>

#include "aml/src/backend.h"

const struct aml_backend_impl aml_backend_memkind_impl = {
        .name = "memkind",
        .built = false,
        .describe = NULL,
};
