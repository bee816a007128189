/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file binding.h
 * Bindings: which device each page, or each tile, of a buffer belongs on;
 * applied by moving the pages there, and checked against where they really
 * are.
 *
 * A binding assigns units to devices. A unit is a page of the buffer
 * (AML_BINDING_PAGE) or a tile of its tiling (AML_BINDING_TILE). The buffer
 * is the one a tiling (aml/tiling.h) describes: it starts at the pointer
 * given to apply and check (page-aligned), and spans aml_tiling_bytes().
 *
 * With tiles, a page goes to the device of the tile that holds its bytes. A
 * page that holds bytes of several tiles (tiles cut in place, whose rows
 * are not page multiples) goes where the last of them, in tile order, is
 * bound; a page that holds bytes of no tile (pitch padding) is left alone.
 * With AML_TILING_CONTIGUOUS storage and page-sized tiles every page has
 * exactly one tile.
 *
 * Implementations: aml/binding/devices.h (single, interleave, block over a
 * device list) and aml/binding/custom.h (a callback).
 */
#ifndef AML_BINDING_H
#define AML_BINDING_H

#include <stddef.h>

#include <aml/device.h>
#include <aml/tiling.h>
#include <aml/topology.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What a binding assigns to devices. */
enum aml_binding_unit {
	/** Each page of the buffer. */
	AML_BINDING_PAGE,
	/** Each tile of the tiling. */
	AML_BINDING_TILE,
	/** Number of units; not a unit. */
	AML_BINDING_UNIT_COUNT
};

struct aml_binding;

/** Operations of a binding implementation. */
struct aml_binding_ops {
	/**
	 * The device of unit @p unit out of @p nunits, or NULL to leave that
	 * unit alone. Required. Called with unit < nunits.
	 */
	const struct aml_device *(*device_of)(const struct aml_binding *binding,
	                                      size_t unit,
	                                      size_t nunits);
	/** The unit the binding assigns. Required. */
	enum aml_binding_unit (*unit)(const struct aml_binding *binding);
	/**
	 * The end of a run of units from @p unit that all have @p unit's
	 * device: a value in (@p unit, @p nunits] such that device_of() is
	 * the same for every unit in [@p unit, end). Optional (NULL: runs are
	 * found by calling device_of() on every unit). A run may stop short of
	 * the next device change (e.g. between two shares on one device):
	 * that costs one more move. It lets aml_binding_apply() move a run of
	 * pages, and aml_binding_check() compare them, without asking for
	 * each page's device; a value out of range makes both fail with
	 * AML_EINVAL. Called with unit < nunits.
	 */
	size_t (*run_end)(const struct aml_binding *binding,
	                  size_t unit,
	                  size_t nunits);
};

/** Generic binding handle. Implementations fill both fields. */
struct aml_binding {
	/** The implementation's operations. */
	const struct aml_binding_ops *ops;
	/** The implementation's state. */
	void *data;
};

/**
 * Move every page of the buffer at @p ptr, described by @p tiling, to the
 * device the binding gives it (aml_device_move()): on Linux also pages not
 * touched yet, whose later faults then go there.
 * @return 0; AML_EINVAL for NULL arguments or an unaligned @p ptr;
 *         AML_ENOMEM if out of memory; the first error of aml_device_move()
 *         (AML_ENOMEM for a full device, AML_ENODEV, AML_ENOTSUP);
 *         AML_EINVAL for a run_end op that returns a value out of range.
 *         On an error, runs moved before it stay moved.
 */
int aml_binding_apply(const struct aml_binding *binding,
                      const struct aml_tiling *tiling,
                      void *ptr);

/**
 * Find the pages of the buffer that are not on the device the binding gives
 * them, with aml_topology_locate(). Pages that hold no memory yet (never
 * touched) and pages the binding leaves alone are not counted.
 * @param binding the binding.
 * @param topology the topology to locate pages in; it must hold every
 *        device of the binding.
 * @param tiling the tiling that describes the buffer, as for
 *        aml_binding_apply().
 * @param ptr the buffer, page-aligned.
 * @param[out] misplaced receives the page indices of up to @p max misplaced
 *             pages, in order; may be NULL when @p max is 0.
 * @param max entries available in @p misplaced.
 * @param[out] count receives how many pages are misplaced (may exceed
 *             @p max).
 * @return 0; AML_EINVAL for NULL arguments, an unaligned @p ptr, a device
 *         of the binding that is not in @p topology, or a run_end op that
 *         returns a value out of range; AML_ENOMEM (here or in
 *         aml_topology_locate()); the other errors of
 *         aml_topology_locate(). On an error *count is left as it was;
 *         entries of @p misplaced may have been written.
 */
int aml_binding_check(const struct aml_binding *binding,
                      const struct aml_topology *topology,
                      const struct aml_tiling *tiling,
                      const void *ptr,
                      size_t *misplaced,
                      size_t max,
                      size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* AML_BINDING_H */
