#!/usr/bin/env bash
# The install works for code that does not build with Bazel
# (docs/install.md):
# 1. `bazel run -c opt //:install -- --prefix DIR` into a temporary prefix,
#    twice (the same tree); into a prefix it cannot write, one line;
# 2. libaml.so exports aml's API and nothing else (nm -D): every symbol the
#    public headers declare, no other;
# 3. three consumers of the installed tree build and run tests/install/app.c:
#    a Makefile with pkg-config (README.md's, literally), a CMake project
#    with find_package(aml), a static link with pkg-config --static; each
#    checks AML_VERSION_CHECK() and that pkg-config's version is the
#    library's, and the shared ones run with LD_LIBRARY_PATH unset.
# With --system (CI, as root), also into /usr/local, where the Makefile
# consumer runs with no rpath at all, then removes what it installed.
# Prints one "install_test: ok: ..." line per check (.ci/run counts them).
#   tools/install_test.sh [--system]
set -euo pipefail
cd "$(dirname "$0")/.."

system=no
[ "${1:-}" = --system ] && system=yes

work=$(mktemp -d "${TMPDIR:-/tmp}/aml_install.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
prefix=$work/prefix

fail() {
	echo "install_test: FAIL: $*" >&2
	exit 1
}
ok() { echo "install_test: ok: $*"; }

install_into() {
	bazel run -c opt //:install -- --prefix "$1"
}

# ---- 1. the install ----
install_into "$prefix"
for f in lib/libaml.so lib/libaml.a include/aml.h include/aml/version.h \
	include/aml/build_config.h lib/pkgconfig/aml.pc \
	lib/cmake/aml/amlConfig.cmake lib/cmake/aml/amlConfigVersion.cmake \
	bin/aml_topo bin/aml_info lib/libaml_autofast.so; do
	[ -e "$prefix/$f" ] || fail "the install has no $f"
done
ok "the install has libraries, headers, aml.pc, the CMake package, the tools"

# The preload library as installed: an unmodified program's large blocks
# go to MCDRAM on emulated knl-flat (tools/autofast_test.sh tests it more).
cc -O1 -o "$work/autofast_program" tools/autofast_program.c
out=$(env AML_EMULATE='knl-flat;scale=1/64' AML_AUTOFAST_REPORT=1 \
	LD_PRELOAD="$prefix/lib/libaml_autofast.so" "$work/autofast_program" 2>&1) ||
	fail "a program under the installed libaml_autofast.so failed: $out"
grep -q 'sent to fast memory.*on: mcdram' <<<"$out" ||
	fail "the installed libaml_autofast.so sent nothing to MCDRAM: $out"
ok "the installed libaml_autofast.so sends a program's large blocks to MCDRAM"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
version=$(pkg-config --modversion aml)
IFS=. read -r major minor _ <<<"$version"
soname=$([ "$major" = 0 ] && echo "libaml.so.0.$minor" || echo "libaml.so.$major")
got=$(readelf -d "$prefix/lib/libaml.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$got" = "$soname" ] || fail "SONAME is '$got', not $soname (version $version)"
[ "$(readlink "$prefix/lib/libaml.so")" = "$soname" ] ||
	fail "lib/libaml.so does not point to $soname"
ok "SONAME $soname follows the version policy ($version)"

listing() { (cd "$prefix" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort && find . -type f -exec md5sum {} + | LC_ALL=C sort); }
before=$(listing)
install_into "$prefix"
[ "$before" = "$(listing)" ] || fail "a second install changed the tree"
ok "installing twice gives the same tree"

# A prefix under a regular file cannot be made, even by root; a read-only
# directory stops everyone else.
: >"$work/file"
unwritable=("$work/file/prefix")
if [ "$(id -u)" != 0 ]; then
	mkdir "$work/readonly"
	chmod 555 "$work/readonly"
	unwritable+=("$work/readonly/prefix")
fi
for p in "${unwritable[@]}"; do
	status=0
	err=$(bazel run -c opt --ui_event_filters=-info --noshow_progress --show_result=0 \
		//:install -- --prefix "$p" 2>&1 >/dev/null) || status=$?
	echo "$err"
	[ "$status" -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] &&
		grep -q '^install: cannot write to ' <<<"$err" ||
		fail "the unwritable $p gave exit $status and not one line"
done
ok "an unwritable prefix fails with one line"

# ---- 2. the symbols ----
lib=$prefix/lib/libaml.so
others=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^aml_' || true)
[ -z "$others" ] || fail "libaml.so exports symbols not aml's: $others"
gcc=${CC:-cc}
api=$(packaging/public_symbols.sh "$gcc" "$prefix/include")
[ "$(wc -l <<<"$api")" -gt 100 ] || fail "found only $(wc -l <<<"$api") API symbols in the headers"
missing=$(comm -23 <(echo "$api") <(nm -D --defined-only "$lib" | awk '{print $3}' | LC_ALL=C sort))
[ -z "$missing" ] || fail "declared in the headers but not exported: $missing"
extra=$(comm -13 <(echo "$api") <(nm -D --defined-only "$lib" | awk '{print $3}' | LC_ALL=C sort))
[ -z "$extra" ] || fail "exported but not in the headers: $extra"
ok "libaml.so exports the $(wc -l <<<"$api") symbols the public headers declare, no other"

# ---- 3. the consumers ----
run_app() { # run_app PROGRAM WHAT
	local out
	out=$(env -u LD_LIBRARY_PATH "$1" "$version") || fail "$2: app failed"
	echo "$out"
}
no_libaml_needed() {
	! readelf -d "$1" | grep -q 'NEEDED.*libaml'
}

# The README's three-line Makefile, literally.
mkdir "$work/make"
awk '/^```make$/ { m = 1; next } m && /^```/ { exit } m { print }' README.md \
	>"$work/readme.mk"
diff -u --label "README.md (Makefile)" --label tests/install/make/Makefile \
	"$work/readme.mk" tests/install/make/Makefile ||
	fail "README.md's Makefile is not tests/install/make/Makefile"
ok "README.md's Makefile is tests/install/make/Makefile"
cp tests/install/make/Makefile tests/install/app.c "$work/make/"
# Outside the loader's search path: the rpath docs/install.md gives.
make -C "$work/make" -s LDFLAGS="-Wl,-rpath,$prefix/lib"
run_app "$work/make/app" "Makefile consumer"
ok "Makefile consumer (pkg-config --cflags --libs aml)"

mkdir "$work/cmake"
cp tests/install/cmake/CMakeLists.txt tests/install/app.c "$work/cmake/"
cmake -S "$work/cmake" -B "$work/cmake/build" -DCMAKE_PREFIX_PATH="$prefix" \
	-DAML_VERSION="$version" >/dev/null
cmake --build "$work/cmake/build" >/dev/null
run_app "$work/cmake/build/app" "CMake consumer"
ok "CMake consumer (find_package(aml $version), aml::aml)"
no_libaml_needed "$work/cmake/build/app_static" || fail "aml::aml_static needs libaml.so"
run_app "$work/cmake/build/app_static" "CMake consumer of aml::aml_static"
ok "CMake consumer (aml::aml_static)"

status=0
cmake -S "$work/cmake" -B "$work/cmake/build_wrong" -DCMAKE_PREFIX_PATH="$prefix" \
	-DAML_VERSION="$major.$((minor + 1))" >/dev/null 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "find_package(aml $major.$((minor + 1))) accepted $version"
ok "find_package(aml $major.$((minor + 1))) refuses $version"

mkdir "$work/static"
cp tests/install/static/Makefile tests/install/app.c "$work/static/"
make -C "$work/static" -s
no_libaml_needed "$work/static/app" || fail "the static consumer needs libaml.so"
run_app "$work/static/app" "static consumer"
ok "static consumer (pkg-config --static, libaml.a)"

# ---- 4. a standard prefix: no rpath, no LD_LIBRARY_PATH ----
if [ "$system" = yes ]; then
	sys=/usr/local
	installed=(lib/libaml.so "lib/libaml.so.$version" "lib/$soname" lib/libaml.a
		include/aml.h include/aml lib/pkgconfig/aml.pc lib/cmake/aml
		bin/aml_topo bin/aml_info lib/libaml_autofast.so)
	for f in "${installed[@]}"; do
		[ ! -e "$sys/$f" ] || fail "$sys/$f exists: not replacing an aml installed there"
	done
	# The directories the install makes, removed again if they are new.
	created=()
	for d in bin include lib lib/pkgconfig lib/cmake; do
		[ -d "$sys/$d" ] || created=("$d" "${created[@]}")
	done
	uninstall() {
		for f in "${installed[@]}"; do rm -rf "${sys:?}/$f"; done
		for d in "${created[@]}"; do rmdir "$sys/$d" 2>/dev/null || true; done
		ldconfig
	}
	trap 'uninstall; chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
	install_into "$sys"
	mkdir "$work/system"
	cp tests/install/make/Makefile tests/install/app.c "$work/system/"
	env -u PKG_CONFIG_PATH make -C "$work/system" -s
	! readelf -d "$work/system/app" | grep -q 'R.*PATH' || fail "the app has an rpath"
	run_app "$work/system/app" "Makefile consumer of $sys"
	"$sys/bin/aml_info" >/dev/null || fail "$sys/bin/aml_info failed"
	ok "installed into $sys, a program runs with no rpath and no LD_LIBRARY_PATH"
fi
