/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Copiers (aml/copier.h): the generic functions, which check what the ops'
 * contract promises and dispatch, and the memcpy default. Copiers sit below
 * the dma engines and beside the devices: the engines schedule a copy, a
 * copier moves its bytes.
 *
 * Hot paths (aml_dma_plan_copy()) call the ops directly, on ranges the
 * plan has checked, and call memcpy themselves for the default: a copy of
 * a few KiB must not pay an indirect call per run.
 */
#include <stdint.h>
#include <string.h>

#include <aml/copier.h>
#include <aml/error.h>

#include "aml/src/rangeset.h"

static int copier_memcpy_copy(const struct aml_copier *copier,
                              void *dst,
                              const void *src,
                              size_t size,
                              bool streamed)
{
	(void)copier;
	(void)streamed;
	memcpy(dst, src, size);
	return 0;
}

static const struct aml_copier_ops copier_memcpy_ops = {
        .copy = copier_memcpy_copy,
        .thread_time = NULL,
        .thread_wait_until = NULL,
        .wall_ns = NULL,
        .thread_undelayed = NULL,
};

const struct aml_copier aml_copier_memcpy = {
        .ops = &copier_memcpy_ops,
        .data = NULL,
};

/* Does [p, p + size) run past the end of the address space? */
static bool copier_wraps(const void *p, size_t size)
{
	return size - 1 > UINTPTR_MAX - (uintptr_t)p;
}

bool aml_copier_can_copy(const struct aml_copier *copier)
{
	return copier != NULL && copier->ops != NULL &&
	       copier->ops->copy != NULL;
}

int aml_copier_copy(const struct aml_copier *copier,
                    void *dst,
                    const void *src,
                    size_t size,
                    bool streamed)
{
	if (!aml_copier_can_copy(copier) || dst == NULL || src == NULL ||
	    size == 0 || copier_wraps(dst, size) || copier_wraps(src, size) ||
	    aml_spans_overlap(dst, size, src, size))
		return AML_EINVAL;
	return copier->ops->copy(copier, dst, src, size, streamed);
}

bool aml_copier_models_time(const struct aml_copier *copier)
{
	return copier != NULL && copier->ops != NULL &&
	       copier->ops->thread_time != NULL &&
	       copier->ops->thread_wait_until != NULL;
}

uint64_t aml_copier_thread_time(const struct aml_copier *copier)
{
	return aml_copier_models_time(copier) ? copier->ops->thread_time(copier)
	                                      : 0;
}

void aml_copier_thread_wait_until(const struct aml_copier *copier, uint64_t ns)
{
	if (aml_copier_models_time(copier))
		copier->ops->thread_wait_until(copier, ns);
}

bool aml_copier_delays(const struct aml_copier *copier)
{
	return aml_copier_models_time(copier) && copier->ops->wall_ns != NULL &&
	       copier->ops->thread_undelayed != NULL;
}

uint64_t aml_copier_wall_ns(const struct aml_copier *copier, uint64_t ns)
{
	return aml_copier_delays(copier) ? copier->ops->wall_ns(copier, ns) : 0;
}

void aml_copier_thread_undelayed(const struct aml_copier *copier)
{
	if (aml_copier_delays(copier))
		copier->ops->thread_undelayed(copier);
}
