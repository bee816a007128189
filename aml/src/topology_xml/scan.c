/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A strict pull scanner for the XML that hwloc writes (see scan.h).
 *
 * Every byte is looked at a bounded number of times: the UTF-8 check reads
 * the text once, and the scanner only moves forward, through advance(),
 * which also counts lines (a run of characters without a newline may be
 * skipped at once). Decoded names, values and text go to one scratch
 * buffer as large as the text (decoding never grows a string), reset at
 * each event, so memory is twice the text whatever its shape.
 */
#include "aml/src/topology_xml/scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <aml/error.h>

/* ---- Moving through the text ---- */

static bool at_end(const struct aml_xml_scan *scan)
{
	return scan->pos >= scan->size;
}

static char peek(const struct aml_xml_scan *scan)
{
	return at_end(scan) ? '\0' : scan->text[scan->pos];
}

static bool looking_at(const struct aml_xml_scan *scan, const char *s)
{
	size_t n = strlen(s);
	return scan->size - scan->pos >= n &&
	       memcmp(scan->text + scan->pos, s, n) == 0;
}

static void advance(struct aml_xml_scan *scan, size_t n)
{
	for (size_t i = 0; i < n && !at_end(scan); i++)
		scan->line += scan->text[scan->pos++] == '\n';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool skip_space(struct aml_xml_scan *scan)
{
	size_t from = scan->pos;
	while (is_space(peek(scan)))
		advance(scan, 1);
	return scan->pos > from;
}

static bool name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == ':';
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* A name, copied to the scratch; NULL (and the error set) if none. */
static const char *read_name(struct aml_xml_scan *scan, const char *what)
{
	if (!name_start(peek(scan))) {
		aml_xml_fail(scan, scan->line, "expected %s", what);
		return NULL;
	}
	size_t from = scan->pos;
	while (name_char(peek(scan)))
		advance(scan, 1);
	size_t len = scan->pos - from;
	if (len > AML_XML_NAME_MAX) {
		aml_xml_fail(scan, scan->line, "name longer than %d bytes",
		             AML_XML_NAME_MAX);
		return NULL;
	}
	char *name = scan->scratch + scan->used;
	memcpy(name, scan->text + from, len);
	name[len] = '\0';
	scan->used += len + 1;
	return name;
}

/* Decode the reference at '&' into the scratch. */
static int read_reference(struct aml_xml_scan *scan)
{
	static const struct {
		const char *name;
		char c;
	} predefined[] = {{"&lt;", '<'},
	                  {"&gt;", '>'},
	                  {"&amp;", '&'},
	                  {"&quot;", '"'},
	                  {"&apos;", '\''}};
	for (size_t i = 0; i < sizeof(predefined) / sizeof(*predefined); i++) {
		if (looking_at(scan, predefined[i].name)) {
			advance(scan, strlen(predefined[i].name));
			scan->scratch[scan->used++] = predefined[i].c;
			return 0;
		}
	}
	size_t line = scan->line;
	if (!looking_at(scan, "&#"))
		return aml_xml_fail(scan, line,
		                    "unknown entity: only &lt; &gt; &amp; "
		                    "&quot; &apos; and &#N; are allowed");
	advance(scan, 2);
	bool hex = peek(scan) == 'x';
	if (hex)
		advance(scan, 1);
	uint32_t c = 0;
	size_t digits = 0;
	for (;; digits++) {
		char d = peek(scan);
		uint32_t v;
		if (d >= '0' && d <= '9')
			v = (uint32_t)(d - '0');
		else if (hex && d >= 'a' && d <= 'f')
			v = (uint32_t)(d - 'a' + 10);
		else if (hex && d >= 'A' && d <= 'F')
			v = (uint32_t)(d - 'A' + 10);
		else
			break;
		if (digits == 7)
			return aml_xml_fail(scan, line,
			                    "character reference too long");
		c = c * (hex ? 16 : 10) + v;
		advance(scan, 1);
	}
	if (digits == 0 || peek(scan) != ';')
		return aml_xml_fail(scan, line,
		                    "malformed character reference");
	advance(scan, 1);
	if (!aml_xml_char_ok(c))
		return aml_xml_fail(scan, line,
		                    "character reference to U+%04X, which XML "
		                    "does not allow",
		                    (unsigned)c);
	scan->used += aml_xml_utf8_encode(c, scan->scratch + scan->used);
	return 0;
}

/* A quoted attribute value, decoded into the scratch. */
static const char *read_value(struct aml_xml_scan *scan, const char *attr)
{
	char quote = peek(scan);
	if (quote != '"' && quote != '\'') {
		aml_xml_fail(scan, scan->line,
		             "the value of %s must be in quotes", attr);
		return NULL;
	}
	size_t line = scan->line;
	advance(scan, 1);
	char *value = scan->scratch + scan->used;
	for (;;) {
		char c = peek(scan);
		if (at_end(scan)) {
			aml_xml_fail(scan, line,
			             "the value of %s has no closing quote",
			             attr);
			return NULL;
		}
		if (c == quote)
			break;
		if (c == '<') {
			aml_xml_fail(
			        scan, scan->line,
			        "'<' in the value of %s (a missing quote?)",
			        attr);
			return NULL;
		}
		if (c == '&') {
			if (read_reference(scan) != 0)
				return NULL;
		} else if (c == '\n') {
			/* XML normalizes literal white space in values. */
			scan->scratch[scan->used++] = ' ';
			advance(scan, 1);
		} else {
			/* A run of plain characters at once. */
			size_t end = scan->pos + 1;
			while (end < scan->size && scan->text[end] != quote &&
			       scan->text[end] != '<' &&
			       scan->text[end] != '&' &&
			       scan->text[end] != '\n')
				end++;
			for (size_t i = scan->pos; i < end; i++)
				scan->scratch[scan->used++] =
				        is_space(scan->text[i]) ? ' '
				                                : scan->text[i];
			scan->pos = end;
		}
		if ((size_t)(scan->scratch + scan->used - value) >
		    AML_XML_VALUE_MAX) {
			aml_xml_fail(scan, line,
			             "the value of %s is longer than %d bytes",
			             attr, AML_XML_VALUE_MAX);
			return NULL;
		}
	}
	advance(scan, 1);
	scan->scratch[scan->used++] = '\0';
	return value;
}

/* ---- Markup outside elements ---- */

static int read_comment(struct aml_xml_scan *scan)
{
	size_t line = scan->line;
	advance(scan, 4); /* <!-- */
	for (;;) {
		if (at_end(scan))
			return aml_xml_fail(scan, line, "comment not closed");
		if (looking_at(scan, "--")) {
			if (!looking_at(scan, "-->"))
				return aml_xml_fail(scan, scan->line,
				                    "'--' inside a comment");
			advance(scan, 3);
			return 0;
		}
		advance(scan, 1);
	}
}

/* <?xml version="1.0" encoding="UTF-8"?>, at the very start. */
static int read_declaration(struct aml_xml_scan *scan)
{
	advance(scan, 5); /* <?xml */
	bool version = false;
	for (;;) {
		bool space = skip_space(scan);
		if (looking_at(scan, "?>")) {
			advance(scan, 2);
			break;
		}
		scan->used = 0;
		const char *name = space ? read_name(scan, "'?>'") : NULL;
		if (!space)
			return aml_xml_fail(scan, scan->line,
			                    "malformed XML declaration");
		if (name == NULL)
			return AML_EINVAL;
		skip_space(scan);
		if (peek(scan) != '=')
			return aml_xml_fail(scan, scan->line,
			                    "malformed XML declaration");
		advance(scan, 1);
		skip_space(scan);
		const char *value = read_value(scan, name);
		if (value == NULL)
			return AML_EINVAL;
		if (strcmp(name, "version") == 0) {
			version = strncmp(value, "1.", 2) == 0;
		} else if (strcmp(name, "encoding") == 0) {
			if (strcasecmp(value, "UTF-8") != 0 &&
			    strcasecmp(value, "US-ASCII") != 0)
				return aml_xml_fail(
				        scan, scan->line,
				        "encoding %.32s: only UTF-8 "
				        "is supported",
				        value);
		} else if (strcmp(name, "standalone") != 0) {
			return aml_xml_fail(scan, scan->line,
			                    "malformed XML declaration");
		}
	}
	if (!version)
		return aml_xml_fail(scan, scan->line,
		                    "the XML declaration needs version 1.x");
	return 0;
}

/* <!DOCTYPE topology SYSTEM "hwloc2.dtd">: no internal subset. */
static int read_doctype(struct aml_xml_scan *scan)
{
	size_t line = scan->line;
	advance(scan, 9); /* <!DOCTYPE */
	scan->used = 0;
	if (!skip_space(scan) || read_name(scan, "a DOCTYPE name") == NULL)
		return aml_xml_fail(scan, line, "malformed DOCTYPE");
	skip_space(scan);
	size_t literals = 0;
	if (looking_at(scan, "SYSTEM"))
		literals = 1;
	else if (looking_at(scan, "PUBLIC"))
		literals = 2;
	if (literals > 0)
		advance(scan, 6);
	for (size_t i = 0; i < literals; i++) {
		if (!skip_space(scan) ||
		    (peek(scan) != '"' && peek(scan) != '\''))
			return aml_xml_fail(scan, line, "malformed DOCTYPE");
		char quote = peek(scan);
		advance(scan, 1);
		while (!at_end(scan) && peek(scan) != quote)
			advance(scan, 1);
		if (at_end(scan))
			return aml_xml_fail(scan, line, "malformed DOCTYPE");
		advance(scan, 1);
	}
	skip_space(scan);
	if (peek(scan) == '[')
		return aml_xml_fail(scan, scan->line,
		                    "DOCTYPE with an internal subset (entity "
		                    "declarations are not supported)");
	if (peek(scan) != '>')
		return aml_xml_fail(scan, line, "malformed DOCTYPE");
	advance(scan, 1);
	return 0;
}

/* ---- Tags ---- */

static int read_start_tag(struct aml_xml_scan *scan)
{
	scan->name_line = scan->line;
	advance(scan, 1); /* < */
	scan->used = 0;
	scan->nattrs = 0;
	scan->name = read_name(scan, "an element name after '<'");
	if (scan->name == NULL)
		return AML_EINVAL;
	bool empty = false;
	for (;;) {
		bool space = skip_space(scan);
		if (looking_at(scan, "/>")) {
			advance(scan, 2);
			empty = true;
			break;
		}
		if (peek(scan) == '>') {
			advance(scan, 1);
			break;
		}
		if (at_end(scan))
			return aml_xml_fail(scan, scan->name_line,
			                    "tag <%s> not closed", scan->name);
		if (!space)
			return aml_xml_fail(scan, scan->line,
			                    "expected a space, '>' or '/>' in "
			                    "<%s>",
			                    scan->name);
		if (scan->nattrs == AML_XML_ATTRS_MAX)
			return aml_xml_fail(scan, scan->line,
			                    "<%s> has more than %d attributes",
			                    scan->name, AML_XML_ATTRS_MAX);
		struct aml_xml_attr *attr = &scan->attrs[scan->nattrs];
		attr->name = read_name(scan, "an attribute name");
		if (attr->name == NULL)
			return AML_EINVAL;
		skip_space(scan);
		if (peek(scan) != '=')
			return aml_xml_fail(scan, scan->line,
			                    "expected '=' after %s",
			                    attr->name);
		advance(scan, 1);
		skip_space(scan);
		attr->line = scan->line;
		attr->value = read_value(scan, attr->name);
		if (attr->value == NULL)
			return AML_EINVAL;
		if (aml_xml_attr(scan, attr->name) != NULL)
			return aml_xml_fail(scan, attr->line,
			                    "attribute %s given twice",
			                    attr->name);
		scan->nattrs++;
	}
	if (scan->depth == AML_XML_DEPTH_MAX)
		return aml_xml_fail(scan, scan->name_line,
		                    "elements nested deeper than %d",
		                    AML_XML_DEPTH_MAX);
	strcpy(scan->open[scan->depth++], scan->name);
	scan->pending_end = empty;
	return AML_XML_START;
}

static int close_element(struct aml_xml_scan *scan)
{
	scan->depth--;
	scan->name = scan->open[scan->depth];
	scan->root_done = scan->depth == 0;
	return AML_XML_END;
}

static int read_end_tag(struct aml_xml_scan *scan)
{
	size_t line = scan->line;
	advance(scan, 2); /* </ */
	scan->used = 0;
	const char *name = read_name(scan, "an element name after '</'");
	if (name == NULL)
		return AML_EINVAL;
	skip_space(scan);
	if (peek(scan) != '>')
		return aml_xml_fail(scan, line, "malformed end tag </%s>",
		                    name);
	advance(scan, 1);
	if (strcmp(name, scan->open[scan->depth - 1]) != 0)
		return aml_xml_fail(scan, line, "</%s> closes <%s>", name,
		                    scan->open[scan->depth - 1]);
	scan->name_line = line;
	return close_element(scan);
}

/* Character data up to the next '<': an event unless only white space. */
static int read_text(struct aml_xml_scan *scan, bool *event)
{
	size_t line = scan->line;
	scan->used = 0;
	char *chars = scan->scratch;
	bool blank = true;
	*event = false;
	while (!at_end(scan) && peek(scan) != '<') {
		char c = peek(scan);
		if (c == '&') {
			if (blank)
				line = scan->line;
			if (read_reference(scan) != 0)
				return AML_EINVAL;
			blank = false;
			continue;
		}
		if (looking_at(scan, "]]>"))
			return aml_xml_fail(scan, scan->line,
			                    "']]>' in character data");
		if (blank && !is_space(c))
			line = scan->line; /* where the text proper starts */
		blank = blank && is_space(c);
		scan->scratch[scan->used++] = c;
		advance(scan, 1);
	}
	scan->scratch[scan->used++] = '\0';
	*event = !blank;
	scan->chars = chars;
	scan->nchars = scan->used - 1;
	/* The text's element: the name it had in the scratch is gone. */
	scan->name = scan->open[scan->depth - 1];
	scan->name_line = line;
	return 0;
}

/* Before and after the root element: comments, white space, and in the
 * prolog the XML declaration and a DOCTYPE. */
static int next_outside(struct aml_xml_scan *scan)
{
	bool doctype = false;
	for (;;) {
		skip_space(scan);
		if (at_end(scan)) {
			if (scan->root_done)
				return AML_XML_DONE;
			return aml_xml_fail(scan, scan->line,
			                    "no root element");
		}
		if (looking_at(scan, "<!--")) {
			if (read_comment(scan) != 0)
				return AML_EINVAL;
		} else if (looking_at(scan, "<?xml") && scan->pos == 0) {
			if (read_declaration(scan) != 0)
				return AML_EINVAL;
		} else if (looking_at(scan, "<?")) {
			return aml_xml_fail(scan, scan->line,
			                    "processing instructions are not "
			                    "supported");
		} else if (looking_at(scan, "<!DOCTYPE") && !doctype &&
		           !scan->root_done) {
			if (read_doctype(scan) != 0)
				return AML_EINVAL;
			doctype = true;
		} else if (looking_at(scan, "<!") || looking_at(scan, "</")) {
			return aml_xml_fail(
			        scan, scan->line,
			        "unexpected markup outside the root "
			        "element");
		} else if (peek(scan) == '<') {
			if (scan->root_done)
				return aml_xml_fail(scan, scan->line,
				                    "a second root element");
			return read_start_tag(scan);
		} else {
			return aml_xml_fail(scan, scan->line,
			                    "text outside the root element");
		}
	}
}

int aml_xml_next(struct aml_xml_scan *scan)
{
	if (scan->error->reason[0] != '\0')
		return AML_EINVAL;
	if (scan->pending_end) {
		scan->pending_end = false;
		return close_element(scan);
	}
	if (scan->depth == 0)
		return next_outside(scan);
	for (;;) {
		if (at_end(scan))
			return aml_xml_fail(scan, scan->line,
			                    "<%s> is not closed",
			                    scan->open[scan->depth - 1]);
		if (looking_at(scan, "<!--")) {
			if (read_comment(scan) != 0)
				return AML_EINVAL;
		} else if (looking_at(scan, "<![CDATA[")) {
			return aml_xml_fail(scan, scan->line,
			                    "CDATA sections are not supported");
		} else if (looking_at(scan, "<?")) {
			return aml_xml_fail(scan, scan->line,
			                    "processing instructions are not "
			                    "supported");
		} else if (looking_at(scan, "<!")) {
			return aml_xml_fail(scan, scan->line,
			                    "unexpected markup in <%s>",
			                    scan->open[scan->depth - 1]);
		} else if (looking_at(scan, "</")) {
			return read_end_tag(scan);
		} else if (peek(scan) == '<') {
			return read_start_tag(scan);
		} else {
			bool event;
			if (read_text(scan, &event) != 0)
				return AML_EINVAL;
			if (event)
				return AML_XML_TEXT;
		}
	}
}

const struct aml_xml_attr *aml_xml_attr(const struct aml_xml_scan *scan,
                                        const char *name)
{
	for (size_t i = 0; i < scan->nattrs; i++) {
		if (strcmp(scan->attrs[i].name, name) == 0)
			return &scan->attrs[i];
	}
	return NULL;
}

int aml_xml_scan_init(struct aml_xml_scan *scan,
                      const char *text,
                      size_t size,
                      struct aml_topology_xml_error *error)
{
	memset(scan, 0, sizeof(*scan));
	scan->text = text;
	scan->size = size;
	scan->line = 1;
	scan->error = error;
	int err = aml_xml_check_chars(scan);
	if (err != 0)
		return err;
	/* A UTF-8 byte order mark is allowed before the declaration. */
	if (looking_at(scan, "\xef\xbb\xbf")) {
		scan->text += 3;
		scan->size -= 3;
	}
	/* Decoded strings are never longer than their text, and each
	 * terminating NUL replaces at least one delimiter. */
	scan->scratch = malloc(size + 1);
	return scan->scratch != NULL ? 0 : AML_ENOMEM;
}

void aml_xml_scan_fini(struct aml_xml_scan *scan)
{
	free(scan->scratch);
	scan->scratch = NULL;
}
