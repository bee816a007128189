#!/usr/bin/env bash
# Installs every Debian package that aml's build, tests and benchmarks need.
# Idempotent: installs only what is missing, and says what. Uses sudo only
# when not root.
#   tools/setup.sh
set -euo pipefail

packages=(
	bazel-bootstrap # Bazel 4.2.3, works offline with the stand-ins in third_party/
	gcc g++ libc6-dev pkg-config git
	make cmake # the install's consumers (tools/install_test.sh)
	libnuma-dev    # required backend
	libhwloc-dev   # optional backend: discovery
	libmemkind-dev # optional backend: high-bandwidth memory
	libgtest-dev     # tests
	gfortran         # the Fortran module's test (tests:fortran_fast_test)
	libbenchmark-dev # benchmarks
	libjemalloc-dev libmimalloc-dev # peers of the arena benchmark (optional)
	clang-format     # style check (tools/check_format.sh)
	doxygen          # API reference, checked warning-free (tools/doxygen.sh)
	clang libclang-rt-14-dev # libFuzzer for tools/fuzz.sh
	valgrind                 # memcheck over the tests (tools/valgrind_test.sh)
	# The 3-node NUMA guest of //tests/vm (docs/vm.md):
	qemu-system-x86 qemu-system-data # QEMU, and qboot.rom for a fast boot
	linux-image-amd64                # the guest's kernel (6.1: NUMA, HMAT)
	busybox-static cpio              # the guest's userland and initramfs
	ndctl e2fsprogs                  # the guest's NVDIMM namespaces (DAX)
	python3                          # tests/vm/run_vm.py
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#packages[@]} packages already installed"
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "setup: not root and no sudo: install ${missing[*]} by hand" >&2
		exit 1
	}
	sudo=(sudo)
fi
echo "setup: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
