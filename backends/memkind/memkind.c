/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memkind backend: it reports the memkind library in use, and offers one
 * device per memkind kind aml knows (<aml/device/memkind.h>).
 *
 * Design. Each kind has one device, made by the first request that succeeds
 * and kept until exit, so the pointer users get is stable. That a kind is
 * unavailable never changes while the process runs (memkind reads
 * MEMKIND_HBW_NODES and HMAT once, too); a lack of memory is not kept: the
 * next request tries again. A map is one memkind_posix_memalign() of whole,
 * page-aligned pages, which it covers entirely, so no two maps (nor any
 * other memkind object) share a page. Every live map is recorded in the
 * device's rangeset, and unmap frees only a range recorded exactly as
 * mapped: memkind_free() on anything else would corrupt the heap, and
 * memkind cannot free part of an allocation.
 *
 * Thread-safety: a device is made without a lock and published by a
 * compare-and-swap (a thread that loses drops its own), so no lock is held
 * across memkind's calls that a child of fork() could inherit taken. The
 * rangeset has its own lock, and memkind's allocation calls are
 * thread-safe. Map allocates before it records, and unmap frees and
 * forgets under the rangeset's lock, so no address is ever recorded twice
 * nor recorded once freed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <memkind.h>

#include <aml/device.h>
#include <aml/device/memkind.h>
#include <aml/error.h>

#include "aml/src/backend.h"
#include "aml/src/os.h"
#include "aml/src/rangeset.h"

static int memkind_backend_describe(char *buf, size_t size)
{
	/* memkind_get_version() is major * 1000000 + minor * 1000 + patch. */
	int version = memkind_get_version();
	/* memkind decides from HMAT bandwidth, or MEMKIND_HBW_NODES if set. */
	const char *hbw =
	        memkind_check_available(MEMKIND_HBW) == MEMKIND_SUCCESS
	                ? "available"
	                : "not available";
	return snprintf(buf, size, "memkind %d.%d.%d: high-bandwidth memory %s",
	                version / 1000000, version / 1000 % 1000,
	                version % 1000, hbw);
}

const struct aml_backend_impl aml_backend_memkind_impl = {
        .name = "memkind",
        .built = true,
        .describe = memkind_backend_describe,
};

/* ---- Devices ---- */

/* What aml says about each kind. memkind's kinds are variables, not
 * constants, so the table holds their addresses. */
struct memkind_kind_info {
	memkind_t *kind;
	const char *name;
	enum aml_device_kind device_kind;
};

static const struct memkind_kind_info memkind_kinds[AML_MEMKIND_KIND_COUNT] = {
        [AML_MEMKIND_HBW] = {&MEMKIND_HBW, "memkind:hbw", AML_DEVICE_HBM},
        [AML_MEMKIND_HBW_PREFERRED] = {&MEMKIND_HBW_PREFERRED,
                                       "memkind:hbw_preferred", AML_DEVICE_HBM},
        /* The nodes with the most memory are ordinary DDR on every machine
         * memkind supports (HBM and DAX nodes are smaller or separate). */
        [AML_MEMKIND_HIGHEST_CAPACITY] = {&MEMKIND_HIGHEST_CAPACITY,
                                          "memkind:highest_capacity",
                                          AML_DEVICE_DRAM},
        [AML_MEMKIND_DAX_KMEM] = {&MEMKIND_DAX_KMEM, "memkind:dax_kmem",
                                  AML_DEVICE_NVM},
};

/* One kind's device and its state. */
struct memkind_device {
	/* The handle users get; base.data points back here. */
	struct aml_device base;
	/* memkind's kind. */
	memkind_t kind;
	/* Every live map, as [ptr, ptr + size). */
	struct aml_rangeset ranges;
};

/* Each kind's device once made (atomic), kept until exit: users keep the
 * pointer. */
static struct memkind_device *memkind_devices[AML_MEMKIND_KIND_COUNT];
/* AML_ENODEV once memkind said it has no such memory (atomic): that
 * answer is final, as memkind's own is. */
static int memkind_unavailable[AML_MEMKIND_KIND_COUNT];

static int memkind_device_to_aml_error(int err)
{
	/* memkind_posix_memalign() returns errno values (ENOMEM, EINVAL) from
	 * its jemalloc path, and MEMKIND_ERROR_* from its own checks. */
	switch (err) {
	case ENOMEM:
	case MEMKIND_ERROR_MALLOC:
	case MEMKIND_ERROR_MMAP:
	/* memkind reports success with a NULL pointer for a size it thinks
	 * out of bounds (size_out_of_bounds()): that is a request too big. */
	case MEMKIND_SUCCESS:
		return AML_ENOMEM;
	default:
		return AML_FAILURE;
	}
}

static void *memkind_device_map(const struct aml_device *dev, size_t size)
{
	struct memkind_device *self = dev->data;
	void *ptr = NULL;
	int err =
	        memkind_posix_memalign(self->kind, &ptr, aml_page_size(), size);
	if (err != MEMKIND_SUCCESS || ptr == NULL) {
		/* Positive: an errno value; MEMKIND_ERROR_* are negative. */
		if (err > 0)
			aml_os_error(err, 0);
		aml_errno = memkind_device_to_aml_error(err);
		return NULL;
	}
	err = aml_rangeset_insert(&self->ranges, ptr, size);
	if (err != 0) {
		memkind_free(self->kind, ptr);
		/* An overlap means memkind handed out memory still recorded
		 * as ours: someone freed it behind our back. */
		aml_errno = err == AML_ENOMEM ? AML_ENOMEM : AML_FAILURE;
		return NULL;
	}
	return ptr;
}

static int memkind_device_free(void *ptr, size_t size, const void *arg)
{
	const struct memkind_device *self = arg;
	(void)size;
	memkind_free(self->kind, ptr);
	return 0;
}

static int
memkind_device_unmap(const struct aml_device *dev, void *ptr, size_t size)
{
	struct memkind_device *self = dev->data;
	/* Exact: memkind frees whole allocations only, so a part of a map, a
	 * wrong size or a foreign range must be refused before the free. */
	return aml_rangeset_remove(&self->ranges, ptr, size, true,
	                           memkind_device_free, self);
}

/* memkind cannot migrate pages, and its free-byte counts are per process, not
 * per device: move and free_bytes stay unsupported. */
static const struct aml_device_ops memkind_device_ops = {
        .map = memkind_device_map,
        .unmap = memkind_device_unmap,
        .move = NULL,
        .free_bytes = NULL,
        /* memkind_free() takes whole allocations only. */
        .unmaps_whole_only = true,
};

/* Make the device of @p which: 0 and *out; AML_ENODEV; AML_ENOMEM. */
static int memkind_device_make(enum aml_memkind_kind which,
                               struct memkind_device **out)
{
	const struct memkind_kind_info *info = &memkind_kinds[which];
	memkind_t kind = *info->kind;

	if (memkind_check_available(kind) != MEMKIND_SUCCESS)
		return AML_ENODEV;
	struct memkind_device *self = calloc(1, sizeof(*self));
	if (self == NULL)
		return AML_ENOMEM;
	int err = aml_rangeset_init(&self->ranges, AML_FORK_RECORDS);
	if (err != 0) {
		free(self);
		return err;
	}
	/* Not every kind reports a capacity (HBW_PREFERRED answers -1). */
	ssize_t capacity = memkind_get_capacity(kind);

	self->kind = kind;
	self->base = (struct aml_device){
	        .ops = &memkind_device_ops,
	        .data = self,
	        .kind = info->device_kind,
	        .backend = AML_BACKEND_MEMKIND,
	        /* A kind may span several nodes (HBW on an SNC machine). */
	        .numa_id = -1,
	        .capacity = capacity > 0 ? (size_t)capacity : 0,
	        .ninitiators = 0,
	};
	snprintf(self->base.name, sizeof(self->base.name), "%s", info->name);
	aml_bitmap_zero(&self->base.cpus);
	*out = self;
	return 0;
}

const struct aml_device *aml_memkind_device(enum aml_memkind_kind kind)
{
	/* The enum may hold any int, so range-check before indexing. */
	if ((int)kind < 0 || (int)kind >= AML_MEMKIND_KIND_COUNT) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	/* Acquire: the device's fields were written before it was
	 * published. */
	struct memkind_device *self =
	        __atomic_load_n(&memkind_devices[kind], __ATOMIC_ACQUIRE);
	if (self != NULL)
		return &self->base;
	int err = __atomic_load_n(&memkind_unavailable[kind], __ATOMIC_RELAXED);
	if (err == 0)
		err = memkind_device_make(kind, &self);
	if (err == AML_ENODEV)
		__atomic_store_n(&memkind_unavailable[kind], err,
		                 __ATOMIC_RELAXED);
	if (err != 0) {
		aml_errno = err;
		return NULL;
	}
	/* Threads that made one at once: the first published is everyone's,
	 * the others' are dropped before anyone saw them. */
	struct memkind_device *first = NULL;
	if (!__atomic_compare_exchange_n(&memkind_devices[kind], &first, self,
	                                 false, __ATOMIC_ACQ_REL,
	                                 __ATOMIC_ACQUIRE)) {
		aml_rangeset_fini(&self->ranges);
		free(self);
		self = first;
	}
	return &self->base;
}
