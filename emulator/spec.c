/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The spec language: emulator/spec.h has the grammar, docs/emulator.md the
 * user's version and the choices the grammar leaves open.
 *
 * One pass, item by item, with a cursor into a NUL-terminated text. Every
 * scan stops at the NUL before looking further (the only look-ahead is the
 * byte after a ',', which cannot be past the NUL), so any byte string is
 * safe to parse. Nothing is allocated. The spec is built in a local copy and
 * stored in the caller's only once the whole text has been accepted: a
 * malformed spec leaves *out as it was, which spec.h does not promise but
 * the rest of aml does.
 *
 * Tokens, numbers with units and errors are spec_lex.c's
 * (emulator/spec_internal.h).
 */
#include "emulator/spec.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <aml/bitmap.h>
#include <aml/error.h>

#include "aml/src/quote.h"
#include "emulator/spec_internal.h"

/* Longest tier name, as struct aml_emu_tier stores it with its NUL. */
#define NAME_MAX_LEN (AML_DEVICE_NAME_MAX - 1)

/* bw and latency are each followed by their read_ and write_ keys: the
 * checks for conflicting and missing directions rely on that order. */
enum spec_key {
	KEY_NAME,
	KEY_KIND,
	KEY_CAPACITY,
	KEY_BW,
	KEY_READ_BW,
	KEY_WRITE_BW,
	KEY_LATENCY,
	KEY_READ_LATENCY,
	KEY_WRITE_LATENCY,
	KEY_CPUS,
	KEY_VCPUS,
	KEY_USABLE,
	KEY_HUGEPAGES_2M,
	KEY_HUGEPAGES_1G,
	/* Access items only. */
	KEY_FROM,
	KEY_TO,
	KEY_COUNT
};

static const char *const spec_keys[KEY_COUNT] = {
        [KEY_NAME] = "name",
        [KEY_KIND] = "kind",
        [KEY_CAPACITY] = "capacity",
        [KEY_BW] = "bw",
        [KEY_READ_BW] = "read_bw",
        [KEY_WRITE_BW] = "write_bw",
        [KEY_LATENCY] = "latency",
        [KEY_READ_LATENCY] = "read_latency",
        [KEY_WRITE_LATENCY] = "write_latency",
        [KEY_CPUS] = "cpus",
        [KEY_VCPUS] = "vcpus",
        [KEY_USABLE] = "usable",
        [KEY_HUGEPAGES_2M] = "hugepages_2m",
        [KEY_HUGEPAGES_1G] = "hugepages_1g",
        [KEY_FROM] = "from",
        [KEY_TO] = "to",
};

static const char *const spec_kinds[AML_DEVICE_KIND_COUNT] = {
        [AML_DEVICE_DRAM] = "DRAM",
        [AML_DEVICE_HBM] = "HBM",
        [AML_DEVICE_CXL] = "CXL",
        [AML_DEVICE_NVM] = "NVM",
};

static int spec_name(struct spec_parser *p,
                     struct aml_emu_tier *tier,
                     size_t off,
                     size_t len)
{
	const char *s = p->text + off;
	char q[QUOTE_SIZE];
	emu_spec_quote(q, s, len);
	if (len > NAME_MAX_LEN)
		return emu_spec_fail(
		        p, off, "tier name %s is longer than %d characters", q,
		        NAME_MAX_LEN);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || spec_digit(c) || c == '_' ||
		      c == '-'))
			return emu_spec_fail(
			        p, off,
			        "bad tier name %s (use a-z, 0-9, _ and -)", q);
	}
	for (size_t i = 0; i < p->spec.ntiers; i++)
		if (spec_is(s, len, p->spec.tiers[i].name))
			return emu_spec_fail(p, off, "duplicate tier name %s",
			                     q);
	memcpy(tier->name, s, len);
	tier->name[len] = '\0';
	return 0;
}

static int spec_cpus(struct spec_parser *p,
                     struct aml_emu_tier *tier,
                     size_t off,
                     size_t len)
{
	const char *s = p->text + off;
	char q[QUOTE_SIZE];
	if (spec_is(s, len, "all")) {
		tier->cpus_all = true;
		return 0;
	}
	if (spec_is(s, len, "none"))
		return 0;
	/* aml_bitmap_parse wants a NUL-terminated list. */
	char list[AML_BITMAP_FORMAT_MAX];
	if (len >= sizeof(list))
		return emu_spec_fail(p, off, "cpus list %s is too long",
		                     emu_spec_quote(q, s, len));
	memcpy(list, s, len);
	list[len] = '\0';
	if (aml_bitmap_parse(&tier->cpus, list) != 0)
		return emu_spec_fail(
		        p, off,
		        "bad cpus list %s (use e.g. 0-3,8, all or none)",
		        emu_spec_quote(q, s, len));
	return 0;
}

/* vcpus=N: 1 to AML_EMU_VCPUS_MAX guest CPUs. */
static int spec_vcpus(struct spec_parser *p,
                      struct aml_emu_tier *tier,
                      size_t off,
                      size_t len)
{
	uint64_t v = 0;
	size_t end = off;
	int err = emu_spec_integer(p, off, "vcpus", &v, &end);
	if (err != 0)
		return err;
	if (end != off + len)
		return emu_spec_fail(p, end, "unexpected text after vcpus");
	if (v == 0 || v > AML_EMU_VCPUS_MAX)
		return emu_spec_fail(p, off,
		                     "vcpus %" PRIu64 " out of range (1 to %d)",
		                     v, AML_EMU_VCPUS_MAX);
	tier->vcpus = (unsigned)v;
	return 0;
}

/* hugepages_2m, hugepages_1g (key): a count of hugetlb pages, 0 or
 * more, into *out. */
static int spec_hugepages(struct spec_parser *p,
                          const char *key,
                          uint64_t *out,
                          size_t off,
                          size_t len)
{
	uint64_t v = 0;
	size_t end = off;
	int err = emu_spec_integer(p, off, key, &v, &end);
	if (err != 0)
		return err;
	if (end != off + len)
		return emu_spec_fail(p, end, "unexpected text after %s", key);
	*out = v;
	return 0;
}

/* The index of a tier named before this point, for an access item. */
static int
spec_tier_ref(struct spec_parser *p, size_t off, size_t len, size_t *out)
{
	char q[QUOTE_SIZE];
	for (size_t i = 0; i < p->spec.ntiers; i++) {
		if (spec_is(p->text + off, len, p->spec.tiers[i].name)) {
			*out = i;
			return 0;
		}
	}
	return emu_spec_fail(
	        p, off,
	        "unknown tier %s (an access item names tiers given "
	        "before it)",
	        emu_spec_quote(q, p->text + off, len));
}

static int spec_field(struct spec_parser *p,
                      struct aml_emu_tier *tier,
                      enum spec_key key,
                      size_t off,
                      size_t len)
{
	const char *s = p->text + off;
	char q[QUOTE_SIZE];
	uint64_t v = 0;
	int err;
	switch (key) {
	case KEY_NAME:
		return spec_name(p, tier, off, len);
	case KEY_KIND:
		for (int k = 0; k < AML_DEVICE_KIND_COUNT; k++) {
			if (spec_is(s, len, spec_kinds[k])) {
				tier->kind = (enum aml_device_kind)k;
				return 0;
			}
		}
		return emu_spec_fail(
		        p, off, "unknown kind %s (use DRAM, HBM, CXL or NVM)",
		        emu_spec_quote(q, s, len));
	case KEY_CAPACITY:
		return emu_spec_quantity(p, &emu_spec_capacity, off, len,
		                         &tier->capacity);
	case KEY_BW:
	case KEY_READ_BW:
	case KEY_WRITE_BW:
		err = emu_spec_quantity(p, &emu_spec_bandwidth, off, len, &v);
		if (err == 0 && key != KEY_WRITE_BW)
			tier->read_bw = v;
		if (err == 0 && key != KEY_READ_BW)
			tier->write_bw = v;
		return err;
	case KEY_LATENCY:
	case KEY_READ_LATENCY:
	case KEY_WRITE_LATENCY:
		err = emu_spec_quantity(p, &emu_spec_latency, off, len, &v);
		if (err == 0 && key != KEY_WRITE_LATENCY)
			tier->read_latency_ns = v;
		if (err == 0 && key != KEY_READ_LATENCY)
			tier->write_latency_ns = v;
		return err;
	case KEY_CPUS:
		return spec_cpus(p, tier, off, len);
	case KEY_VCPUS:
		return spec_vcpus(p, tier, off, len);
	case KEY_USABLE:
		return emu_spec_quantity(p, &emu_spec_capacity, off, len,
		                         &tier->usable);
	case KEY_HUGEPAGES_2M:
		return spec_hugepages(p, "hugepages_2m", &tier->hugepages_2m,
		                      off, len);
	case KEY_HUGEPAGES_1G:
		return spec_hugepages(p, "hugepages_1g", &tier->hugepages_1g,
		                      off, len);
	case KEY_FROM:
		return spec_tier_ref(p, off, len, &p->access_from);
	case KEY_TO:
		return spec_tier_ref(p, off, len, &p->access_to);
	case KEY_COUNT:
		break;
	}
	return AML_EINVAL; /* not reached: keys come from spec_keys */
}

/* Where a value ends: at ',' or the end of the item. A cpus list has commas
 * of its own: there a ',' followed by a digit continues the list, and one
 * followed by anything else (a blank, a key) ends it. */
static size_t spec_value_end(const char *t, size_t pos, bool cpus)
{
	while (!spec_item_end(t[pos]) &&
	       (t[pos] != ',' || (cpus && spec_digit(t[pos + 1]))))
		pos++;
	return pos;
}

/* bw and latency set both directions; read_ and write_ one each. */
static int spec_conflict(struct spec_parser *p,
                         const bool *seen,
                         enum spec_key key,
                         size_t off)
{
	enum spec_key both = key <= KEY_WRITE_BW ? KEY_BW : KEY_LATENCY;
	enum spec_key other[2] = {both, both};
	if (key == KEY_BW || key == KEY_LATENCY) {
		other[0] = (enum spec_key)(key + 1);
		other[1] = (enum spec_key)(key + 2);
	}
	for (int i = 0; i < 2; i++)
		if (seen[other[i]])
			return emu_spec_fail(
			        p, off,
			        "\"%s\" conflicts with \"%s\" (give %s, "
			        "or read_%s and write_%s)",
			        spec_keys[key], spec_keys[other[i]],
			        spec_keys[both], spec_keys[both],
			        spec_keys[both]);
	return 0;
}

/* bw and latency, or their read_ and write_ keys, were all given; what
 * names the item in messages ("tier \"x\""). */
static int spec_perf_complete(struct spec_parser *p,
                              const bool *seen,
                              size_t item,
                              const char *what)
{
	static const enum spec_key pairs[2] = {KEY_BW, KEY_LATENCY};
	for (int i = 0; i < 2; i++) {
		enum spec_key both = pairs[i];
		bool r = seen[both + 1], w = seen[both + 2];
		if (seen[both] || (r && w))
			continue;
		if (r || w)
			return emu_spec_fail(
			        p, item, "%s: missing %s", what,
			        spec_keys[r ? both + 2 : both + 1]);
		return emu_spec_fail(p, item,
		                     "%s: missing %s (or read_%s and write_%s)",
		                     what, spec_keys[both], spec_keys[both],
		                     spec_keys[both]);
	}
	return 0;
}

static bool spec_has_cpus(const struct aml_emu_tier *tier)
{
	return tier->cpus_all || tier->vcpus > 0 ||
	       aml_bitmap_count(&tier->cpus) > 0;
}

/* A tier with vcpus and no cpus key takes the guest's CPU numbers: QEMU
 * numbers guest CPUs in node order, as the tiers are. */
static int spec_tier_complete(struct spec_parser *p,
                              struct aml_emu_tier *tier,
                              const bool *seen,
                              size_t item)
{
	char what[sizeof(tier->name) + 8];
	if (!seen[KEY_NAME])
		return emu_spec_fail(p, item, "tier: missing name");
	snprintf(what, sizeof(what), "tier \"%s\"", tier->name);
	if (!seen[KEY_KIND])
		return emu_spec_fail(p, item, "%s: missing kind", what);
	if (!seen[KEY_CAPACITY])
		return emu_spec_fail(p, item, "%s: missing capacity", what);
	int err = spec_perf_complete(p, seen, item, what);
	if (err != 0)
		return err;
	if (tier->usable > tier->capacity)
		return emu_spec_fail(p, item,
		                     "%s: usable %" PRIu64
		                     " B is more than its "
		                     "capacity %" PRIu64 " B",
		                     what, tier->usable, tier->capacity);
	if (tier->vcpus == 0)
		return 0;
	if (p->vcpus_total + tier->vcpus > AML_BITMAP_MAX)
		return emu_spec_fail(p, item, "%s: more than %d vcpus in all",
		                     what, AML_BITMAP_MAX);
	if (!seen[KEY_CPUS])
		aml_bitmap_set_range(&tier->cpus, p->vcpus_total,
		                     p->vcpus_total + tier->vcpus - 1);
	p->vcpus_total += tier->vcpus;
	return 0;
}

/* An access item's checks, once its keys are read; then it is stored. */
static int spec_access_complete(struct spec_parser *p,
                                const struct aml_emu_tier *figures,
                                const bool *seen,
                                size_t item)
{
	if (!seen[KEY_FROM] || !seen[KEY_TO])
		return emu_spec_fail(p, item, "access: missing %s",
		                     seen[KEY_FROM] ? "to" : "from");
	const struct aml_emu_tier *from = &p->spec.tiers[p->access_from];
	const struct aml_emu_tier *to = &p->spec.tiers[p->access_to];
	char what[2 * sizeof(from->name) + 24];
	snprintf(what, sizeof(what), "access from \"%s\" to \"%s\"", from->name,
	         to->name);
	int err = spec_perf_complete(p, seen, item, what);
	if (err != 0)
		return err;
	if (p->access_from == p->access_to)
		return emu_spec_fail(
		        p, item,
		        "%s: a tier seen from itself has the tier's "
		        "own bw and latency",
		        what);
	if (!spec_has_cpus(from))
		return emu_spec_fail(
		        p, item,
		        "%s: \"%s\" has no CPUs (cpus or vcpus), so "
		        "it is not an initiator",
		        what, from->name);
	for (size_t i = 0; i < p->spec.naccess; i++)
		if (p->spec.access[i].from == p->access_from &&
		    p->spec.access[i].to == p->access_to)
			return emu_spec_fail(p, item, "%s: given twice", what);
	if (p->spec.naccess == AML_EMU_ACCESS_MAX)
		return emu_spec_fail(p, item, "more than %d access items",
		                     AML_EMU_ACCESS_MAX);
	p->spec.access[p->spec.naccess++] = (struct aml_emu_spec_access){
	        .from = p->access_from,
	        .to = p->access_to,
	        .read_bw = figures->read_bw,
	        .write_bw = figures->write_bw,
	        .read_latency_ns = figures->read_latency_ns,
	        .write_latency_ns = figures->write_latency_ns,
	};
	return 0;
}

/* Which keys an item takes: a tier every key but from and to; an access
 * item from, to and the figures. */
static bool spec_key_allowed(enum spec_key key, bool access)
{
	if (key == KEY_FROM || key == KEY_TO)
		return access;
	return !access || (key >= KEY_BW && key <= KEY_WRITE_LATENCY);
}

/* key=value, ... from pos (past the ':') of a tier or an access item, into
 * *fields; *end at the item's end. */
static int spec_fields(struct spec_parser *p,
                       struct aml_emu_tier *fields,
                       bool *seen,
                       bool access,
                       size_t pos,
                       size_t *end)
{
	const char *t = p->text;
	char q[QUOTE_SIZE];
	for (;;) {
		pos = spec_skip_blanks(t, pos);
		size_t key_end = spec_word_end(t, pos);
		if (key_end == pos) {
			if (spec_item_end(t[pos]))
				return emu_spec_fail(p, pos,
				                     "expected key=value");
			return emu_spec_fail(
			        p, pos, "unexpected %s, expected key=value",
			        emu_spec_quote(q, t + pos, 1));
		}
		emu_spec_quote(q, t + pos, key_end - pos);
		size_t eq = spec_skip_blanks(t, key_end);
		if (t[eq] != '=')
			return emu_spec_fail(p, pos, "missing '=' after %s", q);
		int key = 0;
		while (key < KEY_COUNT &&
		       !spec_is(t + pos, key_end - pos, spec_keys[key]))
			key++;
		if (key == KEY_COUNT ||
		    !spec_key_allowed((enum spec_key)key, access))
			return emu_spec_fail(
			        p, pos, "unknown key %s%s", q,
			        access ? " in access (use from, to, "
			                 "bw, latency)"
			               : "");
		if (seen[key])
			return emu_spec_fail(p, pos, "duplicate key %s", q);
		if (key >= KEY_BW && key <= KEY_WRITE_LATENCY &&
		    spec_conflict(p, seen, (enum spec_key)key, pos) != 0)
			return AML_EINVAL;
		seen[key] = true;

		size_t value = spec_skip_blanks(t, eq + 1);
		size_t after = spec_value_end(t, value, key == KEY_CPUS);
		size_t value_end = after;
		while (value_end > value && spec_blank(t[value_end - 1]))
			value_end--;
		if (value_end == value)
			return emu_spec_fail(p, pos, "empty value for %s", q);
		int err = spec_field(p, fields, (enum spec_key)key, value,
		                     value_end - value);
		if (err != 0)
			return err;
		if (t[after] != ',') {
			*end = after;
			return 0;
		}
		pos = after + 1;
	}
}

/* tier: key=value, ... from pos (past the ':'); *end at the item's end. */
static int
spec_tier(struct spec_parser *p, size_t item, size_t pos, size_t *end)
{
	if (p->spec.ntiers == AML_EMU_TIERS_MAX)
		return emu_spec_fail(p, item, "more than %d tiers",
		                     AML_EMU_TIERS_MAX);
	struct aml_emu_tier *tier = &p->spec.tiers[p->spec.ntiers];
	memset(tier, 0, sizeof(*tier));
	bool seen[KEY_COUNT] = {false};
	int err = spec_fields(p, tier, seen, false, pos, end);
	if (err == 0)
		err = spec_tier_complete(p, tier, seen, item);
	if (err == 0)
		p->spec.ntiers++;
	return err;
}

/* access: from=T, to=U, figures, from pos (past the ':'). */
static int
spec_access(struct spec_parser *p, size_t item, size_t pos, size_t *end)
{
	struct aml_emu_tier figures;
	memset(&figures, 0, sizeof(figures));
	bool seen[KEY_COUNT] = {false};
	int err = spec_fields(p, &figures, seen, true, pos, end);
	if (err == 0)
		err = spec_access_complete(p, &figures, seen, item);
	return err;
}

/* distances: row / row ..., a square matrix; checked against the number of
 * tiers once the whole spec is read, since tiers may come after it. */
static int
spec_distances(struct spec_parser *p, size_t item, size_t pos, size_t *end)
{
	const char *t = p->text;
	char q[QUOTE_SIZE];
	bool store = true;
	if (p->preset == NULL && p->distances_from == FROM_USER)
		return emu_spec_fail(p, item, "distances given twice");
	if (p->preset != NULL && p->distances_from == FROM_USER)
		store = false; /* the user's own distances win */
	if (store)
		memset(p->spec.distances, 0, sizeof(p->spec.distances));

	pos = spec_skip_blanks(t, pos);
	if (spec_item_end(t[pos]))
		return emu_spec_fail(p, item, "empty value for \"distances\"");
	size_t row = 0, col = 0, n = 0;
	size_t row_start = pos;
	for (;;) {
		pos = spec_skip_blanks(t, pos);
		size_t at = pos;
		uint64_t v = 0;
		int err = emu_spec_integer(p, pos, "distance", &v, &pos);
		if (err != 0)
			return err;
		if (row == 0 && col == AML_EMU_TIERS_MAX)
			return emu_spec_fail(p, at,
			                     "distances: more than %d columns",
			                     AML_EMU_TIERS_MAX);
		if (row > 0 && col == n)
			return emu_spec_fail(
			        p, at,
			        "distances: row %zu has more than %zu "
			        "values",
			        row + 1, n);
		if (row == col && v != 10)
			return emu_spec_fail(p, at,
			                     "distance %" PRIu64
			                     " from tier %zu to "
			                     "itself (must be 10)",
			                     v, row);
		if (v < 10 || v > 254)
			return emu_spec_fail(p, at,
			                     "distance %" PRIu64
			                     " out of range (10 to 254)",
			                     v);
		if (store)
			p->spec.distances[row][col] = (uint8_t)v;
		col++;

		pos = spec_skip_blanks(t, pos);
		if (t[pos] == ',') {
			pos++;
			continue;
		}
		if (row == 0)
			n = col;
		else if (col < n)
			return emu_spec_fail(
			        p, row_start,
			        "distances: row %zu has %zu values, "
			        "expected %zu",
			        row + 1, col, n);
		row++;
		if (t[pos] != '/')
			break;
		pos = spec_skip_blanks(t, pos + 1);
		if (row == n)
			return emu_spec_fail(
			        p, pos,
			        "distances: more rows than columns (%zu)", n);
		row_start = pos;
		col = 0;
	}
	if (!spec_item_end(t[pos]))
		return emu_spec_fail(
		        p, pos, "unexpected %s in distances",
		        emu_spec_quote(q, t + pos,
		                       spec_rest_end(t, pos) - pos));
	if (row < n)
		return emu_spec_fail(
		        p, item, "distances: %zu rows for %zu columns", row, n);
	*end = pos;
	if (store) {
		p->spec.has_distances = true;
		p->distances_n = n;
		p->distances_from = p->preset ? FROM_PRESET : FROM_USER;
		p->distances_offset = p->preset ? p->preset_offset : item;
	}
	return 0;
}

/* scale=N or scale=N/M from pos (past the '='). */
static int
spec_scale(struct spec_parser *p, size_t item, size_t pos, size_t *end)
{
	const char *t = p->text;
	char q[QUOTE_SIZE];
	if (p->scale_seen)
		return emu_spec_fail(p, item, "scale given twice");
	pos = spec_skip_blanks(t, pos);
	if (spec_item_end(t[pos]))
		return emu_spec_fail(p, item, "empty value for \"scale\"");
	size_t num_at = pos, den_at = pos;
	uint64_t num = 0, den = 1;
	int err = emu_spec_integer(p, pos, "scale", &num, &pos);
	if (err != 0)
		return err;
	pos = spec_skip_blanks(t, pos);
	if (t[pos] == '/') {
		den_at = pos = spec_skip_blanks(t, pos + 1);
		err = emu_spec_integer(p, pos, "scale denominator", &den, &pos);
		if (err != 0)
			return err;
		pos = spec_skip_blanks(t, pos);
	}
	if (!spec_item_end(t[pos]))
		return emu_spec_fail(
		        p, pos, "unexpected %s after scale",
		        emu_spec_quote(q, t + pos,
		                       spec_rest_end(t, pos) - pos));
	if (num == 0)
		return emu_spec_fail(p, num_at, "scale is 0");
	if (den == 0)
		return emu_spec_fail(p, den_at, "scale denominator is 0");
	p->spec.scale_num = num;
	p->spec.scale_den = den;
	p->scale_seen = true;
	p->scale_offset = num_at;
	*end = pos;
	return 0;
}

/* One of nwords words as the value of `key`, given once: *choice says
 * which. From pos, past the '='. */
static int spec_choice(struct spec_parser *p,
                       size_t item,
                       size_t pos,
                       size_t *end,
                       const char *key,
                       const char *const *words,
                       size_t nwords,
                       bool *seen,
                       size_t *choice)
{
	const char *t = p->text;
	char q[QUOTE_SIZE];
	if (*seen)
		return emu_spec_fail(p, item, "%s given twice", key);
	pos = spec_skip_blanks(t, pos);
	size_t value_end = spec_rest_end(t, pos);
	*end = value_end;
	while (value_end > pos && spec_blank(t[value_end - 1]))
		value_end--;
	if (value_end == pos)
		return emu_spec_fail(p, item, "empty value for \"%s\"", key);
	for (size_t i = 0; i < nwords; i++) {
		if (spec_is(t + pos, value_end - pos, words[i])) {
			*choice = i;
			*seen = true;
			return 0;
		}
	}
	/* "use a or b", "use a, b or c" */
	char use[64] = "";
	for (size_t i = 0; i < nwords; i++) {
		const char *sep = i == 0 ? "" : i + 1 < nwords ? ", " : " or ";
		size_t len = strlen(use);
		snprintf(use + len, sizeof(use) - len, "%s%s", sep, words[i]);
	}
	return emu_spec_fail(p, pos, "unknown %s %s (use %s)", key,
	                     emu_spec_quote(q, t + pos, value_end - pos), use);
}

/* mode=account|delay from pos (past the '='). */
static int
spec_mode(struct spec_parser *p, size_t item, size_t pos, size_t *end)
{
	static const char *const words[2] = {"account", "delay"};
	size_t choice = 0;
	int err = spec_choice(p, item, pos, end, "mode", words, 2,
	                      &p->mode_seen, &choice);
	if (err == 0)
		p->spec.mode = choice == 1 ? AML_EMU_DELAY : AML_EMU_ACCOUNT;
	return err;
}

/* placement=touch|map from pos (past the '='). */
static int
spec_placement(struct spec_parser *p, size_t item, size_t pos, size_t *end)
{
	static const char *const words[2] = {"touch", "map"};
	size_t choice = 0;
	int err = spec_choice(p, item, pos, end, "placement", words, 2,
	                      &p->placement_seen, &choice);
	if (err == 0) {
		p->spec.place_at_map = choice == 1;
		p->spec.place_at_touch = choice == 0;
	}
	return err;
}

/* accesses=off|on|sampled from pos (past the '='): the words in the order
 * of AML_EMU_ACCESSES_OFF, _ON and _SAMPLED. */
static int
spec_accesses(struct spec_parser *p, size_t item, size_t pos, size_t *end)
{
	static const char *const words[3] = {"off", "on", "sampled"};
	size_t choice = 0;
	int err = spec_choice(p, item, pos, end, "accesses", words, 3,
	                      &p->accesses_seen, &choice);
	if (err == 0)
		p->spec.accesses = (int)choice;
	return err;
}

/* sockets=N from pos (past the '='); checked against the vcpus once the
 * whole spec is read. */
static int
spec_sockets(struct spec_parser *p, size_t item, size_t pos, size_t *end)
{
	const char *t = p->text;
	char q[QUOTE_SIZE];
	if (p->sockets_seen)
		return emu_spec_fail(p, item, "sockets given twice");
	pos = spec_skip_blanks(t, pos);
	if (spec_item_end(t[pos]))
		return emu_spec_fail(p, item, "empty value for \"sockets\"");
	size_t at = pos;
	uint64_t v = 0;
	int err = emu_spec_integer(p, pos, "sockets", &v, &pos);
	if (err != 0)
		return err;
	pos = spec_skip_blanks(t, pos);
	if (!spec_item_end(t[pos]))
		return emu_spec_fail(
		        p, pos, "unexpected %s after sockets",
		        emu_spec_quote(q, t + pos,
		                       spec_rest_end(t, pos) - pos));
	if (v == 0 || v > AML_BITMAP_MAX)
		return emu_spec_fail(
		        p, at, "sockets %" PRIu64 " out of range (1 to %d)", v,
		        AML_BITMAP_MAX);
	p->spec.sockets = (unsigned)v;
	p->sockets_seen = true;
	p->sockets_offset = p->preset ? p->preset_offset : at;
	*end = pos;
	return 0;
}

static int spec_items(struct spec_parser *p);

/* A preset's items, read as if written in place of its name. */
static int spec_expand(struct spec_parser *p, const char *name, size_t at)
{
	if (p->preset != NULL)
		return emu_spec_fail(p, at, "a preset may not name a preset");
	const char *text = p->text;
	p->text = aml_emu_preset(name);
	p->preset = name;
	p->preset_offset = at;
	int err = spec_items(p);
	p->text = text;
	p->preset = NULL;
	return err;
}

/* One item at *pos, which is not blank and not an item end; *pos is left
 * at the item's end. */
static int spec_item(struct spec_parser *p, size_t *pos)
{
	const char *t = p->text;
	char q[QUOTE_SIZE];
	size_t start = *pos;
	size_t word_end = spec_word_end(t, start);
	if (word_end == start)
		return emu_spec_fail(p, start, "unexpected %s",
		                     emu_spec_quote(q, t + start, 1));
	const char *w = t + start;
	size_t len = word_end - start;
	size_t next = spec_skip_blanks(t, word_end);
	char c = t[next];
	emu_spec_quote(q, w, len);

	static const struct {
		const char *word;
		char sep;
		int (*parse)(struct spec_parser *, size_t, size_t, size_t *);
	} items[] = {
	        {"tier", ':', spec_tier},
	        {"distances", ':', spec_distances},
	        {"access", ':', spec_access},
	        {"scale", '=', spec_scale},
	        {"mode", '=', spec_mode},
	        {"placement", '=', spec_placement},
	        {"accesses", '=', spec_accesses},
	        {"sockets", '=', spec_sockets},
	};
	bool colon = false, equals = false;
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		if (!spec_is(w, len, items[i].word))
			continue;
		if (c == items[i].sep)
			return items[i].parse(p, start, next + 1, pos);
		colon = items[i].sep == ':';
		equals = !colon;
	}
	if (colon)
		return emu_spec_fail(p, start, "expected ':' after %s", q);
	if (equals)
		return emu_spec_fail(p, start, "expected '=' after %s", q);

	for (size_t i = 0; aml_emu_preset_names[i] != NULL; i++) {
		if (!spec_is(w, len, aml_emu_preset_names[i]))
			continue;
		if (!spec_item_end(c)) {
			char rest[QUOTE_SIZE];
			return emu_spec_fail(
			        p, next, "unexpected %s after preset %s",
			        emu_spec_quote(rest, t + next,
			                       spec_rest_end(t, next) - next),
			        q);
		}
		*pos = next;
		return spec_expand(p, aml_emu_preset_names[i], start);
	}
	if (spec_item_end(c))
		return emu_spec_fail(p, start, "unknown item or preset %s", q);
	return emu_spec_fail(p, start, "unknown item %s", q);
}

static int spec_items(struct spec_parser *p)
{
	const char *t = p->text;
	size_t pos = 0;
	for (;;) {
		pos = spec_skip_blanks(t, pos);
		if (t[pos] == '#') {
			while (t[pos] != '\0' && t[pos] != '\n')
				pos++;
			continue;
		}
		if (t[pos] == '\0')
			return 0;
		/* Empty items: blank lines, ";;", a trailing ';'. */
		if (t[pos] == ';' || t[pos] == '\n') {
			pos++;
			continue;
		}
		int err = spec_item(p, &pos);
		if (err != 0)
			return err;
	}
}

/*
 * Every capacity fits 64 bits alone; scaled, it must too, or the machine's
 * devices would wrap to a capacity of 0, "unknown". Checked once the whole
 * spec is read, since the scale may come before or after the tiers; the
 * scale is at fault, as it alone grows a capacity.
 */
static int spec_check_scale(struct spec_parser *p)
{
	const struct aml_emu_spec *s = &p->spec;
	for (size_t i = 0; i < s->ntiers; i++) {
		spec_u128 bytes = (spec_u128)s->tiers[i].capacity *
		                  s->scale_num / s->scale_den;
		if (bytes > UINT64_MAX || bytes > SIZE_MAX)
			return emu_spec_fail(
			        p, p->scale_offset,
			        "capacity of tier \"%s\" times scale "
			        "%" PRIu64 "/%" PRIu64 " overflows 64 bits",
			        s->tiers[i].name, s->scale_num, s->scale_den);
	}
	return 0;
}

int aml_emu_spec_parse(const char *text,
                       struct aml_emu_spec *out,
                       struct aml_emu_error *error)
{
	if (text == NULL || out == NULL) {
		if (error != NULL) {
			error->offset = 0;
			snprintf(error->reason, sizeof(error->reason), "%s",
			         text == NULL ? "no spec" : "no output");
		}
		return AML_EINVAL;
	}
	struct spec_parser p = {
	        .spec = {.scale_num = 1,
	                 .scale_den = 1,
	                 .mode = AML_EMU_ACCOUNT},
	        .error = error,
	        .text = text,
	};
	int err = spec_items(&p);
	if (err != 0)
		return err;
	if (p.spec.ntiers == 0)
		return emu_spec_fail(&p, 0,
		                     "no tier: name a preset or give a tier");
	if (p.spec.has_distances && p.distances_n != p.spec.ntiers) {
		if (p.distances_from == FROM_PRESET)
			return emu_spec_fail(
			        &p, p.distances_offset,
			        "distances do not cover every tier "
			        "(%zu of %zu): give distances for all",
			        p.distances_n, p.spec.ntiers);
		return emu_spec_fail(
		        &p, p.distances_offset,
		        "distances are %zux%zu but there are %zu tiers",
		        p.distances_n, p.distances_n, p.spec.ntiers);
	}
	err = spec_check_scale(&p);
	if (err == 0 && p.spec.sockets != 0 &&
	    (p.vcpus_total == 0 || p.vcpus_total % p.spec.sockets != 0))
		err = emu_spec_fail(&p, p.sockets_offset,
		                    "sockets=%u does not divide the %zu vcpus",
		                    p.spec.sockets, p.vcpus_total);
	if (err != 0)
		return err;
	*out = p.spec;
	return 0;
}
