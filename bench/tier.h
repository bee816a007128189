// SPDX-License-Identifier: BSD-3-Clause
// The two memory tiers the tier benchmarks run on, and the clock they are
// timed with.
//
// On a machine with high-bandwidth memory, the tiers are real: "fast" is
// the HBM device with the best bandwidth from the calling CPU, "slow" the
// DRAM device nearest to it, and times are wall-clock. On a machine with
// one tier, the emulator stands in (knl-flat, scaled to fit a laptop), and
// times are the calling thread's modelled time on the virtual clock; in
// delay mode they are wall-clock again, the emulator injecting the
// modelled delays. The same rule picks the tiers of any emulated machine:
// fast is HBM (else the nearest DRAM), slow the nearest DRAM (else CXL or
// NVM), so cxl-tiered runs DRAM against CXL.
//
// AML_EMULATE=<preset or spec> (or aml_bench --emulate=...) chooses the
// emulated machine; AML_BENCH_DELAY=1 (or --delay) turns delay mode on.
// Plain loops are accounted with one page per block protected
// (AML_EMU_ACCESSES_SAMPLED: a sixteenth of the faults' wall cost, the same
// modelled time for loops that sweep their arrays);
// AML_BENCH_ACCESSES=on protects every page.
#ifndef AML_BENCH_TIER_H
#define AML_BENCH_TIER_H

#include <cstddef>
#include <cstdint>
#include <string>

#include <aml.h>
#include <aml/area/device.h>

namespace aml_bench
{

// The machine the tier benchmarks use when this one has a single tier.
constexpr const char *kDefaultEmulation = "knl-flat;scale=1/64";

// How to choose the tiers; set before the first Tiers() call.
struct TierOptions {
	// A preset or spec to emulate; empty: AML_EMULATE, else this
	// machine if it has two tiers, else kDefaultEmulation.
	std::string emulate;
	// Delay mode on an emulated machine.
	bool delay = false;
};

// Overrides the environment; to be called before Tiers().
void SetTierOptions(const TierOptions &options);

class TierMachine
{
      public:
	TierMachine();
	~TierMachine();
	TierMachine(const TierMachine &) = delete;
	TierMachine &operator=(const TierMachine &) = delete;

	// False when no two tiers could be set up; error() says why.
	bool ok() const
	{
		return error_.empty();
	}
	const std::string &error() const
	{
		return error_;
	}
	const struct aml_topology *topology() const
	{
		return topology_;
	}
	bool emulated() const
	{
		return emulated_;
	}
	// Times are modelled (virtual clock), not wall-clock.
	bool modelled() const
	{
		return emulated_ && !delay_;
	}
	const struct aml_area *slow() const
	{
		return &slow_.base;
	}
	const struct aml_area *fast() const
	{
		return &fast_.base;
	}
	const struct aml_device *slow_device() const
	{
		return slow_device_;
	}
	const struct aml_device *fast_device() const
	{
		return fast_device_;
	}

	// The benchmark clock, in nanoseconds: the calling thread's modelled
	// time, or CLOCK_MONOTONIC.
	uint64_t NowNs() const;
	// Charge an access a kernel made itself; nothing on real tiers,
	// where the hardware charges it.
	void Charge(const void *ptr, size_t size, int access) const;
	// Access accounting on or off (aml_emu_set_access_accounting): the
	// emulator charges plain loops itself, protecting every page of a
	// block or its first (mode: AML_EMU_ACCESSES_ON or _SAMPLED; 0: the
	// machine's, AML_BENCH_ACCESSES). Turning it on again empties its
	// cache model (cold caches). True on real tiers, where the hardware
	// does it.
	bool AccountAccesses(bool on, int mode = 0) const;
	// The calling thread's modelled time, whatever the clock of NowNs();
	// 0 on real tiers.
	uint64_t ModelledNs() const;
	// One paragraph: which machine, which tiers, which clock.
	std::string Describe() const;

      private:
	void Choose(const TierOptions &options);

	std::string error_;
	std::string source_;
	struct aml_topology *owned_ = nullptr;
	const struct aml_topology *topology_ = nullptr;
	bool emulated_ = false;
	bool delay_ = false;
	int accesses_ = AML_EMU_ACCESSES_SAMPLED;
	const struct aml_device *slow_device_ = nullptr;
	const struct aml_device *fast_device_ = nullptr;
	AML_AREA_DEVICE_DECL(slow_) = {};
	AML_AREA_DEVICE_DECL(fast_) = {};
	bool areas_ = false;
};

// The process's tiers, made on first use and kept until exit.
TierMachine &Tiers();

} // namespace aml_bench

#endif // AML_BENCH_TIER_H
