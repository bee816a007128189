"""googletest targets with aml's conventions."""

load("@rules_cc//cc:defs.bzl", "cc_test")
load("//aml:copts.bzl", "AML_TEST_COPTS")

def aml_gtest(name, deps = ["//aml"], size = "small", **kwargs):
    """A cc_test from <name>.cc, linked with gtest_main.

    Args:
      name: the test, and the stem of its source file.
      deps: aml targets it tests; //aml unless said otherwise.
      size: the Bazel test size; every test declares one.
      **kwargs: passed to cc_test (env, tags, ...).
    """
    cc_test(
        name = name,
        size = size,
        srcs = [name + ".cc"],
        copts = AML_TEST_COPTS,
        deps = deps + ["@aml_test_libs//:gtest_main"],
        **kwargs
    )
