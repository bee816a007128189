/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fork registry (aml/src/fork.h): one list of hooks per level, and the
 * pthread_atfork handlers that walk them. The registry's own mutex is taken
 * first in prepare and made new in the child, like every other lock.
 */
#include "aml/src/fork.h"

#include <pthread.h>
#include <stddef.h>

static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static struct aml_fork_hook *fork_hooks[AML_FORK_LEVELS];
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
	pthread_mutex_lock(&fork_lock);
	for (size_t level = 0; level < AML_FORK_LEVELS; level++)
		for (struct aml_fork_hook *h = fork_hooks[level]; h != NULL;
		     h = h->next)
			h->ops->prepare(h);
}

static void fork_parent(void)
{
	for (size_t level = AML_FORK_LEVELS; level-- > 0;)
		for (struct aml_fork_hook *h = fork_hooks[level]; h != NULL;
		     h = h->next)
			h->ops->parent(h);
	pthread_mutex_unlock(&fork_lock);
}

static void fork_child(void)
{
	/* Each handler repairs its own object and calls no other: none of
	 * them may rely on another object being repaired already. */
	for (size_t level = 0; level < AML_FORK_LEVELS; level++)
		for (struct aml_fork_hook *h = fork_hooks[level]; h != NULL;
		     h = h->next)
			h->ops->child(h);
	pthread_mutex_init(&fork_lock, NULL);
}

static void fork_install(void)
{
	/* pthread_atfork fails only without memory for the handlers; the
	 * registry then works as before, without fork support. */
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void aml_fork_register(struct aml_fork_hook *hook,
                       const struct aml_fork_ops *ops)
{
	pthread_once(&fork_once, fork_install);
	hook->ops = ops;
	hook->prev = NULL;
	pthread_mutex_lock(&fork_lock);
	hook->next = fork_hooks[ops->level];
	if (hook->next != NULL)
		hook->next->prev = hook;
	fork_hooks[ops->level] = hook;
	pthread_mutex_unlock(&fork_lock);
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
