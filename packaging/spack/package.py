# SPDX-License-Identifier: BSD-3-Clause
"""Spack package for aml: built with Bazel, installed by //:install.

aml publishes no release tarball: point Spack at a clone,
    spack develop --path /path/to/aml aml@0.16.0
    spack install aml +hwloc +memkind
(copy this file into a repository's packages/aml/ first). docs/install.md.
"""

from spack.package import *


def bazel_install_args(prefix, numa, hwloc=None, memkind=None, output_user_root=None, jobs=None):
    """Bazel's arguments that build aml against the given installs and
    install it into prefix (what Aml.install() runs, and what
    packaging/spack/package_test.py runs without Spack).

    numa, hwloc, memkind: install prefixes of libnuma, hwloc, memkind;
    None turns an optional backend off (AML_WITH_<NAME>=0). A given one is
    required (AML_WITH_<NAME>=1): a variant asked for never silently
    becomes an absent backend (docs/build.md).
    """
    args = []
    if output_user_root:
        # Spack's stage, not ~/.cache/bazel.
        args.append("--output_user_root=" + output_user_root)
    args += ["run", "-c", "opt"]
    if jobs:
        args.append("--jobs=%d" % jobs)
    args.append("--repo_env=AML_NUMA_PREFIX=" + numa)
    for name, where in (("hwloc", hwloc), ("memkind", memkind)):
        if where:
            args.append("--repo_env=AML_WITH_%s=1" % name.upper())
            args.append("--repo_env=AML_%s_PREFIX=%s" % (name.upper(), where))
        else:
            args.append("--repo_env=AML_WITH_%s=0" % name.upper())
    args += ["//:install", "--", "--prefix", prefix]
    return args


class Aml(Package):
    """Building blocks for memory on heterogeneous devices (DDR NUMA nodes,
    HBM, CXL): devices, areas, arenas, tilings, copies, scratchpads, with a
    software emulator of memory tiers."""

    homepage = "https://github.com/anlsys/aml"

    license("BSD-3-Clause")

    version("0.16.0")

    variant("hwloc", default=True, description="hwloc backend: topology discovery")
    variant(
        "memkind",
        default=True,
        description="memkind backend: HBM and PMEM kinds, the jemalloc arena",
    )

    # The build is written for Bazel 4.2.3 in WORKSPACE mode, offline.
    depends_on("bazel@4.2.3:4", type="build")
    depends_on("pkgconfig", type="build")
    depends_on("numactl")
    depends_on("hwloc", when="+hwloc")
    depends_on("memkind", when="+memkind")

    # aml is for 64-bit Linux only (docs/build.md).
    conflicts("platform=darwin")
    conflicts("platform=windows")

    def install(self, spec, prefix):
        bazel = which("bazel", required=True)
        root = join_path(self.stage.path, "bazel")
        args = bazel_install_args(
            prefix=str(prefix),
            numa=str(spec["numactl"].prefix),
            hwloc=str(spec["hwloc"].prefix) if "+hwloc" in spec else None,
            memkind=str(spec["memkind"].prefix) if "+memkind" in spec else None,
            output_user_root=root,
            jobs=make_jobs,
        )
        try:
            bazel(*args)
        finally:
            bazel("--output_user_root=" + root, "shutdown")
