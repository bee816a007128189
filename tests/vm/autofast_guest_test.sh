#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# libaml_autofast.so on a real NUMA kernel, in the guest (busybox sh):
#
#   sh autofast_guest_test.sh NODE
#
# NODE is the HBM node the fast-memory API serves every CPU of the guest
# from (2 on qemu-4node-2socket). Files in the current directory:
# autofast_placement (tests/vm/autofast_placement.c, which reports where
# the kernel put its blocks), autofast_program (tools/, the host's
# autofast_test's program) and libaml_autofast.so.
#
# 1. Without the library, autofast_placement's blocks keep the default
#    policy and no page is on NODE: what the library changes below is its
#    doing.
# 2. Under it, with blocks of 1 MiB or more sent to fast memory: the two
#    large blocks' mappings prefer NODE (numa_maps) and every page of
#    theirs is there (move_pages); the two small blocks (64 and 256 KiB)
#    keep the default policy and have no page there. The library's own
#    report at exit agrees: two blocks sent, both on NODE when freed.
# 3. autofast_program, unmodified, under the library: its four large
#    blocks were on NODE, and every byte held.
node=$1
failed=0
fail() {
	echo "autofast_guest_test: FAIL: $*"
	failed=1
}
# expect OUTPUT BLOCK EXTENDED-REGEX: BLOCK's line of OUTPUT matches it.
expect() {
	line=$(echo "$1" | grep "^block $2 ")
	echo "$line" | grep -Eq "$3" || fail "$2: '$line' does not match '$3'"
}

out=$(./autofast_placement 2>&1) || fail "autofast_placement exited $?"
echo "without the library:"
echo "$out"
for block in big_malloc big_calloc small_heap small_mmap; do
	expect "$out" $block "policy=default pages( N[0-9]+=[0-9]+)+$"
	echo "$out" | grep "^block $block " | grep -q " N$node=" &&
		fail "$block has pages on node $node without the library"
done

out=$(env LD_PRELOAD="$PWD/libaml_autofast.so" AML_AUTOFAST_SIZE=1M \
	AML_AUTOFAST_REPORT=1 ./autofast_placement 2>&1) ||
	fail "autofast_placement exited $? under the library"
echo "under LD_PRELOAD=libaml_autofast.so AML_AUTOFAST_SIZE=1M:"
echo "$out"
# Only N$node: every whole page of the block is on the HBM node.
expect "$out" big_malloc "^block big_malloc 8388608 policy=prefer:$node pages N$node=[0-9]+$"
expect "$out" big_calloc "^block big_calloc 4194304 policy=prefer:$node pages N$node=[0-9]+$"
for block in small_heap small_mmap; do
	expect "$out" $block "policy=default pages( N[0-9]+=[0-9]+)+$"
	echo "$out" | grep "^block $block " | grep -q " N$node=" &&
		fail "$block (below 1 MiB) has pages on node $node"
done
echo "$out" | grep -q "^aml autofast: 2 allocations of 1048576 bytes or more sent to fast memory, 0 fell back to glibc; at free, first pages on: node$node (NUMA $node) x2$" ||
	fail "the library's report does not say: 2 blocks, both on node$node"

out=$(env LD_PRELOAD="$PWD/libaml_autofast.so" AML_AUTOFAST_REPORT=1 \
	./autofast_program 2>&1) || fail "autofast_program exited $?"
echo "autofast_program under the library:"
echo "$out"
echo "$out" | grep -qx ok || fail "autofast_program did not say ok"
echo "$out" | grep -q "^aml autofast: 4 allocations of 1048576 bytes or more sent to fast memory, 0 fell back to glibc; at free, first pages on: node$node (NUMA $node) x4$" ||
	fail "autofast_program's four large blocks were not on node$node"

[ $failed -eq 0 ] && echo "autofast_guest_test: passed"
exit $failed
