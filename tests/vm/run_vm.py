#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Boot a NUMA guest of docs/vm.md under QEMU, run commands inside it,
and exit with their verdict.

    run_vm.py [--machine NAME|FILE] [--aml-machine TOOL] [--timeout S]
              [--file PATH]... --run 'CMD' [--run 'CMD']...

The guest is a machine file (machines/NAME.spec, or any spec FILE with
vcpus): //tools:aml_machine (TOOL, by default bazel-bin/tools/aml_machine
of this repository) turns it into QEMU's -smp, -m, -object and -numa
arguments, so this script never reads the spec language. The default is
qemu-3node: node 0: 512 MiB DDR with the 2 CPUs, node 1: 256 MiB CPU-less
HBM (400 GB/s in HMAT), node 2: 256 MiB CPU-less far memory (30 GB/s).
Transparent huge pages are off.

Every --file (test binaries, scenario files) is copied into the guest's /t
under its base name, with the shared libraries of ELF files at their host
paths (found with ldd). Each --run command runs in /t with sh, as root,
with /proc, /sys, /dev and a tmpfs /tmp mounted, and AML_VM_GUEST=NAME (the
machine's name; a FILE's base name without .spec) in the environment
(guest-only tests skip without it).

Exit status: 0 when every command exited 0; 1 when one failed (the guest's
log is printed, so the failing test's output is there); 2 when the guest
gave no verdict (crash, panic, timeout) or QEMU or the kernel is missing.
"""
import argparse
import glob
import gzip
import io
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import time

QEMU = "qemu-system-x86_64"
QBOOT = "/usr/share/qemu/qboot.rom"
APPEND = "console=ttyS0 panic=-1 loglevel=4 transparent_hugepage=never"
MARK = "=== aml-vm:"


def fail(message, status=2):
    print("run_vm: " + message, file=sys.stderr)
    sys.exit(status)


def kernel_elf(workdir):
    """The newest /boot/vmlinuz, decompressed to an ELF QEMU boots by PVH."""
    images = sorted(glob.glob("/boot/vmlinuz-*"))
    if not images:
        fail("no /boot/vmlinuz-*: install linux-image-amd64 "
             "(tools/setup.sh does)")
    with open(images[-1], "rb") as f:
        data = f.read()
    start = data.find(b"\xfd7zXZ\x00")
    if start < 0:
        return images[-1], False  # not XZ: boot the bzImage as it is
    out = os.path.join(workdir, "vmlinux")
    decompressor = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    with open(out, "wb") as f:
        f.write(decompressor.decompress(data[start:]))
    return out, True


def shared_libraries(path):
    """The absolute paths ldd lists for an ELF file (none for others)."""
    with open(path, "rb") as f:
        if f.read(4) != b"\x7fELF":
            return []
    result = subprocess.run(["ldd", path], capture_output=True, text=True)
    libs = []
    for line in result.stdout.splitlines():
        for word in line.split():
            if word.startswith("/") and os.path.exists(word):
                libs.append(word)
    return libs


INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
cd /t
# Guest-only tests run when they see this, and skip everywhere else.
export AML_VM_GUEST=%(machine)s
# Bazel's binaries find their libraries through $ORIGIN-relative run
# paths, which do not hold in /t: name the directories they were copied to.
export LD_LIBRARY_PATH=%(libdirs)s
status=0
%(runs)s
echo "%(mark)s verdict $status"
if [ $status -eq 0 ]; then printf '\\000'; else printf '\\001'; fi \\
	| dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
poweroff -f
"""

RUN = """echo "%(mark)s run: %(quoted)s"
sh -c '%(escaped)s'
rc=$?
echo "%(mark)s exit $rc: %(quoted)s"
[ $rc -eq 0 ] || status=1
"""


def machine_args(machine, tool):
    """QEMU's machine arguments for a machine name or file, from
    //tools:aml_machine (one argument a line), and the guest's name."""
    if tool is None:
        tool = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "..", "..", "bazel-bin", "tools", "aml_machine")
    if not os.path.isfile(tool):
        fail("no %s: bazel build //tools:aml_machine (or pass "
             "--aml-machine)" % tool)
    result = subprocess.run([tool, machine], capture_output=True, text=True)
    if result.returncode != 0:
        fail("%s %s: %s" % (tool, machine, result.stderr.strip()))
    name = os.path.basename(machine)
    if name.endswith(".spec"):
        name = name[:-len(".spec")]
    return result.stdout.splitlines(), name


def initramfs(files, runs, workdir, machine):
    root = os.path.join(workdir, "root")
    for d in ("bin", "t", "proc", "sys", "dev", "tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        fail("no busybox: install busybox-static (tools/setup.sh does)")
    shutil.copy(busybox, os.path.join(root, "bin", "busybox"))
    libs = set()
    for path in files:
        shutil.copy(path, os.path.join(root, "t", os.path.basename(path)))
        libs.update(shared_libraries(path))
    for lib in sorted(libs):
        dest = os.path.join(root, lib.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy(lib, dest)  # follows symlinks: the file itself
    body = "".join(
        RUN % {"mark": MARK, "quoted": cmd.replace('"', "'"),
               "escaped": cmd.replace("'", "'\\''")} for cmd in runs)
    init = os.path.join(root, "init")
    with open(init, "w") as f:
        libdirs = ":".join(sorted({os.path.dirname(l) for l in libs}))
        f.write(INIT % {"runs": body, "mark": MARK, "libdirs": libdirs,
                        "machine": machine})
    os.chmod(init, 0o755)
    names = subprocess.run(["find", "."], cwd=root, capture_output=True,
                           check=True).stdout
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root,
                          input=names, capture_output=True, check=True).stdout
    out = os.path.join(workdir, "initramfs.cpio.gz")
    with gzip.open(out, "wb", compresslevel=1) as f:
        f.write(cpio)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--machine", default="qemu-3node",
                        help="a machine name (machines/NAME.spec) or a "
                        "spec file")
    parser.add_argument("--aml-machine", default=None,
                        help="the aml_machine tool (default: bazel-bin's)")
    parser.add_argument("--file", action="append", default=[])
    parser.add_argument("--run", action="append", default=[], required=True)
    # The guest takes 10-20 s on an idle machine; QEMU emulates its CPUs
    # (TCG), so with the host's cores busy it takes several times that.
    # Below the 300 s Bazel gives vm_test, so that a hang is reported here.
    parser.add_argument("--timeout", type=float, default=240)
    args = parser.parse_args()
    # The machine first: a bad one is the caller's error on any host.
    machine, guest = machine_args(args.machine, args.aml_machine)
    if shutil.which(QEMU) is None:
        fail(QEMU + " not found: install qemu-system-x86 "
             "(tools/setup.sh does)")
    for path in args.file:
        if not os.path.isfile(path):
            fail("no such file: " + path)

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="aml-vm-",
                               dir=os.environ.get("TEST_TMPDIR"))
    try:
        kernel, is_elf = kernel_elf(workdir)
        initrd = initramfs(args.file, args.run, workdir, guest)
        command = [QEMU] + machine + [
            "-kernel", kernel, "-initrd", initrd, "-append", APPEND,
            "-display", "none", "-serial", "stdio", "-monitor", "none",
            "-no-reboot", "-nodefaults",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
        if is_elf and os.path.exists(QBOOT):
            command += ["-bios", QBOOT]
        try:
            result = subprocess.run(command, capture_output=True,
                                    timeout=args.timeout)
            log, code = result.stdout.decode(errors="replace"), \
                result.returncode
        except subprocess.TimeoutExpired as e:
            log = (e.stdout or b"").decode(errors="replace")
            code = None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    seconds = time.monotonic() - started
    print(log)
    print("run_vm: guest %s finished in %.1f s" % (guest, seconds))
    for line in log.splitlines():
        if line.startswith(MARK + " exit ") and \
                not line.startswith(MARK + " exit 0:"):
            print("run_vm: FAILED: " + line[len(MARK) + 1:])
    if code == 1:
        print("run_vm: PASS")
        return 0
    if code == 3:
        print("run_vm: FAIL (the failing commands are listed above)")
        return 1
    if code is None:
        fail("the guest gave no verdict within %.0f s" % args.timeout)
    fail("the guest gave no verdict (QEMU exit %d): it crashed or "
         "panicked; its log is above" % code)


if __name__ == "__main__":
    sys.exit(main())
