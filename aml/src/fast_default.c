/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one-call fast memory interface (aml/fast.h): one instance over
 * aml_topology_default(), so it belongs to the composition root.
 *
 * Made as the default topology is (topology_default.c): by the first call
 * that succeeds, with no lock held while it is made (a child forked
 * meanwhile must not inherit a taken lock), published by compare-and-swap;
 * a thread that loses the race destroys its own before anyone saw it. A
 * failure the environment or the machine decides stays the answer; one
 * that may pass (AML_ENOMEM) is tried again by the next call.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/error.h>
#include <aml/fast.h>
#include <aml/topology.h>

#include "aml/src/error_detail.h"
#include "aml/src/quote.h"

static struct aml_fast_memory *instance; /* atomic */
/* The final error, 0 while none (atomic). */
static int instance_error;
/* aml_fast_set_policy()'s, or -1 (atomic). */
static int requested_policy = -1;
/* aml_fast_set_pages()'s, or -1 (atomic). */
static int requested_pages = -1;

/* Why the instance could not be made; guarded by reason_lock. */
static char failure_reason[AML_FAST_REASON_MAX];
static pthread_mutex_t reason_lock = PTHREAD_MUTEX_INITIALIZER;

static void set_reason(const char *text)
{
	pthread_mutex_lock(&reason_lock);
	snprintf(failure_reason, sizeof(failure_reason), "%s", text);
	pthread_mutex_unlock(&reason_lock);
}

/* A setting chosen by a call, else by an environment variable's word,
 * else by default (choice_from_env). */
struct env_choice {
	/* The call's choice (atomic), or -1. */
	const int *requested;
	const char *variable;
	/* The word of each value below count, NULL for a value without. */
	const char *(*word)(int value);
	int count;
	int fallback;
	/* The words to use, for the error. */
	const char *hint;
};

/* c's value in *out; AML_EINVAL with the reason in why for a word the
 * variable does not take. */
static int
choice_from_env(const struct env_choice *c, int *out, char *why, size_t size)
{
	int asked = __atomic_load_n(c->requested, __ATOMIC_ACQUIRE);
	if (asked >= 0) {
		*out = asked;
		return 0;
	}
	const char *env = getenv(c->variable);
	*out = c->fallback;
	if (env == NULL || env[0] == '\0')
		return 0;
	for (int v = 0; v < c->count; v++) {
		const char *w = c->word(v);
		if (w != NULL && strcmp(env, w) == 0) {
			*out = v;
			return 0;
		}
	}
	char q[AML_ENV_QUOTE_SIZE];
	snprintf(why, size, "%s=%s: use %s", c->variable, aml_env_quote(q, env),
	         c->hint);
	return AML_EINVAL;
}

static const char *policy_word(int policy)
{
	return aml_fast_policy_name((enum aml_fast_policy)policy);
}

/* AML_FAST_PAGES's words, by kind; AML_PAGE_DEFAULT has none. */
static const char *page_word(int kind)
{
	static const char *const words[AML_PAGE_KIND_COUNT] = {
	        [AML_PAGE_BASE] = "base",
	        [AML_PAGE_TRANSPARENT_HUGE] = "thp",
	        [AML_PAGE_HUGETLB_2M] = "2M",
	        [AML_PAGE_HUGETLB_1G] = "1G",
	};
	return words[kind];
}

/* The policy: requested, else AML_FAST_POLICY, else PREFERRED. */
static const struct env_choice policy_choice = {
        .requested = &requested_policy,
        .variable = "AML_FAST_POLICY",
        .word = policy_word,
        .count = AML_FAST_POLICY_COUNT,
        .fallback = AML_FAST_PREFERRED,
        .hint = "preferred, bind, bind_all or interleave",
};

/* The pages: requested, else AML_FAST_PAGES, else the area's default. */
static const struct env_choice pages_choice = {
        .requested = &requested_pages,
        .variable = "AML_FAST_PAGES",
        .word = page_word,
        .count = AML_PAGE_KIND_COUNT,
        .fallback = AML_PAGE_DEFAULT,
        .hint = "base, thp, 2M or 1G",
};

/* The devices AML_FAST_NODES names (NUMA OS indices), as topology
 * indices in *out; *named false when the variable is unset. */
static int nodes_from_env(const struct aml_topology *t,
                          struct aml_bitmap *out,
                          bool *named,
                          char *why,
                          size_t size)
{
	const char *env = getenv("AML_FAST_NODES");
	*named = env != NULL && env[0] != '\0';
	if (!*named)
		return 0;
	char q[AML_ENV_QUOTE_SIZE];
	struct aml_bitmap nodes;
	if (aml_bitmap_parse(&nodes, env) != 0) {
		snprintf(why, size,
		         "AML_FAST_NODES=%s: not a list of NUMA nodes (e.g. "
		         "1,3 or 4-7)",
		         aml_env_quote(q, env));
		return AML_EINVAL;
	}
	aml_bitmap_zero(out);
	for (int node = aml_bitmap_first(&nodes); node >= 0;
	     node = aml_bitmap_next(&nodes, (size_t)node)) {
		const struct aml_device *d =
		        aml_topology_device_of_node(t, node);
		if (d == NULL) {
			snprintf(why, size,
			         "AML_FAST_NODES=%s: the topology has no NUMA "
			         "node %d",
			         aml_env_quote(q, env), node);
			return AML_EINVAL;
		}
		aml_bitmap_set(out, (size_t)aml_topology_index_of(t, d));
	}
	return 0;
}

static int instance_make(struct aml_fast_memory **out, char *why, size_t size)
{
	const struct aml_topology *t = aml_topology_default();
	if (t == NULL) {
		int err = aml_errno;
		snprintf(why, size, "no topology: %s", aml_strerror(err));
		return err;
	}
	struct aml_fast_options o = {0};
	int policy, pages;
	int err = choice_from_env(&policy_choice, &policy, why, size);
	if (err == 0)
		err = choice_from_env(&pages_choice, &pages, why, size);
	if (err != 0)
		return err;
	o.policy = (enum aml_fast_policy)policy;
	o.pages = (enum aml_page_kind)pages;
	struct aml_bitmap nodes;
	bool named;
	err = nodes_from_env(t, &nodes, &named, why, size);
	if (err != 0)
		return err;
	o.devices = named ? &nodes : NULL;
	err = aml_fast_memory_create(out, t, &o);
	if (err == AML_ENODEV)
		snprintf(why, size,
		         "no fast memory, which the %s policy needs: "
		         "no HBM device in the topology and AML_FAST_NODES "
		         "unset or empty",
		         aml_fast_policy_name(o.policy));
	else if (err != 0)
		snprintf(why, size, "%s", aml_strerror(err));
	return err;
}

/* instance_get() before the instance exists: make it, or say why not.
 * Out of line: inlined, its frame (a reason buffer, five saved
 * registers, a stack guard) was set up on every call, and a malloc plus
 * a free cost 13 ns instead of 6.2-6.9 (arena_bench, aml_fast rows). */
static struct aml_fast_memory *__attribute__((noinline))
instance_make_or_fail(void)
{
	struct aml_fast_memory *f = NULL;
	int err = __atomic_load_n(&instance_error, __ATOMIC_ACQUIRE);
	if (err != 0) {
		pthread_mutex_lock(&reason_lock);
		aml_error_explain(err, "fast memory: %s", failure_reason);
		pthread_mutex_unlock(&reason_lock);
	} else {
		char why[AML_FAST_REASON_MAX] = "";
		err = instance_make(&f, why, sizeof(why));
		if (err == 0) {
			struct aml_fast_memory *none = NULL;
			if (__atomic_compare_exchange_n(&instance, &none, f,
			                                false, __ATOMIC_ACQ_REL,
			                                __ATOMIC_ACQUIRE))
				return f;
			aml_fast_memory_destroy(&f);
			return none;
		}
		set_reason(why);
		aml_error_explain(err, "fast memory: %s", why);
		if (err != AML_ENOMEM)
			__atomic_store_n(&instance_error, err,
			                 __ATOMIC_RELEASE);
	}
	aml_errno = err;
	return NULL;
}

/* The instance, made if needed; NULL with aml_errno set. */
static inline struct aml_fast_memory *instance_get(void)
{
	struct aml_fast_memory *f =
	        __atomic_load_n(&instance, __ATOMIC_ACQUIRE);
	return __builtin_expect(f != NULL, 1) ? f : instance_make_or_fail();
}

int aml_fast_set_policy(enum aml_fast_policy policy)
{
	if ((unsigned)policy >= AML_FAST_POLICY_COUNT)
		return AML_EINVAL;
	if (__atomic_load_n(&instance, __ATOMIC_ACQUIRE) != NULL)
		return AML_EBUSY;
	__atomic_store_n(&requested_policy, (int)policy, __ATOMIC_RELEASE);
	return 0;
}

int aml_fast_set_pages(enum aml_page_kind pages)
{
	if ((unsigned)pages >= AML_PAGE_KIND_COUNT)
		return AML_EINVAL;
	if (__atomic_load_n(&instance, __ATOMIC_ACQUIRE) != NULL)
		return AML_EBUSY;
	__atomic_store_n(&requested_pages, (int)pages, __ATOMIC_RELEASE);
	return 0;
}

int aml_fast_get_policy(void)
{
	struct aml_fast_memory *f = instance_get();
	return f != NULL ? aml_fast_memory_policy(f) : aml_errno;
}

int aml_fast_available(char *reason, size_t size)
{
	struct aml_fast_memory *f = instance_get();
	if (f != NULL)
		return aml_fast_memory_available(f, reason, size);
	int err = aml_errno;
	if (reason != NULL && size > 0) {
		pthread_mutex_lock(&reason_lock);
		snprintf(reason, size, "%s", failure_reason);
		pthread_mutex_unlock(&reason_lock);
	}
	return err;
}

void *aml_fast_malloc(size_t size)
{
	struct aml_fast_memory *f = instance_get();
	return f != NULL ? aml_fast_memory_malloc(f, size) : NULL;
}

void *aml_fast_calloc(size_t n, size_t size)
{
	struct aml_fast_memory *f = instance_get();
	return f != NULL ? aml_fast_memory_calloc(f, n, size) : NULL;
}

int aml_fast_posix_memalign(void **out, size_t alignment, size_t size)
{
	struct aml_fast_memory *f = instance_get();
	return f != NULL
	               ? aml_fast_memory_posix_memalign(f, out, alignment, size)
	               : aml_errno;
}

void *aml_fast_realloc(void *ptr, size_t size)
{
	struct aml_fast_memory *f = instance_get();
	return f != NULL ? aml_fast_memory_realloc(f, ptr, size) : NULL;
}

void aml_fast_free(void *ptr)
{
	if (ptr == NULL)
		return;
	struct aml_fast_memory *f = instance_get();
	if (f != NULL)
		aml_fast_memory_free(f, ptr);
}

size_t aml_fast_usable_size(const void *ptr)
{
	struct aml_fast_memory *f = instance_get();
	return f != NULL ? aml_fast_memory_usable_size(f, ptr) : 0;
}

int aml_fast_locate(const void *ptr)
{
	struct aml_fast_memory *f = instance_get();
	return f != NULL ? aml_fast_memory_locate(f, ptr) : aml_errno;
}

int aml_fast_stats(struct aml_arena_usage *out)
{
	if (out == NULL)
		return AML_EINVAL;
	struct aml_fast_memory *f = instance_get();
	if (f == NULL) {
		*out = (struct aml_arena_usage){0};
		return aml_errno;
	}
	return aml_fast_memory_stats(f, out);
}

int aml_fast_set_cap(size_t cap_bytes)
{
	struct aml_fast_memory *f = instance_get();
	return f != NULL ? aml_fast_memory_set_cap(f, cap_bytes) : aml_errno;
}

int aml_fast_report(FILE *out)
{
	if (out == NULL)
		return AML_EINVAL;
	struct aml_fast_memory *f = instance_get();
	return f != NULL ? aml_fast_memory_report(f, out) : aml_errno;
}
