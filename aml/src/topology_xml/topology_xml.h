/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: aml's check of hwloc XML text, before hwloc sees any of it.
 *
 * aml_topology_xml_check() reads the text with a strict scanner of the XML
 * subset hwloc writes, checks the objects, sets and memory attributes the
 * way hwloc relies on them and within aml's limits, and writes a canonical
 * copy of what aml needs (objects, and the six performance attributes) for
 * hwloc_topology_set_xmlbuffer(). Pure text processing: no hwloc here.
 * docs/topology-xml.md lists the rules.
 */
#ifndef AML_SRC_TOPOLOGY_XML_TOPOLOGY_XML_H
#define AML_SRC_TOPOLOGY_XML_TOPOLOGY_XML_H

#include <stddef.h>

#include <aml/topology.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Check hwloc XML text and write the canonical copy hwloc gets.
 * Time and memory are linear in @p size.
 * @param text the text, not necessarily NUL-terminated.
 * @param size its length in bytes.
 * @param[out] out receives the copy (malloc'd, NUL-terminated, the
 *             caller's to free); NULL on error.
 * @param[out] out_size receives its length without the NUL.
 * @param[out] error filled when the text is refused; not NULL.
 * @return 0; AML_EINVAL (refused: error says where and why); AML_ENOMEM.
 */
int aml_topology_xml_check(const char *text,
                           size_t size,
                           char **out,
                           size_t *out_size,
                           struct aml_topology_xml_error *error);

/**
 * Read the file at @p path (regular, a pipe or a device) into memory.
 * @param[out] text receives its bytes (malloc'd, the caller's to free).
 * @param[out] size receives their number, 1 to AML_TOPOLOGY_XML_MAX.
 * @param[out] error filled (line 0) when the file is refused; not NULL.
 * @return 0; AML_EINVAL (cannot be opened or read, a directory, empty or
 *         too large); AML_ENOMEM.
 */
int aml_topology_xml_read(const char *path,
                          char **text,
                          size_t *size,
                          struct aml_topology_xml_error *error);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_TOPOLOGY_XML_TOPOLOGY_XML_H */
