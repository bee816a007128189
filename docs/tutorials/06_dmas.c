/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tutorial 6: dmas. bazel run //docs:06_dmas
 *
 * A dma engine copies data between areas: a contiguous range, a tile, or
 * any strided array, described by layouts (aml/dma.h, aml/dma/seq.h,
 * aml/dma/par.h, docs/dma.md). The sequential engine copies in the calling
 * thread; the parallel one hands copies to worker threads, so the caller
 * computes while they run.
 *
 * On an emulated Knights Landing, the program packs a strided tile of a DDR
 * matrix into MCDRAM and back, then measures in modelled time what an
 * asynchronous copy buys: on the parallel engine the copy overlaps the
 * caller's work, on the sequential one the two add up. The emulator's
 * clock makes that comparison exact and repeatable.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/dma/par.h>
#include <aml/dma/seq.h>
#include <aml/tiling/nd.h>

static void expect(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "06_dmas: FAILED: %s\n", what);
		exit(1);
	}
}

static void expect_ok(int err, const char *call)
{
	if (err != 0) {
		fprintf(stderr, "06_dmas: FAILED: %s: %s\n", call,
		        aml_errname(err));
		exit(1);
	}
}

/* The calling thread's modelled time, in nanoseconds. */
static uint64_t now(const struct aml_topology *t)
{
	struct aml_emu_clock clock;
	expect_ok(aml_emu_clock(t, &clock), "aml_emu_clock");
	return clock.thread_ns;
}

/*
 * Copy `size` bytes from src to dst asynchronously on `dma` while the
 * caller reads `work` four times (a compute kernel, charged to the
 * emulator); return the modelled time from submission to the end of the
 * wait.
 */
static uint64_t copy_while_computing(const struct aml_topology *t,
                                     struct aml_dma *dma,
                                     void *dst,
                                     const void *src,
                                     size_t size,
                                     const void *work)
{
	uint64_t start = now(t);
	struct aml_dma_request *request = NULL;
	expect_ok(aml_dma_async_copy_bytes(dma, &request, dst, src, size),
	          "aml_dma_async_copy_bytes");
	for (int sweep = 0; sweep < 4; sweep++)
		expect_ok(aml_emu_charge(t, work, size, AML_EMU_READ),
		          "aml_emu_charge");
	expect_ok(aml_dma_wait(dma, &request), "aml_dma_wait");
	expect(request == NULL, "wait takes the request back");
	return now(t) - start;
}

enum { N = 64, TILE = 16 };

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

	/*
	 * The sequential engine. Given the topology, it charges its copies to
	 * the emulator's cost model; with NULL it would only memcpy.
	 */
	AML_DMA_SEQ_DECL(seq);
	expect_ok(aml_dma_seq_init(&seq, t), "aml_dma_seq_init");

	/* An N x N matrix of floats on DDR, element {i, j} = i * N + j. */
	float *matrix = aml_area_mmap(&slow.base, N * N * sizeof(float), NULL);
	float *packed =
	        aml_area_mmap(&fast.base, TILE * TILE * sizeof(float), NULL);
	expect(matrix != NULL && packed != NULL, "buffers on DDR and MCDRAM");
	for (size_t i = 0; i < N * N; i++)
		matrix[i] = (float)i;

	/*
	 * Tile 5 of a grid of TILE x TILE tiles is grid {1, 1}: rows and
	 * columns 16-31, TILE rows of TILE floats, N floats apart. Copy it
	 * into a dense TILE x TILE layout in MCDRAM: same element size, same
	 * dims, so element {i, j} lands on element {i, j}.
	 */
	struct aml_layout whole, tile, dense;
	expect_ok(aml_layout_init(&whole, matrix, AML_LAYOUT_ORDER_C,
	                          sizeof(float), 2, (const size_t[]){N, N},
	                          NULL),
	          "aml_layout_init(matrix)");
	AML_TILING_ND_DECL(tiles);
	expect_ok(aml_tiling_nd_init(&tiles, &whole,
	                             (const size_t[]){TILE, TILE},
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          "aml_tiling_nd_init");
	expect_ok(aml_tiling_tile_layout(&tiles.base, 5, &tile),
	          "aml_tiling_tile_layout");
	expect_ok(aml_layout_init(&dense, packed, AML_LAYOUT_ORDER_C,
	                          sizeof(float), 2,
	                          (const size_t[]){TILE, TILE}, NULL),
	          "aml_layout_init(packed)");
	expect_ok(aml_dma_copy(&seq.base, &dense, &tile), "aml_dma_copy(pack)");
	for (size_t i = 0; i < TILE; i++)
		for (size_t j = 0; j < TILE; j++)
			expect(packed[i * TILE + j] ==
			               (float)((TILE + i) * N + TILE + j),
			       "the tile is packed row by row");

	/* Work on the packed copy, and copy it back into the matrix. */
	for (size_t k = 0; k < TILE * TILE; k++)
		packed[k] = -packed[k];
	expect_ok(aml_dma_copy(&seq.base, &tile, &dense), "aml_dma_copy(back)");
	expect(matrix[TILE * N + TILE] == -(float)(TILE * N + TILE) &&
	               matrix[TILE * N + TILE - 1] ==
	                       (float)(TILE * N + TILE - 1),
	       "the tile, and only the tile, came back");

	/*
	 * Copies that cannot be done are refused with AML_EINVAL, and copy
	 * nothing: layouts of different dims, and overlapping byte ranges.
	 */
	struct aml_layout other_tile;
	expect_ok(aml_tiling_tile_layout(&tiles.base, 0, &other_tile),
	          "aml_tiling_tile_layout");
	struct aml_layout row;
	expect_ok(aml_layout_slice(&row, &dense, (const size_t[]){0, 0},
	                           (const size_t[]){1, TILE}),
	          "aml_layout_slice");
	expect(aml_dma_copy(&seq.base, &other_tile, &row) == AML_EINVAL,
	       "a 1 x 16 row does not fit a 16 x 16 tile");
	expect(matrix[0] == 0.0f, "and nothing was copied");
	expect(aml_dma_copy_bytes(&seq.base, matrix + 1, matrix, 64) ==
	               AML_EINVAL,
	       "overlapping ranges are AML_EINVAL");

	/*
	 * Asynchronous copies, in modelled time. 1 MiB from DDR to MCDRAM,
	 * while the caller sweeps another 1 MiB of MCDRAM four times.
	 */
	const size_t size = (size_t)1 << 20;
	char *src = aml_area_mmap(&slow.base, size, NULL);
	char *dst = aml_area_mmap(&fast.base, size, NULL);
	char *work = aml_area_mmap(&fast.base, size, NULL);
	expect(src != NULL && dst != NULL && work != NULL, "1 MiB buffers");
	memset(src, 42, size);
	uint64_t copy_ns = 0;
	expect_ok(aml_emu_copy_cost(t, dst, src, size, &copy_ns),
	          "aml_emu_copy_cost");
	uint64_t before = now(t);
	for (int sweep = 0; sweep < 4; sweep++)
		expect_ok(aml_emu_charge(t, work, size, AML_EMU_READ),
		          "aml_emu_charge");
	uint64_t work_ns = now(t) - before;

	/*
	 * One worker, and every copy handed to it (by default copies up to
	 * 16 KiB run in the caller, cheaper than a hand-off): the worker
	 * copies while this thread works, and the wait resumes this thread
	 * at the later of its own time and the copy's end.
	 */
	struct aml_dma_par_options options = {
	        .nworkers = 1,
	        .inline_max = AML_DMA_PAR_NO_INLINE,
	};
	struct aml_dma *par = NULL;
	expect_ok(aml_dma_par_create(&par, t, &options), "aml_dma_par_create");
	uint64_t par_ns = copy_while_computing(t, par, dst, src, size, work);
	expect(memcmp(dst, src, size) == 0, "the parallel engine copied");
	memset(dst, 0, size);
	uint64_t seq_ns =
	        copy_while_computing(t, &seq.base, dst, src, size, work);
	expect(memcmp(dst, src, size) == 0, "the sequential engine copied");
	printf("copy %llu ns, work %llu ns: parallel engine %llu ns, "
	       "sequential %llu ns\n",
	       (unsigned long long)copy_ns, (unsigned long long)work_ns,
	       (unsigned long long)par_ns, (unsigned long long)seq_ns);
	uint64_t longer = copy_ns > work_ns ? copy_ns : work_ns;
	expect(par_ns >= longer && par_ns < copy_ns + work_ns,
	       "on the parallel engine the copy overlaps the work");
	expect(seq_ns >= copy_ns + work_ns,
	       "on the sequential engine the copy adds to the work");

	/* Fire and forget: no request handle; a barrier waits for all. */
	for (int quarter = 0; quarter < 4; quarter++)
		expect_ok(aml_dma_async_copy_bytes(
		                  par, NULL, work + quarter * size / 4,
		                  src + quarter * size / 4, size / 4),
		          "aml_dma_async_copy_bytes(fire and forget)");
	expect_ok(aml_dma_barrier(par), "aml_dma_barrier");
	expect(memcmp(work, src, size) == 0, "the barrier saw every copy");

	aml_dma_par_destroy(&par);
	expect(par == NULL, "destroy clears the handle");
	aml_dma_seq_fini(&seq);
	aml_tiling_nd_fini(&tiles);
	expect_ok(aml_area_munmap(&fast.base, work, size), "aml_area_munmap");
	expect_ok(aml_area_munmap(&fast.base, dst, size), "aml_area_munmap");
	expect_ok(aml_area_munmap(&slow.base, src, size), "aml_area_munmap");
	expect_ok(aml_area_munmap(&fast.base, packed,
	                          TILE * TILE * sizeof(float)),
	          "aml_area_munmap");
	expect_ok(aml_area_munmap(&slow.base, matrix, N * N * sizeof(float)),
	          "aml_area_munmap");
	aml_area_device_fini(&fast);
	aml_area_device_fini(&slow);
	aml_topology_destroy(&t);
	puts("06_dmas: ok");
	return 0;
}
