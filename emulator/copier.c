/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The copier an emulated topology hands out (aml/copier.h,
 * aml_topology_copier()): each copy is charged to the machine's cost model
 * (cost.c) and moves the calling thread's virtual clock (clock.c), which
 * the copier exposes as its modelled time. In delay mode, a worker of a dma
 * engine leaves its delays to the engine (aml/copier.h). Its data is the
 * machine, which lives as long as the topology.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/copier.h>

#include "emulator/emulator_internal.h"

static struct emu_machine *copier_machine(const struct aml_copier *copier)
{
	return copier->data;
}

static int copier_copy(const struct aml_copier *copier,
                       void *dst,
                       const void *src,
                       size_t size,
                       bool streamed)
{
	return emu_cost_copy(copier_machine(copier), dst, src, size, streamed);
}

static uint64_t copier_thread_time(const struct aml_copier *copier)
{
	return emu_clock_thread_ns(copier_machine(copier));
}

static void copier_thread_wait_until(const struct aml_copier *copier,
                                     uint64_t ns)
{
	/* Out of memory for the thread's counter, the clock stays behind:
	 * the same as before the counter existed, and only a model. */
	(void)emu_clock_advance_to(copier_machine(copier), ns);
}

static uint64_t copier_wall_ns(const struct aml_copier *copier, uint64_t ns)
{
	return emu_clock_wall_ns(copier_machine(copier), ns);
}

static void copier_thread_undelayed(const struct aml_copier *copier)
{
	/* Out of memory for the thread's counter, its copies stay delayed:
	 * slower, never wrong in modelled time. */
	(void)emu_clock_thread_undelayed(copier_machine(copier));
}

const struct aml_copier_ops emu_copier_ops = {
        .copy = copier_copy,
        .thread_time = copier_thread_time,
        .thread_wait_until = copier_thread_wait_until,
        .wall_ns = copier_wall_ns,
        .thread_undelayed = copier_thread_undelayed,
};
