/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: the contract between aml and each backend under backends/.
 *
 * Each backend package defines one `const struct aml_backend_impl`, named
 * aml_backend_<name>_impl, in a real source (backends/X/X.c, which includes
 * the library's header) and, for optional backends, an absent one
 * (backends/X/X_absent.c, built when the library is missing). Bazel picks
 * the file; aml/src/backends.c declares the objects, lists them in one
 * table, and is the only code that knows the list. The composition root
 * (topology_default.c) walks the table through the two functions below and
 * names no backend.
 */
#ifndef AML_SRC_BACKEND_H
#define AML_SRC_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct aml_topology;

/** What a backend provides to aml: one row of the registry. */
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
	/**
	 * Make a finished topology of this machine into *out (NULL on error).
	 * Optional: NULL for a backend that does not discover machines
	 * (memkind, the emulator) and for an absent one. @return 0;
	 * AML_ENOTSUP or AML_FAILURE when this backend cannot tell here (the
	 * next one is tried); any other AML_E* code ends discovery.
	 */
	int (*discover)(struct aml_topology **out);
	/** Order among the backends that discover: the highest first;
	 * distinct among them. */
	int priority;
	/**
	 * Make a finished topology from hwloc XML text: @p size bytes,
	 * NUL-terminated, already checked by aml_topology_xml_check() (never
	 * the user's text), named @p source. Optional, as discover. @return
	 * 0; AML_EINVAL if refused; AML_ENOMEM.
	 */
	int (*load_xml)(struct aml_topology **out,
	                const char *xml,
	                size_t size,
	                const char *source);
};

/**
 * This machine's topology, from the built backends with a discover op in
 * priority order (backends.c): the first that answers, or the last error.
 * @return 0; AML_ENOTSUP if no built backend discovers; the backend's
 *         AML_E* code.
 */
int aml_backends_discover(struct aml_topology **out);

/** The built backend that loads hwloc XML, or NULL if none is built. */
const struct aml_backend_impl *aml_backends_xml_loader(void);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_BACKEND_H */
