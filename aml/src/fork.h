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
 * already holds. Objects of one level never hold each other's locks.
 *
 * An object registers once its locks exist and unregisters before it
 * destroys them; neither may be called with an aml lock held (prepare holds
 * the registry's lock while it takes objects' locks).
 *
 * A library that takes its own locks inside aml's critical sections (the
 * jemalloc inside memkind, under a jemalloc arena's lock) must run its
 * prepare handler after aml's: pthread_atfork runs prepare handlers in the
 * reverse order of their registration, and such libraries register theirs
 * when they load, before aml's first object exists.
 */
#ifndef AML_SRC_FORK_H
#define AML_SRC_FORK_H

#include <stddef.h>

/* Levels, outermost first: a lock of one level may be held while a lock of
 * a later level is taken, never the other way. */
enum aml_fork_level {
	/* Calls the dma engine (and through it the emulator) under its
	 * lock. */
	AML_FORK_SCRATCHPAD,
	/* Locked arenas: call their inner arena, areas and devices (the
	 * emulator, rangesets) under their lock. */
	AML_FORK_ARENA,
	/* An area's record of its mappings: its unmap releases the pages
	 * through the device or topology under the record's lock. */
	AML_FORK_AREA,
	/* Dma engines: read the emulator's clocks under their lock. */
	AML_FORK_DMA,
	/* A topology's or device's record of its mappings: released through
	 * the topology's ops (the emulator) under the record's lock. */
	AML_FORK_RECORDS,
	/* An emulated machine's page table. */
	AML_FORK_EMULATOR,
	/* Locks under which no other aml lock is taken: an emulated
	 * machine's list of clocks, the host's measured bandwidth. */
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
};

/* The object that holds @p hook as its member @p member. */
#define AML_FORK_OBJECT(hook, type, member)                                    \
	((type *)(void *)((char *)(hook)-offsetof(type, member)))

/* Add an object whose locks exist; never fails. */
void aml_fork_register(struct aml_fork_hook *hook,
                       const struct aml_fork_ops *ops);

/* Remove it, before its locks go. */
void aml_fork_unregister(struct aml_fork_hook *hook);

#endif /* AML_SRC_FORK_H */
