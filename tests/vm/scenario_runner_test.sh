#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The scenario runner from the command line, on the emulator's qemu-3node:
# every shipped scenario passes (exit 0), and a scenario with a deliberately
# wrong expectation fails (exit 1) with a message that names the file, the
# line, what was expected and what was found, by page range.
# Arguments: the runner, the wrong scenario, then the shipped scenarios.
runner=$1
wrong=$2
shift 2

out=$("$runner" --emulate qemu-3node "$@")
status=$?
echo "$out"
if [ $status -ne 0 ]; then
	echo "scenario_runner_test: the shipped scenarios fail on the emulator"
	exit 1
fi

out=$("$runner" --emulate qemu-3node "$wrong")
status=$?
echo "$out"
if [ $status -ne 1 ]; then
	echo "scenario_runner_test: a wrong expectation exited $status, not 1"
	exit 1
fi
expected='FAIL wrong_expectation.scn:6: expect near pages 100-199 node0: expected node0, got node1 for pages 100-199 (100 of 100 pages differ)'
if ! echo "$out" | grep -qxF "$expected"; then
	echo "scenario_runner_test: the failure does not read:"
	echo "  $expected"
	exit 1
fi
echo "scenario_runner_test: PASS"
