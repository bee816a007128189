/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for aml's hwloc XML path (tools/fuzz.sh xml builds and
 * runs it): aml's check (aml/src/topology_xml), then hwloc loading what
 * passed, then aml's devices from it, all through
 * aml_topology_load_xml_buffer(). Besides surviving any bytes under ASan,
 * LeakSanitizer and UBSan (hwloc included, whose leaks and crashes show
 * even though it is not instrumented), each input checks what aml
 * promises:
 *  - a refused text is AML_EINVAL with a printable reason and a line
 *    inside the text, and no topology;
 *  - what aml's check accepts, hwloc loads: a refusal by hwloc after the
 *    check passed is a finding (the check missed something hwloc needs);
 *  - the canonical copy hwloc gets passes the check again and comes out
 *    the same (it is a fixed point);
 *  - the topology has devices on nodes below AML_BITMAP_MAX, each with at
 *    most AML_DEVICE_INITIATORS_MAX initiators.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/device.h>
#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/topology_xml/topology_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort(); /* libFuzzer reports it with the input */
}

static size_t lines(const uint8_t *data, size_t size)
{
	size_t n = 1;
	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

static void check_refusal(const struct aml_topology_xml_error *error,
                          size_t nlines)
{
	size_t n = strnlen(error->reason, sizeof(error->reason));
	check(n > 0 && n < sizeof(error->reason));
	for (size_t i = 0; i < n; i++)
		check(error->reason[i] >= 0x20 && error->reason[i] < 0x7f);
	check(error->line <= nlines);
}

static void check_topology(const struct aml_topology *t)
{
	int n = aml_topology_ndevices(t);
	check(n >= 1);
	for (int i = 0; i < n; i++) {
		const struct aml_device *dev =
		        aml_topology_device(t, (size_t)i);
		check(dev != NULL);
		check(dev->numa_id >= 0 && dev->numa_id < AML_BITMAP_MAX);
		check(dev->ninitiators <= AML_DEVICE_INITIATORS_MAX);
		check(aml_topology_device_of_node(t, dev->numa_id) == dev);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct aml_topology_xml_error error;
	char *copy;
	size_t copy_size;
	int err = aml_topology_xml_check(text, size, &copy, &copy_size, &error);
	check(err == 0 || err == AML_EINVAL || err == AML_ENOMEM);
	if (err == AML_EINVAL) {
		check(copy == NULL);
		check_refusal(&error, lines(data, size));
	}
	if (err == 0) {
		check(copy != NULL && strlen(copy) == copy_size);
		char *again;
		size_t again_size;
		struct aml_topology_xml_error again_error;
		int err2 = aml_topology_xml_check(copy, copy_size, &again,
		                                  &again_size, &again_error);
		if (err2 != 0 && err2 != AML_ENOMEM)
			abort(); /* the canonical copy is refused */
		if (err2 == 0) {
			check(again_size == copy_size &&
			      memcmp(again, copy, copy_size) == 0);
			free(again);
		}
		free(copy);
	}

	/* The public path: the same verdict, then hwloc. */
	struct aml_topology *t = NULL;
	struct aml_topology_xml_error load_error;
	int load = aml_topology_load_xml_buffer(&t, text, size, &load_error);
	check(load == 0 || load == AML_EINVAL || load == AML_ENOMEM ||
	      load == AML_ENOTSUP);
	check((load == 0) == (t != NULL));
	if (err == AML_EINVAL) {
		check(load == AML_EINVAL);
		check(load_error.line == error.line &&
		      strcmp(load_error.reason, error.reason) == 0);
	}
	if (err == 0 && load == AML_EINVAL)
		abort(); /* hwloc refused what aml's check accepted */
	if (load == 0) {
		check_topology(t);
		aml_topology_destroy(&t);
	}
	return 0;
}
