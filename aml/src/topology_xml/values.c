/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Attribute values of hwloc XML, read strictly, and the text written for
 * hwloc.
 *
 * hwloc reads numbers with strtoul() and atoi(), which take signs, spaces
 * and prefixes, wrap "-1" to the largest value and stop silently at the
 * first bad character; and sets with hwloc_bitmap_sscanf(), which sizes the
 * set by the text and takes "0xf...f" for an infinite one. aml takes only
 * what hwloc writes: plain decimal numbers within their range, and finite
 * sets of indices below AML_BITMAP_MAX. It then writes every value in one
 * form, so that what hwloc parses is what aml checked.
 */
#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/error.h>

#include "aml/src/topology_xml/internal.h"

int aml_xml_u64(struct xml_check *c,
                const struct aml_xml_attr *attr,
                uint64_t max,
                uint64_t *out)
{
	const char *s = attr->value;
	uint64_t v = 0;
	if (*s == '\0')
		return aml_xml_fail(&c->scan, attr->line, "%s is empty",
		                    attr->name);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return aml_xml_fail(&c->scan, attr->line,
			                    "%s=\"%.24s\" is not a decimal "
			                    "number",
			                    attr->name, attr->value);
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return aml_xml_fail(&c->scan, attr->line,
			                    "%s=\"%.24s\" is more than %llu",
			                    attr->name, attr->value,
			                    (unsigned long long)max);
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int aml_xml_u64_opt(struct xml_check *c,
                    const char *name,
                    uint64_t max,
                    uint64_t dflt,
                    uint64_t *out)
{
	const struct aml_xml_attr *attr = aml_xml_attr(&c->scan, name);
	if (attr == NULL) {
		*out = dflt;
		return 0;
	}
	return aml_xml_u64(c, attr, max, out);
}

int aml_xml_int(struct xml_check *c,
                const struct aml_xml_attr *attr,
                int min,
                int *out)
{
	bool negative = attr->value[0] == '-';
	struct aml_xml_attr magnitude = *attr;
	magnitude.value += negative;
	uint64_t v;
	int err = aml_xml_u64(c, &magnitude, UINT64_MAX, &v);
	if (err != 0)
		return err;
	/* Clamped to 64 bits, then checked against the int range. */
	if (v > (uint64_t)INT64_MAX)
		v = (uint64_t)INT64_MAX;
	int64_t x = negative ? -(int64_t)v : (int64_t)v;
	if (x < min || x > INT_MAX)
		return aml_xml_fail(&c->scan, attr->line,
		                    "%s=\"%.24s\" is not from %d to %d",
		                    attr->name, attr->value, min, INT_MAX);
	*out = (int)x;
	return 0;
}

static int hex_digit(char d)
{
	if (d >= '0' && d <= '9')
		return d - '0';
	if (d >= 'a' && d <= 'f')
		return d - 'a' + 10;
	if (d >= 'A' && d <= 'F')
		return d - 'A' + 10;
	return -1;
}

int aml_xml_set(struct xml_check *c,
                const struct aml_xml_attr *attr,
                struct aml_bitmap *out)
{
	const char *s = attr->value;
	size_t nwords = 1;
	for (const char *p = s; *p != '\0'; p++)
		nwords += *p == ',';
	aml_bitmap_zero(out);
	bool any = false;
	/* Words come most significant first: word i covers indices
	 * 32 * (nwords - 1 - i) and up. */
	for (size_t i = 0; i < nwords; i++) {
		size_t base = 32 * (nwords - 1 - i);
		uint32_t word = 0;
		if (*s == '0' && s[1] == 'x') {
			s += 2;
			size_t digits = 0;
			for (int d; (d = hex_digit(*s)) >= 0; s++, digits++) {
				if (digits == 8)
					break;
				word = (word << 4) | (uint32_t)d;
			}
			if (digits == 0 || hex_digit(*s) >= 0)
				goto malformed;
			any = true;
		}
		if (*s != (i + 1 < nwords ? ',' : '\0'))
			goto malformed;
		s += *s == ',';
		if (word == 0)
			continue;
		/* base may be huge for a long run of empty words. */
		if (base >= AML_BITMAP_MAX ||
		    base + 32 - (size_t)__builtin_clz(word) > AML_BITMAP_MAX)
			return aml_xml_fail(&c->scan, attr->line,
			                    "%s holds index %zu or more: aml "
			                    "handles indices below %d",
			                    attr->name, (size_t)AML_BITMAP_MAX,
			                    AML_BITMAP_MAX);
		out->words[base / 64] |= (uint64_t)word << (base % 64);
	}
	if (!any)
		goto malformed;
	return 0;
malformed:
	return aml_xml_fail(&c->scan, attr->line,
	                    "%s=\"%.24s\" is not a set in hwloc's syntax "
	                    "(0x%%08x words separated by commas)",
	                    attr->name, attr->value);
}

bool aml_xml_subset(const struct aml_bitmap *a, const struct aml_bitmap *b)
{
	for (size_t i = 0; i < AML_BITMAP_MAX / 64; i++) {
		if (a->words[i] & ~b->words[i])
			return false;
	}
	return true;
}

bool aml_xml_intersect(const struct aml_bitmap *a, const struct aml_bitmap *b)
{
	for (size_t i = 0; i < AML_BITMAP_MAX / 64; i++) {
		if (a->words[i] & b->words[i])
			return true;
	}
	return false;
}

int aml_xml_first(const struct aml_bitmap *b)
{
	for (size_t i = 0; i < AML_BITMAP_MAX / 64; i++) {
		if (b->words[i] != 0)
			return (int)(64 * i) + __builtin_ctzll(b->words[i]);
	}
	return -1;
}

/* ---- Output ---- */

static char *out_reserve(struct xml_check *c, size_t n)
{
	struct xml_out *out = &c->out;
	if (out->nomem)
		return NULL;
	if (out->cap - out->len < n + 1) {
		size_t cap = out->cap > 0 ? out->cap : 4096;
		while (cap - out->len < n + 1)
			cap *= 2;
		char *buf = realloc(out->buf, cap);
		if (buf == NULL) {
			out->nomem = true;
			return NULL;
		}
		out->buf = buf;
		out->cap = cap;
	}
	return out->buf + out->len;
}

void aml_xml_put(struct xml_check *c, const char *text)
{
	size_t n = strlen(text);
	char *at = out_reserve(c, n);
	if (at == NULL)
		return;
	memcpy(at, text, n + 1);
	c->out.len += n;
}

void aml_xml_putf(struct xml_check *c, const char *fmt, ...)
{
	/* Measured first, then formatted in place: never cut. */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	/* Only past INT_MAX bytes, or for a wide character, which aml's
	 * formats never have (their strings are bounded by the scanner's
	 * limits). */
	assert(n >= 0);
	char *at = n >= 0 ? out_reserve(c, (size_t)n) : NULL;
	if (at == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(at, (size_t)n + 1, fmt, ap);
	va_end(ap);
	c->out.len += (size_t)n;
}

/* Both of hwloc's parsers decode these; its own one knows no &apos;. */
void aml_xml_put_attr(struct xml_check *c, const char *name, const char *value)
{
	aml_xml_putf(c, " %s=\"", name);
	for (const char *v = value; *v != '\0'; v++) {
		switch (*v) {
		case '<':
			aml_xml_put(c, "&lt;");
			break;
		case '>':
			aml_xml_put(c, "&gt;");
			break;
		case '&':
			aml_xml_put(c, "&amp;");
			break;
		case '"':
			aml_xml_put(c, "&quot;");
			break;
		case '\t':
			aml_xml_put(c, "&#9;");
			break;
		case '\n':
			aml_xml_put(c, "&#10;");
			break;
		case '\r':
			aml_xml_put(c, "&#13;");
			break;
		default: {
			char one[2] = {*v, '\0'};
			aml_xml_put(c, one);
		}
		}
	}
	aml_xml_put(c, "\"");
}

void aml_xml_put_set(struct xml_check *c,
                     const char *name,
                     const struct aml_bitmap *set)
{
	int top = -1;
	for (int w = AML_BITMAP_MAX / 32 - 1; w >= 0 && top < 0; w--) {
		if ((uint32_t)(set->words[w / 2] >> (32 * (w % 2))) != 0)
			top = w;
	}
	/* 11 bytes a word at most, as hwloc writes them ("0x0000ffff,"). */
	char buf[11 * (AML_BITMAP_MAX / 32) + 8], *p = buf;
	static const char hex[] = "0123456789abcdef";
	if (top < 0) {
		memcpy(p, "0x0", 3);
		p += 3;
	}
	for (int w = top; w >= 0; w--) {
		uint32_t word = (uint32_t)(set->words[w / 2] >> (32 * (w % 2)));
		if (w != top)
			*p++ = ',';
		*p++ = '0';
		*p++ = 'x';
		for (int shift = 28; shift >= 0; shift -= 4)
			*p++ = hex[(word >> shift) & 0xf];
	}
	*p = '\0';
	aml_xml_putf(c, " %s=\"", name);
	aml_xml_put(c, buf);
	aml_xml_put(c, "\"");
}
