/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to aml/src/topology_xml: the state of one check of hwloc XML, and
 * the helpers its files share (values.c, objects.c, extras.c, check.c).
 *
 * The check is one forward pass over the scanner's events. What it keeps is
 * bounded by aml's limits, not by the text: one frame per open object (at
 * most AML_XML_DEPTH_MAX), one entry per object for gp_index references
 * (at most AML_XML_OBJECTS_MAX), and tables indexed by NUMA OS index (at
 * most AML_BITMAP_MAX). What hwloc gets is written as it goes (out).
 */
#ifndef AML_SRC_TOPOLOGY_XML_INTERNAL_H
#define AML_SRC_TOPOLOGY_XML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/bitmap.h>

#include "aml/src/topology_xml/scan.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most objects in one file (a 1024-CPU machine with every cache level
 * has about 12000). Bounds what hwloc allocates and sorts. */
#define AML_XML_OBJECTS_MAX 65536
/** Most normal, and most memory, children of one object: hwloc walks its
 * list of siblings to append each child. 1024 CPUs make at most 1024
 * children with CPUs; CPU-less ones hold memory, at most a node each. */
#define AML_XML_CHILDREN_MAX        2048
#define AML_XML_MEMORY_CHILDREN_MAX 1024
/** Most values of one memory attribute for one NUMA node: hwloc looks
 * each new one up among the previous ones. */
#define AML_XML_INITIATORS_MAX 256
/** Largest bandwidth in MiB/s whose bytes per second fit in 64 bits. */
#define AML_XML_BANDWIDTH_MAX ((UINT64_C(1) << 44) - 1)

/** Object types of hwloc 2, as hwloc names them. */
enum xml_type {
	XML_MACHINE,
	XML_PACKAGE,
	XML_DIE,
	XML_CORE,
	XML_PU,
	XML_L1,
	XML_L2,
	XML_L3,
	XML_L4,
	XML_L5,
	XML_L1I,
	XML_L2I,
	XML_L3I,
	XML_GROUP,
	XML_NUMANODE,
	XML_MEMCACHE,
	XML_BRIDGE,
	XML_PCIDEV,
	XML_OSDEV,
	XML_MISC,
	XML_TYPE_COUNT
};

/** Where an object type sits in hwloc's tree. */
enum xml_class {
	/** Has CPUs: Machine to PU, caches, groups. */
	XML_NORMAL,
	/** NUMANode and MemCache, attached beside normal children. */
	XML_MEMORY,
	/** Bridges, PCI and OS devices: hwloc drops them by default. */
	XML_IO,
	/** Misc: hwloc drops them by default. */
	XML_OTHER,
};

/** The type named @p name, or -1. */
int aml_xml_type(const char *name);
/** The class of @p type. */
enum xml_class aml_xml_class(enum xml_type type);

/** An object whose element is open. */
struct xml_frame {
	enum xml_type type;
	/** Not written: I/O and Misc objects, and everything under them. */
	bool dropped;
	/** An <object> child was seen: only objects may follow. */
	bool has_objects;
	struct aml_bitmap cpuset, complete_cpuset, nodeset, complete_nodeset;
	/** The normal children's cpusets so far, and the first CPU of the
	 * last one's complete_cpuset (-1 before the first). */
	struct aml_bitmap children;
	int last_first;
	/** A normal child with an empty complete_cpuset was seen. */
	bool empty_child;
	/** Normal and memory children written so far. */
	size_t nchildren, nmemory;
	size_t line;
};

/** A written object, for gp_index references and uniqueness. */
struct xml_ref {
	uint64_t gp_index;
	size_t line;
	enum xml_type type;
	/** NUMA OS index of a NUMANode, else -1. */
	int numa;
};

/** Text being built for hwloc. */
struct xml_out {
	char *buf;
	size_t len;
	size_t cap;
	bool nomem;
};

/** One check. */
struct xml_check {
	struct aml_xml_scan scan;
	struct xml_out out;
	struct xml_frame frames[AML_XML_DEPTH_MAX];
	size_t nframes;
	/** Objects of the file, written or not. */
	size_t nobjects;
	/** Written objects; sorted by gp_index once the root is closed. */
	struct xml_ref *refs;
	size_t nrefs;
	size_t refs_cap;
	/** OS indices of the PUs and NUMA nodes seen. */
	struct aml_bitmap pus, numas;
	/** The root's allowed sets, when given. */
	struct aml_bitmap allowed_cpuset, allowed_nodeset;
	bool has_allowed_cpuset, has_allowed_nodeset;
	/** A NUMA latency matrix was written (extras.c): the first only. */
	bool wrote_distances;
	/** Values kept per memory attribute (aml's six) and NUMA node. */
	uint16_t nvalues[6][AML_BITMAP_MAX];
};

/* values.c: attribute values, and the output. */

/**
 * A decimal number without sign, spaces or leading '+', at most @p max.
 * @return 0; AML_EINVAL (error filled, naming @p attr).
 */
int aml_xml_u64(struct xml_check *c,
                const struct aml_xml_attr *attr,
                uint64_t max,
                uint64_t *out);

/** As aml_xml_u64(), for an optional attribute: @p dflt if absent. */
int aml_xml_u64_opt(struct xml_check *c,
                    const char *name,
                    uint64_t max,
                    uint64_t dflt,
                    uint64_t *out);

/** A decimal int from @p min to INT_MAX, with an optional '-'. */
int aml_xml_int(struct xml_check *c,
                const struct aml_xml_attr *attr,
                int min,
                int *out);

/**
 * A set in hwloc's syntax ("0x00000003,,0x00000001": 32-bit words in hex,
 * most significant first, empty words for zero), with every index below
 * AML_BITMAP_MAX.
 * @return 0; AML_EINVAL (error filled).
 */
int aml_xml_set(struct xml_check *c,
                const struct aml_xml_attr *attr,
                struct aml_bitmap *out);

/** Is a included in b? */
bool aml_xml_subset(const struct aml_bitmap *a, const struct aml_bitmap *b);
/** Do a and b share an index? */
bool aml_xml_intersect(const struct aml_bitmap *a, const struct aml_bitmap *b);
/** The smallest index of b, or -1. */
int aml_xml_first(const struct aml_bitmap *b);

/** Append text, a formatted string, or name="value" with value escaped. */
void aml_xml_put(struct xml_check *c, const char *text);
void aml_xml_putf(struct xml_check *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void aml_xml_put_attr(struct xml_check *c, const char *name, const char *value);
/** name="set" in hwloc's syntax. */
void aml_xml_put_set(struct xml_check *c,
                     const char *name,
                     const struct aml_bitmap *set);

/* objects.c */

/** Check the object whose start tag is current, and everything in it. */
int aml_xml_object(struct xml_check *c);

/* extras.c: what follows the root object. */

/** Check a <memattr> (current start tag); write aml's six. */
int aml_xml_memattr(struct xml_check *c);
/** Check a <distances2> or <distances2hetero>; write the first NUMA
 * latency matrix (NUMALatency) for hwloc, when its nodes are the file's. */
int aml_xml_distances(struct xml_check *c, bool hetero);
/** Check a <cpukind> or <support>; never written. */
int aml_xml_cpukind(struct xml_check *c);
int aml_xml_support(struct xml_check *c);
/** Check an <info>, <page_type> or <userdata> of an object; never
 * written. */
int aml_xml_object_extra(struct xml_check *c, enum xml_type type, bool root);

/** Skip to the end of the current element, refusing any child. */
int aml_xml_expect_end(struct xml_check *c);

/* check.c */

/** The written object whose gp_index is @p gp_index, or NULL. */
const struct xml_ref *aml_xml_ref(const struct xml_check *c, uint64_t gp_index);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_TOPOLOGY_XML_INTERNAL_H */
