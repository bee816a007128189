"""The BUILD shape shared by optional backends (hwloc, memkind)."""

load("@rules_cc//cc:defs.bzl", "cc_library")
load("//aml:copts.bzl", "AML_COPTS")

def optional_backend(name, have, srcs = [], absent_srcs = []):
    """Declares :present, :absent and :<name>, which picks one of them.

    :present (<name>.c) is the only code that includes the library's header;
    it is tagged manual so that //... does not build it on hosts without the
    library. :absent (<name>_absent.c) keeps the same contract and reports
    the backend as not built; it is always built, and tests link it directly.

    Args:
      name: the backend, also the @aml_host target and the file stem.
      have: whether the host has the library (AML_HAVE from @aml_host).
      srcs: more sources of the real backend, beside <name>.c.
      absent_srcs: more sources of the absent one, beside <name>_absent.c.
    """
    cc_library(
        name = "present",
        srcs = [name + ".c"] + srcs,
        copts = AML_COPTS,
        # As //backends/numa: references to the library bind at the final
        # link, with its symbol versions.
        linkstatic = True,
        local_defines = ["_GNU_SOURCE"],
        tags = ["manual"],
        deps = [
            "//aml:core",
            "//aml:internal_headers",
            "@aml_host//:" + name,
        ],
    )
    cc_library(
        name = "absent",
        srcs = [name + "_absent.c"] + absent_srcs,
        copts = AML_COPTS,
        visibility = ["//aml:__pkg__"],
        deps = [
            "//aml:core",
            "//aml:internal_headers",
        ],
    )
    cc_library(
        name = name,
        visibility = ["//aml:__pkg__"],
        deps = [":present"] if have else [":absent"],
    )
