/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tutorial 2: areas. bazel run //docs:02_areas
 *
 * An area reserves memory under a placement policy over devices
 * (aml/area.h, aml/area/device.h, docs/area.md). This program places a
 * buffer in HBM with BIND, lets a buffer larger than HBM spill to DDR with
 * PREFERRED, spreads one over both with INTERLEAVE, and checks every page
 * with aml_topology_locate().
 *
 * It is written against aml_topology_default(), as an application would
 * be: the code does not know whether the machine is real or emulated. Its
 * Bazel target sets AML_EMULATE="knl-flat;scale=1/1024" (a Knights Landing
 * with 16 MiB of MCDRAM and 96 MiB of DDR4), so it finds HBM anywhere.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml.h>
#include <aml/area/device.h>

static void expect(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "02_areas: FAILED: %s\n", what);
		exit(1);
	}
}

static void expect_ok(int err, const char *call)
{
	if (err != 0) {
		fprintf(stderr, "02_areas: FAILED: %s: %s\n", call,
		        aml_errname(err));
		exit(1);
	}
}

/* How many of the npages pages at ptr device number `device` holds. */
static size_t pages_on(const struct aml_topology *t,
                       const void *ptr,
                       size_t npages,
                       int device)
{
	int *where = calloc(npages, sizeof(*where));
	expect(where != NULL, "calloc");
	expect_ok(aml_topology_locate(t, ptr, npages, where),
	          "aml_topology_locate");
	size_t n = 0;
	for (size_t i = 0; i < npages; i++)
		n += where[i] == device;
	free(where);
	return n;
}

int main(void)
{
	expect_ok(AML_VERSION_CHECK(), "AML_VERSION_CHECK");

	/* Made on first use from AML_EMULATE, owned by aml: never destroy. */
	const struct aml_topology *t = aml_topology_default();
	expect(t != NULL, "aml_topology_default");

	/* Placement code asks for kinds, not for node numbers. */
	const struct aml_device *hbm = NULL, *dram = NULL;
	if (aml_topology_by_kind(t, AML_DEVICE_HBM, &hbm, 1) < 1) {
		fprintf(stderr,
		        "02_areas: no HBM on %s: run it with "
		        "AML_EMULATE=knl-flat (bazel run does)\n",
		        aml_topology_source(t));
		return 1;
	}
	expect(aml_topology_by_kind(t, AML_DEVICE_DRAM, &dram, 1) >= 1,
	       "the machine has DRAM");
	int hbm_index = aml_topology_index_of(t, hbm);
	int dram_index = aml_topology_index_of(t, dram);
	const size_t page = aml_page_size();

	/*
	 * BIND: every page on the HBM device, or AML_ENOMEM. The storage of
	 * an area can live on the stack (DECL + init/fini): nothing is
	 * allocated to make it.
	 */
	AML_AREA_DEVICE_DECL(fast);
	expect_ok(aml_area_device_init(&fast, t, &hbm, 1, AML_AREA_BIND, NULL),
	          "aml_area_device_init(BIND)");
	const size_t n = 256; /* pages: 1 MiB with 4 KiB pages */
	double *x = aml_area_mmap(&fast.base, n * page, NULL);
	expect(x != NULL, "1 MiB bound to HBM");
	for (size_t i = 0; i < n * page / sizeof(*x); i++)
		x[i] = (double)i; /* ordinary memory */
	expect(pages_on(t, x, n, hbm_index) == n, "every page is on HBM");

	/*
	 * HBM is small: asking BIND for all of it again, with its pages given
	 * memory now (populate), fails cleanly. Without populate the map
	 * would be made, and the touch that found HBM full would meet the
	 * OOM killer on Linux (and stop the program on the emulator).
	 */
	struct aml_area_mmap_options now = {.populate = true};
	aml_errno = 0;
	expect(aml_area_mmap(&fast.base, hbm->capacity, &now) == NULL &&
	               aml_errno == AML_ENOMEM,
	       "BIND past the device's free memory is AML_ENOMEM");

	/*
	 * PREFERRED: HBM while it has room, then the other devices in the
	 * fallback order. With 1 MiB already taken, a mapping of HBM's whole
	 * capacity gets what is left of HBM and spills the rest to DDR.
	 * create/destroy is the other way to make an area: one allocation.
	 */
	struct aml_area *preferred = NULL;
	expect_ok(aml_area_device_create(&preferred, t, &hbm, 1,
	                                 AML_AREA_PREFERRED, NULL),
	          "aml_area_device_create(PREFERRED)");
	const size_t all = hbm->capacity / page;
	char *big = aml_area_mmap(preferred, all * page, NULL);
	expect(big != NULL, "PREFERRED maps more than HBM has left");
	memset(big, 0, all * page); /* pages are placed when first written */
	size_t on_hbm = pages_on(t, big, all, hbm_index);
	size_t on_dram = pages_on(t, big, all, dram_index);
	printf("PREFERRED: %zu pages on HBM, %zu spilled to DDR\n", on_hbm,
	       on_dram);
	expect(on_hbm == all - n && on_dram == n,
	       "HBM is filled first, the rest spills to DDR");
	expect_ok(aml_area_munmap(preferred, big, all * page),
	          "aml_area_munmap");
	aml_area_device_destroy(&preferred);
	expect(preferred == NULL, "destroy sets the handle to NULL");

	/*
	 * INTERLEAVE: pages alternate between the devices, in topology order
	 * (DDR is device 0) whatever order they are given in. As on Linux,
	 * the address picks the phase: the page with virtual page number v
	 * goes on device v mod 2. For an order and a start of your own, use
	 * WEIGHTED_INTERLEAVE with equal weights.
	 */
	const struct aml_device *both[2] = {dram, hbm};
	AML_AREA_DEVICE_DECL(spread);
	expect_ok(aml_area_device_init(&spread, t, both, 2, AML_AREA_INTERLEAVE,
	                               NULL),
	          "aml_area_device_init(INTERLEAVE)");
	char *striped = aml_area_mmap(&spread.base, 8 * page, NULL);
	expect(striped != NULL, "8 interleaved pages");
	memset(striped, 0, 8 * page);
	for (size_t i = 0; i < 8; i++) {
		size_t vpn = (size_t)(uintptr_t)(striped + i * page) / page;
		expect(pages_on(t, striped + i * page, 1,
		                vpn % 2 == 0 ? dram_index : hbm_index) == 1,
		       "interleaved pages alternate DDR, HBM, DDR...");
	}
	expect_ok(aml_area_print(&spread.base, stdout, "interleaved area: "),
	          "aml_area_print");

	/*
	 * Errors leave everything as it was: a size of 0 is AML_EINVAL, and
	 * an area refuses to unmap memory another area mapped, even on the
	 * same devices.
	 */
	aml_errno = 0;
	expect(aml_area_mmap(&fast.base, 0, NULL) == NULL &&
	               aml_errno == AML_EINVAL,
	       "a size of 0 is AML_EINVAL");
	expect(aml_area_munmap(&spread.base, x, n * page) == AML_EINVAL,
	       "an area does not unmap another area's memory");
	expect(x[12345] == 12345.0, "and the memory is untouched");

	expect_ok(aml_area_munmap(&spread.base, striped, 8 * page),
	          "aml_area_munmap");
	expect_ok(aml_area_munmap(&fast.base, x, n * page), "aml_area_munmap");
	aml_area_device_fini(&spread);
	aml_area_device_fini(&fast);
	puts("02_areas: ok");
	return 0;
}
