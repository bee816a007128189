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
 * @p topology if it has a copy op (an emulated one charges copies to its
 * model), else NULL: what dma engines keep and pass to aml_topology_copy(),
 * so that copies in real memory stay plain memcpy calls.
 */
const struct aml_topology *
aml_topology_charging(const struct aml_topology *topology);

/**
 * Copy through @p topology's copy op, or memcpy when @p topology is NULL
 * (see aml_topology_charging()). @p streamed as for the op.
 * @return 0, or the op's AML_E* code.
 */
int aml_topology_copy(const struct aml_topology *topology,
                      void *dst,
                      const void *src,
                      size_t size,
                      bool streamed);

/**
 * The calling thread's modelled time, for a topology from
 * aml_topology_charging() that models time; 0 otherwise.
 */
uint64_t aml_topology_thread_time(const struct aml_topology *topology);

/**
 * Move the calling thread's modelled time forward to @p ns (it waited for
 * work that ended then); a no-op for topologies that do not model time.
 */
void aml_topology_thread_wait_until(const struct aml_topology *topology,
                                    uint64_t ns);

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
