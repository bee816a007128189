/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The parallel engine's construction (aml/dma/par.h): options, init, fini,
 * create, destroy. The engine at work is par.c; its repair in a child of
 * fork(), par_fork.c.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <aml/copier.h>
#include <aml/dma/par.h>
#include <aml/error.h>

#include "aml/src/dma/copy_large.h"
#include "aml/src/dma/par_internal.h"
#include "aml/src/fork.h"
#include "aml/src/handle.h"

#define PAR_INLINE_MAX_DEFAULT ((size_t)16 << 10)
#define PAR_SPIN_NS_DEFAULT    50000

/* Whether the CPU has PREFETCHW (aml_dma_par_prefetch_write): CPUID
 * 0x80000001, ECX bit 8 (PRFCHW, AMD's 3DNowPrefetch). */
static bool par_has_prefetchw(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned int a, b, c, d;
	return __get_cpuid(0x80000001, &a, &b, &c, &d) != 0 &&
	       (c & (1u << 8)) != 0;
#else
	return false;
#endif
}

/* The CPUs the calling thread may run on, at least 1. */
static size_t par_cpus(void)
{
	cpu_set_t set;
	size_t cpus = 1;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		cpus = (size_t)CPU_COUNT(&set);
	return cpus > 1 ? cpus : 1;
}

static size_t par_default_workers(void)
{
	size_t cpus = par_cpus();
	return cpus > 1 ? cpus - 1 : 1;
}

/* options.cpus as a CPU set, less the CPUs this thread may not run on:
 * *pinned false for an empty set; AML_EINVAL if none is left. */
static int
par_pin_set(const struct aml_bitmap *cpus, cpu_set_t *out, bool *pinned)
{
	CPU_ZERO(out);
	*pinned = aml_bitmap_first(cpus) >= 0;
	if (!*pinned)
		return 0;
	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		return AML_EINVAL;
	for (int cpu = aml_bitmap_first(cpus); cpu >= 0;
	     cpu = aml_bitmap_next(cpus, (size_t)cpu))
		if (cpu < CPU_SETSIZE && CPU_ISSET(cpu, &allowed))
			CPU_SET(cpu, out);
	return CPU_COUNT(out) > 0 ? 0 : AML_EINVAL;
}

static int par_resolve(struct aml_dma_par_options *out,
                       cpu_set_t *pin_cpus,
                       bool *pinned,
                       const struct aml_dma_par_options *in)
{
	struct aml_dma_par_options o = {0};
	if (in != NULL)
		o = *in;
	if (par_pin_set(&o.cpus, pin_cpus, pinned) != 0)
		return AML_EINVAL;
	if (o.nworkers == 0)
		o.nworkers = *pinned ? (size_t)CPU_COUNT(pin_cpus)
		                     : par_default_workers();
	if (o.nworkers > AML_DMA_PAR_WORKERS_MAX)
		return AML_EINVAL;
	if (o.chunk_size == 0)
		o.chunk_size = aml_copy_chunk_size(); /* from the L2 */
	if (o.chunk_size > PTRDIFF_MAX / 2)
		return AML_EINVAL;
	if (o.inline_max == 0)
		o.inline_max = PAR_INLINE_MAX_DEFAULT;
	else if (o.inline_max == AML_DMA_PAR_NO_INLINE)
		o.inline_max = 0;
	if (o.spin_ns == 0)
		o.spin_ns = PAR_SPIN_NS_DEFAULT;
	*out = o;
	return 0;
}

/* The lock and condition variables; AML_ENOMEM, with none left, when one
 * cannot be made (only a lack of resources fails default ones). */
static int par_sync_init(struct aml_dma_par_state *st)
{
	if (pthread_mutex_init(&st->lock, NULL) != 0)
		return AML_ENOMEM;
	if (pthread_cond_init(&st->work, NULL) != 0)
		goto err_lock;
	if (pthread_cond_init(&st->ended, NULL) != 0)
		goto err_work;
	return 0;

err_work:
	pthread_cond_destroy(&st->work);
err_lock:
	pthread_mutex_destroy(&st->lock);
	return AML_ENOMEM;
}

/* Engines' serial numbers, never reused (par_lane.c). */
static _Atomic uint64_t par_serials = 1;

static void par_free_state(struct aml_dma_par_state *st)
{
	aml_dma_par_lanes_free(st);
	aml_handle_pool_fini(&st->requests);
	pthread_cond_destroy(&st->work);
	pthread_cond_destroy(&st->ended);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* Stop and join the first n workers. */
static void par_stop(struct aml_dma_par_state *st, size_t n)
{
	pthread_mutex_lock(&st->lock);
	atomic_store(&st->stopping, true);
	pthread_cond_broadcast(&st->work);
	pthread_mutex_unlock(&st->lock);
	for (size_t i = 0; i < n; i++)
		pthread_join(st->threads[i], NULL);
}

int aml_dma_par_init(struct aml_dma_par *dma,
                     const struct aml_topology *topology,
                     const struct aml_dma_par_options *options)
{
	return aml_dma_par_init_copier(dma, aml_topology_copier(topology),
	                               options);
}

int aml_dma_par_init_copier(struct aml_dma_par *dma,
                            const struct aml_copier *copier,
                            const struct aml_dma_par_options *options)
{
	/* Storage that holds a live engine is left to it (aml/src/fork.h). */
	if (dma == NULL || aml_fork_registered(AML_FORK_DMA, dma))
		return AML_EINVAL;
	/* Finalised until the end: on error, fini skips the storage and
	 * every call refuses it, whatever it held. */
	*dma = (struct aml_dma_par){.state = NULL};
	struct aml_dma_par_options o;
	cpu_set_t pin_cpus;
	bool pinned;
	if (!aml_copier_can_copy(copier) ||
	    par_resolve(&o, &pin_cpus, &pinned, options) != 0)
		return AML_EINVAL;
	struct aml_dma_par_state *st =
	        calloc(1, sizeof(*st) + o.nworkers * sizeof(pthread_t));
	if (st == NULL)
		return AML_ENOMEM;
	if (par_sync_init(st) != 0) {
		free(st);
		return AML_ENOMEM;
	}
	st->options = o;
	st->copier = copier;
	st->models_time = aml_copier_models_time(copier);
	st->delays = aml_copier_delays(copier);
	st->ncpus = par_cpus();
	st->pinned = pinned;
	st->pin_cpus = pin_cpus;
	atomic_init(&st->spinners, 0);
	atomic_init(&st->yielding_spinners, 0);
	atomic_init(&st->pending, 0);
	atomic_init(&st->stopping, false);
	atomic_init(&st->released, NULL);
	/* Lanes where no model watches the copies (par_lane.c). */
	st->lanes_on = !st->models_time && !st->delays;
	st->prefetchw = par_has_prefetchw();
	struct aml_handle_pool tag_only;
	aml_handle_pool_init(&tag_only, sizeof(struct aml_handle_record));
	st->lane_tag = tag_only.tag;
	aml_handle_pool_fini(&tag_only);
	st->serial = atomic_fetch_add(&par_serials, 1);
	atomic_init(&st->nlanes, 0);
	atomic_init(&st->lane_error, 0);
	atomic_init(&st->lane_sleepers, 0);
	for (size_t i = 0; i < PAR_LANES_MAX; i++)
		atomic_init(&st->lanes[i], NULL);
	aml_handle_pool_init(&st->requests,
	                     sizeof(struct par_request) +
	                             aml_dma_par_max_chunks(o.nworkers) *
	                                     sizeof(uint64_t));
	pthread_mutex_lock(&st->lock);
	aml_dma_par_start_workers(st);
	bool started = st->nthreads == o.nworkers;
	pthread_mutex_unlock(&st->lock);
	if (!started) {
		par_stop(st, st->nthreads);
		par_free_state(st);
		return AML_FAILURE;
	}
	/* Last: a child forked before this never sees the engine. */
	aml_fork_register_object(&st->fork, &aml_dma_par_fork_ops, dma,
	                         &st->lock);
	*dma = (struct aml_dma_par){
	        .base = {.ops = &aml_dma_par_ops, .data = dma},
	        .state = st,
	};
	return 0;
}

void aml_dma_par_fini(struct aml_dma_par *dma)
{
	if (dma == NULL || dma->state == NULL)
		return;
	struct aml_dma_par_state *st = dma->state;
	aml_fork_unregister(&st->fork);
	pthread_mutex_lock(&st->lock);
	(void)aml_dma_par_barrier_locked(st);
	pthread_mutex_unlock(&st->lock);
	par_stop(st, st->nthreads);
	par_free_state(st);
	dma->state = NULL;
	dma->base.ops = NULL;
	dma->base.data = NULL;
}

int aml_dma_par_options(const struct aml_dma_par *dma,
                        struct aml_dma_par_options *out)
{
	if (dma == NULL || dma->state == NULL || out == NULL)
		return AML_EINVAL;
	*out = dma->state->options;
	if (out->inline_max == 0)
		out->inline_max = AML_DMA_PAR_NO_INLINE;
	return 0;
}

int aml_dma_par_create(struct aml_dma **out,
                       const struct aml_topology *topology,
                       const struct aml_dma_par_options *options)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_dma_par *dma = malloc(sizeof(*dma));
	if (dma == NULL)
		return AML_ENOMEM;
	int err = aml_dma_par_init(dma, topology, options);
	if (err != 0) {
		free(dma);
		return err;
	}
	*out = &dma->base;
	return 0;
}

void aml_dma_par_destroy(struct aml_dma **dma)
{
	if (dma == NULL || *dma == NULL || (*dma)->ops != &aml_dma_par_ops)
		return;
	struct aml_dma_par *self = (*dma)->data;
	aml_dma_par_fini(self);
	free(self);
	*dma = NULL;
}
