#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The scenario runner from the command line, on emulated machines: every
# shipped scenario is in the directory of its machine (scenarios/MACHINE/),
# one of each machine passes (exit 0) there, and a scenario with a
# deliberately wrong expectation fails (exit 1) with a message that names
# the file, the line, what was expected and what was found, by page range;
# a map expected killed whose child process maps and writes every page
# fails too, and says so; a map that dies without 'expect killed' takes the
# runner with it, which names the statement first; a scenario that switches
# transparent huge pages on runs last.
# Arguments: the runner, the three wrong scenarios, then the shipped ones.
runner=$1
wrong=$2
not_killed=$3
killed_unexpected=$4
shift 4

# Every scenario is in its machine's directory; the runner runs the first
# of each machine (scenario_test runs them all on the emulator, and each
# machine's VM test again).
ran=" "
for scenario in "$@"; do
	machine=$(basename "$(dirname "$scenario")")
	if ! grep -qx "machine $machine" "$scenario"; then
		echo "scenario_runner_test: $scenario is not in its machine's" \
			"directory (scenarios/MACHINE/)"
		exit 1
	fi
	case $ran in *" $machine "*) continue ;; esac
	ran="$ran$machine "
	out=$("$runner" --emulate "$machine" "$scenario")
	status=$?
	echo "$out"
	if [ $status -ne 0 ]; then
		echo "scenario_runner_test: $scenario fails on the emulator"
		exit 1
	fi
done

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

out=$("$runner" --emulate qemu-3node "$not_killed")
status=$?
echo "$out"
expected="FAIL not_killed.scn:7: expect fits killed: expected the map's child process to be killed, but it mapped and wrote every page"
result='RESULT not_killed.scn: fits=ok(child); fits killed: ok(child); next=ok(node1:4096); next pages 0-4095: node1'
if [ $status -ne 1 ] || ! echo "$out" | grep -qxF "$expected" ||
	! echo "$out" | grep -qxF "$result"; then
	echo "scenario_runner_test: a map expected killed that was not did" \
		"not fail (exit $status) with:"
	echo "  $expected"
	echo "  $result"
	exit 1
fi

# The emulator stops the runner where Linux would OOM-kill it (SIGABRT: 134
# from the shell); the runner says in which statement first.
out=$("$runner" --emulate qemu-3node "$killed_unexpected" 2>/dev/null)
status=$?
echo "$out"
expected="FAIL killed_unexpected.scn:8: map oom bind node1 16MiB: the runner dies of SIGABRT here (the emulator's stop where Linux calls the OOM killer): a map expected to die needs 'expect oom killed' after it"
if [ $status -ne 134 ] || ! echo "$out" | grep -qxF "$expected"; then
	echo "scenario_runner_test: a map that killed the runner (exit" \
		"$status) was not named with:"
	echo "  $expected"
	exit 1
fi

# A scenario that switches transparent huge pages on runs after the
# others, whatever the order given: the 2 MiB pages it frees wait on the
# kernel's per-CPU lists, out of MemFree, until the kernel drains them, and
# a capacity scenario after it would find more room than MemFree said.
thp=
plain=
for scenario in "$@"; do
	case $scenario in */qemu-3node/*) ;; *) continue ;; esac
	if grep -q '^transparent-hugepages ' "$scenario"; then
		thp=${thp:-$scenario}
	else
		plain=${plain:-$scenario}
	fi
done
if [ -z "$thp" ] || [ -z "$plain" ]; then
	echo "scenario_runner_test: no qemu-3node scenario with" \
		"transparent-hugepages, or none without"
	exit 1
fi
order=$("$runner" --emulate qemu-3node "$thp" "$plain" |
	sed -n 's/^RESULT \([^:]*\):.*/\1/p' | tr '\n' ' ')
if [ "$order" != "$(basename "$plain") $(basename "$thp") " ]; then
	echo "scenario_runner_test: given $thp first, the runner ran" \
		"'$order' (the THP scenario must run last)"
	exit 1
fi

# A scenario for one machine fails, it does not skip, on another.
out=$("$runner" --emulate qemu-4node-2socket "$wrong")
status=$?
echo "$out"
if [ $status -ne 1 ] || ! echo "$out" | grep -qF "this topology is not qemu-3node"; then
	echo "scenario_runner_test: qemu-3node's scenario on" \
		"qemu-4node-2socket did not fail the machine check"
	exit 1
fi
echo "scenario_runner_test: PASS"
