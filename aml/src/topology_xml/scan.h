/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: a strict pull scanner for the XML subset hwloc writes.
 *
 * The scanner enforces well-formedness and nothing of hwloc's schema: UTF-8
 * text of XML characters, an optional XML declaration and DOCTYPE (without
 * an internal subset), comments, one root element, matching tags, unique
 * attributes, the five predefined entities and character references. It
 * refuses what hwloc never writes and what would cost more than the text's
 * size to handle: processing instructions, CDATA sections, entity
 * declarations, names and values past their limits, nesting deeper than
 * AML_XML_DEPTH_MAX. Each event costs time linear in the bytes it covers.
 */
#ifndef AML_SRC_TOPOLOGY_XML_SCAN_H
#define AML_SRC_TOPOLOGY_XML_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/topology.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Deepest element nesting accepted (hwloc's trees are about 15 deep). */
#define AML_XML_DEPTH_MAX 64
/** Most attributes of one element (an hwloc object has at most 27). */
#define AML_XML_ATTRS_MAX 32
/** Longest element or attribute name, in bytes. */
#define AML_XML_NAME_MAX 64
/** Longest attribute value once decoded, in bytes (a set of 1024 CPUs
 * takes 352). */
#define AML_XML_VALUE_MAX 4096

/** What aml_xml_next() found. */
enum aml_xml_event {
	/** A start tag: name and attributes are set. */
	AML_XML_START,
	/** An end tag (also right after the start of an empty element). */
	AML_XML_END,
	/** Character data that is not only white space: chars and nchars
	 * are set, and name is the enclosing element's. */
	AML_XML_TEXT,
	/** The root element is closed and only comments follow. */
	AML_XML_DONE,
};

/** One attribute of the current start tag. */
struct aml_xml_attr {
	/** Its name, NUL-terminated. */
	const char *name;
	/** Its value with references decoded, NUL-terminated. */
	const char *value;
	/** Line of the value. */
	size_t line;
};

/** The scanner. Fields are read-only outside scan.c. */
struct aml_xml_scan {
	const char *text;
	size_t size;
	size_t pos;
	size_t line;
	/** Decoded names, values and text of the current event. */
	char *scratch;
	size_t used;
	/** The current element and its line (START, END). */
	const char *name;
	size_t name_line;
	struct aml_xml_attr attrs[AML_XML_ATTRS_MAX];
	size_t nattrs;
	/** The current text (TEXT), decoded, NUL-terminated. */
	const char *chars;
	size_t nchars;
	/** Open elements, outermost first. */
	char open[AML_XML_DEPTH_MAX][AML_XML_NAME_MAX + 1];
	size_t depth;
	/** The last START was an empty element: its END comes next. */
	bool pending_end;
	bool root_done;
	/** Where and why the text was refused. */
	struct aml_topology_xml_error *error;
};

/**
 * Start scanning @p size bytes of @p text (which must outlive the scanner),
 * after checking that they are UTF-8 XML characters.
 * @return 0; AML_EINVAL (error filled); AML_ENOMEM.
 */
int aml_xml_scan_init(struct aml_xml_scan *scan,
                      const char *text,
                      size_t size,
                      struct aml_topology_xml_error *error);

/** Release the scanner. */
void aml_xml_scan_fini(struct aml_xml_scan *scan);

/**
 * The next event.
 * @return an enum aml_xml_event; AML_EINVAL with the error filled.
 */
int aml_xml_next(struct aml_xml_scan *scan);

/** The value of the current tag's attribute @p name, or NULL. */
const struct aml_xml_attr *aml_xml_attr(const struct aml_xml_scan *scan,
                                        const char *name);

/**
 * Record why the text is refused (the first reason wins), printf-style.
 * @return AML_EINVAL.
 */
int aml_xml_fail(struct aml_xml_scan *scan, size_t line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* chars.c, for scan.c. */

/** May an XML document hold code point @p c? */
bool aml_xml_char_ok(uint32_t c);
/** Refuse the text unless it is UTF-8 of allowed code points. */
int aml_xml_check_chars(struct aml_xml_scan *scan);
/** Write @p c in UTF-8 at @p out (4 bytes at most). @return the length. */
size_t aml_xml_utf8_encode(uint32_t c, char *out);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_TOPOLOGY_XML_SCAN_H */
