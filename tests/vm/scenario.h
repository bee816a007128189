// SPDX-License-Identifier: BSD-3-Clause
// Differential placement scenarios (docs/vm.md): placement requests and their
// expected outcome written as data, parsed strictly, and run unchanged on any
// struct aml_topology: the emulator's qemu-3node on the host, the real kernel
// in the QEMU guest. A run checks every expectation and also gives one
// canonical line of what it observed; the VM suite requires the guest's
// lines to equal the emulator's.
#ifndef AML_TESTS_VM_SCENARIO_H
#define AML_TESTS_VM_SCENARIO_H

#include <cstddef>
#include <string>
#include <vector>

#include <aml.h>

namespace aml_scenario
{

// A device of a map's set, with its weight for a weighted interleave.
struct DeviceRef {
	std::string name;
	unsigned weight = 0;
};

enum class Policy {
	kBind,
	kPreferred,
	kPreferredMany,
	kInterleave,
	kWeighted,
	kFirstTouch
};

enum class Kind {
	kMachine,
	kHugepages,
	kThpMode,
	kRunOn,
	kMap,
	kReserve,
	kMove,
	kTouch,
	kUnmap,
	kExpect
};

// The pages a map is made of (aml_page_kind): base pages, 2 MiB hugetlb
// pages from the nodes' pools, transparent huge pages, or 1 GiB hugetlb
// pages from the nodes' pools of those.
enum class Pages { kBase, kHugetlb2m, kThp, kHugetlb1g };

// A map's size: bytes, or a device's capacity or free memory (read when the
// statement runs) plus or minus bytes.
struct Size {
	enum class Base { kBytes, kCapacity, kFree };
	Base base = Base::kBytes;
	std::string device; // kCapacity, kFree
	bool minus = false; // the offset is taken away
	size_t bytes = 0;   // the size (kBytes) or the offset
};

// What an expect line checks.
enum class Check {
	kFails,    // the map failed with this error
	kDevice,   // every page of the range on one device
	kRepeat,   // page first + k on pattern[k mod n]
	kRotation, // as kRepeat, from any starting entry of the pattern
	kOrder,    // the map's pages first reach these devices in this order
	kCount,    // between min_count and max_count pages of the range on
	           // one device
	kKilled,   // the map's process died of a signal while it wrote the
	           // pages (the kernel's OOM killer, the emulator's abort)
};

struct Statement {
	Kind kind;
	int line = 0;
	// The line as written, blanks normalised: names the statement in
	// messages and in the canonical line.
	std::string text;
	// The map the statement is about (map, reserve, move, unmap, expect).
	std::string map;
	// map: policy, devices, size, options. npages is 0 for a size
	// relative to the machine, known only when the map runs.
	Policy policy = Policy::kBind;
	std::vector<DeviceRef> devices;
	Size size;
	size_t npages = 0;
	bool populate = false;
	Pages pages = Pages::kBase;
	// Not written at map time: pages are placed by 'touch' lines.
	bool untouched = false;
	// A capacity-edge map: its page counts depend on the machine's free
	// memory, so its canonical summary is the order of its runs only.
	bool edge = false;
	// An 'expect NAME killed' line follows: the map and the writing of its
	// pages run in a child process, and nothing of the map is left here.
	bool forked = false;
	// reserve: device and bytes to leave free; run-on and move: device;
	// touch: the device whose CPUs touch ("" for the runner's thread);
	// hugepages: the device whose pool is set.
	std::string device;
	size_t leave_bytes = 0;
	// hugepages: the pool's size, in hugetlb pages of `pages`
	// (kHugetlb2m or kHugetlb1g).
	size_t huge_pages = 0;
	// move, touch, expect and a partial unmap: the page range, inclusive.
	bool partial = false; // unmap: of the range only
	size_t first = 0, last = 0;
	// expect count: bounds, inclusive.
	size_t min_count = 0, max_count = 0;
	// expect.
	Check check = Check::kDevice;
	std::vector<std::string> pattern; // kDevice (one), kRepeat, ...
	std::string pattern_text;         // the pattern as written
	std::string error; // kFails, and a move that must fail: "AML_ENOMEM"
};

struct Scenario {
	std::string file; // base name, as messages and results show it
	std::string machine;
	std::vector<Statement> statements;
};

// Parse the text of a scenario. Returns false with "file:line: reason" in
// *error for anything the format does not allow.
bool Parse(const std::string &file,
           const std::string &text,
           Scenario *out,
           std::string *error);

// Read and parse a file; the scenario is named by the file's base name.
bool ParseFile(const std::string &path, Scenario *out, std::string *error);

struct Outcome {
	// Every expectation held and every step worked.
	bool passed = false;
	// One readable message per problem: "file:line: what: expected X,
	// got Y ...".
	std::vector<std::string> failures;
	// What was observed, one line: "file: item; item; ...". Equal on two
	// topologies when they placed, spilled and failed alike.
	std::string canonical;
};

// Called in the child process of a map expected 'killed', once its pages
// are written, before the child reports: a test's way to make the child
// die of a signal where no kernel would kill it.
using ChildHook = void (*)(const Statement &map);

// Where a Run is, for a handler of a fatal signal, which may not allocate:
// "file:line: statement" of the statement being run, and the map it is
// about, NUL-terminated (cut if longer), in static storage written before
// each step by the thread that runs; empty outside a Run.
struct Position {
	char where[512];
	char map[128];
};
const Position &Running();

// Run a scenario on @p topology (which must have the scenario's machine's
// devices), releasing everything it mapped before returning. A map
// expected 'killed' runs in a child process (fork), which calls
// @p child_hook, if any, after writing the map's pages.
Outcome Run(const Scenario &scenario,
            const struct aml_topology *topology,
            ChildHook child_hook = nullptr);

} // namespace aml_scenario

#endif // AML_TESTS_VM_SCENARIO_H
