/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kind of a NUMA node (docs/classification.md has the rule for users).
 *
 * First match wins:
 *   1. AML_HBM_NODES, when set, decides alone which nodes are HBM (an
 *      explicit override): listed nodes are HBM, and no later rule makes
 *      another node HBM (a node hwloc calls MCDRAM becomes DRAM);
 *   2. the hwloc subtype: MCDRAM/HBM -> HBM, CXL* -> CXL, NVM/PMEM -> NVM,
 *      DRAM -> DRAM;
 *   3. memkind's MEMKIND_HBW_NODES names the node -> HBM;
 *   4. a CPU-less node with local bandwidth >= the HBM threshold
 *      (memkind's 204800 MiB/s, or AML_HBM_THRESHOLD) -> HBM. memkind
 *      applies the threshold to every node, but one socket of 8-channel
 *      DDR5-4800 already gives 307 GB/s (292969 MiB/s): ordinary DDR5 would
 *      pass. Flat-mode HBM (KNL MCDRAM, Xeon Max, HMAT-described HBM) is
 *      always CPU-less; HBM with CPUs (HBM-only modes) needs rule 1 or 2;
 *   5. a CPU-less node whose local latency is at least 1.5 times that of the
 *      fastest node with CPUs -> CXL (far memory: CXL adds 70-90 ns to
 *      ~110 ns DDR, while a CPU-less HBM node is within ~20 %);
 *   6. otherwise DRAM.
 */
#include "aml/src/device/classify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/bitmap.h>
#include <aml/error.h>

#include "aml/src/quote.h"

/* Read a node-list variable into *out; false if unset or malformed. */
static bool classify_read_nodes(const char *name, struct aml_bitmap *out)
{
	const char *value = getenv(name);
	if (value == NULL)
		return false;
	if (aml_bitmap_parse(out, value) != 0) {
		char q[AML_ENV_QUOTE_SIZE];
		fprintf(stderr, "aml: ignoring %s=%s: not a node list\n", name,
		        aml_env_quote(q, value));
		return false;
	}
	return true;
}

void aml_classify_env_read(struct aml_classify_env *env)
{
	*env = (struct aml_classify_env){
	        .hbm_threshold = AML_HBM_THRESHOLD_DEFAULT,
	};
	env->has_hbm_nodes =
	        classify_read_nodes("AML_HBM_NODES", &env->hbm_nodes);
	env->has_memkind_nodes =
	        classify_read_nodes("MEMKIND_HBW_NODES", &env->memkind_nodes);
	const char *threshold = getenv("AML_HBM_THRESHOLD");
	if (threshold != NULL) {
		char q[AML_ENV_QUOTE_SIZE];
		char *end;
		unsigned long long mib = strtoull(threshold, &end, 10);
		/* MiB/s, as memkind's MEMKIND_HBW_THRESHOLD; the bound keeps
		 * the conversion to bytes from overflowing. */
		if (*threshold >= '0' && *threshold <= '9' && *end == '\0' &&
		    mib > 0 && mib < UINT64_MAX >> 20)
			env->hbm_threshold = (uint64_t)mib << 20;
		else
			fprintf(stderr,
			        "aml: ignoring AML_HBM_THRESHOLD=%s: not a "
			        "bandwidth in MiB/s\n",
			        aml_env_quote(q, threshold));
	}
}

/* Kind named by an hwloc subtype, or -1 when the subtype says nothing. */
static int classify_subtype(const char *subtype)
{
	if (subtype == NULL || subtype[0] == '\0')
		return -1;
	if (strcmp(subtype, "MCDRAM") == 0 || strcmp(subtype, "HBM") == 0)
		return AML_DEVICE_HBM;
	if (strncmp(subtype, "CXL", 3) == 0)
		return AML_DEVICE_CXL;
	if (strcmp(subtype, "NVM") == 0 || strcmp(subtype, "PMEM") == 0)
		return AML_DEVICE_NVM;
	if (strcmp(subtype, "DRAM") == 0)
		return AML_DEVICE_DRAM;
	return -1;
}

/* latency >= 1.5 x reference, exactly: in 128 bits, as a file may give
 * latencies past 2^63 ns, which 2 x latency in 64 bits wraps to "near". */
static bool classify_is_far(uint64_t latency_ns, uint64_t reference_ns)
{
	__extension__ typedef unsigned __int128 u128;
	return (u128)2 * latency_ns >= (u128)3 * reference_ns;
}

enum aml_device_kind aml_classify(const struct aml_device *dev,
                                  const char *subtype,
                                  const struct aml_classify_env *env)
{
	size_t node = (size_t)dev->numa_id;
	/* With AML_HBM_NODES, no other rule may make a node HBM. */
	bool listed = env->has_hbm_nodes &&
	              aml_bitmap_is_set(&env->hbm_nodes, node) == 1;
	if (listed)
		return AML_DEVICE_HBM;
	bool may_be_hbm = !env->has_hbm_nodes;

	int by_subtype = classify_subtype(subtype);
	if (by_subtype == AML_DEVICE_HBM)
		return may_be_hbm ? AML_DEVICE_HBM : AML_DEVICE_DRAM;
	if (by_subtype >= 0)
		return (enum aml_device_kind)by_subtype;
	if (may_be_hbm && env->has_memkind_nodes &&
	    aml_bitmap_is_set(&env->memkind_nodes, node) == 1)
		return AML_DEVICE_HBM;
	if (dev->ninitiators == 0)
		return AML_DEVICE_DRAM;
	const struct aml_device_perf *local = &dev->initiators[0].perf;
	bool cpuless = aml_bitmap_count(&dev->cpus) == 0;
	if (may_be_hbm && cpuless && local->bandwidth >= env->hbm_threshold)
		return AML_DEVICE_HBM;
	if (cpuless && local->latency_ns != 0 &&
	    env->cpu_node_latency_ns != 0 &&
	    classify_is_far(local->latency_ns, env->cpu_node_latency_ns))
		return AML_DEVICE_CXL;
	return AML_DEVICE_DRAM;
}
