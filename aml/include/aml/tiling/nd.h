/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file nd.h
 * The nd tiling: tiles of any number of dimensions over a layout.
 *
 * One implementation covers the 1d, 2d and nd cases, both tile orders, both
 * border rules and both storages of aml/tiling.h. Everything a lookup needs
 * is computed once by aml_tiling_nd_init() into fixed-size arrays, so init
 * allocates nothing and a lookup is a handful of multiply-adds:
 * - tile_ptr of CONTIGUOUS storage: base + id * slot, O(1);
 * - tile_ptr and tile_coords of IN_PLACE storage: the id is split into grid
 *   coordinates over the dimensions that have more than one tile, dividing by
 *   precomputed reciprocals (a multiply and a shift; no hardware division
 *   while ntiles < 2^32);
 * - tile_id: a dot product.
 *
 * Usage:
 * @code
 * AML_TILING_ND_DECL(tiles);
 * size_t tile[2] = {64, 64};
 * int err = aml_tiling_nd_init(&tiles, &matrix, tile,
 *                              AML_TILING_ORDER_ROW_MAJOR, AML_TILING_RESIZE,
 *                              AML_TILING_IN_PLACE);
 * AML_TILING_FOREACH (id, &tiles.base)
 *         work(aml_tiling_tile_ptr(&tiles.base, id));
 * aml_tiling_nd_fini(&tiles);
 * @endcode
 */
#ifndef AML_TILING_ND_H
#define AML_TILING_ND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/layout.h>
#include <aml/tiling.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * One dimension of the grid that has more than one tile, in id order. Not
 * API: a part of struct aml_tiling_nd's private state.
 */
struct aml_tiling_nd_axis {
	/** Tiles along this dimension, >= 2. */
	size_t ntiles;
	/** Reciprocal of ntiles for division by multiplication. */
	uint64_t magic;
	/** Bytes from one tile to the next along this dimension (IN_PLACE). */
	size_t byte_step;
	/** The array dimension this axis is. */
	size_t dim;
	/** Product of the ntiles of the faster axes: id / id_stride is this
	 * axis' coordinate plus ntiles times the slower ones'. */
	size_t id_stride;
	/** Reciprocal of id_stride (0 for the fastest axis, whose is 1). */
	uint64_t id_magic;
	/** byte_step minus the faster axis' ntiles * byte_step (modulo
	 * 2^64): the offset of tile id is the sum of (id / id_stride) * carry
	 * over the axes. */
	size_t carry;
};

/** Storage for an nd tiling. Pass &x.base to the aml_tiling_*() functions. */
struct aml_tiling_nd {
	/** Generic handle. Keep first. */
	struct aml_tiling base;
	/** @privatesection */
	/* Private: use the aml_tiling_*() functions. */
	/** How tile_ptr computes a tile's offset (a private enum). */
	int path;
	/** Address of the array's first element; NULL for a shape only. */
	char *first;
	/** Bytes from a tile to the next when one step suffices, else 0. */
	size_t linear_step;
	/** Byte offset of the array's first element from its buffer base. */
	size_t first_offset;
	/** Number of tiles. */
	size_t ntiles;
	/** CONTIGUOUS: bytes of one slot. IN_PLACE: span of a full tile. */
	size_t slot_bytes;
	/** Bytes of storage the tiling addresses (aml_tiling_bytes()). */
	size_t storage_bytes;
	/** Entries of axes: the dimensions with more than one tile. */
	size_t naxes;
	/** Divisions use magic (ntiles < 2^32 and 128-bit products). */
	int fast_division;
	/** Grid dimensions with more than one tile, fastest in id order first.
	 */
	struct aml_tiling_nd_axis axes[AML_LAYOUT_NDIMS_MAX];
	/** The array, as given to aml_tiling_nd_init(). */
	struct aml_layout array;
	/** Full tile dims (clipped to the array's with RESIZE). */
	size_t tile_dims[AML_LAYOUT_NDIMS_MAX];
	/** Tiles along each dimension. */
	size_t grid[AML_LAYOUT_NDIMS_MAX];
	/** Dims of the last (border) tile along each dimension, RESIZE size. */
	size_t last_dims[AML_LAYOUT_NDIMS_MAX];
	/** Id distance between neighbour tiles along each dimension. */
	size_t id_strides[AML_LAYOUT_NDIMS_MAX];
	enum aml_tiling_order order;
	enum aml_tiling_border border;
	enum aml_tiling_storage storage;
};

/** Declare storage for an nd tiling (see aml_tiling_nd_init()). */
#define AML_TILING_ND_DECL(name) struct aml_tiling_nd name

/**
 * The ops of nd tilings, for every shape. Init gives a handle a copy of
 * these whose tile_ptr is specialised for the tiling's shape (one indirect
 * call then runs straight-line code), so test a handle with
 * aml_tiling_is_nd(), not by comparing its ops with these.
 */
extern const struct aml_tiling_ops aml_tiling_nd_ops;

/**
 * Whether @p tiling is an nd tiling (made by aml_tiling_nd_init() or
 * aml_tiling_nd_create(), or a handle using aml_tiling_nd_ops).
 * @return true or false; false for NULL.
 */
bool aml_tiling_is_nd(const struct aml_tiling *tiling);

/**
 * Initialise an nd tiling of @p array. The tiling keeps a copy of the layout
 * (not a reference) and never touches the array's memory.
 *
 * @param[out] tiling the storage; untouched on error.
 * @param[in] array the array to tile (see aml/tiling.h for what CONTIGUOUS
 *            storage takes from it).
 * @param[in] tile_dims array->ndims tile dimensions, each >= 1; larger than
 *            the array's is allowed (one tile along that dimension).
 * @param tile_order how tiles are numbered.
 * @param border what the ragged border tiles are.
 * @param storage where the tiles are.
 * @return 0; AML_EINVAL for a NULL argument, an invalid @p array, a zero
 *         tile dimension, an unknown enum, IN_PLACE + PAD over an array
 *         whose strides leave no room for the padding, or a tiling whose
 *         storage would exceed PTRDIFF_MAX bytes.
 */
int aml_tiling_nd_init(struct aml_tiling_nd *tiling,
                       const struct aml_layout *array,
                       const size_t *tile_dims,
                       enum aml_tiling_order tile_order,
                       enum aml_tiling_border border,
                       enum aml_tiling_storage storage);

/**
 * Finalise an nd tiling. Frees nothing (init allocated nothing); the handle
 * stops working (its functions return AML_EINVAL) until the next init. NULL
 * is a no-op.
 */
void aml_tiling_nd_fini(struct aml_tiling_nd *tiling);

/**
 * aml_tiling_nd_init() into one allocation.
 * @param[out] out receives the tiling; NULL on error.
 * @param array,tile_dims,tile_order,border,storage as for
 *        aml_tiling_nd_init().
 * @return as aml_tiling_nd_init(), or AML_ENOMEM.
 */
int aml_tiling_nd_create(struct aml_tiling **out,
                         const struct aml_layout *array,
                         const size_t *tile_dims,
                         enum aml_tiling_order tile_order,
                         enum aml_tiling_border border,
                         enum aml_tiling_storage storage);

/**
 * Free a tiling from aml_tiling_nd_create() and set *tiling to NULL. NULL, a
 * pointer to NULL and a tiling of another kind are left alone (the last sets
 * aml_errno to AML_EINVAL).
 */
void aml_tiling_nd_destroy(struct aml_tiling **tiling);

#ifdef __cplusplus
}
#endif

#endif /* AML_TILING_ND_H */
