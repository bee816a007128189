/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An emulated machine across fork() (aml/src/fork.h). Prepare takes the
 * read lock, not the write lock: it must exclude maps, unmaps and moves,
 * which change the page table, but not copies and charges, which only read
 * it, so a fork does not wait for copies in flight (the read lock is
 * preferred over waiting writers). In the child, threads that were copying
 * are gone with their read locks, and the forking thread holds one: the
 * lock and the clocks' mutex are made new. The clocks of threads that are
 * gone stay in the list, freed with the machine.
 */
#include "aml/src/fork.h"

#include <pthread.h>

#include "emulator/emulator_internal.h"

static struct emu_machine *emu_forked(struct aml_fork_hook *hook)
{
	return AML_FORK_OBJECT(hook, struct emu_machine, fork);
}

static void emu_fork_prepare(struct aml_fork_hook *hook)
{
	struct emu_machine *m = emu_forked(hook);
	pthread_rwlock_rdlock(&m->lock);
	pthread_mutex_lock(&m->clocks_lock);
}

static void emu_fork_parent(struct aml_fork_hook *hook)
{
	struct emu_machine *m = emu_forked(hook);
	pthread_mutex_unlock(&m->clocks_lock);
	pthread_rwlock_unlock(&m->lock);
}

static void emu_fork_child(struct aml_fork_hook *hook)
{
	struct emu_machine *m = emu_forked(hook);
	pthread_mutex_init(&m->clocks_lock, NULL);
	pthread_rwlock_init(&m->lock, NULL);
	/* The parent's userfaultfd and fault thread are not this process's:
	 * its first map opens its own (fault.c). */
	m->uffd_pid = 0;
}

const struct aml_fork_ops emu_fork_ops = {
        .level = AML_FORK_EMULATOR,
        .prepare = emu_fork_prepare,
        .parent = emu_fork_parent,
        .child = emu_fork_child,
};
