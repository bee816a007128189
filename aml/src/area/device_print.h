/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A device area's placement as text (device.c), for the areas that hold
 * one: the device area itself and the file area.
 */
#ifndef AML_SRC_AREA_DEVICE_PRINT_H
#define AML_SRC_AREA_DEVICE_PRINT_H

#include <stdio.h>

#include <aml/area/device.h>

/* The printed name of a policy ("bind", "first-touch", ...); "unknown"
 * past the last. */
const char *aml_area_device_policy_name(enum aml_policy policy);

/* Print "POLICY over DEV,DEV" (each device with ":WEIGHT" under weighted
 * interleave), no newline, on out. */
void aml_area_device_print_placement(const struct aml_area_device *self,
                                     FILE *out);

#endif /* AML_SRC_AREA_DEVICE_PRINT_H */
