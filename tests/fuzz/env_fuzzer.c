/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the environment variables aml reads (tools/fuzz.sh
 * env builds and runs it): AML_HBM_NODES, MEMKIND_HBW_NODES and
 * AML_HBM_THRESHOLD (aml/src/device/classify.c), AML_EMULATE and
 * AML_TOPOLOGY_XML (aml/src/topology_default.c). Each input sets or unsets each
 * variable, then reads them the way aml does, through getenv:
 *
 *   - aml_classify_env_read() takes a list only if aml_bitmap_parse()
 *     does, and a threshold only if it is a decimal MiB/s whose bytes fit;
 *     anything else leaves the default and one message;
 *   - aml_topology_from_env() answers for AML_EMULATE exactly what
 *     aml_emu_create() does with the value, never a topology that is not
 *     emulated; "@file" answers as the text itself; a machine it makes has
 *     the scaled capacities of its spec, and each device maps, locates,
 *     copies and unmaps a page; with AML_EMULATE empty, AML_TOPOLOGY_XML
 *     is the one read (hwloc is linked absent here: the file's content is
 *     the XML fuzzing's business, not this one's);
 *   - what aml prints on stderr meanwhile is one "aml: " line per refused
 *     variable, printable ASCII, and short, whatever the value.
 *
 * Input: byte 0 says which variables are set (bit i for vars[i]); the
 * rest are their values in order, separated by NUL bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <aml/bitmap.h>
#include <aml/device.h>
#include <aml/emulator.h>
#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/device/classify.h"
#include "aml/src/topology_default.h"
#include "emulator/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX 8192
/* Longest line aml may print about one variable. */
#define LINE_MAX_LEN 512

enum { HBM_NODES, MEMKIND_NODES, THRESHOLD, EMULATE, XML, NVARS };
static const char *const vars[NVARS] = {
        "AML_HBM_NODES", "MEMKIND_HBW_NODES", "AML_HBM_THRESHOLD",
        "AML_EMULATE",   "AML_TOPOLOGY_XML",
};

static void check(bool ok)
{
	if (!ok)
		abort(); /* libFuzzer reports it with the input */
}

/* ---- The environment and stderr, around the calls under test ---- */

/* The variables of this input, "NAME=value", as environ sees them: set
 * directly rather than with setenv(), which keeps every value it was ever
 * given and would grow without bound over millions of inputs. */
extern char **environ;
static char *fuzz_environ[NVARS + 1];

/* aml writes its messages with fprintf(stderr): pointing stderr at a memory
 * stream catches them, while the sanitizers' reports, written to file
 * descriptor 2, still reach the terminal. */
static FILE *saved_stderr;
static char *captured;
static size_t captured_len;

static char **calls_begin(void)
{
	char **saved = environ;
	environ = fuzz_environ;
	saved_stderr = stderr;
	stderr = open_memstream(&captured, &captured_len);
	check(stderr != NULL);
	return saved;
}

/* Put back environ and stderr; check what was printed: every line
 * "aml: ", printable ASCII, at most LINE_MAX_LEN. Returns the number of
 * lines, and the text (valid until the next call) in *text. */
static size_t calls_end(char **saved, const char **text)
{
	static char *last;
	environ = saved;
	check(fclose(stderr) == 0);
	stderr = saved_stderr;
	free(last);
	last = captured;
	*text = captured;
	check(strlen(captured) == captured_len); /* no NUL printed */
	size_t lines = 0;
	for (const char *line = captured; *line != '\0'; lines++) {
		const char *end = strchr(line, '\n');
		check(end != NULL);
		check(strncmp(line, "aml: ", 5) == 0);
		check(end - line <= LINE_MAX_LEN);
		for (const char *c = line; c < end; c++)
			check(*c >= 0x20 && *c < 0x7f);
		line = end + 1;
	}
	return lines;
}

/* ---- Classification variables ---- */

/* Strict decimal MiB/s, as classify.h promises: digits only, > 0, and
 * small enough that the bytes fit 64 bits. */
static bool threshold_ok(const char *s, uint64_t *bytes)
{
	uint64_t v = 0;
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (UINT64_MAX >> 20))
			continue; /* saturated: refused below */
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v == 0 || v >= (UINT64_MAX >> 20))
		return false;
	*bytes = v << 20;
	return true;
}

static size_t check_classify(const char *const *value)
{
	struct aml_classify_env env;
	memset(&env, 0x5a, sizeof(env));
	char **saved = calls_begin();
	aml_classify_env_read(&env);
	const char *text;
	size_t lines = calls_end(saved, &text);

	size_t refused = 0;
	const bool *has[2] = {&env.has_hbm_nodes, &env.has_memkind_nodes};
	const struct aml_bitmap *set[2] = {&env.hbm_nodes, &env.memkind_nodes};
	for (int v = HBM_NODES; v <= MEMKIND_NODES; v++) {
		struct aml_bitmap want;
		bool ok = value[v] != NULL &&
		          aml_bitmap_parse(&want, value[v]) == 0;
		check(*has[v] == ok);
		if (ok)
			check(aml_bitmap_equal(set[v], &want) == 1);
		if (value[v] != NULL && !ok) {
			refused++;
			check(strstr(text, vars[v]) != NULL);
		}
	}
	uint64_t bytes = AML_HBM_THRESHOLD_DEFAULT;
	if (value[THRESHOLD] != NULL &&
	    !threshold_ok(value[THRESHOLD], &bytes)) {
		refused++;
		check(strstr(text, vars[THRESHOLD]) != NULL);
	}
	check(env.hbm_threshold == bytes);
	check(env.cpu_node_latency_ns == 0);
	check(lines == refused);
	return lines;
}

/* ---- AML_EMULATE and AML_TOPOLOGY_XML ---- */

static bool reason_ok(const struct aml_emu_error *e, size_t len)
{
	size_t n = strnlen(e->reason, sizeof(e->reason));
	if (e->offset > len || n == 0 || n == sizeof(e->reason))
		return false;
	for (size_t i = 0; i < n; i++)
		if (e->reason[i] < 0x20 || e->reason[i] >= 0x7f)
			return false;
	return true;
}

/* A machine made from a spec: its devices are the spec's tiers, with the
 * scaled capacities, and each one works. */
static void check_machine(const struct aml_topology *t,
                          const struct aml_emu_spec *s)
{
	check(aml_topology_is_emulated(t) == 1);
	check(aml_topology_ndevices(t) == (int)s->ntiers);
	/* Costs below must not wait: a spec may model years. */
	check(aml_emu_set_mode(t, AML_EMU_ACCOUNT) == 0);
	size_t page = aml_page_size();
	void *first = NULL;
	for (size_t i = 0; i < s->ntiers; i++) {
		const struct aml_device *dev = aml_topology_device(t, i);
		/* The kernel's usable figure when the spec gives one. */
		uint64_t capacity = s->tiers[i].usable != 0
		                            ? s->tiers[i].usable
		                            : s->tiers[i].capacity;
		unsigned __int128 bytes = (unsigned __int128)capacity *
		                          s->scale_num / s->scale_den;
		check(bytes <= UINT64_MAX);
		uint64_t pages = (uint64_t)(bytes / page);
		check(dev->capacity == (pages ? pages : 1) * page);
		char *p = aml_device_map(dev, page);
		check(p != NULL);
		p[0] = 1;
		int id = -1;
		check(aml_topology_locate(t, p, 1, &id) == 0 && id == (int)i);
		uint64_t ns = 0;
		if (first != NULL)
			check(aml_emu_copy(t, p, first, page) == 0);
		check(aml_emu_copy_cost(t, p, p, page, &ns) == 0 && ns > 0);
		check(aml_emu_charge(t, p, page,
		                     AML_EMU_READ | AML_EMU_WRITE) == 0);
		if (first == NULL)
			first = p;
		else
			check(aml_device_unmap(dev, p, page) == 0);
	}
	check(aml_device_unmap(aml_topology_device(t, 0), first, page) == 0);
	struct aml_emu_stats st;
	for (size_t i = 0; i < s->ntiers; i++)
		check(aml_emu_stats(t, i, &st) == 0 && st.pages == 0);
}

/* "@..." names a file: the fuzzer's own, holding the rest of the value,
 * so that no input names a file of this machine (a FIFO would block). It
 * is made in the working directory, which tools/fuzz.sh removes. */
static const char *spec_file(const char *text)
{
	static char path[] = "spec-XXXXXX";
	static int fd = -1;
	if (fd < 0) {
		fd = mkstemp(path);
		check(fd >= 0);
	}
	size_t len = strlen(text);
	check(ftruncate(fd, 0) == 0);
	check(pwrite(fd, text, len, 0) == (ssize_t)len);
	return path;
}

static void check_topology(const char *const *value)
{
	const char *emulate = value[EMULATE], *xml = value[XML];
	bool emulating = emulate != NULL && emulate[0] != '\0';
	if (!emulating && (xml == NULL || xml[0] == '\0'))
		return; /* this machine: no user text to read */

	struct aml_topology *t = (struct aml_topology *)&t; /* not NULL */
	char **saved = calls_begin();
	int err = aml_topology_from_env(&t);
	const char *text;
	size_t lines = calls_end(saved, &text);

	if (!emulating) {
		/* hwloc is absent here: the file is named, never parsed. */
		check(err == AML_ENOTSUP && t == NULL && lines == 0);
		return;
	}
	/* The spec's text, from the variable or from the file: refused as
	 * the parser refuses it, at the same offset and for the same reason,
	 * which the one message says. */
	static struct aml_emu_spec parsed; /* big: off the stack */
	const char *spec = emulate[0] == '@' ? emulate + 1 : emulate;
	struct aml_emu_error error;
	memset(&error, 0, sizeof(error));
	int parse_err = aml_emu_spec_parse(spec, &parsed, &error);
	check(lines == (err == AML_EINVAL));
	if (parse_err != 0) {
		check(parse_err == AML_EINVAL &&
		      reason_ok(&error, strlen(spec)));
		check(err == AML_EINVAL && t == NULL);
		char where[sizeof(error.reason) + 32];
		snprintf(where, sizeof(where), ": at %zu: %s\n", error.offset,
		         error.reason);
		check(strncmp(text, "aml: AML_EMULATE=", 17) == 0);
		check(strstr(text, where) != NULL);
		return;
	}
	/* AML_ENOMEM: no memory (delay mode's calibration included). */
	check(err == 0 || err == AML_ENOMEM);
	if (err != 0) {
		check(t == NULL);
		return;
	}
	check_machine(t, &parsed);
	aml_topology_destroy(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > INPUT_MAX)
		return 0;
	char *rest = malloc(size);
	if (rest == NULL)
		return 0;
	/* size - 1 value bytes and a final NUL: NUL-separated fields. */
	memcpy(rest, data + 1, size - 1);
	rest[size - 1] = '\0';
	const char *value[NVARS] = {NULL};
	char *field = rest, *end = rest + size - 1;
	for (int v = 0; v < NVARS; v++) {
		if (data[0] & (1u << v))
			value[v] = field <= end ? field : end;
		if (field <= end)
			field += strlen(field) + 1;
	}
	size_t n = 0;
	for (int v = 0; v < NVARS; v++) {
		if (value[v] == NULL)
			continue;
		const char *set = value[v];
		char at_file[64];
		if (v == EMULATE && set[0] == '@') {
			snprintf(at_file, sizeof(at_file), "@%s",
			         spec_file(set + 1));
			set = at_file;
		}
		size_t len = strlen(vars[v]) + 1 + strlen(set) + 1;
		fuzz_environ[n] = malloc(len);
		check(fuzz_environ[n] != NULL);
		snprintf(fuzz_environ[n], len, "%s=%s", vars[v], set);
		n++;
	}
	fuzz_environ[n] = NULL;
	check_classify(value);
	check_topology(value);
	for (size_t i = 0; i < n; i++)
		free(fuzz_environ[i]);
	free(rest);
	return 0;
}
