#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The VM suite: boot the 3-node HMAT guest once (tests/vm/run_vm.py) and run
# the guest tests in it. Arguments: the runfiles of the binaries and data
# files, then "--", then the commands to run in the guest's /t.
#
# Without QEMU the suite cannot run: it fails when AML_VM_REQUIRED=1 (CI
# sets it), and otherwise says so and passes, so that `bazel test //...`
# stays usable on a laptop without QEMU.
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	if [ "${AML_VM_REQUIRED:-0}" = 1 ]; then
		echo "vm_test: qemu-system-x86_64 not found and AML_VM_REQUIRED=1:" \
			"run tools/setup.sh"
		exit 1
	fi
	echo "vm_test: SKIPPED: qemu-system-x86_64 not found" \
		"(tools/setup.sh installs it; AML_VM_REQUIRED=1 makes this a failure)"
	exit 0
fi
set -- "$@"
files=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	files="$files --file $1"
	shift
done
[ "$1" = "--" ] && shift
runs=""
for cmd in "$@"; do
	set -- "$@" --run "$cmd"
	shift
done
# shellcheck disable=SC2086 # $files is a list of words on purpose
exec python3 tests/vm/run_vm.py $files "$@"
