/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tutorial 8: replicasets. bazel run //docs:08_replicasets
 *
 * Read-only data that every thread reads (a lookup table, a mesh's
 * coordinates) is best copied once per NUMA domain, each thread reading
 * the copy nearest to it (aml/replicaset.h, docs/replicaset.md).
 *
 * The machine here is written as a spec rather than taken from a preset:
 * two sockets, each a DRAM node with one CPU, and a CPU-less HBM node. The
 * program replicates a table on both sockets, checks each replica's
 * content and placement and which replica each CPU reads, refreshes the
 * replicas after the table changes, and puts one more replica in HBM.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml.h>
#include <aml/dma/par.h>

static void expect(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "08_replicasets: FAILED: %s\n", what);
		exit(1);
	}
}

static void expect_ok(int err, const char *call)
{
	if (err != 0) {
		fprintf(stderr, "08_replicasets: FAILED: %s: %s\n", call,
		        aml_errname(err));
		exit(1);
	}
}

/* Every page of the replica `index` is on its replica device. */
static bool placed(const struct aml_topology *t,
                   const struct aml_replicaset *rs,
                   size_t index)
{
	const void *replica = aml_replicaset_replica(rs, index);
	int device = aml_topology_index_of(t, aml_replicaset_device(rs, index));
	size_t page = aml_page_size();
	size_t npages = (aml_replicaset_size(rs) + page - 1) / page;
	int *where = calloc(npages, sizeof(*where));
	expect(replica != NULL && device >= 0 && where != NULL, "placed()");
	expect_ok(aml_topology_locate(t, replica, npages, where),
	          "aml_topology_locate");
	bool ok = true;
	for (size_t i = 0; i < npages; i++)
		ok = ok && where[i] == device;
	free(where);
	return ok;
}

/* Two sockets of one DRAM node each, with CPU 0 and CPU 1, and HBM. */
static const char two_sockets[] =
        "tier: name=socket0, kind=DRAM, capacity=64MiB, bw=100GB/s, "
        "latency=100ns, cpus=0; "
        "tier: name=socket1, kind=DRAM, capacity=64MiB, bw=100GB/s, "
        "latency=100ns, cpus=1; "
        "tier: name=hbm, kind=HBM, capacity=16MiB, bw=400GB/s, "
        "latency=120ns";

enum { ENTRIES = 100000 };

int main(void)
{
	expect_ok(AML_VERSION_CHECK(), "AML_VERSION_CHECK");

	struct aml_topology *t = NULL;
	struct aml_emu_error why;
	expect_ok(aml_emu_create(&t, two_sockets, &why), "aml_emu_create");
	const struct aml_device *hbm = aml_topology_device(t, 2);

	/* The table, in ordinary memory the program owns. */
	double *table = malloc(ENTRIES * sizeof(*table));
	expect(table != NULL, "malloc");
	for (size_t i = 0; i < ENTRIES; i++)
		table[i] = (double)i * 0.5;

	/*
	 * NULL devices: one replica per NUMA domain, i.e. per node with CPUs.
	 * HBM has none, so it gets no replica unless named. Init maps the
	 * replicas (one BIND area per device) and copies the table in.
	 */
	AML_REPLICASET_DECL(rs);
	expect_ok(aml_replicaset_init(&rs, t, NULL, 0, table,
	                              ENTRIES * sizeof(*table)),
	          "aml_replicaset_init");
	expect(aml_replicaset_count(&rs) == 2, "one replica per socket");
	for (size_t i = 0; i < 2; i++) {
		printf("replica %zu on %s\n", i,
		       aml_replicaset_device(&rs, i)->name);
		expect(aml_replicaset_device(&rs, i) ==
		               aml_topology_device(t, i),
		       "replica i is on socket i");
		expect(memcmp(aml_replicaset_replica(&rs, i), table,
		              ENTRIES * sizeof(*table)) == 0,
		       "each replica holds the table");
		expect(placed(t, &rs, i), "each replica is on its socket");
	}

	/*
	 * Each CPU reads its own socket's replica. The lookup is a table
	 * built by init: O(1), no system call for a given CPU.
	 */
	expect(aml_replicaset_nearest_index(&rs, 0) == 0 &&
	               aml_replicaset_nearest_index(&rs, 1) == 1,
	       "CPU 0 reads replica 0, CPU 1 replica 1");
	/* This thread's replica: the one of the CPU it runs on now. */
	const double *mine = aml_replicaset_nearest(&rs);
	expect(mine == aml_replicaset_replica(&rs, 0) ||
	               mine == aml_replicaset_replica(&rs, 1),
	       "the calling thread reads one of the replicas");
	expect(mine[12345] == 12345 * 0.5, "and it reads the table");

	/*
	 * The replicas are read-only: change the source, then refresh while
	 * no thread reads them. A parallel engine fills them at once.
	 */
	for (size_t i = 0; i < ENTRIES; i++)
		table[i] = -table[i];
	struct aml_dma *dma = NULL;
	expect_ok(aml_dma_par_create(&dma, t, NULL), "aml_dma_par_create");
	expect_ok(aml_replicaset_refresh(&rs, dma), "aml_replicaset_refresh");
	for (size_t i = 0; i < 2; i++) {
		const double *replica = aml_replicaset_replica(&rs, i);
		expect(replica[ENTRIES - 1] == -(ENTRIES - 1) * 0.5,
		       "refresh copied the new table into every replica");
	}

	/*
	 * Devices can be named: a replica in HBM for bandwidth-bound
	 * readers, next to socket 1's. CPU 0's own node has no replica now,
	 * so it reads the one with the lowest latency from it: socket 1's
	 * (100 ns) before HBM's (120 ns).
	 */
	const struct aml_device *named[2] = {hbm, aml_topology_device(t, 1)};
	struct aml_replicaset *fast = NULL;
	expect_ok(aml_replicaset_create(&fast, t, named, 2, table,
	                                ENTRIES * sizeof(*table)),
	          "aml_replicaset_create");
	expect(placed(t, fast, 0) && placed(t, fast, 1),
	       "named replicas are on HBM and socket 1");
	expect(aml_replicaset_nearest_index(fast, 1) == 1,
	       "CPU 1 still reads its socket's replica");
	expect(aml_replicaset_nearest_index(fast, 0) == 1,
	       "CPU 0 reads the lowest-latency replica, socket 1's");

	/* Errors: a device named twice is AML_EINVAL, nothing is mapped. */
	const struct aml_device *twice[2] = {hbm, hbm};
	AML_REPLICASET_DECL(bad);
	expect(aml_replicaset_init(&bad, t, twice, 2, table, 4096) ==
	               AML_EINVAL,
	       "a device given twice is AML_EINVAL");

	aml_replicaset_destroy(&fast);
	aml_replicaset_fini(&rs);
	aml_dma_par_destroy(&dma);
	free(table);
	aml_topology_destroy(&t);
	puts("08_replicasets: ok");
	return 0;
}
