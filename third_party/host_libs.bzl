"""Finds the system libraries aml builds against and turns them into Bazel targets.

Two repository rules, both local (they read the host, never the network):

- `aml_host_libs` makes `@aml_host`: libnuma (required), hwloc and memkind
  (optional backends), a generated header `<aml/build_config.h>` that says which
  backends this build has, and `config.bzl` with `if_hwloc()` / `if_memkind()` for
  BUILD files.
- `aml_test_libs` makes `@aml_test_libs`: googletest and google-benchmark. It is a
  separate repository so that a workspace that only builds `@aml//aml` never needs
  them: Bazel fetches a repository only when a target in it is built.

Each library is looked for in this order, and the first place that has it wins:

1. `AML_<NAME>_PREFIX=/some/prefix` (a Spack or module install): `include/` and
   `lib64/`, `lib/` or `lib/<multiarch>/` under it;
2. pkg-config (honours `PKG_CONFIG_PATH`);
3. the compiler's standard paths.

Whatever was found must also compile and link a one-line probe, so a header
without its library (or the reverse) counts as missing. A missing required
library fails the fetch with one line naming the Debian package to install.
`--repo_env=AML_WITH_HWLOC=0` (or `AML_WITH_MEMKIND=0`) turns an optional backend
off; `=1` makes its absence an error.
"""

# name: (header, C or C++ probe, link name, pkg-config module, Debian package)
_BACKEND_LIBS = {
    "numa": ("numa.h", "c", "numa", "numa", "libnuma-dev"),
    "hwloc": ("hwloc.h", "c", "hwloc", "hwloc", "libhwloc-dev"),
    "memkind": ("memkind.h", "c", "memkind", "memkind", "libmemkind-dev"),
}

_REQUIRED_BACKENDS = ["numa"]

_TEST_LIBS = {
    "gtest": ("gtest/gtest.h", "c++", "gtest", "gtest", "libgtest-dev"),
    "benchmark": ("benchmark/benchmark.h", "c++", "benchmark", "benchmark", "libbenchmark-dev"),
}

# Allocators the arena benchmark compares with (issue #17), optional: a host
# without them builds every benchmark, with fewer rows (if_jemalloc() and
# if_mimalloc() in @aml_test_libs//:config.bzl).
_BENCH_PEERS = {
    "jemalloc": ("jemalloc/jemalloc.h", "c", "jemalloc", "jemalloc", "libjemalloc-dev"),
    "mimalloc": ("mimalloc.h", "c", "mimalloc", "mimalloc", "libmimalloc-dev"),
}

# Directories the compiler searches anyway: never symlinked into the repository.
_SYSTEM_INCLUDE_DIRS = ["/usr/include", "/usr/local/include"]

def _prefix_var(name):
    return "AML_%s_PREFIX" % name.upper()

def _run(rctx, args):
    result = rctx.execute(args)
    return result.stdout.strip() if result.return_code == 0 else None

def _multiarch(rctx):
    cc = rctx.os.environ.get("CC", "cc")
    return _run(rctx, [cc, "-print-multiarch"]) or ""

def _flags_from_prefix(rctx, name, header, link_name):
    prefix = rctx.os.environ.get(_prefix_var(name))
    if not prefix:
        return None
    if not rctx.path("%s/include/%s" % (prefix, header)).exists:
        fail("aml: %s=%s has no include/%s" % (_prefix_var(name), prefix, header))
    candidates = ["lib64", "lib", "lib/" + _multiarch(rctx)]
    for sub in candidates:
        libdir = "%s/%s" % (prefix, sub)
        for ext in ["so", "a"]:
            if rctx.path("%s/lib%s.%s" % (libdir, link_name, ext)).exists:
                return struct(
                    origin = _prefix_var(name),
                    include_dirs = [prefix + "/include"],
                    defines = [],
                    linkopts = ["-L" + libdir, "-Wl,-rpath," + libdir, "-l" + link_name],
                )
    fail("aml: %s=%s has no lib%s.so or .a in %s" % (
        _prefix_var(name),
        prefix,
        link_name,
        ", ".join(candidates),
    ))

def _flags_from_pkg_config(rctx, module):
    if rctx.which("pkg-config") == None:
        return None
    cflags = _run(rctx, ["pkg-config", "--cflags", module])
    libs = _run(rctx, ["pkg-config", "--libs", module])
    if cflags == None or libs == None:
        return None
    include_dirs, defines = [], []
    for flag in cflags.split(" "):
        if flag.startswith("-I"):
            include_dirs.append(flag[2:])
        elif flag.startswith("-D"):
            defines.append(flag[2:])
    linkopts = [f for f in libs.split(" ") if f]

    # Module installs (Spack, Lmod) point -L outside the loader's search
    # path: without an rpath the binaries would build but not start.
    rpaths = ["-Wl,-rpath," + f[2:] for f in linkopts if f.startswith("-L")]
    return struct(
        origin = "pkg-config " + module,
        include_dirs = include_dirs,
        defines = defines,
        linkopts = linkopts + rpaths,
    )

def _flags_from_standard_paths(link_name):
    return struct(
        origin = "standard paths",
        include_dirs = [],
        defines = [],
        linkopts = ["-l" + link_name],
    )

def _probe(rctx, header, lang, flags):
    """Compiles and links `#include <header>` with flags; returns an error or None."""
    source = "probe.c" if lang == "c" else "probe.cc"
    rctx.file(source, "#include <%s>\nint main(void) { return 0; }\n" % header)
    cc = rctx.os.environ.get("CC", "cc")
    args = [cc] + (["-x", "c++"] if lang == "c++" else []) + [source, "-o", "probe.out"]
    args += ["-I" + d for d in flags.include_dirs]
    args += ["-D" + d for d in flags.defines]
    args += flags.linkopts + (["-lstdc++", "-lpthread"] if lang == "c++" else [])
    result = rctx.execute(args)
    rctx.delete(source)
    rctx.delete("probe.out")
    if result.return_code != 0:
        return result.stderr.strip().split("\n")[0]
    return None

def _find(rctx, name, spec):
    """Returns (flags, None) when the library works, or (None, reason)."""
    header, lang, link_name, module, _ = spec
    flags = (_flags_from_prefix(rctx, name, header, link_name) or
             _flags_from_pkg_config(rctx, module) or
             _flags_from_standard_paths(link_name))
    error = _probe(rctx, header, lang, flags)
    if error != None:
        return None, "%s (%s)" % (error, flags.origin)
    return flags, None

def _missing_message(name, spec, reason):
    header, _, link_name, _, package = spec
    return ("aml: %s not found (<%s>, -l%s): install the Debian package %s, " +
            "or set %s to its install prefix [%s]") % (
        name,
        header,
        link_name,
        package,
        _prefix_var(name),
        reason,
    )

def _cc_library(rctx, name, flags, extra_linkopts = [], deps = []):
    """BUILD text for one found library; non-system headers are symlinked in."""
    includes = []
    for i, d in enumerate(flags.include_dirs):
        if d.rstrip("/") in _SYSTEM_INCLUDE_DIRS:
            continue
        local = "%s/include%d" % (name, i)
        rctx.symlink(d, local)
        includes.append(local)
    return "\n".join([
        "cc_library(",
        "    name = %r," % name,
        "    hdrs = glob([%s])," % ", ".join(['"%s/**"' % i for i in includes]),
        "    includes = %r," % includes,
        "    defines = %r," % flags.defines,
        "    linkopts = %r," % (flags.linkopts + extra_linkopts),
        "    deps = %r," % deps,
        ")",
        "",
    ])

_BUILD_HEADER = """# Generated by @aml//third_party:host_libs.bzl. Do not edit.
package(default_visibility = ["//visibility:public"])

"""

def _build_config_header(have):
    lines = [
        "/* SPDX-License-Identifier: BSD-3-Clause */",
        "/**",
        " * @file build_config.h",
        " * Which backends this build of aml was compiled with. Generated at fetch",
        " * time by @aml//third_party:host_libs.bzl from what the host provides;",
        " * each macro is always defined, to 1 or 0, so it can be used in `if`.",
        " * The API is the same either way: a backend that is absent answers",
        " * AML_ENOTSUP at run time (see aml_backend_is_built()).",
        " */",
        "#ifndef AML_BUILD_CONFIG_H",
        "#define AML_BUILD_CONFIG_H",
        "",
    ]
    for name in sorted(have.keys()):
        lines.append("/** 1 when the %s backend is compiled in, else 0. */" % name)
        lines.append("#define AML_HAVE_%s %d" % (name.upper(), 1 if have[name] else 0))
    lines += ["", "#endif /* AML_BUILD_CONFIG_H */", ""]
    return "\n".join(lines)

def _config_bzl(have, found_in):
    lines = [
        '"""Generated by @aml//third_party:host_libs.bzl: what this host provides."""',
        "",
        "AML_HAVE = %r" % have,
        "",
        "# Where each library was found, for `bazel query` and bug reports.",
        "AML_FOUND_IN = %r" % found_in,
        "",
    ]
    for name in sorted(have.keys()):
        lines += [
            "def if_%s(yes, no = []):" % name,
            '    """`yes` when the %s backend is built, else `no`."""' % name,
            "    return yes if AML_HAVE[%r] else no" % name,
            "",
        ]
    return "\n".join(lines)

def _aml_host_libs_impl(rctx):
    build = [_BUILD_HEADER]
    have, found_in = {}, {}
    for name, spec in _BACKEND_LIBS.items():
        forced = rctx.os.environ.get("AML_WITH_" + name.upper(), "")
        if forced not in ["", "0", "1"]:
            fail("aml: AML_WITH_%s must be 0 or 1, not %r" % (name.upper(), forced))
        if forced == "0":
            if name in _REQUIRED_BACKENDS:
                fail("aml: the %s backend is required and cannot be turned off" % name)
            have[name], found_in[name] = False, "turned off by AML_WITH_%s=0" % name.upper()
            continue
        flags, reason = _find(rctx, name, spec)
        if flags == None:
            if name in _REQUIRED_BACKENDS or forced == "1":
                fail(_missing_message(name, spec, reason))
            have[name], found_in[name] = False, "not found: " + reason
            continue
        have[name], found_in[name] = True, flags.origin
        build.append(_cc_library(rctx, name, flags))

    rctx.file("include/aml/build_config.h", _build_config_header(have))
    build.append("\n".join([
        "cc_library(",
        '    name = "build_config",',
        '    hdrs = ["include/aml/build_config.h"],',
        '    strip_include_prefix = "include",',
        ")",
        "",
    ]))
    rctx.file("BUILD.bazel", "\n".join(build))
    rctx.file("config.bzl", _config_bzl(have, found_in))

def _aml_test_libs_impl(rctx):
    build = [_BUILD_HEADER]
    for name, spec in _TEST_LIBS.items():
        flags, reason = _find(rctx, name, spec)
        if flags == None:
            fail(_missing_message(name, spec, reason))
        build.append(_cc_library(rctx, name, flags, extra_linkopts = ["-pthread"]))

        # The *_main archives ship with the library (no pkg-config module of
        # their own on Debian): link them next to it.
        libdirs = [f for f in flags.linkopts if f.startswith("-L")]
        build.append("\n".join([
            "cc_library(",
            '    name = "%s_main",' % name,
            "    linkopts = %r," % (libdirs + ["-l%s_main" % spec[2]]),
            '    deps = [":%s"],' % name,
            ")",
            "",
        ]))
    have = {}
    config = ['"""Generated by @aml//third_party:host_libs.bzl: optional benchmark peers."""', ""]
    for name, spec in _BENCH_PEERS.items():
        flags, _ = _find(rctx, name, spec)
        have[name] = flags != None
        if flags != None:
            build.append(_cc_library(rctx, name, flags, extra_linkopts = ["-pthread"]))
        config += [
            "def if_%s(yes, no = []):" % name,
            '    """`yes` when %s (%s) was found, else `no`."""' % (name, spec[4]),
            "    return %s" % ("yes" if have[name] else "no"),
            "",
        ]
    rctx.file("BUILD.bazel", "\n".join(build))
    rctx.file("config.bzl", "\n".join(config))

_COMMON_ENVIRON = ["CC", "PKG_CONFIG_PATH"]

aml_host_libs = repository_rule(
    implementation = _aml_host_libs_impl,
    environ = _COMMON_ENVIRON +
              ["AML_WITH_" + n.upper() for n in _BACKEND_LIBS] +
              [_prefix_var(n) for n in _BACKEND_LIBS],
    local = True,
    doc = "Backend libraries of aml (libnuma, hwloc, memkind) as @aml_host.",
)

aml_test_libs = repository_rule(
    implementation = _aml_test_libs_impl,
    environ = _COMMON_ENVIRON + [_prefix_var(n) for n in _TEST_LIBS] +
              [_prefix_var(n) for n in _BENCH_PEERS],
    local = True,
    doc = "googletest, google-benchmark and the optional benchmark peers " +
          "(jemalloc, mimalloc) as @aml_test_libs.",
)
