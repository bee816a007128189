// SPDX-License-Identifier: BSD-3-Clause
// The main job: every block of aml next to the peer it replaces, and the
// tier benchmarks, in one run that ends with a table of figures and ratios.
//
//   bazel run -c opt //bench:aml_bench
//   bazel run -c opt //bench:aml_bench -- --emulate=xeon-max-flat
//   bazel run -c opt //bench:aml_bench -- --delay     (wall-clock tiers)
//   bazel run -c opt //bench:aml_bench -- --benchmark_out=r.json
//           --benchmark_out_format=json              (one line)
//
// It prints the machine, then one line per benchmark as it finishes, then
// the table. The tier benchmarks run on this machine's tiers when it has
// high-bandwidth memory, else on the emulated knl-flat (bench/tier.h).
// Every google-benchmark flag works; --benchmark_filter=REGEX runs a
// subset (by default: the benchmarks the table needs). Figures are medians
// of three repetitions unless --benchmark_repetitions says otherwise, run
// in a random order (--benchmark_enable_random_interleaving=false: in
// turn).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <aml.h>

#include "bench/fair_order.h"
#include "bench/tier.h"

namespace
{

// One row of the table: aml's benchmark, the peer's, and what they do.
// Ratio = peer time / aml time: above 1, aml is faster. Tier rows compare
// where the data lives (the peer is the slow tier).
struct Pair {
	const char *block;
	const char *figure;
	const char *aml;
	const char *peer;
	const char *peer_name;
};

const Pair kPairs[] = {
        {"bitmap", "set, count, iterate 1024 bits", "bitmap/set_count_scan/aml",
         "bitmap/set_count_scan/libnuma", "libnuma bitmask"},
        {"device", "map + touch + unmap 2 MiB",
         "device/map_touch_unmap/aml_numa_device/2097152",
         "device/map_touch_unmap/numa_alloc_onnode/2097152",
         "numa_alloc_onnode"},
        {"area", "bound map + unmap 2 MiB", "area/map_unmap/aml_bind/2097152",
         "area/map_unmap/numa_alloc_onnode/2097152", "numa_alloc_onnode"},
        {"arena", "pool malloc + free 64 B", "arena/malloc_free/aml_pool/64",
         "arena/malloc_free/glibc_malloc/64", "glibc malloc"},
        {"arena", "bump malloc + free 64 B", "arena/malloc_free/aml_bump/64",
         "arena/malloc_free/glibc_malloc/64", "glibc malloc"},
        {"arena", "pool malloc + free 64 B", "arena/malloc_free/aml_pool/64",
         "arena/malloc_free/memkind_malloc/64", "memkind_malloc"},
        {"binding", "apply to 64 MiB", "binding/apply/aml_block/67108864",
         "binding/apply/mbind/67108864", "mbind(MPOL_MF_MOVE)"},
        {"binding", "check 64 MiB", "binding/check/aml_block/67108864",
         "binding/check/move_pages/67108864", "move_pages"},
        {"tiling", "tile pointer, 2-d", "tiling/tile_ptr/aml_2d",
         "tiling/tile_ptr/by_hand_2d", "index by hand"},
        {"dma", "copy 1 MiB", "dma/copy/aml_par/1048576",
         "dma/copy/memcpy/1048576", "memcpy"},
        {"dma", "copy 64 MiB, 2 workers", "dma/copy/aml_par_2_workers/67108864",
         "dma/copy/memcpy/67108864", "memcpy"},
        {"dma", "copy 64 MiB", "dma/copy/aml_par/67108864",
         "dma/copy/stream_copy_2_threads/67108864", "STREAM, 2 threads"},
        {"dma", "async copy 4 KiB + wait, inline",
         "dma/async_round_trip/aml_par_inline/4096", "dma/copy/memcpy/4096",
         "memcpy"},
        {"dma", "async copy 4 KiB + wait, worker",
         "dma/async_round_trip/aml_par_worker/4096", "dma/copy/memcpy/4096",
         "memcpy"},
        {"dma", "64 async copies of 16 KiB, inline",
         "dma/batch_64x16KiB/aml_par_inline", "dma/batch_64x16KiB/memcpy",
         "memcpy"},
        {"scratchpad", "pull a 32 KiB tile (miss)",
         "scratchpad/pull_miss/aml/32768", "scratchpad/pull_miss/by_hand/32768",
         "memcpy by hand"},
        {"replicaset", "refresh 16 MiB replicas",
         "replicaset/refresh/aml_par/16777216",
         "replicaset/refresh/memcpy/16777216", "memcpy"},
        {"emulator", "charged copy 1 MiB", "emulator/copy/aml_emu_copy/1048576",
         "emulator/copy/memcpy/1048576", "memcpy"},
        {"tier", "triad x10, data in fast tier", "tier/triad/fast",
         "tier/triad/slow", "data in slow tier"},
        {"tier", "triad x10, slow + scratchpad", "tier/triad/slow_scratchpad",
         "tier/triad/slow", "data in slow tier"},
        {"tier", "matmul, data in fast tier", "tier/matmul/fast",
         "tier/matmul/slow", "data in slow tier"},
        {"tier", "matmul, slow + scratchpad", "tier/matmul/slow_scratchpad",
         "tier/matmul/slow", "data in slow tier"},
        // Plain loops: no aml call inside, charged by the emulator's access
        // accounting on an emulated machine.
        {"tier", "plain triad x10, fast tier", "tier/triad_plain/fast",
         "tier/triad_plain/slow", "data in slow tier"},
        {"tier", "plain triad x10, slow + scratchpad",
         "tier/triad_plain/slow_scratchpad", "tier/triad_plain/slow",
         "data in slow tier"},
        {"tier", "plain matmul, fast tier", "tier/matmul_plain/fast",
         "tier/matmul_plain/slow", "data in slow tier"},
};

// A benchmark's name without the suffixes google-benchmark adds
// (iterations:, real_time, manual_time, ...): what kPairs names.
std::string Key(const benchmark::BenchmarkReporter::Run &run)
{
	const auto &n = run.run_name;
	return n.args.empty() ? n.function_name
	                      : n.function_name + "/" + n.args;
}

std::string Escape(const std::string &s)
{
	std::string out;
	for (char c : s) {
		if (std::strchr("^$.|?*+()[]{}\\", c) != nullptr)
			out += '\\';
		out += c;
	}
	return out;
}

// Every benchmark the table needs, as one anchored regex.
std::string DefaultFilter()
{
	std::map<std::string, bool> keys;
	for (const Pair &p : kPairs) {
		keys[p.aml] = true;
		keys[p.peer] = true;
	}
	std::string filter;
	for (const auto &k : keys)
		filter += (filter.empty() ? "^(" : "|") + Escape(k.first);
	return filter + ")(/|$)";
}

std::string FormatNs(double ns)
{
	char buf[32];
	if (ns < 1e3)
		snprintf(buf, sizeof(buf), "%.3g ns", ns);
	else if (ns < 1e6)
		snprintf(buf, sizeof(buf), "%.3g us", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, sizeof(buf), "%.3g ms", ns / 1e6);
	else
		snprintf(buf, sizeof(buf), "%.3g s", ns / 1e9);
	return buf;
}

// Prints one line per benchmark as it ends, and keeps each one's figure:
// the median when repeated, else the single run.
class ProgressReporter : public benchmark::BenchmarkReporter
{
      public:
	explicit ProgressReporter(size_t expected) : expected_(expected)
	{
	}
	bool ReportContext(const Context &) override
	{
		return true;
	}
	void ReportRuns(const std::vector<Run> &runs) override
	{
		if (runs.empty())
			return;
		const Run *pick = &runs.back();
		for (const Run &r : runs)
			if (r.run_type == Run::RT_Aggregate &&
			    r.aggregate_name == "median")
				pick = &r;
		std::string key = Key(*pick);
		if (done_.count(key) != 0)
			return;
		done_[key] = true;
		std::string figure;
		if (pick->error_occurred) {
			figure = "skipped: " + pick->error_message;
		} else {
			double ns = pick->GetAdjustedRealTime() * 1e9 /
			            benchmark::GetTimeUnitMultiplier(
			                    pick->time_unit);
			ns_[key] = ns;
			auto c = pick->counters.find("modelled");
			modelled_[key] = c != pick->counters.end() &&
			                 c->second.value > 0;
			figure = FormatNs(ns);
		}
		std::string count = std::to_string(done_.size());
		if (expected_ > 0)
			count += "/" + std::to_string(expected_);
		fprintf(stdout, "  [%5s] %-50s %s\n", count.c_str(),
		        key.c_str(), figure.c_str());
		fflush(stdout);
	}
	const std::map<std::string, double> &figures() const
	{
		return ns_;
	}
	// Benchmarks timed on the emulator's virtual clock.
	const std::map<std::string, bool> &modelled() const
	{
		return modelled_;
	}

      private:
	size_t expected_;
	std::map<std::string, bool> done_;
	std::map<std::string, double> ns_;
	std::map<std::string, bool> modelled_;
};

size_t CountDefaultBenchmarks()
{
	std::map<std::string, bool> keys;
	for (const Pair &p : kPairs) {
		keys[p.aml] = true;
		keys[p.peer] = true;
	}
	return keys.size();
}

// Each row says whether its times are modelled (the emulator's virtual
// clock) or measured (wall-clock, delay mode included).
void PrintTable(const std::map<std::string, double> &ns,
                const std::map<std::string, bool> &modelled)
{
	printf("\n%-10s  %-34s  %10s  %-18s  %10s  %8s  %s\n", "block",
	       "figure", "aml", "peer", "peer's", "peer/aml", "time");
	printf("%s\n", std::string(110, '-').c_str());
	size_t rows = 0;
	for (const Pair &p : kPairs) {
		auto a = ns.find(p.aml), b = ns.find(p.peer);
		if (a == ns.end() || b == ns.end() || a->second <= 0)
			continue;
		rows++;
		auto ma = modelled.find(p.aml), mb = modelled.find(p.peer);
		bool both = ma != modelled.end() && ma->second &&
		            mb != modelled.end() && mb->second;
		printf("%-10s  %-34s  %10s  %-18s  %10s  %7.2fx  %s\n", p.block,
		       p.figure, FormatNs(a->second).c_str(), p.peer_name,
		       FormatNs(b->second).c_str(), b->second / a->second,
		       both ? "modelled" : "measured");
	}
	if (rows == 0)
		printf("(no benchmark that ran has its peer among them)\n");
	printf("\npeer/aml above 1: aml (or the fast tier) is faster. Tier "
	       "rows: the time with data in the slow tier over the row's.\n");
}

void PrintMachine(const aml_bench::TierMachine &tiers)
{
	char host[256] = "?";
	gethostname(host, sizeof(host) - 1);
	time_t now = time(nullptr);
	char date[32];
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M", localtime(&now));
	printf("aml %s benchmarks, %s on %s (%ld CPUs, %zu-byte pages)\n",
	       aml_version_string(), date, host, sysconf(_SC_NPROCESSORS_ONLN),
	       aml_page_size());
	const struct aml_topology *t = aml_topology_default();
	if (t != nullptr) {
		printf("memory devices (%s):\n", aml_topology_source(t));
		AML_TOPOLOGY_FOREACH (d, t) {
			char cpus[AML_BITMAP_FORMAT_MAX] = "";
			aml_bitmap_format(&d->cpus, cpus, sizeof(cpus));
			printf("  %-8s %-4s %7.1f GiB  cpus %s\n", d->name,
			       aml_device_kind_name(d->kind),
			       (double)d->capacity / (1u << 30),
			       cpus[0] != '\0' ? cpus : "-");
		}
	}
	printf("%s\n\n", tiers.Describe().c_str());
}

int Usage(const char *argv0)
{
	fprintf(stderr,
	        "usage: %s [--emulate=SPEC] [--delay] [google-benchmark "
	        "flags]\n"
	        "  --emulate=SPEC  run the tier benchmarks on an emulated "
	        "machine\n"
	        "                  (a preset: knl-flat, xeon-max-flat, "
	        "cxl-tiered,\n"
	        "                  qemu-3node; or a spec, docs/emulator.md)\n"
	        "  --delay         emulator delay mode: tiers in wall-clock "
	        "time\n",
	        argv0);
	return 2;
}

} // namespace

int main(int argc, char **argv)
{
	AML_VERSION_CHECK();
	// Our flags first; google-benchmark takes the rest.
	aml_bench::TierOptions tiers;
	std::vector<char *> args;
	for (int i = 0; i < argc; i++) {
		if (i > 0 && std::strncmp(argv[i], "--emulate=", 10) == 0)
			tiers.emulate = argv[i] + 10;
		else if (i > 0 && std::strcmp(argv[i], "--delay") == 0)
			tiers.delay = true;
		else if (i > 0 && (std::strcmp(argv[i], "--help") == 0 ||
		                   std::strcmp(argv[i], "-h") == 0))
			return Usage(argv[0]);
		else
			args.push_back(argv[i]);
	}
	bool filtered = aml_bench::HasFlag(argc, argv, "--benchmark_filter");
	std::string filter = "--benchmark_filter=" + DefaultFilter();
	std::string min_time = "--benchmark_min_time=0.2";
	if (!filtered)
		args.push_back(&filter[0]);
	if (!aml_bench::HasFlag(argc, argv, "--benchmark_min_time"))
		args.push_back(&min_time[0]);
	if (!aml_bench::InitializeInFairOrder(args))
		return Usage(argv[0]);

	aml_bench::SetTierOptions(tiers);
	PrintMachine(aml_bench::Tiers());
	if (!aml_bench::Tiers().ok())
		fprintf(stderr, "tier benchmarks will be skipped: %s\n",
		        aml_bench::Tiers().error().c_str());
	size_t expected = filtered ? 0 : CountDefaultBenchmarks();
	printf("running %s benchmarks, each next to its peer:\n",
	       filtered ? "the chosen" : std::to_string(expected).c_str());
	fflush(stdout);
	ProgressReporter progress(expected);
	benchmark::RunSpecifiedBenchmarks(&progress);
	PrintTable(progress.figures(), progress.modelled());
	benchmark::Shutdown();
	return 0;
}
