// SPDX-License-Identifier: BSD-3-Clause
// Runs placement scenarios (docs/vm.md) on this machine's topology, or on a
// fresh emulated machine per scenario:
//
//   scenario_runner [--emulate SPEC] FILE.scn...
//
// SPEC is a preset, a machine file's name or a spec (docs/emulator.md);
// unless it says otherwise, it gets placement=touch, so that pages are
// placed at first touch as the kernel places them, with or without
// privilege. For each file it prints the problems found, if any, as
// "FAIL file:line: statement: expected ..., got ...", then one line
// "RESULT file: ..." with what it observed: the VM suite compares the
// guest's RESULT lines with the emulator's. Exit status: 0 when every
// scenario passed, 1 when one failed, 2 for bad usage or a file that does
// not parse. Scenarios that switch transparent huge pages on run after the
// others (SwitchesThpOn says why), on both sides.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <aml.h>

#include "tests/vm/scenario.h"

namespace
{

int Usage()
{
	std::fprintf(stderr,
	             "usage: scenario_runner [--emulate SPEC] FILE.scn...\n");
	return 2;
}

// Appends @p text to @p out (at *@p n of @p size bytes), cut if full:
// async-signal-safe, unlike snprintf.
void Append(char *out, size_t size, size_t *n, const char *text)
{
	for (; *text != '\0' && *n < size; text++)
		out[(*n)++] = *text;
}

// A scenario that switches transparent huge pages on. The 2 MiB pages it
// frees go to the kernel's per-CPU free lists, which MemFree does not count
// and which the kernel drains when it decides (Linux 6.1 in the 3-node
// guest: 2 MiB more on node 1's lists per run, kept past compaction and
// drop_caches); a scenario sized off MemFree after it found that much more
// room than it had read. So these run last.
bool SwitchesThpOn(const aml_scenario::Scenario &scenario)
{
	return std::any_of(scenario.statements.begin(),
	                   scenario.statements.end(), [](const auto &st) {
		                   return st.kind ==
		                          aml_scenario::Kind::kThpMode;
	                   });
}

// The emulator stops the program (abort()) where Linux's OOM killer would
// kill it: a map that dies without 'expect NAME killed' takes the runner
// with it. Name the statement first, as a FAIL line, then die as asked.
void NameTheStatementAndDie(int sig)
{
	const aml_scenario::Position &at = aml_scenario::Running();
	if (at.where[0] != '\0') {
		char line[1024];
		size_t n = 0;
		Append(line, sizeof(line), &n, "FAIL ");
		Append(line, sizeof(line), &n, at.where);
		Append(line, sizeof(line), &n,
		       ": the runner dies of SIGABRT here (the emulator's "
		       "stop where Linux calls the OOM killer): a map "
		       "expected to die needs 'expect ");
		Append(line, sizeof(line), &n, at.map);
		Append(line, sizeof(line), &n, " killed' after it\n");
		ssize_t written = write(STDOUT_FILENO, line, n);
		(void)written; // dying either way
	}
	raise(sig); // SA_RESETHAND: the default action now
}

} // namespace

int main(int argc, char **argv)
{
	const char *emulate = nullptr;
	std::vector<std::string> files;
	for (int i = 1; i < argc; i++) {
		if (std::strcmp(argv[i], "--emulate") == 0 && i + 1 < argc)
			emulate = argv[++i];
		else if (argv[i][0] == '-')
			return Usage();
		else
			files.push_back(argv[i]);
	}
	if (files.empty())
		return Usage();
	struct sigaction on_abort = {};
	on_abort.sa_handler = NameTheStatementAndDie;
	on_abort.sa_flags = SA_RESETHAND;
	sigaction(SIGABRT, &on_abort, nullptr);
	std::string machine_spec = emulate != nullptr ? emulate : "";
	if (machine_spec.find("placement") == std::string::npos)
		machine_spec += ";placement=touch";

	// Parse everything first: a file that does not parse runs nothing.
	std::vector<aml_scenario::Scenario> scenarios(files.size());
	for (size_t i = 0; i < files.size(); i++) {
		std::string error;
		if (!aml_scenario::ParseFile(files[i], &scenarios[i], &error)) {
			std::printf("ERROR %s\n", error.c_str());
			return 2;
		}
	}

	std::stable_partition(
	        scenarios.begin(), scenarios.end(),
	        [](const auto &scenario) { return !SwitchesThpOn(scenario); });

	int failed = 0;
	for (const auto &scenario : scenarios) {
		struct aml_topology *emulated = nullptr;
		const struct aml_topology *t = nullptr;
		if (emulate != nullptr) {
			struct aml_emu_error error = {};
			if (aml_emu_create(&emulated, machine_spec.c_str(),
			                   &error) != 0) {
				std::printf("ERROR --emulate %s: %s\n", emulate,
				            error.reason);
				return 2;
			}
			t = emulated;
			// Said once, on stderr: RESULT lines stay comparable.
			static bool said;
			if (!said && aml_emu_places_at_touch(t) != 1)
				std::fprintf(
				        stderr,
				        "scenario_runner: this process cannot "
				        "open a userfaultfd (Linux before "
				        "5.11, "
				        "or a seccomp filter), runs under "
				        "valgrind, or SPEC says placement=map: "
				        "the emulator places pages at map "
				        "time, and scenarios about first touch "
				        "fail\n");
			said = true;
		} else {
			t = aml_topology_default();
		}
		aml_scenario::Outcome out = aml_scenario::Run(scenario, t);
		for (const std::string &failure : out.failures)
			std::printf("FAIL %s\n", failure.c_str());
		std::printf("RESULT %s\n", out.canonical.c_str());
		std::fflush(stdout);
		failed += !out.passed;
		aml_topology_destroy(&emulated);
	}
	std::printf("scenario_runner: %zu passed, %d failed (%s)\n",
	            scenarios.size() - (size_t)failed, failed,
	            emulate != nullptr ? emulate : "this machine");
	return failed != 0 ? 1 : 0;
}
