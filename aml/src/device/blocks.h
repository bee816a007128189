/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: what the device layer offers the blocks (aml/src/<block>/) beyond
 * the public <aml/topology.h> and <aml/device.h>. Blocks include this and
 * aml/src/os.h, never spi.h: they do not see how a topology is made.
 */
#ifndef AML_SRC_DEVICE_BLOCKS_H
#define AML_SRC_DEVICE_BLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/bitmap.h>
#include <aml/device.h>
#include <aml/topology.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Point the pages of [ptr, ptr + size) (page-aligned, inside one
 * aml_topology_map() mapping not yet touched) at device index @p device:
 * how a weighted interleave binds its runs.
 * @return 0; AML_EINVAL; AML_ENOMEM if the device is full (emulator);
 *         AML_ENOTSUP if the topology cannot.
 */
int aml_topology_rebind(const struct aml_topology *topology,
                        void *ptr,
                        size_t size,
                        size_t device);

/**
 * The rule of a populating map (aml_topology_map_populate()): the devices
 * of @p topology with indices in @p devices must have @p size bytes free
 * beyond their margins together.
 * @return 0; AML_ENOMEM if they have not; AML_ENOTSUP if a device cannot
 *         tell its free bytes; AML_EDOM for an index past the last device.
 */
int aml_topology_populate_check(const struct aml_topology *topology,
                                const struct aml_bitmap *devices,
                                size_t size);

/**
 * Fault in [ptr, ptr + size), a mapping of @p topology or of one of its
 * devices, through the populate op (nothing where there is none).
 * @return 0, or AML_ENOMEM.
 */
int aml_topology_populate(const struct aml_topology *topology,
                          void *ptr,
                          size_t size);

/** Every device index of @p topology, as a set. */
void aml_topology_all_devices(const struct aml_topology *topology,
                              struct aml_bitmap *out);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_DEVICE_BLOCKS_H */
