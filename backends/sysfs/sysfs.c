/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading /sys/devices/system/node (see sysfs.h).
 */
#include "backends/sysfs/sysfs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <aml/error.h>

#include "aml/src/os.h"

#define NODE_SYSFS "/sys/devices/system/node"

/* A numactl-style list file (cpulist, online) into @p out. */
static int sysfs_read_list(const char *path, struct aml_bitmap *out)
{
	/* The longest list alternates single CPUs: 5 bytes per CPU at most. */
	char list[AML_BITMAP_FORMAT_MAX];
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return aml_os_open_error(errno, AML_ENODEV);
	if (fgets(list, sizeof(list), f) == NULL)
		list[0] = '\0'; /* an empty file: an empty set */
	list[strcspn(list, "\n")] = '\0';
	struct aml_bitmap set;
	int err = aml_bitmap_parse(&set, list);
	fclose(f);
	if (err == 0)
		*out = set;
	return err;
}

int aml_sysfs_node_cpus(int node, struct aml_bitmap *out)
{
	char path[128];
	snprintf(path, sizeof(path), NODE_SYSFS "/node%d/cpulist", node);
	return sysfs_read_list(path, out);
}

int aml_sysfs_node_distances(int node, unsigned *out)
{
	struct aml_bitmap online;
	int err = sysfs_read_list(NODE_SYSFS "/online", &online);
	if (err != 0)
		return err;
	char path[128];
	snprintf(path, sizeof(path), NODE_SYSFS "/node%d/distance", node);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return aml_os_open_error(errno, AML_ENODEV);
	unsigned row[AML_BITMAP_MAX] = {0};
	/* The kernel writes one value per online node, in node order. */
	AML_BITMAP_FOREACH (other, &online) {
		unsigned long value;
		if (fscanf(f, "%lu", &value) != 1 || value == 0 ||
		    value > UINT_MAX) {
			err = AML_EINVAL;
			break;
		}
		row[other] = (unsigned)value;
	}
	fclose(f);
	if (err == 0)
		memcpy(out, row, sizeof(row));
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
