/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the emulator: the state of one emulated machine, shared by its
 * files (emulator.c: topology and placement; pagetable.c: which device holds
 * each page; clock.c: virtual clock and delay; cost.c: cost model and
 * statistics; copier.c: the copier its topology hands out).
 *
 * Calls go one way: fork.c (its handlers call nothing) and pagetable.c at
 * the bottom; clock.c on fork.c (it registers the machine); emulator.c on
 * clock.c and pagetable.c; cost.c on those and emulator.c (is a topology
 * emulated?); copier.c on cost.c and clock.c; create.c at the top.
 *
 * Locking: one read-write lock per machine. Maps, unmaps and moves change
 * the page table and the capacity counters under the write lock; locate,
 * copies and charges read the table under the read lock. Counters that
 * readers update (copies, modelled time, the clock) are atomics.
 *
 * fork() (fork.c): prepare takes the read lock (so no map, unmap or move
 * is half done) and the clocks' mutex; the child makes both new, since
 * copies of threads that are gone may have held the read lock.
 */
#ifndef AML_EMULATOR_EMULATOR_INTERNAL_H
#define AML_EMULATOR_EMULATOR_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/copier.h>
#include <aml/emulator.h>

#include "aml/src/fork.h"
#include "emulator/spec.h"

/* Who mapped a range: a device (its index), or the topology itself. */
#define EMU_OWNER_TOPOLOGY (-1)

/* Marks a mapping whose pages are not all on one device. */
#define EMU_MIXED (-1)

/* One emulated mapping: real anonymous memory, labelled page by page. */
struct emu_mapping {
	uintptr_t start;
	size_t npages;
	int owner;
	/* The device of every page when they share one, else EMU_MIXED:
	 * lets a copy cost a whole mapping in one step. */
	int uniform;
	/* Device index of each page. */
	uint8_t *labels;
};

/* The page table: mappings sorted by start, never overlapping. */
struct emu_pagetable {
	struct emu_mapping *mappings;
	size_t count;
	size_t allocated;
};

/* Counters of one device; the atomics are updated under the read lock. */
struct emu_device_state {
	size_t index;
	struct emu_machine *machine;
	uint64_t capacity_pages;
	uint64_t used_pages;
	uint64_t peak_pages;
	uint64_t maps;
	uint64_t pages_moved_in;
	uint64_t pages_moved_out;
	uint64_t bytes_copied_in;  /* atomic */
	uint64_t bytes_copied_out; /* atomic */
	uint64_t modelled_ns;      /* atomic */
};

/* One thread's share of the virtual clock. */
struct emu_thread_clock {
	uint64_t ns; /* atomic: read by other threads through stats */
	struct emu_thread_clock *next;
};

struct emu_machine {
	struct aml_emu_spec spec;
	size_t ndevices;
	struct emu_device_state devices[AML_EMU_TIERS_MAX];
	/* Fallback order from each device: the others, in the order of
	 * Linux 6.1's zonelist (emu_build_zonelists(), when the machine is
	 * made). */
	uint8_t fallback[AML_EMU_TIERS_MAX][AML_EMU_TIERS_MAX];
	size_t page_size;
	unsigned page_shift; /* log2(page_size) */

	pthread_rwlock_t lock;
	struct emu_pagetable table;

	/* Clock: the total, and a counter per thread found by key. */
	uint64_t total_ns; /* atomic */
	pthread_key_t thread_key;
	pthread_mutex_t clocks_lock;
	struct emu_thread_clock *clocks;

	int mode;        /* atomic enum aml_emu_mode */
	double dilation; /* atomic; 0 until delay mode is calibrated */

	/* Registered for fork() from emu_clock_init to emu_clock_fini. */
	struct aml_fork_hook fork;

	/* What the machine's topology hands out for copies (copier.c). */
	struct aml_copier copier;
};

/* ---- pagetable.c ---- */

/* The mapping holding addr, or NULL. O(log n). */
struct emu_mapping *emu_pagetable_find(const struct emu_pagetable *table,
                                       uintptr_t addr);
/* The first mapping that ends after addr (holding it, or the next one), or
 * NULL. O(log n). */
struct emu_mapping *emu_pagetable_next(const struct emu_pagetable *table,
                                       uintptr_t addr);
/* Record a mapping (labels allocated by the caller, owned by the table). */
int emu_pagetable_insert(struct emu_pagetable *table,
                         const struct emu_mapping *mapping);
/* Forget pages [first, first + npages) of mapping m (split as needed),
 * after release(arg) has released them: the record and the pages change
 * together or not at all. What the split needs is allocated first, so a
 * release that fails (its AML_E* code is returned) or a split without
 * memory (AML_ENOMEM) leaves both as they were. Their labels must be
 * uncounted by the caller once this succeeds. */
int emu_pagetable_cut(struct emu_pagetable *table,
                      struct emu_mapping *m,
                      size_t first,
                      size_t npages,
                      int (*release)(void *arg),
                      void *arg);
void emu_pagetable_fini(struct emu_pagetable *table);
/* Recompute m->uniform from its labels. */
void emu_mapping_update_uniform(struct emu_mapping *m);

/* ---- clock.c: beneath every other file ---- */

/* Make the clock's key and lock, and register the machine for fork():
 * 0, or AML_ENOMEM when the system lacks either. */
/* Fill machine->fallback as Linux 6.1 builds its zonelists (emulator.c).
 * Needs the tiers and distances; called once, by create.c. */
void emu_build_zonelists(struct emu_machine *machine);

int emu_clock_init(struct emu_machine *machine);
void emu_clock_fini(struct emu_machine *machine);
/* Account ns of modelled time to the clock (total and this thread); in
 * delay mode, busy-wait until start_ns + ns x dilation (monotonic). */
void emu_clock_advance(struct emu_machine *machine,
                       uint64_t ns,
                       uint64_t start_ns);
/* The calling thread's modelled time: 0 if it has no counter yet. */
uint64_t emu_clock_thread_ns(const struct emu_machine *machine);
/* Move the calling thread's modelled time forward to ns if behind: 0, or
 * AML_ENOMEM if it has no counter and none can be made. */
int emu_clock_advance_to(struct emu_machine *machine, uint64_t ns);
/* The dilation of delay mode, measured once per machine: 0, or AML_ENOMEM
 * if the host's bandwidth could not be measured. */
int emu_clock_calibrate(struct emu_machine *machine, double *out);
/* ns x the machine's dilation, saturated. */
uint64_t emu_clock_dilated(const struct emu_machine *machine, uint64_t ns);
/* ceil(bytes * 1e9 / bytes_per_s): a transfer's modelled ns, saturated at
 * UINT64_MAX. */
uint64_t emu_transfer_ns(uint64_t bytes, uint64_t bytes_per_s);
/* a + b, or UINT64_MAX if it would wrap: modelled time saturates. */
uint64_t emu_sat_add(uint64_t a, uint64_t b);
/* *counter += v, saturated, atomically (relaxed). */
void emu_atomic_sat_add(uint64_t *counter, uint64_t v);
/* Is the machine in delay mode? */
bool emu_delaying(const struct emu_machine *machine);
/* Monotonic wall clock in ns. */
uint64_t emu_now_ns(void);

/* ---- cost.c: above clock.c and emulator.c ---- */

/* aml_emu_copy() on a machine (AML_EINVAL for NULL), charging no latency
 * for a streamed run of a strided copy (aml/copier.h). */
int emu_cost_copy(struct emu_machine *machine,
                  void *dst,
                  const void *src,
                  size_t size,
                  bool streamed);

/* ---- emulator.c ---- */

/* The ops of emulated topologies, for create.c. */
extern const struct aml_topology_ops aml_emu_topology_ops;

/* ---- copier.c: above cost.c ---- */

/* The ops of the copier each machine hands out (aml/copier.h); its data
 * is the machine. */
extern const struct aml_copier_ops emu_copier_ops;

/* ---- fork.c ---- */

/* The machine's handlers for fork() (aml/src/fork.h). */
extern const struct aml_fork_ops emu_fork_ops;

#endif /* AML_EMULATOR_EMULATOR_INTERNAL_H */
