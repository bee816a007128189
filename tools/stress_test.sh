#!/usr/bin/env bash
# The test suite on a loaded machine: runs `bazel test //...` three times in
# a row, without cached results, while a CPU hog keeps every core busy, and
# runs each cheap test three times per round. It fails if any run of any
# test fails: a test that depends on timing, load or luck shows up here
# before it shows up on somebody's laptop.
#   tools/stress_test.sh [BAZEL TEST ARGUMENTS...]
#   STRESS_ROUNDS=1 STRESS_RUNS=5 tools/stress_test.sh --config=asan
# Arguments go to every `bazel test` (CI passes --test_env=AML_VM_REQUIRED=1).
# The hog is one busy loop per core (nproc), at the tests' own priority; it
# is started before the first round and killed on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${STRESS_ROUNDS:-3}
runs=${STRESS_RUNS:-3}
# Small tests (under a second or two) run $runs times a round; the others
# (size medium or more: the VM boot, the dma, fork and fault-injection
# suites, the main benchmark's smoke test) once.
mapfile -t slow < <(bazel query --noshow_progress \
	'tests(//...) except attr(size, small, tests(//...))')
cheap=".*"
for t in "${slow[@]}"; do cheap+=",-$t\$"; done

hogs=()
stop_hogs() {
	if [ ${#hogs[@]} -gt 0 ]; then
		kill "${hogs[@]}" 2>/dev/null || true
		wait "${hogs[@]}" 2>/dev/null || true
	fi
	hogs=()
}
trap stop_hogs EXIT INT TERM

# Build first, unloaded: the point is the tests under load, not the build.
bazel build //... "$@"

cores=$(nproc)
for _ in $(seq "$cores"); do
	sh -c 'while :; do :; done' &
	hogs+=($!)
done
echo "stress_test: $cores busy loops (pids ${hogs[*]}); $rounds rounds of" \
	"bazel test //..., cheap tests $runs times each"

for round in $(seq "$rounds"); do
	started=$(date +%s)
	echo "stress_test: round $round of $rounds, load $(cut -d' ' -f1 /proc/loadavg)"
	if ! bazel test --nocache_test_results \
		--runs_per_test="$cheap@$runs" "$@" //...; then
		echo "stress_test: FAIL in round $round of $rounds"
		exit 1
	fi
	echo "stress_test: round $round passed in $(($(date +%s) - started)) s"
done
echo "stress_test: $rounds rounds passed under load"
