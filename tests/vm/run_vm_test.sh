#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# run_vm.py's --machine, --nvdimm and --kernel-arg, without booting: a
# machine the tool does not know, a spec file that is not a QEMU machine, an
# NVDIMM that is not MODE:SIZE, or a kernel argument that is not one
# NAME[=VALUE] parameter is exit 2 with the reason, before QEMU or the
# kernel is looked for.
# Arguments: run_vm.py, the aml_machine tool.
run_vm=$1
tool=$2
work=${TEST_TMPDIR:-$(mktemp -d)}
fail() {
	echo "run_vm_test: FAIL: $*"
	exit 1
}
check() { # reason-substring, run_vm.py arguments...
	reason=$1
	shift
	python3 "$run_vm" --aml-machine "$tool" "$@" --run true \
		>"$work/out" 2>&1
	status=$?
	cat "$work/out"
	[ $status -eq 2 ] || fail "$*: exit $status, not 2"
	grep -qF -e "$reason" "$work/out" || fail "$*: no '$reason'"
}
check "no such machine" --machine no-such-machine
check "no tier has vcpus: not a QEMU machine" --machine knl-flat
printf 'tier: name=node0, kind=DRAM, capacity=64MiB, bw=1GiB/s\n' \
	>"$work/broken.spec"
check "missing latency" --machine "$work/broken.spec"
check "bazel build //tools:aml_machine" --aml-machine "$work/none" \
	--machine qemu-3node
check "not MODE:SIZE" --nvdimm pmem:64M
check "not MODE:SIZE" --nvdimm devdax:64
check "not MODE:SIZE" --nvdimm fsdax:0M
check "not NAME or NAME=VALUE" --kernel-arg=
check "not NAME or NAME=VALUE" --kernel-arg=--
check "not NAME or NAME=VALUE" --kernel-arg=-x
check "not NAME or NAME=VALUE" --kernel-arg "hugepages=0:1 1:1"
check "not NAME or NAME=VALUE" --kernel-arg 'init="/bin/sh"'
check "not NAME or NAME=VALUE" --kernel-arg hugepages=
check "not NAME or NAME=VALUE" --kernel-arg =1G
check "not NAME or NAME=VALUE" --kernel-arg "$(printf 'a=\tb')"
echo "run_vm_test: PASS"
