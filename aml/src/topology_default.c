/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which backend discovers the machine, and the process's default topology.
 * Linked with the backends (//aml:aml), unlike the rest of the topology code.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/emulator.h>
#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/backend.h"
#include "aml/src/quote.h"
#include "aml/src/topology.h"
#include "aml/src/topology_xml/topology_xml.h"

int aml_topology_discover(struct aml_topology **out)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	/* hwloc sees HMAT per initiator and node subtypes; libnuma and sysfs
	 * are the fallback when hwloc is absent or fails. */
	int err = aml_hwloc_discover(out, NULL, 0, NULL);
	if (err == AML_ENOTSUP || err == AML_FAILURE)
		err = aml_numa_discover(out);
	return err;
}

/* Check the text, then let hwloc load aml's copy of it. */
static int load_checked(struct aml_topology **out,
                        const char *text,
                        size_t size,
                        const char *source,
                        struct aml_topology_xml_error *error)
{
	if (size > AML_TOPOLOGY_XML_MAX) {
		snprintf(error->reason, sizeof(error->reason),
		         "larger than %zu bytes", AML_TOPOLOGY_XML_MAX);
		return AML_EINVAL;
	}
	char *checked;
	size_t checked_size;
	int err = aml_topology_xml_check(text, size, &checked, &checked_size,
	                                 error);
	if (err != 0)
		return err;
	err = aml_hwloc_discover(out, checked, checked_size, source);
	free(checked);
	if (err == AML_EINVAL)
		snprintf(error->reason, sizeof(error->reason),
		         "hwloc refused the file although aml's checks passed");
	return err;
}

static int load_start(struct aml_topology **out,
                      const void *what,
                      struct aml_topology_xml_error **error,
                      struct aml_topology_xml_error *local)
{
	if (*error == NULL)
		*error = local;
	memset(*error, 0, sizeof(**error));
	if (out == NULL || what == NULL) {
		snprintf((*error)->reason, sizeof((*error)->reason),
		         "NULL argument");
		if (out != NULL)
			*out = NULL;
		return AML_EINVAL;
	}
	*out = NULL;
	/* Without hwloc there is nothing to load into: no reading, no check. */
	return aml_backend_hwloc_impl.built ? 0 : AML_ENOTSUP;
}

int aml_topology_load_xml_buffer(struct aml_topology **out,
                                 const char *xml,
                                 size_t size,
                                 struct aml_topology_xml_error *error)
{
	struct aml_topology_xml_error local;
	int err = load_start(out, xml, &error, &local);
	if (err != 0)
		return err;
	return load_checked(out, xml, size, "hwloc XML buffer", error);
}

int aml_topology_load_xml_file(struct aml_topology **out,
                               const char *path,
                               struct aml_topology_xml_error *error)
{
	struct aml_topology_xml_error local;
	int err = load_start(out, path, &error, &local);
	if (err != 0)
		return err;
	char *text;
	size_t size;
	err = aml_topology_xml_read(path, &text, &size, error);
	if (err != 0)
		return err;
	char source[AML_TOPOLOGY_SOURCE_MAX];
	snprintf(source, sizeof(source), "hwloc XML %s", path);
	err = load_checked(out, text, size, source, error);
	free(text);
	return err;
}

int aml_topology_load_xml(struct aml_topology **out, const char *path)
{
	return aml_topology_load_xml_file(out, path, NULL);
}

/*
 * The default topology is made by the first call that succeeds and kept
 * until exit. A failure the environment or the machine decides (a malformed
 * AML_EMULATE, no XML file, no node) is the answer for the life of the
 * process, and is printed once; any other (AML_ENOMEM, AML_FAILURE) may
 * pass, so the next call tries again: under pthread_once, one allocation
 * failing at the first call left the process without a topology for good.
 * Once made, the topology is read without the lock (acquire/release).
 */
static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static struct aml_topology *default_topology;
/* Under default_lock: a failure that another try would repeat. */
static int default_error;

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
	if (xml != NULL && xml[0] != '\0') {
		struct aml_topology_xml_error error = {0};
		int err = aml_topology_load_xml_file(out, xml, &error);
		char q[AML_ENV_QUOTE_SIZE];
		if (err == AML_EINVAL && error.line > 0)
			fprintf(stderr,
			        "aml: AML_TOPOLOGY_XML=%s: line %zu: %s\n",
			        aml_env_quote(q, xml), error.line,
			        error.reason);
		else if (err == AML_EINVAL)
			fprintf(stderr, "aml: AML_TOPOLOGY_XML=%s: %s\n",
			        aml_env_quote(q, xml), error.reason);
		return err;
	}
	return aml_topology_discover(out);
}

static bool default_error_is_final(int err)
{
	return err == AML_EINVAL || err == AML_ENODEV || err == AML_ENOTSUP;
}

const struct aml_topology *aml_topology_default(void)
{
	struct aml_topology *t =
	        __atomic_load_n(&default_topology, __ATOMIC_ACQUIRE);
	if (t != NULL)
		return t;
	pthread_mutex_lock(&default_lock);
	t = default_topology;
	int err = default_error;
	if (t == NULL && err == 0) {
		err = aml_topology_from_env(&t);
		if (err == 0)
			__atomic_store_n(&default_topology, t,
			                 __ATOMIC_RELEASE);
		else if (default_error_is_final(err))
			default_error = err;
	}
	pthread_mutex_unlock(&default_lock);
	if (t == NULL)
		aml_errno = err;
	return t;
}
