// SPDX-License-Identifier: BSD-3-Clause
#include "bench/tier.h"

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace aml_bench
{
namespace
{

TierOptions g_options;
bool g_options_set = false;

// The DRAM device nearest to the calling CPU, else the first DRAM one.
const struct aml_device *NearestDram(const struct aml_topology *t)
{
	const struct aml_device *near = aml_topology_nearest(t, -1);
	if (near != nullptr && near->kind == AML_DEVICE_DRAM)
		return near;
	const struct aml_device *dram = nullptr;
	if (aml_topology_by_kind(t, AML_DEVICE_DRAM, &dram, 1) > 0)
		return dram;
	return near;
}

// fast: the best-bandwidth HBM device, else the nearest DRAM; slow: the
// nearest DRAM when fast is HBM, else the best CXL or NVM device. Equal
// when the machine has one tier.
void PickTiers(const struct aml_topology *t,
               const struct aml_device **slow,
               const struct aml_device **fast)
{
	const struct aml_device *ranked[64];
	int n = aml_topology_rank(t, AML_RANK_BANDWIDTH, nullptr, ranked, 64);
	const struct aml_device *dram = NearestDram(t);
	*fast = *slow = dram;
	for (int i = 0; i < n; i++) {
		if (ranked[i]->kind == AML_DEVICE_HBM) {
			*fast = ranked[i];
			return;
		}
	}
	for (int i = 0; i < n; i++) {
		if (ranked[i]->kind == AML_DEVICE_CXL ||
		    ranked[i]->kind == AML_DEVICE_NVM) {
			*slow = ranked[i];
			return;
		}
	}
}

std::string DeviceLine(const struct aml_device *d)
{
	char line[256];
	const struct aml_device_perf *p = aml_device_perf_from(d, nullptr);
	int n = snprintf(line, sizeof(line), "%s %s (NUMA node %d), %.1f GiB",
	                 aml_device_kind_name(d->kind), d->name, d->numa_id,
	                 (double)d->capacity / (1u << 30));
	if (p != nullptr && n > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n,
		         ", %.0f GB/s, %llu ns", (double)p->bandwidth / 1e9,
		         (unsigned long long)p->latency_ns);
	return line;
}

} // namespace

void SetTierOptions(const TierOptions &options)
{
	g_options = options;
	g_options_set = true;
}

TierMachine::TierMachine()
{
	TierOptions options = g_options;
	if (!g_options_set) {
		const char *delay = getenv("AML_BENCH_DELAY");
		options.delay = delay != nullptr && strcmp(delay, "1") == 0;
	}
	Choose(options);
	if (!ok())
		return;
	if (aml_area_device_init(&slow_, topology_, &slow_device_, 1,
	                         AML_AREA_BIND, nullptr) != 0 ||
	    aml_area_device_init(&fast_, topology_, &fast_device_, 1,
	                         AML_AREA_BIND, nullptr) != 0) {
		aml_area_device_fini(&slow_);
		error_ = "cannot make areas bound to the tiers";
		return;
	}
	areas_ = true;
}

void TierMachine::Choose(const TierOptions &options)
{
	std::string spec = options.emulate;
	const char *env = getenv("AML_EMULATE");
	if (spec.empty() && env != nullptr && env[0] != '\0')
		spec = env;
	if (spec.empty()) {
		const struct aml_topology *real = aml_topology_default();
		if (real == nullptr) {
			error_ = std::string("no topology: ") +
			         aml_strerror(aml_errno);
			return;
		}
		PickTiers(real, &slow_device_, &fast_device_);
		if (slow_device_ != fast_device_) {
			topology_ = real;
			source_ = std::string("this machine (") +
			          aml_topology_source(real) + ")";
			return;
		}
		spec = kDefaultEmulation;
		source_ = "this machine has one memory tier: emulated ";
	} else {
		source_ = "emulated ";
	}
	struct aml_emu_error why = {};
	int err = aml_emu_create(&owned_, spec.c_str(), &why);
	if (err != 0) {
		error_ = "cannot emulate \"" + spec +
		         "\": " + aml_strerror(err) + " (at byte " +
		         std::to_string(why.offset) + ": " + why.reason + ")";
		return;
	}
	topology_ = owned_;
	emulated_ = true;
	delay_ = options.delay;
	source_ += spec;
	if (delay_ && aml_emu_set_mode(owned_, AML_EMU_DELAY) != 0) {
		error_ = "cannot turn delay mode on";
		return;
	}
	const char *accesses = getenv("AML_BENCH_ACCESSES");
	if (accesses != nullptr && strcmp(accesses, "on") == 0)
		accesses_ = AML_EMU_ACCESSES_ON;
	// Access accounting raises the dilation of delay mode once on: raised
	// now, every tier benchmark runs with the same, plain or not.
	if (delay_ && (aml_emu_set_access_accounting(owned_, accesses_) != 0 ||
	               aml_emu_set_access_accounting(owned_, 0) != 0)) {
		error_ = "cannot turn access accounting on";
		return;
	}
	PickTiers(owned_, &slow_device_, &fast_device_);
	if (slow_device_ == fast_device_)
		error_ = "\"" + spec + "\" has one memory tier";
}

TierMachine::~TierMachine()
{
	if (areas_) {
		aml_area_device_fini(&slow_);
		aml_area_device_fini(&fast_);
	}
	aml_topology_destroy(&owned_);
}

uint64_t TierMachine::NowNs() const
{
	if (modelled()) {
		struct aml_emu_clock clock = {};
		aml_emu_clock(topology_, &clock);
		return clock.thread_ns;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void TierMachine::Charge(const void *ptr, size_t size, int access) const
{
	if (emulated_)
		aml_emu_charge(topology_, ptr, size, access);
}

bool TierMachine::AccountAccesses(bool on, int mode) const
{
	if (!emulated_)
		return true;
	mode = !on ? AML_EMU_ACCESSES_OFF : mode != 0 ? mode : accesses_;
	// Off first: on again empties the cache model.
	if (on &&
	    aml_emu_access_accounting(topology_) != AML_EMU_ACCESSES_OFF &&
	    aml_emu_set_access_accounting(topology_, AML_EMU_ACCESSES_OFF) != 0)
		return false;
	return aml_emu_set_access_accounting(topology_, mode) == 0;
}

uint64_t TierMachine::ModelledNs() const
{
	struct aml_emu_clock clock = {};
	if (!emulated_ || aml_emu_clock(topology_, &clock) != 0)
		return 0;
	return clock.thread_ns;
}

std::string TierMachine::Describe() const
{
	if (!ok())
		return "tiers: " + error_;
	std::string clock =
	        modelled() ? "modelled time (the emulator's virtual clock)"
	        : emulated_
	                ? "wall-clock time (delay mode: the emulator injects "
	                  "the modelled delays)"
	                : "wall-clock time";
	return "tiers: " + source_ + "\n  fast: " + DeviceLine(fast_device_) +
	       "\n  slow: " + DeviceLine(slow_device_) + "\n  timed in " +
	       clock;
}

TierMachine &Tiers()
{
	// Made once, thread-safely; never destroyed, as benchmarks may run
	// until exit.
	static TierMachine *machine = new TierMachine();
	return *machine;
}

} // namespace aml_bench
