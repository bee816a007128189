"""googletest targets with aml's conventions."""

load("@rules_cc//cc:defs.bzl", "cc_test")
load("@aml_host//:config.bzl", "if_hwloc", "if_memkind", "if_numa")
load("//aml:copts.bzl", "AML_TEST_COPTS")

def aml_gtest(name, deps = ["//aml"], size = "small", src = None, **kwargs):
    """A cc_test from <name>.cc, linked with gtest_main.

    Args:
      name: the test, and the stem of its source file.
      src: the source file instead, for a test run under several settings.
      deps: aml targets it tests; //aml unless said otherwise.
      size: the Bazel test size; every test declares one.
      **kwargs: passed to cc_test (env, tags, ...).
    """
    cc_test(
        name = name,
        size = size,
        srcs = [src if src else name + ".cc"],
        copts = AML_TEST_COPTS,
        deps = deps + ["@aml_test_libs//:gtest_main"],
        **kwargs
    )

# What aml calls to get memory, mappings or threads, or that fails for lack
# of them: the calls tests/testing/fault.cc wraps.
FAULT_WRAPPED = [
    "aligned_alloc",
    "calloc",
    "fopen",
    "free",
    "madvise",
    "malloc",
    "mmap",
    "munmap",
    "opendir",
    "posix_memalign",
    "pthread_create",
    "pthread_join",
    "realloc",
] + if_numa([
    "mbind",
    "move_pages",
]) + if_memkind([
    "memkind_create_fixed",
    "memkind_free",
    "memkind_malloc",
    "memkind_posix_memalign",
]) + if_hwloc([
    "hwloc_topology_init",
    "hwloc_topology_load",
])

def aml_fault_test(name, size = "medium", deps = [], **kwargs):
    """A fault-injection test (tests/testing/fault.h) from <name>.cc.

    Linked statically, so that aml's objects are in the binary, where
    -Wl,--wrap (on //tests:fault) sends their calls to the wrappers.

    Args:
      name: the test, and the stem of its source file.
      size: the Bazel test size.
      deps: more than //aml and the fault library.
      **kwargs: passed to cc_test.
    """
    cc_test(
        name = name,
        size = size,
        srcs = [name + ".cc"],
        copts = AML_TEST_COPTS,
        linkstatic = True,
        deps = deps + [
            "//aml",
            "//tests:fault",
            "@aml_test_libs//:gtest_main",
        ],
        **kwargs
    )
