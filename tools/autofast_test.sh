#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# An unmodified program under LD_PRELOAD=libaml_autofast.so on emulated
# knl-flat: its four blocks of 1 MiB or more land on MCDRAM (the report at
# exit names where each was at free), its small one stays with glibc, and
# every byte holds. Then with AML_AUTOFAST_SIZE above them all: nothing is
# sent. Then a malformed size: refused, nothing sent, the program unharmed.
set -euo pipefail
so="$PWD/$1"
program="$2"

run() {
	env AML_EMULATE='knl-flat;scale=1/64' AML_AUTOFAST_REPORT=1 \
		LD_PRELOAD="$so" "$@" "$program" 2>&1
}

out=$(run)
echo "$out"
grep -qx ok <<<"$out"
grep -q "aml autofast: 4 allocations of 1048576 bytes or more sent to fast memory, 0 fell back to glibc; at free, first pages on: mcdram (NUMA 1) x4$" <<<"$out"

out=$(run AML_AUTOFAST_SIZE=16M)
echo "$out"
grep -qx ok <<<"$out"
grep -q "aml autofast: 0 allocations of 16777216 bytes or more" <<<"$out"

out=$(run AML_AUTOFAST_SIZE=lots)
echo "$out"
grep -qx ok <<<"$out"
grep -q "AML_AUTOFAST_SIZE=lots: use bytes" <<<"$out"
grep -q "aml autofast: 0 allocations" <<<"$out"
echo "autofast_test: passed"
