/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * aml_topo: the memory devices aml sees, like lstopo for memory tiers.
 *
 * Usage, from the repository:
 * - bazel run //tools:aml_topo: this machine (or AML_EMULATE, or
 *   AML_TOPOLOGY_XML);
 * - bazel run //tools:aml_topo -- --xml FILE: an hwloc XML topology;
 * - bazel run //tools:aml_topo -- --emulate SPEC: an emulated machine;
 * - add --json for scripts.
 *
 * For each device: kind, NUMA node, capacity, free bytes where known, CPUs,
 * backend, and bandwidth and latency per initiator; then the distances
 * between devices, as numactl -H prints them; then the devices ranked by
 * bandwidth, latency and capacity for the calling thread; then the fast
 * memory aml_fast_malloc() would serve, or why there is none.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml.h>

#define MIB (1024.0 * 1024.0)
#define GIB (1024.0 * MIB)

struct options {
	bool json;
	const char *xml;
	const char *emulate;
};

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--json] [--xml FILE | --emulate SPEC]\n",
	        argv0);
	return 2;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	*o = (struct options){.json = false};
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			o->json = true;
		else if (strcmp(argv[i], "--xml") == 0 && i + 1 < argc)
			o->xml = argv[++i];
		else if (strcmp(argv[i], "--emulate") == 0 && i + 1 < argc)
			o->emulate = argv[++i];
		else
			return usage(argv[0]);
	}
	return 0;
}

static const char *
cpu_list(const struct aml_bitmap *cpus, char *buf, size_t size)
{
	if (aml_bitmap_format(cpus, buf, size) < 0 || buf[0] == '\0')
		snprintf(buf, size, "-");
	return buf;
}

/* ---- Text ---- */

/* Bytes in the largest unit that keeps them at 1 or more, so that a 64 KiB
 * emulated tier does not read "0.0 GiB"; 0 is "unknown". */
static const char *human_bytes(size_t bytes, char *buf, size_t size)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	if (bytes == 0) {
		snprintf(buf, size, "unknown");
		return buf;
	}
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, size, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
	return buf;
}

/* A figure, or "unknown" for 0 (no HMAT, no spec value). */
static const char *
figure(double value, const char *unit, char *buf, size_t size)
{
	if (value == 0)
		snprintf(buf, size, "unknown");
	else
		snprintf(buf, size, "%.0f%s", value, unit);
	return buf;
}

/* Free bytes are this machine's: meaningless for another machine's file. */
static bool live_free_bytes(const struct aml_topology *t,
                            const struct aml_device *d,
                            size_t *out)
{
	return aml_topology_is_this_system(t) == 1 &&
	       aml_device_free_bytes(d, out) == 0;
}

static void print_text_device(const struct aml_topology *t,
                              const struct aml_device *d)
{
	char cpus[AML_BITMAP_FORMAT_MAX];
	size_t free_bytes;
	char free_text[48] = "", capacity[32], free_size[32];
	if (live_free_bytes(t, d, &free_bytes))
		snprintf(free_text, sizeof(free_text), " (%s free)",
		         free_bytes == 0 ? "0 B"
		                         : human_bytes(free_bytes, free_size,
		                                       sizeof(free_size)));
	printf("%-12s %-4s node %-4d %10s%s  cpus %s  backend %s\n", d->name,
	       aml_device_kind_name(d->kind), d->numa_id,
	       human_bytes(d->capacity, capacity, sizeof(capacity)), free_text,
	       cpu_list(&d->cpus, cpus, sizeof(cpus)),
	       aml_backend_name(d->backend));
	for (size_t i = 0; i < d->ninitiators; i++) {
		const struct aml_device_initiator *in = &d->initiators[i];
		char bw[3][32], lat[3][32];
		printf("    from cpus %-16s %s (read %s, write %s)  %s (read "
		       "%s, "
		       "write %s)\n",
		       cpu_list(&in->cpus, cpus, sizeof(cpus)),
		       figure(in->perf.bandwidth / MIB, " MiB/s", bw[0], 32),
		       figure(in->perf.read_bandwidth / MIB, "", bw[1], 32),
		       figure(in->perf.write_bandwidth / MIB, "", bw[2], 32),
		       figure((double)in->perf.latency_ns, " ns", lat[0], 32),
		       figure((double)in->perf.read_latency_ns, "", lat[1], 32),
		       figure((double)in->perf.write_latency_ns, "", lat[2],
		              32));
	}
	if (d->ninitiators == 0)
		printf("    bandwidth and latency unknown (no HMAT)\n");
}

/* Does the topology know any distance? */
static bool has_distances(const struct aml_topology *t)
{
	int n = aml_topology_ndevices(t);
	unsigned d;
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < n; j++) {
			if (aml_topology_distance(t, (size_t)i, (size_t)j,
			                          &d) == 0)
				return true;
		}
	}
	return false;
}

/* The distance matrix as numactl -H prints it, rows and columns by device
 * (headed by NUMA node); "-" for a pair the source does not give. */
static void print_text_distances(const struct aml_topology *t)
{
	if (!has_distances(t)) {
		printf("node distances: unknown\n");
		return;
	}
	int n = aml_topology_ndevices(t);
	printf("node distances:\nnode ");
	AML_TOPOLOGY_FOREACH (d, t)
		printf(" %4d", d->numa_id);
	printf("\n");
	for (int i = 0; i < n; i++) {
		printf("%4d:", aml_topology_device(t, (size_t)i)->numa_id);
		for (int j = 0; j < n; j++) {
			unsigned d;
			if (aml_topology_distance(t, (size_t)i, (size_t)j,
			                          &d) == 0)
				printf(" %4u", d);
			else
				printf(" %4s", "-");
		}
		printf("\n");
	}
}

/* The error, and what aml knew about it (aml_error_detail()). */
static void print_error(int err)
{
	char detail[AML_ERROR_DETAIL_MAX];
	if (aml_error_detail(detail, sizeof(detail)) == err)
		fprintf(stderr, "aml_topo: %s: %s\n", aml_strerror(err),
		        detail);
	else
		fprintf(stderr, "aml_topo: %s\n", aml_strerror(err));
}

/* What aml_fast_malloc() would serve on this topology (aml/fast.h). */
static void print_fast(const struct aml_topology *t)
{
	struct aml_fast_memory *fast = NULL;
	char why[AML_FAST_REASON_MAX] = "";
	int err = aml_fast_memory_create(&fast, t, NULL);
	if (err == 0)
		aml_fast_memory_available(fast, why, sizeof(why));
	else
		aml_error_detail(why, sizeof(why));
	printf("fast memory: %s\n", why);
	aml_fast_memory_destroy(&fast);
}

static const char *const rank_names[] = {"bandwidth", "latency", "capacity"};

static void print_text(const struct aml_topology *t)
{
	int n = aml_topology_ndevices(t);
	printf("%d device(s) from %s%s\n", n, aml_topology_source(t),
	       aml_topology_is_this_system(t) == 1 ? ""
	                                           : " (not this machine)");
	AML_TOPOLOGY_FOREACH (d, t)
		print_text_device(t, d);
	print_text_distances(t);
	const struct aml_device *ranked[AML_BITMAP_MAX];
	for (int by = 0; by < 3; by++) {
		int count = aml_topology_rank(t, (enum aml_topology_rank)by,
		                              NULL, ranked, AML_BITMAP_MAX);
		printf("by %-9s:", rank_names[by]);
		for (int i = 0; i < count; i++)
			printf(" %s", ranked[i]->name);
		printf("\n");
	}
	print_fast(t);
}

/* ---- JSON ---- */

static void print_json_perf(const struct aml_device_perf *p)
{
	printf("\"bandwidth\": %llu, \"read_bandwidth\": %llu, "
	       "\"write_bandwidth\": %llu, \"latency_ns\": %llu, "
	       "\"read_latency_ns\": %llu, \"write_latency_ns\": %llu",
	       (unsigned long long)p->bandwidth,
	       (unsigned long long)p->read_bandwidth,
	       (unsigned long long)p->write_bandwidth,
	       (unsigned long long)p->latency_ns,
	       (unsigned long long)p->read_latency_ns,
	       (unsigned long long)p->write_latency_ns);
}

static void print_json_device(const struct aml_topology *t,
                              const struct aml_device *d,
                              bool last)
{
	char cpus[AML_BITMAP_FORMAT_MAX];
	aml_bitmap_format(&d->cpus, cpus, sizeof(cpus));
	size_t free_bytes;
	printf("    {\"name\": \"%s\", \"kind\": \"%s\", \"numa_id\": %d, "
	       "\"capacity\": %zu, ",
	       d->name, aml_device_kind_name(d->kind), d->numa_id, d->capacity);
	if (live_free_bytes(t, d, &free_bytes))
		printf("\"free_bytes\": %zu, ", free_bytes);
	else
		printf("\"free_bytes\": null, ");
	printf("\"cpus\": \"%s\", \"backend\": \"%s\", \"initiators\": [", cpus,
	       aml_backend_name(d->backend));
	for (size_t i = 0; i < d->ninitiators; i++) {
		aml_bitmap_format(&d->initiators[i].cpus, cpus, sizeof(cpus));
		printf("%s{\"cpus\": \"%s\", ", i ? ", " : "", cpus);
		print_json_perf(&d->initiators[i].perf);
		printf("}");
	}
	printf("]}%s\n", last ? "" : ",");
}

/* Rows by device index, null for an unknown pair; null for none at all. */
static void print_json_distances(const struct aml_topology *t)
{
	int n = aml_topology_ndevices(t);
	printf("  \"distances\": ");
	if (!has_distances(t)) {
		printf("null,\n");
		return;
	}
	printf("[");
	for (int i = 0; i < n; i++) {
		printf("%s[", i ? ", " : "");
		for (int j = 0; j < n; j++) {
			unsigned d;
			if (aml_topology_distance(t, (size_t)i, (size_t)j,
			                          &d) == 0)
				printf("%s%u", j ? ", " : "", d);
			else
				printf("%snull", j ? ", " : "");
		}
		printf("]");
	}
	printf("],\n");
}

static void print_json(const struct aml_topology *t)
{
	int n = aml_topology_ndevices(t);
	/* Sources are paths or fixed words: no quote or backslash to escape
	 * in practice, but a path may have them, so replace them. */
	printf("{\n  \"source\": \"");
	for (const char *c = aml_topology_source(t); *c; c++)
		putchar(*c == '"' || *c == '\\' ? '_' : *c);
	printf("\",\n  \"this_system\": %s,\n  \"devices\": [\n",
	       aml_topology_is_this_system(t) == 1 ? "true" : "false");
	AML_TOPOLOGY_FOREACH (d, t)
		print_json_device(t, d, aml_topology_index_of(t, d) == n - 1);
	printf("  ],\n");
	print_json_distances(t);
	printf("  \"ranking\": {");
	const struct aml_device *ranked[AML_BITMAP_MAX];
	for (int by = 0; by < 3; by++) {
		int count = aml_topology_rank(t, (enum aml_topology_rank)by,
		                              NULL, ranked, AML_BITMAP_MAX);
		printf("%s\"%s\": [", by ? ", " : "", rank_names[by]);
		for (int i = 0; i < count; i++)
			printf("%s\"%s\"", i ? ", " : "", ranked[i]->name);
		printf("]");
	}
	printf("}\n}\n");
}

/* The topology the options name; *own is set when the caller must
 * destroy it. */
static const struct aml_topology *open_topology(const struct options *o,
                                                struct aml_topology **own)
{
	int err = 0;
	struct aml_emu_error error = {0};
	struct aml_topology_xml_error xml_error = {0};
	if (o->xml != NULL)
		err = aml_topology_load_xml_file(own, o->xml, &xml_error);
	else if (o->emulate != NULL)
		err = aml_emu_create(own, o->emulate, &error);
	else if (aml_topology_default() == NULL)
		err = aml_errno;
	if (err == AML_EINVAL && o->emulate != NULL)
		fprintf(stderr, "aml_topo: %s: at %zu: %s\n", o->emulate,
		        error.offset, error.reason);
	else if (err == AML_EINVAL && o->xml != NULL)
		/* file:line: as compilers say it, so editors jump there */
		fprintf(stderr, "aml_topo: %s:%zu: %s\n", o->xml,
		        xml_error.line, xml_error.reason);
	else if (err != 0)
		print_error(err);
	if (err != 0)
		return NULL;
	return *own != NULL ? *own : aml_topology_default();
}

int main(int argc, char **argv)
{
	struct options o;
	if (parse_options(argc, argv, &o) != 0)
		return 2;
	struct aml_topology *own = NULL;
	const struct aml_topology *t = open_topology(&o, &own);
	if (t == NULL)
		return 1;
	if (o.json)
		print_json(t);
	else
		print_text(t);
	aml_topology_destroy(&own);
	return 0;
}
