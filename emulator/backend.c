/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulator as a backend (aml/src/backend.h): always built, and the
 * backend of every device an emulated topology has, so that what aml_topo
 * and aml_info print says where a device comes from.
 */
#include "aml/src/backend.h"

#include <stdio.h>

#include <aml/error.h>

#include "emulator/spec.h"

/* "software memory tiers; presets a, b, c", snprintf-style: the
 * untruncated length, whatever fits in buf. */
static int emulator_backend_describe(char *buf, size_t size)
{
	size_t length = 0;
	int n = snprintf(buf, size, "software memory tiers; presets");
	if (n < 0)
		return AML_FAILURE;
	length = (size_t)n;
	for (size_t i = 0; aml_emu_preset_names[i] != NULL; i++) {
		n = snprintf(length < size ? buf + length : NULL,
		             length < size ? size - length : 0,
		             i == 0 ? " %s" : ", %s", aml_emu_preset_names[i]);
		if (n < 0)
			return AML_FAILURE;
		length += (size_t)n;
	}
	return (int)length;
}

const struct aml_backend_impl aml_backend_emulator_impl = {
        .name = "emulator",
        .built = true,
        .describe = emulator_backend_describe,
};
