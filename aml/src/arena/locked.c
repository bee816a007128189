/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The locked arena (aml/arena/locked.h): one pthread mutex around every
 * call to the inner arena. The mutex is in the storage struct, where
 * every call finds it without a load more; the fork hook, a private type,
 * lives in a state that init allocates, behind a typed pointer
 * (docs/conventions.md: how storage structs hide their state).
 *
 * fork() (aml/src/fork.h): prepare takes the mutex, so the inner arena is
 * whole in the child; the child makes the mutex new.
 */
#include <pthread.h>
#include <stdlib.h>

#include <aml/arena/locked.h>
#include <aml/error.h>

#include "aml/src/fork.h"

struct aml_arena_locked_state {
	struct aml_fork_hook fork;
};

static pthread_mutex_t *locked_mutex(const struct aml_arena *arena)
{
	struct aml_arena_locked *self = arena->data;
	return &self->mutex;
}

static struct aml_arena *locked_inner(const struct aml_arena *arena)
{
	return ((struct aml_arena_locked *)arena->data)->inner;
}

static void *locked_alloc(struct aml_arena *arena, size_t size, size_t align)
{
	pthread_mutex_lock(locked_mutex(arena));
	void *p = aml_arena_aligned_alloc(locked_inner(arena), align, size);
	pthread_mutex_unlock(locked_mutex(arena));
	return p;
}

static int locked_release(struct aml_arena *arena, void *ptr)
{
	pthread_mutex_lock(locked_mutex(arena));
	int err = aml_arena_free(locked_inner(arena), ptr);
	pthread_mutex_unlock(locked_mutex(arena));
	return err;
}

static int
locked_usable_size(const struct aml_arena *arena, const void *ptr, size_t *out)
{
	pthread_mutex_lock(locked_mutex(arena));
	int err = aml_arena_usable_size(locked_inner(arena), ptr, out);
	pthread_mutex_unlock(locked_mutex(arena));
	return err;
}

static void *locked_resize(struct aml_arena *arena, void *ptr, size_t size)
{
	pthread_mutex_lock(locked_mutex(arena));
	void *p = aml_arena_realloc(locked_inner(arena), ptr, size);
	pthread_mutex_unlock(locked_mutex(arena));
	return p;
}

static int locked_reset(struct aml_arena *arena)
{
	pthread_mutex_lock(locked_mutex(arena));
	int err = aml_arena_reset(locked_inner(arena));
	pthread_mutex_unlock(locked_mutex(arena));
	return err;
}

static int locked_stats(const struct aml_arena *arena,
                        struct aml_arena_stats *out)
{
	pthread_mutex_lock(locked_mutex(arena));
	int err = aml_arena_stats(locked_inner(arena), out);
	pthread_mutex_unlock(locked_mutex(arena));
	return err;
}

static const struct aml_arena_ops aml_arena_locked_ops = {
        .alloc = locked_alloc,
        .release = locked_release,
        .usable_size = locked_usable_size,
        .resize = locked_resize,
        .reset = locked_reset,
        .stats = locked_stats,
};

int aml_arena_locked_init(struct aml_arena_locked *arena,
                          struct aml_arena *inner)
{
	/* Storage that holds a live arena is left to it (aml/src/fork.h). */
	if (arena == NULL || aml_fork_registered(AML_FORK_ARENA, arena))
		return AML_EINVAL;
	/* Finalised until the end: on error, fini skips the storage and
	 * every call refuses it, whatever it held. */
	*arena = (struct aml_arena_locked){.inner = NULL};
	if (inner == NULL || inner->ops == NULL)
		return AML_EINVAL;
	struct aml_arena_locked_state *state = malloc(sizeof(*state));
	if (state == NULL)
		return AML_ENOMEM;
	/* Only a lack of resources can fail a default mutex. */
	if (pthread_mutex_init(&arena->mutex, NULL) != 0) {
		free(state);
		return AML_ENOMEM;
	}
	arena->base.data = arena;
	arena->base.ops = &aml_arena_locked_ops;
	arena->inner = inner;
	arena->state = state;
	aml_fork_register_mutex(&state->fork, AML_FORK_ARENA, &arena->mutex,
	                        arena);
	return 0;
}

void aml_arena_locked_fini(struct aml_arena_locked *arena)
{
	if (arena == NULL || arena->inner == NULL)
		return; /* never initialised, or finalised already */
	aml_fork_unregister(&arena->state->fork);
	pthread_mutex_destroy(&arena->mutex);
	free(arena->state);
	arena->state = NULL;
	arena->inner = NULL;
	/* Every later call through the handle is AML_EINVAL, before any
	 * touches the destroyed mutex. */
	arena->base.ops = NULL;
}

int aml_arena_locked_create(struct aml_arena **out, struct aml_arena *inner)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_arena_locked *arena = malloc(sizeof(*arena));
	if (arena == NULL)
		return AML_ENOMEM;
	int err = aml_arena_locked_init(arena, inner);
	if (err != 0) {
		free(arena);
		return err;
	}
	*out = &arena->base;
	return 0;
}

void aml_arena_locked_destroy(struct aml_arena **arena)
{
	if (arena == NULL || *arena == NULL ||
	    (*arena)->ops != &aml_arena_locked_ops)
		return;
	struct aml_arena_locked *self = (*arena)->data;
	aml_arena_locked_fini(self);
	free(self);
	*arena = NULL;
}
