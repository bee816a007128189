/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: the contract between aml and each backend under backends/.
 *
 * Each backend package defines one `const struct aml_backend_impl` with the
 * name given here, in a real source (backends/X/X.c, which includes the
 * library's header) and, for optional backends, an absent one
 * (backends/X/X_absent.c, built when the library is missing). Bazel picks
 * the file; aml/src/backends.c lists the three objects and is the only code
 * that knows the list.
 */
#ifndef AML_SRC_BACKEND_H
#define AML_SRC_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What a backend provides to aml. */
struct aml_backend_impl {
	/** Short name, as returned by aml_backend_name(). */
	const char *name;
	/** True for the real implementation, false for the absent one. */
	bool built;
	/**
	 * Write one line about the library as loaded, snprintf-style: called
	 * with buf != NULL and size == AML_BACKEND_DESCRIBE_MAX; returns the
	 * untruncated length or a negative AML_E* code. Required when built;
	 * NULL when absent.
	 */
	int (*describe)(char *buf, size_t size);
};

extern const struct aml_backend_impl aml_backend_numa_impl;
extern const struct aml_backend_impl aml_backend_hwloc_impl;
extern const struct aml_backend_impl aml_backend_memkind_impl;

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_BACKEND_H */
