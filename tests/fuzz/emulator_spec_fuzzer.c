/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the spec parser (tools/fuzz.sh spec builds and runs
 * it). Besides surviving any bytes under ASan and UBSan, each input checks
 * what the parser promises: a refused spec is AML_EINVAL with an offset
 * inside the text and a printable, terminated reason, and leaves the output
 * untouched; an accepted one satisfies every rule of the grammar; and the
 * answer does not depend on whether an error struct was passed.
 *
 * Only headers that need no generated file are included: <aml.h> pulls in
 * <aml/build_config.h>, which only Bazel writes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/bitmap.h>
#include <aml/error.h>

#include "emulator/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Far more than any spec; bigger inputs teach the fuzzer nothing. */
#define INPUT_MAX 65536

static struct aml_emu_spec out, before;

static void check(bool ok)
{
	if (!ok)
		abort(); /* libFuzzer reports it with the input */
}

static bool name_ok(const char *name)
{
	size_t len = strnlen(name, AML_DEVICE_NAME_MAX);
	if (len == 0 || len == AML_DEVICE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void check_spec(const struct aml_emu_spec *s)
{
	check(s->ntiers >= 1 && s->ntiers <= AML_EMU_TIERS_MAX);
	for (size_t i = 0; i < s->ntiers; i++) {
		const struct aml_emu_tier *t = &s->tiers[i];
		check(name_ok(t->name));
		for (size_t j = 0; j < i; j++)
			check(strcmp(t->name, s->tiers[j].name) != 0);
		check((int)t->kind >= 0 && t->kind < AML_DEVICE_KIND_COUNT);
		check(t->capacity > 0 && t->read_bw > 0 && t->write_bw > 0);
		check(t->read_latency_ns > 0 && t->write_latency_ns > 0);
		check(!t->cpus_all || aml_bitmap_count(&t->cpus) == 0);
	}
	for (size_t i = 0; i < AML_EMU_TIERS_MAX; i++) {
		for (size_t j = 0; j < AML_EMU_TIERS_MAX; j++) {
			uint8_t d = s->distances[i][j];
			if (!s->has_distances || i >= s->ntiers ||
			    j >= s->ntiers)
				check(d == 0);
			else if (i == j)
				check(d == 10);
			else
				check(d >= 10 && d <= 254);
		}
	}
	check(s->scale_num > 0 && s->scale_den > 0);
	for (size_t i = 0; i < s->ntiers; i++)
		check((unsigned __int128)s->tiers[i].capacity * s->scale_num /
		              s->scale_den <=
		      UINT64_MAX);
	check(s->mode == AML_EMU_ACCOUNT || s->mode == AML_EMU_DELAY);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > INPUT_MAX)
		return 0;
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* An input with a NUL is parsed up to it, as C would see it. */
	size_t len = strlen(text);

	struct aml_emu_error error;
	memset(&error, 0, sizeof(error));
	memset(&out, 0xa5, sizeof(out));
	before = out;
	int err = aml_emu_spec_parse(text, &out, &error);
	if (err == 0) {
		check_spec(&out);
	} else {
		check(err == AML_EINVAL);
		check(error.offset <= len);
		size_t n = strnlen(error.reason, sizeof(error.reason));
		check(n > 0 && n < sizeof(error.reason));
		for (size_t i = 0; i < n; i++)
			check(error.reason[i] >= 0x20 &&
			      error.reason[i] < 0x7f);
		check(memcmp(&out, &before, sizeof(out)) == 0);
	}

	/* Without an error struct: the same verdict. */
	check(aml_emu_spec_parse(text, &out, NULL) == err);
	free(text);
	return 0;
}
