/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the emulator: an emulated machine as parsed from a spec string
 * or file, before it becomes a topology.
 *
 * Grammar (docs/emulator.md is the user's version):
 *
 *   spec   := item (sep item)*           sep is ';' or a newline
 *   item   := PRESET-NAME                 a preset's tiers and distances
 *           | 'tier' ':' field (',' field)*
 *           | 'distances' ':' row ('/' row)*     row := int (',' int)*
 *           | 'scale' '=' int ['/' int]   capacities are multiplied by it
 *           | 'mode' '=' ('account' | 'delay')
 *   field  := key '=' value
 *   '#' starts a comment that runs to the end of the line; blanks (space,
 *   tab) around tokens are ignored.
 *
 * Tier keys: name (required, [a-z0-9_-], 1-31 chars, unique), kind
 * (DRAM|HBM|CXL|NVM, required), capacity (required; B, KiB, MiB, GiB, TiB,
 * KB, MB, GB, TB), bw (read and write) or read_bw and write_bw (B/s, KB/s,
 * MB/s, GB/s, TB/s, KiB/s, MiB/s, GiB/s, TiB/s), latency (read and write) or
 * read_latency and write_latency (ns, us), cpus (a numactl list of host CPUs,
 * "all" for every CPU the process may use, or "none"; default none).
 * Numbers are decimal, non-negative, may have a fraction ("1.5GiB"), and
 * must not overflow 64 bits once converted; nor may capacities once scaled.
 */
#ifndef AML_EMULATOR_SPEC_H
#define AML_EMULATOR_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/bitmap.h>
#include <aml/device.h>
#include <aml/emulator.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most tiers a spec may name. */
#define AML_EMU_TIERS_MAX 64

/** One emulated memory tier. */
struct aml_emu_tier {
	char name[AML_DEVICE_NAME_MAX];
	enum aml_device_kind kind;
	/** Bytes, before scaling. */
	uint64_t capacity;
	/** Bytes per second. */
	uint64_t read_bw;
	uint64_t write_bw;
	/** Nanoseconds. */
	uint64_t read_latency_ns;
	uint64_t write_latency_ns;
	/** cpus=all: every CPU of the process, resolved when the topology is
	 * made; else the CPUs in cpus (empty for a CPU-less tier). */
	bool cpus_all;
	struct aml_bitmap cpus;
};

/** A parsed spec. */
struct aml_emu_spec {
	size_t ntiers;
	struct aml_emu_tier tiers[AML_EMU_TIERS_MAX];
	/** SLIT-style distances (10 = local), all 0 when not given. */
	bool has_distances;
	uint8_t distances[AML_EMU_TIERS_MAX][AML_EMU_TIERS_MAX];
	/** Capacity scale scale_num / scale_den; 1/1 by default. */
	uint64_t scale_num;
	uint64_t scale_den;
	enum aml_emu_mode mode;
};

/**
 * Parse @p text (a preset name, or the grammar above) into @p out.
 * @param[out] error on AML_EINVAL: the byte offset in @p text where the
 *             problem is, and the reason in words. May be NULL.
 * @return 0; AML_EINVAL for NULL arguments or a malformed spec (@p out is
 *         then unspecified). Checks: unknown item or key, bad or missing
 *         unit, negative, fractional where not allowed, or overflowing
 *         numbers, duplicate names or keys, missing required keys, more
 *         than AML_EMU_TIERS_MAX tiers, no tier at all, distances that are
 *         not a ntiers x ntiers matrix of 10..254 with 10 on the diagonal,
 *         a scale of 0 or with a zero denominator, a scale that takes a
 *         tier's capacity past 64 bits (the offset is the scale's).
 */
int aml_emu_spec_parse(const char *text,
                       struct aml_emu_spec *out,
                       struct aml_emu_error *error);

/**
 * The spec text of a preset: "knl-flat", "xeon-max-flat", "cxl-tiered",
 * "qemu-3node", "single". @return the text, or NULL for an unknown name.
 */
const char *aml_emu_preset(const char *name);

/** The preset names, NULL-terminated. */
extern const char *const aml_emu_preset_names[];

#ifdef __cplusplus
}
#endif

#endif /* AML_EMULATOR_SPEC_H */
