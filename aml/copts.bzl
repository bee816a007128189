"""Flags for aml's own targets. Never applied to dependencies.

Flags needed for correctness (-std, _GNU_SOURCE, -pthread) live here or in BUILD
files, because a workspace that depends on @aml never reads our .bazelrc.
-Werror is added by .bazelrc for in-repo builds only.
"""

AML_COPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Wpedantic",
    "-Wshadow",
    "-Wstrict-prototypes",
    "-Wmissing-prototypes",
    "-Wpointer-arith",
    "-Wcast-qual",
    "-Wundef",
    "-Wvla",
    "-Wwrite-strings",
]

AML_TEST_COPTS = [
    "-std=c++17",
    "-Wall",
    "-Wextra",
]
