/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fork registry (aml/src/fork.h): one list of hooks per level, and the
 * pthread_atfork handlers that walk them. The registry's own mutex is taken
 * first in prepare and made new in the child, like every other lock.
 */
#include "aml/src/fork.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static struct aml_fork_hook *fork_hooks[AML_FORK_LEVELS];

/*
 * Whether pthread_atfork took the handlers. Every registration tries until
 * one succeeds: pthread_atfork fails for lack of memory, and a failure once
 * must not switch fork support off for good. No lock guards the attempt:
 * a fork() while a thread holds one around pthread_atfork (which waits for
 * the fork's own lock) would leave it held in a child that no handler of
 * ours repairs, and the child's first registration would deadlock. So two
 * threads that register at once may both install the handlers; the depth
 * below makes the second set a no-op.
 */
static atomic_bool fork_installed;

/*
 * Handler sets run so far in this fork, in the forking thread (the C
 * library runs the handlers of one fork in the thread that forks, and the
 * child's in its only thread, a copy of it). The outermost set does the
 * work: prepare handlers run in the reverse order of their installation,
 * parent and child handlers in that order, so a second set nests inside
 * the first.
 */
static _Thread_local unsigned fork_depth;

static void fork_prepare(void)
{
	if (fork_depth++ > 0)
		return;
	pthread_mutex_lock(&fork_lock);
	for (size_t level = 0; level < AML_FORK_LEVELS; level++)
		for (struct aml_fork_hook *h = fork_hooks[level]; h != NULL;
		     h = h->next)
			h->ops->prepare(h);
}

static void fork_parent(void)
{
	if (--fork_depth > 0)
		return;
	for (size_t level = AML_FORK_LEVELS; level-- > 0;)
		for (struct aml_fork_hook *h = fork_hooks[level]; h != NULL;
		     h = h->next)
			h->ops->parent(h);
	pthread_mutex_unlock(&fork_lock);
}

static void fork_child(void)
{
	if (--fork_depth > 0)
		return;
	/* Each handler repairs its own object and calls no other: none of
	 * them may rely on another object being repaired already. */
	for (size_t level = 0; level < AML_FORK_LEVELS; level++)
		for (struct aml_fork_hook *h = fork_hooks[level]; h != NULL;
		     h = h->next)
			h->ops->child(h);
	pthread_mutex_init(&fork_lock, NULL);
	/* The handlers ran, so they are installed, even if the thread that
	 * installed them had not recorded it yet at the fork. */
	atomic_store_explicit(&fork_installed, true, memory_order_relaxed);
}

/* Install the handlers unless done; without memory for them, the registry
 * works as before, without fork support, until a later registration
 * installs them. */
static void fork_install(void)
{
	if (atomic_load_explicit(&fork_installed, memory_order_relaxed))
		return;
	if (pthread_atfork(fork_prepare, fork_parent, fork_child) == 0)
		atomic_store_explicit(&fork_installed, true,
		                      memory_order_relaxed);
}

void aml_fork_register_object(struct aml_fork_hook *hook,
                              const struct aml_fork_ops *ops,
                              const void *key,
                              pthread_mutex_t *mutex)
{
	fork_install();
	hook->ops = ops;
	hook->key = key;
	hook->mutex = mutex;
	hook->prev = NULL;
	pthread_mutex_lock(&fork_lock);
	/* At the head: see "newest first" in fork.h. */
	hook->next = fork_hooks[ops->level];
	if (hook->next != NULL)
		hook->next->prev = hook;
	fork_hooks[ops->level] = hook;
	pthread_mutex_unlock(&fork_lock);
}

void aml_fork_register(struct aml_fork_hook *hook,
                       const struct aml_fork_ops *ops)
{
	aml_fork_register_object(hook, ops, NULL, NULL);
}

void aml_fork_mutex_prepare(struct aml_fork_hook *hook)
{
	pthread_mutex_lock(hook->mutex);
}

void aml_fork_mutex_parent(struct aml_fork_hook *hook)
{
	pthread_mutex_unlock(hook->mutex);
}

void aml_fork_mutex_child(struct aml_fork_hook *hook)
{
	pthread_mutex_init(hook->mutex, NULL);
}

#define FORK_MUTEX_OPS(lvl)                                                    \
	[lvl] = {.level = lvl,                                                 \
	         .prepare = aml_fork_mutex_prepare,                            \
	         .parent = aml_fork_mutex_parent,                              \
	         .child = aml_fork_mutex_child}

static const struct aml_fork_ops fork_mutex_ops[AML_FORK_LEVELS] = {
        FORK_MUTEX_OPS(AML_FORK_SCRATCHPAD), FORK_MUTEX_OPS(AML_FORK_ARENA),
        FORK_MUTEX_OPS(AML_FORK_AREA),       FORK_MUTEX_OPS(AML_FORK_DMA),
        FORK_MUTEX_OPS(AML_FORK_RECORDS),    FORK_MUTEX_OPS(AML_FORK_EMULATOR),
        FORK_MUTEX_OPS(AML_FORK_LEAF),
};

void aml_fork_register_mutex(struct aml_fork_hook *hook,
                             enum aml_fork_level level,
                             pthread_mutex_t *mutex,
                             const void *key)
{
	aml_fork_register_object(hook, &fork_mutex_ops[level], key, mutex);
}

bool aml_fork_registered(enum aml_fork_level level, const void *key)
{
	bool found = false;
	if (key == NULL)
		return false; /* rangesets have none */
	pthread_mutex_lock(&fork_lock);
	for (const struct aml_fork_hook *h = fork_hooks[level];
	     h != NULL && !found; h = h->next)
		found = h->key == key;
	pthread_mutex_unlock(&fork_lock);
	return found;
}

void aml_fork_unregister(struct aml_fork_hook *hook)
{
	pthread_mutex_lock(&fork_lock);
	if (hook->prev != NULL)
		hook->prev->next = hook->next;
	else
		fork_hooks[hook->ops->level] = hook->next;
	if (hook->next != NULL)
		hook->next->prev = hook->prev;
	pthread_mutex_unlock(&fork_lock);
	hook->prev = hook->next = NULL;
}
