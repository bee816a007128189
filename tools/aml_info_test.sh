#!/usr/bin/env bash
# aml_info must succeed and report the version and all three backends.
set -euo pipefail
out=$(tools/aml_info)
echo "$out"
grep -Eq '^aml [0-9]+\.[0-9]+\.[0-9]+ \(headers [0-9.]+: compatible\)$' <<<"$out"
for b in numa hwloc memkind; do
	grep -Eq "^  $b +(built: .+|not built)$" <<<"$out"
done
# libnuma is required, so it is always built.
grep -Eq '^  numa +built: libnuma API' <<<"$out"
