#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# aml_machine (QEMU's arguments for a machine file): qemu-3node gives, word
# for word, the command line tests/vm/run_vm.py held as a constant before
# machine files; the 4-node machine gives hmat-lb lines from both sockets
# with the access items' figures, -smp with its sockets, and the HBM node's
# initiator; a file path works like a name; bad input exits 1 or 2 with a
# reason.
# Argument: the tool.
tool=$(realpath "$1")
machines=$(realpath machines)
cd "${TEST_TMPDIR:-$(mktemp -d)}" || exit 1
fail() {
	echo "aml_machine_test: FAIL: $*"
	exit 1
}

# run_vm.py's MACHINE list, as it was (commit 7f7106b).
expected='-machine q35,hmat=on -accel tcg,thread=multi -cpu max -smp 2 -m 1G
-object memory-backend-ram,size=512M,id=m0
-object memory-backend-ram,size=256M,id=m1
-object memory-backend-ram,size=256M,id=m2
-numa node,nodeid=0,memdev=m0,cpus=0-1,initiator=0
-numa node,nodeid=1,memdev=m1,initiator=0
-numa node,nodeid=2,memdev=m2,initiator=0
-numa dist,src=0,dst=1,val=12 -numa dist,src=0,dst=2,val=30
-numa dist,src=1,dst=2,val=35
-numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-latency,latency=100
-numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-bandwidth,bandwidth=100G
-numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=120
-numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-bandwidth,bandwidth=400G
-numa hmat-lb,initiator=0,target=2,hierarchy=memory,data-type=access-latency,latency=300
-numa hmat-lb,initiator=0,target=2,hierarchy=memory,data-type=access-bandwidth,bandwidth=30G'
want=$(echo "$expected" | tr ' ' '\n')
got=$("$tool" qemu-3node) || fail "qemu-3node exited $?"
if [ "$got" != "$want" ]; then
	echo "$want" >want.txt
	echo "$got" >got.txt
	diff -u want.txt got.txt
	fail "qemu-3node differs from run_vm.py's former MACHINE list"
fi

# The same machine read from its file.
file=$machines/qemu-3node.spec
got=$("$tool" "$file") || fail "$file exited $?"
[ "$got" = "$want" ] || fail "$file differs from the preset qemu-3node"

got=$("$tool" qemu-4node-2socket) || fail "qemu-4node-2socket exited $?"
for line in \
	'2,sockets=2,cores=1' \
	'memory-backend-ram,size=512M,id=m0' \
	'node,nodeid=1,memdev=m1,cpus=1,initiator=1' \
	'node,nodeid=2,memdev=m2,initiator=0' \
	'node,nodeid=3,memdev=m3,initiator=0' \
	'dist,src=1,dst=2,val=25' \
	'hmat-lb,initiator=1,target=2,hierarchy=memory,data-type=access-latency,latency=220' \
	'hmat-lb,initiator=1,target=2,hierarchy=memory,data-type=access-bandwidth,bandwidth=100G' \
	'hmat-lb,initiator=0,target=2,hierarchy=memory,data-type=access-bandwidth,bandwidth=400G' \
	'hmat-lb,initiator=1,target=3,hierarchy=memory,data-type=access-bandwidth,bandwidth=25G'; do
	echo "$got" | grep -qxF -e "$line" || fail "qemu-4node-2socket: no line $line"
done
[ "$(echo "$got" | grep -c '^hmat-lb')" = 16 ] ||
	fail "qemu-4node-2socket: not 2 x 4 x 2 hmat-lb lines"

# Read and write figures apart; a distance matrix that is not symmetric.
cat >asym.spec <<'SPEC'
tier: name=a, kind=DRAM, capacity=64MiB, read_bw=2GiB/s, write_bw=1GiB/s, read_latency=90ns, write_latency=110ns, vcpus=1
tier: name=b, kind=CXL, capacity=2GiB, bw=1GiB/s, latency=300ns
distances: 10,20/30,10
SPEC
got=$("$tool" ./asym.spec) || fail "asym.spec exited $?"
for line in '-m' '2112M' \
	'hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=read-latency,latency=90' \
	'hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=write-latency,latency=110' \
	'hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=read-bandwidth,bandwidth=2G' \
	'hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=write-bandwidth,bandwidth=1G' \
	'dist,src=0,dst=1,val=20' 'dist,src=1,dst=0,val=30' \
	'memory-backend-ram,size=2G,id=m1'; do
	echo "$got" | grep -qxF -e "$line" || fail "asym.spec: no line $line"
done

# Errors: exit 1 (or 2 for usage) with a reason on stderr, nothing on stdout.
check_error() { # status reason-substring args...
	status=$1
	reason=$2
	shift 2
	out=$("$tool" "$@" 2>err.txt)
	got=$?
	[ $got -eq "$status" ] || fail "$*: exit $got, not $status"
	[ -z "$out" ] || fail "$*: printed arguments on error"
	grep -qF -e "$reason" err.txt || fail "$*: stderr lacks '$reason': $(cat err.txt)"
}
check_error 2 usage
check_error 2 usage --help
check_error 1 "no such machine" no-such-machine
check_error 1 "cannot read" ./missing.spec
check_error 1 "no tier has vcpus" knl-flat
printf 'qemu-3node\nscale=1/2\n' >scaled.spec
check_error 1 "a scale is the emulator's" ./scaled.spec
printf 'tier: name=a, kind=DRAM, capacity=1.5MiB, bw=1GiB/s, latency=1ns, vcpus=1\n' >odd.spec
check_error 1 "whole MiB" ./odd.spec
printf 'tier: name=a, kind=DRAM, capacity=1MiB, bw=1.5MiB/s, latency=1ns, vcpus=1\n' >oddbw.spec
check_error 1 "whole MiB/s" ./oddbw.spec
printf 'tier: name=a, kind=DRAM, capacity=1MiB, bw=1GiB/s, latency=1ns, vcpus=1\naccess: from=a, to=b, bw=1GiB/s, latency=1ns\n' >bad.spec
check_error 1 'unknown tier "b"' ./bad.spec
echo "aml_machine_test: PASS"
