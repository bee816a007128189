#!/usr/bin/env bash
# aml_info must succeed and report the version and all three backends.
set -euo pipefail
out=$(tools/aml_info)
echo "$out"
grep -Eq '^aml [0-9]+\.[0-9]+\.[0-9]+ \(headers [0-9.]+: compatible\)$' <<<"$out"
for b in numa hwloc memkind emulator; do
	grep -Eq "^  $b +(built: .+|not built)$" <<<"$out"
done
# libnuma is required, so it is always built.
grep -Eq '^  numa +built: libnuma API' <<<"$out"
# The emulator is part of every build.
grep -Eq '^  emulator +built: software memory tiers; presets ' <<<"$out"
# hwloc names the library it loaded, not its API level (hwloc 2.9.0 has API
# 2.8.0): the version pkg-config knows, where it knows one.
if grep -Eq '^  hwloc +built' <<<"$out" && pkg-config --exists hwloc 2>/dev/null; then
	version=$(pkg-config --modversion hwloc)
	grep -Fq "  hwloc    built: hwloc $version (API " <<<"$out"
fi
