"""A google-benchmark binary and the smoke test that keeps it from rotting."""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")
load("//aml:copts.bzl", "AML_TEST_COPTS")

def aml_benchmark(name, srcs, deps, copts = [], linkopts = [], custom_main = False, smoke_size = "small", smoke_args = []):
    """`bazel run -c opt //bench:<name>`, and <name>_smoke_test in //... .

    The smoke test runs every benchmark once for a millisecond: it proves
    the sources build and run, and never checks a timing.

    Args:
      name: the benchmark binary.
      srcs: its sources, peers included.
      deps: aml targets and peer libraries; //bench:main is added unless
        custom_main.
      copts: compiler options added to aml's.
      linkopts: linker options.
      custom_main: the sources define main() (and call
        benchmark::Initialize themselves); else //bench:main, which runs
        the rows in the fair order of bench/fair_order.h.
      smoke_size: the smoke test's size, for its timeout: "medium" where
        one pass takes seconds, so that it passes on a loaded machine.
      smoke_args: more arguments for the smoke test, such as a
        --benchmark_filter that leaves out rows whose setup takes seconds
        (their code runs in the rows kept).
    """
    main = [] if custom_main else ["//bench:main"]

    # Compiled once, for the binary, its smoke test and //bench:aml_bench.
    aml_benchmark_rows(
        name = name + "_objects",
        srcs = srcs,
        copts = copts,
        linkopts = linkopts,
        visibility = ["//visibility:private"],
        deps = deps,
    )
    cc_binary(
        name = name,
        testonly = True,
        tags = ["benchmark"],
        deps = [":" + name + "_objects"] + main,
    )
    cc_test(
        name = name + "_smoke_test",
        size = smoke_size,
        args = [
            "--benchmark_min_time=0.001",
            "--benchmark_repetitions=1",
        ] + smoke_args,
        # Left out of CI's rounds under load: it proves the benchmarks
        # run, which load does not change.
        tags = ["benchmark_smoke"],
        deps = [":" + name + "_objects"] + main,
    )

def aml_benchmark_rows(name, srcs, deps, hdrs = [], copts = [], linkopts = [], visibility = None):
    """Benchmark rows compiled once, for every binary that links them.

    aml_benchmark() makes one for its binary and smoke test, which
    //bench:aml_bench links too; a set of rows without a binary of its own
    is one of these.

    Args:
      name: the library.
      srcs: its sources.
      deps: aml targets and peer libraries; google-benchmark (no main) and
        //bench:user_directory are added.
      hdrs: headers other rows include.
      copts: compiler options added to aml's.
      linkopts: linker options.
      visibility: the library's visibility.
    """

    # The benchmarks register themselves from static initialisers, hence
    # alwayslink. Linked statically into each binary: as a shared object
    # of its own (Bazel's way in a test) it would not name libnuma, and
    # its calls would bind to libnuma's oldest symbol versions
    # (numa_node_to_cpus of libnuma 1.1 takes an array and a length, not a
    # bitmask).
    cc_library(
        name = name,
        testonly = True,
        srcs = srcs,
        hdrs = hdrs,
        copts = AML_TEST_COPTS + copts,
        linkopts = linkopts,
        alwayslink = True,
        linkstatic = True,
        visibility = visibility,
        deps = deps + [
            "//bench:user_directory",
            "@aml_test_libs//:benchmark",
        ],
    )
