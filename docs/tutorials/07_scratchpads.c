/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tutorial 7: scratchpads. bazel run //docs:07_scratchpads
 *
 * A scratchpad caches the tiles of an array that lives in slow memory in a
 * few slots of fast memory, under the program's control: pull a tile into
 * a slot, work on the slot, release it (aml/scratchpad.h,
 * docs/scratchpad.md). The copies go through a dma engine, so the next
 * tile can be pulled while the program works on this one: double
 * buffering.
 *
 * On an emulated Knights Landing, an array of 8 tiles sits in DDR and the
 * scratchpad has 2 slots in MCDRAM. The program sums the array tile by tile
 * twice, pulling synchronously and then double-buffered, and checks that
 * the second loop is faster in modelled time. Then it writes a tile back,
 * hits a cached tile, and runs into the errors a scratchpad reports
 * instead of crashing.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/dma/par.h>
#include <aml/scratchpad.h>
#include <aml/tiling/nd.h>

static void expect(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "07_scratchpads: FAILED: %s\n", what);
		exit(1);
	}
}

static void expect_ok(int err, const char *call)
{
	if (err != 0) {
		fprintf(stderr, "07_scratchpads: FAILED: %s: %s\n", call,
		        aml_errname(err));
		exit(1);
	}
}

static uint64_t now(const struct aml_topology *t)
{
	struct aml_emu_clock clock;
	expect_ok(aml_emu_clock(t, &clock), "aml_emu_clock");
	return clock.thread_ns;
}

/*
 * The compute kernel: the sum of a tile held in a slot. It also charges
 * the emulator for four sweeps over the slot, as a kernel with more
 * arithmetic would read it, so that compute and copies take comparable
 * modelled time.
 */
static double sum_slot(const struct aml_topology *t,
                       struct aml_scratchpad *sp,
                       size_t slot,
                       size_t tile_bytes)
{
	const float *x = aml_scratchpad_slot_ptr(sp, slot);
	expect(x != NULL, "aml_scratchpad_slot_ptr");
	double sum = 0;
	for (size_t i = 0; i < tile_bytes / sizeof(float); i++)
		sum += x[i];
	for (int sweep = 0; sweep < 4; sweep++)
		expect_ok(aml_emu_charge(t, x, tile_bytes, AML_EMU_READ),
		          "aml_emu_charge");
	return sum;
}

enum { ROWS = 64, TILE_ROWS = 8 };

int main(void)
{
	expect_ok(AML_VERSION_CHECK(), "AML_VERSION_CHECK");

	struct aml_topology *t = NULL;
	expect_ok(aml_emu_create(&t, "knl-flat;scale=1/1024", NULL),
	          "aml_emu_create");
	const struct aml_device *ddr = aml_topology_device(t, 0);
	const struct aml_device *mcdram = aml_topology_device(t, 1);
	AML_AREA_DEVICE_DECL(slow);
	AML_AREA_DEVICE_DECL(fast);
	expect_ok(aml_area_device_init(&slow, t, &ddr, 1, AML_AREA_BIND, NULL),
	          "aml_area_device_init(DDR)");
	expect_ok(
	        aml_area_device_init(&fast, t, &mcdram, 1, AML_AREA_BIND, NULL),
	        "aml_area_device_init(MCDRAM)");

	/* The array in DDR: ROWS rows of one page; tiles of TILE_ROWS rows. */
	const size_t cols = aml_page_size() / sizeof(float);
	const size_t bytes = ROWS * cols * sizeof(float);
	const size_t tile_bytes = TILE_ROWS * cols * sizeof(float);
	float *array = aml_area_mmap(&slow.base, bytes, NULL);
	expect(array != NULL, "the array maps on DDR");
	for (size_t i = 0; i < ROWS * cols; i++)
		array[i] = (float)(i % 1000);
	struct aml_layout layout;
	expect_ok(aml_layout_init(&layout, array, AML_LAYOUT_ORDER_C,
	                          sizeof(float), 2,
	                          (const size_t[]){ROWS, cols}, NULL),
	          "aml_layout_init");
	AML_TILING_ND_DECL(tiles);
	expect_ok(aml_tiling_nd_init(&tiles, &layout,
	                             (const size_t[]){TILE_ROWS, cols},
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          "aml_tiling_nd_init");
	const size_t ntiles = aml_tiling_ntiles(&tiles.base);
	double expected = 0;
	for (size_t i = 0; i < ROWS * cols; i++)
		expected += array[i];

	/* One worker, every copy handed to it (see tutorial 6). */
	struct aml_dma_par_options options = {
	        .nworkers = 1,
	        .inline_max = AML_DMA_PAR_NO_INLINE,
	};
	AML_DMA_PAR_DECL(dma);
	expect_ok(aml_dma_par_init(&dma, t, &options), "aml_dma_par_init");

	/* Two slots in MCDRAM, mapped once by init. */
	AML_SCRATCHPAD_DECL(sp);
	expect_ok(
	        aml_scratchpad_init(&sp, &tiles.base, &fast.base, &dma.base, 2),
	        "aml_scratchpad_init");

	/* Synchronous: pull waits for the copy, then the tile is summed. */
	uint64_t start = now(t);
	double sum = 0;
	for (size_t i = 0; i < ntiles; i++) {
		size_t slot;
		expect_ok(aml_scratchpad_pull(&sp, i, 0, &slot),
		          "aml_scratchpad_pull");
		/* The first pull into a slot placed its pages. */
		int where = -1;
		expect_ok(aml_topology_locate(
		                  t, aml_scratchpad_slot_ptr(&sp, slot), 1,
		                  &where),
		          "aml_topology_locate");
		expect(where == 1, "the slots are in MCDRAM");
		sum += sum_slot(t, &sp, slot, tile_bytes);
		expect_ok(aml_scratchpad_release(&sp, slot),
		          "aml_scratchpad_release");
	}
	uint64_t sync_ns = now(t) - start;
	expect(sum == expected, "the synchronous loop sums the array");

	/*
	 * Double-buffered, on a fresh scratchpad (nothing cached): while tile
	 * i is summed, tile i + 1 is on its way into the other slot. The slot
	 * of tile i - 1, released, is the one the pull of tile i + 1 evicts.
	 */
	aml_scratchpad_fini(&sp);
	expect_ok(
	        aml_scratchpad_init(&sp, &tiles.base, &fast.base, &dma.base, 2),
	        "aml_scratchpad_init");
	start = now(t);
	sum = 0;
	size_t cur, next = 0;
	struct aml_scratchpad_request *rcur = NULL, *rnext = NULL;
	expect_ok(aml_scratchpad_async_pull(&sp, 0, 0, &cur, &rcur),
	          "aml_scratchpad_async_pull");
	for (size_t i = 0; i < ntiles; i++) {
		if (i + 1 < ntiles)
			expect_ok(aml_scratchpad_async_pull(&sp, i + 1, 0,
			                                    &next, &rnext),
			          "aml_scratchpad_async_pull");
		expect_ok(aml_scratchpad_wait(&sp, &rcur),
		          "aml_scratchpad_wait");
		sum += sum_slot(t, &sp, cur, tile_bytes);
		expect_ok(aml_scratchpad_release(&sp, cur),
		          "aml_scratchpad_release");
		cur = next;
		rcur = rnext;
	}
	uint64_t async_ns = now(t) - start;
	expect(sum == expected, "the double-buffered loop sums the array");
	printf("sum of %zu tiles: synchronous %llu ns, double-buffered %llu ns "
	       "(modelled)\n",
	       ntiles, (unsigned long long)sync_ns,
	       (unsigned long long)async_ns);
	expect(async_ns < sync_ns, "double buffering hides the copies");

	/*
	 * Writing: pull tile 3 marked dirty, change it in the slot, release
	 * it. It stays cached; flush writes dirty tiles back to the array.
	 */
	struct aml_scratchpad_stats before, after;
	expect_ok(aml_scratchpad_stats(&sp, &before), "aml_scratchpad_stats");
	size_t slot;
	expect_ok(aml_scratchpad_pull(&sp, 3, AML_SCRATCHPAD_DIRTY, &slot),
	          "aml_scratchpad_pull(dirty)");
	float *x = aml_scratchpad_slot_ptr(&sp, slot);
	for (size_t i = 0; i < tile_bytes / sizeof(float); i++)
		x[i] = -1.0f;
	expect_ok(aml_scratchpad_release(&sp, slot), "aml_scratchpad_release");
	expect(array[3 * TILE_ROWS * cols] != -1.0f,
	       "the array is unchanged until the tile is written back");
	expect_ok(aml_scratchpad_flush(&sp), "aml_scratchpad_flush");
	expect(array[3 * TILE_ROWS * cols] == -1.0f &&
	               array[4 * TILE_ROWS * cols - 1] == -1.0f &&
	               array[4 * TILE_ROWS * cols] != -1.0f,
	       "flush wrote tile 3, and only tile 3, back");

	/* Tile 3 is still cached: pulling it again is a hit, no copy. */
	size_t again;
	expect_ok(aml_scratchpad_pull(&sp, 3, 0, &again),
	          "aml_scratchpad_pull(hit)");
	expect_ok(aml_scratchpad_stats(&sp, &after), "aml_scratchpad_stats");
	expect(again == slot && after.hits == before.hits + 1 &&
	               after.writebacks == before.writebacks + 1,
	       "one write-back, then a hit in the same slot");

	/*
	 * Errors change nothing. With tile 3 pinned, pin the other slot too:
	 * a third tile has nowhere to go (AML_EBUSY, not an eviction of a
	 * pinned slot). Releasing a slot twice is AML_EPERM; a tile past the
	 * end is AML_EDOM.
	 */
	size_t other;
	expect_ok(aml_scratchpad_pull(&sp, 0, 0, &other),
	          "aml_scratchpad_pull");
	size_t none;
	expect(aml_scratchpad_pull(&sp, 5, 0, &none) == AML_EBUSY,
	       "every slot pinned: AML_EBUSY");
	expect_ok(aml_scratchpad_release(&sp, other), "aml_scratchpad_release");
	expect_ok(aml_scratchpad_release(&sp, again), "aml_scratchpad_release");
	expect(aml_scratchpad_release(&sp, again) == AML_EPERM,
	       "releasing a slot with no pin is AML_EPERM");
	expect(aml_scratchpad_pull(&sp, ntiles, 0, &none) == AML_EDOM,
	       "a tile past the end is AML_EDOM");

	aml_scratchpad_fini(&sp);
	aml_dma_par_fini(&dma);
	aml_tiling_nd_fini(&tiles);
	expect_ok(aml_area_munmap(&slow.base, array, bytes), "aml_area_munmap");
	aml_area_device_fini(&fast);
	aml_area_device_fini(&slow);
	aml_topology_destroy(&t);
	puts("07_scratchpads: ok");
	return 0;
}
