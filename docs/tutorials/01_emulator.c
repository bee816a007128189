/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tutorial 1: the emulator. bazel run //docs:01_emulator
 *
 * Every later tutorial runs on an emulated machine, so that it shows
 * placement on HBM whatever machine runs it. This one looks at the emulator
 * itself: it makes a Knights Landing in flat mode (DDR4 plus MCDRAM) from a
 * preset, lists its devices, maps memory on each and asks where the pages
 * are, hits a capacity limit, reads the modelled clock of a copy, and sees
 * a malformed spec refused. docs/emulator.md is the reference.
 *
 * Like every tutorial, it checks its own results and exits non-zero on any
 * mismatch, so that CI (bazel test //...) catches a tutorial gone stale.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml.h>

/* Stop at the first result that is not what the tutorial says. */
static void expect(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "01_emulator: FAILED: %s\n", what);
		exit(1);
	}
}

/* aml functions return 0 or a negative AML_E* code. */
static void expect_ok(int err, const char *call)
{
	if (err != 0) {
		fprintf(stderr, "01_emulator: FAILED: %s: %s (%s)\n", call,
		        aml_errname(err), aml_strerror(err));
		exit(1);
	}
}

int main(void)
{
	/* Headers and library must agree before anything else is called. */
	expect_ok(AML_VERSION_CHECK(), "AML_VERSION_CHECK");

	/*
	 * A preset, with every capacity divided by 64 so that it fits any
	 * machine: 96 GiB of DDR4 become 1.5 GiB, 16 GiB of MCDRAM 256 MiB.
	 * Emulated memory is reserved, not allocated: only pages a program
	 * touches cost real memory. The same string in the environment,
	 * AML_EMULATE="knl-flat;scale=1/64", makes aml_topology_default()
	 * return this machine instead of the real one (tutorial 2).
	 */
	struct aml_topology *knl = NULL;
	struct aml_emu_error why;
	expect_ok(aml_emu_create(&knl, "knl-flat;scale=1/64", &why),
	          "aml_emu_create");
	expect(aml_topology_is_emulated(knl) == 1, "the topology is emulated");

	/* An emulated topology is an ordinary one: the same queries work. */
	printf("%s:\n", aml_topology_source(knl));
	AML_TOPOLOGY_FOREACH (dev, knl) {
		const struct aml_device_perf *perf =
		        aml_device_perf_from(dev, NULL);
		expect(perf != NULL, "every emulated device has figures");
		printf("  %-7s %-4s %6zu MiB  %4llu GB/s  %3llu ns  cpus: %s\n",
		       dev->name, aml_device_kind_name(dev->kind),
		       dev->capacity >> 20,
		       (unsigned long long)(perf->bandwidth / 1000000000),
		       (unsigned long long)perf->latency_ns,
		       aml_bitmap_count(&dev->cpus) > 0 ? "yes" : "none");
	}
	expect(aml_topology_ndevices(knl) == 2, "knl-flat has two devices");
	const struct aml_device *ddr = aml_topology_device(knl, 0);
	const struct aml_device *mcdram = aml_topology_device(knl, 1);
	expect(ddr->kind == AML_DEVICE_DRAM && mcdram->kind == AML_DEVICE_HBM,
	       "device 0 is DRAM, device 1 is HBM");
	expect(mcdram->capacity == ((size_t)16 << 30) / 64,
	       "scale=1/64 leaves 256 MiB of MCDRAM");

	/*
	 * The ranking helpers see what the real machine would show: MCDRAM
	 * has the bandwidth, but it has no CPUs, so DDR is the device nearest
	 * to any CPU (-1: the one this thread runs on).
	 */
	expect(aml_topology_best(knl, AML_RANK_BANDWIDTH, NULL) == mcdram,
	       "MCDRAM has the highest bandwidth");
	expect(aml_topology_nearest(knl, -1) == ddr, "DDR is nearest");

	/*
	 * Map 1 MiB on each device. The pages are real memory of this machine
	 * (write them as usual), labelled with the device that holds them, so
	 * aml_topology_locate() answers device indices page by page.
	 */
	const size_t size = (size_t)1 << 20;
	const size_t npages = size / aml_page_size();
	char *in_ddr = aml_device_map(ddr, size);
	char *in_mcdram = aml_device_map(mcdram, size);
	expect(in_ddr != NULL && in_mcdram != NULL, "1 MiB maps on each");
	memset(in_ddr, 'd', size);
	memset(in_mcdram, 'm', size);
	int *where = calloc(npages, sizeof(*where));
	expect(where != NULL, "calloc");
	expect_ok(aml_topology_locate(knl, in_mcdram, npages, where),
	          "aml_topology_locate");
	for (size_t i = 0; i < npages; i++)
		expect(where[i] == 1, "every page of the mapping is on MCDRAM");
	struct aml_emu_stats stats;
	expect_ok(aml_emu_stats(knl, 1, &stats), "aml_emu_stats");
	expect(stats.resident_bytes == size, "MCDRAM holds exactly 1 MiB");

	/*
	 * As on Linux, a page is placed when first touched: until then it
	 * has no device and takes no room. (Where this process may not open
	 * a userfaultfd, pages are placed when mapped instead.)
	 */
	char *later = aml_device_map(mcdram, size);
	expect(later != NULL, "another 1 MiB maps on MCDRAM");
	if (aml_emu_places_at_touch(knl) == 1) {
		expect_ok(aml_topology_locate(knl, later, 1, where),
		          "aml_topology_locate");
		expect(where[0] == AML_ENODEV,
		       "an untouched page has no device");
		later[0] = 1;
		expect_ok(aml_topology_locate(knl, later, 1, where),
		          "aml_topology_locate");
		expect(where[0] == 1, "its first touch places it on MCDRAM");
	}
	expect_ok(aml_device_unmap(mcdram, later, size), "aml_device_unmap");

	/*
	 * Capacity is enforced per device: a map larger than MCDRAM fails at
	 * once with AML_ENOMEM, and nothing changes. Within the capacity but
	 * past the free memory, the touch that finds no room would stop the
	 * program, where Linux calls the OOM killer.
	 */
	aml_errno = 0;
	expect(aml_device_map(mcdram, mcdram->capacity + aml_page_size()) ==
	               NULL,
	       "MCDRAM cannot hold its capacity plus a page");
	expect(aml_errno == AML_ENOMEM, "past the capacity is AML_ENOMEM");
	struct aml_emu_stats after;
	expect_ok(aml_emu_stats(knl, 1, &after), "aml_emu_stats");
	expect(after.resident_bytes == stats.resident_bytes,
	       "a failed map places nothing");

	/*
	 * The cost model: a copy costs the highest latency involved plus its
	 * bytes over min(read bandwidth of the source, write bandwidth of the
	 * destination), and advances a virtual clock by exactly that, so
	 * tests can compare tiers deterministically. Copy 512 KiB within
	 * DDR, then within MCDRAM.
	 */
	const size_t half = size / 2;
	uint64_t ddr_ns = 0, mcdram_ns = 0;
	expect_ok(aml_emu_copy_cost(knl, in_ddr + half, in_ddr, half, &ddr_ns),
	          "aml_emu_copy_cost");
	expect_ok(aml_emu_copy_cost(knl, in_mcdram + half, in_mcdram, half,
	                            &mcdram_ns),
	          "aml_emu_copy_cost");
	struct aml_emu_clock before_copy, after_copy;
	expect_ok(aml_emu_clock(knl, &before_copy), "aml_emu_clock");
	expect_ok(aml_emu_copy(knl, in_ddr + half, in_ddr, half),
	          "aml_emu_copy");
	expect_ok(aml_emu_clock(knl, &after_copy), "aml_emu_clock");
	expect(after_copy.thread_ns - before_copy.thread_ns == ddr_ns,
	       "a copy advances the clock by its modelled cost");
	printf("512 KiB copy: DDR %llu ns, MCDRAM %llu ns (%.1fx faster)\n",
	       (unsigned long long)ddr_ns, (unsigned long long)mcdram_ns,
	       (double)ddr_ns / (double)mcdram_ns);
	/* 450 GB/s against 90 GB/s, less the latencies: over 4 times. */
	expect(mcdram_ns * 4 < ddr_ns, "MCDRAM copies over 4x faster");

	/*
	 * A malformed spec is refused with AML_EINVAL, the output stays NULL,
	 * and the error says where (a byte offset) and why.
	 */
	struct aml_topology *bad = NULL;
	const char *typo = "knl-flat;scale=1/0";
	expect(aml_emu_create(&bad, typo, &why) == AML_EINVAL,
	       "a zero denominator is AML_EINVAL");
	printf("\"%s\" refused at byte %zu: %s\n", typo, why.offset,
	       why.reason);
	expect(bad == NULL, "nothing is made from a bad spec");
	expect(why.offset == strlen(typo) - 1, "the error points at the 0");

	/* Unmap what was mapped, then destroy the machine. */
	free(where);
	expect_ok(aml_device_unmap(ddr, in_ddr, size), "aml_device_unmap");
	expect_ok(aml_device_unmap(mcdram, in_mcdram, size),
	          "aml_device_unmap");
	aml_topology_destroy(&knl);
	expect(knl == NULL, "destroy sets the pointer to NULL");
	puts("01_emulator: ok");
	return 0;
}
