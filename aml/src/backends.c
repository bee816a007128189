/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The backend registry: the only place that names every backend. An explicit
 * table (rather than constructors that register themselves) keeps the linker
 * from dropping a backend and needs no alwayslink. Adding a backend adds a
 * row here and a value to enum aml_backend.
 */
#include <limits.h>
#include <string.h>

#include <aml/backend.h>
#include <aml/error.h>

#include "aml/src/backend.h"

extern const struct aml_backend_impl aml_backend_numa_impl;
extern const struct aml_backend_impl aml_backend_hwloc_impl;
extern const struct aml_backend_impl aml_backend_memkind_impl;
extern const struct aml_backend_impl aml_backend_emulator_impl;

static const struct aml_backend_impl *const backend_table[AML_BACKEND_COUNT] = {
        [AML_BACKEND_NUMA] = &aml_backend_numa_impl,
        [AML_BACKEND_HWLOC] = &aml_backend_hwloc_impl,
        [AML_BACKEND_MEMKIND] = &aml_backend_memkind_impl,
        [AML_BACKEND_EMULATOR] = &aml_backend_emulator_impl,
};

/* The enum may hold any int, so range-check before indexing the table. */
static const struct aml_backend_impl *backend_lookup(enum aml_backend backend)
{
	if ((int)backend < 0 || (int)backend >= AML_BACKEND_COUNT)
		return NULL;
	return backend_table[backend];
}

const char *aml_backend_name(enum aml_backend backend)
{
	const struct aml_backend_impl *impl = backend_lookup(backend);
	if (impl == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	return impl->name;
}

int aml_backend_is_built(enum aml_backend backend)
{
	const struct aml_backend_impl *impl = backend_lookup(backend);
	if (impl == NULL)
		return AML_EINVAL;
	return impl->built;
}

int aml_backend_describe(enum aml_backend backend, char *buf, size_t size)
{
	const struct aml_backend_impl *impl = backend_lookup(backend);
	if (impl == NULL || buf == NULL)
		return AML_EINVAL;
	if (!impl->built || impl->describe == NULL)
		return AML_ENOTSUP;

	/* Described into a local line first, so a short buffer stays as it was.
	 */
	char line[AML_BACKEND_DESCRIBE_MAX];
	int length = impl->describe(line, sizeof(line));
	if (length < 0)
		return length;
	if ((size_t)length >= sizeof(line))
		return AML_FAILURE; /* a backend broke its contract */
	if ((size_t)length >= size)
		return AML_EDOM;
	memcpy(buf, line, (size_t)length + 1);
	return length;
}

int aml_backends_discover(struct aml_topology **out)
{
	/* Tried from the highest priority down (priorities are distinct).
	 * The table is a handful of rows: no sort needed. */
	int err = AML_ENOTSUP, tried = INT_MAX;
	for (;;) {
		const struct aml_backend_impl *next = NULL;
		for (int b = 0; b < AML_BACKEND_COUNT; b++) {
			const struct aml_backend_impl *impl = backend_table[b];
			if (impl->built && impl->discover != NULL &&
			    impl->priority < tried &&
			    (next == NULL || impl->priority > next->priority))
				next = impl;
		}
		if (next == NULL)
			return err;
		err = next->discover(out);
		if (err != AML_ENOTSUP && err != AML_FAILURE)
			return err;
		tried = next->priority;
	}
}

const struct aml_backend_impl *aml_backends_xml_loader(void)
{
	for (int b = 0; b < AML_BACKEND_COUNT; b++) {
		if (backend_table[b]->built && backend_table[b]->load_xml)
			return backend_table[b];
	}
	return NULL;
}
