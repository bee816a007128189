/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The presets: machines written in the spec language itself, so that they
 * go through the same parser and checks as a user's spec. The real machines
 * are here, with their sources; the machines of the VM suite are files,
 * machines/NAME.spec, embedded at build time (emulator/BUILD.bazel makes
 * machines.inc from them), so that QEMU's command line (//tools:aml_machine)
 * and the emulator read the same text.
 *
 * Every figure has a source; docs/emulator.md has the same table with full
 * titles and addresses, and docs/topology-fixtures.md the hwloc fixtures
 * of the same machines (the figures agree). Two kinds of bandwidth are
 * used, as in those fixtures: KNL has no ACPI HMAT, so its figures are
 * sustained (STREAM) ones; Xeon Max and CXL are given what firmware HMAT
 * and CDAT tables carry, nominal peak bandwidths. Values that no source
 * gives directly are marked "modelled". Read and write figures are equal
 * unless said otherwise, because no source splits them.
 */
#include <stddef.h>
#include <string.h>

#include "emulator/spec.h"

/*
 * Intel Xeon Phi 7250 (Knights Landing), MCDRAM in flat mode, quadrant
 * clustering: MCDRAM is NUMA node 1, without CPUs.
 * - 96 GiB DDR4 (6 channels) and 16 GiB MCDRAM: NERSC, "Cori KNL Processor
 *   Modes" (Cori's KNL nodes).
 * - 90 GB/s DDR4 and 450 GB/s MCDRAM, STREAM Triad: Intel, "Intel Xeon Phi
 *   x200 Processor - Memory Modes and Cluster Modes" (DDR4 "more than 80
 *   GB/s", MCDRAM "400+ GB/s" sustained); K. Rupp, STREAM results on KNL,
 *   2016 (MCDRAM "up to 500 GB/s", DDR4 "about 100 GB/s").
 * - 130 ns DDR4 and 150 ns MCDRAM idle latency (MCDRAM is the slower one):
 *   J. D. McCalpin, "Memory Latency on the Intel Xeon Phi x200 Knights
 *   Landing processor", 2016, flat-quadrant figures, rounded.
 * - Distances 10/31: the SLIT numactl -H shows on KNL in flat mode.
 */
static const char knl_flat[] =
        "tier: name=ddr4, kind=DRAM, capacity=96GiB, bw=90GB/s, "
        "latency=130ns, cpus=all\n"
        "tier: name=mcdram, kind=HBM, capacity=16GiB, bw=450GB/s, "
        "latency=150ns\n"
        "distances: 10,31/31,10\n";

/*
 * One socket of an Intel Xeon CPU Max 9480, HBM in flat mode, quadrant
 * clustering: the DDR5 node has the CPUs, the HBM node none (as every HBM
 * node in SNC4).
 * - 128 GiB DDR5: 8 channels x 16 GiB RDIMMs (modelled: a common fit).
 *   64 GiB HBM2e: 4 stacks of 16 GB (ServeTheHome, "Intel Xeon Max 9480
 *   Deep-Dive"); Aurora's numactl shows a 65536 MB HBM node (ALCF user
 *   guide).
 * - Peak bandwidth: 8 x DDR5-4800 x 8 bytes = 307.2 GB/s; 4 HBM2e stacks
 *   = 1638.4 GB/s: J. D. McCalpin, "Bandwidth Limits in the Intel Xeon Max
 *   (Sapphire Rapids with HBM) Processors", ISC 2023 IXPUG workshop.
 *   Sustained STREAM is lower, about 3.5 x DDR5 for HBM (same talk).
 * - 110 ns DDR5, 130 ns HBM: representative idle latencies (modelled; HBM
 *   is not faster than DDR5 in latency on this part).
 * - Distances 10/13: DDR to HBM of the same socket on Aurora (2 x Xeon
 *   Max, flat, quadrant), ALCF user guide.
 */
static const char xeon_max_flat[] =
        "tier: name=ddr5, kind=DRAM, capacity=128GiB, bw=307.2GB/s, "
        "latency=110ns, cpus=all\n"
        "tier: name=hbm, kind=HBM, capacity=64GiB, bw=1638.4GB/s, "
        "latency=130ns\n"
        "distances: 10,13/13,10\n";

/*
 * A one-socket DDR5 server with a CXL 2.0 type-3 memory expander (Micron
 * CZ120-like, 128 GB, PCIe 5.0 x8), onlined as a CPU-less node.
 * - DDR5 as in xeon-max-flat: 307.2 GB/s peak, 110 ns (modelled).
 * - CXL bandwidth, one x8 PCIe 5.0 link: 32 GT/s x 8 lanes x 128/130 / 8
 *   = 31.5 GB/s per direction. Micron quotes "up to 36 GB/s" for a 2:1
 *   read/write mix, which uses both directions (Tom's Hardware, "Micron
 *   Unveils 128GB and 256GB CXL 2.0 Expansion Modules", 2023).
 * - CXL latency: DDR + 80 ns = 190 ns; CXL adds 70-90 ns to local DRAM:
 *   H. Li et al., "Pond: CXL-Based Memory Pooling Systems for Cloud
 *   Platforms", ASPLOS 2023.
 * - Distance 20: Linux's REMOTE_DISTANCE, what x86 Linux reports for a
 *   node the firmware SLIT does not describe (illustrative).
 */
static const char cxl_tiered[] =
        "tier: name=ddr5, kind=DRAM, capacity=128GiB, bw=307.2GB/s, "
        "latency=110ns, cpus=all\n"
        "tier: name=cxl, kind=CXL, capacity=128GiB, bw=31.5GB/s, "
        "latency=190ns\n"
        "distances: 10,20/20,10\n";

/*
 * A laptop: 16 GiB of dual-channel DDR4-3200, 2 x 3200 MT/s x 8 bytes =
 * 51.2 GB/s peak (JEDEC DDR4 speed bins); 90 ns is a representative idle
 * latency for a client DDR4 system (modelled).
 */
static const char single[] =
        "tier: name=dram, kind=DRAM, capacity=16GiB, bw=51.2GB/s, "
        "latency=90ns, cpus=all\n";

const char *const aml_emu_preset_names[] = {
        "knl-flat", "xeon-max-flat", "cxl-tiered", "single",
#define MACHINE(name, text) name,
#include "emulator/machines.inc"
#undef MACHINE
        NULL,
};

/* In the order of aml_emu_preset_names. */
static const char *const preset_texts[] = {
        knl_flat,
        xeon_max_flat,
        cxl_tiered,
        single,
#define MACHINE(name, text) text,
#include "emulator/machines.inc"
#undef MACHINE
};

_Static_assert(sizeof(aml_emu_preset_names) / sizeof(aml_emu_preset_names[0]) ==
                       sizeof(preset_texts) / sizeof(preset_texts[0]) + 1,
               "one text per preset name");

const char *aml_emu_preset(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; aml_emu_preset_names[i] != NULL; i++)
		if (strcmp(name, aml_emu_preset_names[i]) == 0)
			return preset_texts[i];
	return NULL;
}
