/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The nd tiling: one implementation for 1d, 2d and nd grids of tiles.
 *
 * Init does all the arithmetic that does not depend on the tile: the grid,
 * the id stride of each dimension, the byte step from a tile to its
 * neighbour, the size of a full tile and of the whole storage, each checked
 * for overflow once. A lookup then only splits the id into grid coordinates
 * and takes a dot product.
 *
 * Splitting an id needs one division per dimension, and a 64-bit division
 * costs 10 to 40 cycles, more than the rest of a lookup. The split runs only
 * over the "axes", the dimensions with more than one tile (a 1d tiling of a
 * matrix divides nothing), and divides by multiplying with a precomputed
 * reciprocal: for n, d < 2^32, n / d = (ceil(2^64 / d) * n) >> 64 exactly
 * (Lemire, Kaser and Kurz, "Faster remainder by direct computation",
 * Software: Practice and Experience 49(6), 2019). Grids of 2^32 tiles or
 * more, and compilers without 128-bit products, fall back to '/'.
 *
 * The tiling holds no pointer to caller memory except the array's base,
 * which it never dereferences, so it is safe to copy or share read-only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/error.h>
#include <aml/layout.h>
#include <aml/tiling.h>
#include <aml/tiling/nd.h>

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 nd_u128;
#define ND_HAVE_U128 1
#else
#define ND_HAVE_U128 0
#endif

static const struct aml_tiling_nd *nd_of(const struct aml_tiling *tiling)
{
	return (const struct aml_tiling_nd *)tiling->data;
}

/*
 * How a lookup finds a tile's offset, chosen by init so that the common
 * shapes run straight-line code:
 * - LINEAR: id * linear_step (CONTIGUOUS storage, or at most one axis);
 * - AXES2, AXES3: two or three axes, reciprocal division;
 * - GENERAL: the loop over the axes.
 * Each has its own tile_ptr op (see nd_ops_for()).
 */
enum nd_path {
	ND_PATH_LINEAR,
	ND_PATH_AXES2,
	ND_PATH_AXES3,
	ND_PATH_GENERAL,
};

#if ND_HAVE_U128
/* n / d for n, d < 2^32, given magic = ceil(2^64 / d). */
static inline size_t nd_div_by_magic(uint64_t magic, size_t n)
{
	return (size_t)(((nd_u128)magic * n) >> 64);
}

/* n / axis->ntiles by reciprocal; only for tilings with fast_division. */
static inline size_t nd_fast_div(const struct aml_tiling_nd_axis *axis,
                                 size_t n)
{
	return nd_div_by_magic(axis->magic, n);
}
#endif

/* n / axis->ntiles, by reciprocal when the tiling allows it. */
static inline size_t nd_div(const struct aml_tiling_nd *nd,
                            const struct aml_tiling_nd_axis *axis,
                            size_t n)
{
#if ND_HAVE_U128
	if (nd->fast_division)
		return nd_fast_div(axis, n);
#else
	(void)nd;
#endif
	return n / axis->ntiles;
}

/*
 * Grid coordinates of a valid id into coords (every dimension written).
 * Grids of up to three axes that divide by reciprocal run unrolled.
 */
static void nd_split(const struct aml_tiling_nd *nd, size_t id, size_t *coords)
{
	for (size_t d = 0; d < nd->array.ndims; d++)
		coords[d] = 0;
	const struct aml_tiling_nd_axis *a = nd->axes;
	if (nd->naxes == 1) {
		coords[a[0].dim] = id;
		return;
	}
#if ND_HAVE_U128
	if (nd->fast_division && nd->naxes == 2) {
		size_t q = nd_fast_div(&a[0], id);
		coords[a[0].dim] = id - q * a[0].ntiles;
		coords[a[1].dim] = q;
		return;
	}
	if (nd->fast_division && nd->naxes == 3) {
		size_t q0 = nd_fast_div(&a[0], id);
		size_t q1 = nd_fast_div(&a[1], q0);
		coords[a[0].dim] = id - q0 * a[0].ntiles;
		coords[a[1].dim] = q0 - q1 * a[1].ntiles;
		coords[a[2].dim] = q1;
		return;
	}
#endif
	size_t rest = id;
	for (size_t k = 0; k < nd->naxes; k++) {
		const struct aml_tiling_nd_axis *axis = &a[k];
		size_t q = k + 1 < nd->naxes ? nd_div(nd, axis, rest) : 0;
		coords[axis->dim] = rest - q * axis->ntiles;
		rest = q;
	}
}

/*
 * Offsets by "carries": with q_k = id / id_stride_k, the coordinate along
 * axis k is q_k - ntiles_k * q_{k+1}, so the offset sum over k of
 * coordinate * byte_step regroups into the sum of q_k * carry_k, which
 * init precomputes. That is one multiply per axis instead of two, and the
 * q_k come straight from the id, not one from the other.
 */

/* n / axis->id_stride, by reciprocal when the tiling allows it. */
static inline size_t nd_div_prefix(const struct aml_tiling_nd *nd,
                                   const struct aml_tiling_nd_axis *axis,
                                   size_t n)
{
#if ND_HAVE_U128
	if (nd->fast_division)
		return nd_div_by_magic(axis->id_magic, n);
#else
	(void)nd;
#endif
	return n / axis->id_stride;
}

#if ND_HAVE_U128
/* The offset of tile id on the AXES2 and AXES3 paths. */
static inline size_t
nd_axes_delta(const struct aml_tiling_nd *nd, size_t id, size_t naxes)
{
	const struct aml_tiling_nd_axis *a = nd->axes;
	size_t delta = id * a[0].carry +
	               nd_div_by_magic(a[1].id_magic, id) * a[1].carry;
	if (naxes == 3)
		delta += nd_div_by_magic(a[2].id_magic, id) * a[2].carry;
	return delta;
}
#endif

/* The offset of tile id on the GENERAL path, where naxes >= 2. */
static size_t nd_tile_delta_general(const struct aml_tiling_nd *nd, size_t id)
{
	size_t delta = id * nd->axes[0].carry;
	for (size_t k = 1; k < nd->naxes; k++)
		delta +=
		        nd_div_prefix(nd, &nd->axes[k], id) * nd->axes[k].carry;
	return delta;
}

/* Byte offset of tile id (< ntiles) from the array's first element. */
static size_t nd_tile_delta(const struct aml_tiling_nd *nd, size_t id)
{
	switch (nd->path) {
	case ND_PATH_LINEAR:
		return id * nd->linear_step;
#if ND_HAVE_U128
	case ND_PATH_AXES2:
		return nd_axes_delta(nd, id, 2);
	case ND_PATH_AXES3:
		return nd_axes_delta(nd, id, 3);
#endif
	default:
		return nd_tile_delta_general(nd, id);
	}
}

/* Dims of the tile at coords: full, or the border size with RESIZE. */
static void nd_dims_at(const struct aml_tiling_nd *nd,
                       const size_t *coords,
                       bool valid_only,
                       size_t *out)
{
	bool clip = valid_only || nd->border == AML_TILING_RESIZE;
	for (size_t d = 0; d < nd->array.ndims; d++) {
		bool edge = coords[d] + 1 == nd->grid[d];
		out[d] = clip && edge ? nd->last_dims[d] : nd->tile_dims[d];
	}
}

/* ---- Ops ---- */

static size_t nd_ntiles(const struct aml_tiling *tiling)
{
	return nd_of(tiling)->ntiles;
}

static size_t nd_ndims(const struct aml_tiling *tiling)
{
	return nd_of(tiling)->array.ndims;
}

static int nd_grid_dims(const struct aml_tiling *tiling, size_t *out)
{
	const struct aml_tiling_nd *nd = nd_of(tiling);
	memcpy(out, nd->grid, nd->array.ndims * sizeof(*out));
	return 0;
}

static int
nd_tile_id(const struct aml_tiling *tiling, const size_t *coords, size_t *out)
{
	const struct aml_tiling_nd *nd = nd_of(tiling);
	size_t id = 0;
	for (size_t d = 0; d < nd->array.ndims; d++) {
		if (coords[d] >= nd->grid[d])
			return AML_EDOM;
		id += coords[d] * nd->id_strides[d];
	}
	*out = id;
	return 0;
}

static int
nd_tile_coords(const struct aml_tiling *tiling, size_t id, size_t *out)
{
	const struct aml_tiling_nd *nd = nd_of(tiling);
	if (id >= nd->ntiles)
		return AML_EDOM;
	nd_split(nd, id, out);
	return 0;
}

/* Out of line, so the hot path of tile_ptr keeps no register for it. */
static void *__attribute__((cold, noinline)) nd_tile_ptr_out_of_range(void)
{
	aml_errno = AML_EDOM;
	return NULL;
}

/*
 * The hottest op, one per path so that a lookup runs straight-line code:
 * init picks the ops table whose tile_ptr fits the tiling.
 */
static void *nd_tile_ptr_linear(const struct aml_tiling *tiling, size_t id)
{
	const struct aml_tiling_nd *nd = nd_of(tiling);
	if (__builtin_expect(id >= nd->ntiles, 0))
		return nd_tile_ptr_out_of_range();
	return nd->first + id * nd->linear_step;
}

#if ND_HAVE_U128
static void *nd_tile_ptr_axes2(const struct aml_tiling *tiling, size_t id)
{
	const struct aml_tiling_nd *nd = nd_of(tiling);
	if (__builtin_expect(id >= nd->ntiles, 0))
		return nd_tile_ptr_out_of_range();
	return nd->first + nd_axes_delta(nd, id, 2);
}

static void *nd_tile_ptr_axes3(const struct aml_tiling *tiling, size_t id)
{
	const struct aml_tiling_nd *nd = nd_of(tiling);
	if (__builtin_expect(id >= nd->ntiles, 0))
		return nd_tile_ptr_out_of_range();
	return nd->first + nd_axes_delta(nd, id, 3);
}
#endif

/* tile_ptr of aml_tiling_nd_ops: any path, and shape-only tilings. */
static void *nd_tile_ptr(const struct aml_tiling *tiling, size_t id)
{
	const struct aml_tiling_nd *nd = nd_of(tiling);
	if (nd->first == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	if (id >= nd->ntiles)
		return nd_tile_ptr_out_of_range();
	return nd->first + nd_tile_delta(nd, id);
}

static int
nd_tile_offset(const struct aml_tiling *tiling, size_t id, size_t *out)
{
	const struct aml_tiling_nd *nd = nd_of(tiling);
	if (id >= nd->ntiles)
		return AML_EDOM;
	*out = nd->first_offset + nd_tile_delta(nd, id);
	return 0;
}

static int nd_tile_dims(const struct aml_tiling *tiling, size_t id, size_t *out)
{
	const struct aml_tiling_nd *nd = nd_of(tiling);
	if (id >= nd->ntiles)
		return AML_EDOM;
	size_t coords[AML_LAYOUT_NDIMS_MAX];
	nd_split(nd, id, coords);
	nd_dims_at(nd, coords, false, out);
	return 0;
}

static int
nd_tile_valid_dims(const struct aml_tiling *tiling, size_t id, size_t *out)
{
	const struct aml_tiling_nd *nd = nd_of(tiling);
	if (id >= nd->ntiles)
		return AML_EDOM;
	size_t coords[AML_LAYOUT_NDIMS_MAX];
	nd_split(nd, id, coords);
	nd_dims_at(nd, coords, true, out);
	return 0;
}

static int
nd_tile_origin(const struct aml_tiling *tiling, size_t id, size_t *out)
{
	const struct aml_tiling_nd *nd = nd_of(tiling);
	if (id >= nd->ntiles)
		return AML_EDOM;
	size_t coords[AML_LAYOUT_NDIMS_MAX];
	nd_split(nd, id, coords);
	for (size_t d = 0; d < nd->array.ndims; d++)
		out[d] = coords[d] * nd->tile_dims[d];
	return 0;
}

/* Dense strides of dims in the array's storage order. */
static void nd_dense_strides(const struct aml_tiling_nd *nd,
                             const size_t *dims,
                             size_t *strides)
{
	size_t n = nd->array.ndims;
	size_t stride = nd->array.element_size;
	for (size_t k = 0; k < n; k++) {
		size_t d =
		        nd->array.order == AML_LAYOUT_ORDER_C ? n - 1 - k : k;
		strides[d] = stride;
		stride *= dims[d];
	}
}

static int nd_tile_layout(const struct aml_tiling *tiling,
                          size_t id,
                          struct aml_layout *out)
{
	const struct aml_tiling_nd *nd = nd_of(tiling);
	if (id >= nd->ntiles)
		return AML_EDOM;
	size_t coords[AML_LAYOUT_NDIMS_MAX];
	nd_split(nd, id, coords);
	/* The coordinates are known: no second split for the offset. */
	size_t delta = id * nd->slot_bytes;
	if (nd->storage == AML_TILING_IN_PLACE) {
		delta = 0;
		for (size_t k = 0; k < nd->naxes; k++)
			delta +=
			        coords[nd->axes[k].dim] * nd->axes[k].byte_step;
	}
	/* Every field is written: unused dims and strides stay 0. */
	struct aml_layout l = {
	        .element_size = nd->array.element_size,
	        .ndims = nd->array.ndims,
	        .order = nd->array.order,
	        .base = nd->array.base,
	        .origin = nd->first_offset + delta,
	};
	nd_dims_at(nd, coords, false, l.dims);
	if (nd->storage == AML_TILING_IN_PLACE)
		memcpy(l.strides, nd->array.strides, sizeof(l.strides));
	else
		nd_dense_strides(nd, l.dims, l.strides);
	*out = l;
	return 0;
}

static size_t nd_tile_bytes(const struct aml_tiling *tiling, size_t id)
{
	const struct aml_tiling_nd *nd = nd_of(tiling);
	if (id >= nd->ntiles) {
		aml_errno = AML_EDOM;
		return 0;
	}
	if (nd->border == AML_TILING_PAD)
		return nd->slot_bytes;
	size_t coords[AML_LAYOUT_NDIMS_MAX];
	size_t dims[AML_LAYOUT_NDIMS_MAX];
	nd_split(nd, id, coords);
	nd_dims_at(nd, coords, false, dims);
	size_t bytes = nd->array.element_size;
	for (size_t d = 0; d < nd->array.ndims; d++) {
		if (nd->storage == AML_TILING_CONTIGUOUS)
			bytes *= dims[d];
		else
			bytes += (dims[d] - 1) * nd->array.strides[d];
	}
	return bytes;
}

static size_t nd_bytes(const struct aml_tiling *tiling)
{
	return nd_of(tiling)->storage_bytes;
}

/* The ops of every path; only tile_ptr differs. */
#define ND_OPS(tile_ptr_op)                                                    \
	{                                                                      \
		.ntiles = nd_ntiles, .ndims = nd_ndims,                        \
		.grid_dims = nd_grid_dims, .tile_id = nd_tile_id,              \
		.tile_coords = nd_tile_coords, .tile_ptr = tile_ptr_op,        \
		.tile_offset = nd_tile_offset, .tile_bytes = nd_tile_bytes,    \
		.tile_dims = nd_tile_dims,                                     \
		.tile_valid_dims = nd_tile_valid_dims,                         \
		.tile_origin = nd_tile_origin, .tile_layout = nd_tile_layout,  \
		.bytes = nd_bytes,                                             \
	}

const struct aml_tiling_ops aml_tiling_nd_ops = ND_OPS(nd_tile_ptr);
static const struct aml_tiling_ops nd_ops_linear = ND_OPS(nd_tile_ptr_linear);
#if ND_HAVE_U128
static const struct aml_tiling_ops nd_ops_axes2 = ND_OPS(nd_tile_ptr_axes2);
static const struct aml_tiling_ops nd_ops_axes3 = ND_OPS(nd_tile_ptr_axes3);
#endif

/* The ops table for the path init chose. */
static const struct aml_tiling_ops *nd_ops_for(const struct aml_tiling_nd *nd)
{
	if (nd->first == NULL)
		return &aml_tiling_nd_ops;
	switch (nd->path) {
	case ND_PATH_LINEAR:
		return &nd_ops_linear;
#if ND_HAVE_U128
	case ND_PATH_AXES2:
		return &nd_ops_axes2;
	case ND_PATH_AXES3:
		return &nd_ops_axes3;
#endif
	default:
		return &aml_tiling_nd_ops;
	}
}

bool aml_tiling_is_nd(const struct aml_tiling *tiling)
{
	if (tiling == NULL)
		return false;
	const struct aml_tiling_ops *ops = tiling->ops;
	return ops == &aml_tiling_nd_ops || ops == &nd_ops_linear
#if ND_HAVE_U128
	       || ops == &nd_ops_axes2 || ops == &nd_ops_axes3
#endif
	        ;
}

/* ---- Construction ---- */

/* Index of the k-th fastest dimension of the array in storage. */
static size_t nd_storage_dim(const struct aml_layout *array, size_t k)
{
	return array->order == AML_LAYOUT_ORDER_C ? array->ndims - 1 - k : k;
}

/* Span of a box of dims[] elements with the array's strides, or SIZE_MAX. */
static size_t nd_strided_span(const struct aml_layout *array,
                              const size_t *dims)
{
	size_t span = array->element_size;
	for (size_t d = 0; d < array->ndims; d++) {
		size_t extent;
		if (__builtin_mul_overflow(dims[d] - 1, array->strides[d],
		                           &extent) ||
		    __builtin_add_overflow(span, extent, &span))
			return SIZE_MAX;
	}
	return span;
}

/*
 * Sizes of IN_PLACE storage. With PAD, the padded extent of each dimension
 * but the slowest must fit under the next stride, or padding would alias the
 * next row's elements.
 */
static int nd_size_in_place(struct aml_tiling_nd *nd)
{
	const struct aml_layout *a = &nd->array;
	size_t padded[AML_LAYOUT_NDIMS_MAX];
	for (size_t k = 0; k < a->ndims; k++) {
		size_t d = nd_storage_dim(a, k);
		padded[d] = nd->border == AML_TILING_PAD
		                    ? nd->grid[d] * nd->tile_dims[d]
		                    : a->dims[d];
		size_t extent;
		if (__builtin_mul_overflow(padded[d], a->strides[d], &extent))
			return AML_EINVAL;
		if (k + 1 < a->ndims &&
		    extent > a->strides[nd_storage_dim(a, k + 1)])
			return AML_EINVAL;
	}
	nd->slot_bytes = nd_strided_span(a, nd->tile_dims);
	nd->storage_bytes = nd_strided_span(a, padded);
	return 0;
}

static int nd_size_contiguous(struct aml_tiling_nd *nd)
{
	size_t slot = nd->array.element_size;
	for (size_t d = 0; d < nd->array.ndims; d++) {
		if (__builtin_mul_overflow(slot, nd->tile_dims[d], &slot))
			return AML_EINVAL;
	}
	nd->slot_bytes = slot;
	if (__builtin_mul_overflow(slot, nd->ntiles, &nd->storage_bytes))
		return AML_EINVAL;
	return 0;
}

/* Axes in id order, fastest first, and the id stride of every dimension. */
static void nd_make_axes(struct aml_tiling_nd *nd)
{
	size_t n = nd->array.ndims;
	size_t id_stride = 1;
	nd->naxes = 0;
	for (size_t k = 0; k < n; k++) {
		size_t d =
		        nd->order == AML_TILING_ORDER_ROW_MAJOR ? n - 1 - k : k;
		nd->id_strides[d] = id_stride;
		if (nd->grid[d] >= 2) {
			struct aml_tiling_nd_axis axis = {
			        .ntiles = nd->grid[d],
			        /* ceil(2^64 / x) for x >= 2 cannot overflow. */
			        .magic = UINT64_MAX / nd->grid[d] + 1,
			        .byte_step =
			                nd->storage == AML_TILING_IN_PLACE
			                        ? nd->tile_dims[d] *
			                                  nd->array.strides[d]
			                        : 0,
			        .dim = d,
			        .id_stride = id_stride,
			        .id_magic = id_stride >= 2
			                            ? UINT64_MAX / id_stride + 1
			                            : 0,
			};
			/* Wraps modulo 2^64 when negative; the sum comes out
			 * right because the true offset fits. */
			axis.carry = axis.byte_step;
			if (nd->naxes > 0) {
				const struct aml_tiling_nd_axis *faster =
				        &nd->axes[nd->naxes - 1];
				axis.carry -=
				        faster->ntiles * faster->byte_step;
			}
			nd->axes[nd->naxes++] = axis;
		}
		id_stride *= nd->grid[d];
	}
}

static void nd_choose_path(struct aml_tiling_nd *nd)
{
	nd->linear_step = 0;
	if (nd->storage == AML_TILING_CONTIGUOUS) {
		nd->path = ND_PATH_LINEAR;
		nd->linear_step = nd->slot_bytes;
	} else if (nd->naxes <= 1) {
		/* No axis: a single tile, whose id is 0. */
		nd->path = ND_PATH_LINEAR;
		nd->linear_step = nd->naxes == 1 ? nd->axes[0].byte_step : 0;
	} else if (nd->fast_division && nd->naxes == 2) {
		nd->path = ND_PATH_AXES2;
	} else if (nd->fast_division && nd->naxes == 3) {
		nd->path = ND_PATH_AXES3;
	} else {
		nd->path = ND_PATH_GENERAL;
	}
}

static bool nd_enums_are_valid(enum aml_tiling_order tile_order,
                               enum aml_tiling_border border,
                               enum aml_tiling_storage storage)
{
	return (tile_order == AML_TILING_ORDER_ROW_MAJOR ||
	        tile_order == AML_TILING_ORDER_COLUMN_MAJOR) &&
	       (border == AML_TILING_PAD || border == AML_TILING_RESIZE) &&
	       (storage == AML_TILING_IN_PLACE ||
	        storage == AML_TILING_CONTIGUOUS);
}

int aml_tiling_nd_init(struct aml_tiling_nd *tiling,
                       const struct aml_layout *array,
                       const size_t *tile_dims,
                       enum aml_tiling_order tile_order,
                       enum aml_tiling_border border,
                       enum aml_tiling_storage storage)
{
	if (tiling == NULL || array == NULL || tile_dims == NULL ||
	    !nd_enums_are_valid(tile_order, border, storage))
		return AML_EINVAL;

	/* Build in a local (errors leave *tiling untouched). Re-validating the
	 * layout through init catches uninitialised or hand-edited ones. */
	struct aml_tiling_nd nd = {
	        .order = tile_order,
	        .border = border,
	        .storage = storage,
	};
	if (aml_layout_init(&nd.array, array->base, array->order,
	                    array->element_size, array->ndims, array->dims,
	                    array->strides) != 0 ||
	    array->origin > PTRDIFF_MAX)
		return AML_EINVAL;
	nd.array.origin = array->origin;

	nd.ntiles = 1;
	for (size_t d = 0; d < array->ndims; d++) {
		size_t dim = array->dims[d];
		size_t tile = tile_dims[d];
		if (tile == 0)
			return AML_EINVAL;
		if (border == AML_TILING_RESIZE && tile > dim)
			tile = dim;
		nd.tile_dims[d] = tile;
		nd.grid[d] = (dim - 1) / tile + 1;
		nd.last_dims[d] = dim - (nd.grid[d] - 1) * tile;
		/* Cannot overflow: ntiles <= elements, and those fit. */
		nd.ntiles *= nd.grid[d];
	}

	int err = storage == AML_TILING_IN_PLACE ? nd_size_in_place(&nd)
	                                         : nd_size_contiguous(&nd);
	if (err != 0 || nd.storage_bytes > PTRDIFF_MAX ||
	    nd.array.origin > PTRDIFF_MAX - nd.storage_bytes)
		return AML_EINVAL;
	nd_make_axes(&nd);
	nd.fast_division = ND_HAVE_U128 && nd.ntiles <= UINT32_MAX;
	nd_choose_path(&nd);
	nd.first_offset = nd.array.origin;
	nd.first = array->base != NULL ? (char *)array->base + array->origin
	                               : NULL;
	nd.base = (struct aml_tiling){.ops = nd_ops_for(&nd), .data = tiling};
	*tiling = nd;
	return 0;
}

void aml_tiling_nd_fini(struct aml_tiling_nd *tiling)
{
	if (tiling == NULL)
		return;
	/* Nothing to free; make later use fail cleanly instead of working. */
	tiling->base.ops = NULL;
	tiling->base.data = NULL;
}

int aml_tiling_nd_create(struct aml_tiling **out,
                         const struct aml_layout *array,
                         const size_t *tile_dims,
                         enum aml_tiling_order tile_order,
                         enum aml_tiling_border border,
                         enum aml_tiling_storage storage)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_tiling_nd *tiling = malloc(sizeof(*tiling));
	if (tiling == NULL)
		return AML_ENOMEM;
	int err = aml_tiling_nd_init(tiling, array, tile_dims, tile_order,
	                             border, storage);
	if (err != 0) {
		free(tiling);
		return err;
	}
	*out = &tiling->base;
	return 0;
}

void aml_tiling_nd_destroy(struct aml_tiling **tiling)
{
	if (tiling == NULL || *tiling == NULL)
		return;
	if (!aml_tiling_is_nd(*tiling)) {
		aml_errno = AML_EINVAL; /* not ours: leave it alone */
		return;
	}
	struct aml_tiling_nd *self = (*tiling)->data;
	aml_tiling_nd_fini(self);
	free(self);
	*tiling = NULL;
}
