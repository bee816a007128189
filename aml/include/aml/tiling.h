/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file tiling.h
 * Tilings: an array (aml/layout.h) cut into a grid of equal tiles.
 *
 * A tiling divides each dimension d of an array of dims[d] elements into
 * ceil(dims[d] / tile_dims[d]) tiles, so the tiles form a grid of the same
 * number of dimensions as the array. Tiles are numbered 0 to ntiles - 1 in
 * the tiling's order:
 * - AML_TILING_ORDER_ROW_MAJOR: the last grid coordinate varies fastest;
 * - AML_TILING_ORDER_COLUMN_MAJOR: the first grid coordinate varies fastest.
 * Tile coordinates, like array coordinates, name the dimensions in the
 * array's order: tile {i, j} holds the elements {i * tile_dims[0] + x,
 * j * tile_dims[1] + y}. The tile order is independent of the array's
 * storage order.
 *
 * When tile_dims[d] does not divide dims[d], the last tiles along d are
 * ragged, and the border rule says what they are:
 * - AML_TILING_RESIZE: border tiles are smaller, they hold only array
 *   elements; every query reports their real size;
 * - AML_TILING_PAD: border tiles have the full tile size; the elements past
 *   the array's edge are padding, which belongs to no array element and whose
 *   content is undefined. Every query except aml_tiling_tile_valid_dims()
 *   reports the full size.
 *
 * The storage says where the tiles' elements are:
 * - AML_TILING_IN_PLACE: in the array itself; each tile is a strided view of
 *   the array (the array's strides). With PAD the array must have room for
 *   the padding: along every dimension but the slowest, the padded extent
 *   must fit in the pitch (strides), and the buffer must extend to
 *   aml_tiling_bytes() past the first element, beyond the array's last row.
 *   aml_tiling_nd_init() checks the first and returns AML_EINVAL otherwise;
 *   the second is the caller's promise.
 * - AML_TILING_CONTIGUOUS: tiles stored one after another from the array's
 *   base, each densely packed in the array's storage order, each in a slot of
 *   the size of a full tile: tile i starts at base + i * aml_tiling_tile_bytes
 *   (tiling, 0). A RESIZE border tile is packed with its own smaller dims at
 *   the start of its slot and the rest of the slot is unused; a PAD border
 *   tile fills its slot, padding included. The array layout then only gives
 *   the element size, the dims, the order and the base; its strides are not
 *   used. The buffer holds aml_tiling_bytes() bytes.
 *
 * A tile dimension larger than the array's is allowed: there is then one tile
 * along that dimension, of the array's size with RESIZE, of the tile's size
 * (mostly padding) with PAD. A tile dimension of 0 is AML_EINVAL.
 *
 * Lookups are O(ndims), never allocate and never lock: a tiling may be shared
 * read-only by any number of threads. Tiling ids are size_t; an id at or past
 * aml_tiling_ntiles() and tile coordinates outside the grid are AML_EDOM, a
 * NULL argument AML_EINVAL. Out-parameters are untouched on error. Functions
 * returning a pointer return NULL and set aml_errno; functions returning a
 * size_t return 0 (never a valid answer) and set aml_errno.
 *
 * Implementations: aml/tiling/nd.h (any number of dimensions, both orders,
 * both border rules, both storages).
 */
#ifndef AML_TILING_H
#define AML_TILING_H

#include <stddef.h>

#include <aml/error.h>
#include <aml/layout.h>

#ifdef __cplusplus
extern "C" {
#endif

/** How tiles are numbered. */
enum aml_tiling_order {
	/** The last tile coordinate varies fastest. */
	AML_TILING_ORDER_ROW_MAJOR,
	/** The first tile coordinate varies fastest. */
	AML_TILING_ORDER_COLUMN_MAJOR,
};

/** What the ragged tiles at the array's far edges are. */
enum aml_tiling_border {
	/** Border tiles keep the full tile size; the excess is padding. */
	AML_TILING_PAD,
	/** Border tiles shrink to the array's edge. */
	AML_TILING_RESIZE,
};

/** Where tiles are stored. */
enum aml_tiling_storage {
	/** Tiles are strided views into the array. */
	AML_TILING_IN_PLACE,
	/** Tiles are dense blocks one after another, one full tile apart. */
	AML_TILING_CONTIGUOUS,
};

struct aml_tiling;

/**
 * Operations of a tiling implementation. The generic functions check that
 * the handle, its ops and every pointer argument are non-NULL before calling
 * an op; the op checks ids and coordinates (AML_EDOM) and leaves
 * out-parameters untouched on error. Ops must not allocate.
 */
struct aml_tiling_ops {
	/** Number of tiles, >= 1. Required. */
	size_t (*ntiles)(const struct aml_tiling *tiling);
	/** Number of dimensions, 1 to AML_LAYOUT_NDIMS_MAX. Required. */
	size_t (*ndims)(const struct aml_tiling *tiling);
	/** Tiles along each dimension, into out[ndims]. Required. */
	int (*grid_dims)(const struct aml_tiling *tiling, size_t *out);
	/** Id of the tile at @p coords. Required. */
	int (*tile_id)(const struct aml_tiling *tiling,
	               const size_t *coords,
	               size_t *out);
	/** Grid coordinates of tile @p id. Required. */
	int (*tile_coords)(const struct aml_tiling *tiling,
	                   size_t id,
	                   size_t *out);
	/**
	 * Address of the first element of tile @p id. Required. @return NULL
	 * with aml_errno set on error.
	 */
	void *(*tile_ptr)(const struct aml_tiling *tiling, size_t id);
	/** Byte offset of tile @p id from the buffer's base. Optional. */
	int (*tile_offset)(const struct aml_tiling *tiling,
	                   size_t id,
	                   size_t *out);
	/** Bytes tile @p id spans in its storage. Required. 0 on error. */
	size_t (*tile_bytes)(const struct aml_tiling *tiling, size_t id);
	/** Elements along each dimension of tile @p id. Required. */
	int (*tile_dims)(const struct aml_tiling *tiling,
	                 size_t id,
	                 size_t *out);
	/** Dims of the part of tile @p id inside the array. Optional. */
	int (*tile_valid_dims)(const struct aml_tiling *tiling,
	                       size_t id,
	                       size_t *out);
	/** Array coordinates of the first element of tile @p id. Optional. */
	int (*tile_origin)(const struct aml_tiling *tiling,
	                   size_t id,
	                   size_t *out);
	/** Tile @p id as a layout. Required. */
	int (*tile_layout)(const struct aml_tiling *tiling,
	                   size_t id,
	                   struct aml_layout *out);
	/** Bytes of storage the tiling addresses. Optional; 0 on error. */
	size_t (*bytes)(const struct aml_tiling *tiling);
};

/** Generic tiling handle. Implementations fill both fields. */
struct aml_tiling {
	/** The implementation's operations. */
	const struct aml_tiling_ops *ops;
	/** The implementation's state. */
	void *data;
};

/**
 * Number of tiles.
 * @return ntiles >= 1; 0 with aml_errno = AML_EINVAL for a NULL tiling.
 */
size_t aml_tiling_ntiles(const struct aml_tiling *tiling);

/**
 * Number of dimensions of the array, of its tiles and of the grid.
 * @return 1 to AML_LAYOUT_NDIMS_MAX; AML_EINVAL for a NULL tiling.
 */
int aml_tiling_ndims(const struct aml_tiling *tiling);

/**
 * Number of tiles along each dimension.
 * @param tiling the tiling.
 * @param[out] out receives ndims counts.
 * @return 0; AML_EINVAL for a NULL argument.
 */
int aml_tiling_grid_dims(const struct aml_tiling *tiling, size_t *out);

/**
 * Id of the tile at grid coordinates @p coords. O(ndims).
 * @param tiling the tiling.
 * @param[in] coords ndims tile coordinates.
 * @param[out] out receives the id.
 * @return 0; AML_EINVAL for a NULL argument; AML_EDOM for coordinates outside
 *         the grid.
 */
int aml_tiling_tile_id(const struct aml_tiling *tiling,
                       const size_t *coords,
                       size_t *out);

/**
 * Grid coordinates of tile @p id; the inverse of aml_tiling_tile_id().
 * O(ndims), no division by a variable in the usual case (see nd.h).
 * @param tiling the tiling.
 * @param id a tile id, below aml_tiling_ntiles().
 * @param[out] out receives ndims tile coordinates.
 * @return 0; AML_EINVAL for a NULL argument; AML_EDOM if @p id >= ntiles.
 */
int aml_tiling_tile_coords(const struct aml_tiling *tiling,
                           size_t id,
                           size_t *out);

/**
 * Address of the first element of tile @p id (element {0, ..., 0} of its
 * tile layout): inside the array for IN_PLACE tiles, base + id * full tile
 * bytes for CONTIGUOUS ones. O(1) for CONTIGUOUS storage, O(ndims) for
 * IN_PLACE; no allocation.
 * @return the address; NULL with aml_errno = AML_EINVAL for a NULL tiling or
 *         one over a shape-only layout (use aml_tiling_tile_offset()),
 *         AML_EDOM if @p id >= ntiles.
 * @note Inline; libaml.so also exports it as a function, for bindings.
 */
static inline void *aml_tiling_tile_ptr(const struct aml_tiling *tiling,
                                        size_t id)
{
	/* Inline because it is the lookup of inner loops: one indirect call
	 * instead of two calls (bench/tiling_bench.cc measures both). */
	if (tiling != NULL && tiling->ops != NULL)
		return tiling->ops->tile_ptr(tiling, id);
	aml_errno = AML_EINVAL;
	return NULL;
}

/**
 * Byte offset of the first element of tile @p id from the base of the
 * buffer (the base given to aml_layout_init() for the array). Works for
 * shape-only layouts.
 * @param tiling the tiling.
 * @param id a tile id, below aml_tiling_ntiles().
 * @param[out] out receives the offset.
 * @return 0; AML_EINVAL for a NULL argument; AML_EDOM if @p id >= ntiles;
 *         AML_ENOTSUP if the implementation has no offsets.
 */
int aml_tiling_tile_offset(const struct aml_tiling *tiling,
                           size_t id,
                           size_t *out);

/**
 * Bytes tile @p id spans in its storage, from the first byte of its first
 * element to the last byte of its last element: for CONTIGUOUS storage the
 * packed size, which is what a copy of the tile moves (the full tile size
 * with PAD, the smaller size of a RESIZE border tile); for IN_PLACE storage
 * the strided span, gaps between rows included (the bytes whose pages hold
 * the tile).
 * @return the size; 0 with aml_errno = AML_EINVAL for a NULL tiling, AML_EDOM
 *         if @p id >= ntiles.
 */
size_t aml_tiling_tile_bytes(const struct aml_tiling *tiling, size_t id);

/**
 * Elements along each dimension of tile @p id: the full tile dims, except for
 * RESIZE border tiles.
 * @param tiling the tiling.
 * @param id a tile id, below aml_tiling_ntiles().
 * @param[out] out receives ndims counts.
 * @return 0; AML_EINVAL for a NULL argument; AML_EDOM if @p id >= ntiles.
 */
int aml_tiling_tile_dims(const struct aml_tiling *tiling,
                         size_t id,
                         size_t *out);

/**
 * Elements along each dimension of the part of tile @p id that lies inside
 * the array: aml_tiling_tile_dims() without the padding. Differs from it only
 * for PAD border tiles.
 * @param tiling the tiling.
 * @param id a tile id, below aml_tiling_ntiles().
 * @param[out] out receives ndims counts.
 * @return 0; AML_EINVAL for a NULL argument; AML_EDOM if @p id >= ntiles;
 *         AML_ENOTSUP if the implementation cannot tell.
 */
int aml_tiling_tile_valid_dims(const struct aml_tiling *tiling,
                               size_t id,
                               size_t *out);

/**
 * Array coordinates of the first element of tile @p id (tile coordinates
 * times the tile dims). With aml_tiling_tile_valid_dims() it gives the box of
 * the array a tile holds, e.g. for aml_layout_slice() of the source of a copy
 * into CONTIGUOUS tiles.
 * @param tiling the tiling.
 * @param id a tile id, below aml_tiling_ntiles().
 * @param[out] out receives ndims array coordinates.
 * @return 0; AML_EINVAL for a NULL argument; AML_EDOM if @p id >= ntiles;
 *         AML_ENOTSUP if the implementation cannot tell.
 */
int aml_tiling_tile_origin(const struct aml_tiling *tiling,
                           size_t id,
                           size_t *out);

/**
 * Tile @p id as a layout of the array's element size and order, with the
 * dims of aml_tiling_tile_dims(): for IN_PLACE storage a strided view with
 * the array's strides, for CONTIGUOUS storage a dense layout. Its base is the
 * array's, so aml_layout_offset() counts from the same buffer base, and a
 * tile of a shape-only array is shape-only. O(ndims), no allocation.
 * @param tiling the tiling.
 * @param id a tile id, below aml_tiling_ntiles().
 * @param[out] out receives the layout.
 * @return 0; AML_EINVAL for a NULL argument; AML_EDOM if @p id >= ntiles.
 */
int aml_tiling_tile_layout(const struct aml_tiling *tiling,
                           size_t id,
                           struct aml_layout *out);

/**
 * Bytes of storage the tiling addresses, from the first element of the
 * array: ntiles * full tile bytes for CONTIGUOUS storage (what to allocate
 * for a packed copy); for IN_PLACE storage the array's span, or with PAD the
 * span of the padded array.
 * @return the size; 0 with aml_errno = AML_EINVAL for a NULL tiling or
 *         AML_ENOTSUP if the implementation cannot tell.
 */
size_t aml_tiling_bytes(const struct aml_tiling *tiling);

/**
 * Loop over the tile ids of @p tiling in order, 0 to ntiles - 1, with @p id a
 * size_t declared by the macro. @p tiling is evaluated once; a NULL tiling
 * runs no iteration.
 */
#define AML_TILING_FOREACH(id, tiling)                                         \
	for (size_t id = 0, aml_tiling_n_##id = aml_tiling_ntiles(tiling);     \
	     id < aml_tiling_n_##id; id++)

#ifdef __cplusplus
}
#endif

#endif /* AML_TILING_H */
