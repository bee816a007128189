"""Checks that each public header compiles alone, first in a translation unit."""

load("@rules_cc//cc:defs.bzl", "cc_library", "cc_test")
load("//aml:copts.bzl", "AML_COPTS", "AML_TEST_COPTS")

# language: (file extension, flags)
_LANGUAGES = {
    "c": ("c", AML_COPTS + ["-pedantic-errors"]),
    "cxx": ("cc", AML_TEST_COPTS + ["-pedantic-errors"]),
}

def header_self_contained_test(name, headers, cxx_headers = []):
    """One test compiling every header alone, twice, as C11 and as C++17.

    Including twice checks the include guard; -pedantic-errors keeps the
    headers free of extensions.

    Args:
      name: the test's name.
      headers: include paths, as a consumer writes them ("aml/bitmap.h").
      cxx_headers: headers for C++ only ("aml.hpp"), compiled as C++17.
    """
    for lang, (ext, copts) in _LANGUAGES.items():
        srcs = []
        for i, header in enumerate(headers + (cxx_headers if lang == "cxx" else [])):
            out = "%s_%d_%s.%s" % (name, i, lang, ext)
            native.genrule(
                name = out.replace(".", "_"),
                outs = [out],
                # The typedef keeps a macro-only header from making an empty
                # translation unit, which ISO C forbids.
                cmd = "printf '#include <%s>\\n#include <%s>\\ntypedef int header_check_%d;\\n' > $@" % (header, header, i),
            )
            srcs.append(out)
        cc_library(
            name = "%s_%s" % (name, lang),
            testonly = True,
            srcs = srcs,
            copts = copts,
            deps = ["//aml:api"],
        )

    native.genrule(
        name = name + "_main",
        outs = [name + "_main.c"],
        cmd = "printf 'int main(void) { return 0; }\\n' > $@",
    )
    cc_test(
        name = name,
        size = "small",
        srcs = [name + "_main.c"],
        copts = AML_COPTS,
        deps = ["%s_%s" % (name, lang) for lang in _LANGUAGES],
    )
