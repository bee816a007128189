/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tutorial 3: arenas. bazel run //docs:03_arenas
 *
 * An area hands out whole pages; an arena is an allocator inside the pages
 * of an area, with malloc and free semantics (aml/arena.h, docs/arena.md).
 * This program keeps a linked list of particles in MCDRAM with a pool (one
 * object size, O(1) malloc and free), and per-step scratch data in DDR with
 * a bump arena (freed all at once by reset). It checks that every object is
 * where its area puts pages, that the arenas give memory back, and that bad
 * frees are refused rather than corrupting anything. Last, a scalable
 * arena (the thread-safe one) with a cap, and its report of live blocks,
 * the way to hunt a leak.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/arena/bump.h>
#include <aml/arena/pool.h>
#include <aml/arena/scalable.h>

static void expect(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "03_arenas: FAILED: %s\n", what);
		exit(1);
	}
}

static void expect_ok(int err, const char *call)
{
	if (err != 0) {
		fprintf(stderr, "03_arenas: FAILED: %s: %s\n", call,
		        aml_errname(err));
		exit(1);
	}
}

/* The device index that holds the page of ptr. */
static int device_of(const struct aml_topology *t, const void *ptr)
{
	uintptr_t page = (uintptr_t)ptr & ~(uintptr_t)(aml_page_size() - 1);
	int where = -1;
	expect_ok(aml_topology_locate(t, (const void *)page, 1, &where),
	          "aml_topology_locate");
	return where;
}

/* What the device with index `device` holds, in bytes. */
static uint64_t resident(const struct aml_topology *t, size_t device)
{
	struct aml_emu_stats stats;
	expect_ok(aml_emu_stats(t, device, &stats), "aml_emu_stats");
	return stats.resident_bytes;
}

struct particle {
	double position[3];
	double velocity[3];
	struct particle *next;
};

int main(void)
{
	expect_ok(AML_VERSION_CHECK(), "AML_VERSION_CHECK");

	struct aml_topology *t = NULL;
	expect_ok(aml_emu_create(&t, "knl-flat;scale=1/1024", NULL),
	          "aml_emu_create");
	const struct aml_device *ddr = aml_topology_device(t, 0);
	const struct aml_device *mcdram = aml_topology_device(t, 1);

	/* One BIND area per tier: the arenas' pages come from these. */
	AML_AREA_DEVICE_DECL(fast);
	AML_AREA_DEVICE_DECL(slow);
	expect_ok(
	        aml_area_device_init(&fast, t, &mcdram, 1, AML_AREA_BIND, NULL),
	        "aml_area_device_init(MCDRAM)");
	expect_ok(aml_area_device_init(&slow, t, &ddr, 1, AML_AREA_BIND, NULL),
	          "aml_area_device_init(DDR)");

	/*
	 * A pool serves one object size. Alignment 0 and slab size 0 take the
	 * defaults (16 bytes, 64 KiB slabs); nothing is mapped until the
	 * first malloc.
	 */
	AML_ARENA_POOL_DECL(particles);
	expect_ok(aml_arena_pool_init(&particles, &fast.base,
	                              sizeof(struct particle), 0, 0),
	          "aml_arena_pool_init");
	struct aml_arena *pool = &particles.base;

	/* A list of 5000 particles (several slabs), every one in MCDRAM. */
	const int count = 5000;
	struct particle *list = NULL;
	for (int i = 0; i < count; i++) {
		struct particle *p = aml_arena_malloc(pool, sizeof(*p));
		expect(p != NULL, "the pool allocates a particle");
		*p = (struct particle){.velocity = {1.0, (double)i, 0.0},
		                       .next = list};
		list = p;
		expect(device_of(t, p) == 1, "every particle is in MCDRAM");
	}
	double sum = 0;
	for (const struct particle *p = list; p != NULL; p = p->next)
		sum += p->velocity[1];
	expect(sum == (double)count * (count - 1) / 2, "the list is intact");

	/* MCDRAM holds the pages the particles touched, within what the pool
	 * mapped: a page is placed when first touched. */
	struct aml_arena_stats stats;
	expect_ok(aml_arena_stats(pool, &stats), "aml_arena_stats");
	printf("pool: %d particles in %zu KiB of MCDRAM, %zu slab maps\n",
	       count, stats.mapped_bytes >> 10, stats.maps);
	expect(resident(t, 1) >= count * sizeof(struct particle) &&
	               resident(t, 1) <= stats.mapped_bytes,
	       "MCDRAM holds the particles, within the pool's mapped bytes");

	/*
	 * Bad input is refused and changes nothing: a size larger than the
	 * pool's objects, a pointer the pool did not return, and a double
	 * free (which the pool detects with a bit per object).
	 */
	aml_errno = 0;
	expect(aml_arena_malloc(pool, 2 * sizeof(struct particle)) == NULL &&
	               aml_errno == AML_EINVAL,
	       "a pool refuses sizes above its object size");
	struct particle on_stack;
	expect(aml_arena_free(pool, &on_stack) == AML_EINVAL,
	       "freeing memory the pool did not return is AML_EINVAL");
	struct particle *head = list;
	list = list->next;
	expect_ok(aml_arena_free(pool, head), "aml_arena_free");
	expect(aml_arena_free(pool, head) == AML_EINVAL,
	       "a double free is AML_EINVAL");

	/* Free the list: empty slabs go back to the area as they empty. */
	while (list != NULL) {
		struct particle *next = list->next;
		expect_ok(aml_arena_free(pool, list), "aml_arena_free");
		list = next;
	}
	expect_ok(aml_arena_stats(pool, &stats), "aml_arena_stats");
	expect(stats.unmaps > 0 && stats.mapped_bytes < stats.peak_mapped_bytes,
	       "freeing gives slabs back (one empty slab is kept)");
	aml_arena_pool_fini(&particles);
	expect(resident(t, 1) == 0, "fini gives every slab back");

	/*
	 * A bump arena carves blocks one after the other: the cheapest
	 * malloc, for data that dies together, such as one time step's
	 * scratch. reset() forgets every block at once and keeps one region
	 * for the next step. create/destroy makes it in one allocation.
	 */
	struct aml_arena *scratch = NULL;
	expect_ok(aml_arena_bump_create(&scratch, &slow.base, 0),
	          "aml_arena_bump_create");
	for (int step = 0; step < 3; step++) {
		for (int i = 0; i < 100; i++) {
			double *tmp = aml_arena_malloc(scratch, 64 << 10);
			expect(tmp != NULL, "the bump arena allocates 64 KiB");
			tmp[0] = step;
			expect(device_of(t, tmp) == 0, "scratch is in DDR");
		}
		expect_ok(aml_arena_reset(scratch), "aml_arena_reset");
		struct aml_arena_stats kept;
		expect_ok(aml_arena_stats(scratch, &kept), "aml_arena_stats");
		expect(kept.mapped_bytes == AML_ARENA_BUMP_REGION_SIZE,
		       "after reset, one 2 MiB region stays mapped");
	}
	expect_ok(aml_arena_stats(scratch, &stats), "aml_arena_stats");
	printf("bump: 3 steps of 100 x 64 KiB, peak %zu MiB of DDR\n",
	       stats.peak_mapped_bytes >> 20);
	aml_arena_bump_destroy(&scratch);
	expect(scratch == NULL && resident(t, 0) == 0,
	       "destroy gives everything back and clears the handle");

	/*
	 * The scalable arena counts its live blocks and may be capped: past
	 * the cap, malloc is AML_ENOMEM, takes nothing, and
	 * aml_error_detail() says why. The report lists every live block
	 * with the device of its page: here, the one block "leaked".
	 */
	AML_ARENA_SCALABLE_DECL(shared);
	expect_ok(aml_arena_scalable_init(&shared, &fast.base),
	          "aml_arena_scalable_init");
	expect_ok(aml_arena_scalable_set_cap(&shared.base, 64 << 10),
	          "aml_arena_scalable_set_cap");
	void *blocks[64];
	for (int i = 0; i < 64; i++)
		expect((blocks[i] = aml_arena_malloc(&shared.base, 1000)) !=
		               NULL,
		       "64 blocks of 1000 bytes (1 KiB class) fit in 64 KiB");
	expect(aml_arena_malloc(&shared.base, 1000) == NULL &&
	               aml_errno == AML_ENOMEM,
	       "the 65th block is past the cap");
	char why[AML_ERROR_DETAIL_MAX];
	aml_error_detail(why, sizeof(why));
	printf("refused: %s\n", why);
	for (int i = 1; i < 64; i++)
		expect_ok(aml_arena_free(&shared.base, blocks[i]),
		          "aml_arena_free");
	((char *)blocks[0])[0] = 1; /* touched: the report names its device */
	struct aml_arena_usage usage;
	expect_ok(aml_arena_scalable_usage(&shared.base, &usage),
	          "aml_arena_scalable_usage");
	expect(usage.live_allocations == 1 && usage.bytes_in_use == 1024 &&
	               usage.refused == 1,
	       "one live block of 1 KiB, one refusal");
	expect_ok(aml_arena_scalable_report(&shared.base, stdout, t),
	          "aml_arena_scalable_report");
	expect_ok(aml_arena_free(&shared.base, blocks[0]), "aml_arena_free");
	aml_arena_scalable_fini(&shared);

	aml_area_device_fini(&slow);
	aml_area_device_fini(&fast);
	aml_topology_destroy(&t);
	puts("03_arenas: ok");
	return 0;
}
