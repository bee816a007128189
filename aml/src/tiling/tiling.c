/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic tiling functions: check the handle and the pointers, then call the
 * implementation's op. Ids and coordinates are checked by the op, which knows
 * the grid; checking them here would cost a second indirect call (ntiles) on
 * every lookup.
 */
#include <stddef.h>

#include <aml/error.h>
#include <aml/tiling.h>

static int tiling_is_usable(const struct aml_tiling *tiling)
{
	return tiling != NULL && tiling->ops != NULL;
}

size_t aml_tiling_ntiles(const struct aml_tiling *tiling)
{
	if (!tiling_is_usable(tiling)) {
		aml_errno = AML_EINVAL;
		return 0;
	}
	return tiling->ops->ntiles(tiling);
}

int aml_tiling_ndims(const struct aml_tiling *tiling)
{
	if (!tiling_is_usable(tiling))
		return AML_EINVAL;
	return (int)tiling->ops->ndims(tiling);
}

int aml_tiling_grid_dims(const struct aml_tiling *tiling, size_t *out)
{
	if (!tiling_is_usable(tiling) || out == NULL)
		return AML_EINVAL;
	return tiling->ops->grid_dims(tiling, out);
}

int aml_tiling_tile_id(const struct aml_tiling *tiling,
                       const size_t *coords,
                       size_t *out)
{
	if (!tiling_is_usable(tiling) || coords == NULL || out == NULL)
		return AML_EINVAL;
	return tiling->ops->tile_id(tiling, coords, out);
}

int aml_tiling_tile_coords(const struct aml_tiling *tiling,
                           size_t id,
                           size_t *out)
{
	if (!tiling_is_usable(tiling) || out == NULL)
		return AML_EINVAL;
	return tiling->ops->tile_coords(tiling, id, out);
}

int aml_tiling_tile_offset(const struct aml_tiling *tiling,
                           size_t id,
                           size_t *out)
{
	if (!tiling_is_usable(tiling) || out == NULL)
		return AML_EINVAL;
	if (tiling->ops->tile_offset == NULL)
		return AML_ENOTSUP;
	return tiling->ops->tile_offset(tiling, id, out);
}

size_t aml_tiling_tile_bytes(const struct aml_tiling *tiling, size_t id)
{
	if (!tiling_is_usable(tiling)) {
		aml_errno = AML_EINVAL;
		return 0;
	}
	return tiling->ops->tile_bytes(tiling, id);
}

int aml_tiling_tile_dims(const struct aml_tiling *tiling,
                         size_t id,
                         size_t *out)
{
	if (!tiling_is_usable(tiling) || out == NULL)
		return AML_EINVAL;
	return tiling->ops->tile_dims(tiling, id, out);
}

int aml_tiling_tile_valid_dims(const struct aml_tiling *tiling,
                               size_t id,
                               size_t *out)
{
	if (!tiling_is_usable(tiling) || out == NULL)
		return AML_EINVAL;
	if (tiling->ops->tile_valid_dims == NULL)
		return AML_ENOTSUP;
	return tiling->ops->tile_valid_dims(tiling, id, out);
}

int aml_tiling_tile_origin(const struct aml_tiling *tiling,
                           size_t id,
                           size_t *out)
{
	if (!tiling_is_usable(tiling) || out == NULL)
		return AML_EINVAL;
	if (tiling->ops->tile_origin == NULL)
		return AML_ENOTSUP;
	return tiling->ops->tile_origin(tiling, id, out);
}

int aml_tiling_tile_layout(const struct aml_tiling *tiling,
                           size_t id,
                           struct aml_layout *out)
{
	if (!tiling_is_usable(tiling) || out == NULL)
		return AML_EINVAL;
	return tiling->ops->tile_layout(tiling, id, out);
}

size_t aml_tiling_bytes(const struct aml_tiling *tiling)
{
	if (!tiling_is_usable(tiling)) {
		aml_errno = AML_EINVAL;
		return 0;
	}
	if (tiling->ops->bytes == NULL) {
		aml_errno = AML_ENOTSUP;
		return 0;
	}
	return tiling->ops->bytes(tiling);
}
