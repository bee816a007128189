/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the emulator: the state of one emulated machine, shared by its
 * files (emulator.c: maps, unmaps, moves and the topology's ops;
 * pagetable.c: which device holds each page; slab.c: the address space of
 * small mappings; placement.c: where a page (or a huge page) goes; huge.c:
 * hugetlb memory, pools and moves in huge pages; fault.c: placing pages at
 * first touch; clock.c: virtual clock and delay; cost.c: cost model and
 * statistics; copier.c: the copier its topology hands out).
 *
 * Calls go one way: fork.c (its handlers call nothing), pagetable.c and
 * slab.c at the bottom; placement.c on pagetable.c; huge.c on both;
 * fault.c on placement.c and slab.c; clock.c on fork.c (it registers the
 * machine); emulator.c on clock.c, fault.c, huge.c and below; cost.c on
 * those and emulator.c (is a topology emulated?); copier.c on cost.c and
 * clock.c; access.c (ordinary loads and stores) on clock.c, placement.c and
 * pagetable.c, its hooks called by emulator.c and cost.c; create.c at the
 * top.
 *
 * Locking: one read-write lock per machine. Maps, unmaps, moves and
 * placing pages change the page table and the capacity counters under the
 * write lock; locate, copy costs and statistics read them under the read
 * lock. Counters that readers update (copies, modelled time, the clock)
 * are atomics. No code touches emulated memory while it holds the lock: a
 * first touch waits for the fault thread, which takes the write lock.
 *
 * fork() (fork.c): prepare takes the read lock (so no map, unmap, move or
 * placement is half done) and the clocks' mutex; the child makes both new,
 * since copies of threads that are gone may have held the read lock.
 */
#ifndef AML_EMULATOR_EMULATOR_INTERNAL_H
#define AML_EMULATOR_EMULATOR_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <aml/copier.h>
#include <aml/emulator.h>
#include <aml/topology.h>

#include "aml/src/fork.h"
#include "emulator/spec.h"

/* Who mapped a range: a device (its index), or the topology itself. */
#define EMU_OWNER_TOPOLOGY (-1)

/* Marks a mapping whose pages are not all placed on one device. */
#define EMU_MIXED (-1)

/*
 * A page's label: the index of the device that holds it (below
 * EMU_UNPLACED_BOUND), or, for a page nobody has touched yet (placement at
 * first touch, fault.c), EMU_UNPLACED (it goes where the mapping's policy
 * says when touched) or EMU_UNPLACED_BOUND | d (a move or a weighted run
 * bound it to device d, as mbind() changes the policy of pages that have
 * no memory yet).
 */
#define EMU_UNPLACED_BOUND 0x80
#define EMU_UNPLACED       0xFF

/* The emulator's huge page (transparent or hugetlb): 2 MiB, x86-64's PMD.
 * A huge page is placed, counted and moved whole: a unit of
 * EMU_HUGE_SIZE / page_size pages. */
#define EMU_HUGE_SIZE ((size_t)2 << 20)
/* The gigantic page of hugetlb maps of 1 GiB, x86-64's PUD: a unit of
 * EMU_GIG_SIZE / page_size pages, from pools of their own. */
#define EMU_GIG_SIZE ((size_t)1 << 30)

/* The hugetlb pools of a device, one per huge page size, as Linux keeps
 * one hstate per size. */
enum emu_pool {
	EMU_POOL_2M,
	EMU_POOL_1G,
	EMU_POOLS,
};

static inline int emu_label_placed(uint8_t label)
{
	return label < EMU_UNPLACED_BOUND;
}

/* One emulated mapping: real anonymous memory, labelled page by page. */
struct emu_mapping {
	uintptr_t start;
	size_t npages;
	int owner;
	/* The device of every page when all are placed on one, else
	 * EMU_MIXED: lets a copy cost a whole mapping in one step. */
	int uniform;
	/* The policy its pages are placed under when first touched, over the
	 * devices of set (bit d: device d; AML_EMU_TIERS_MAX is 64). */
	enum aml_policy policy;
	uint64_t set;
	/* Label of each page (EMU_UNPLACED...), and how many are unplaced. */
	uint8_t *labels;
	size_t unplaced;
	/* Devices it has placed a page on (statistics' maps). */
	uint64_t reached;
	/* Pages per placement unit: 1, or machine->huge_pages for a map of
	 * huge pages, whose aligned huge ranges are placed and moved whole
	 * (a THP range that finds no room whole takes base pages). */
	size_t unit;
	/* hugetlb: its units come from the devices' pools (of `pool`, an
	 * enum emu_pool), never base. */
	bool hugetlb;
	uint8_t pool;
	/* Pages between the start of the map that made it and its start
	 * (a partial unmap cut its head): a hugetlb map's vm_pgoff, by
	 * which Linux interleaves its huge pages. */
	size_t pgoff;
};

/* The page table: mappings ordered by start, never overlapping, in a
 * balanced tree (pagetable.c). */
struct emu_pagetable_node;
struct emu_pagetable {
	struct emu_pagetable_node *root;
	size_t count;
};

/* One slab: anonymous memory registered with the userfaultfd of the
 * process owner (its pid) as a whole. */
struct emu_slab {
	uintptr_t start;
	size_t size;
	pid_t owner;
};

/* The slabs of a machine (slab.c), whose pages one-page mappings are. */
struct emu_slabs {
	size_t page_size;
	struct emu_slab *slabs;
	size_t count;
	size_t capacity;
	/* The process whose slabs pages are taken from (0: none yet). */
	pid_t owner;
	/* The newest slab's pages never handed out: [next, end). */
	uintptr_t next;
	uintptr_t end;
	/* Pages given back, a stack (the last is the likeliest in the
	 * caches); allocated with the first slab. */
	uintptr_t *kept;
	size_t nkept;
	size_t kept_capacity;
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
	/* hugetlb pools, by enum emu_pool: huge pages reserved on the
	 * device (the spec's hugepages_2m and hugepages_1g), and how many are
	 * mapped. The free ones are not free memory for base pages, as on
	 * Linux. */
	uint64_t huge_pool[EMU_POOLS];
	uint64_t huge_used[EMU_POOLS];
	uint64_t bytes_copied_in;  /* atomic */
	uint64_t bytes_copied_out; /* atomic */
	uint64_t modelled_ns;      /* atomic */
	/* Blocks' pages ordinary loads and stores touched (access.c). */
	uint64_t access_reads;  /* atomic */
	uint64_t access_writes; /* atomic */
};

/* One thread's share of the virtual clock. */
struct emu_thread_clock {
	uint64_t ns; /* atomic: read by other threads through stats */
	/* An engine's worker: its charges are not delayed (its engine
	 * delays the waiters, aml/copier.h). Only its thread uses it. */
	bool undelayed;
	/* Pages its ordinary accesses touched per device, [0] loads, [1]
	 * stores (access.c); atomic, written by this thread only. */
	uint64_t accesses[AML_EMU_TIERS_MAX][2];
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
	size_t huge_pages;   /* EMU_HUGE_SIZE / page_size */
	/* Pages per huge page of each pool (by enum emu_pool). */
	size_t pool_pages[EMU_POOLS];

	pthread_rwlock_t lock;
	struct emu_pagetable table;
	/* Where small mappings are taken from at placement at touch. */
	struct emu_slabs slabs;

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

	/* Placement at first touch (fault.c): the userfaultfd its mappings
	 * are registered with, opened by the first map of the process that
	 * owns it (-1 before; a forked child opens its own), and the thread
	 * that places the pages it reports. */
	bool at_touch; /* placement at touch, and the host allows it */
	int uffd;
	int uffd_stop;   /* eventfd that ends the thread */
	void *uffd_zero; /* zeroed pages UFFDIO_COPY copies from */
	pid_t uffd_pid;
	pthread_t uffd_thread;
	/* The device of every host CPU when they all share one (no need to
	 * ask where a faulting thread runs), else -1. */
	int only_local;

	/* Access accounting (access.c): its state while on, else NULL;
	 * atomic, changed under the write lock. */
	struct emu_access *access;
};

/* ---- pagetable.c ---- */

/* The mapping holding addr, or NULL. O(log n). */
struct emu_mapping *emu_pagetable_find(const struct emu_pagetable *table,
                                       uintptr_t addr);
/* The first mapping that ends after addr (holding it, or the next one), or
 * NULL. O(log n). */
struct emu_mapping *emu_pagetable_next(const struct emu_pagetable *table,
                                       uintptr_t addr);
/* The mapping after map in address order, or NULL. O(log n). */
struct emu_mapping *emu_pagetable_after(const struct emu_pagetable *table,
                                        const struct emu_mapping *map);
/* Record a copy of mapping (labels allocated by the caller, owned by the
 * table once this succeeds): 0, or AML_ENOMEM. O(log n). The table's copy
 * stays at its address until it is cut away. */
int emu_pagetable_insert(struct emu_pagetable *table,
                         const struct emu_mapping *mapping);
/* Forget pages [first, first + npages) of mapping m (split as needed),
 * after release(arg) has released them: the record and the pages change
 * together or not at all. What the split needs is allocated first, so a
 * release that fails (its AML_E* code is returned) or a split without
 * memory (AML_ENOMEM) leaves both as they were. Their labels must be
 * uncounted by the caller once this succeeds. O(log n); m is freed if
 * nothing of it is left. */
int emu_pagetable_cut(struct emu_pagetable *table,
                      struct emu_mapping *m,
                      size_t first,
                      size_t npages,
                      int (*release)(void *arg),
                      void *arg);
void emu_pagetable_fini(struct emu_pagetable *table);
/* For tests: the tree's height if it is balanced (AVL) and every height
 * it records is right, else -1. O(n). */
int emu_pagetable_check(const struct emu_pagetable *table);
/* Recompute m->uniform from its labels and m->unplaced (kept by whoever
 * places pages): stops at the first page that differs, so a mixed
 * mapping costs little. */
void emu_mapping_update_uniform(struct emu_mapping *m);

/* ---- slab.c: beside pagetable.c, calls nothing of the emulator ---- */

/* A page of a slab registered by owner (the machine's uffd_pid), reading
 * zero and never touched since: one given back, or the newest slab's next
 * page. NULL when there is none: the caller makes a slab (emu_slab_add()).
 * Slabs of another process (a forked child's first map) are not taken
 * from again. */
void *emu_slab_take(struct emu_slabs *slabs, pid_t owner);
/* Put back the page emu_slab_take() has just handed out, untouched, when
 * the map fails after all. Never fails. */
void emu_slab_untake(struct emu_slabs *slabs, void *page);
/* How many pages the next slab should have. */
size_t emu_slab_next_pages(const struct emu_slabs *slabs);
/* Record [start, start + size), mapped and registered by owner, as the
 * slab pages are taken from next: 0, or AML_ENOMEM (nothing recorded; the
 * caller unmaps it). */
int emu_slab_add(struct emu_slabs *slabs,
                 void *start,
                 size_t size,
                 pid_t owner);
/* The slab holding addr, or NULL. */
const struct emu_slab *emu_slab_of(const struct emu_slabs *slabs,
                                   uintptr_t addr);
/* Take back [start, start + size), which nobody maps any more: if it is a
 * page of a slab of owner, drop its memory (and, if reprotect, make it
 * readable and writable again, first) and keep it for a map. 0 when kept;
 * 1 when it is not such a page (the caller unmaps it); AML_ENOMEM with
 * nothing changed when there is no memory to keep it, or the protection
 * could not be changed. */
int emu_slab_give(struct emu_slabs *slabs,
                  pid_t owner,
                  void *start,
                  size_t size,
                  bool reprotect);
/* Unmap every slab and free the records (the machine's end). */
void emu_slab_fini(struct emu_slabs *slabs);

/* ---- placement.c: on pagetable.c ---- */

/* Fill machine->fallback as Linux 6.1 builds its zonelists. Needs the
 * tiers and distances; called once, by create.c. */
void emu_build_zonelists(struct emu_machine *machine);
/* Linux's node_distance() between devices a and b: the spec's matrix, or
 * without one 10 (a == b) and 20, as for a machine without a SLIT. What
 * placement orders by, and what the topology reports (create.c). */
unsigned emu_distance(const struct emu_machine *machine, size_t a, size_t b);
/* The device whose CPUs include cpu (0 if none does). */
size_t emu_cpu_device(const struct emu_machine *machine, int cpu);
/* Pages (and hugetlb pages) taken per device by a placement being
 * planned. */
struct emu_plan {
	uint64_t take[AML_EMU_TIERS_MAX];
	uint64_t huge_take[AML_EMU_TIERS_MAX];
};
/* Pages of a device free for base pages: its capacity less what is used
 * and its free hugetlb pages. */
uint64_t emu_device_room(const struct emu_machine *machine, size_t device);
/* The unit page `index` of map is placed with: the first page of its huge
 * page into *first and the unit's pages returned, when map has huge pages,
 * the huge page lies within map and its pages share index's label; else
 * index and 1. */
size_t emu_unit_of(const struct emu_machine *machine,
                   const struct emu_mapping *map,
                   size_t index,
                   size_t *first);
/* The device a unit of `need` pages holding page `index` of map goes to
 * when touched now from a CPU of device `local`, given what plan already
 * takes (for a hugetlb map, a huge page of a device's pool): 0 with
 * *device set, or AML_ENOMEM where the kernel would call the OOM killer.
 * Reads the counters only. */
int emu_place_page(const struct emu_machine *machine,
                   const struct emu_plan *plan,
                   const struct emu_mapping *map,
                   size_t index,
                   size_t need,
                   size_t local,
                   size_t *device);
/* The device a touch of page `index` of map (unplaced) from a CPU of
 * device `local` would place it on now, with its unit as emu_place_try()
 * places it; 0 where no device has room. Reads the counters only. */
size_t emu_place_where(const struct emu_machine *machine,
                       const struct emu_mapping *map,
                       size_t index,
                       size_t local);
/* The device of the CPU the calling thread runs on. */
size_t emu_local_device(const struct emu_machine *machine);
/* Place page `index` of map (unplaced), with its unit (emu_unit_of(); a
 * THP unit without room falls back to the page alone, as the kernel falls
 * back to a base page), as emu_place_page() says, and count it: 0 with
 * *end (if not NULL) past the last page placed, or AML_ENOMEM with
 * nothing changed where it finds no room. Write lock held. */
int emu_place_try(struct emu_machine *machine,
                  struct emu_mapping *map,
                  size_t index,
                  size_t local,
                  size_t *end);
/* emu_place_try(); where the kernel would call the OOM killer, print what
 * it would kill for and abort(). Returns the index past the last page
 * placed. Write lock held. */
size_t emu_place_now(struct emu_machine *machine,
                     struct emu_mapping *map,
                     size_t index,
                     size_t local);

/* ---- huge.c: on pagetable.c and placement.c ---- */

/* Anonymous memory for a mapping of size bytes aligned to align (a
 * hugetlb map's huge page, as MAP_HUGETLB aligns it; 0 for none),
 * MAP_NORESERVE: the mapping, or NULL with *err set. */
void *emu_map_memory(size_t size, size_t align, int *err);
/* Whether the pools of `pool` give a hugetlb map of npages pages under
 * policy over the devices of bits (the bound ones under BIND, else all):
 * 0, or AML_ENOMEM with the reason explained. Write lock held. */
int emu_check_huge(const struct emu_machine *machine,
                   enum emu_pool pool,
                   uint64_t bits,
                   enum aml_policy policy,
                   size_t npages);
/* Widen [*start, *start + *size) to whole huge pages at an end that falls
 * in a THP unit: 0; or AML_EINVAL (the reason explained, nothing changed)
 * for an end inside a hugetlb page, as mbind() refuses it. Write lock
 * held. */
int emu_round_units(const struct emu_machine *machine,
                    uintptr_t *start,
                    size_t *size);

/* ---- fault.c: on placement.c ---- */

/* Which touches a userfaultfd of this process would report: none (no
 * userfaultfd, or valgrind), only the program's own (user_mode_allowed,
 * without privilege), or the kernel's too. Tried once per machine, by
 * create.c. */
enum emu_fault_reports {
	EMU_FAULT_NONE,
	EMU_FAULT_USER,
	EMU_FAULT_ALL,
};
enum emu_fault_reports emu_fault_probe(bool user_mode_allowed);
/* Register [ptr, ptr + size), just mapped, so that its first touches
 * reach the machine's fault thread, starting that thread in this process
 * if needed: 0, or AML_ENOMEM. Write lock held. */
int emu_fault_register(struct emu_machine *machine, void *ptr, size_t size);
/* Place the unplaced pages among [ptr, ptr + size) (mapped by the
 * machine) from the calling thread's CPU, in page order, and give them
 * memory: what a populate or a copy into them does on Linux. AML_ENOMEM
 * (populate) when a page finds no room: those before it stay placed. Write
 * lock held. */
int emu_fault_place_range(struct emu_machine *machine,
                          uintptr_t start,
                          size_t size,
                          bool fail_when_full);
/* End the fault thread and close the descriptors (the machine's end). */
void emu_fault_fini(struct emu_machine *machine);

/* ---- clock.c: beneath every other file but those above ---- */

/* Make the clock's key and lock, and register the machine for fork():
 * 0, or AML_ENOMEM when the system lacks either. */
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
/* The highest bandwidth of the machine's fastest tier, each tier counted
 * at the lower of its read and write bandwidths: what delay mode's
 * dilation must cover. */
uint64_t emu_clock_fastest_bw(const struct emu_machine *machine);
/* ns x the machine's dilation, saturated. */
uint64_t emu_clock_dilated(const struct emu_machine *machine, uint64_t ns);
/* In delay mode, ns x dilation (saturated), else 0. */
uint64_t emu_clock_wall_ns(const struct emu_machine *machine, uint64_t ns);
/* The calling thread's charges are no longer delayed (an engine's worker,
 * aml/copier.h): 0, or AML_ENOMEM if it has no counter and none can be
 * made. */
int emu_clock_thread_undelayed(struct emu_machine *machine);
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

/* ---- access.c: above cost.c and clock.c ---- */

/* Accounting on: protect [ptr, ptr + size), just mapped. Write lock
 * held. */
void emu_access_mapped(struct emu_machine *machine, void *ptr, size_t size);
/* [start, start + size) is being unmapped: its open blocks leave the
 * cache model. Write lock held. */
void emu_access_forget(struct emu_machine *machine,
                       uintptr_t start,
                       size_t size);
/* Delay mode with accounting on: raise the machine's dilation (calibrated
 * already) so that the wall time a fault costs fits in its dilated charge
 * (measured once per process). No lock held. */
void emu_access_dilate(struct emu_machine *machine);
/* Accounting off before the machine goes. No lock held. */
void emu_access_fini(struct emu_machine *machine);
/* Around the emulator's own accesses to emulated memory, which it charges
 * itself (aml_emu_copy's memcpy): their faults open blocks uncharged. */
void emu_access_enter(void);
void emu_access_leave(void);

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
