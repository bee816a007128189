/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tutorial 9: fast memory, limits and errors. bazel run //docs:09_fast_memory
 *
 * What a memkind user writes with hbw_malloc(), in aml: one call per
 * allocation from the high-bandwidth memory nearest the calling thread
 * (aml/fast.h, docs/fast.md). Then what a pool of HBM needs in a real code:
 * a cap on what it may take, a report of what it holds, and errors that
 * say why (aml/area/capped.h, aml_error_detail(), docs/errors.md), and
 * what aml holds on each device (aml_topology_usage()).
 *
 * Its Bazel target sets AML_EMULATE="knl-flat;scale=1/1024" (16 MiB of
 * MCDRAM, 96 MiB of DDR4), so it finds HBM on any machine.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml.h>
#include <aml/area/capped.h>
#include <aml/area/device.h>
#include <aml/fast.h>

static void expect(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "09_fast_memory: FAILED: %s\n", what);
		exit(1);
	}
}

static void expect_ok(int err, const char *call)
{
	if (err != 0) {
		fprintf(stderr, "09_fast_memory: FAILED: %s: %s\n", call,
		        aml_errname(err));
		exit(1);
	}
}

/* hbw_malloc() becomes aml_fast_malloc(), and so on: one line per call. */
static void one_call_fast_memory(const struct aml_topology *t, int hbm)
{
	/* How many fast devices, or why there is none. */
	char why[AML_FAST_REASON_MAX];
	expect(aml_fast_available(why, sizeof(why)) == 1, why);
	printf("fast memory: %s\n", why);

	const size_t n = 1 << 16;
	double *a = aml_fast_malloc(n * sizeof(*a));
	expect(a != NULL, "aml_fast_malloc");
	for (size_t i = 0; i < n; i++)
		a[i] = (double)i;
	/* Where the block's first page is: a device index of the topology. */
	expect(aml_fast_locate(a) == hbm, "the array is in MCDRAM");
	expect(aml_fast_usable_size(a) >= n * sizeof(*a), "usable size");
	printf("%zu doubles on %s\n", n,
	       aml_topology_device(t, (size_t)hbm)->name);

	/* What aml holds on each device now, as numastat would say. */
	struct aml_topology_usage total;
	struct aml_device_usage devices[2];
	expect(aml_topology_ndevices(t) == 2, "knl-flat has two devices");
	expect_ok(aml_topology_usage(t, &total, devices, 2),
	          "aml_topology_usage");
	for (size_t d = 0; d < 2; d++)
		printf("%s: %zu bytes of aml's memory, %zu bound there "
		       "(peak %zu)\n",
		       aml_topology_device(t, d)->name,
		       devices[d].resident_bytes, devices[d].bound_bytes,
		       devices[d].peak_bound_bytes);
	expect(devices[hbm].resident_bytes >= n * sizeof(*a),
	       "MCDRAM holds the array");
	aml_fast_free(a);
}

/* A pool of HBM that may take 1 MiB, however much the code asks. */
static void capped_pool(const struct aml_topology *t,
                        const struct aml_device *hbm)
{
	struct aml_area *bound = NULL, *capped = NULL;
	expect_ok(aml_area_device_create(&bound, t, &hbm, 1, AML_POLICY_BIND,
	                                 NULL),
	          "aml_area_device_create");
	expect_ok(aml_area_capped_create(&capped, bound, 1 << 20, t),
	          "aml_area_capped_create");

	void *in = aml_area_mmap(capped, 512 << 10, NULL);
	expect(in != NULL, "512 KiB under a 1 MiB cap");
	memset(in, 1, 512 << 10);

	/* Past the cap: AML_ENOMEM, nothing mapped, and the reason. */
	expect(aml_area_mmap(capped, 1 << 20, NULL) == NULL &&
	               aml_errno == AML_ENOMEM,
	       "1 MiB more is refused");
	char detail[AML_ERROR_DETAIL_MAX];
	expect(aml_error_detail(detail, sizeof(detail)) == AML_ENOMEM,
	       "the refusal is explained");
	printf("refused: %s\n", detail);

	struct aml_area_capped_stats stats;
	expect_ok(aml_area_capped_stats(capped, &stats),
	          "aml_area_capped_stats");
	expect(stats.mapped_bytes == 512 << 10 && stats.mappings == 1 &&
	               stats.refused_maps == 1,
	       "the statistics count one mapping and one refusal");

	/* What the pool holds now, and on which device: a leak hunt. */
	expect_ok(aml_area_capped_report(capped, stdout),
	          "aml_area_capped_report");

	expect_ok(aml_area_munmap(capped, in, 512 << 10), "aml_area_munmap");
	aml_area_capped_destroy(&capped);
	aml_area_device_destroy(&bound);
}

/* An error aml can explain says which device, what was asked and what was
 * free, beside its code. */
static void explained_error(const struct aml_topology *t,
                            const struct aml_device *hbm)
{
	struct aml_area *bound = NULL;
	expect_ok(aml_area_device_create(&bound, t, &hbm, 1, AML_POLICY_BIND,
	                                 NULL),
	          "aml_area_device_create");
	/* 64 MiB bound to 16 MiB of MCDRAM, its pages given at the map. */
	struct aml_area_mmap_options populate = {.populate = true};
	expect(aml_area_mmap(bound, 64 << 20, &populate) == NULL &&
	               aml_errno == AML_ENOMEM,
	       "64 MiB do not fit in MCDRAM");
	char detail[AML_ERROR_DETAIL_MAX];
	expect(aml_error_detail(detail, sizeof(detail)) == AML_ENOMEM,
	       "the refusal is explained");
	expect(strstr(detail, hbm->name) != NULL,
	       "the detail names the device");
	printf("%s: %s\n", aml_errname(AML_ENOMEM), detail);
	aml_area_device_destroy(&bound);
}

int main(void)
{
	expect_ok(AML_VERSION_CHECK(), "AML_VERSION_CHECK");

	const struct aml_topology *t = aml_topology_default();
	expect(t != NULL, "aml_topology_default");
	const struct aml_device *hbm = NULL;
	if (aml_topology_by_kind(t, AML_DEVICE_HBM, &hbm, 1) < 1) {
		fprintf(stderr,
		        "09_fast_memory: no HBM on %s: run it with "
		        "AML_EMULATE=knl-flat (bazel run does)\n",
		        aml_topology_source(t));
		return 1;
	}

	one_call_fast_memory(t, aml_topology_index_of(t, hbm));
	capped_pool(t, hbm);
	explained_error(t, hbm);
	printf("09_fast_memory: ok\n");
	return 0;
}
