/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic area functions: check arguments, round sizes to pages, dispatch.
 */
#include <stdint.h>

#include <aml/area.h>
#include <aml/device.h>
#include <aml/error.h>

#include "aml/src/os.h"

static bool area_alignment_ok(size_t alignment)
{
	return alignment == 0 || (alignment >= aml_page_size() &&
	                          (alignment & (alignment - 1)) == 0);
}

void *aml_area_mmap(const struct aml_area *area,
                    size_t size,
                    const struct aml_area_mmap_options *opts)
{
	size_t rounded, alignment = opts != NULL ? opts->alignment : 0;
	enum aml_page_kind pages =
	        opts != NULL ? opts->pages : AML_PAGE_DEFAULT;
	if (area == NULL || area->ops == NULL || area->ops->map == NULL ||
	    (unsigned)pages >= AML_PAGE_KIND_COUNT ||
	    aml_round_to_pages(size, &rounded) != 0 ||
	    !area_alignment_ok(alignment) ||
	    (alignment != 0 && rounded > SIZE_MAX - alignment)) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	struct aml_area_mmap_options normal = {
	        .alignment = alignment != 0 ? alignment : aml_page_size(),
	        .populate = opts != NULL && opts->populate,
	        .pages = pages,
	};
	return area->ops->map(area, rounded, &normal);
}

int aml_area_munmap(const struct aml_area *area, void *ptr, size_t size)
{
	size_t rounded;
	if (area == NULL || area->ops == NULL || area->ops->unmap == NULL ||
	    ptr == NULL || (uintptr_t)ptr % aml_page_size() != 0 ||
	    aml_round_to_pages(size, &rounded) != 0 ||
	    (uintptr_t)ptr > UINTPTR_MAX - rounded)
		return AML_EINVAL;
	return area->ops->unmap(area, ptr, rounded);
}

int aml_area_print(const struct aml_area *area, FILE *out, const char *prefix)
{
	if (area == NULL || area->ops == NULL || out == NULL)
		return AML_EINVAL;
	if (area->ops->print == NULL)
		return AML_ENOTSUP;
	return area->ops->print(area, out, prefix != NULL ? prefix : "");
}
