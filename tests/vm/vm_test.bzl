# SPDX-License-Identifier: BSD-3-Clause
"""The VM suite's tests: one boot per machine (docs/vm.md)."""

def vm_test(
        name,
        machine,
        scenarios,
        binaries,
        commands,
        nvdimms = [],
        kernel_args = []):
    """One boot of a machine's guest (tests/vm/vm_test.sh).

    Args:
      name: the test.
      machine: a machine of machines/ (NAME.spec).
      scenarios: its .scn files, run last in the guest; their RESULT lines
        must equal those of the emulated machine. A machine without any
        boots for its commands alone.
      binaries: labels copied to the guest's /t with their libraries.
      commands: guest commands, run in order before the scenarios.
      nvdimms: emulated NVDIMMs, as run_vm.py's --nvdimm MODE:SIZE
        (devdax:64M, fsdax:64M), set up by the guest's /init.
      kernel_args: parameters added to the guest kernel's line, as
        run_vm.py's --kernel-arg (hugepagesz=1G).
    """
    # The guest's scenario results must equal the emulator's.
    compare = [
        "--compare",
        "'$(rootpath :scenario_runner) --emulate %s %s'" % (
            machine,
            " ".join(["$(rootpath %s)" % s for s in scenarios]),
        ),
    ] if scenarios else []
    runner = [":scenario_runner"] if scenarios else []
    run_scenarios = ["'./scenario_runner *.scn'"] if scenarios else []
    native.sh_test(
        name = name,
        size = "medium",
        srcs = ["vm_test.sh"],
        # Bazel splits each of these into words as a shell would: a
        # command with blanks is quoted to stay one argument.
        args = [
            "--machine",
            machine,
            "--aml-machine",
            "$(rootpath //tools:aml_machine)",
        ] + [a for n in nvdimms for a in ["--nvdimm", n]] + [
            a
            for k in kernel_args
            for a in ["--kernel-arg", k]
        ] + compare + [
            "$(rootpaths %s)" % b
            for b in binaries + runner
        ] + ["$(rootpath %s)" % s for s in scenarios] + ["--"] + commands + run_scenarios,
        data = [
            "run_vm.py",
            "//tools:aml_machine",
        ] + runner + binaries + scenarios,
        # Timings matter (the suite must stay under 3 minutes): run alone.
        # .ci/run leaves vm_boot tests out of the sanitizer builds.
        tags = [
            "exclusive",
            "vm_boot",
        ],
    )
