"""Checks that each public header compiles alone, first in a translation unit."""

load("@rules_cc//cc:defs.bzl", "cc_test")
load("//aml:copts.bzl", "AML_COPTS", "AML_TEST_COPTS")

def header_self_contained_test(name, headers):
    """One test compiling every header alone as C11 (pedantic) and as C++17.

    Args:
      name: the test's name.
      headers: include paths, as a consumer writes them ("aml/bitmap.h").
    """
    srcs = []
    for i, header in enumerate(headers):
        for lang, ext in [("c", "c"), ("cxx", "cc")]:
            out = "%s_%d_%s.%s" % (name, i, lang, ext)
            native.genrule(
                name = out.replace(".", "_"),
                outs = [out],
                # The typedef keeps a macro-only header from making an empty
                # translation unit, which ISO C forbids.
                cmd = "printf '#include <%s>\\n#include <%s>\\ntypedef int header_check_%d;\\n' > $@" % (header, header, i),
            )
            srcs.append(out)

    native.genrule(
        name = name + "_main",
        outs = [name + "_main.c"],
        cmd = "printf 'int main(void) { return 0; }\\n' > $@",
    )
    native.cc_library(
        name = name + "_c",
        testonly = True,
        srcs = [s for s in srcs if s.endswith(".c")],
        copts = AML_COPTS + ["-pedantic-errors"],
        deps = ["//aml:api"],
    )
    native.cc_library(
        name = name + "_cxx",
        testonly = True,
        srcs = [s for s in srcs if s.endswith(".cc")],
        copts = AML_TEST_COPTS + ["-pedantic-errors"],
        deps = ["//aml:api"],
    )
    cc_test(
        name = name,
        size = "small",
        srcs = [name + "_main.c"],
        copts = AML_COPTS,
        deps = [name + "_c", name + "_cxx"],
    )
