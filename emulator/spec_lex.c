/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The spec language's tokens: quoting, errors, integers, and numbers with
 * units (emulator/spec_internal.h). Items and keys are spec.c's.
 *
 * Numbers are exact. The digits before and after the point are kept as
 * integers and multiplied by the unit in 128-bit arithmetic, so "1.5GiB" is
 * exactly 1610612736 bytes, 18446744073709551615B fits and 17179869184GiB
 * (2^64 bytes) does not. Floating point would round, and make both the
 * values and the overflow limit fuzzy.
 *
 * Errors carry the offset of the token at fault. Inside a preset's text the
 * offset would mean nothing to the user, so it is the preset's name in the
 * user's text instead (presets are tested to parse, so this is a safety net).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <aml/error.h>

#include "aml/src/quote.h"
#include "emulator/spec_internal.h"

/* More fraction digits than this could not be kept exact in 128 bits once
 * multiplied by a unit (10^18 x 2^40 x 2 < 2^128); nobody needs them. */
#define DECIMALS_MAX 18

struct spec_unit {
	const char *name;
	uint64_t factor;
};

static const struct spec_unit capacity_units[] = {
        {"B", 1},
        {"KB", 1000},
        {"MB", 1000000},
        {"GB", 1000000000},
        {"TB", 1000000000000},
        {"KiB", (uint64_t)1 << 10},
        {"MiB", (uint64_t)1 << 20},
        {"GiB", (uint64_t)1 << 30},
        {"TiB", (uint64_t)1 << 40},
        {NULL, 0},
};

static const struct spec_unit bandwidth_units[] = {
        {"B/s", 1},
        {"KB/s", 1000},
        {"MB/s", 1000000},
        {"GB/s", 1000000000},
        {"TB/s", 1000000000000},
        {"KiB/s", (uint64_t)1 << 10},
        {"MiB/s", (uint64_t)1 << 20},
        {"GiB/s", (uint64_t)1 << 30},
        {"TiB/s", (uint64_t)1 << 40},
        {NULL, 0},
};

static const struct spec_unit latency_units[] = {
        {"ns", 1},
        {"us", 1000},
        {NULL, 0},
};

const struct spec_quantity emu_spec_capacity = {
        "capacity", capacity_units, "B, KiB, MiB, GiB, TiB, KB, MB, GB or TB"};
const struct spec_quantity emu_spec_bandwidth = {
        "bandwidth", bandwidth_units,
        "B/s, KB/s, MB/s, GB/s, TB/s, KiB/s, MiB/s, GiB/s or TiB/s"};
const struct spec_quantity emu_spec_latency = {"latency", latency_units,
                                               "ns or us"};

/* "token" for an error reason: cut, and escaped as aml's messages show a
 * user's text (aml/src/quote.h). */
const char *emu_spec_quote(char *buf, const char *s, size_t len)
{
	return aml_quote(buf, QUOTE_SIZE, s, len, QUOTE_MAX);
}

int emu_spec_fail(struct spec_parser *p, size_t offset, const char *fmt, ...)
{
	if (p->error == NULL)
		return AML_EINVAL;
	char reason[sizeof(p->error->reason)];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (p->preset == NULL) {
		p->error->offset = offset;
		memcpy(p->error->reason, reason, sizeof(reason));
	} else {
		p->error->offset = p->preset_offset;
		/* Bounded so the whole line fits the 128-byte reason: preset
		 * names are short, and a long reason is cut. */
		n = snprintf(p->error->reason, sizeof(p->error->reason),
		             "preset \"%.24s\": %.90s", p->preset, reason);
	}
	(void)n;
	return AML_EINVAL;
}

/*
 * An unsigned integer at pos (scale terms, distances). On success *end is
 * past its digits. what names it in errors.
 */
int emu_spec_integer(struct spec_parser *p,
                     size_t pos,
                     const char *what,
                     uint64_t *out,
                     size_t *end)
{
	const char *t = p->text;
	char q[QUOTE_SIZE];
	/* The token, for messages: up to the next blank or punctuation. */
	size_t tok = pos;
	while (!spec_item_end(t[tok]) && !spec_blank(t[tok]) && t[tok] != ',' &&
	       t[tok] != '/')
		tok++;
	emu_spec_quote(q, t + pos, tok - pos);
	if (t[pos] == '-')
		return emu_spec_fail(p, pos, "%s: negative number", q);
	if (t[pos] == '+')
		return emu_spec_fail(p, pos, "%s: no sign allowed", q);
	if (!spec_digit(t[pos])) {
		if (tok == pos)
			return emu_spec_fail(p, pos, "missing %s", what);
		return emu_spec_fail(p, pos, "%s: not a number", q);
	}
	spec_u128 v = 0;
	size_t i = pos;
	for (; spec_digit(t[i]); i++) {
		v = v * 10 + (unsigned)(t[i] - '0');
		/* Saturate, so that any number of digits stays in 128 bits. */
		if (v > UINT64_MAX)
			v = (spec_u128)UINT64_MAX + 1;
	}
	if (t[i] == '.')
		return emu_spec_fail(p, pos, "%s %s: not an integer", what, q);
	if (i != tok)
		return emu_spec_fail(p, pos, "%s: not a number", q);
	if (v > UINT64_MAX)
		return emu_spec_fail(p, pos, "%s %s overflows 64 bits", what,
		                     q);
	*out = (uint64_t)v;
	*end = i;
	return 0;
}

/* A number with a unit, [off, off + len) of the text, blanks trimmed. */
int emu_spec_quantity(struct spec_parser *p,
                      const struct spec_quantity *qty,
                      size_t off,
                      size_t len,
                      uint64_t *out)
{
	const char *s = p->text + off;
	char q[QUOTE_SIZE];
	emu_spec_quote(q, s, len);
	if (s[0] == '-')
		return emu_spec_fail(p, off, "%s: negative number", q);
	if (s[0] == '+')
		return emu_spec_fail(p, off, "%s: no sign allowed", q);

	spec_u128 whole = 0;
	size_t i = 0;
	for (; i < len && spec_digit(s[i]); i++) {
		whole = whole * 10 + (unsigned)(s[i] - '0');
		if (whole > UINT64_MAX)
			whole = (spec_u128)UINT64_MAX + 1; /* as above */
	}
	if (i == 0)
		return emu_spec_fail(p, off, "%s: not a number", q);
	uint64_t fraction = 0;
	uint64_t pow10 = 1;
	size_t decimals = 0;
	if (i < len && s[i] == '.') {
		for (i++; i < len && spec_digit(s[i]); i++, decimals++) {
			if (decimals < DECIMALS_MAX) {
				fraction =
				        fraction * 10 + (unsigned)(s[i] - '0');
				pow10 *= 10;
			}
		}
		if (decimals == 0)
			return emu_spec_fail(p, off, "%s: not a number", q);
		if (decimals > DECIMALS_MAX)
			return emu_spec_fail(p, off,
			                     "%s: more than %d decimals", q,
			                     DECIMALS_MAX);
	}

	size_t unit = i;
	while (unit < len && spec_blank(s[unit]))
		unit++;
	if (unit == len)
		return emu_spec_fail(p, off, "%s: missing unit (use %s)", q,
		                     qty->allowed);
	const struct spec_unit *u = qty->units;
	while (u->name != NULL && !spec_is(s + unit, len - unit, u->name))
		u++;
	if (u->name == NULL) {
		/* "12e3", "0x10", "1.2.3", "1 2GiB": a malformed number rather
		 * than a bad unit, since no unit has a digit, '.' or 'x' */
		bool number = s[i] == '.' ||
		              (unit == i && (s[i] == 'x' || s[i] == 'X'));
		for (size_t j = unit; j < len; j++)
			number = number || spec_digit(s[j]);
		if (number)
			return emu_spec_fail(p, off, "%s: not a number", q);
		return emu_spec_fail(p, off + unit, "bad unit %s (use %s)",
		                     emu_spec_quote(q, s + unit, len - unit),
		                     qty->allowed);
	}

	/* whole <= 2^64 and factor <= 2^40: no overflow in 128 bits; the
	 * fraction is rounded to the nearest unit, half up. */
	spec_u128 v = whole * u->factor;
	v += ((spec_u128)fraction * u->factor * 2 + pow10) /
	     ((spec_u128)pow10 * 2);
	if (v > UINT64_MAX)
		return emu_spec_fail(p, off, "%s %s overflows 64 bits",
		                     qty->what, q);
	if (v == 0)
		return emu_spec_fail(p, off, "%s %s must be > 0", qty->what, q);
	*out = (uint64_t)v;
	return 0;
}
