"""The tutorials of docs/tutorials: strict C11 programs run as tests."""

load("@rules_cc//cc:defs.bzl", "cc_test")
load("//aml:copts.bzl", "AML_COPTS")

def aml_tutorial(name, env = {}):
    """docs/tutorials/<name>.c as a test, also run with bazel run //docs:<name>.

    A tutorial checks its own results and exits non-zero on any mismatch,
    so a tutorial gone stale fails bazel test //... like any test.

    Args:
      name: the tutorial, and the stem of its source file.
      env: environment of bazel test and bazel run (AML_EMULATE, ...).
    """
    cc_test(
        name = name,
        size = "small",
        srcs = ["tutorials/%s.c" % name],
        # As a C program would be built: C11, no extensions.
        copts = AML_COPTS + ["-pedantic-errors"],
        env = env,
        tags = ["tutorial"],
        deps = ["//aml"],
    )
