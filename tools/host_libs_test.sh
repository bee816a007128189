#!/usr/bin/env bash
# Tests of third_party/host_libs.bzl, the detection of system libraries, in
# scenarios this host cannot show by itself: a library installed under a
# prefix (Spack, modules), a missing optional library, a missing required
# library. A missing library is simulated by a compiler wrapper that refuses
# to link it, which is exactly what the probe sees on a host without it.
#
# Runs in its own Bazel output base, so the main build's cache is untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
output_base="${AML_HOST_LIBS_TEST_OUTPUT_BASE:-$work/output_base}"
trap 'bazel --output_base="$output_base" shutdown >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
# No bazel-bin symlinks: they would point the main workspace's at this output base.
bzl() {
	local command=$1
	shift
	bazel --output_base="$output_base" "$command" \
		--experimental_convenience_symlinks=ignore "$@"
}
fail() { echo "host_libs_test: FAIL: $*" >&2; exit 1; }
passed=0
pass() { echo "host_libs_test: ok: $*"; passed=$((passed + 1)); }

# A compiler that behaves like a host without lib$1.
without() {
	local cc="$work/cc_without_$1"
	cat >"$cc" <<WRAP
#!/bin/sh
for arg in "\$@"; do
	[ "\$arg" = "-l$1" ] && { echo "ld: cannot find -l$1" >&2; exit 1; }
done
exec gcc "\$@"
WRAP
	chmod +x "$cc"
	echo "$cc"
}

# 1. A prefix install wins over pkg-config, with -L and an rpath.
prefix="$work/prefix"
mkdir -p "$prefix/include" "$prefix/lib64"
cp /usr/include/memkind.h "$prefix/include/"
cp "$(gcc -print-file-name=libmemkind.so)" "$prefix/lib64/libmemkind.so"
out=$(bzl run --repo_env=AML_MEMKIND_PREFIX="$prefix" //tools:aml_info 2>/dev/null) ||
	fail "aml_info with AML_MEMKIND_PREFIX"
grep -q '^  memkind  built: memkind ' <<<"$out" || fail "memkind not built from prefix: $out"
grep -q "\"memkind\": \"AML_MEMKIND_PREFIX\"" "$output_base/external/aml_host/config.bzl" ||
	fail "memkind was not taken from AML_MEMKIND_PREFIX"
grep -q -- "-Wl,-rpath,$prefix/lib64" "$output_base/external/aml_host/BUILD.bazel" ||
	fail "no rpath to the prefix"
pass "AML_MEMKIND_PREFIX finds memkind under a prefix"

# 2. A pkg-config module outside the standard paths (an HPC module): its
#    headers are reachable and its library gets an rpath.
mkdir -p "$work/pc"
cat >"$work/pc/memkind.pc" <<PC
Name: memkind
Description: memkind installed under a test prefix
Version: 1.14.0
Cflags: -I$prefix/include
Libs: -L$prefix/lib64 -lmemkind
PC
out=$(bzl run --repo_env=PKG_CONFIG_PATH="$work/pc" //tools:aml_info 2>/dev/null) ||
	fail "aml_info with PKG_CONFIG_PATH"
grep -q '^  memkind  built: memkind ' <<<"$out" || fail "memkind not built from the module: $out"
grep -q -- "-Wl,-rpath,$prefix/lib64" "$output_base/external/aml_host/BUILD.bazel" ||
	fail "no rpath to the module's library directory"
[ "$(readlink "$output_base/external/aml_host/memkind/include0")" = "$prefix/include" ] ||
	fail "the module's include directory is not in the repository"
pass "a pkg-config module outside the standard paths is found, with an rpath"

# 3. A prefix without the library is an error that says so.
err=$(bzl build --repo_env=AML_HWLOC_PREFIX="$work" //aml 2>&1) && fail "empty prefix accepted"
grep -q "aml: AML_HWLOC_PREFIX=$work has no include/hwloc.h" <<<"$err" || fail "message: $err"
pass "a prefix without the library is refused with its reason"

# 4. A missing optional library leaves its backend out; the build still works.
cc=$(without memkind)
out=$(bzl run --repo_env=CC="$cc" //tools:aml_info 2>/dev/null) || fail "build without memkind"
grep -q '^  memkind  not built$' <<<"$out" || fail "memkind should be absent: $out"
grep -q '#define AML_HAVE_MEMKIND 0' "$output_base/external/aml_host/include/aml/build_config.h" ||
	fail "build_config.h still says memkind"
pass "a host without memkind builds without the memkind backend"

# 5. ... unless the user asked for it: then it is an error naming the package.
err=$(bzl build --repo_env=CC="$cc" --repo_env=AML_WITH_MEMKIND=1 //aml 2>&1) &&
	fail "AML_WITH_MEMKIND=1 accepted a missing memkind"
grep -q 'install the Debian package libmemkind-dev' <<<"$err" || fail "message: $err"
pass "AML_WITH_MEMKIND=1 on a host without memkind names libmemkind-dev"

# 6. A missing required library fails in one line naming the package.
cc=$(without numa)
err=$(bzl build --repo_env=CC="$cc" //aml 2>&1) && fail "built without libnuma"
# Bazel repeats a fetch error once per requester: the message is one line.
line=$(grep -m1 'Error in fail: aml:' <<<"$err") || fail "no aml message: $err"
grep -q 'install the Debian package libnuma-dev' <<<"$line" || fail "message: $line"
pass "a host without libnuma fails with: ${line#*Error in fail: }"

# 7. The flag turns a found backend off.
out=$(bzl run --repo_env=AML_WITH_HWLOC=0 //tools:aml_info 2>/dev/null) || fail "AML_WITH_HWLOC=0"
grep -q '^  hwloc    not built$' <<<"$out" || fail "hwloc should be off: $out"
pass "--repo_env=AML_WITH_HWLOC=0 turns hwloc off"

echo "host_libs_test: $passed passed, 0 failed"
