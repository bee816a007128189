/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: the rule that decides a NUMA node's kind (docs/classification.md).
 */
#ifndef AML_SRC_DEVICE_CLASSIFY_H
#define AML_SRC_DEVICE_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>

#include <aml/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Default HBM threshold: memkind's, 204800 MiB/s, in bytes per second. */
#define AML_HBM_THRESHOLD_DEFAULT (204800ULL * 1024 * 1024)

/** Everything the rule looks at, gathered once per topology. */
struct aml_classify_env {
	/** AML_HBM_NODES was set: it alone decides which nodes are HBM. */
	bool has_hbm_nodes;
	struct aml_bitmap hbm_nodes;
	/** MEMKIND_HBW_NODES was set: memkind treats these nodes as HBM. */
	bool has_memkind_nodes;
	struct aml_bitmap memkind_nodes;
	/** Bandwidth (bytes/s) from which a node is HBM (AML_HBM_THRESHOLD,
	 * given in MiB/s like memkind's MEMKIND_HBW_THRESHOLD). */
	uint64_t hbm_threshold;
	/** Lowest latency of a node with CPUs (ns), 0 when unknown. */
	uint64_t cpu_node_latency_ns;
};

/**
 * Read AML_HBM_NODES, MEMKIND_HBW_NODES and AML_HBM_THRESHOLD. A malformed
 * variable is ignored with a message on stderr (it must not stop a program
 * that would run without it).
 */
void aml_classify_env_read(struct aml_classify_env *env);

/** Kind of the node @p dev, whose hwloc subtype is @p subtype ("" if none). */
enum aml_device_kind aml_classify(const struct aml_device *dev,
                                  const char *subtype,
                                  const struct aml_classify_env *env);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_DEVICE_CLASSIFY_H */
