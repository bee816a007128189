/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Areas over a file (aml/area/file.h). The policy is held as a device area
 * (so it passes the same checks); each map fills the same placement
 * request as a device area's, plus the file range, and the one placement
 * path maps it through the topology's map_file_nodes (mmap of the range,
 * then mbind), records it with this area as owner, and unmaps it.
 *
 * Offsets come from an atomic cursor, taken by compare-and-swap so that a
 * range past the end of the file leaves it unchanged; a map that fails
 * afterwards gives its range back if no other map took a later one.
 *
 * A memfd area writes its policy in the first page of the file (struct
 * file_policy below): a second area opened over the same descriptor, in
 * this process or another, compares it to its own and refuses another one
 * (AML_EBUSY). A page, not a seal or an xattr: tmpfs keeps neither for
 * this, and the page travels with the descriptor.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <aml/area/file.h>
#include <aml/error.h>

#include "aml/src/area/device_print.h"
#include "aml/src/area/file_os.h"
#include "aml/src/device/blocks.h"
#include "aml/src/error_detail.h"
#include "aml/src/os.h"

static const struct aml_area_ops area_file_ops;

/* The policy page of a memfd area; the rest of the page is zero. */
#define FILE_POLICY_MAGIC "AMLAREA1"
struct file_policy {
	char magic[8];
	int32_t policy;
	uint32_t ndevices;
	/* NUMA node of each device, in the area's order. */
	int32_t nodes[AML_AREA_DEVICE_MAX];
	uint32_t weights[AML_AREA_DEVICE_MAX];
};

static struct aml_area_file *area_file(const struct aml_area *area)
{
	return area->data;
}

static void *area_file_map_range(const struct aml_area_file *self,
                                 uint64_t offset,
                                 size_t size,
                                 const struct aml_area_mmap_options *opts)
{
	const struct aml_area_device *p = &self->placement;
	uint64_t limit = self->limit;
	if (limit == 0) {
		int err = aml_file_size(self->fd, self->dax, &limit);
		if (err != 0) {
			aml_errno = err;
			return NULL;
		}
	}
	if (offset < self->first || offset % aml_page_size() != 0 ||
	    offset > limit || size > limit - offset) {
		aml_errno = aml_error_explain(
		        AML_EINVAL,
		        "%zu bytes at offset %llu: the file holds %llu", size,
		        (unsigned long long)offset, (unsigned long long)limit);
		return NULL;
	}
	/* Linux 6.1 refuses a DAX map whose size is off the device's unit,
	 * but takes an offset off it and then serves the unit the offset
	 * falls in: another range of the device, silently. */
	if (self->align != 0 &&
	    (offset % self->align != 0 || size % self->align != 0)) {
		aml_errno = aml_error_explain(
		        AML_EINVAL,
		        "%zu bytes at offset %llu: the DAX device maps in "
		        "units of %llu bytes",
		        size, (unsigned long long)offset,
		        (unsigned long long)self->align);
		return NULL;
	}
	struct aml_placement_file file = {
	        .fd = self->fd,
	        .offset = offset,
	        .shared = self->shared,
	};
	struct aml_placement_request request = {
	        .topology = p->topology,
	        .set = &p->set,
	        .policy = p->policy,
	        .size = size,
	        .alignment = opts->alignment,
	        .populate = opts->populate,
	        .pages = opts->pages,
	        .owner = self,
	        .file = &file,
	};
	if (p->policy == AML_POLICY_WEIGHTED_INTERLEAVE) {
		request.run_devices = p->devices;
		request.weights = p->weights;
		request.nruns = p->ndevices;
	}
	return aml_placement_map(&request);
}

/* The next @p size bytes of the file into *offset; the cursor unchanged if
 * they do not fit (a caller's file may have grown since: fstat again). */
static int
area_file_take(struct aml_area_file *self, size_t size, uint64_t *offset)
{
	uint64_t limit = self->limit, cur;
	if (limit == 0) {
		int err = aml_file_size(self->fd, self->dax, &limit);
		if (err != 0)
			return err;
	}
	cur = __atomic_load_n(&self->cursor, __ATOMIC_RELAXED);
	do {
		if (cur > limit || size > limit - cur)
			return aml_error_explain(
			        self->limit != 0 ? AML_ENOMEM : AML_EINVAL,
			        "%zu more bytes at offset %llu: the file "
			        "holds %llu",
			        size, (unsigned long long)cur,
			        (unsigned long long)limit);
	} while (!__atomic_compare_exchange_n(&self->cursor, &cur, cur + size,
	                                      true, __ATOMIC_RELAXED,
	                                      __ATOMIC_RELAXED));
	*offset = cur;
	return 0;
}

static void *area_file_map_next(const struct aml_area *area,
                                size_t size,
                                const struct aml_area_mmap_options *opts,
                                uint64_t *out)
{
	struct aml_area_file *self = area_file(area);
	/* Set by a take that succeeds; gcc -O2 cannot tell. */
	uint64_t offset = 0;
	int err = area_file_take(self, size, &offset);
	if (err != 0) {
		aml_errno = err;
		return NULL;
	}
	void *ptr = area_file_map_range(self, offset, size, opts);
	if (ptr == NULL) {
		/* Give the range back unless a later map took the next. */
		uint64_t end = offset + size;
		__atomic_compare_exchange_n(&self->cursor, &end, offset, false,
		                            __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		return NULL;
	}
	if (out != NULL)
		*out = offset;
	return ptr;
}

static void *area_file_map(const struct aml_area *area,
                           size_t size,
                           const struct aml_area_mmap_options *opts)
{
	return area_file_map_next(area, size, opts, NULL);
}

static int area_file_unmap(const struct aml_area *area, void *ptr, size_t size)
{
	const struct aml_area_file *self = area_file(area);
	/* Linux splits a DAX mapping only at the device's unit, and its
	 * EINVAL would reach the caller as the backend's AML_ENOMEM. */
	if (self->align != 0 &&
	    ((uintptr_t)ptr % self->align != 0 || size % self->align != 0))
		return aml_error_explain(AML_EINVAL,
		                         "%zu bytes at %p: the DAX device "
		                         "unmaps in units of %llu bytes",
		                         size, ptr,
		                         (unsigned long long)self->align);
	return aml_placement_unmap(self->placement.topology, self, ptr, size);
}

static int
area_file_print(const struct aml_area *area, FILE *out, const char *prefix)
{
	const struct aml_area_file *self = area_file(area);
	fprintf(out, "%sfile area: fd %d%s %s, ", prefix, self->fd,
	        self->dax ? " (dax)" : "", self->shared ? "shared" : "private");
	aml_area_device_print_placement(&self->placement, out);
	fprintf(out, "\n");
	return 0;
}

static const struct aml_area_ops area_file_ops = {
        .map = area_file_map,
        .unmap = area_file_unmap,
        .print = area_file_print,
};

static void area_file_policy_of(const struct aml_area_device *p,
                                struct file_policy *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->magic, FILE_POLICY_MAGIC, sizeof(out->magic));
	out->policy = (int32_t)p->policy;
	out->ndevices = (uint32_t)p->ndevices;
	for (size_t i = 0; i < p->ndevices; i++) {
		out->nodes[i] = p->devices[i]->numa_id;
		out->weights[i] = p->weights[i];
	}
}

/* The same placement: the same policy over the same nodes (in the same
 * order, with the same weights, for a weighted interleave; as a set
 * otherwise, which is how the kernel takes them). */
static bool area_file_same_policy(const struct file_policy *a,
                                  const struct file_policy *b)
{
	if (a->policy != b->policy || a->ndevices != b->ndevices ||
	    a->ndevices > AML_AREA_DEVICE_MAX)
		return false;
	bool ordered = a->policy == AML_POLICY_WEIGHTED_INTERLEAVE;
	for (uint32_t i = 0; i < a->ndevices; i++) {
		bool found = false;
		for (uint32_t j = 0; j < b->ndevices && !found; j++)
			found = a->nodes[i] == b->nodes[j] &&
			        (!ordered ||
			         (i == j && a->weights[i] == b->weights[j]));
		if (!found)
			return false;
	}
	return true;
}

/* A descriptor whose first page holds a policy must be opened with the
 * same one; its maps then start past that page (*first). */
static int
area_file_check_policy(int fd, const struct aml_area_device *p, uint64_t *first)
{
	struct file_policy theirs, ours;
	*first = 0;
	if (pread(fd, &theirs, sizeof(theirs), 0) != (ssize_t)sizeof(theirs) ||
	    memcmp(theirs.magic, FILE_POLICY_MAGIC, sizeof(theirs.magic)) != 0)
		return 0; /* no area wrote this file */
	area_file_policy_of(p, &ours);
	if (!area_file_same_policy(&theirs, &ours))
		return aml_error_explain(
		        AML_EBUSY,
		        "descriptor %d is placed under another "
		        "policy (%s over %u devices)",
		        fd, aml_area_device_policy_name(theirs.policy),
		        (unsigned)theirs.ndevices);
	*first = aml_page_size();
	return 0;
}

/* Checks of the source alone, before anything is made or opened. */
static int area_file_check_source(const struct aml_area_file_source *s,
                                  enum aml_policy policy)
{
	if ((unsigned)s->kind >= AML_AREA_FILE_KIND_COUNT)
		return AML_EINVAL;
	switch (s->kind) {
	case AML_AREA_FILE_FD:
		return s->fd < 0 ? AML_EINVAL : 0;
	case AML_AREA_FILE_MEMFD: {
		size_t rounded;
		if (s->name == NULL || strlen(s->name) > 249 ||
		    aml_round_to_pages(s->capacity, &rounded) != 0 ||
		    rounded < 2 * aml_page_size())
			return AML_EINVAL;
		return 0;
	}
	case AML_AREA_FILE_DAX:
		if (!s->shared || policy != AML_POLICY_LOCAL)
			return aml_error_explain(
			        AML_EINVAL, "a DAX area is shared and LOCAL: "
			                    "the device is the memory");
		/* fall through */
	default:
		return s->name == NULL || s->name[0] == '\0' ? AML_EINVAL : 0;
	}
}

/* Open or make the descriptor, and check what it is. */
static int area_file_open(const struct aml_area_file_source *s,
                          const struct aml_area_device *p,
                          struct aml_area_file *out)
{
	int err = 0, fd = s->fd;
	size_t capacity = 0;
	if (s->kind == AML_AREA_FILE_MEMFD) {
		aml_round_to_pages(s->capacity, &capacity);
		err = aml_file_memfd(s->name, capacity, &fd);
	} else if (s->kind != AML_AREA_FILE_FD) {
		err = aml_file_open(s->name, s->shared, &fd);
	}
	if (err != 0)
		return err;
	bool owns = s->kind != AML_AREA_FILE_FD, dax = false;
	uint64_t first = 0, align = 0;
	err = aml_file_check_fd(fd, s->shared, &dax, &align);
	if (err == 0 && s->kind == AML_AREA_FILE_DAX && !dax)
		err = aml_error_explain(
		        AML_EINVAL, "%s is not a device-DAX device", s->name);
	if (err == 0 && dax && (!s->shared || p->policy != AML_POLICY_LOCAL))
		err = aml_error_explain(AML_EINVAL,
		                        "%s is a DAX device: shared and LOCAL "
		                        "only, the device is the memory",
		                        s->name != NULL ? s->name : "the fd");
	if (err == 0 && s->kind == AML_AREA_FILE_MEMFD) {
		struct file_policy mine;
		area_file_policy_of(p, &mine);
		if (pwrite(fd, &mine, sizeof(mine), 0) != (ssize_t)sizeof(mine))
			err = AML_ENOMEM;
		first = aml_page_size();
	} else if (err == 0 && !dax) {
		err = area_file_check_policy(fd, p, &first);
	}
	if (err != 0) {
		if (owns)
			close(fd);
		return err;
	}
	out->fd = fd;
	out->owns_fd = owns;
	out->shared = s->shared;
	out->dax = dax;
	out->align = align;
	out->cursor = first;
	out->first = first;
	out->limit = capacity;
	return 0;
}

int aml_area_file_init(struct aml_area_file *area,
                       const struct aml_area_file_source *source,
                       const struct aml_topology *topology,
                       const struct aml_device *const *devices,
                       size_t ndevices,
                       enum aml_policy policy,
                       const unsigned *weights)
{
	if (area == NULL || source == NULL || topology == NULL)
		return AML_EINVAL;
	int err = area_file_check_source(source, policy);
	if (err != 0)
		return err;
	struct aml_area_file tmp = {.base = {.ops = &area_file_ops}};
	err = aml_area_device_init(&tmp.placement, topology, devices, ndevices,
	                           policy, weights);
	if (err != 0)
		return err;
	err = area_file_open(source, &tmp.placement, &tmp);
	if (err != 0) {
		aml_area_device_fini(&tmp.placement);
		return err;
	}
	*area = tmp;
	area->base.data = area;
	area->placement.base.data = &area->placement;
	return 0;
}

void aml_area_file_fini(struct aml_area_file *area)
{
	if (area == NULL || area->base.ops != &area_file_ops)
		return;
	/* Its mappings stay, the topology's now (each holds the file). */
	aml_placement_disown(area->placement.topology, area);
	aml_area_device_fini(&area->placement);
	if (area->owns_fd)
		close(area->fd);
	area->base.ops = NULL;
}

int aml_area_file_create(struct aml_area **out,
                         const struct aml_area_file_source *source,
                         const struct aml_topology *topology,
                         const struct aml_device *const *devices,
                         size_t ndevices,
                         enum aml_policy policy,
                         const unsigned *weights)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_area_file *area = malloc(sizeof(*area));
	if (area == NULL)
		return AML_ENOMEM;
	int err = aml_area_file_init(area, source, topology, devices, ndevices,
	                             policy, weights);
	if (err != 0) {
		free(area);
		return err;
	}
	*out = &area->base;
	return 0;
}

void aml_area_file_destroy(struct aml_area **area)
{
	if (area == NULL || *area == NULL || (*area)->ops != &area_file_ops)
		return;
	struct aml_area_file *self = (*area)->data;
	aml_area_file_fini(self);
	free(self);
	*area = NULL;
}

int aml_area_file_fd(const struct aml_area *area)
{
	if (area == NULL || area->ops != &area_file_ops)
		return AML_EINVAL;
	return area_file(area)->fd;
}

/* aml_area_mmap()'s checks and normalised options, for the two entry
 * points that bypass it. */
static int area_file_normal(const struct aml_area *area,
                            size_t size,
                            const struct aml_area_mmap_options *opts,
                            size_t *rounded,
                            struct aml_area_mmap_options *out)
{
	size_t alignment = opts != NULL ? opts->alignment : 0;
	if (area == NULL || area->ops != &area_file_ops ||
	    aml_round_to_pages(size, rounded) != 0 ||
	    (alignment != 0 &&
	     (alignment < aml_page_size() || (alignment & (alignment - 1)))))
		return AML_EINVAL;
	*out = (struct aml_area_mmap_options){
	        .alignment = alignment != 0 ? alignment : aml_page_size(),
	        .populate = opts != NULL && opts->populate,
	        .pages = opts != NULL ? opts->pages : AML_PAGE_DEFAULT,
	};
	return (unsigned)out->pages < AML_PAGE_KIND_COUNT ? 0 : AML_EINVAL;
}

void *aml_area_file_mmap(const struct aml_area *area,
                         size_t size,
                         const struct aml_area_mmap_options *opts,
                         uint64_t *offset)
{
	struct aml_area_mmap_options normal;
	size_t rounded;
	int err = area_file_normal(area, size, opts, &rounded, &normal);
	if (err != 0) {
		aml_errno = err;
		return NULL;
	}
	return area_file_map_next(area, rounded, &normal, offset);
}

void *aml_area_file_mmap_at(const struct aml_area *area,
                            uint64_t offset,
                            size_t size,
                            const struct aml_area_mmap_options *opts)
{
	struct aml_area_mmap_options normal;
	size_t rounded;
	int err = area_file_normal(area, size, opts, &rounded, &normal);
	if (err != 0) {
		aml_errno = err;
		return NULL;
	}
	const struct aml_area_file *self = area_file(area);
	if (offset < self->first) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	return area_file_map_range(self, offset, rounded, &normal);
}
