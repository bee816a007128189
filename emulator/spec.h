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
 *           | 'access' ':' field (',' field)*   a tier seen from another
 *           | 'scale' '=' int ['/' int]   capacities are multiplied by it
 *           | 'mode' '=' ('account' | 'delay')
 *           | 'placement' '=' ('touch' | 'map')   when pages are placed (said
 *                                   touch: even without privilege)
 *           | 'accesses' '=' ('off' | 'on' | 'sampled')   access
 *                                   accounting
 *           | 'sockets' '=' int           QEMU's sockets (-smp)
 *   field  := key '=' value
 *   '#' starts a comment that runs to the end of the line; blanks (space,
 *   tab) around tokens are ignored.
 *
 * Tier keys: name (required, [a-z0-9_-], 1-31 chars, unique), kind
 * (DRAM|HBM|CXL|NVM, required), capacity (required; B, KiB, MiB, GiB, TiB,
 * KB, MB, GB, TB), bw (read and write) or read_bw and write_bw (B/s, KB/s,
 * MB/s, GB/s, TB/s, KiB/s, MiB/s, GiB/s, TiB/s), latency (read and write) or
 * read_latency and write_latency (ns, us), cpus (a numactl list of host CPUs,
 * "all" for every CPU the process may use, or "none"; default none), vcpus
 * (the number of guest CPUs QEMU gives the tier's node, 1 to
 * AML_EMU_VCPUS_MAX; guest CPUs are numbered in tier order), usable (a
 * capacity, at most the tier's: what the kernel reports as the node's
 * memory). A tier with vcpus and no cpus key gets the guest's CPU numbers as
 * its cpus, so that the emulator and the guest agree on which CPU is whose.
 * hugepages_2m (an integer, default 0): 2 MiB hugetlb pages reserved on the
 * tier, as nodeN/hugepages/hugepages-2048kB/nr_hugepages; at most what its
 * capacity holds once scaled (fewer are reserved, as the kernel does).
 * hugepages_1g (likewise): 1 GiB hugetlb pages, as
 * nodeN/hugepages/hugepages-1048576kB/nr_hugepages, reserved before the
 * 2 MiB ones when the tier cannot hold both.
 *
 * Access keys: from and to (names of tiers given before the item; from has
 * CPUs: cpus or vcpus; from != to; each pair once), and bw or read_bw and
 * write_bw, latency or read_latency and write_latency as in a tier: the
 * figures of tier "to" seen from the CPUs of tier "from". Pairs without an
 * access item see the tier's own figures.
 *
 * sockets: an integer from 1 to the total vcpus, which it divides; QEMU's
 * -smp sockets= (the emulator ignores it).
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
/** Most access items a spec may give. */
#define AML_EMU_ACCESS_MAX 256
/** Most guest CPUs a tier may have (QEMU's -smp bound is far above). */
#define AML_EMU_VCPUS_MAX 64

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
	/** Guest CPUs QEMU gives the node; 0 when not given. */
	unsigned vcpus;
	/** Bytes the kernel reports (before scaling); 0 when not given. The
	 * emulator uses it as the device's capacity, QEMU gets capacity. */
	uint64_t usable;
	/** 2 MiB hugetlb pages reserved on the tier; 0 when not given. */
	uint64_t hugepages_2m;
	/** 1 GiB hugetlb pages reserved on the tier; 0 when not given. */
	uint64_t hugepages_1g;
};

/** Tier @c to seen from the CPUs of tier @c from (an access item). */
struct aml_emu_spec_access {
	/** Tier indices; from != to, from has CPUs. */
	size_t from;
	size_t to;
	/** Bytes per second. */
	uint64_t read_bw;
	uint64_t write_bw;
	/** Nanoseconds. */
	uint64_t read_latency_ns;
	uint64_t write_latency_ns;
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
	/** placement=map: pages placed when mapped, not when first touched
	 * (the default, where the host allows userfaultfd). */
	bool place_at_map;
	/** placement=touch, said: at first touch even where only the
	 * program's own touches can be reported (UFFD_USER_MODE_ONLY). */
	bool place_at_touch;
	/** accesses=on or sampled: ordinary loads and stores are
	 * accounted, AML_EMU_ACCESSES_ON or AML_EMU_ACCESSES_SAMPLED
	 * (aml_emu_set_access_accounting()); AML_EMU_ACCESSES_OFF by
	 * default. */
	int accesses;
	/** Access items, in the order given. */
	size_t naccess;
	struct aml_emu_spec_access access[AML_EMU_ACCESS_MAX];
	/** QEMU's sockets; 0 when not given. */
	unsigned sockets;
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
 *         a scale of 0 or with a zero denominator, mode or placement
 *         given twice or unknown, a scale that takes a
 *         tier's capacity past 64 bits (the offset is the scale's); a
 *         usable capacity above the capacity, vcpus of 0 or above
 *         AML_EMU_VCPUS_MAX, or more than AML_BITMAP_MAX in all; an access
 *         item naming an unknown (or later)
 *         tier, from a tier without CPUs, from a tier to itself, or a pair
 *         given twice, more than AML_EMU_ACCESS_MAX of them; sockets of 0,
 *         given twice, or that do not divide the total vcpus.
 */
int aml_emu_spec_parse(const char *text,
                       struct aml_emu_spec *out,
                       struct aml_emu_error *error);

/**
 * The spec text of a preset: the compiled ones ("knl-flat",
 * "xeon-max-flat", "cxl-tiered", "single"), then the machine files of
 * machines/ (NAME.spec is preset NAME: "qemu-3node", ...), embedded at build
 * time. @return the text, or NULL for an unknown name.
 */
const char *aml_emu_preset(const char *name);

/** The preset names, NULL-terminated. */
extern const char *const aml_emu_preset_names[];

#ifdef __cplusplus
}
#endif

#endif /* AML_EMULATOR_SPEC_H */
