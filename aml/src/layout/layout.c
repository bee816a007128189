/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Layouts: N-dimensional arrays described by dims and byte strides.
 *
 * A layout is a value (no ops table): there is one way to address an array
 * given its strides, and every consumer (tilings, copies, bindings) wants to
 * read the dims and strides directly, in a loop, without a call per element.
 *
 * Invariants of every layout this file produces, which the other functions
 * rely on instead of re-checking:
 * - 1 <= ndims <= AML_LAYOUT_NDIMS_MAX, element_size >= 1, dims[d] >= 1;
 * - strides are nested: from the fastest dimension to the slowest, strides
 *   [fastest] >= element_size and each next stride >= stride * dim of the
 *   previous one, so distinct coordinates never share a byte;
 * - origin + span fits in PTRDIFF_MAX, so no offset computation of an
 *   in-range coordinate overflows.
 * Slices keep the strides (nesting holds for smaller dims) and move origin;
 * reshapes produce dense strides.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <aml/error.h>
#include <aml/layout.h>

/* Index of the k-th fastest dimension (k = 0 is the contiguous one). */
static size_t layout_dim(enum aml_layout_order order, size_t ndims, size_t k)
{
	return order == AML_LAYOUT_ORDER_C ? ndims - 1 - k : k;
}

/* Cheap check that a layout was initialised: enough for safe indexing. */
static bool layout_is_sane(const struct aml_layout *layout)
{
	return layout != NULL && layout->ndims >= 1 &&
	       layout->ndims <= AML_LAYOUT_NDIMS_MAX &&
	       layout->element_size >= 1;
}

/* Dense strides of dims in order into strides; the caller checked sizes. */
static void layout_dense_strides(size_t *strides,
                                 enum aml_layout_order order,
                                 size_t element_size,
                                 size_t ndims,
                                 const size_t *dims)
{
	size_t stride = element_size;
	for (size_t k = 0; k < ndims; k++) {
		size_t d = layout_dim(order, ndims, k);
		strides[d] = stride;
		stride *= dims[d];
	}
}

int aml_layout_init(struct aml_layout *out,
                    void *base,
                    enum aml_layout_order order,
                    size_t element_size,
                    size_t ndims,
                    const size_t *dims,
                    const size_t *strides)
{
	if (out == NULL || dims == NULL || element_size == 0 || ndims == 0 ||
	    ndims > AML_LAYOUT_NDIMS_MAX)
		return AML_EINVAL;
	if (order != AML_LAYOUT_ORDER_C && order != AML_LAYOUT_ORDER_FORTRAN)
		return AML_EINVAL;

	/* Build in a local: an error leaves *out as it was. */
	struct aml_layout l = {
	        .element_size = element_size,
	        .ndims = ndims,
	        .order = order,
	        .base = base,
	        .origin = 0,
	};
	size_t dense = element_size; /* smallest legal stride of dim k */
	size_t span = element_size;
	for (size_t k = 0; k < ndims; k++) {
		size_t d = layout_dim(order, ndims, k);
		size_t stride = strides != NULL ? strides[d] : dense;
		size_t extent;
		if (dims[d] == 0 || stride < dense)
			return AML_EINVAL;
		if (__builtin_mul_overflow(stride, dims[d] - 1, &extent) ||
		    __builtin_add_overflow(span, extent, &span))
			return AML_EINVAL;
		/* The slowest stride bounds nothing, so it may not overflow. */
		if (k + 1 < ndims &&
		    __builtin_mul_overflow(stride, dims[d], &dense))
			return AML_EINVAL;
		l.dims[d] = dims[d];
		l.strides[d] = stride;
	}
	if (span > PTRDIFF_MAX)
		return AML_EINVAL;
	*out = l;
	return 0;
}

int aml_layout_slice(struct aml_layout *out,
                     const struct aml_layout *layout,
                     const size_t *offsets,
                     const size_t *dims)
{
	if (out == NULL || !layout_is_sane(layout) || offsets == NULL ||
	    dims == NULL)
		return AML_EINVAL;
	for (size_t d = 0; d < layout->ndims; d++) {
		if (dims[d] == 0)
			return AML_EINVAL;
	}
	size_t origin = layout->origin;
	for (size_t d = 0; d < layout->ndims; d++) {
		if (offsets[d] >= layout->dims[d] ||
		    dims[d] > layout->dims[d] - offsets[d])
			return AML_EDOM;
		origin += offsets[d] * layout->strides[d];
	}
	struct aml_layout l = *layout;
	memcpy(l.dims, dims, layout->ndims * sizeof(*dims));
	l.origin = origin;
	*out = l;
	return 0;
}

int aml_layout_is_contiguous(const struct aml_layout *layout)
{
	if (!layout_is_sane(layout))
		return AML_EINVAL;
	size_t dense = layout->element_size;
	for (size_t k = 0; k < layout->ndims; k++) {
		size_t d = layout_dim(layout->order, layout->ndims, k);
		/* Nobody steps along a dimension of size 1. */
		if (layout->dims[d] != 1 && layout->strides[d] != dense)
			return 0;
		dense *= layout->dims[d];
	}
	return 1;
}

size_t aml_layout_nelements(const struct aml_layout *layout)
{
	if (!layout_is_sane(layout)) {
		aml_errno = AML_EINVAL;
		return 0;
	}
	size_t n = 1;
	for (size_t d = 0; d < layout->ndims; d++)
		n *= layout->dims[d];
	return n;
}

int aml_layout_reshape(struct aml_layout *out,
                       const struct aml_layout *layout,
                       size_t ndims,
                       const size_t *dims)
{
	if (out == NULL || !layout_is_sane(layout) || dims == NULL ||
	    ndims == 0 || ndims > AML_LAYOUT_NDIMS_MAX)
		return AML_EINVAL;
	if (aml_layout_is_contiguous(layout) != 1)
		return AML_EINVAL;
	size_t n = 1;
	for (size_t d = 0; d < ndims; d++) {
		if (dims[d] == 0 || __builtin_mul_overflow(n, dims[d], &n))
			return AML_EINVAL;
	}
	if (n != aml_layout_nelements(layout))
		return AML_EINVAL;

	/* Same bytes, so the span cannot grow past the input's. */
	struct aml_layout l = {
	        .element_size = layout->element_size,
	        .ndims = ndims,
	        .order = layout->order,
	        .base = layout->base,
	        .origin = layout->origin,
	};
	memcpy(l.dims, dims, ndims * sizeof(*dims));
	layout_dense_strides(l.strides, l.order, l.element_size, ndims, dims);
	*out = l;
	return 0;
}

int aml_layout_offset(const struct aml_layout *layout,
                      const size_t *coords,
                      size_t *out)
{
	if (!layout_is_sane(layout) || coords == NULL || out == NULL)
		return AML_EINVAL;
	size_t offset = layout->origin;
	for (size_t d = 0; d < layout->ndims; d++) {
		if (coords[d] >= layout->dims[d])
			return AML_EDOM;
		offset += coords[d] * layout->strides[d];
	}
	*out = offset;
	return 0;
}

void *aml_layout_address(const struct aml_layout *layout, const size_t *coords)
{
	size_t offset;
	int err = layout_is_sane(layout) && layout->base == NULL
	                  ? AML_EINVAL
	                  : aml_layout_offset(layout, coords, &offset);
	if (err != 0) {
		aml_errno = err;
		return NULL;
	}
	return (char *)layout->base + offset;
}

void *aml_layout_base(const struct aml_layout *layout)
{
	if (!layout_is_sane(layout) || layout->base == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	return (char *)layout->base + layout->origin;
}

size_t aml_layout_bytes(const struct aml_layout *layout)
{
	if (!layout_is_sane(layout)) {
		aml_errno = AML_EINVAL;
		return 0;
	}
	size_t span = layout->element_size;
	for (size_t d = 0; d < layout->ndims; d++)
		span += (layout->dims[d] - 1) * layout->strides[d];
	return span;
}
