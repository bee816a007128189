# SPDX-License-Identifier: BSD-3-Clause
"""The VM suite's tests: one boot per machine (docs/vm.md)."""

def vm_test(name, machine, scenarios, binaries, commands, nvdimms = []):
    """One boot of a machine's guest (tests/vm/vm_test.sh).

    Args:
      name: the test.
      machine: a machine of machines/ (NAME.spec).
      scenarios: its .scn files, run last in the guest; their RESULT lines
        must equal those of the emulated machine.
      binaries: labels copied to the guest's /t with their libraries.
      commands: guest commands, run in order before the scenarios.
      nvdimms: emulated NVDIMMs, as run_vm.py's --nvdimm MODE:SIZE
        (devdax:64M, fsdax:64M), set up by the guest's /init.
    """
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
            # The guest's scenario results must equal the emulator's.
            "--compare",
            "'$(rootpath :scenario_runner) --emulate %s %s'" % (
                machine,
                " ".join(["$(rootpath %s)" % s for s in scenarios]),
            ),
        ] + ["$(rootpaths %s)" % b for b in binaries + [":scenario_runner"]] + [
            "$(rootpath %s)" % s
            for s in scenarios
        ] + ["--"] + commands + ["'./scenario_runner *.scn'"],
        data = [
            "run_vm.py",
            ":scenario_runner",
            "//tools:aml_machine",
        ] + binaries + scenarios,
        # Timings matter (the suite must stay under 3 minutes): run alone.
        # .ci/run leaves vm_boot tests out of the sanitizer builds.
        tags = [
            "exclusive",
            "vm_boot",
        ],
    )
