/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: the composition root (topology_default.c), the only code that
 * names every backend, as the process's default topology needs it.
 */
#ifndef AML_SRC_TOPOLOGY_DEFAULT_H
#define AML_SRC_TOPOLOGY_DEFAULT_H

#include <aml/topology.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The topology the environment names, made afresh (topology_default.c):
 * AML_EMULATE's emulated machine if set and not empty, else the file of
 * AML_TOPOLOGY_XML if set and not empty, else this machine.
 * aml_topology_default() keeps the first one made. A malformed AML_EMULATE
 * is reported on stderr.
 * @return as aml_emu_create(), aml_topology_load_xml() or
 *         aml_topology_discover().
 */
int aml_topology_from_env(struct aml_topology **out);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_TOPOLOGY_DEFAULT_H */
