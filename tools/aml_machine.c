/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * aml_machine: QEMU's arguments for a machine file (docs/vm.md), so that
 * the VM harness boots the machine the emulator models without parsing the
 * spec language a second time.
 *
 *   aml_machine MACHINE
 *
 * MACHINE is a preset name (the machine files of machines/ are presets:
 * "qemu-3node") or a spec file (a path with a '/' or ending in ".spec").
 * It prints one argument a line: -machine, -accel, -cpu, -smp, -m, one
 * -object memory-backend-ram and one -numa node per tier, -numa dist for
 * the distances, and -numa hmat-lb for every initiator-target pair. Exit
 * status: 0; 1 for a spec that does not parse or is not a QEMU machine (no
 * vcpus, a scale, sizes QEMU cannot take), with the reason on stderr; 2 for
 * bad usage.
 *
 * What QEMU gets from each tier (the emulator's use is in create.c):
 * - memory-backend-ram size: capacity (not usable, which is what the
 *   kernel makes of it); -m is their sum. Sizes in whole MiB.
 * - -numa node cpus: the tier's vcpus, numbered in tier order (cpus= is the
 *   emulator's host CPUs, not QEMU's); initiator: itself for a tier with
 *   vcpus, else the tier with vcpus that sees it best (lowest latency, then
 *   highest bandwidth, then first), as ACPI's proximity domain attribute.
 * - hmat-lb: for each tier with vcpus (initiator) and each tier (target),
 *   the access item's figures for the pair, else the target's own;
 *   access-latency and access-bandwidth when read and write agree, else the
 *   read- and write- pairs. QEMU wants bandwidths in whole MiB/s.
 * - -numa dist: every pair above the diagonal, and one below it only where
 *   the matrix is not symmetric (QEMU mirrors the ones it is not given).
 * - -smp: the total vcpus, and with sockets=S ",sockets=S,cores=N/S".
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/error.h>

#include "emulator/spec.h"

#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
/* Machine files are short; a bigger file is a mistake. */
#define FILE_MAX (1 << 20)

/* Figures of a target seen from an initiator. */
struct machine_perf {
	uint64_t read_bw, write_bw, read_latency_ns, write_latency_ns;
};

static int machine_fail(const char *name, const char *reason)
{
	fprintf(stderr, "aml_machine: %s: %s\n", name, reason);
	return 1;
}

/* The file's text, NUL-terminated (the caller frees it), or NULL. */
static char *machine_read(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *text = malloc(FILE_MAX + 1);
	size_t n = text != NULL ? fread(text, 1, FILE_MAX + 1, f) : 0;
	bool bad = text == NULL || ferror(f) || n > FILE_MAX;
	fclose(f);
	if (bad) {
		free(text);
		return NULL;
	}
	text[n] = '\0';
	return text;
}

static struct machine_perf
machine_perf(const struct aml_emu_spec *s, size_t from, size_t to)
{
	const struct aml_emu_tier *t = &s->tiers[to];
	struct machine_perf p = {t->read_bw, t->write_bw, t->read_latency_ns,
	                         t->write_latency_ns};
	for (size_t a = 0; a < s->naccess; a++) {
		const struct aml_emu_spec_access *x = &s->access[a];
		if (x->from == from && x->to == to)
			p = (struct machine_perf){x->read_bw, x->write_bw,
			                          x->read_latency_ns,
			                          x->write_latency_ns};
	}
	return p;
}

static uint64_t machine_latency(const struct machine_perf *p)
{
	return p->read_latency_ns > p->write_latency_ns ? p->read_latency_ns
	                                                : p->write_latency_ns;
}

static uint64_t machine_bw(const struct machine_perf *p)
{
	return p->read_bw < p->write_bw ? p->read_bw : p->write_bw;
}

/* The tier with vcpus that sees tier `to` best. */
static size_t machine_initiator(const struct aml_emu_spec *s, size_t to)
{
	if (s->tiers[to].vcpus > 0)
		return to;
	size_t best = s->ntiers;
	struct machine_perf bp = {0, 0, 0, 0};
	for (size_t i = 0; i < s->ntiers; i++) {
		if (s->tiers[i].vcpus == 0)
			continue;
		struct machine_perf p = machine_perf(s, i, to);
		if (best == s->ntiers ||
		    machine_latency(&p) < machine_latency(&bp) ||
		    (machine_latency(&p) == machine_latency(&bp) &&
		     machine_bw(&p) > machine_bw(&bp))) {
			best = i;
			bp = p;
		}
	}
	return best;
}

/* A size as QEMU writes it: "1G", "512M". False if not whole MiB. */
static bool machine_size(char *buf, size_t size, uint64_t bytes)
{
	if (bytes == 0 || bytes % MIB != 0)
		return false;
	if (bytes % GIB == 0)
		snprintf(buf, size, "%" PRIu64 "G", bytes / GIB);
	else
		snprintf(buf, size, "%" PRIu64 "M", bytes / MIB);
	return true;
}

/* One hmat-lb pair of lines (or one line when read and write agree). */
static bool
machine_hmat(size_t from, size_t to, const char *what, uint64_t r, uint64_t w)
{
	static const char *const fmt =
	        "-numa\nhmat-lb,initiator=%zu,target=%zu,hierarchy=memory,"
	        "data-type=%s-%s,%s=%s\n";
	bool bw = strcmp(what, "bandwidth") == 0;
	char rs[32], ws[32];
	if (bw && (!machine_size(rs, sizeof(rs), r) ||
	           !machine_size(ws, sizeof(ws), w)))
		return false;
	if (!bw) {
		snprintf(rs, sizeof(rs), "%" PRIu64, r);
		snprintf(ws, sizeof(ws), "%" PRIu64, w);
	}
	if (r == w) {
		printf(fmt, from, to, "access", what, what, rs);
	} else {
		printf(fmt, from, to, "read", what, what, rs);
		printf(fmt, from, to, "write", what, what, ws);
	}
	return true;
}

/* Checks what QEMU needs before printing anything; NULL if fine. */
static const char *machine_check(const struct aml_emu_spec *s)
{
	char buf[32];
	if (s->scale_num != s->scale_den)
		return "a scale is the emulator's: QEMU gets the capacities "
		       "as written";
	size_t vcpus = 0;
	for (size_t i = 0; i < s->ntiers; i++)
		vcpus += s->tiers[i].vcpus;
	if (vcpus == 0)
		return "no tier has vcpus: not a QEMU machine";
	for (size_t i = 0; i < s->ntiers; i++) {
		if (!machine_size(buf, sizeof(buf), s->tiers[i].capacity))
			return "QEMU takes capacities in whole MiB";
		for (size_t j = 0; j < s->ntiers; j++) {
			struct machine_perf p = machine_perf(s, j, i);
			if (p.read_bw % MIB != 0 || p.write_bw % MIB != 0)
				return "QEMU takes bandwidths in whole MiB/s";
		}
	}
	return NULL;
}

static void machine_print(const struct aml_emu_spec *s)
{
	char buf[32];
	size_t vcpus = 0;
	uint64_t memory = 0;
	for (size_t i = 0; i < s->ntiers; i++) {
		vcpus += s->tiers[i].vcpus;
		memory += s->tiers[i].capacity;
	}
	printf("-machine\nq35,hmat=on\n-accel\ntcg,thread=multi\n-cpu\nmax\n");
	if (s->sockets != 0)
		printf("-smp\n%zu,sockets=%u,cores=%zu\n", vcpus, s->sockets,
		       vcpus / s->sockets);
	else
		printf("-smp\n%zu\n", vcpus);
	machine_size(buf, sizeof(buf), memory);
	printf("-m\n%s\n", buf);
	for (size_t i = 0; i < s->ntiers; i++) {
		machine_size(buf, sizeof(buf), s->tiers[i].capacity);
		printf("-object\nmemory-backend-ram,size=%s,id=m%zu\n", buf, i);
	}
	size_t cpu = 0;
	for (size_t i = 0; i < s->ntiers; i++) {
		unsigned n = s->tiers[i].vcpus;
		printf("-numa\nnode,nodeid=%zu,memdev=m%zu", i, i);
		if (n == 1)
			printf(",cpus=%zu", cpu);
		else if (n > 1)
			printf(",cpus=%zu-%zu", cpu, cpu + n - 1);
		printf(",initiator=%zu\n", machine_initiator(s, i));
		cpu += n;
	}
	for (size_t i = 0; s->has_distances && i < s->ntiers; i++)
		for (size_t j = 0; j < s->ntiers; j++)
			if ((i < j) ||
			    (i > j && s->distances[i][j] != s->distances[j][i]))
				printf("-numa\ndist,src=%zu,dst=%zu,val=%u\n",
				       i, j, s->distances[i][j]);
	for (size_t i = 0; i < s->ntiers; i++) {
		if (s->tiers[i].vcpus == 0)
			continue;
		for (size_t j = 0; j < s->ntiers; j++) {
			struct machine_perf p = machine_perf(s, i, j);
			machine_hmat(i, j, "latency", p.read_latency_ns,
			             p.write_latency_ns);
			machine_hmat(i, j, "bandwidth", p.read_bw, p.write_bw);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: aml_machine MACHINE (a preset name or "
		                "a .spec file)\n");
		return 2;
	}
	const char *name = argv[1];
	size_t len = strlen(name);
	bool is_file = strchr(name, '/') != NULL ||
	               (len > 5 && strcmp(name + len - 5, ".spec") == 0);
	char *file = NULL;
	const char *text = NULL;
	if (is_file) {
		text = file = machine_read(name);
		if (file == NULL)
			return machine_fail(name, "cannot read the file");
	} else {
		text = aml_emu_preset(name);
		if (text == NULL)
			return machine_fail(name, "no such machine (a preset "
			                          "name, or a .spec file)");
	}
	static struct aml_emu_spec spec;
	struct aml_emu_error error = {0};
	int err = aml_emu_spec_parse(text, &spec, &error);
	free(file);
	if (err != 0) {
		fprintf(stderr, "aml_machine: %s: at byte %zu: %s\n", name,
		        error.offset, error.reason);
		return 1;
	}
	const char *problem = machine_check(&spec);
	if (problem != NULL)
		return machine_fail(name, problem);
	machine_print(&spec);
	return fflush(stdout) == 0 ? 0 : 1;
}
