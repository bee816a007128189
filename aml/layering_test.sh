#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The layers of aml, checked: fails, naming the offending edge, if
#  - a backend or the emulator depends on a block (//aml:blocks);
#  - the device layer depends on a block, a backend or the emulator;
#  - the blocks depend on a backend or the emulator;
#  - a file outside aml/src/device/ includes internal.h, or a block
#    includes the backends' interface, spi.h;
#  - a file includes a header of a layer above its own (util < device <
#    blocks, backends and emulator < root), or a block's header from a
#    backend or the other way round, or the includes form a circle.
# Usage: layering_test.sh BACKENDS_DEPS DEVICE_DEPS BLOCKS_DEPS [SOURCES...]
# where each *_DEPS file is a `bazel query deps(...)` listing (genquery).
set -eu

backends_deps=$1
device_deps=$2
blocks_deps=$3
shift 3
failed=0

refuse() { # file, pattern, what
	if grep -E "$2" "$1" >/dev/null; then
		echo "FAIL: $3:" >&2
		grep -E "$2" "$1" | sed 's/^/  /' >&2
		failed=1
	fi
}

refuse "$backends_deps" '^//aml:blocks$' \
	'a backend or the emulator depends on the blocks'
refuse "$device_deps" '^//aml:blocks$|^//backends/|^//emulator[:/]' \
	'the device layer depends on a block, a backend or the emulator'
refuse "$blocks_deps" '^//backends/|^//emulator[:/]' \
	'the blocks depend on a backend or the emulator'

for f in "$@"; do
	case "$f" in
	*aml/src/device/*) ;;
	*)
		if grep -n '"aml/src/device/internal.h"' "$f" >/dev/null; then
			echo "FAIL: $f sees the topology struct" >&2
			failed=1
		fi
		;;
	esac
	case "$f" in
	*aml/src/area/* | *aml/src/arena/* | *aml/src/binding/* | \
		*aml/src/dma/* | *aml/src/layout/* | *aml/src/replicaset/* | \
		*aml/src/scratchpad/* | *aml/src/tiling/*)
		if grep -n '"aml/src/device/spi.h"' "$f" >/dev/null; then
			echo "FAIL: block $f includes the backends' spi.h" >&2
			failed=1
		fi
		;;
	esac
done

# The layer of a source or header by its path: util 0, device 1 (with
# backend.h, the registry row's contract), blocks 2, backends 2 (a peer of
# the blocks that must not see them, hence its own name), root 3.
layer_of() {
	case "$1" in
	*aml/src/device/* | *aml/src/backend.h) echo 1 ;;
	*aml/src/backends.c | *aml/src/topology_default.*) echo 3 ;;
	*aml/src/*/*)
		case "$1" in
		*aml/src/topology_xml/*) echo 0 ;;
		*) echo 2 ;;
		esac
		;;
	*aml/src/*) echo 0 ;;
	*backends/* | *emulator/*) echo 2b ;;
	*) echo 9 ;;
	esac
}

rank() { echo "${1%b}"; }

edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for f in "$@"; do
	from=$(layer_of "$f")
	path=${f#*aml/src/}
	[ "$path" = "$f" ] || path=aml/src/$path
	for tree in backends emulator; do
		case "$f" in */$tree/* | $tree/*) path=$tree/${f#*$tree/} ;; esac
	done
	for header in $(sed -n 's/^#include "\(.*\)"$/\1/p' "$f"); do
		echo "$path $header" >>"$edges"
		to=$(layer_of "$header")
		if [ "$(rank "$to")" -gt "$(rank "$from")" ] ||
			{ [ "$from" = 2 ] && [ "$to" = 2b ]; } ||
			{ [ "$from" = 2b ] && [ "$to" = 2 ]; }; then
			echo "FAIL: $path (layer $from) includes $header" \
				"(layer $to)" >&2
			failed=1
		fi
	done
done
if ! tsort "$edges" >/dev/null 2>&1; then
	echo "FAIL: the includes form a circle:" >&2
	tsort "$edges" 2>&1 >/dev/null | sed 's/^/  /' >&2
	failed=1
fi

if [ "$failed" -ne 0 ]; then
	exit 1
fi
echo "layers: ok ($(wc -l <"$backends_deps") targets under the backends," \
	"$(wc -l <"$device_deps") under the device layer, $# sources)"
