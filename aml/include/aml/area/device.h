/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file device.h
 * An area over devices: placement under one policy (enum aml_policy, of
 * aml/topology.h) over a set of devices of one topology, or BIND to one
 * device of any backend (a memkind kind, for instance).
 *
 * The area holds the request (policy, devices, weights); every map is
 * validated, placed and recorded by the topology, the same way as
 * aml_topology_map() (a map of the area is recorded with the area as its
 * owner, so the area unmaps its own mappings only).
 *
 * Policies, for mappings of this area:
 * - AML_POLICY_BIND: only on the devices; AML_ENOMEM at map time for a map
 *   larger than their total capacity, and, with the populate option, for
 *   one larger than their free memory less a margin (see
 *   aml_topology_map_populate()). Otherwise Linux places pages at first
 *   touch, and a touch past the devices' free memory calls the OOM killer;
 *   the emulator places them at first touch too, and stops the program
 *   there (aml/emulator.h);
 * - AML_POLICY_PREFERRED: on the one device while it has room, then on the
 *   others in the kernel's (or emulator's) fallback order;
 * - AML_POLICY_PREFERRED_MANY: on the devices while they have room, then
 *   on the others (Linux 5.15+; AML_ENOTSUP at map time on older kernels);
 * - AML_POLICY_INTERLEAVE: page by page round-robin over the devices in
 *   topology index order, whatever order they are given in: the devices
 *   are a set (Linux's nodemask has no order). The first page's device
 *   depends on its address (see AML_POLICY_INTERLEAVE). For pages
 *   in an order of your choosing, use AML_POLICY_WEIGHTED_INTERLEAVE with
 *   equal weights;
 * - AML_POLICY_WEIGHTED_INTERLEAVE: runs of pages in proportion to weights
 *   (3:1 puts pages 0-2 on the first device, page 3 on the second, and so
 *   on). Done by binding each run, so it needs no kernel support (Linux
 *   6.9's MPOL_WEIGHTED_INTERLEAVE) and works on the emulator. Each run
 *   is BIND: a map whose share on one device exceeds that device's
 *   capacity is AML_ENOMEM at map time;
 * - AML_POLICY_LOCAL (formerly AML_AREA_FIRST_TOUCH): on the device of the
 *   CPU that first touches each page (Linux's default, and the emulator's).
 *   Takes no devices.
 */
#ifndef AML_AREA_DEVICE_H
#define AML_AREA_DEVICE_H

#include <stddef.h>

#include <aml/area.h>
#include <aml/bitmap.h>
#include <aml/device.h>
#include <aml/topology.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The policies of a device area are those of the topology (enum aml_policy
 * in aml/topology.h). The names below are the area's former ones, kept so
 * that code written against them compiles unchanged.
 */

/** @deprecated Use enum aml_policy. */
#define aml_area_policy aml_policy
/** @deprecated Use AML_POLICY_BIND. */
#define AML_AREA_BIND AML_POLICY_BIND
/** @deprecated Use AML_POLICY_PREFERRED. */
#define AML_AREA_PREFERRED AML_POLICY_PREFERRED
/** @deprecated Use AML_POLICY_INTERLEAVE. */
#define AML_AREA_INTERLEAVE AML_POLICY_INTERLEAVE
/** @deprecated Use AML_POLICY_WEIGHTED_INTERLEAVE. */
#define AML_AREA_WEIGHTED_INTERLEAVE AML_POLICY_WEIGHTED_INTERLEAVE
/** @deprecated Use AML_POLICY_LOCAL (the device of the CPU that first
 * touches each page). */
#define AML_AREA_FIRST_TOUCH AML_POLICY_LOCAL
/** @deprecated Use AML_POLICY_COUNT. */
#define AML_AREA_POLICY_COUNT AML_POLICY_COUNT

/** Most devices one area spans. */
#define AML_AREA_DEVICE_MAX 16

/** Storage for one device area. Pass &x.base to the aml_area_*() functions. */
struct aml_area_device {
	/** Generic handle. Keep first. */
	struct aml_area base;
	/** @privatesection */
	/* Private: use the aml_area_device_*() functions. */
	const struct aml_topology *topology;
	const struct aml_device *devices[AML_AREA_DEVICE_MAX];
	unsigned weights[AML_AREA_DEVICE_MAX];
	size_t ndevices;
	enum aml_policy policy;
	/** Indices of the devices in the topology. */
	struct aml_bitmap set;
	/** Given no topology: the device's own one-device topology
	 * (aml_topology_of_device()), made by init and destroyed by fini;
	 * NULL otherwise. */
	struct aml_topology *own_topology;
	/** The pages of a map whose options say AML_PAGE_DEFAULT. */
	enum aml_page_kind pages;
};

/** Declare storage for a device area (see aml_area_device_init()). */
#define AML_AREA_DEVICE_DECL(name) struct aml_area_device name

/**
 * Initialise a device area.
 * @param[out] area the storage to initialise.
 * @param topology the topology the devices belong to; may be NULL only for
 *        BIND to one device (then any device works, memkind's included:
 *        the area makes the device's own topology, as
 *        aml_topology_of_device() does, and destroys it at fini).
 * @param devices @p ndevices distinct devices of @p topology; ignored (and
 *        @p ndevices must be 0) for AML_POLICY_LOCAL. The array is
 *        copied; the devices must outlive the area.
 * @param ndevices number of entries in @p devices, at most
 *        AML_AREA_DEVICE_MAX.
 * @param policy how pages are placed over the devices.
 * @param weights for AML_POLICY_WEIGHTED_INTERLEAVE, one weight (>= 1, pages
 *        per run) per device; NULL otherwise.
 * @return 0; AML_EINVAL for a NULL area, no or too many devices (more than
 *         AML_AREA_DEVICE_MAX), a NULL or repeated device, a device not in
 *         @p topology, a missing topology, an unknown policy, PREFERRED
 *         with more than one device, weights missing, zero or given for
 *         another policy; AML_ENOMEM for the device's own topology
 *         (without a topology only). The storage is untouched on
 * error.
 */
int aml_area_device_init(struct aml_area_device *area,
                         const struct aml_topology *topology,
                         const struct aml_device *const *devices,
                         size_t ndevices,
                         enum aml_policy policy,
                         const unsigned *weights);

/** Finalise a device area. Mappings it made stay valid (the topology or
 * device still owns them) but can no longer be unmapped through it: unmap
 * them first. The handle then answers AML_EINVAL to every call until the
 * storage is initialised again. NULL and a second fini are no-ops. */
void aml_area_device_fini(struct aml_area_device *area);

/**
 * aml_area_device_init() into one allocation.
 * @param[out] out receives the area; NULL on error.
 * @param topology,devices,ndevices,policy,weights as for
 *        aml_area_device_init().
 * @return as aml_area_device_init(), or AML_ENOMEM.
 */
int aml_area_device_create(struct aml_area **out,
                           const struct aml_topology *topology,
                           const struct aml_device *const *devices,
                           size_t ndevices,
                           enum aml_policy policy,
                           const unsigned *weights);

/**
 * Make @p area map @p pages (enum aml_page_kind) wherever a map's options
 * leave the kind at AML_PAGE_DEFAULT: how the blocks above an area (the
 * arenas, the fast-memory API) get huge pages without knowing. A map that
 * names a kind still gets that kind. Whether the system offers the kind is
 * checked at each map, which says AML_ENOTSUP or AML_ENOMEM then. Not
 * thread-safe: set it before the area is shared.
 * @param area a device area (aml_area_device_init() or _create()).
 * @param pages AML_PAGE_DEFAULT or AML_PAGE_BASE for base pages, or a huge
 *        kind.
 * @return 0; AML_EINVAL for a NULL area, an area of another
 *         implementation, or an unknown kind (the area unchanged).
 */
int aml_area_device_set_pages(struct aml_area *area, enum aml_page_kind pages);

/** Free an area from aml_area_device_create() and set *area to NULL. NULL,
 * a pointer to NULL and an area of another kind are left alone. */
void aml_area_device_destroy(struct aml_area **area);

#ifdef __cplusplus
}
#endif

#endif /* AML_AREA_DEVICE_H */
