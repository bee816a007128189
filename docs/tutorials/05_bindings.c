/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tutorial 5: bindings. bazel run //docs:05_bindings
 *
 * An area decides where pages go when memory is mapped; a binding moves
 * the pages of an existing buffer, page by page or tile by tile, and checks
 * afterwards that they are still where they belong (aml/binding.h,
 * aml/binding/devices.h, aml/binding/custom.h, docs/area.md).
 *
 * The program maps a matrix of floats, 64 rows of one page each, on the DDR
 * of an emulated Knights Landing, cuts it into 8 tiles of 8 rows, and
 * interleaves the tiles over MCDRAM and DDR. It checks the placement of every
 * page, the data after the moves, a page moved behind the binding's back, and a
 * custom binding that pulls the first tiles into MCDRAM.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <aml.h>
#include <aml/binding/custom.h>
#include <aml/binding/devices.h>
#include <aml/tiling/nd.h>

static void expect(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "05_bindings: FAILED: %s\n", what);
		exit(1);
	}
}

static void expect_ok(int err, const char *call)
{
	if (err != 0) {
		fprintf(stderr, "05_bindings: FAILED: %s: %s\n", call,
		        aml_errname(err));
		exit(1);
	}
}

enum { ROWS = 64, TILE_ROWS = 8 };

/* Page i of the matrix is on device where[i] (0: DDR, 1: MCDRAM). */
static void locate(const struct aml_topology *t,
                   const float *matrix,
                   size_t npages,
                   int *where)
{
	expect_ok(aml_topology_locate(t, matrix, npages, where),
	          "aml_topology_locate");
}

/* How many pages of the matrix are not where `binding` puts them. */
static size_t misplaced(const struct aml_binding *binding,
                        const struct aml_topology *t,
                        const struct aml_tiling *tiling,
                        const float *matrix,
                        size_t *first)
{
	size_t count = 0;
	expect_ok(
	        aml_binding_check(binding, t, tiling, matrix, first, 1, &count),
	        "aml_binding_check");
	return count;
}

/* The custom binding's callback: the first `hot` tiles go to `fast`, the
 * others are left where they are (NULL). */
struct hot_tiles {
	const struct aml_device *fast;
	size_t hot;
};

static const struct aml_device *
hot_tiles_first(size_t tile, size_t ntiles, void *arg)
{
	const struct hot_tiles *h = arg;
	(void)ntiles;
	return tile < h->hot ? h->fast : NULL;
}

int main(void)
{
	expect_ok(AML_VERSION_CHECK(), "AML_VERSION_CHECK");

	struct aml_topology *t = NULL;
	expect_ok(aml_emu_create(&t, "knl-flat;scale=1/1024", NULL),
	          "aml_emu_create");
	const struct aml_device *ddr = aml_topology_device(t, 0);
	const struct aml_device *mcdram = aml_topology_device(t, 1);

	/* The matrix starts on DDR, filled with 0, 1, 2, ... One row per
	 * page, so that page p holds row p. */
	const size_t cols = aml_page_size() / sizeof(float);
	const size_t npages = ROWS;
	const size_t bytes = npages * aml_page_size();
	float *matrix = aml_device_map(ddr, bytes);
	expect(matrix != NULL, "the matrix maps on DDR");
	for (size_t i = 0; i < ROWS * cols; i++)
		matrix[i] = (float)i;
	int *where = calloc(npages, sizeof(*where));
	expect(where != NULL, "calloc");

	/* Tiles of TILE_ROWS whole rows: 8 tiles, each one contiguous. */
	struct aml_layout layout;
	expect_ok(aml_layout_init(&layout, matrix, AML_LAYOUT_ORDER_C,
	                          sizeof(float), 2,
	                          (const size_t[]){ROWS, cols}, NULL),
	          "aml_layout_init");
	AML_TILING_ND_DECL(tiles);
	expect_ok(aml_tiling_nd_init(&tiles, &layout,
	                             (const size_t[]){TILE_ROWS, cols},
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          "aml_tiling_nd_init");
	const size_t pages_per_tile = TILE_ROWS;

	/*
	 * Interleave the tiles: tile u goes to devices[u mod 2], so the even
	 * tiles to MCDRAM and the odd ones stay on DDR. (BLOCK would give
	 * each device a contiguous share; SINGLE one device everything.)
	 */
	const struct aml_device *two[2] = {mcdram, ddr};
	AML_BINDING_DEVICES_DECL(interleave);
	expect_ok(aml_binding_devices_init(&interleave, two, 2,
	                                   AML_BINDING_INTERLEAVE,
	                                   AML_BINDING_TILE),
	          "aml_binding_devices_init");

	/* Before apply, the even tiles' pages are misplaced: half of them. */
	size_t first = 0;
	expect(misplaced(&interleave.base, t, &tiles.base, matrix, &first) ==
	               npages / 2,
	       "before apply, the even tiles are on the wrong device");

	expect_ok(aml_binding_apply(&interleave.base, &tiles.base, matrix),
	          "aml_binding_apply");
	locate(t, matrix, npages, where);
	for (size_t p = 0; p < npages; p++)
		expect(where[p] == ((p / pages_per_tile) % 2 == 0 ? 1 : 0),
		       "even tiles on MCDRAM, odd tiles on DDR");
	for (size_t i = 0; i < ROWS * cols; i++)
		expect(matrix[i] == (float)i, "the data moved with the pages");
	expect(misplaced(&interleave.base, t, &tiles.base, matrix, &first) == 0,
	       "after apply, nothing is misplaced");

	/* Moved behind the binding's back, a page shows up in check. */
	expect_ok(aml_device_move(ddr, matrix + 3 * cols, aml_page_size()),
	          "aml_device_move");
	expect(misplaced(&interleave.base, t, &tiles.base, matrix, &first) ==
	                       1 &&
	               first == 3,
	       "check finds page 3, moved to DDR");

	/*
	 * A custom binding asks a callback for each unit's device. This one
	 * sends the first two tiles to MCDRAM and leaves the others alone,
	 * which puts page 3 back and pulls tile 1 up from DDR.
	 */
	struct hot_tiles hot = {.fast = mcdram, .hot = 2};
	AML_BINDING_CUSTOM_DECL(first_tiles);
	expect_ok(aml_binding_custom_init(&first_tiles, hot_tiles_first, &hot,
	                                  AML_BINDING_TILE),
	          "aml_binding_custom_init");
	expect_ok(aml_binding_apply(&first_tiles.base, &tiles.base, matrix),
	          "aml_binding_apply(custom)");
	locate(t, matrix, npages, where);
	for (size_t p = 0; p < npages; p++) {
		size_t tile = p / pages_per_tile;
		int expected = tile < 2 ? 1 : (tile % 2 == 0 ? 1 : 0);
		expect(where[p] == expected,
		       "tiles 0-1 on MCDRAM, the others as interleaved");
	}
	printf("pages per device after both bindings (D: DDR, M: MCDRAM):\n");
	for (size_t p = 0; p < npages; p++)
		putchar(where[p] == 1 ? 'M' : 'D');
	putchar('\n');

	/* Bad input changes nothing: SINGLE takes one device, and the
	 * buffer must be page-aligned. */
	AML_BINDING_DEVICES_DECL(bad);
	expect(aml_binding_devices_init(&bad, two, 2, AML_BINDING_SINGLE,
	                                AML_BINDING_PAGE) == AML_EINVAL,
	       "SINGLE over two devices is AML_EINVAL");
	expect(aml_binding_apply(&interleave.base, &tiles.base, matrix + 1) ==
	               AML_EINVAL,
	       "an unaligned buffer is AML_EINVAL");

	aml_binding_custom_fini(&first_tiles);
	aml_binding_devices_fini(&interleave);
	aml_tiling_nd_fini(&tiles);
	free(where);
	/* The pages moved, but the mapping is still DDR's to unmap. */
	expect_ok(aml_device_unmap(ddr, matrix, bytes), "aml_device_unmap");
	aml_topology_destroy(&t);
	puts("05_bindings: ok");
	return 0;
}
