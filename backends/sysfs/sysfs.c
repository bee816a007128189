/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading /sys/devices/system/node (see sysfs.h).
 */
#include "backends/sysfs/sysfs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <aml/error.h>

#include "aml/src/os.h"

#define NODE_SYSFS "/sys/devices/system/node"

int aml_sysfs_node_cpus(int node, struct aml_bitmap *out)
{
	char path[128];
	/* The longest list alternates single CPUs: 5 bytes per CPU at most. */
	char list[AML_BITMAP_FORMAT_MAX];
	snprintf(path, sizeof(path), NODE_SYSFS "/node%d/cpulist", node);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return aml_os_open_error(errno, AML_ENODEV);
	int err = 0;
	if (fgets(list, sizeof(list), f) == NULL)
		list[0] = '\0'; /* an empty file: no CPUs */
	list[strcspn(list, "\n")] = '\0';
	struct aml_bitmap cpus;
	err = aml_bitmap_parse(&cpus, list);
	fclose(f);
	if (err == 0)
		*out = cpus;
	return err;
}

uint64_t aml_hmat_bytes_per_second(uint64_t mib)
{
	return mib > UINT64_MAX >> 20 ? UINT64_MAX : mib << 20;
}

int aml_sysfs_node_access(int node, const char *name, uint64_t *out)
{
	char path[256];
	snprintf(path, sizeof(path), NODE_SYSFS "/node%d/access0/initiators/%s",
	         node, name);
	*out = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return aml_os_open_error(errno, 0);
	unsigned long long value = 0;
	if (fscanf(f, "%llu", &value) != 1)
		value = 0;
	fclose(f);
	*out = value;
	return 0;
}
