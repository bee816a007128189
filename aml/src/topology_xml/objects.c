/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hwloc XML objects: the rules hwloc relies on, checked before it sees them.
 *
 * hwloc 2.9's importer checks little of a version-2 file: a NUMANode with a
 * nodeset but no complete_nodeset, or a PU whose complete_cpuset was lost
 * to a missing quote, is inserted as is, and its core dereferences the
 * missing set (SIGSEGV); an os_index of 4294967295 on a NUMANode makes it
 * size a node set of 2^32 bits (512 MiB, seconds). So every normal and
 * memory object must carry its four sets, and they must hold together the
 * way hwloc_topology_check() (hwloc's own debug check) expects of a loaded
 * topology:
 *  - cpuset within complete_cpuset, nodeset within complete_nodeset, each
 *    set within the parent's;
 *  - normal children have disjoint cpusets whose union is their parent's
 *    (so a leaf other than a PU has none), in increasing order of their
 *    first CPU, CPU-less ones last (hwloc reorders otherwise, with an error
 *    on stderr and quadratic work);
 *  - a PU's sets are its own os_index, a NUMANode's node sets its own
 *    os_index, both below AML_BITMAP_MAX and unique; a memory object has its
 *    parent's cpusets;
 *  - caches have the depth and cache_type of their type.
 * I/O and Misc objects, which hwloc drops by default, are checked for their
 * place in the tree only and not written.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/error.h>

#include "aml/src/topology_xml/internal.h"

static const struct {
	const char *name;
	enum xml_class cls;
	/** 1 to 5 for caches. */
	unsigned cache_depth;
	bool icache;
} xml_types[XML_TYPE_COUNT] = {
        [XML_MACHINE] = {"Machine", XML_NORMAL, 0, false},
        [XML_PACKAGE] = {"Package", XML_NORMAL, 0, false},
        [XML_DIE] = {"Die", XML_NORMAL, 0, false},
        [XML_CORE] = {"Core", XML_NORMAL, 0, false},
        [XML_PU] = {"PU", XML_NORMAL, 0, false},
        [XML_L1] = {"L1Cache", XML_NORMAL, 1, false},
        [XML_L2] = {"L2Cache", XML_NORMAL, 2, false},
        [XML_L3] = {"L3Cache", XML_NORMAL, 3, false},
        [XML_L4] = {"L4Cache", XML_NORMAL, 4, false},
        [XML_L5] = {"L5Cache", XML_NORMAL, 5, false},
        [XML_L1I] = {"L1iCache", XML_NORMAL, 1, true},
        [XML_L2I] = {"L2iCache", XML_NORMAL, 2, true},
        [XML_L3I] = {"L3iCache", XML_NORMAL, 3, true},
        [XML_GROUP] = {"Group", XML_NORMAL, 0, false},
        [XML_NUMANODE] = {"NUMANode", XML_MEMORY, 0, false},
        [XML_MEMCACHE] = {"MemCache", XML_MEMORY, 0, false},
        [XML_BRIDGE] = {"Bridge", XML_IO, 0, false},
        [XML_PCIDEV] = {"PCIDev", XML_IO, 0, false},
        [XML_OSDEV] = {"OSDev", XML_IO, 0, false},
        [XML_MISC] = {"Misc", XML_OTHER, 0, false},
};

int aml_xml_type(const char *name)
{
	for (int t = 0; t < XML_TYPE_COUNT; t++) {
		if (strcmp(xml_types[t].name, name) == 0)
			return t;
	}
	return -1;
}

enum xml_class aml_xml_class(enum xml_type type)
{
	return xml_types[type].cls;
}

static const char *type_name(enum xml_type type)
{
	return xml_types[type].name;
}

/* May an object of type child be a child of parent? */
static bool place_ok(const struct xml_frame *parent, enum xml_type child)
{
	enum xml_class cls = aml_xml_class(child);
	switch (aml_xml_class(parent->type)) {
	case XML_NORMAL:
		return parent->type != XML_PU || cls != XML_NORMAL;
	case XML_MEMORY:
		return cls == XML_OTHER ||
		       (cls == XML_MEMORY && parent->type == XML_MEMCACHE);
	case XML_IO:
		return cls == XML_IO || cls == XML_OTHER;
	default:
		return cls == XML_OTHER;
	}
}

static const char *const set_names[4] = {"cpuset", "complete_cpuset", "nodeset",
                                         "complete_nodeset"};

static struct aml_bitmap *frame_set(struct xml_frame *f, int i)
{
	struct aml_bitmap *sets[4] = {&f->cpuset, &f->complete_cpuset,
	                              &f->nodeset, &f->complete_nodeset};
	return sets[i];
}

static int read_sets(struct xml_check *c, struct xml_frame *f)
{
	const char *type = type_name(f->type);
	for (int i = 0; i < 4; i++) {
		const struct aml_xml_attr *attr =
		        aml_xml_attr(&c->scan, set_names[i]);
		if (attr == NULL)
			return aml_xml_fail(&c->scan, f->line, "%s has no %s",
			                    type, set_names[i]);
		int err = aml_xml_set(c, attr, frame_set(f, i));
		if (err != 0)
			return err;
	}
	if (!aml_xml_subset(&f->cpuset, &f->complete_cpuset) ||
	    !aml_xml_subset(&f->nodeset, &f->complete_nodeset))
		return aml_xml_fail(
		        &c->scan, f->line,
		        "%s has a cpuset or nodeset larger than its "
		        "complete one",
		        type);
	return 0;
}

static int check_against_parent(struct xml_check *c,
                                struct xml_frame *parent,
                                struct xml_frame *f)
{
	const char *type = type_name(f->type);
	bool memory = aml_xml_class(f->type) == XML_MEMORY;
	if (memory ? ++parent->nmemory > AML_XML_MEMORY_CHILDREN_MAX
	           : ++parent->nchildren > AML_XML_CHILDREN_MAX)
		return aml_xml_fail(&c->scan, f->line,
		                    "more than %d %s children of one object",
		                    memory ? AML_XML_MEMORY_CHILDREN_MAX
		                           : AML_XML_CHILDREN_MAX,
		                    memory ? "memory" : "normal");
	for (int i = 0; i < 4; i++) {
		if (!aml_xml_subset(frame_set(f, i), frame_set(parent, i)))
			return aml_xml_fail(&c->scan, f->line,
			                    "the %s of %s is not within its "
			                    "parent's",
			                    set_names[i], type);
	}
	if (memory) {
		if (!aml_bitmap_equal(&f->cpuset, &parent->cpuset) ||
		    !aml_bitmap_equal(&f->complete_cpuset,
		                      &parent->complete_cpuset))
			return aml_xml_fail(&c->scan, f->line,
			                    "%s must have its parent's cpuset "
			                    "and complete_cpuset",
			                    type);
		return 0;
	}
	if (aml_xml_intersect(&f->cpuset, &parent->children))
		return aml_xml_fail(&c->scan, f->line,
		                    "the cpuset of %s overlaps a sibling's",
		                    type);
	aml_bitmap_or(&parent->children, &parent->children, &f->cpuset);
	int first = aml_xml_first(&f->complete_cpuset);
	if (first < 0) {
		parent->empty_child = true;
	} else {
		if (parent->empty_child || first <= parent->last_first)
			return aml_xml_fail(
			        &c->scan, f->line,
			        "%s out of order: children go by "
			        "their first CPU, CPU-less ones last",
			        type);
		parent->last_first = first;
	}
	return 0;
}

/* The os_index of a PU or NUMANode: its sets say the same. */
static int read_own_index(struct xml_check *c,
                          struct xml_frame *f,
                          uint64_t os_index,
                          bool has_os_index)
{
	const char *type = type_name(f->type);
	if (!has_os_index)
		return aml_xml_fail(&c->scan, f->line, "%s has no os_index",
		                    type);
	if (os_index >= AML_BITMAP_MAX)
		return aml_xml_fail(&c->scan, f->line,
		                    "%s os_index %llu: aml handles indices "
		                    "below %d",
		                    type, (unsigned long long)os_index,
		                    AML_BITMAP_MAX);
	struct aml_bitmap self;
	aml_bitmap_zero(&self);
	aml_bitmap_set(&self, os_index);
	bool pu = f->type == XML_PU;
	struct aml_bitmap *seen = pu ? &c->pus : &c->numas;
	if (!aml_bitmap_equal(pu ? &f->cpuset : &f->nodeset, &self) ||
	    !aml_bitmap_equal(pu ? &f->complete_cpuset : &f->complete_nodeset,
	                      &self))
		return aml_xml_fail(&c->scan, f->line,
		                    "%s %llu: its %s must be itself alone",
		                    type, (unsigned long long)os_index,
		                    pu ? "cpusets" : "nodesets");
	if (aml_bitmap_is_set(seen, os_index))
		return aml_xml_fail(&c->scan, f->line,
		                    "two %ss with os_index %llu", type,
		                    (unsigned long long)os_index);
	aml_bitmap_set(seen, os_index);
	return 0;
}

/* Caches: the depth and cache_type hwloc checks against the type. */
static int write_cache(struct xml_check *c, struct xml_frame *f)
{
	unsigned level = xml_types[f->type].cache_depth;
	uint64_t size, depth, linesize, type;
	int assoc = 0;
	const struct aml_xml_attr *a =
	        aml_xml_attr(&c->scan, "cache_associativity");
	int err = aml_xml_u64_opt(c, "cache_size", UINT64_MAX, 0, &size);
	if (err == 0)
		err = aml_xml_u64_opt(c, "depth", UINT32_MAX, 0, &depth);
	if (err == 0)
		err = aml_xml_u64_opt(c, "cache_linesize", UINT32_MAX, 0,
		                      &linesize);
	if (err == 0)
		err = aml_xml_u64_opt(c, "cache_type", 2, 0, &type);
	if (err == 0 && a != NULL)
		err = aml_xml_int(c, a, -1, &assoc);
	if (err != 0)
		return err;
	bool icache = xml_types[f->type].icache;
	if (level != 0 && (depth != level || (icache ? type != 2 : type == 2)))
		return aml_xml_fail(
		        &c->scan, f->line,
		        "%s needs depth=\"%u\" and cache_type=\"%s\"",
		        type_name(f->type), level, icache ? "2" : "0 or 1");
	aml_xml_putf(c, " cache_size=\"%llu\" depth=\"%llu\"",
	             (unsigned long long)size, (unsigned long long)depth);
	aml_xml_putf(c,
	             " cache_linesize=\"%llu\" cache_associativity=\"%d\" "
	             "cache_type=\"%llu\"",
	             (unsigned long long)linesize, assoc,
	             (unsigned long long)type);
	return 0;
}

static int write_group(struct xml_check *c)
{
	uint64_t kind, subkind, dont_merge;
	int err = aml_xml_u64_opt(c, "kind", UINT32_MAX, 0, &kind);
	if (err == 0)
		err = aml_xml_u64_opt(c, "subkind", UINT32_MAX, 0, &subkind);
	if (err == 0)
		err = aml_xml_u64_opt(c, "dont_merge", 1, 0, &dont_merge);
	if (err != 0)
		return err;
	aml_xml_putf(c, " kind=\"%llu\" subkind=\"%llu\"",
	             (unsigned long long)kind, (unsigned long long)subkind);
	if (dont_merge)
		aml_xml_put(c, " dont_merge=\"1\"");
	return 0;
}

static int add_ref(struct xml_check *c, const struct xml_ref *ref)
{
	if (c->nrefs == c->refs_cap) {
		size_t cap = c->refs_cap > 0 ? 2 * c->refs_cap : 256;
		struct xml_ref *refs = realloc(c->refs, cap * sizeof(*refs));
		if (refs == NULL)
			return AML_ENOMEM;
		c->refs = refs;
		c->refs_cap = cap;
	}
	c->refs[c->nrefs++] = *ref;
	return 0;
}

/* Read, check and write the start tag of a normal or memory object. */
static int
write_object(struct xml_check *c, struct xml_frame *parent, struct xml_frame *f)
{
	uint64_t gp_index, os_index = 0;
	const struct aml_xml_attr *gp = aml_xml_attr(&c->scan, "gp_index");
	const struct aml_xml_attr *os = aml_xml_attr(&c->scan, "os_index");
	if (gp == NULL)
		return aml_xml_fail(&c->scan, f->line, "%s has no gp_index",
		                    type_name(f->type));
	int err = aml_xml_u64(c, gp, INT64_MAX, &gp_index);
	if (err == 0 && gp_index == 0)
		err = aml_xml_fail(&c->scan, gp->line, "gp_index 0");
	if (err == 0 && os != NULL)
		err = aml_xml_u64(c, os, UINT32_MAX, &os_index);
	if (err == 0)
		err = read_sets(c, f);
	if (err == 0 && parent != NULL)
		err = check_against_parent(c, parent, f);
	if (err == 0 && (f->type == XML_PU || f->type == XML_NUMANODE))
		err = read_own_index(c, f, os_index, os != NULL);
	if (err != 0)
		return err;
	if (parent == NULL) {
		const struct aml_xml_attr *ac =
		        aml_xml_attr(&c->scan, "allowed_cpuset");
		const struct aml_xml_attr *an =
		        aml_xml_attr(&c->scan, "allowed_nodeset");
		c->has_allowed_cpuset = ac != NULL;
		c->has_allowed_nodeset = an != NULL;
		if (ac != NULL)
			err = aml_xml_set(c, ac, &c->allowed_cpuset);
		if (err == 0 && an != NULL)
			err = aml_xml_set(c, an, &c->allowed_nodeset);
		if (err != 0)
			return err;
	}
	struct xml_ref ref = {
	        .gp_index = gp_index,
	        .line = f->line,
	        .type = f->type,
	        .numa = f->type == XML_NUMANODE ? (int)os_index : -1,
	};
	err = add_ref(c, &ref);
	if (err != 0)
		return err;

	aml_xml_putf(c, "<object type=\"%s\"", type_name(f->type));
	if (os != NULL)
		aml_xml_putf(c, " os_index=\"%llu\"",
		             (unsigned long long)os_index);
	aml_xml_put_set(c, "cpuset", &f->cpuset);
	aml_xml_put_set(c, "complete_cpuset", &f->complete_cpuset);
	if (c->has_allowed_cpuset && parent == NULL)
		aml_xml_put_set(c, "allowed_cpuset", &c->allowed_cpuset);
	aml_xml_put_set(c, "nodeset", &f->nodeset);
	aml_xml_put_set(c, "complete_nodeset", &f->complete_nodeset);
	if (c->has_allowed_nodeset && parent == NULL)
		aml_xml_put_set(c, "allowed_nodeset", &c->allowed_nodeset);
	aml_xml_putf(c, " gp_index=\"%llu\"", (unsigned long long)gp_index);
	const struct aml_xml_attr *subtype = aml_xml_attr(&c->scan, "subtype");
	if (subtype != NULL)
		aml_xml_put_attr(c, "subtype", subtype->value);
	if (f->type == XML_NUMANODE) {
		uint64_t memory;
		err = aml_xml_u64_opt(c, "local_memory", UINT64_MAX, 0,
		                      &memory);
		if (err != 0)
			return err;
		aml_xml_putf(c, " local_memory=\"%llu\"",
		             (unsigned long long)memory);
	} else if (f->type == XML_MEMCACHE ||
	           xml_types[f->type].cache_depth != 0) {
		err = write_cache(c, f);
	} else if (f->type == XML_GROUP) {
		err = write_group(c);
	}
	aml_xml_put(c, ">\n");
	return err;
}

/* The children of an open object, up to its end tag. */
static int read_children(struct xml_check *c, struct xml_frame *f)
{
	for (;;) {
		int ev = aml_xml_next(&c->scan);
		if (ev < 0)
			return ev;
		const char *name = c->scan.name;
		int err = 0;
		if (ev == AML_XML_TEXT)
			return aml_xml_fail(&c->scan, c->scan.name_line,
			                    "text inside <object>");
		if (ev == AML_XML_END)
			break;
		if (strcmp(name, "object") == 0) {
			f->has_objects = true;
			err = aml_xml_object(c);
		} else if (strcmp(name, "info") == 0 ||
		           strcmp(name, "page_type") == 0 ||
		           strcmp(name, "userdata") == 0) {
			if (f->has_objects)
				return aml_xml_fail(
				        &c->scan, c->scan.name_line,
				        "<%s> after a child <object> (hwloc "
				        "reads it before them)",
				        name);
			err = aml_xml_object_extra(c, f->type, c->nframes == 1);
		} else {
			return aml_xml_fail(&c->scan, c->scan.name_line,
			                    "unknown element <%s> in <object>",
			                    name);
		}
		if (err != 0)
			return err;
	}
	if (f->dropped)
		return 0;
	if (aml_xml_class(f->type) == XML_NORMAL && f->type != XML_PU &&
	    !aml_bitmap_equal(&f->children, &f->cpuset))
		return aml_xml_fail(&c->scan, f->line,
		                    "the cpuset of %s is not the union of its "
		                    "children's (a PU is missing?)",
		                    type_name(f->type));
	aml_xml_put(c, "</object>\n");
	return 0;
}

int aml_xml_object(struct xml_check *c)
{
	size_t line = c->scan.name_line;
	if (++c->nobjects > AML_XML_OBJECTS_MAX)
		return aml_xml_fail(&c->scan, line, "more than %d objects",
		                    AML_XML_OBJECTS_MAX);
	const struct aml_xml_attr *type = aml_xml_attr(&c->scan, "type");
	if (type == NULL)
		return aml_xml_fail(&c->scan, line, "<object> has no type");
	int t = aml_xml_type(type->value);
	if (t < 0)
		return aml_xml_fail(&c->scan, type->line,
		                    "unknown object type \"%.32s\"",
		                    type->value);
	struct xml_frame *parent =
	        c->nframes > 0 ? &c->frames[c->nframes - 1] : NULL;
	if (parent == NULL && t != XML_MACHINE)
		return aml_xml_fail(&c->scan, line,
		                    "the root object is a %s, not a Machine",
		                    type_name(t));
	if (parent != NULL && !place_ok(parent, t))
		return aml_xml_fail(&c->scan, line,
		                    "a %s cannot be a child of a %s",
		                    type_name(t), type_name(parent->type));
	/* The scanner's depth bound is larger than the frames'. */
	if (c->nframes == AML_XML_DEPTH_MAX)
		return aml_xml_fail(&c->scan, line, "objects nested too deep");
	struct xml_frame *f = &c->frames[c->nframes];
	memset(f, 0, sizeof(*f));
	f->type = t;
	f->line = line;
	f->last_first = -1;
	f->dropped = (parent != NULL && parent->dropped) ||
	             aml_xml_class(t) == XML_IO ||
	             aml_xml_class(t) == XML_OTHER;
	if (!f->dropped) {
		int err = write_object(c, parent, f);
		if (err != 0)
			return err;
	}
	c->nframes++;
	int err = read_children(c, f);
	c->nframes--;
	return err;
}
