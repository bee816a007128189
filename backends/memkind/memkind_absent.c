/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memkind backend when memkind was not found or was turned off
 * (--repo_env=AML_WITH_MEMKIND=0): aml answers AML_ENOTSUP for it, and the
 * bridge header's functions keep their contract so callers need no #ifdef.
 */
#include <stddef.h>

#include <aml/device/memkind.h>
#include <aml/error.h>

#include "aml/src/backend.h"

const struct aml_backend_impl aml_backend_memkind_impl = {
        .name = "memkind",
        .built = false,
        .describe = NULL,
};

const struct aml_device *aml_memkind_device(enum aml_memkind_kind kind)
{
	/* A bad kind is a caller's bug whatever the build: say so first. */
	if ((int)kind < 0 || (int)kind >= AML_MEMKIND_KIND_COUNT) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	aml_errno = AML_ENOTSUP;
	return NULL;
}
