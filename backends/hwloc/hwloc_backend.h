/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: the hwloc backend's discovery, for the registry and white-box
 * tests.
 */
#ifndef AML_BACKENDS_HWLOC_HWLOC_BACKEND_H
#define AML_BACKENDS_HWLOC_HWLOC_BACKEND_H

#include <stddef.h>

#include "aml/src/device/spi.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A finished topology of this machine (@p xml NULL) or of hwloc XML text
 * (@p size bytes, NUL-terminated, already checked by
 * aml_topology_xml_check(): never the user's text), named @p source.
 * @return 0; AML_EINVAL for XML hwloc refuses; AML_FAILURE if hwloc cannot
 *         load this machine; AML_ENOMEM; AML_ENOTSUP when hwloc is absent.
 */
int aml_hwloc_discover(struct aml_topology **out,
                       const char *xml,
                       size_t size,
                       const char *source);

#ifdef __cplusplus
}
#endif

#endif /* AML_BACKENDS_HWLOC_HWLOC_BACKEND_H */
