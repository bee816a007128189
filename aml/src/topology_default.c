/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which backend discovers the machine, and the process's default topology.
 * The composition root: linked with the backends (//aml:aml), unlike the
 * device layer, it walks the backend registry (backends.c).
 */
#include "aml/src/topology_default.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/emulator.h>
#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/backend.h"
#include "aml/src/device/spi.h"
#include "aml/src/quote.h"
#include "aml/src/topology_xml/topology_xml.h"

int aml_topology_discover(struct aml_topology **out)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	/* hwloc ranks above libnuma: it sees HMAT per initiator and node
	 * subtypes; libnuma and sysfs are the fallback when hwloc is absent
	 * or fails. */
	return aml_backends_discover(out);
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
	err = aml_backends_xml_loader()->load_xml(out, checked, checked_size,
	                                          source);
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
	return aml_backends_xml_loader() != NULL ? 0 : AML_ENOTSUP;
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
 *
 * No lock is held while the topology is made: discovery, reading a file or
 * calibrating an emulated machine take long, and a child forked meanwhile
 * would inherit the lock taken, by a thread it does not have, and wait for
 * ever in its own first call (and aml/src/fork.h forbids registering an
 * emulated machine for fork() under an aml lock). Threads that ask at once
 * may each make one: the first published (compare-and-swap) is everyone's,
 * the others are destroyed before anyone saw them. Once published, the
 * topology is read without a lock (acquire/release).
 */
static struct aml_topology *default_topology; /* atomic */
/* A failure that another try would repeat (atomic); 0 while none. */
static int default_error;

/* Longest message about a variable: its quoted value and the reason. */
#define DEFAULT_MESSAGE_MAX (AML_ENV_QUOTE_SIZE + 256)

/* What aml_topology_from_env() makes, with the message about a refused
 * variable in msg ("" if none), for the caller to print. */
static int default_make(struct aml_topology **out, char *msg, size_t size)
{
	const char *emulate = getenv("AML_EMULATE");
	const char *xml = getenv("AML_TOPOLOGY_XML");
	char q[AML_ENV_QUOTE_SIZE];
	msg[0] = '\0';
	/* AML_EMULATE first: a test that asks for an emulated machine must
	 * never run on the real one by accident. An empty variable counts
	 * as unset. */
	if (emulate != NULL && emulate[0] != '\0') {
		struct aml_emu_error error = {0};
		int err = aml_emu_create(out, emulate, &error);
		if (err == AML_EINVAL)
			snprintf(msg, size, "aml: AML_EMULATE=%s: at %zu: %s\n",
			         aml_env_quote(q, emulate), error.offset,
			         error.reason);
		return err;
	}
	if (xml != NULL && xml[0] != '\0') {
		struct aml_topology_xml_error error = {0};
		int err = aml_topology_load_xml_file(out, xml, &error);
		if (err == AML_EINVAL && error.line > 0)
			snprintf(msg, size,
			         "aml: AML_TOPOLOGY_XML=%s: line %zu: %s\n",
			         aml_env_quote(q, xml), error.line,
			         error.reason);
		else if (err == AML_EINVAL)
			snprintf(msg, size, "aml: AML_TOPOLOGY_XML=%s: %s\n",
			         aml_env_quote(q, xml), error.reason);
		return err;
	}
	return aml_topology_discover(out);
}

int aml_topology_from_env(struct aml_topology **out)
{
	char msg[DEFAULT_MESSAGE_MAX];
	int err = default_make(out, msg, sizeof(msg));
	fputs(msg, stderr);
	return err;
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
	int err = __atomic_load_n(&default_error, __ATOMIC_ACQUIRE);
	if (err != 0) {
		aml_errno = err;
		return NULL;
	}
	char msg[DEFAULT_MESSAGE_MAX];
	err = default_make(&t, msg, sizeof(msg));
	if (err != 0) {
		/* Printed by the thread that records the failure, once. */
		int none = 0;
		if (default_error_is_final(err) &&
		    __atomic_compare_exchange_n(&default_error, &none, err,
		                                false, __ATOMIC_ACQ_REL,
		                                __ATOMIC_ACQUIRE))
			fputs(msg, stderr);
		aml_errno = err;
		return NULL;
	}
	struct aml_topology *first = NULL;
	if (!__atomic_compare_exchange_n(&default_topology, &first, t, false,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		aml_topology_destroy(&t);
		t = first;
	}
	return t;
}
