/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: what aml does across fork() (the contract is in aml/dma.h and
 * docs/dma.md).
 *
 * Every object that holds a lock registers a hook, embedded in the object,
 * with three handlers, which aml's pthread_atfork handlers run for every
 * registered object:
 * - prepare, before the fork: take the object's locks, so that no thread
 *   is inside one of its critical sections when the process is copied and
 *   the child gets consistent state;
 * - parent, after it: release them;
 * - child, in the child, whose only thread is the one that forked: make the
 *   locks (and condition variables) new, and repair what the threads that
 *   do not exist there left half done: chunks a worker was copying, a copy
 *   a waiter had taken, workers to start again.
 *
 * Registrations install aml's pthread_atfork handlers, each trying until
 * one succeeds (pthread_atfork fails only without memory; a fork before
 * then gets no help from aml); two that race may both install them, which
 * is harmless (fork.c).
 *
 * Prepare takes the locks level by level, in the order aml's code nests
 * them, so that it never waits for a thread that waits for a lock prepare
 * already holds. Within a level it takes them newest first: registration
 * puts an object at the head of its level's list. Objects of one level
 * hold each other's locks in one case only: a locked arena calls its inner
 * arena (a jemalloc arena or another locked arena, also AML_FORK_ARENA)
 * under its own lock. The inner arena must be initialised before the
 * wrapper and must outlive it, so it registered first and stays later in
 * the list, and prepare takes the wrapper's lock before the inner one's,
 * as a thread that calls through the wrapper does. Registration must keep
 * putting objects at the head for that.
 *
 * An object registers once its locks exist and unregisters before it
 * destroys them; neither may be called with an aml lock held (prepare holds
 * the registry's lock while it takes objects' locks).
 *
 * An object initialised in the caller's storage registers with that
 * storage as its key, and its init first asks aml_fork_registered()
 * whether the key is registered, refusing storage that holds a live object
 * (initialised twice without fini). The registry answers that, not the
 * storage: a _DECL variable holds garbage before its first init, so no
 * field of it, the hook included, can tell a live object from an
 * uninitialised one; the registry holds only hooks that registered and
 * have not unregistered. It costs a walk of one level's list per init, and
 * those levels hold few objects (engines, arenas, scratchpads). Rangesets,
 * always in memory their owner just allocated, register without a key.
 *
 * A library that takes its own locks inside aml's critical sections (the
 * jemalloc inside memkind, under a jemalloc arena's lock) must run its
 * prepare handler after aml's: pthread_atfork runs prepare handlers in the
 * reverse order of their registration, and such libraries register theirs
 * when they load, before aml's first object exists.
 */
#ifndef AML_SRC_FORK_H
#define AML_SRC_FORK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Levels, outermost first: a lock of one level may be held while a lock of
 * a later level is taken, never the other way. */
enum aml_fork_level {
	/* Scratchpads: call the dma engine (and through it the emulator)
	 * under their lock. */
	AML_FORK_SCRATCHPAD,
	/* Locked and jemalloc arenas: call their inner arena, areas and
	 * devices (the emulator, rangesets) under their lock. */
	AML_FORK_ARENA,
	/* An area's record of its mappings: its unmap releases the pages
	 * through the device or topology under the record's lock. */
	AML_FORK_AREA,
	/* Dma engines: read the emulator's clocks under their lock. */
	AML_FORK_DMA,
	/* A topology's or device's record of its mappings: released through
	 * the topology's ops (the emulator) under the record's lock. */
	AML_FORK_RECORDS,
	/* An emulated machine: its page table's lock (the read lock), then
	 * its list of clocks. */
	AML_FORK_EMULATOR,
	/* Locks under which no other aml lock is taken: the host's measured
	 * copy bandwidth (emulator/cost.c). */
	AML_FORK_LEAF,
	AML_FORK_LEVELS
};

struct aml_fork_hook;

struct aml_fork_ops {
	enum aml_fork_level level;
	/* Each handler gets the hook; the object is the one it is in. */
	void (*prepare)(struct aml_fork_hook *hook);
	void (*parent)(struct aml_fork_hook *hook);
	void (*child)(struct aml_fork_hook *hook);
};

/* Links of one object in the registry; the object owns the storage. */
struct aml_fork_hook {
	const struct aml_fork_ops *ops;
	struct aml_fork_hook *prev;
	struct aml_fork_hook *next;
	/* The caller's storage the object was initialised in, or NULL. */
	const void *key;
	/* The lock of the aml_fork_mutex_*() handlers, or NULL. */
	pthread_mutex_t *mutex;
};

/* The object that holds @p hook as its member @p member. */
#define AML_FORK_OBJECT(hook, type, member)                                    \
	((type *)(void *)((char *)(hook)-offsetof(type, member)))

/* Add an object whose locks exist, without a key; never fails. */
void aml_fork_register(struct aml_fork_hook *hook,
                       const struct aml_fork_ops *ops);

/* Add an object whose locks exist, initialised in storage @p key (NULL:
 * none), whose handlers may use @p mutex (NULL: none) through
 * hook->mutex; never fails. */
void aml_fork_register_object(struct aml_fork_hook *hook,
                              const struct aml_fork_ops *ops,
                              const void *key,
                              pthread_mutex_t *mutex);

/* Add an object of @p level whose only lock is @p mutex: prepare locks it,
 * parent unlocks it, child makes it new. @p key as above. */
void aml_fork_register_mutex(struct aml_fork_hook *hook,
                             enum aml_fork_level level,
                             pthread_mutex_t *mutex,
                             const void *key);

/* Handlers that lock, unlock and make new hook->mutex, for ops tables of
 * objects whose child handler must do more. */
void aml_fork_mutex_prepare(struct aml_fork_hook *hook);
void aml_fork_mutex_parent(struct aml_fork_hook *hook);
void aml_fork_mutex_child(struct aml_fork_hook *hook);

/* Whether an object of @p level registered with key @p key (not NULL) is
 * in the registry: its storage holds a live object. */
bool aml_fork_registered(enum aml_fork_level level, const void *key);

/* Remove it, before its locks go. */
void aml_fork_unregister(struct aml_fork_hook *hook);

#endif /* AML_SRC_FORK_H */
