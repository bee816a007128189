/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Quoting a user's text in aml's messages (see quote.h).
 */
#include "aml/src/quote.h"

#include <stdbool.h>
#include <string.h>

/* Escape s[0, len) into out, which has room for `room` bytes (no NUL);
 * '"' too when `quoted`. @return bytes of s written; *used: bytes of out. */
static size_t quote_escape(char *out,
                           size_t room,
                           const char *s,
                           size_t len,
                           bool quoted,
                           size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0, i = 0;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '\\' &&
		             (c != '"' || !quoted);
		if (room - n < (plain ? 1 : 4))
			break;
		if (plain) {
			out[n++] = (char)c;
			continue;
		}
		out[n++] = '\\';
		out[n++] = 'x';
		out[n++] = hex[c >> 4];
		out[n++] = hex[c & 0xf];
	}
	*used = n;
	return i;
}

size_t aml_escape(char *buf, size_t size, const char *s, size_t len)
{
	size_t used;
	size_t done = quote_escape(buf, size - 1, s, len, false, &used);
	buf[used] = '\0';
	return done;
}

const char *
aml_quote(char *buf, size_t size, const char *s, size_t len, size_t max)
{
	/* Kept for the end whatever the text: "...", the quote, the NUL. */
	const size_t tail = 3 + 1 + 1;
	size_t n = 0, used;
	buf[n++] = '"';
	size_t shown = len < max ? len : max;
	size_t done =
	        quote_escape(buf + n, size - n - tail, s, shown, true, &used);
	n += used;
	if (done < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

const char *aml_env_quote(char *buf, const char *value)
{
	/* Reads no further than what is shown and one byte more: the value
	 * may be long, and only whether it goes on matters. */
	size_t len = strnlen(value, AML_ENV_QUOTE_MAX + 1);
	return aml_quote(buf, AML_ENV_QUOTE_SIZE, value, len,
	                 AML_ENV_QUOTE_MAX);
}
