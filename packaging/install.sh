#!/usr/bin/env bash
# Installs aml into a prefix: what `bazel run -c opt //:install -- --prefix DIR`
# runs (docs/install.md). Bazel passes the built files first, then the user's
# arguments. Installing twice gives the same tree; a prefix that cannot be
# written fails with one line.
#
#   PREFIX/lib/libaml.so.X.Y.Z, libaml.so.SONAME -> it, libaml.so -> SONAME
#   PREFIX/lib/libaml.a
#   PREFIX/include/aml.h, PREFIX/include/aml/... (with build_config.h)
#   PREFIX/lib/pkgconfig/aml.pc
#   PREFIX/lib/cmake/aml/amlConfig.cmake, amlConfigVersion.cmake
#   PREFIX/bin/aml_topo, PREFIX/bin/aml_info
#   PREFIX/lib/libaml_autofast.so (LD_PRELOAD, with aml linked in)
set -euo pipefail

die() {
	echo "install: $*" >&2
	exit 1
}

# The built files, named by their basenames, up to "--".
usage="bazel run -c opt //:install -- --prefix DIR"
shared='' static='' include='' version_file='' link_flags='' pc_in='' config_in=''
config_version_in='' topo='' info='' autofast='' mode=''
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	case ${1##*/} in
	libaml.so) shared=$1 ;;
	libaml.a) static=$1 ;;
	include) include=$1 ;;
	version.txt) version_file=$1 ;;
	link_flags.txt) link_flags=$1 ;;
	aml.pc.in) pc_in=$1 ;;
	amlConfig.cmake.in) config_in=$1 ;;
	amlConfigVersion.cmake.in) config_version_in=$1 ;;
	aml_topo) topo=$1 ;;
	aml_info) info=$1 ;;
	libaml_autofast.so) autofast=$1 ;;
	--mode=*) mode=${1#--mode=} ;;
	esac
	shift
done
for file in "$shared" "$static" "$include" "$version_file" "$link_flags" \
	"$pc_in" "$config_in" "$config_version_in" "$topo" "$info" "$autofast"; do
	[ -n "$file" ] && [ -e "$file" ] || die "run it through Bazel: $usage"
done
[ $# -gt 0 ] || die "run it through Bazel: $usage"
shift

prefix=
while [ $# -gt 0 ]; do
	case $1 in
	--prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
	--prefix=*) prefix=${1#--prefix=}; shift ;;
	-h | --help)
		echo "usage: $usage"
		exit 0
		;;
	*) die "unknown argument '$1' (usage: --prefix DIR)" ;;
	esac
done
[ -n "$prefix" ] || die "no --prefix DIR given (usage: $usage)"
# A relative prefix is relative to where `bazel run` was typed.
case $prefix in
/*) ;;
*) prefix=${BUILD_WORKING_DIRECTORY:-$PWD}/$prefix ;;
esac
prefix=${prefix%/}
[ -n "$prefix" ] || prefix=/

[ "$mode" = opt ] ||
	echo "install: warning: a $mode build; install the optimised one with bazel run -c opt" >&2

# Every directory first, so a prefix that cannot be written fails here,
# in one line, before anything is copied.
for dir in bin include/aml lib/pkgconfig lib/cmake/aml; do
	if ! mkdir -p "$prefix/$dir" 2>/dev/null || [ ! -w "$prefix/$dir" ]; then
		die "cannot write to $prefix/$dir: choose a --prefix you may write to (or run as its owner)"
	fi
done

IFS=. read -r major minor patch <"$version_file"
version=$major.$minor.$patch
# While the major is 0 every minor may break the ABI (<aml/version.h>).
if [ "$major" = 0 ]; then soname=libaml.so.0.$minor; else soname=libaml.so.$major; fi

# Replaces a file by writing a temporary beside it and renaming: a program
# that has the old libaml.so mapped keeps running.
put() { # put MODE SOURCE DEST
	install -m "$1" "$2" "$3.tmp.$$"
	mv -f "$3.tmp.$$" "$3"
}

lib=$prefix/lib
put 755 "$shared" "$lib/libaml.so.$version"
ln -sfn "libaml.so.$version" "$lib/$soname"
ln -sfn "$soname" "$lib/libaml.so"
put 644 "$static" "$lib/libaml.a"
put 755 "$autofast" "$lib/libaml_autofast.so"

# The headers of this version only: a header an older aml had and this one
# dropped must not stay behind.
rm -rf "$prefix/include/aml.tmp.$$"
mkdir -p "$prefix/include/aml.tmp.$$"
cp -R "$include/aml" "$include/aml.h" "$prefix/include/aml.tmp.$$/"
find "$prefix/include/aml.tmp.$$" -type d -exec chmod 755 {} +
find "$prefix/include/aml.tmp.$$" -type f -exec chmod 644 {} +
rm -rf "$prefix/include/aml"
mv "$prefix/include/aml.tmp.$$/aml" "$prefix/include/aml"
mv -f "$prefix/include/aml.tmp.$$/aml.h" "$prefix/include/aml.h"
rmdir "$prefix/include/aml.tmp.$$"

# pkg-config: the flags the build linked with (-lnuma, -lhwloc, -lmemkind
# as found, with their -L and rpath when found through AML_<NAME>_PREFIX or
# a module's pkg-config; -pthread) go in Libs.private, not as modules in
# Requires.private: aml's headers need none of their flags, and
# `pkg-config --static hwloc memkind` asks for libudev.a and libdaxctl.a,
# which Debian's -dev packages of hwloc and memkind do not pull in.
libs=$(grep -v '^$' "$link_flags" | paste -sd' ')
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" \
	-e "s|@LIBS_PRIVATE@|$libs|" \
	"$pc_in" >"$lib/pkgconfig/aml.pc.tmp.$$"
mv -f "$lib/pkgconfig/aml.pc.tmp.$$" "$lib/pkgconfig/aml.pc"

# CMake: the static target links every flag the build used.
static_libs=$(grep -v '^$' "$link_flags" | paste -sd';')
sed -e "s|@VERSION@|$version|g" -e "s|@SONAME@|$soname|g" \
	-e "s|@STATIC_LIBS@|$static_libs|g" \
	"$config_in" >"$lib/cmake/aml/amlConfig.cmake.tmp.$$"
mv -f "$lib/cmake/aml/amlConfig.cmake.tmp.$$" "$lib/cmake/aml/amlConfig.cmake"
sed -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" -e "s|@MINOR@|$minor|g" \
	"$config_version_in" >"$lib/cmake/aml/amlConfigVersion.cmake.tmp.$$"
mv -f "$lib/cmake/aml/amlConfigVersion.cmake.tmp.$$" \
	"$lib/cmake/aml/amlConfigVersion.cmake"

put 755 "$topo" "$prefix/bin/aml_topo"
put 755 "$info" "$prefix/bin/aml_info"

# In a directory the loader searches through its cache (/usr/local/lib on
# Debian), the new SONAME is found only once the cache knows it.
if [ "$(id -u)" = 0 ] && command -v ldconfig >/dev/null &&
	{ printf '/lib\n/usr/lib\n' && cat /etc/ld.so.conf /etc/ld.so.conf.d/*.conf 2>/dev/null; } |
	grep -xF "$lib" >/dev/null; then
	ldconfig
fi

echo "install: aml $version ($soname) installed into $prefix"
