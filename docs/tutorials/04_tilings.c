/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tutorial 4: layouts and tilings. bazel run //docs:04_tilings
 *
 * A layout describes an N-dimensional array in memory (element size, dims,
 * strides, storage order); a tiling cuts it into a grid of tiles that the
 * other blocks work on: a binding places tiles on devices (tutorial 5), a
 * dma copies them (tutorial 6), a scratchpad caches them (tutorial 7).
 * Reference: aml/layout.h, aml/tiling.h, aml/tiling/nd.h, docs/tiling.md.
 *
 * The program describes a 10 x 7 matrix of doubles stored with a padded
 * row pitch, cuts it into 4 x 3 tiles (ragged at the borders), visits every
 * element tile by tile, and packs the tiles into a contiguous buffer. It
 * only computes addresses, so plain malloc'd memory will do: layouts and
 * tilings never allocate and never touch the memory they describe.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <aml.h>
#include <aml/tiling/nd.h>

static void expect(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "04_tilings: FAILED: %s\n", what);
		exit(1);
	}
}

static void expect_ok(int err, const char *call)
{
	if (err != 0) {
		fprintf(stderr, "04_tilings: FAILED: %s: %s\n", call,
		        aml_errname(err));
		exit(1);
	}
}

/* Element {i, j} of a 2-d layout. */
static double *at(const struct aml_layout *layout, size_t i, size_t j)
{
	double *p = aml_layout_address(layout, (const size_t[]){i, j});
	expect(p != NULL, "aml_layout_address");
	return p;
}

enum { ROWS = 10, COLS = 7, PITCH = 8 };

int main(void)
{
	expect_ok(AML_VERSION_CHECK(), "AML_VERSION_CHECK");

	/*
	 * C order: the last dimension (columns) is contiguous. Rows are PITCH
	 * doubles apart, one more than COLS, as a padded allocation would be.
	 * Strides are in bytes, one per dimension.
	 */
	const size_t matrix_dims[2] = {ROWS, COLS};
	const size_t tile_dims[2] = {4, 3};
	double *buffer = calloc(ROWS * PITCH, sizeof(double));
	expect(buffer != NULL, "calloc");
	struct aml_layout matrix;
	expect_ok(aml_layout_init(&matrix, buffer, AML_LAYOUT_ORDER_C,
	                          sizeof(double), 2, matrix_dims,
	                          (const size_t[]){PITCH * sizeof(double),
	                                           sizeof(double)}),
	          "aml_layout_init");
	for (size_t i = 0; i < ROWS; i++)
		for (size_t j = 0; j < COLS; j++)
			*at(&matrix, i, j) = 100.0 * (double)i + (double)j;
	expect(buffer[2 * PITCH + 3] == 203.0,
	       "element {2, 3} is row 2, col 3");
	expect(!aml_layout_is_contiguous(&matrix), "padded rows leave gaps");
	/* From the first byte of {0, 0} to the last byte of {9, 6}. */
	expect(aml_layout_bytes(&matrix) ==
	               ((ROWS - 1) * PITCH + COLS) * sizeof(double),
	       "the span stops at the last element");

	/* A slice is a view: the same memory, no copy. */
	struct aml_layout block;
	expect_ok(aml_layout_slice(&block, &matrix, (const size_t[]){2, 1},
	                           (const size_t[]){3, 4}),
	          "aml_layout_slice");
	expect(at(&block, 0, 0) == at(&matrix, 2, 1),
	       "the slice starts at {2, 1}");

	/*
	 * Tiles of 4 x 3 elements: a grid of ceil(10/4) x ceil(7/3) = 3 x 3.
	 * RESIZE makes the border tiles smaller (2 rows, 1 column) rather than
	 * padding them; IN_PLACE tiles are strided views of the matrix;
	 * ROW_MAJOR numbers tiles along a row of the grid first.
	 */
	AML_TILING_ND_DECL(tiles);
	expect_ok(aml_tiling_nd_init(&tiles, &matrix, tile_dims,
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          "aml_tiling_nd_init");
	struct aml_tiling *tiling = &tiles.base;
	size_t grid[2], dims[2], coords[2], id;
	expect_ok(aml_tiling_grid_dims(tiling, grid), "aml_tiling_grid_dims");
	expect(aml_tiling_ntiles(tiling) == 9 && grid[0] == 3 && grid[1] == 3,
	       "a 3 x 3 grid of tiles");
	expect_ok(aml_tiling_tile_dims(tiling, 8, dims),
	          "aml_tiling_tile_dims");
	expect(dims[0] == 2 && dims[1] == 1, "the corner tile is 2 x 1");

	/* Ids and grid coordinates convert both ways. */
	expect_ok(aml_tiling_tile_coords(tiling, 5, coords),
	          "aml_tiling_tile_coords");
	expect(coords[0] == 1 && coords[1] == 2, "tile 5 is at {1, 2}");
	expect_ok(aml_tiling_tile_id(tiling, coords, &id),
	          "aml_tiling_tile_id");
	expect(id == 5, "and {1, 2} is tile 5");

	/* The tile of each element: element {i, j} is in grid {i/4, j/3}. */
	puts("tile of each element of the 10 x 7 matrix:");
	for (size_t i = 0; i < ROWS; i++) {
		for (size_t j = 0; j < COLS; j++) {
			expect_ok(aml_tiling_tile_id(
			                  tiling,
			                  (const size_t[]){i / 4, j / 3}, &id),
			          "aml_tiling_tile_id");
			printf(" %zu", id);
		}
		putchar('\n');
	}

	/*
	 * Visit every element tile by tile, through each tile's own layout.
	 * Each element is seen exactly once, so the sums agree.
	 */
	double by_tiles = 0, direct = 0;
	AML_TILING_FOREACH (t, tiling) {
		struct aml_layout tile;
		expect_ok(aml_tiling_tile_layout(tiling, t, &tile),
		          "aml_tiling_tile_layout");
		expect(aml_tiling_tile_ptr(tiling, t) == at(&tile, 0, 0),
		       "tile_ptr is the tile's first element");
		for (size_t i = 0; i < tile.dims[0]; i++)
			for (size_t j = 0; j < tile.dims[1]; j++)
				by_tiles += *at(&tile, i, j);
	}
	for (size_t i = 0; i < ROWS; i++)
		for (size_t j = 0; j < COLS; j++)
			direct += *at(&matrix, i, j);
	expect(by_tiles == direct, "the tiles cover the matrix exactly once");

	/*
	 * CONTIGUOUS storage: the same grid over a packed buffer, tile after
	 * tile, each tile dense in a slot of one full tile. A tiling of a
	 * shape-only layout (NULL base) answers aml_tiling_bytes(): how much
	 * to allocate. Then pack the matrix into it element by element
	 * (tutorial 6 does the same with one dma copy per tile).
	 */
	struct aml_layout shape;
	expect_ok(aml_layout_init(&shape, NULL, AML_LAYOUT_ORDER_C,
	                          sizeof(double), 2, matrix_dims, NULL),
	          "aml_layout_init(shape)");
	AML_TILING_ND_DECL(packed_tiles);
	expect_ok(aml_tiling_nd_init(&packed_tiles, &shape, tile_dims,
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_CONTIGUOUS),
	          "aml_tiling_nd_init(shape)");
	size_t packed_bytes = aml_tiling_bytes(&packed_tiles.base);
	expect(packed_bytes == 9 * 4 * 3 * sizeof(double),
	       "9 slots of a full 4 x 3 tile");
	aml_tiling_nd_fini(&packed_tiles);
	double *packed = malloc(packed_bytes);
	expect(packed != NULL, "malloc");
	struct aml_layout packed_array;
	expect_ok(aml_layout_init(&packed_array, packed, AML_LAYOUT_ORDER_C,
	                          sizeof(double), 2, matrix_dims, NULL),
	          "aml_layout_init(packed)");
	expect_ok(aml_tiling_nd_init(&packed_tiles, &packed_array, tile_dims,
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_CONTIGUOUS),
	          "aml_tiling_nd_init(packed)");
	AML_TILING_FOREACH (t, tiling) {
		struct aml_layout from, to;
		expect_ok(aml_tiling_tile_layout(tiling, t, &from),
		          "aml_tiling_tile_layout");
		expect_ok(aml_tiling_tile_layout(&packed_tiles.base, t, &to),
		          "aml_tiling_tile_layout(packed)");
		for (size_t i = 0; i < from.dims[0]; i++)
			for (size_t j = 0; j < from.dims[1]; j++)
				*at(&to, i, j) = *at(&from, i, j);
	}
	/* Tile 4 is grid {1, 1}: rows 4-7, columns 3-5, now in slot 4. */
	expect(aml_tiling_tile_ptr(&packed_tiles.base, 4) == packed + 4 * 12,
	       "a contiguous tile starts at base + id * full tile");
	expect(packed[4 * 12 + 0] == 403.0 && packed[4 * 12 + 11] == 705.0,
	       "slot 4 holds rows 4-7, columns 3-5, row by row");

	/*
	 * Errors: an id past the last tile is AML_EDOM (pointer functions
	 * return NULL and set aml_errno), a tile dimension of 0 is
	 * AML_EINVAL, and PAD in place needs room in the pitch for the
	 * padding: 3 padded tiles of 3 columns are 9 > PITCH = 8.
	 */
	aml_errno = 0;
	expect(aml_tiling_tile_ptr(tiling, 9) == NULL && aml_errno == AML_EDOM,
	       "tile 9 of 9 is AML_EDOM");
	AML_TILING_ND_DECL(bad);
	expect(aml_tiling_nd_init(&bad, &matrix, (const size_t[]){0, 3},
	                          AML_TILING_ORDER_ROW_MAJOR, AML_TILING_RESIZE,
	                          AML_TILING_IN_PLACE) == AML_EINVAL,
	       "a tile dimension of 0 is AML_EINVAL");
	expect(aml_tiling_nd_init(&bad, &matrix, tile_dims,
	                          AML_TILING_ORDER_ROW_MAJOR, AML_TILING_PAD,
	                          AML_TILING_IN_PLACE) == AML_EINVAL,
	       "padding that does not fit the pitch is AML_EINVAL");

	aml_tiling_nd_fini(&packed_tiles);
	aml_tiling_nd_fini(&tiles);
	free(packed);
	free(buffer);
	puts("04_tilings: ok");
	return 0;
}
