#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Exponent of the cost per request against the number in flight.

Reads dma_bench's JSON output of the dma/inflight_4KiB family and prints,
per engine, the least-squares slope of log(per_request) over log(n): 0 means
a constant cost per request, 1 a cost per request that grows like n.

  bazel run -c opt //bench:dma_bench -- --benchmark_filter=inflight_4KiB \\
      --benchmark_out=/tmp/inflight.json --benchmark_out_format=json
  python3 bench/dma_inflight_slope.py /tmp/inflight.json
"""
import collections
import json
import math
import sys


def main(path):
    rows = collections.defaultdict(list)
    for b in json.load(open(path))["benchmarks"]:
        parts = b["name"].split("/")
        if parts[1] != "inflight_4KiB" or b.get("run_type") == "aggregate":
            continue
        n, per = int(parts[3]), b["per_request"]
        rows[parts[2]].append((math.log10(n), math.log10(per), n, per))
    for engine, pts in rows.items():
        mx = sum(p[0] for p in pts) / len(pts)
        my = sum(p[1] for p in pts) / len(pts)
        slope = sum((p[0] - mx) * (p[1] - my) for p in pts) / sum(
            (p[0] - mx) ** 2 for p in pts)
        costs = ", ".join("%d: %.0f ns" % (p[2], p[3] * 1e9) for p in pts)
        print("%-16s exponent %.3f  (%s)" % (engine, slope, costs))


if __name__ == "__main__":
    main(sys.argv[1])
