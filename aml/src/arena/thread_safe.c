/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * aml's default thread-safe arena (aml/arena.h): the one place that says
 * which implementation threads get when they share an arena and did not
 * pick one. It is the scalable arena (issue 17): no lock on its common
 * paths, where the locked arena takes a mutex on every call and the
 * jemalloc arena needs memkind and takes memkind's locks (docs/arena.md).
 */
#include <stddef.h>

#include <aml/arena.h>
#include <aml/arena/scalable.h>
#include <aml/error.h>

int aml_arena_thread_safe_create(struct aml_arena **out,
                                 const struct aml_area *area)
{
	return aml_arena_scalable_create(out, area);
}

void aml_arena_thread_safe_destroy(struct aml_arena **arena)
{
	aml_arena_scalable_destroy(arena);
}
