#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The VM suite: boot one machine's guest once (tests/vm/run_vm.py) and run
# the guest tests in it.
#
#   vm_test.sh [--machine NAME] [--aml-machine TOOL] [--nvdimm MODE:SIZE]...
#              [--kernel-arg ARG]... [--compare 'HOST COMMAND']
#              FILE... -- 'GUEST COMMAND'...
#
# NAME is a machine of machines/ (default qemu-3node), TOOL the
# aml_machine binary that turns it into QEMU's arguments; each --nvdimm
# gives the guest an emulated NVDIMM (run_vm.py --nvdimm), each
# --kernel-arg a parameter of its kernel line (run_vm.py --kernel-arg).
# FILEs (runfiles of binaries and data) are copied to the guest's /t, where
# the GUEST COMMANDs run. With --compare, the HOST COMMAND (the scenario
# runner on the emulator) runs here too, and the "RESULT ..." lines it
# prints must equal, in order, those the guest printed: the kernel and the
# emulator placed, spilled and failed alike. A difference is shown as a
# diff, emulator first.
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

compare=""
args=""
while [ $# -gt 0 ]; do
	case $1 in
	--machine | --aml-machine | --nvdimm | --kernel-arg)
		args="$args $1 $2"
		;;
	--compare) compare=$2 ;;
	*) break ;;
	esac
	shift 2
done
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	args="$args --file $1"
	shift
done
[ "$1" = "--" ] && shift
# The guest commands become --run arguments, in order, after the files.
for cmd in "$@"; do
	set -- "$@" --run "$cmd"
	shift
done

work=${TEST_TMPDIR:-$(mktemp -d)}
log=$work/guest.log
# The emulator's side runs while the guest boots and runs: the suite's wall
# time is the longer of the two, not their sum.
if [ -n "$compare" ]; then
	# shellcheck disable=SC2086 # the command and its arguments, split on purpose
	$compare >"$work/emulator.out" 2>&1 &
	emulator=$!
fi
# shellcheck disable=SC2086 # $args is a list of words on purpose
python3 tests/vm/run_vm.py $args "$@" >"$log" 2>&1
status=$?
cat "$log"
host=0
[ -n "$compare" ] && { wait "$emulator" || host=$?; }
[ $status -eq 0 ] || exit $status
if [ -z "$compare" ]; then
	echo "vm_test: PASS ($(grep -o 'guest .* finished in .*' "$log" |
		tr -d '\r'))"
	exit 0
fi

# The serial console ends lines with CR LF.
tr -d '\r' <"$log" | grep '^RESULT ' >"$work/guest.results"
grep '^RESULT ' "$work/emulator.out" >"$work/emulator.results"
if [ $host -ne 0 ]; then
	cat "$work/emulator.out"
	echo "vm_test: FAIL: the scenarios fail on the emulator (exit $host)"
	exit 1
fi
if [ ! -s "$work/guest.results" ]; then
	echo "vm_test: FAIL: the guest printed no scenario RESULT line"
	exit 1
fi
if ! diff -u --label emulator --label guest "$work/emulator.results" \
	"$work/guest.results"; then
	echo "vm_test: FAIL: the kernel and the emulator disagree (diff above)"
	exit 1
fi
echo "vm_test: the kernel and the emulator agree on" \
	"$(wc -l <"$work/guest.results") scenario(s)" \
	"($(grep -o 'guest .* finished in .*' "$log" | tr -d '\r'))"
