/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An area that forwards to another and asks it to populate every map
 * (aml_area_mmap_options.populate): a full device is AML_ENOMEM at the map,
 * never the OOM killer at a later touch. Private to the fast memory.
 */
#ifndef AML_SRC_FAST_POPULATE_AREA_H
#define AML_SRC_FAST_POPULATE_AREA_H

#include <aml/area.h>

#ifdef __cplusplus
extern "C" {
#endif

struct aml_populate_area {
	/* Pass &base to the aml_area_*() functions. */
	struct aml_area base;
	const struct aml_area *inner;
};

/* Make out->base forward to @p inner, which must outlive it. Nothing to
 * free. */
void aml_populate_area_init(struct aml_populate_area *out,
                            const struct aml_area *inner);

#ifdef __cplusplus
}
#endif

#endif
