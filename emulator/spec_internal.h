/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the spec parser (spec.c: items and keys; spec_lex.c: tokens,
 * numbers with units, errors): the parser's state and what the two files
 * share.
 */
#ifndef AML_EMULATOR_SPEC_INTERNAL_H
#define AML_EMULATOR_SPEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aml/src/quote.h"
#include "emulator/spec.h"

__extension__ typedef unsigned __int128 spec_u128;

/* Tokens quoted in an error reason are cut to this many bytes, so that the
 * reason keeps its end (often the list of what is allowed). */
#define QUOTE_MAX  24
#define QUOTE_SIZE AML_QUOTE_SIZE(QUOTE_MAX)

/* What a quantity measures, and the units it accepts (case-sensitive). */
struct spec_quantity {
	const char *what;
	const struct spec_unit *units;
	const char *allowed;
};

/* Capacity (B ... TiB), bandwidth (B/s ... TiB/s), latency (ns, us). */
extern const struct spec_quantity emu_spec_capacity;
extern const struct spec_quantity emu_spec_bandwidth;
extern const struct spec_quantity emu_spec_latency;

/* Who gave the distances in force: a user's item overrides a preset's. */
enum spec_origin {
	FROM_NOWHERE,
	FROM_PRESET,
	FROM_USER,
};

struct spec_parser {
	/* Built here; copied out only on success. */
	struct aml_emu_spec spec;
	struct aml_emu_error *error;
	/* The text being read: the user's, or a preset's. */
	const char *text;
	/* The preset being expanded (NULL in the user's text), and where the
	 * user's text names it. */
	const char *preset;
	size_t preset_offset;
	bool scale_seen;
	/* In the user's text: the scale's numerator. */
	size_t scale_offset;
	bool mode_seen;
	bool placement_seen;
	bool accesses_seen;
	/* sockets=, and where (in the user's text, or the preset's name). */
	bool sockets_seen;
	size_t sockets_offset;
	/* Guest CPUs numbered so far, in tier order. */
	size_t vcpus_total;
	/* The access item being read: its tiers. */
	size_t access_from;
	size_t access_to;
	enum spec_origin distances_from;
	/* In the user's text: the distances item, or the preset's name. */
	size_t distances_offset;
	size_t distances_n;
};

static inline bool spec_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* An item ends at a separator, a comment or the end of the text. */
static inline bool spec_item_end(char c)
{
	return c == '\0' || c == ';' || c == '\n' || c == '#';
}

static inline bool spec_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Bytes of item words, keys and preset names; wider than tier names, so
 * that "Tier" is refused by name rather than as a stray character. */
static inline bool spec_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       spec_digit(c) || c == '_' || c == '-';
}

static inline size_t spec_skip_blanks(const char *t, size_t pos)
{
	while (spec_blank(t[pos]))
		pos++;
	return pos;
}

static inline size_t spec_word_end(const char *t, size_t pos)
{
	while (spec_word_char(t[pos]))
		pos++;
	return pos;
}

static inline size_t spec_rest_end(const char *t, size_t pos)
{
	while (!spec_item_end(t[pos]))
		pos++;
	return pos;
}

static inline bool spec_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* "token" for an error reason: cut, and escaped as aml's messages show a
 * user's text (aml/src/quote.h); buf has QUOTE_SIZE bytes. */
const char *emu_spec_quote(char *buf, const char *s, size_t len);

/* Record the reason (and the offset, or the preset's name when in a
 * preset's text) in p->error if any: always AML_EINVAL. */
__attribute__((format(printf, 3, 4))) int
emu_spec_fail(struct spec_parser *p, size_t offset, const char *fmt, ...);

/* An unsigned integer at pos (scale terms, distances, vcpus, sockets): 0
 * with *end past its digits; what names it in errors. */
int emu_spec_integer(struct spec_parser *p,
                     size_t pos,
                     const char *what,
                     uint64_t *out,
                     size_t *end);

/* A number with a unit of qty, [off, off + len) of the text, blanks
 * trimmed; exact, rounded half up, more than 0, fitting 64 bits. */
int emu_spec_quantity(struct spec_parser *p,
                      const struct spec_quantity *qty,
                      size_t off,
                      size_t len,
                      uint64_t *out);

#endif /* AML_EMULATOR_SPEC_INTERNAL_H */
