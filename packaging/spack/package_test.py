#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""What can be tested of packaging/spack/package.py without Spack (which is
not installable here): the package's declarations, through a stand-in for
`spack.package`, and the Bazel command its install() runs, run for real
with this host's libnuma, hwloc and memkind under /usr standing for Spack's
prefixes, in a separate Bazel output root as Spack's stage would be. What
is not tested: Spack's concretizer, its compiler wrappers as Bazel's CC,
and its bazel@4.2.3 package.
    packaging/spack/package_test.py
Prints "spack_package_test: ok: ..." lines (tools/install_test.sh runs it).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def fail(message):
    print("spack_package_test: FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def load_package():
    """package.py with spack.package standing in: records the directives."""
    recorded = {"version": [], "variant": [], "depends_on": [], "conflicts": []}

    def directive(name):
        return lambda *args, **kwargs: recorded[name].append((args, kwargs))

    stub = types.ModuleType("spack.package")
    stub.Package = object
    for name in recorded:
        setattr(stub, name, directive(name))
    stub.license = lambda *args, **kwargs: None
    spack = types.ModuleType("spack")
    spack.package = stub
    sys.modules["spack"] = spack
    sys.modules["spack.package"] = stub
    namespace = {}
    path = os.path.join(HERE, "package.py")
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), namespace)
    return namespace, recorded


def main():
    namespace, recorded = load_package()
    variants = {args[0] for args, _ in recorded["variant"]}
    if variants != {"hwloc", "memkind"}:
        fail("variants are %s, not hwloc and memkind" % sorted(variants))
    deps = {(args[0], kwargs.get("when")) for args, kwargs in recorded["depends_on"]}
    for want in [("numactl", None), ("hwloc", "+hwloc"), ("memkind", "+memkind")]:
        if want not in deps:
            fail("no depends_on(%r, when=%r)" % want)
    print("spack_package_test: ok: variants +hwloc, +memkind and their dependencies")

    args_of = namespace["bazel_install_args"]
    off = args_of(prefix="/p", numa="/n")
    for flag in ["--repo_env=AML_WITH_HWLOC=0", "--repo_env=AML_WITH_MEMKIND=0"]:
        if flag not in off:
            fail("~hwloc ~memkind does not pass %s: %s" % (flag, off))
    print("spack_package_test: ok: ~hwloc ~memkind turn the backends off")

    work = tempfile.mkdtemp(prefix="aml_spack.")
    root = os.path.join(work, "bazel")
    try:
        prefix = os.path.join(work, "prefix")
        args = args_of(
            prefix=prefix,
            numa="/usr",
            hwloc="/usr",
            memkind="/usr",
            output_user_root=root,
            jobs=2,
        )
        result = subprocess.run(["bazel"] + args, cwd=ROOT)
        if result.returncode != 0:
            fail("bazel %s failed" % " ".join(args))
        for path in ["lib/libaml.so", "lib/libaml.a", "include/aml.h",
                     "lib/pkgconfig/aml.pc", "lib/cmake/aml/amlConfig.cmake",
                     "bin/aml_info"]:
            if not os.path.exists(os.path.join(prefix, path)):
                fail("the install has no " + path)
        info = subprocess.run([os.path.join(prefix, "bin/aml_info")],
                              capture_output=True, text=True)
        if info.returncode != 0:
            fail("aml_info failed: " + info.stderr)
        # Found through AML_<NAME>_PREFIX and required: all three built.
        for backend in ["numa", "hwloc", "memkind"]:
            line = [l for l in info.stdout.splitlines() if l.split()[:1] == [backend]]
            if not line or "not built" in line[0]:
                fail("%s is not built: %s" % (backend, info.stdout))
        print("spack_package_test: ok: install()'s bazel command installs "
              "aml with every backend found through AML_<NAME>_PREFIX")
    finally:
        subprocess.run(["bazel", "--output_user_root=" + root, "shutdown"],
                       cwd=ROOT, capture_output=True)
        subprocess.run(["chmod", "-R", "u+w", work], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
