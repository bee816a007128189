/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Characters for the scanner (scan.c): which code points XML allows, UTF-8
 * in and out, and the refusal with a printable reason.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <aml/error.h>

#include "aml/src/quote.h"
#include "aml/src/topology_xml/scan.h"

int aml_xml_fail(struct aml_xml_scan *scan, size_t line, const char *fmt, ...)
{
	struct aml_topology_xml_error *error = scan->error;
	if (error->reason[0] != '\0')
		return AML_EINVAL;
	char raw[sizeof(error->reason)];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* Reasons may quote the text: escaped as every message about a
	 * user's text, with room kept to mark a cut. */
	size_t len = n > 0 ? strlen(raw) : 0;
	size_t size = sizeof(error->reason) - 3;
	size_t done = aml_escape(error->reason, size, raw, len);
	if (done < len || (n > 0 && (size_t)n > len))
		strcat(error->reason, "...");
	if (error->reason[0] == '\0')
		snprintf(error->reason, sizeof(error->reason), "refused");
	error->line = line;
	return AML_EINVAL;
}

/* ---- Characters ---- */

bool aml_xml_char_ok(uint32_t c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
	       (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/* Length of the UTF-8 sequence at p (at most n bytes), its code point in
 * *c; 0 if malformed, overlong or a surrogate. */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *c)
{
	if (p[0] < 0x80) {
		*c = p[0];
		return 1;
	}
	size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
	if (len == 0 || len > n || p[0] > 0xf4)
		return 0;
	uint32_t v = p[0] & (0x3f >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
	if (v < least[len] || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*c = v;
	return len;
}

int aml_xml_check_chars(struct aml_xml_scan *scan)
{
	const unsigned char *p = (const unsigned char *)scan->text;
	size_t line = 1;
	for (size_t i = 0; i < scan->size;) {
		/* Printable ASCII, most of any file, needs no decoding. */
		if (p[i] >= 0x20 && p[i] < 0x80) {
			i++;
			continue;
		}
		uint32_t c;
		size_t len = utf8_decode(p + i, scan->size - i, &c);
		if (len == 0)
			return aml_xml_fail(scan, line, "not UTF-8");
		if (!aml_xml_char_ok(c))
			return aml_xml_fail(scan, line,
			                    "character U+%04X is not allowed",
			                    (unsigned)c);
		line += c == '\n';
		i += len;
	}
	return 0;
}

size_t aml_xml_utf8_encode(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}
