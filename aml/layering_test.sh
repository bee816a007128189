#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The layers of aml, checked: fails, naming the offending edge, if
#  - a backend or the emulator depends on a block (//aml:blocks);
#  - the device layer depends on a block, a backend or the emulator;
#  - the blocks depend on a backend or the emulator;
#  - a file outside aml/src/device/ includes topology_struct.h, or a block
#    includes the backends' interface, spi.h.
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
		if grep -n '"aml/src/device/topology_struct.h"' "$f" >/dev/null; then
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

if [ "$failed" -ne 0 ]; then
	exit 1
fi
echo "layers: ok ($(wc -l <"$backends_deps") targets under the backends," \
	"$(wc -l <"$device_deps") under the device layer, $# sources)"
