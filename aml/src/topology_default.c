/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which backend discovers the machine, and the process's default topology.
 * Linked with the backends (//aml:aml), unlike the rest of the topology code.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <aml/emulator.h>
#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/backend.h"
#include "aml/src/classify.h"
#include "aml/src/topology.h"

int aml_topology_discover(struct aml_topology **out)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	/* hwloc sees HMAT per initiator and node subtypes; libnuma and sysfs
	 * are the fallback when hwloc is absent or fails. */
	int err = aml_hwloc_discover(out, NULL);
	if (err == AML_ENOTSUP || err == AML_FAILURE)
		err = aml_numa_discover(out);
	return err;
}

int aml_topology_load_xml(struct aml_topology **out, const char *path)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	if (path == NULL)
		return AML_EINVAL;
	return aml_hwloc_discover(out, path);
}

/* AML_EMULATE first: a test that asks for an emulated machine must never
 * run on the real one by accident. An empty variable counts as unset. */
int aml_topology_from_env(struct aml_topology **out)
{
	const char *emulate = getenv("AML_EMULATE");
	const char *xml = getenv("AML_TOPOLOGY_XML");
	if (emulate != NULL && emulate[0] != '\0') {
		struct aml_emu_error error = {0};
		int err = aml_emu_create(out, emulate, &error);
		char q[AML_ENV_QUOTE_SIZE];
		if (err == AML_EINVAL)
			fprintf(stderr, "aml: AML_EMULATE=%s: at %zu: %s\n",
			        aml_env_quote(q, emulate), error.offset,
			        error.reason);
		return err;
	}
	if (xml != NULL && xml[0] != '\0')
		return aml_topology_load_xml(out, xml);
	return aml_topology_discover(out);
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static struct aml_topology *default_topology;
static int default_error;

static void default_topology_make(void)
{
	default_error = aml_topology_from_env(&default_topology);
}

const struct aml_topology *aml_topology_default(void)
{
	pthread_once(&default_once, default_topology_make);
	if (default_topology == NULL)
		aml_errno = default_error;
	return default_topology;
}
