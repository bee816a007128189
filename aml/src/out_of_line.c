/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Out-of-line twins of the API's static inline functions.
 *
 * aml_arena_malloc(), aml_arena_free() and aml_tiling_tile_ptr() are
 * static inline in their headers, as they are the calls of inner loops. A
 * binding (Fortran, Python's ctypes, dlsym) can only call a symbol, so
 * libaml.so also exports a function of each name. Each twin is the inline
 * body itself: the headers are included with the inline names renamed, and
 * the twin calls the renamed copy, so the two can never disagree.
 */
#define aml_arena_malloc    aml_arena_malloc_inline
#define aml_arena_free      aml_arena_free_inline
#define aml_tiling_tile_ptr aml_tiling_tile_ptr_inline

#include <aml/arena.h>
#include <aml/tiling.h>

#undef aml_arena_malloc
#undef aml_arena_free
#undef aml_tiling_tile_ptr

/* The prototypes the headers would give, had the names not been renamed. */
void *aml_arena_malloc(struct aml_arena *arena, size_t size);
int aml_arena_free(struct aml_arena *arena, void *ptr);
void *aml_tiling_tile_ptr(const struct aml_tiling *tiling, size_t id);

void *aml_arena_malloc(struct aml_arena *arena, size_t size)
{
	return aml_arena_malloc_inline(arena, size);
}

int aml_arena_free(struct aml_arena *arena, void *ptr)
{
	return aml_arena_free_inline(arena, ptr);
}

void *aml_tiling_tile_ptr(const struct aml_tiling *tiling, size_t id)
{
	return aml_tiling_tile_ptr_inline(tiling, id);
}
