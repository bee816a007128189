#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Growth exponent of a benchmark family: the log-log slope over its size.

Reads google-benchmark JSON output (one file or several runs of the same
benchmarks) and, for each family of names that differ only in a size n,
prints the least-squares slope of log(value) over log(n): 0 is a value
flat in n, 1 a value that grows like n, 2 like n^2. The size is the last
component of the name that is a number (suffixes such as "real_time" stay
in the family's name). The value is the median over the files and
repetitions given (aggregate rows are skipped): cpu_time (the default),
real_time, or a counter.

  bazel run -c opt //bench:device_bench -- \\
      --benchmark_filter=topology/rank/xml --benchmark_repetitions=5 \\
      --benchmark_out=/tmp/rank.json --benchmark_out_format=json
  python3 bench/loglog_slope.py /tmp/rank.json
  python3 bench/loglog_slope.py /tmp/inflight.json \\
      --family inflight_4KiB --value per_request

--family keeps the names that contain a regular expression; --range LO:HI
fits only sizes LO <= n <= HI (as for a regime within the family).
"""
import argparse
import collections
import json
import math
import re
import statistics

TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def slope(points):
    """Least-squares slope of log10(y) over log10(x); None below 2 sizes."""
    if len(points) < 2:
        return None
    xs = [math.log10(x) for x, _ in points]
    ys = [math.log10(y) for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def families(paths, family, value):
    """{family name: {n: median value}} from the files' runs."""
    runs = collections.defaultdict(lambda: collections.defaultdict(list))
    for path in paths:
        with open(path) as f:
            for b in json.load(f)["benchmarks"]:
                if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                    continue
                name = b.get("run_name", b["name"])
                if family and not re.search(family, name):
                    continue
                # The size is the last number among the name's parts,
                # before suffixes such as "real_time" or "threads:2".
                parts = name.split("/")
                at = [i for i, p in enumerate(parts) if p.isdigit()]
                if not at or value not in b:
                    continue
                last = parts[at[-1]]
                head = "/".join(parts[:at[-1]] + parts[at[-1] + 1:])
                v = b[value]
                if value in ("cpu_time", "real_time"):
                    v *= TO_NS[b.get("time_unit", "ns")]
                runs[head][int(last)].append(v)
    return {head: {n: statistics.median(vs) for n, vs in sizes.items()}
            for head, sizes in runs.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+", help="benchmark JSON output")
    parser.add_argument("--family", default="", help="name regex")
    parser.add_argument("--value", default="cpu_time",
                        help="cpu_time, real_time or a counter's name")
    parser.add_argument("--range", default="", help="LO:HI sizes to fit")
    args = parser.parse_args()
    lo, hi = 0, math.inf
    if args.range:
        lo_s, hi_s = args.range.split(":")
        lo, hi = int(lo_s or 0), int(hi_s) if hi_s else math.inf
    timed = args.value in ("cpu_time", "real_time")
    for head, sizes in sorted(families(args.json, args.family,
                                       args.value).items()):
        points = sorted((n, v) for n, v in sizes.items()
                        if lo <= n <= hi and v > 0)
        s = slope(points)
        values = ", ".join(
            ("%d: %.4g ns" if timed else "%d: %.4g") % (n, v)
            for n, v in points)
        print("%-28s exponent %s  (%s)" %
              (head, "-" if s is None else "%.2f" % s, values))


if __name__ == "__main__":
    main()
