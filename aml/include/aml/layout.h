/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file layout.h
 * Layouts: how the elements of an N-dimensional array sit in memory.
 *
 * A struct aml_layout describes an array of up to AML_LAYOUT_NDIMS_MAX
 * dimensions: the size of one element, the number of elements along each
 * dimension, and the stride in bytes between neighbours along each
 * dimension. It is the shape the tilings (aml/tiling.h) cut into tiles and
 * the shape a copy engine moves.
 *
 * Coordinates always name the dimensions in the order they were given to
 * aml_layout_init(): coords[0] indexes dims[0], and so on. The storage order
 * says which dimension is fastest in memory:
 * - AML_LAYOUT_ORDER_C (row-major): the last dimension is contiguous;
 * - AML_LAYOUT_ORDER_FORTRAN (column-major): the first dimension is.
 * So the Fortran-order matrix of dims {m, n} and the C-order matrix of dims
 * {n, m} over the same bytes are each other's transpose.
 *
 * Strides may exceed the dense ones (padding, a pitched allocation), but
 * never fall below them: going from the fastest dimension to the slowest,
 * each stride is at least the previous stride times the previous dimension.
 * Views never overlap themselves.
 *
 * A layout is a plain value, like struct aml_bitmap: declare it on the stack
 * or in a struct, copy it by assignment, never free it. It does not own the
 * memory it describes. Nothing here allocates, and every function is O(ndims)
 * or better. Functions that fill a layout (init, slice, reshape) take it as
 * their first argument, as @p out, and leave it untouched on error; @p out may
 * alias the input layout.
 *
 * The base pointer may be NULL: the layout is then a shape only, whose byte
 * offsets (aml_layout_offset()) are still meaningful but which has no
 * addresses (aml_layout_address() fails with AML_EINVAL). Offsets are always
 * counted from the base given to aml_layout_init(), also for slices and
 * tiles, so they stay comparable across views of one buffer.
 *
 * Errors: AML_EINVAL for a NULL or malformed argument, AML_EDOM for
 * coordinates outside the array. Functions returning a pointer return NULL
 * and set aml_errno; functions returning a size_t return 0 (never a valid
 * answer) and set aml_errno. All functions are thread-safe on distinct
 * layouts and on a layout shared read-only.
 */
#ifndef AML_LAYOUT_H
#define AML_LAYOUT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most dimensions a layout has. */
#define AML_LAYOUT_NDIMS_MAX 8

/** Which dimension of a layout is contiguous in memory. */
enum aml_layout_order {
	/** Row-major: the last dimension is the fastest (C, numpy default). */
	AML_LAYOUT_ORDER_C,
	/** Column-major: the first dimension is the fastest (Fortran). */
	AML_LAYOUT_ORDER_FORTRAN,
};

/**
 * An N-dimensional array in memory. Read the public fields directly; change
 * them only through the aml_layout_*() functions.
 */
struct aml_layout {
	/* Read-only. */
	/** Bytes per element, >= 1. */
	size_t element_size;
	/** Number of dimensions, 1 to AML_LAYOUT_NDIMS_MAX. */
	size_t ndims;
	/** Storage order of the dimensions. */
	enum aml_layout_order order;
	/** Elements along each dimension, each >= 1; unused entries are 0. */
	size_t dims[AML_LAYOUT_NDIMS_MAX];
	/** Bytes between neighbours along each dimension; unused are 0. */
	size_t strides[AML_LAYOUT_NDIMS_MAX];
	/** @privatesection */
	/* Private: use aml_layout_address(), aml_layout_offset(). */
	/** The pointer given to aml_layout_init(); may be NULL. */
	void *base;
	/** Byte offset of element {0, ..., 0} from base (slices, tiles). */
	size_t origin;
};

/**
 * Describe an array.
 *
 * @param[out] out receives the layout; untouched on error.
 * @param[in] base address of the buffer holding the array, or NULL for a
 *            shape only (see the file comment). Not dereferenced.
 * @param order which dimension is contiguous.
 * @param element_size bytes per element, >= 1.
 * @param ndims number of dimensions, 1 to AML_LAYOUT_NDIMS_MAX.
 * @param[in] dims @p ndims element counts, each >= 1.
 * @param[in] strides NULL for a dense array, else @p ndims strides in bytes,
 *            at least the dense ones (see the file comment). They need not be
 *            multiples of @p element_size.
 * @return 0; AML_EINVAL for a NULL @p out or @p dims, an unknown @p order,
 *         @p element_size 0, @p ndims 0 or above AML_LAYOUT_NDIMS_MAX, a
 *         zero dimension, strides below the dense ones, or an array whose
 *         span (aml_layout_bytes()) would exceed PTRDIFF_MAX bytes.
 */
int aml_layout_init(struct aml_layout *out,
                    void *base,
                    enum aml_layout_order order,
                    size_t element_size,
                    size_t ndims,
                    const size_t *dims,
                    const size_t *strides);

/**
 * A sub-array: the box of @p dims elements starting at @p offsets, with the
 * same strides and order (a strided view, no copy). Its element {0, ...} is
 * element @p offsets of @p layout.
 *
 * @param[out] out receives the slice; may be @p layout; untouched on error.
 * @param[in] layout the array.
 * @param[in] offsets layout->ndims coordinates of the first element.
 * @param[in] dims layout->ndims element counts, each >= 1.
 * @return 0; AML_EINVAL for a NULL argument or a zero dimension; AML_EDOM if
 *         the box does not fit in the array (offsets[d] + dims[d] >
 *         layout->dims[d] for some d).
 */
int aml_layout_slice(struct aml_layout *out,
                     const struct aml_layout *layout,
                     const size_t *offsets,
                     const size_t *dims);

/**
 * The same elements, in the same storage order, seen with other dimensions:
 * element number k in storage order stays element number k. Only contiguous
 * layouts (aml_layout_is_contiguous()) can be reshaped; the result is dense.
 *
 * @param[out] out receives the new layout; may be @p layout; untouched on
 *             error.
 * @param[in] layout a contiguous layout.
 * @param ndims number of dimensions of the result, 1 to AML_LAYOUT_NDIMS_MAX.
 * @param[in] dims @p ndims element counts, each >= 1.
 * @return 0; AML_EINVAL for a NULL argument, bad @p ndims, a zero dimension,
 *         a layout that is not contiguous, or a different element count.
 */
int aml_layout_reshape(struct aml_layout *out,
                       const struct aml_layout *layout,
                       size_t ndims,
                       const size_t *dims);

/**
 * Byte offset of an element from the layout's buffer base (the pointer
 * given to aml_layout_init()). Works for shape-only layouts. O(ndims).
 *
 * @param[in] layout the array.
 * @param[in] coords layout->ndims coordinates.
 * @param[out] out receives the offset; untouched on error.
 * @return 0; AML_EINVAL for a NULL argument; AML_EDOM if a coordinate is
 *         outside the array.
 */
int aml_layout_offset(const struct aml_layout *layout,
                      const size_t *coords,
                      size_t *out);

/**
 * Address of an element. O(ndims), no allocation.
 *
 * @param[in] layout the array.
 * @param[in] coords layout->ndims coordinates.
 * @return the element's address; NULL with aml_errno = AML_EINVAL for a NULL
 *         argument or a shape-only layout, AML_EDOM for coordinates outside
 *         the array.
 */
void *aml_layout_address(const struct aml_layout *layout, const size_t *coords);

/**
 * Address of element {0, ..., 0}.
 * @return the address; NULL with aml_errno = AML_EINVAL for a NULL or
 *         shape-only layout.
 */
void *aml_layout_base(const struct aml_layout *layout);

/**
 * Number of elements: the product of the dimensions.
 * @return the count; 0 with aml_errno = AML_EINVAL for a NULL layout.
 */
size_t aml_layout_nelements(const struct aml_layout *layout);

/**
 * Span of the array in bytes: from the first byte of element {0, ..., 0}
 * to the last byte of the last element, padding between rows included and
 * padding after the last row excluded. A dense layout spans
 * aml_layout_nelements() * element_size bytes. The bytes a copy of the whole
 * span moves, and the bytes whose pages hold the array.
 * @return the span; 0 with aml_errno = AML_EINVAL for a NULL layout.
 */
size_t aml_layout_bytes(const struct aml_layout *layout);

/**
 * Are the elements one block of aml_layout_nelements() * element_size bytes,
 * in storage order with no gap? Strides of dimensions of size 1 do not
 * matter (a single row sliced out of a padded matrix is contiguous).
 * @return 1 if contiguous, 0 if not, AML_EINVAL for a NULL layout.
 */
int aml_layout_is_contiguous(const struct aml_layout *layout);

#ifdef __cplusplus
}
#endif

#endif /* AML_LAYOUT_H */
