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
extern const struct aml_backend_impl aml_backend_emulator_impl;

struct aml_topology;
struct aml_topology_ops;

/*
 * backends/numa: NUMA node devices. aml_numa_topology_ops maps, moves and
 * locates pages with mbind(2) and move_pages(2); every discovered topology
 * uses it. aml_numa_discover() builds a finished topology of this machine
 * from libnuma and /sys/devices/system/node (used when hwloc is absent).
 */
extern const struct aml_topology_ops aml_numa_topology_ops;
int aml_numa_discover(struct aml_topology **out);

/*
 * backends/hwloc: a finished topology of this machine (xml NULL) or of hwloc
 * XML text (size bytes, NUL-terminated, already checked by
 * aml_topology_xml_check(): never the user's text), named source. The
 * absent backend returns AML_ENOTSUP.
 */
int aml_hwloc_discover(struct aml_topology **out,
                       const char *xml,
                       size_t size,
                       const char *source);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_BACKEND_H */
