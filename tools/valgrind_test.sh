#!/usr/bin/env bash
# Valgrind's memcheck over the unit tests and the tutorials: an invalid
# access, a read of uninitialised memory or a definite leak fails the test
# (--config=valgrind in .bazelrc). ASan misses uninitialised reads; this
# does not.
#   tools/valgrind_test.sh [BAZEL TEST ARGUMENTS...]
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
# left out whole.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || {
	echo "valgrind_test: valgrind not found: apt-get install valgrind" >&2
	exit 1
}

filtered="//tests:dma_test + //tests:fork_test + //tests:arena_scalable_test + //tests:arena_jemalloc_test + //tests:arena_workflow_test + //tests:topology_default_fork_test"
mapfile -t targets < <(bazel query --noshow_progress \
	"kind(cc_test, //tests/... + //docs/...) except ($filtered)")
bazel test --config=valgrind "$@" -- "${targets[@]}"
bazel test --config=valgrind "$@" \
	--test_arg=--gtest_filter='-*TenThousand*:*BytesOfEverySize*:ForkWhileBusy.*:*ForkScratchpadWaiter*:ArenaScalable.ForkWhileThreadsUseTheArena:ArenaJemalloc.ForkWhileThreadsUseTheArena:*ServesEveryAllocationWhenTheLiveSetFits*' \
	//tests:dma_test //tests:fork_test //tests:arena_scalable_test \
	//tests:arena_jemalloc_test //tests:arena_workflow_test
