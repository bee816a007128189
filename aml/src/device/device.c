/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic device functions: check arguments, round sizes to pages, dispatch
 * to the implementation's ops. Also the per-initiator performance lookup that
 * ranking uses.
 */
#include <stdint.h>

#include <aml/device.h>
#include <aml/error.h>

#include "aml/src/bitmap.h"
#include "aml/src/device/spi.h"
#include "aml/src/os.h"

static const char *const device_kind_names[AML_DEVICE_KIND_COUNT] = {
        [AML_DEVICE_DRAM] = "DRAM",
        [AML_DEVICE_HBM] = "HBM",
        [AML_DEVICE_CXL] = "CXL",
        [AML_DEVICE_NVM] = "NVM",
};

const char *aml_device_kind_name(enum aml_device_kind kind)
{
	if ((int)kind < 0 || (int)kind >= AML_DEVICE_KIND_COUNT) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	return device_kind_names[kind];
}

static int device_check_range(const struct aml_device *dev,
                              const void *ptr,
                              size_t size,
                              size_t *rounded)
{
	if (dev == NULL || dev->ops == NULL || ptr == NULL)
		return AML_EINVAL;
	if ((uintptr_t)ptr % aml_page_size() != 0)
		return AML_EINVAL;
	int err = aml_round_to_pages(size, rounded);
	if (err != 0)
		return err;
	/* The range must not wrap around the address space. */
	if ((uintptr_t)ptr > UINTPTR_MAX - *rounded)
		return AML_EINVAL;
	return 0;
}

void *aml_device_map(const struct aml_device *dev, size_t size)
{
	size_t rounded;
	if (dev == NULL || dev->ops == NULL || dev->ops->map == NULL ||
	    aml_round_to_pages(size, &rounded) != 0) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	return dev->ops->map(dev, rounded);
}

int aml_device_unmap(const struct aml_device *dev, void *ptr, size_t size)
{
	size_t rounded;
	int err = device_check_range(dev, ptr, size, &rounded);
	if (err != 0)
		return err;
	if (dev->ops->unmap == NULL)
		return AML_ENOTSUP;
	return dev->ops->unmap(dev, ptr, rounded);
}

int aml_device_move(const struct aml_device *dev, void *ptr, size_t size)
{
	size_t rounded;
	int err = device_check_range(dev, ptr, size, &rounded);
	if (err != 0)
		return err;
	if (dev->ops->move == NULL)
		return AML_ENOTSUP;
	return dev->ops->move(dev, ptr, rounded);
}

int aml_device_free_bytes(const struct aml_device *dev, size_t *out)
{
	if (dev == NULL || dev->ops == NULL || out == NULL)
		return AML_EINVAL;
	if (dev->ops->free_bytes == NULL)
		return AML_ENOTSUP;
	return dev->ops->free_bytes(dev, out);
}

int aml_device_has_figures_from(const struct aml_device *dev,
                                const struct aml_bitmap *initiator)
{
	if (dev == NULL)
		return AML_EINVAL;
	struct aml_bitmap self;
	if (initiator == NULL) {
		if (aml_thread_cpus(&self) != 0)
			return AML_FAILURE;
		initiator = &self;
	}
	for (size_t i = 0; i < dev->ninitiators; i++)
		if (aml_bitmap_shared(&dev->initiators[i].cpus, initiator) > 0)
			return 1;
	return 0;
}

const struct aml_device_perf *
aml_device_perf_from(const struct aml_device *dev,
                     const struct aml_bitmap *initiator)
{
	if (dev == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	if (dev->ninitiators == 0) {
		aml_errno = AML_ENODEV;
		return NULL;
	}
	struct aml_bitmap self;
	if (initiator == NULL) {
		if (aml_thread_cpus(&self) != 0)
			return &dev->initiators[0].perf;
		initiator = &self;
	}
	/* The initiator sharing the most CPUs; the local one (first) when
	 * none shares any, as an unpinned thread on a big machine would. */
	size_t best = 0;
	int best_shared = 0;
	for (size_t i = 0; i < dev->ninitiators; i++) {
		int n = aml_bitmap_shared(&dev->initiators[i].cpus, initiator);
		if (n > best_shared) {
			best = i;
			best_shared = n;
		}
	}
	return &dev->initiators[best].perf;
}

static void device_perf_merge(struct aml_device_perf *into,
                              const struct aml_device_perf *from)
{
#define DEVICE_PERF_MERGE_(field)                                              \
	if (from->field != 0)                                                  \
		into->field = from->field;
	DEVICE_PERF_MERGE_(bandwidth)
	DEVICE_PERF_MERGE_(read_bandwidth)
	DEVICE_PERF_MERGE_(write_bandwidth)
	DEVICE_PERF_MERGE_(latency_ns)
	DEVICE_PERF_MERGE_(read_latency_ns)
	DEVICE_PERF_MERGE_(write_latency_ns)
#undef DEVICE_PERF_MERGE_
}

int aml_device_add_initiator(struct aml_device *dev,
                             const struct aml_bitmap *initiator,
                             const struct aml_device_perf *perf)
{
	/* Discovery learns bandwidth and latency separately: known values of
	 * an initiator already recorded fill in, and never erase, the others.
	 */
	for (size_t i = 0; i < dev->ninitiators; i++) {
		if (aml_bitmap_equal(&dev->initiators[i].cpus, initiator) ==
		    1) {
			device_perf_merge(&dev->initiators[i].perf, perf);
			return 0;
		}
	}
	if (dev->ninitiators == AML_DEVICE_INITIATORS_MAX)
		return AML_ENOMEM;
	dev->initiators[dev->ninitiators++] = (struct aml_device_initiator){
	        .cpus = *initiator,
	        .perf = *perf,
	};
	return 0;
}

size_t aml_device_populate_margin(const struct aml_device *dev)
{
	/* Linux keeps a node's free memory above its watermarks (high: well
	 * under 1% of the node); allocations past them reclaim or fail. */
	const size_t floor = (size_t)4 << 20;
	if (dev == NULL)
		return 0;
	size_t share = dev->capacity / 64;
	return share > floor ? share : floor;
}
