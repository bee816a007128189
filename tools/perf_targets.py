#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The performance targets of the thread-scalable arena, the dma engines,
the ranking, the emulator's page table and the scratchpad, each measured
against its peer in the same run of the same binary, and checked against
its bar. Medians of --benchmark_repetitions (default 5), all repetitions in
a random order (bench/fair_order.h). Timings, not a test: CI never runs it.

    bazel build -c opt //bench:all && tools/perf_targets.py [--repetitions N]
        [--min-time S] [--bin DIR] [--only arena,dma,device,emulator,scratchpad]

On a machine whose speed drifts (a virtual machine whose host is busy now
and then), many short repetitions (`--repetitions 41 --min-time 0.02`)
spread each slow spell over every row of a ratio, where a few long ones
can leave it on one row: an arena's 16 B row and its peer's then differ
by 1.4 in one run and 1.0 in the next.

Prints one line per target: its figure, its bar, and "met" or "NOT MET";
exits 1 if a target is not met, 2 if a benchmark failed to run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = [16, 64, 256, 1024, 4096]


MIN_TIME = None  # --min-time: google-benchmark's own when None


def run(binary, pattern, repetitions):
    """Median real_time (ns) and bytes_per_second of each row matching
    pattern, and the rows that reported an error."""
    cmd = [binary, "--benchmark_filter=" + pattern, "--benchmark_format=json",
           "--benchmark_repetitions=%d" % repetitions,
           "--benchmark_enable_random_interleaving=true"]
    if MIN_TIME is not None:
        cmd.append("--benchmark_min_time=%g" % MIN_TIME)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         universal_newlines=True)
    if out.returncode != 0:
        print("perf_targets: %s failed (exit %d)" % (" ".join(cmd), out.returncode),
              file=sys.stderr)
        sys.exit(2)
    runs, errors = {}, set()
    for b in json.loads(out.stdout)["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue  # google-benchmark's aggregates: none for 1 repetition
        name = b["run_name"].replace("/real_time", "")
        if b.get("error_occurred"):
            errors.add(name)
            continue
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
        runs.setdefault(name, []).append(
            (b["real_time"] * scale, b.get("bytes_per_second", 0.0)))
    medians = {name: {"ns": statistics.median(t for t, _ in r),
                      "bps": statistics.median(bps for _, bps in r)}
               for name, r in runs.items()}
    return medians, errors


class Report:
    def __init__(self):
        self.missed = 0

    def line(self, what, figure, bar, met, unit=""):
        if not met:
            self.missed += 1
        print("%-62s %8.2f%s  bar %s%s  %s" % (what, figure, unit, bar, unit,
                                             "met" if met else "NOT MET"))


def arena(bindir, reps, report):
    peers = "aml_scalable|jemalloc|mimalloc|aml_jemalloc|memkind_malloc|aml_buddy|glibc_malloc"
    m, errors = run(os.path.join(bindir, "arena_bench"),
                    "arena/malloc_free/(%s)/(16|64|256|1024|4096)(/threads:2)?$|"
                    "arena/random_workflow/" % peers, reps)
    for threads in ["", "/threads:2"]:
        for size in SIZES:
            def ns(who):
                return m["arena/malloc_free/%s/%d%s" % (who, size, threads)]["ns"]
            for peer in ["jemalloc", "mimalloc"]:
                r = ns("aml_scalable") / ns(peer)
                report.line("arena aml_scalable/%s %d B%s (time ratio)" % (peer, size, threads),
                            r, "<= 1.2", r <= 1.2)
    for size in SIZES:
        def ns1(who):
            return m["arena/malloc_free/%s/%d" % (who, size)]["ns"]
        r = ns1("aml_jemalloc") / ns1("memkind_malloc")
        report.line("arena aml_jemalloc/memkind_malloc %d B" % size, r, "<= 1.5", r <= 1.5)
        r = ns1("aml_buddy") / ns1("glibc_malloc")
        report.line("arena aml_buddy/glibc_malloc %d B" % size, r, "<= 2", r <= 2)
    # A row whose every repetition failed has no median: its errors name it.
    for name in sorted(k for k in set(m) | errors
                       if k.startswith("arena/random_workflow/")):
        served = name not in errors
        report.line("%s served (1 = yes)" % name, 1.0 if served else 0.0, "1", served)


def dma(bindir, reps, report):
    m, _ = run(os.path.join(bindir, "dma_bench"),
               "async_round_trip/aml_par_worker/4096|"
               "inflight_4KiB/(memcpy|aml_par_worker)/1000/|"
               "batch_64x16KiB/(memcpy|aml_par_worker_2_workers)/|"
               "copy/(aml_par|stream_copy_2_threads)/(67108864|1073741824)/", reps)
    t = m["dma/async_round_trip/aml_par_worker/4096"]["ns"]
    report.line("dma worker hand-off, 4 KiB round trip", t, "<= 300", t <= 300, " ns")
    r = m["dma/inflight_4KiB/memcpy/1000"]["ns"] / m["dma/inflight_4KiB/aml_par_worker/1000"]["ns"]
    report.line("dma 1000 x 4 KiB in flight, x memcpy", r, ">= 0.9", r >= 0.9)
    r = m["dma/batch_64x16KiB/memcpy"]["ns"] / m["dma/batch_64x16KiB/aml_par_worker_2_workers"]["ns"]
    report.line("dma 64 x 16 KiB, 2 workers, x memcpy", r, ">= 1.2", r >= 1.2)
    for size, label in [(67108864, "64 MiB"), (1073741824, "1 GiB")]:
        r = (m["dma/copy/aml_par/%d" % size]["bps"] /
             m["dma/copy/stream_copy_2_threads/%d" % size]["bps"])
        report.line("dma copy %s, aml_par x STREAM copy on 2 threads" % label, r, ">= 0.9", r >= 0.9)


def device(bindir, reps, report):
    m, _ = run(os.path.join(bindir, "device_bench"), "topology/rank/(cpuset|self)/16$", reps)
    for who in ["cpuset", "self"]:
        t = m["topology/rank/%s/16" % who]["ns"]
        report.line("ranking, 16-node fixture (%s)" % who, t, "<= 100", t <= 100, " ns")


def emulator(bindir, reps, report):
    m, _ = run(os.path.join(bindir, "emulator_bench"), "replace/aml_device_map/100000$", reps)
    t = m["emulator/replace/aml_device_map/100000"]["ns"] / 1e3
    report.line("emulated page-table replace at 10^5 mappings", t, "<= 5", t <= 5, " us")


def scratchpad(bindir, reps, report):
    m, _ = run(os.path.join(bindir, "scratchpad_bench"), "pull_miss/(aml|by_hand)/4096$", reps)
    r = m["scratchpad/pull_miss/by_hand/4096"]["ns"] / m["scratchpad/pull_miss/aml/4096"]["ns"]
    report.line("scratchpad miss of a 4 KiB tile, x memcpy by hand", r, ">= 0.7", r >= 0.7)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=None,
                        help="seconds each repetition of a row runs at least")
    parser.add_argument("--bin", default=os.path.join(ROOT, "bazel-bin", "bench"))
    parser.add_argument("--only", default="arena,dma,device,emulator,scratchpad")
    args = parser.parse_args()
    global MIN_TIME
    MIN_TIME = args.min_time
    report = Report()
    blocks = {"arena": arena, "dma": dma, "device": device,
              "emulator": emulator, "scratchpad": scratchpad}
    for name in args.only.split(","):
        if name not in blocks:
            parser.error("unknown block %r" % name)
        blocks[name](args.bin, args.repetitions, report)
    print("perf_targets: %d not met" % report.missed)
    sys.exit(1 if report.missed else 0)


if __name__ == "__main__":
    main()
