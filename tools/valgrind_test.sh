#!/usr/bin/env bash
# Valgrind's memcheck over the unit tests and the tutorials: an invalid
# access, a read of uninitialised memory or a definite leak fails the test
# (--config=valgrind in .bazelrc). ASan misses uninitialised reads; this
# does not.
#   tools/valgrind_test.sh [BAZEL TEST ARGUMENTS...]
# Memcheck runs without --track-origins, which costs about half again as
# much time: when a test fails, the script runs the failed targets again
# with it, so the log says where each uninitialised value came from.
# Left out: the VM boot (//tests/vm:vm_test, QEMU under valgrind) and the
# benchmark smoke tests (timing loops, many times slower under valgrind).
# Two cases of dma_test repeat what smaller cases cover, at a cost of
# minutes under valgrind's one-thread-at-a-time scheduler (ten thousand
# requests, every size up to 64 MiB), and so does arena_workflow_test's
# upstream workflow on every arena (2048 allocations up to 16 MiB, six
# minutes under valgrind): its case of a live set that does not fit runs
# the same arenas' code on small sizes. The children of fork_test's forks
# while busy or while a scratchpad waiter is held (ForkWhileBusy,
# ForkScratchpadWaiter), arena_scalable_test's and arena_jemalloc_test's
# forks while threads use the arena, and topology_default_fork_test's only
# child, lose by design the parent's threads and their state: memcheck
# counts those as definite leaks in the child (exit 99); the last test is
# left out whole. The cases are left out by GTEST_FILTER, which every
# gtest reads, so that one `bazel test` schedules all targets at once;
# each pattern names cases of one test only.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || {
	echo "valgrind_test: valgrind not found: apt-get install valgrind" >&2
	exit 1
}

skipped='*TenThousand*:*BytesOfEverySize*:ForkWhileBusy.*:*ForkScratchpadWaiter*'
skipped+=':ArenaScalable.ForkWhileThreadsUseTheArena'
skipped+=':ArenaJemalloc.ForkWhileThreadsUseTheArena'
skipped+=':*ServesEveryAllocationWhenTheLiveSetFits*'
mapfile -t targets < <(bazel query --noshow_progress \
	'kind(cc_test, //tests/... + //docs/...) except //tests:topology_default_fork_test')

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
bazel test --config=valgrind --test_env=GTEST_FILTER="-$skipped" "$@" \
	-- "${targets[@]}" 2>&1 | tee "$log" || status=$?
if [ "$status" -ne 0 ]; then
	mapfile -t failed < <(awk '$1 ~ /^\/\// && / (FAILED|TIMEOUT)/ { print $1 }' "$log" | sort -u)
	if [ ${#failed[@]} -gt 0 ]; then
		echo "valgrind_test: again with --track-origins=yes: ${failed[*]}"
		bazel test --config=valgrind --config=valgrind_origins \
			--test_env=GTEST_FILTER="-$skipped" --test_output=errors "$@" \
			-- "${failed[@]}" || true
	fi
fi
exit "$status"
