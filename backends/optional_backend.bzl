"""The BUILD shape shared by optional backends (hwloc, memkind)."""

load("@rules_cc//cc:defs.bzl", "cc_library")
load("//aml:copts.bzl", "AML_COPTS")

_BACKEND_DEPS = [
    "//aml:api",
    "//aml:backend_contract",
    "//aml:device",
    "//aml:device_spi",
    "//aml:util",
]

def optional_backend(
        name,
        have,
        srcs = [],
        absent_srcs = [],
        deps = [],
        present_deps = [],
        library = None):
    """Declares :present, :absent and :<name>, which picks one of them.

    For a second target of the same library (the jemalloc arena of memkind),
    pass library: the two are then :<name>_present and :<name>_absent.

    :present (<name>.c) is the only code that includes the library's header;
    it is tagged manual so that //... does not build it on hosts without the
    library. :absent (<name>_absent.c) keeps the same contract and reports
    the backend as not built; it is always built, and tests link it directly.

    Args:
      name: the backend, also the @aml_host target and the file stem.
      library: the @aml_host target, when it is not name.
      have: whether the host has the library (AML_HAVE from @aml_host).
      srcs: more sources of the real backend, beside <name>.c.
      absent_srcs: more sources of the absent one, beside <name>_absent.c.
      deps: more dependencies of both (other backends' headers); never a
        block (//aml:blocks) for a backend: //aml:layering_test checks.
      present_deps: more dependencies of the real one only.
    """
    library = library or name
    prefix = "" if library == name else name + "_"
    cc_library(
        name = prefix + "present",
        srcs = [name + ".c"] + srcs,
        copts = AML_COPTS,
        # As //backends/numa: references to the library bind at the final
        # link, with its symbol versions.
        linkstatic = True,
        local_defines = ["_GNU_SOURCE"],
        tags = ["manual"],
        deps = _BACKEND_DEPS + deps + present_deps + ["@aml_host//:" + library],
    )
    cc_library(
        name = prefix + "absent",
        srcs = [name + "_absent.c"] + absent_srcs,
        copts = AML_COPTS,
        visibility = ["//aml:__pkg__"],
        deps = _BACKEND_DEPS + deps,
    )
    cc_library(
        name = name,
        visibility = ["//aml:__pkg__"],
        deps = [":" + prefix + "present"] if have else [":" + prefix + "absent"],
    )
