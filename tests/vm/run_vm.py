#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Boot a NUMA guest of docs/vm.md under QEMU, run commands inside it,
and exit with their verdict.

    run_vm.py [--machine NAME|FILE] [--aml-machine TOOL] [--timeout S]
              [--nvdimm MODE:SIZE]... [--kernel-arg ARG]...
              [--file PATH]... --run 'CMD'...

The guest is a machine file (machines/NAME.spec, or any spec FILE with
vcpus): //tools:aml_machine (TOOL, by default bazel-bin/tools/aml_machine
of this repository) turns it into QEMU's -smp, -m, -object and -numa
arguments, so this script never reads the spec language. The default is
qemu-3node: node 0: 512 MiB DDR with the 2 CPUs, node 1: 256 MiB CPU-less
HBM (400 GB/s in HMAT), node 2: 256 MiB CPU-less far memory (30 GB/s).
Transparent huge pages are off.

With --nvdimm MODE:SIZE (repeatable), the guest also has an emulated
NVDIMM of SIZE (e.g. 64M) per option, without labels, on the machine's last
NUMA node: QEMU's NFIT, backed by a file of the run's work directory. Its
drivers come from the guest kernel's own modules (/lib/modules/VERSION on
this host), loaded by /init, and /init turns the NVDIMMs' raw namespaces,
in order, into MODE with ndctl: devdax gives a device-DAX character device,
whose path and size (ndctl's) /init exports as AML_VM_DAX and
AML_VM_DAX_SIZE; fsdax gives /dev/pmemN, which /init formats as ext4 and
mounts with -o dax on /mnt/fsdaxN, exported as AML_VM_FSDAX. Several
devices of a mode give space-separated lists. A failure there fails the
verdict (the commands still run). The kernel line then also says
swiotlb=noforce, so that the nodes keep the RAM they have without NVDIMMs.

Each --kernel-arg ARG (repeatable) is added to the guest kernel's line,
in order: NAME or NAME=VALUE, NAME of letters, digits, '_', '-' and '.',
VALUE of printable characters without blanks or quotes (e.g.
hugepagesz=1G, hugepages=0:1,1:1: qemu-gigantic's pools of 1 GiB pages,
which only a boot can reserve, docs/vm.md). Anything else, "--" (the rest
of the line would go to /init) included, is refused (exit 2).

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
    """The newest /boot/vmlinuz, decompressed to an ELF QEMU boots by PVH,
    whether it is one, and its version (its modules' directory)."""
    images = sorted(glob.glob("/boot/vmlinuz-*"))
    if not images:
        fail("no /boot/vmlinuz-*: install linux-image-amd64 "
             "(tools/setup.sh does)")
    version = os.path.basename(images[-1])[len("vmlinuz-"):]
    with open(images[-1], "rb") as f:
        data = f.read()
    start = data.find(b"\xfd7zXZ\x00")
    if start < 0:
        return images[-1], False, version  # not XZ: the bzImage as it is
    out = os.path.join(workdir, "vmlinux")
    decompressor = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    with open(out, "wb") as f:
        f.write(decompressor.decompress(data[start:]))
    return out, True, version


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
%(setup)s%(runs)s
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


# The drivers of an NVDIMM and of each mode's namespaces, by module name
# (dependencies first, from modules.dep). ext4 asks for crc32c through the
# crypto API (a softdep modules.dep does not list).
NVDIMM_MODULES = ["libnvdimm", "nfit", "nd_pmem"]
MODE_MODULES = {
    "devdax": ["device_dax", "dax_pmem"],
    "fsdax": ["crc32c_generic", "ext4"],
}

# /init's part for the NVDIMMs: load the drivers, wait for the raw
# namespaces the NFIT describes, and give each its mode.
NVDIMM_INIT = """nd_fail() { echo "%(mark)s nvdimm: $*"; status=1; }
for m in %(modules)s; do insmod /$m || nd_fail "insmod $m"; done
# The nd bus probes the NFIT's regions asynchronously.
i=0
while [ $(ls -d /sys/bus/nd/devices/namespace*.0 2>/dev/null | wc -l) \\
	-lt %(count)d ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
set -- %(modes)s
AML_VM_DAX= AML_VM_DAX_SIZE= AML_VM_FSDAX=
for ns in $(ls -d /sys/bus/nd/devices/namespace*.0 2>/dev/null); do
	[ $# -gt 0 ] || break
	ns=${ns##*/} mode=$1
	shift
	%(ndctl)s create-namespace -f -e $ns -m $mode >/tmp/$ns.json \\
		|| { nd_fail "ndctl create-namespace -e $ns -m $mode"; continue; }
	size=$(sed -n 's/^  "size":\\([0-9]*\\),$/\\1/p' /tmp/$ns.json)
	if [ $mode = devdax ]; then
		dev=$(sed -n 's/.*"chardev":"\\([^"]*\\)".*/\\1/p' /tmp/$ns.json)
		AML_VM_DAX="$AML_VM_DAX${AML_VM_DAX:+ }/dev/$dev"
		AML_VM_DAX_SIZE="$AML_VM_DAX_SIZE${AML_VM_DAX_SIZE:+ }$size"
		echo "%(mark)s nvdimm: $ns devdax /dev/$dev, $size bytes"
	else
		dev=$(sed -n 's/.*"blockdev":"\\([^"]*\\)".*/\\1/p' /tmp/$ns.json)
		dir=/mnt/fsdax${dev#pmem}
		mkdir -p $dir
		# DAX needs ext4 blocks of the page size (small file systems
		# default to 1 KiB).
		%(mke2fs)s -q -t ext4 -b 4096 /dev/$dev \\
			&& mount -t ext4 -o dax /dev/$dev $dir \\
			|| { nd_fail "ext4 -o dax on /dev/$dev"; continue; }
		AML_VM_FSDAX="$AML_VM_FSDAX${AML_VM_FSDAX:+ }$dir"
		echo "%(mark)s nvdimm: $ns fsdax /dev/$dev on $dir, $size bytes"
	fi
done
[ $# -eq 0 ] || nd_fail "fewer namespaces than --nvdimm options"
export AML_VM_DAX AML_VM_DAX_SIZE AML_VM_FSDAX
"""


def parse_nvdimm(text):
    """MODE:SIZE of --nvdimm: the mode and the size in MiB."""
    mode, _, size = text.partition(":")
    units = {"M": 1, "G": 1024}
    if mode not in MODE_MODULES or size[-1:] not in units or \
            not size[:-1].isdigit() or int(size[:-1]) == 0:
        fail("--nvdimm %s: not MODE:SIZE with MODE devdax or fsdax and "
             "SIZE a number of M or G, e.g. devdax:64M" % text)
    return mode, int(size[:-1]) * units[size[-1]]


def check_kernel_arg(text):
    """--kernel-arg's ARG, refused unless it is one parameter of the
    kernel line (NAME or NAME=VALUE) that the kernel reads as written."""
    if not isinstance(text, str):
        text = "--"  # argparse's value of --kernel-arg=--
    name, eq, value = text.partition("=")
    name_chars = set("abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
    if not name or name.startswith("-") or \
            not set(name) <= name_chars or (eq and not value) or \
            any(c <= " " or c > "~" or c in "\"'\\" for c in value):
        fail("--kernel-arg %r: not NAME or NAME=VALUE (NAME of letters, "
             "digits, _ - .; VALUE printable, without blanks or quotes), "
             "e.g. hugepagesz=1G" % text)
    return text


def mebibytes(text):
    """QEMU's -m size (512M, 1G) in MiB."""
    units = {"M": 1, "G": 1024}
    return int(text[:-1]) * units[text[-1]]


def nvdimm_qemu_args(machine, nvdimms, workdir):
    """The machine's arguments with NVDIMM slots, one NVDIMM per
    (mode, MiB) of @p nvdimms on the last NUMA node, backed by a file of
    @p workdir (QEMU makes it sparse; the guest's writes land there)."""
    args = list(machine)
    nodes = [a for a in args if a.startswith("node,nodeid=")]
    if "-machine" not in args or "-m" not in args or not nodes:
        fail("--nvdimm: the machine has no -machine, -m or NUMA node")
    node = nodes[-1].split(",")[1].split("=")[1]
    i = args.index("-machine")
    args[i + 1] += ",nvdimm=on"
    i = args.index("-m")
    total = sum(size for _, size in nvdimms)
    args[i + 1] = "%s,slots=%d,maxmem=%dM" % (
        args[i + 1], len(nvdimms), mebibytes(args[i + 1]) + total)
    for n, (_, size) in enumerate(nvdimms):
        args += [
            "-object", "memory-backend-file,id=nv%d,share=on,mem-path=%s,"
            "size=%dM" % (n, os.path.join(workdir, "nvdimm%d" % n), size),
            "-device", "nvdimm,memdev=nv%d,id=nvdimm%d,node=%s" % (n, n, node)]
    return args


def module_order(version, names):
    """The guest kernel's modules @p names and their dependencies, each
    after those it needs, as paths under /lib/modules/VERSION."""
    base = os.path.join("/lib/modules", version)
    deps = {}
    try:
        with open(os.path.join(base, "modules.dep")) as f:
            for line in f:
                path, _, needs = line.partition(":")
                deps[path] = needs.split()
    except OSError:
        fail("no %s/modules.dep: the guest kernel's modules are not "
             "installed" % base)
    by_name = {os.path.basename(p).split(".ko")[0].replace("-", "_"): p
               for p in deps}
    order = []

    def visit(path):
        if path not in order:
            for dep in deps[path]:
                visit(dep)
            order.append(path)

    for name in names:
        if name not in by_name:
            fail("kernel %s has no module %s (needed by --nvdimm)" %
                 (version, name))
        visit(by_name[name])
    return [os.path.join(base, p) for p in order]


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


def initramfs(files, runs, workdir, machine, nvdimms, version):
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
    setup = ""
    if nvdimms:
        modes = [mode for mode, _ in nvdimms]
        names = list(NVDIMM_MODULES)
        for mode in sorted(set(modes)):
            names += MODE_MODULES[mode]
        modules = module_order(version, names)
        # The host's tools, at their host paths, with their libraries.
        tools = {"ndctl": shutil.which("ndctl")}
        if "fsdax" in modes:
            tools["mke2fs"] = shutil.which("mke2fs", path=os.environ.get(
                "PATH", "") + ":/sbin:/usr/sbin")
        for name, path in tools.items():
            if path is None:
                fail("no %s: install %s (tools/setup.sh does)" %
                     (name, "ndctl" if name == "ndctl" else "e2fsprogs"))
        for path in modules + list(tools.values()):
            dest = os.path.join(root, path.lstrip("/"))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy(path, dest)
            libs.update(shared_libraries(path))
        setup = NVDIMM_INIT % {
            "mark": MARK, "count": len(nvdimms), "modes": " ".join(modes),
            "modules": " ".join(m.lstrip("/") for m in modules),
            "ndctl": tools["ndctl"], "mke2fs": tools.get("mke2fs", "false")}
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
                        "machine": machine, "setup": setup})
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
    parser.add_argument("--nvdimm", action="append", default=[],
                        metavar="MODE:SIZE",
                        help="an NVDIMM whose namespace /init makes MODE "
                        "(devdax or fsdax), e.g. devdax:64M")
    parser.add_argument("--kernel-arg", action="append", default=[],
                        metavar="ARG",
                        help="a parameter added to the guest kernel's "
                        "line, e.g. hugepagesz=1G")
    # The guest takes 10-20 s on an idle machine; QEMU emulates its CPUs
    # (TCG), so with the host's cores busy it takes several times that.
    # Below the 300 s Bazel gives vm_test, so that a hang is reported here.
    parser.add_argument("--timeout", type=float, default=240)
    args = parser.parse_args()
    # The machine first: a bad one is the caller's error on any host.
    machine, guest = machine_args(args.machine, args.aml_machine)
    nvdimms = [parse_nvdimm(n) for n in args.nvdimm]
    kernel_args = [check_kernel_arg(a) for a in args.kernel_arg]
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
        kernel, is_elf, version = kernel_elf(workdir)
        initrd = initramfs(args.file, args.run, workdir, guest, nvdimms,
                           version)
        if nvdimms:
            machine = nvdimm_qemu_args(machine, nvdimms, workdir)
        append = APPEND
        if nvdimms:
            # The NVDIMMs' hotplug range ends above 4 GiB, so the kernel
            # would take 64 MiB of bounce buffers from the last node's RAM
            # (swiotlb): the guest has no device that needs them.
            append += " swiotlb=noforce"
        append = " ".join([append] + kernel_args)
        command = [QEMU] + machine + [
            "-kernel", kernel, "-initrd", initrd, "-append", append,
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
