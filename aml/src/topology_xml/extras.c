/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hwloc XML besides objects: memory attributes, distances, CPU kinds,
 * support flags, and the info, page_type and userdata elements of objects.
 *
 * Of these aml reads only the six performance attributes (Bandwidth,
 * ReadBandwidth, WriteBandwidth in MiB/s, Latency, ReadLatency,
 * WriteLatency in ns) with CPU-set initiators on NUMA nodes, and the NUMA
 * nodes' latency matrix (NUMALatency, the SLIT), so only they are written
 * for hwloc. The rest is checked as hwloc would read it (hwloc
 * refuses the file for most of these faults, and its distance import
 * multiplies an unchecked nbobjs in 32 bits before allocating) and left
 * out.
 */
#include <stdlib.h>
#include <string.h>

#include <aml/error.h>

#include "aml/src/topology_xml/internal.h"

/* Does the current tag have only attributes from @p names (NULL-ended)? */
static int only_attrs(struct xml_check *c, const char *const *names)
{
	for (size_t i = 0; i < c->scan.nattrs; i++) {
		const struct aml_xml_attr *attr = &c->scan.attrs[i];
		size_t k = 0;
		while (names[k] != NULL && strcmp(names[k], attr->name) != 0)
			k++;
		if (names[k] == NULL)
			return aml_xml_fail(&c->scan, attr->line,
			                    "unknown attribute %s in <%s>",
			                    attr->name, c->scan.name);
	}
	return 0;
}

static int need_attr(struct xml_check *c,
                     const char *name,
                     const struct aml_xml_attr **out)
{
	*out = aml_xml_attr(&c->scan, name);
	if (*out == NULL)
		return aml_xml_fail(&c->scan, c->scan.name_line,
		                    "<%s> has no %s", c->scan.name, name);
	return 0;
}

int aml_xml_expect_end(struct xml_check *c)
{
	char name[AML_XML_NAME_MAX + 1];
	strcpy(name, c->scan.name);
	int ev = aml_xml_next(&c->scan);
	if (ev == AML_XML_START)
		return aml_xml_fail(&c->scan, c->scan.name_line,
		                    "<%s> inside <%s>", c->scan.name, name);
	if (ev == AML_XML_TEXT)
		return aml_xml_fail(&c->scan, c->scan.name_line,
		                    "text inside <%s>", name);
	return ev < 0 ? ev : 0;
}

/* ---- Memory attributes ---- */

static const struct {
	const char *name;
	uint64_t flags;
	bool bandwidth;
} perf_attrs[6] = {
        {"Bandwidth", 5, true},      {"ReadBandwidth", 5, true},
        {"WriteBandwidth", 5, true}, {"Latency", 6, false},
        {"ReadLatency", 6, false},   {"WriteLatency", 6, false},
};

/* HWLOC_MEMATTR_FLAG_NEED_INITIATOR */
#define NEED_INITIATOR 4

/* The initiator of the current <memattr_value>: *has_cpus says whether it
 * is a CPU set, then in *initiator (aml keeps those only: hwloc's Linux
 * backend writes no other kind); an initiator object is checked, then
 * dropped. */
static int memattr_initiator(struct xml_check *c,
                             uint64_t flags,
                             struct aml_bitmap *initiator,
                             bool *has_cpus)
{
	const struct aml_xml_attr *cpus =
	        aml_xml_attr(&c->scan, "initiator_cpuset");
	const struct aml_xml_attr *obj_gp =
	        aml_xml_attr(&c->scan, "initiator_obj_gp_index");
	const struct aml_xml_attr *obj_type =
	        aml_xml_attr(&c->scan, "initiator_obj_type");
	*has_cpus = cpus != NULL;
	if ((flags & NEED_INITIATOR) && cpus == NULL &&
	    (obj_gp == NULL || obj_type == NULL))
		return aml_xml_fail(&c->scan, c->scan.name_line,
		                    "<memattr_value> has no initiator");
	if (cpus != NULL) {
		int err = aml_xml_set(c, cpus, initiator);
		if (err == 0 && aml_xml_first(initiator) < 0)
			err = aml_xml_fail(&c->scan, cpus->line,
			                   "empty initiator_cpuset");
		return err;
	}
	if (obj_gp == NULL || obj_type == NULL)
		return 0;
	uint64_t initiator_gp;
	int err = aml_xml_u64(c, obj_gp, UINT64_MAX, &initiator_gp);
	if (err == 0 && aml_xml_type(obj_type->value) < 0)
		err = aml_xml_fail(&c->scan, obj_type->line,
		                   "unknown initiator_obj_type \"%.32s\"",
		                   obj_type->value);
	return err;
}

static int memattr_value(struct xml_check *c, int which, uint64_t flags)
{
	static const char *const names[] = {"target_obj_gp_index",
	                                    "target_obj_type",
	                                    "value",
	                                    "initiator_cpuset",
	                                    "initiator_obj_gp_index",
	                                    "initiator_obj_type",
	                                    NULL};
	const struct aml_xml_attr *type, *gp, *value;
	uint64_t target, v;
	int err = only_attrs(c, names);
	if (err == 0)
		err = need_attr(c, "target_obj_type", &type);
	if (err == 0)
		err = need_attr(c, "target_obj_gp_index", &gp);
	if (err == 0)
		err = need_attr(c, "value", &value);
	if (err == 0)
		err = aml_xml_u64(c, gp, UINT64_MAX, &target);
	if (err == 0)
		err = aml_xml_u64(c, value, UINT64_MAX, &v);
	if (err != 0)
		return err;
	if (aml_xml_type(type->value) < 0)
		return aml_xml_fail(&c->scan, type->line,
		                    "unknown target_obj_type \"%.32s\"",
		                    type->value);
	struct aml_bitmap initiator;
	bool has_cpus;
	err = memattr_initiator(c, flags, &initiator, &has_cpus);
	if (err != 0 || which < 0)
		return err;

	const struct xml_ref *ref = aml_xml_ref(c, target);
	if (strcmp(type->value, "NUMANode") != 0 || ref == NULL ||
	    ref->type != XML_NUMANODE)
		return aml_xml_fail(&c->scan, gp->line,
		                    "%s value of no NUMANode (gp_index %llu)",
		                    perf_attrs[which].name,
		                    (unsigned long long)target);
	if (perf_attrs[which].bandwidth && v > AML_XML_BANDWIDTH_MAX)
		return aml_xml_fail(&c->scan, value->line,
		                    "%s %llu MiB/s: aml's bytes per second "
		                    "stop at 2^44 MiB/s",
		                    perf_attrs[which].name,
		                    (unsigned long long)v);
	if (!has_cpus)
		return 0;
	if (++c->nvalues[which][ref->numa] > AML_XML_INITIATORS_MAX)
		return aml_xml_fail(&c->scan, c->scan.name_line,
		                    "more than %d %s values for NUMANode %d",
		                    AML_XML_INITIATORS_MAX,
		                    perf_attrs[which].name, ref->numa);
	aml_xml_putf(c,
	             "<memattr_value target_obj_type=\"NUMANode\" "
	             "target_obj_gp_index=\"%llu\" value=\"%llu\"",
	             (unsigned long long)target, (unsigned long long)v);
	aml_xml_put_set(c, "initiator_cpuset", &initiator);
	aml_xml_put(c, "/>\n");
	return 0;
}

int aml_xml_memattr(struct xml_check *c)
{
	static const char *const names[] = {"name", "flags", NULL};
	const struct aml_xml_attr *name, *flags_attr;
	uint64_t flags;
	int err = only_attrs(c, names);
	if (err == 0)
		err = need_attr(c, "name", &name);
	if (err == 0)
		err = need_attr(c, "flags", &flags_attr);
	if (err == 0)
		err = aml_xml_u64(c, flags_attr, UINT64_MAX, &flags);
	if (err != 0)
		return err;
	int which = -1;
	for (int i = 0; i < 6; i++) {
		if (strcmp(perf_attrs[i].name, name->value) == 0)
			which = i;
	}
	if (which >= 0 && flags != perf_attrs[which].flags)
		return aml_xml_fail(
		        &c->scan, flags_attr->line,
		        "memattr %s has flags %llu, not hwloc's "
		        "%llu",
		        name->value, (unsigned long long)flags,
		        (unsigned long long)perf_attrs[which].flags);
	if (which >= 0)
		aml_xml_putf(c, "<memattr name=\"%s\" flags=\"%llu\">\n",
		             perf_attrs[which].name, (unsigned long long)flags);
	for (;;) {
		int ev = aml_xml_next(&c->scan);
		if (ev < 0)
			return ev;
		if (ev == AML_XML_END)
			break;
		if (ev == AML_XML_TEXT ||
		    strcmp(c->scan.name, "memattr_value") != 0)
			return aml_xml_fail(&c->scan, c->scan.name_line,
			                    "only <memattr_value> goes in "
			                    "<memattr>");
		err = memattr_value(c, which, flags);
		if (err == 0)
			err = aml_xml_expect_end(c);
		if (err != 0)
			return err;
	}
	if (which >= 0)
		aml_xml_put(c, "</memattr>\n");
	return 0;
}

/* ---- Distances ---- */

/*
 * The one matrix aml gives hwloc: the first <distances2> of NUMA nodes by
 * OS index whose kind says from the OS and latency, hwloc's "NUMALatency"
 * (the SLIT, what numactl -H prints; aml_topology_distance()), with 2 to
 * AML_BITMAP_MAX distinct nodes of the file and values that fit in 64
 * bits. hwloc ignores NUMA matrices indexed by gp_index and those of one
 * node, so aml leaves them out too; any other fault leaves the matrix out
 * rather than refusing a file hwloc would take. Numbers are kept as they
 * are read, then written once the whole element is checked.
 */
struct distances_copy {
	/** Still a candidate. */
	bool wanted;
	uint64_t n;
	uint64_t *indexes;
	size_t nindexes;
	/** Grown as values arrive, so that memory follows the text. */
	uint64_t *values;
	size_t nvalues;
	size_t values_allocated;
};

/* kind: HWLOC_DISTANCES_KIND_FROM_OS (1) and _MEANS_LATENCY (4), not
 * _MEANS_BANDWIDTH (8) nor _HETEROGENEOUS_TYPES (16). */
#define DISTANCES_KIND_NUMA_LATENCY 5u
#define DISTANCES_KIND_EXCLUDED     24u

/* Append the numbers of the current content (checked by count_numbers())
 * to @p into, which has room for @p max; past it, or on a number past 64
 * bits, the copy is no longer wanted. */
static void copy_numbers(struct xml_check *c,
                         struct distances_copy *copy,
                         uint64_t *into,
                         size_t *n,
                         size_t max)
{
	for (const char *p = c->scan.chars; copy->wanted && *p != '\0';) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		uint64_t v = 0;
		for (; *p >= '0' && *p <= '9'; p++) {
			uint64_t digit = (uint64_t)(*p - '0');
			if (v > (UINT64_MAX - digit) / 10)
				copy->wanted = false;
			v = v * 10 + digit;
		}
		if (*n == max)
			copy->wanted = false;
		else
			into[(*n)++] = v;
	}
}

/* Room for @p count more values (at most n x n in all: past that the copy
 * is not wanted, and the check refuses the file). @return 0; AML_ENOMEM. */
static int copy_grow_values(struct distances_copy *copy, uint64_t count)
{
	uint64_t most = copy->n * copy->n;
	if (!copy->wanted || copy->nvalues + count <= copy->values_allocated)
		return 0;
	if (copy->nvalues + count > most) {
		copy->wanted = false;
		return 0;
	}
	uint64_t want = 2 * (uint64_t)copy->values_allocated;
	if (want < copy->nvalues + count)
		want = copy->nvalues + count;
	if (want > most)
		want = most;
	uint64_t *values =
	        realloc(copy->values, (size_t)want * sizeof(*values));
	if (values == NULL)
		return AML_ENOMEM;
	copy->values = values;
	copy->values_allocated = (size_t)want;
	return 0;
}

/* Are the indexes distinct NUMA nodes of the file? */
static bool copy_indexes_are_nodes(const struct xml_check *c,
                                   const struct distances_copy *copy)
{
	struct aml_bitmap seen;
	aml_bitmap_zero(&seen);
	for (size_t i = 0; i < copy->nindexes; i++) {
		uint64_t node = copy->indexes[i];
		if (node >= AML_BITMAP_MAX ||
		    aml_bitmap_is_set(&c->numas, (size_t)node) != 1 ||
		    aml_bitmap_is_set(&seen, (size_t)node) == 1)
			return false;
		aml_bitmap_set(&seen, (size_t)node);
	}
	return true;
}

/* Decimal digits of v. */
static size_t digits_of(uint64_t v)
{
	size_t d = 1;
	for (; v >= 10; v /= 10)
		d++;
	return d;
}

/* "v v ... " of @p n numbers, after its length attribute, as hwloc
 * writes a row. */
static void
put_numbers(struct xml_check *c, const char *tag, const uint64_t *v, size_t n)
{
	size_t length = 0;
	for (size_t i = 0; i < n; i++)
		length += digits_of(v[i]) + 1;
	aml_xml_putf(c, "  <%s length=\"%zu\">", tag, length);
	for (size_t i = 0; i < n; i++)
		aml_xml_putf(c, "%llu ", (unsigned long long)v[i]);
	aml_xml_putf(c, "</%s>\n", tag);
}

static void copy_write(struct xml_check *c,
                       const struct distances_copy *copy,
                       const char *name)
{
	size_t n = (size_t)copy->n;
	aml_xml_putf(c,
	             "<distances2 type=\"NUMANode\" nbobjs=\"%zu\" "
	             "kind=\"%u\"",
	             n, DISTANCES_KIND_NUMA_LATENCY);
	if (name != NULL)
		aml_xml_put_attr(c, "name", name);
	aml_xml_put(c, " indexing=\"os\">\n");
	put_numbers(c, "indexes", copy->indexes, n);
	for (size_t row = 0; row < n; row++)
		put_numbers(c, "u64values", copy->values + row * n, n);
	aml_xml_put(c, "</distances2>\n");
}

/* Count the space-separated numbers of a distances child, hetero ones as
 * Type:index. */
static int count_numbers(struct xml_check *c, bool typed, uint64_t *count)
{
	const char *p = c->scan.chars;
	*count = 0;
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return 0;
		if (typed) {
			const char *colon = strchr(p, ':');
			char type[AML_XML_NAME_MAX + 1];
			size_t len = colon != NULL ? (size_t)(colon - p) : 0;
			if (colon == NULL || len > AML_XML_NAME_MAX)
				goto malformed;
			memcpy(type, p, len);
			type[len] = '\0';
			if (aml_xml_type(type) < 0)
				goto malformed;
			p = colon + 1;
		}
		size_t digits = 0;
		while (p[digits] >= '0' && p[digits] <= '9')
			digits++;
		if (digits == 0 || digits > 20 ||
		    (p[digits] != ' ' && p[digits] != '\0'))
			goto malformed;
		p += digits;
		(*count)++;
	}
malformed:
	return aml_xml_fail(&c->scan, c->scan.name_line,
	                    "malformed number list in a distances matrix");
}

/* The <indexes> or <u64values> whose start tag is current, to its end: its
 * numbers counted into *nindexes or *nvalues, and kept in @p copy while it
 * is wanted. */
static int distances_child(struct xml_check *c,
                           bool hetero,
                           uint64_t *nindexes,
                           uint64_t *nvalues,
                           struct distances_copy *copy)
{
	static const char *const names[] = {"length", NULL};
	bool is_index = strcmp(c->scan.name, "indexes") == 0;
	const struct aml_xml_attr *length;
	uint64_t len, count = 0;
	int err = only_attrs(c, names);
	if (err == 0)
		err = need_attr(c, "length", &length);
	if (err == 0)
		err = aml_xml_u64(c, length, UINT64_MAX, &len);
	if (err != 0)
		return err;
	int ev = aml_xml_next(&c->scan);
	if (ev == AML_XML_TEXT) {
		err = count_numbers(c, hetero && is_index, &count);
		if (err == 0 && c->scan.nchars != len)
			err = aml_xml_fail(&c->scan, c->scan.name_line,
			                   "content of %llu bytes, but "
			                   "length=\"%llu\"",
			                   (unsigned long long)c->scan.nchars,
			                   (unsigned long long)len);
		if (err == 0 && is_index)
			copy_numbers(c, copy, copy->indexes, &copy->nindexes,
			             (size_t)copy->n);
		else if (err == 0)
			err = copy_grow_values(copy, count);
		if (err == 0 && !is_index)
			copy_numbers(c, copy, copy->values, &copy->nvalues,
			             copy->values_allocated);
		if (err == 0)
			err = aml_xml_expect_end(c);
	} else if (ev == AML_XML_START) {
		err = aml_xml_fail(&c->scan, c->scan.name_line,
		                   "<%s> in a distances matrix", c->scan.name);
	}
	if (err != 0 || ev < 0)
		return err != 0 ? err : ev;
	if (is_index)
		*nindexes += count;
	else
		*nvalues += count;
	return 0;
}

/* Start a copy of the matrix whose attributes are read, if it is the one
 * aml writes. @return 0, or AML_ENOMEM; the caller frees the arrays
 * either way. */
static int copy_start(struct xml_check *c,
                      struct distances_copy *copy,
                      bool hetero,
                      uint64_t n,
                      uint64_t kind,
                      const char *type,
                      const char *indexing)
{
	*copy = (struct distances_copy){.n = n};
	copy->wanted = !hetero && !c->wrote_distances && n >= 2 &&
	               n <= AML_BITMAP_MAX && strcmp(type, "NUMANode") == 0 &&
	               strcmp(indexing, "os") == 0 &&
	               (kind & DISTANCES_KIND_NUMA_LATENCY) ==
	                       DISTANCES_KIND_NUMA_LATENCY &&
	               (kind & DISTANCES_KIND_EXCLUDED) == 0;
	if (!copy->wanted)
		return 0;
	copy->indexes = malloc((size_t)n * sizeof(*copy->indexes));
	return copy->indexes == NULL ? AML_ENOMEM : 0;
}

static int distances_matrix(struct xml_check *c,
                            bool hetero,
                            uint64_t n,
                            struct distances_copy *copy)
{
	uint64_t nindexes = 0, nvalues = 0;
	size_t line = c->scan.name_line;
	for (;;) {
		int ev = aml_xml_next(&c->scan);
		if (ev < 0)
			return ev;
		if (ev == AML_XML_END)
			break;
		if (ev != AML_XML_START ||
		    (strcmp(c->scan.name, "indexes") != 0 &&
		     strcmp(c->scan.name, "u64values") != 0))
			return aml_xml_fail(&c->scan, c->scan.name_line,
			                    "only <indexes> and <u64values> go "
			                    "in a distances matrix");
		int err = distances_child(c, hetero, &nindexes, &nvalues, copy);
		if (err != 0)
			return err;
	}
	if (nindexes != n || nvalues != n * n)
		return aml_xml_fail(&c->scan, line,
		                    "a distances matrix of %llu objects needs "
		                    "%llu indexes and %llu values",
		                    (unsigned long long)n,
		                    (unsigned long long)n,
		                    (unsigned long long)(n * n));
	return 0;
}

int aml_xml_distances(struct xml_check *c, bool hetero)
{
	const struct aml_xml_attr *nbobjs, *indexing, *kind, *type = NULL;
	uint64_t n, k;
	int err = need_attr(c, "nbobjs", &nbobjs);
	if (err == 0)
		err = need_attr(c, "indexing", &indexing);
	if (err == 0)
		err = need_attr(c, "kind", &kind);
	if (err == 0 && !hetero)
		err = need_attr(c, "type", &type);
	if (err == 0)
		err = aml_xml_u64(c, nbobjs, AML_XML_OBJECTS_MAX, &n);
	if (err == 0)
		err = aml_xml_u64(c, kind, UINT64_MAX, &k);
	if (err != 0)
		return err;
	if (n == 0 || k == 0 ||
	    (type != NULL && aml_xml_type(type->value) < 0) ||
	    (strcmp(indexing->value, "os") != 0 &&
	     strcmp(indexing->value, "gp") != 0))
		return aml_xml_fail(&c->scan, c->scan.name_line,
		                    "malformed <%s> (nbobjs, kind, type or "
		                    "indexing)",
		                    c->scan.name);
	/* The name, before the scanner moves on and overwrites it. */
	const struct aml_xml_attr *name_attr = aml_xml_attr(&c->scan, "name");
	char name[AML_XML_NAME_MAX + 1] = "";
	bool has_name =
	        name_attr != NULL && strlen(name_attr->value) < sizeof(name);
	if (has_name)
		strcpy(name, name_attr->value);
	struct distances_copy copy;
	err = copy_start(c, &copy, hetero, n, k,
	                 type != NULL ? type->value : "", indexing->value);
	if (err == 0)
		err = distances_matrix(c, hetero, n, &copy);
	if (err == 0 && copy.wanted && copy.nindexes == n &&
	    copy.nvalues == n * n && copy_indexes_are_nodes(c, &copy)) {
		copy_write(c, &copy, has_name ? name : NULL);
		c->wrote_distances = true;
	}
	free(copy.indexes);
	free(copy.values);
	return err;
}

/* ---- CPU kinds, support, and objects' extra elements ---- */

static int info(struct xml_check *c)
{
	static const char *const names[] = {"name", "value", NULL};
	const struct aml_xml_attr *attr;
	int err = only_attrs(c, names);
	if (err == 0)
		err = need_attr(c, "name", &attr);
	if (err == 0)
		err = need_attr(c, "value", &attr);
	return err != 0 ? err : aml_xml_expect_end(c);
}

int aml_xml_cpukind(struct xml_check *c)
{
	static const char *const names[] = {"cpuset", "forced_efficiency",
	                                    NULL};
	const struct aml_xml_attr *cpus, *efficiency;
	struct aml_bitmap set;
	int value;
	int err = only_attrs(c, names);
	if (err == 0)
		err = need_attr(c, "cpuset", &cpus);
	if (err == 0)
		err = aml_xml_set(c, cpus, &set);
	efficiency = aml_xml_attr(&c->scan, "forced_efficiency");
	if (err == 0 && efficiency != NULL)
		err = aml_xml_int(c, efficiency, -1, &value);
	for (int ev; err == 0;) {
		ev = aml_xml_next(&c->scan);
		if (ev < 0 || ev == AML_XML_END)
			return ev < 0 ? ev : 0;
		if (ev == AML_XML_TEXT || strcmp(c->scan.name, "info") != 0)
			return aml_xml_fail(&c->scan, c->scan.name_line,
			                    "only <info> goes in <cpukind>");
		err = info(c);
	}
	return err;
}

int aml_xml_support(struct xml_check *c)
{
	const struct aml_xml_attr *value = aml_xml_attr(&c->scan, "value");
	const struct aml_xml_attr *name;
	int v;
	int err = need_attr(c, "name", &name);
	if (err == 0 && value != NULL)
		err = aml_xml_int(c, value, 0, &v);
	return err != 0 ? err : aml_xml_expect_end(c);
}

int aml_xml_object_extra(struct xml_check *c, enum xml_type type, bool root)
{
	const char *name = c->scan.name;
	if (strcmp(name, "info") == 0)
		return info(c);
	if (strcmp(name, "page_type") == 0) {
		static const char *const names[] = {"size", "count", NULL};
		uint64_t v;
		if (type != XML_NUMANODE && !root)
			return aml_xml_fail(&c->scan, c->scan.name_line,
			                    "<page_type> outside a NUMANode");
		int err = only_attrs(c, names);
		if (err == 0)
			err = aml_xml_u64_opt(c, "size", UINT64_MAX, 0, &v);
		if (err == 0)
			err = aml_xml_u64_opt(c, "count", UINT64_MAX, 0, &v);
		return err != 0 ? err : aml_xml_expect_end(c);
	}
	/* userdata: its content is the caller's; hwloc keeps none here. */
	static const char *const names[] = {"length", "encoding", "name", NULL};
	uint64_t length;
	int err = only_attrs(c, names);
	if (err == 0)
		err = aml_xml_u64_opt(c, "length", UINT64_MAX, 0, &length);
	if (err != 0)
		return err;
	int ev = aml_xml_next(&c->scan);
	if (ev == AML_XML_TEXT)
		return aml_xml_expect_end(c);
	if (ev == AML_XML_START)
		return aml_xml_fail(&c->scan, c->scan.name_line,
		                    "<%s> inside <userdata>", c->scan.name);
	return ev < 0 ? ev : 0;
}
