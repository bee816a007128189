/* SPDX-License-Identifier: BSD-3-Clause */
/* The populating area (populate_area.h). */
#include "aml/src/fast/populate_area.h"

#include <stdbool.h>
#include <stdio.h>

static void *populate_map(const struct aml_area *area,
                          size_t size,
                          const struct aml_area_mmap_options *opts)
{
	struct aml_area_mmap_options o = *opts;
	o.populate = true;
	const struct aml_populate_area *self = area->data;
	return aml_area_mmap(self->inner, size, &o);
}

static int populate_unmap(const struct aml_area *area, void *ptr, size_t size)
{
	const struct aml_populate_area *self = area->data;
	return aml_area_munmap(self->inner, ptr, size);
}

static int
populate_print(const struct aml_area *area, FILE *out, const char *prefix)
{
	fprintf(out, "%spopulated at map, ", prefix);
	const struct aml_populate_area *self = area->data;
	return aml_area_print(self->inner, out, "");
}

static const struct aml_area_ops populate_ops = {
        .map = populate_map,
        .unmap = populate_unmap,
        .print = populate_print,
};

void aml_populate_area_init(struct aml_populate_area *out,
                            const struct aml_area *inner)
{
	out->base.ops = &populate_ops;
	out->base.data = out;
	out->inner = inner;
}
