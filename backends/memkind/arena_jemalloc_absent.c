/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The jemalloc arena when aml is built without memkind: the API of
 * aml/arena/jemalloc.h, where init and create report AML_ENOTSUP after the
 * same argument checks as the real one.
 */
#include <stddef.h>

#include <aml/arena/jemalloc.h>
#include <aml/error.h>

int aml_arena_jemalloc_init(struct aml_arena_jemalloc *arena,
                            const struct aml_area *area,
                            size_t region_size)
{
	if (arena == NULL || area == NULL)
		return AML_EINVAL;
	(void)region_size;
	return AML_ENOTSUP;
}

void aml_arena_jemalloc_fini(struct aml_arena_jemalloc *arena)
{
	(void)arena;
}

int aml_arena_jemalloc_create(struct aml_arena **out,
                              const struct aml_area *area,
                              size_t region_size)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	if (area == NULL)
		return AML_EINVAL;
	(void)region_size;
	return AML_ENOTSUP;
}

void aml_arena_jemalloc_destroy(struct aml_arena **arena)
{
	(void)arena;
}
