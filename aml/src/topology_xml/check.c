/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The check of a whole hwloc XML document: <topology version="2.x">, the
 * root object (objects.c), then memory attributes, distances, CPU kinds and
 * support flags (extras.c), and what must hold once every object is known.
 *
 * hwloc 1.x files are refused: their import takes other paths in hwloc
 * (NUMA nodes inside the CPU tree, distances as floats), and hwloc 2 itself
 * converts them (lstopo -i old.xml new.xml).
 */
#include <stdlib.h>
#include <string.h>

#include <aml/error.h>

#include "aml/src/topology_xml/internal.h"
#include "aml/src/topology_xml/topology_xml.h"

static int ref_cmp(const void *a, const void *b)
{
	const struct xml_ref *x = a, *y = b;
	if (x->gp_index != y->gp_index)
		return x->gp_index < y->gp_index ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

const struct xml_ref *aml_xml_ref(const struct xml_check *c, uint64_t gp_index)
{
	size_t lo = 0, hi = c->nrefs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->refs[mid].gp_index < gp_index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nrefs && c->refs[lo].gp_index == gp_index ? &c->refs[lo]
	                                                         : NULL;
}

/* What holds across objects, once the root is closed. */
static int finish_objects(struct xml_check *c)
{
	const struct xml_frame *root = &c->frames[0];
	qsort(c->refs, c->nrefs, sizeof(*c->refs), ref_cmp);
	for (size_t i = 1; i < c->nrefs; i++) {
		if (c->refs[i].gp_index == c->refs[i - 1].gp_index)
			return aml_xml_fail(
			        &c->scan, c->refs[i].line,
			        "gp_index %llu given twice",
			        (unsigned long long)c->refs[i].gp_index);
	}
	if (aml_xml_first(&c->pus) < 0)
		return aml_xml_fail(&c->scan, 0, "no PU object");
	if (aml_xml_first(&c->numas) < 0)
		return aml_xml_fail(&c->scan, 0, "no NUMANode object");
	if (!aml_bitmap_equal(&root->nodeset, &c->numas))
		return aml_xml_fail(&c->scan, root->line,
		                    "the root's nodeset is not the set of its "
		                    "NUMA nodes");
	if (c->has_allowed_cpuset &&
	    !aml_xml_intersect(&c->allowed_cpuset, &root->cpuset))
		return aml_xml_fail(&c->scan, root->line,
		                    "allowed_cpuset allows none of the PUs");
	if (c->has_allowed_nodeset &&
	    !aml_xml_intersect(&c->allowed_nodeset, &root->nodeset))
		return aml_xml_fail(&c->scan, root->line,
		                    "allowed_nodeset allows none of the NUMA "
		                    "nodes");
	return 0;
}

/* version="2.x": hwloc reads the major number only. */
static int read_version(struct xml_check *c, unsigned *minor)
{
	const struct aml_xml_attr *version = aml_xml_attr(&c->scan, "version");
	*minor = 0;
	if (version == NULL || strncmp(version->value, "1.", 2) == 0)
		return aml_xml_fail(&c->scan, c->scan.name_line,
		                    "hwloc 1.x XML: aml reads hwloc 2 XML "
		                    "(convert it: lstopo -i old.xml new.xml)");
	const char *v = version->value;
	size_t digits = 0;
	*minor = 0;
	if (strncmp(v, "2.", 2) == 0) {
		for (v += 2; *v >= '0' && *v <= '9' && digits < 4; v++)
			*minor = 10 * *minor + (unsigned)(*v - '0'), digits++;
	}
	if (digits == 0 || *v != '\0' || c->scan.nattrs != 1)
		return aml_xml_fail(&c->scan, c->scan.name_line,
		                    "<topology version=\"%.16s\">: aml reads "
		                    "hwloc 2 XML, version=\"2.x\" alone",
		                    version->value);
	return 0;
}

/* What follows the root object in <topology>. */
static int read_tail(struct xml_check *c)
{
	for (;;) {
		int ev = aml_xml_next(&c->scan);
		if (ev < 0)
			return ev;
		if (ev == AML_XML_END)
			return 0;
		const char *name = c->scan.name;
		int err;
		if (ev == AML_XML_TEXT)
			err = aml_xml_fail(&c->scan, c->scan.name_line,
			                   "text inside <topology>");
		else if (strcmp(name, "memattr") == 0)
			err = aml_xml_memattr(c);
		else if (strcmp(name, "distances2") == 0)
			err = aml_xml_distances(c, false);
		else if (strcmp(name, "distances2hetero") == 0)
			err = aml_xml_distances(c, true);
		else if (strcmp(name, "cpukind") == 0)
			err = aml_xml_cpukind(c);
		else if (strcmp(name, "support") == 0)
			err = aml_xml_support(c);
		else if (strcmp(name, "object") == 0)
			err = aml_xml_fail(&c->scan, c->scan.name_line,
			                   "a second root object");
		else
			err = aml_xml_fail(&c->scan, c->scan.name_line,
			                   "unknown element <%s> in <topology>",
			                   name);
		if (err != 0)
			return err;
	}
}

static int read_document(struct xml_check *c)
{
	unsigned minor;
	int ev = aml_xml_next(&c->scan);
	if (ev < 0)
		return ev;
	if (strcmp(c->scan.name, "topology") != 0)
		return aml_xml_fail(&c->scan, c->scan.name_line,
		                    "the root element is <%s>, not <topology>",
		                    c->scan.name);
	int err = read_version(c, &minor);
	if (err != 0)
		return err;
	aml_xml_putf(c, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                "<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n");
	aml_xml_putf(c, "<topology version=\"2.%u\">\n", minor);
	ev = aml_xml_next(&c->scan);
	if (ev < 0)
		return ev;
	if (ev != AML_XML_START || strcmp(c->scan.name, "object") != 0)
		return aml_xml_fail(&c->scan, c->scan.name_line,
		                    "<topology> must start with the root "
		                    "<object>");
	err = aml_xml_object(c);
	if (err == 0)
		err = finish_objects(c);
	if (err == 0)
		err = read_tail(c);
	if (err != 0)
		return err;
	ev = aml_xml_next(&c->scan);
	if (ev < 0)
		return ev;
	aml_xml_put(c, "</topology>\n");
	return 0;
}

int aml_topology_xml_check(const char *text,
                           size_t size,
                           char **out,
                           size_t *out_size,
                           struct aml_topology_xml_error *error)
{
	*out = NULL;
	*out_size = 0;
	memset(error, 0, sizeof(*error));
	/* 60 KiB on x86-64 (43 KiB of frames, 12 KiB of per-node counts, 5
	 * KiB of scanner): never on the stack. */
	_Static_assert(sizeof(struct xml_check) <= 64 * 1024,
	               "the size the comment gives");
	struct xml_check *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return AML_ENOMEM;
	int err = aml_xml_scan_init(&c->scan, text, size, error);
	if (err == 0)
		err = read_document(c);
	if (err == 0 && c->out.nomem)
		err = AML_ENOMEM;
	if (err == 0) {
		*out = c->out.buf;
		*out_size = c->out.len;
	} else {
		free(c->out.buf);
		if (err == AML_EINVAL && error->reason[0] == '\0')
			aml_xml_fail(&c->scan, 0, "refused");
	}
	aml_xml_scan_fini(&c->scan);
	free(c->refs);
	free(c);
	return err;
}
