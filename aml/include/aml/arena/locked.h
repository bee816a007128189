/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file locked.h
 * The locked arena: any arena behind a mutex, so that threads may share it.
 *
 * For a general-purpose arena shared by threads, use the default
 * thread-safe one instead (aml_arena_thread_safe_create() in aml/arena.h):
 * it takes no lock on its common paths. Wrap an arena for its own
 * semantics (a pool's one size, a bump arena's reset).
 *
 * Every operation takes the mutex, forwards to the inner arena through the
 * generic API, and releases the mutex. The inner arena stays owned by the
 * caller: it must outlive the locked one and must not be used directly
 * while wrapped.
 *
 * fork(): the child of a fork may use and finalise the arena, whatever
 * other threads were doing with it (aml/dma.h, "fork()"). For that, aml
 * keeps initialised arenas in a list: finalise the storage before it is
 * freed or goes out of scope.
 */
#ifndef AML_ARENA_LOCKED_H
#define AML_ARENA_LOCKED_H

#include <pthread.h>
#include <stddef.h>

#include <aml/arena.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Storage for one locked arena. Pass &x.base to the aml_arena_*()
 * functions. */
struct aml_arena_locked {
	/** Generic handle. Keep first. */
	struct aml_arena base;
	/** @privatesection */
	/* Private: use the aml_arena_locked_*() functions. */
	struct aml_arena *inner;
	/** Inline: every call takes it, and a pointer more would cost a
	 * load on each. */
	pthread_mutex_t mutex;
	/** aml's fork() registration (a private type), allocated by init. */
	struct aml_arena_locked_state *state;
};

/** Declare storage for a locked arena (see aml_arena_locked_init()). */
#define AML_ARENA_LOCKED_DECL(name) struct aml_arena_locked name

/**
 * Wrap @p inner.
 * @return 0; AML_EINVAL for NULL arguments or an inner arena without ops;
 *         AML_EINVAL for storage that holds a live arena (initialised, not
 *         finalised), which is left as it is; AML_ENOMEM if the mutex
 *         or its state cannot be made. On any other error a non-NULL @p arena
 * is left finalised, whatever it held: fini is a no-op on it and every call
 * through it AML_EINVAL.
 */
int aml_arena_locked_init(struct aml_arena_locked *arena,
                          struct aml_arena *inner);

/** Destroy the mutex; the inner arena is left as it is. The handle then
 * answers AML_EINVAL to every call until the storage is initialised again.
 * NULL and a second fini are no-ops. */
void aml_arena_locked_fini(struct aml_arena_locked *arena);

/**
 * aml_arena_locked_init() into one allocation.
 * @param[out] out receives the arena; NULL on error.
 * @param inner the arena to wrap, as for aml_arena_locked_init().
 * @return as aml_arena_locked_init(), or AML_ENOMEM.
 */
int aml_arena_locked_create(struct aml_arena **out, struct aml_arena *inner);

/** Finalise and free an arena from aml_arena_locked_create(); set *arena to
 * NULL. NULL, a pointer to NULL and an arena of another kind are left
 * alone. */
void aml_arena_locked_destroy(struct aml_arena **arena);

#ifdef __cplusplus
}
#endif

#endif /* AML_ARENA_LOCKED_H */
