// SPDX-License-Identifier: BSD-3-Clause
// Running a scenario on a topology: every map goes through a device area
// (aml/area/device.h), so the policies, the single-device path and the
// populate option are those users get; pages are then written in order
// from the runner's thread (Linux places them at that first touch, the
// emulator already did at map time); placement is read back with
// aml_topology_locate(), which is move_pages(2) on Linux.
//
// Each statement adds what it observed to the canonical line: maps their
// result and page counts per device (or, for edge maps, the order of their
// runs), expectations the placement they looked at. Expectations also
// compare that observation with what the file says, and explain any
// difference by page range.
//
// Maps of huge pages (hugetlb-2m, hugetlb-1g, thp) are located per base
// page, as both sides can tell; a 'hugepages' line sets a device's pool of
// 2 MiB (or 1 GiB) hugetlb pages, through the emulator's
// aml_emu_set_hugepages_2m() (_1g()) or the node's sysfs nr_hugepages, and
// every pool of the sizes the lines name is given back its size at the
// end; a map of 1 GiB pages is written once per huge page (its first
// touch faults all of it in the guest, and the emulator placed it at map
// time: writing its every base page would make the emulator's host commit
// a GiB per page for nothing); a
// 'transparent-hugepages madvise' line switches the guest's THP mode for
// the scenario (the emulator's THP needs no switch).
//
// A map expected 'killed' runs, with the writing of its pages, in a child
// process: near a node's limit Linux's OOM killer kills the process that
// touches a BIND map the node's free memory cannot hold (SIGKILL), and the
// emulator, which places pages at first touch, aborts where the kernel
// would kill (SIGABRT). The runner survives either and records 'killed';
// the child reports any other outcome through its exit status (0: mapped
// and written; otherwise the AML error code, negated).
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include <aml/area/device.h>

#include "tests/testing/process.h"
#include "tests/vm/node_pool.h"
#include "tests/vm/scenario.h"

namespace aml_scenario
{

using aml_testing::LeftNothingMapped;
using aml_testing::VirtualPages;
using aml_vm::kPool1G;
using aml_vm::kPool2M;
using aml_vm::NodePoolFile;
using aml_vm::ReadNodePool;
using aml_vm::WriteNodePool;
namespace
{

// A failed map may leave this little of a device's free memory taken: the
// kernel's own allocations move free counts a little between two reads.
const size_t kFreeSlack = (size_t)1 << 20;

// aml's policy of each Policy, in the enum's order.
const enum aml_policy kPolicies[] = {AML_POLICY_BIND,
                                     AML_POLICY_PREFERRED,
                                     AML_POLICY_PREFERRED_MANY,
                                     AML_POLICY_INTERLEAVE,
                                     AML_POLICY_WEIGHTED_INTERLEAVE,
                                     AML_POLICY_LOCAL};

// aml's page kind of each Pages, in the enum's order.
const enum aml_page_kind kPageKinds[] = {AML_PAGE_DEFAULT, AML_PAGE_HUGETLB_2M,
                                         AML_PAGE_TRANSPARENT_HUGE,
                                         AML_PAGE_HUGETLB_1G};

// The sysfs size (KiB) of a pool of hugetlb pages of `pages`.
size_t PoolKib(Pages pages)
{
	return pages == Pages::kHugetlb1g ? kPool1G : kPool2M;
}

// Where the kernel says whether it gives transparent huge pages.
const char kThpFile[] = "/sys/kernel/mm/transparent_hugepage/enabled";

// The mode of transparent huge pages, the bracketed word of kThpFile
// ("always [madvise] never"), or "" if it cannot be read.
std::string ReadThpMode()
{
	FILE *f = std::fopen(kThpFile, "r");
	char line[128] = "";
	if (f == nullptr)
		return "";
	bool read = std::fgets(line, sizeof(line), f) != nullptr;
	std::fclose(f);
	const char *open = read ? std::strchr(line, '[') : nullptr;
	const char *close = open != nullptr ? std::strchr(open, ']') : nullptr;
	return close != nullptr ? std::string(open + 1, close) : "";
}

// Sets the mode of transparent huge pages, as root; false if refused.
bool WriteThpMode(const std::string &mode)
{
	FILE *f = std::fopen(kThpFile, "w");
	if (f == nullptr)
		return false;
	bool ok = std::fputs(mode.c_str(), f) >= 0;
	return std::fclose(f) == 0 && ok && ReadThpMode() == mode;
}

std::string Join(const std::vector<std::string> &items, const char *sep)
{
	std::string out;
	for (const std::string &item : items)
		out += (out.empty() ? "" : sep) + item;
	return out;
}

std::string PageRange(size_t first, size_t last)
{
	return first == last
	               ? std::to_string(first)
	               : std::to_string(first) + "-" + std::to_string(last);
}

// Consecutive pages on one device.
struct Run {
	std::string device;
	size_t first, last;
};

// "node0:DRAM,node1:HBM": what the machine check compares.
std::vector<std::string> NamesAndKinds(const struct aml_topology *t)
{
	std::vector<std::string> out;
	AML_TOPOLOGY_FOREACH (dev, t)
		out.push_back(std::string(dev->name) + ":" +
		              aml_device_kind_name(dev->kind));
	return out;
}

std::vector<Run> Runs(const std::vector<std::string> &where, size_t first)
{
	std::vector<Run> runs;
	for (size_t i = 0; i < where.size(); i++) {
		if (!runs.empty() && runs.back().device == where[i])
			runs.back().last = first + i;
		else
			runs.push_back({where[i], first + i, first + i});
	}
	return runs;
}

// "node1*12,node0*38", at most a few runs.
std::string RunLengths(const std::vector<Run> &runs)
{
	std::vector<std::string> parts;
	for (size_t i = 0; i < runs.size() && i < 8; i++) {
		size_t n = runs[i].last - runs[i].first + 1;
		parts.push_back(runs[i].device +
		                (n > 1 ? "*" + std::to_string(n) : ""));
	}
	if (runs.size() > 8)
		parts.push_back("...");
	return Join(parts, ",");
}

// Pages per device, by device name ("node0:100,node1:100"): not by first
// appearance, since Linux starts an interleave on any device.
std::string CountsByDevice(const std::vector<std::string> &where)
{
	std::map<std::string, size_t> counts;
	for (const std::string &device : where)
		counts[device]++;
	std::vector<std::string> parts;
	for (const auto &c : counts)
		parts.push_back(c.first + ":" + std::to_string(c.second));
	return Join(parts, ",");
}

// The CPUs of a device, as sched_setaffinity() takes them.
cpu_set_t DeviceCpus(const struct aml_device *dev)
{
	cpu_set_t cpus;
	CPU_ZERO(&cpus);
	AML_BITMAP_FOREACH (cpu, &dev->cpus)
		CPU_SET(cpu, &cpus);
	return cpus;
}

struct LiveMap {
	const Statement *statement = nullptr;
	struct aml_area *area = nullptr;
	char *ptr = nullptr;
	size_t npages = 0;
	// Pages a partial unmap released, which the map no longer has.
	std::vector<bool> released;
	int error = 0;        // why the map failed; 0 if it is mapped
	bool claimed = false; // an 'expect fails' line looked at the error
	// A map run in a child process: "killed", "ok(child)" or the error
	// the map failed with; "" for a map of this process.
	std::string child;
};

class Runner
{
      public:
	Runner(const Scenario &s, const struct aml_topology *t, ChildHook hook)
	    : s_(s), t_(t), page_(aml_page_size()), hook_(hook)
	{
	}
	Outcome Go();

      private:
	bool Step(const Statement &st);
	bool Machine(const Statement &st);
	void Hugepages(const Statement &st);
	bool SetPool(const struct aml_device *dev,
	             Pages kind,
	             size_t pages,
	             size_t *got);
	bool ReadPoolOf(const struct aml_device *dev, Pages kind, size_t *out);
	bool SavePools();
	void RestorePools();
	void ThpMode(const Statement &st);
	size_t DeviceIndex(const struct aml_device *dev);
	void RunOn(const Statement &st);
	void Map(const Statement &st);
	void MapInChild(const Statement &st,
	                std::vector<const struct aml_device *> &devices,
	                std::vector<unsigned> &weights,
	                LiveMap *m);
	void ExpectKilled(const Statement &st, const LiveMap &m);
	void Reserve(const Statement &st);
	void Move(const Statement &st);
	void Touch(const Statement &st);
	void Unmap(const Statement &st);
	void UnmapPart(const Statement &st);
	bool ResolveSize(const Statement &st, size_t *npages);
	size_t WriteStride(const Statement &st);
	void Expect(const Statement &st);
	void ExpectPages(const Statement &st, const LiveMap &m);
	void ExpectCount(const Statement &st, const LiveMap &m);
	bool Within(const Statement &st, const LiveMap &m);
	void Release(LiveMap *m);

	void Problem(const Statement &st, const std::string &what);
	const struct aml_device *Device(const Statement &st,
	                                const std::string &name);
	LiveMap *Mapped(const Statement &st);
	std::vector<std::string>
	Where(const LiveMap &m, size_t first, size_t last);
	std::vector<std::string>
	Reached(const LiveMap &m, size_t first, size_t last);
	std::string Summary(const Statement &st, const LiveMap &m);
	std::vector<std::string> FirstAppearances(const LiveMap &m);
	std::vector<size_t> FreeBytes();

	const Scenario &s_;
	const struct aml_topology *t_;
	size_t page_;
	ChildHook hook_;
	std::map<std::string, LiveMap> maps_;
	std::vector<std::string> items_;
	Outcome out_;
	// With a 'hugepages' line, every device's pool as the scenario
	// found it: put back when it ends, for the next one on the machine.
	struct SavedPool {
		const struct aml_device *dev;
		Pages kind;
		size_t pages;
	};
	std::vector<SavedPool> pools_;
	// The guest's THP mode before a 'transparent-hugepages' line set
	// it, given back at the end; "" when no line did.
	std::string thp_before_;
};

void Runner::Problem(const Statement &st, const std::string &what)
{
	out_.failures.push_back(s_.file + ":" + std::to_string(st.line) + ": " +
	                        st.text + ": " + what);
}

const struct aml_device *Runner::Device(const Statement &st,
                                        const std::string &name)
{
	AML_TOPOLOGY_FOREACH (dev, t_) {
		if (name == dev->name)
			return dev;
	}
	Problem(st, "no device named " + name + " in this topology");
	return nullptr;
}

LiveMap *Runner::Mapped(const Statement &st)
{
	LiveMap &m = maps_[st.map];
	if (m.error == 0)
		return &m;
	Problem(st, "map " + st.map + " failed with " + aml_errname(m.error));
	return nullptr;
}

// The device name of each page in [first, last]: "none" for a page with no
// memory, "unmapped" for an address not mapped.
std::vector<std::string>
Runner::Where(const LiveMap &m, size_t first, size_t last)
{
	size_t n = last - first + 1;
	std::vector<int> ids(n, AML_FAILURE);
	std::vector<std::string> where(n, "unlocated");
	// A touched page reads as having no memory (AML_ENODEV) for a moment
	// while khugepaged collapses its range into a huge page: the kernel
	// clears the range's page table entry meanwhile. Seen once in a busy
	// guest (node1,none,node2); asked again, such a page has its node.
	for (int attempt = 0; attempt < 5; attempt++) {
		if (aml_topology_locate(t_, m.ptr + first * page_, n,
		                        ids.data()) != 0)
			return where;
		if (std::find(ids.begin(), ids.end(), AML_ENODEV) == ids.end())
			break;
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
	for (size_t i = 0; i < n; i++) {
		const struct aml_device *dev =
		        ids[i] >= 0 ? aml_topology_device(t_, (size_t)ids[i])
		                    : nullptr;
		where[i] = dev != nullptr         ? dev->name
		           : ids[i] == AML_ENODEV ? "none"
		                                  : "unmapped";
		// Released by a partial unmap: whatever maps there now is
		// another map's.
		if (first + i < m.released.size() && m.released[first + i])
			where[i] = "unmapped";
	}
	return where;
}

std::vector<size_t> Runner::FreeBytes()
{
	std::vector<size_t> out;
	AML_TOPOLOGY_FOREACH (dev, t_) {
		size_t bytes = 0;
		aml_device_free_bytes(dev, &bytes);
		out.push_back(bytes);
	}
	return out;
}

// The devices a machine promises, names and kinds by index, are those of
// its machine file (machines/NAME.spec), which the emulator has as the
// preset NAME: the check knows no machine by heart.
bool Runner::Machine(const Statement &st)
{
	struct aml_topology *machine = nullptr;
	struct aml_emu_error error = {};
	if (aml_emu_create(&machine, s_.machine.c_str(), &error) != 0) {
		Problem(st, "unknown machine (not a machine file or preset: " +
		                    std::string(error.reason) + ")");
		return false;
	}
	std::vector<std::string> expected = NamesAndKinds(machine);
	aml_topology_destroy(&machine);
	std::vector<std::string> have = NamesAndKinds(t_);
	if (have != expected) {
		Problem(st, "this topology is not " + s_.machine +
		                    ": expected devices " +
		                    Join(expected, ",") + ", got " +
		                    Join(have, ","));
		return false;
	}
	return true;
}

size_t Runner::DeviceIndex(const struct aml_device *dev)
{
	size_t index = 0;
	while (aml_topology_device(t_, index) != dev)
		index++;
	return index;
}

/*
 * A device's pool of hugetlb pages of `kind` (2 MiB or 1 GiB) set to
 * @p pages: on the emulator through aml_emu_set_hugepages_2m() (_1g()), on
 * Linux by writing the node's nr_hugepages (root). Both give what the
 * device's memory holds (the guest's 1 GiB pages also need a free, movable
 * 1 GiB range), which *got tells; false when the pool cannot be set or
 * read.
 */
bool Runner::SetPool(const struct aml_device *dev,
                     Pages kind,
                     size_t pages,
                     size_t *got)
{
	size_t kib = PoolKib(kind);
	if (aml_topology_is_emulated(t_) == 1) {
		uint64_t reserved = 0;
		int err =
		        kib == kPool1G
		                ? aml_emu_set_hugepages_1g(t_, DeviceIndex(dev),
		                                           pages, &reserved)
		                : aml_emu_set_hugepages_2m(t_, DeviceIndex(dev),
		                                           pages, &reserved);
		if (err != 0)
			return false;
		*got = (size_t)reserved;
		return true;
	}
	long now = dev->numa_id >= 0 && WriteNodePool(dev->numa_id, pages, kib)
	                   ? ReadNodePool(dev->numa_id, "nr_hugepages", kib)
	                   : -1;
	*got = now >= 0 ? (size_t)now : 0;
	return now >= 0;
}

// The size of a device's pool of `kind` now, or false.
bool Runner::ReadPoolOf(const struct aml_device *dev, Pages kind, size_t *out)
{
	size_t kib = PoolKib(kind);
	if (aml_topology_is_emulated(t_) == 1) {
		struct aml_emu_stats stats = {};
		if (aml_emu_stats(t_, DeviceIndex(dev), &stats) != 0)
			return false;
		*out = (size_t)(kib == kPool1G ? stats.hugepages_1g
		                               : stats.hugepages_2m);
		return true;
	}
	long now = dev->numa_id >= 0
	                   ? ReadNodePool(dev->numa_id, "nr_hugepages", kib)
	                   : -1;
	*out = now >= 0 ? (size_t)now : 0;
	return now >= 0;
}

/*
 * Every device's pool of each size the scenario's 'hugepages' lines name,
 * as the scenario found it, to give back at its end: a move of 2 MiB
 * hugetlb pages onto a node without free ones grows that node's pool too,
 * which no 'hugepages' line names. A size no line names is not read: a
 * guest without 1 GiB pages runs the 2 MiB scenarios.
 */
bool Runner::SavePools()
{
	bool used[2] = {false, false};
	for (const Statement &st : s_.statements) {
		if (st.kind == Kind::kHugepages)
			used[st.pages == Pages::kHugetlb1g] = true;
	}
	// 1 GiB pools first, so that they are given back last (in reverse),
	// once the 2 MiB pages that may sit in a freed 1 GiB range are gone:
	// a gigantic page needs its whole range.
	for (int gig = 1; gig >= 0; gig--) {
		Pages kind = gig ? Pages::kHugetlb1g : Pages::kHugetlb2m;
		if (!used[gig])
			continue;
		AML_TOPOLOGY_FOREACH (dev, t_) {
			size_t pages = 0;
			if (!ReadPoolOf(dev, kind, &pages)) {
				out_.failures.push_back(
				        s_.file + ": cannot read the pool of " +
				        dev->name +
				        (dev->numa_id >= 0
				                 ? " (" +
				                           NodePoolFile(
				                                   dev->numa_id,
				                                   "nr_"
				                                   "hugepages",
				                                   PoolKib(kind)) +
				                           ")"
				                 : std::string()));
				return false;
			}
			pools_.push_back({dev, kind, pages});
		}
	}
	return true;
}

void Runner::Hugepages(const Statement &st)
{
	const struct aml_device *dev = Device(st, st.device);
	if (dev == nullptr)
		return;
	size_t got = 0;
	if (!SetPool(dev, st.pages, st.huge_pages, &got)) {
		Problem(st,
		        "cannot set the pool of " + st.device +
		                (aml_topology_is_emulated(t_) == 1
		                         ? ""
		                         : " (as root: " +
		                                   NodePoolFile(
		                                           dev->numa_id,
		                                           "nr_hugepages",
		                                           PoolKib(st.pages)) +
		                                   ")"));
		return;
	}
	// The 2 MiB pool's item as it always read; a 1 GiB pool's says so.
	items_.push_back("hugepages " + st.device + "=" + std::to_string(got) +
	                 (st.pages == Pages::kHugetlb1g ? "(1G)" : ""));
	if (got != st.huge_pages)
		Problem(st, "expected a pool of " +
		                    std::to_string(st.huge_pages) +
		                    " huge pages, got " + std::to_string(got));
}

/*
 * transparent-hugepages madvise: the kernel gives transparent huge pages to
 * the maps that ask (MADV_HUGEPAGE, aml's thp maps), where the guest boots
 * with "never" (thp maps AML_ENOTSUP). The emulator gives them whatever
 * the host's mode: nothing to set there.
 */
void Runner::ThpMode(const Statement &st)
{
	items_.push_back(st.text);
	if (aml_topology_is_emulated(t_) == 1)
		return;
	thp_before_ = ReadThpMode();
	if (thp_before_.empty() || !WriteThpMode("madvise")) {
		Problem(st, std::string("cannot set madvise in ") + kThpFile +
		                    " (root only)");
		thp_before_.clear();
	}
}

void Runner::RestorePools()
{
	for (auto it = pools_.rbegin(); it != pools_.rend(); ++it) {
		size_t got = 0;
		if (!SetPool(it->dev, it->kind, it->pages, &got) ||
		    got != it->pages)
			out_.failures.push_back(
			        s_.file + ": cannot give the " +
			        (it->kind == Pages::kHugetlb1g ? "1G" : "2M") +
			        " pool of " + it->dev->name + " back its " +
			        std::to_string(it->pages) + " huge pages");
	}
	pools_.clear();
}

void Runner::RunOn(const Statement &st)
{
	const struct aml_device *dev = Device(st, st.device);
	if (dev == nullptr)
		return;
	cpu_set_t cpus = DeviceCpus(dev);
	if (CPU_COUNT(&cpus) == 0 ||
	    sched_setaffinity(0, sizeof(cpus), &cpus) != 0)
		Problem(st, "cannot run on the CPUs of " + st.device);
}

/*
 * The devices of a mapping in the order its pages first reach them. Not the
 * order of its runs: at a spill point Linux may alternate between two nodes
 * for a few hundred pages (free counts are per-CPU estimates near the
 * watermark), so runs would be node1,node2,node1,node2 where the emulator
 * says node1,node2.
 */
std::vector<std::string> Runner::FirstAppearances(const LiveMap &m)
{
	std::vector<std::string> order;
	for (const Run &r : Runs(Where(m, 0, m.npages - 1), 0)) {
		if (std::find(order.begin(), order.end(), r.device) ==
		    order.end())
			order.push_back(r.device);
	}
	return order;
}

// The devices pages first to last of a map are on, sorted by name: what
// an interleave at a capacity edge shows whatever its phase.
std::vector<std::string>
Runner::Reached(const LiveMap &m, size_t first, size_t last)
{
	std::vector<std::string> where = Where(m, first, last);
	std::sort(where.begin(), where.end());
	where.erase(std::unique(where.begin(), where.end()), where.end());
	return where;
}

// Page counts per device ("node0:100,node1:100"), or, for an edge map, the
// devices in the order its pages reach them; for an edge interleave, whose
// first page's device depends on its address, the devices it reaches.
std::string Runner::Summary(const Statement &st, const LiveMap &m)
{
	if (st.edge && st.policy == Policy::kInterleave)
		return "reached " + Join(Reached(m, 0, m.npages - 1), ",");
	if (st.edge)
		return "order " + Join(FirstAppearances(m), ",");
	return CountsByDevice(Where(m, 0, m.npages - 1));
}

// Whether the statement's page range is inside the map (a map sized off
// the machine is checked only now); says so if not.
bool Runner::Within(const Statement &st, const LiveMap &m)
{
	if (st.last < m.npages)
		return true;
	Problem(st,
	        "past the " + std::to_string(m.npages) + " pages of " + st.map);
	return false;
}

// A size relative to the machine, read now: capacity or free memory of a
// device, plus or minus the offset, in whole pages (rounded down).
bool Runner::ResolveSize(const Statement &st, size_t *npages)
{
	const Size &size = st.size;
	if (size.base == Size::Base::kBytes) {
		*npages = st.npages;
		return true;
	}
	const struct aml_device *dev = Device(st, size.device);
	size_t bytes = dev != nullptr ? dev->capacity : 0;
	if (dev != nullptr && size.base == Size::Base::kFree &&
	    aml_device_free_bytes(dev, &bytes) != 0)
		bytes = 0;
	if (bytes == 0 || (size.minus && bytes < size.bytes + page_)) {
		Problem(st, "cannot size it from " + size.device);
		return false;
	}
	bytes = size.minus ? bytes - size.bytes : bytes + size.bytes;
	*npages = bytes / page_;
	return true;
}

// Pages between two writes of a map's first touch: one a 1 GiB page (see
// the top of this file), else every page.
size_t Runner::WriteStride(const Statement &st)
{
	return st.pages == Pages::kHugetlb1g ? ((size_t)1 << 30) / page_ : 1;
}

void Runner::Map(const Statement &st)
{
	// Until it maps, the map counts as failed (its problem reported).
	LiveMap &m = maps_[st.map];
	m = LiveMap{&st, nullptr,     nullptr, st.npages,
	            {},  AML_FAILURE, true,    ""};
	if (!ResolveSize(st, &m.npages))
		return;
	std::vector<const struct aml_device *> devices;
	std::vector<unsigned> weights;
	for (const DeviceRef &ref : st.devices) {
		devices.push_back(Device(st, ref.name));
		weights.push_back(ref.weight);
		if (devices.back() == nullptr)
			return;
	}
	if (st.forked) {
		MapInChild(st, devices, weights, &m);
		return;
	}
	bool weighted = st.policy == Policy::kWeighted;
	// A request aml refuses (a zero weight) fails here, as a map.
	int err = aml_area_device_create(
	        &m.area, t_, devices.data(), devices.size(),
	        kPolicies[(int)st.policy], weighted ? weights.data() : nullptr);
	std::vector<size_t> free_before = FreeBytes();
	long vm_before = VirtualPages();
	struct aml_area_mmap_options opts = {0, st.populate,
	                                     kPageKinds[(int)st.pages]};
	if (err == 0)
		m.ptr = static_cast<char *>(
		        aml_area_mmap(m.area, m.npages * page_, &opts));
	if (m.ptr == nullptr) {
		m.error = err != 0 ? err : aml_errno;
		bool nothing_left =
		        LeftNothingMapped(vm_before, m.npages * page_);
		m.claimed = false; // an 'expect fails' line must say so
		items_.push_back(st.map + "=" + aml_errname(m.error));
		if (!nothing_left)
			Problem(st, "failed, but left a mapping behind");
		std::vector<size_t> free_after = FreeBytes();
		for (size_t i = 0; i < free_after.size(); i++) {
			if (free_after[i] + kFreeSlack < free_before[i])
				Problem(st,
				        "failed, but took memory of " +
				                std::string(aml_topology_device(
				                                    t_, i)
				                                    ->name));
		}
		return;
	}
	m.error = 0;
	m.released.assign(m.npages, false);
	if (st.untouched) {
		items_.push_back(st.map + "=ok(untouched)");
		return;
	}
	for (size_t i = 0; i < m.npages; i += WriteStride(st))
		*(volatile char *)(m.ptr + i * page_) = 1;
	items_.push_back(st.map + "=ok(" + Summary(st, m) + ")");
}

/*
 * The map statement of a map expected 'killed', in a child process: what
 * the OOM killer (or the emulator's abort) ends is the child, and nothing of
 * the map is left in the runner, on either machine (the emulator's pages
 * are the child's copy of its state). stdio is flushed before the fork and
 * the child leaves with _exit(), so nothing is printed twice.
 */
void Runner::MapInChild(const Statement &st,
                        std::vector<const struct aml_device *> &devices,
                        std::vector<unsigned> &weights,
                        LiveMap *m)
{
	// The 'expect killed' line judges the outcome, whatever it is.
	m->claimed = true;
	std::fflush(nullptr);
	pid_t pid = fork();
	if (pid < 0) {
		Problem(st, "cannot fork the map's child process");
		return;
	}
	if (pid == 0) {
		// The OOM killer must choose this process, not the runner. It
		// does anyway in the guest (the child maps the runner's pages,
		// its reserves, and its own), but by one map's pages only:
		// the highest score makes it certain. If the write fails, that
		// margin remains.
		int fd = open("/proc/self/oom_score_adj", O_WRONLY);
		if (fd >= 0) {
			ssize_t written = write(fd, "1000", 4);
			(void)written;
			close(fd);
		}
		struct aml_area *area = nullptr;
		int err = aml_area_device_create(
		        &area, t_, devices.data(), devices.size(),
		        kPolicies[(int)st.policy],
		        st.policy == Policy::kWeighted ? weights.data()
		                                       : nullptr);
		struct aml_area_mmap_options opts = {0, st.populate,
		                                     kPageKinds[(int)st.pages]};
		char *ptr = nullptr;
		if (err == 0)
			ptr = static_cast<char *>(
			        aml_area_mmap(area, m->npages * page_, &opts));
		if (ptr == nullptr)
			_exit(-(err != 0 ? err : aml_errno));
		for (size_t i = 0; i < m->npages; i += WriteStride(st))
			*(volatile char *)(ptr + i * page_) = 1;
		if (hook_ != nullptr)
			hook_(st);
		_exit(0);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			Problem(st, "lost the map's child process");
			return;
		}
	}
	m->child = WIFSIGNALED(status) ? "killed"
	           : WEXITSTATUS(status) == 0
	                   ? "ok(child)"
	                   : aml_errname(-WEXITSTATUS(status));
	items_.push_back(st.map + "=" + m->child);
}

void Runner::Reserve(const Statement &st)
{
	const struct aml_device *dev = Device(st, st.device);
	LiveMap &m = maps_[st.map];
	m = LiveMap{&st, nullptr, nullptr, 0, {}, AML_FAILURE, true, ""};
	size_t free_bytes = 0;
	if (dev == nullptr || aml_device_free_bytes(dev, &free_bytes) != 0 ||
	    free_bytes < st.leave_bytes + page_) {
		Problem(st, "cannot tell, or not enough, free memory to leave");
		return;
	}
	m.npages = (free_bytes - st.leave_bytes) / page_;
	int err = aml_area_device_create(&m.area, t_, &dev, 1, AML_AREA_BIND,
	                                 nullptr);
	struct aml_area_mmap_options opts = {0, true, AML_PAGE_DEFAULT};
	if (err == 0)
		m.ptr = static_cast<char *>(
		        aml_area_mmap(m.area, m.npages * page_, &opts));
	if (m.ptr == nullptr) {
		Problem(st, std::string("failed: ") +
		                    aml_errname(err != 0 ? err : aml_errno));
		return;
	}
	m.error = 0;
	m.released.assign(m.npages, false);
	items_.push_back(st.map + "=ok");
}

void Runner::Move(const Statement &st)
{
	const struct aml_device *dev = Device(st, st.device);
	LiveMap *m = Mapped(st);
	if (dev == nullptr || m == nullptr || !Within(st, *m))
		return;
	int err = aml_device_move(dev, m->ptr + st.first * page_,
	                          (st.last - st.first + 1) * page_);
	std::string got = err == 0 ? "ok" : aml_errname(err);
	items_.push_back("move " + st.map + " " + PageRange(st.first, st.last) +
	                 " " + st.device + "=" + got);
	std::string want = st.error.empty() ? "ok" : st.error;
	if (got != want)
		Problem(st, "expected " + want + ", got " + got);
}

// Write pages first to last in order, from a thread on the CPUs of
// st.device (where Linux places a first-touch page), or from this one.
void Runner::Touch(const Statement &st)
{
	LiveMap *m = Mapped(st);
	if (m == nullptr || !Within(st, *m))
		return;
	cpu_set_t cpus;
	CPU_ZERO(&cpus);
	if (!st.device.empty()) {
		const struct aml_device *dev = Device(st, st.device);
		if (dev == nullptr)
			return;
		cpus = DeviceCpus(dev);
		if (CPU_COUNT(&cpus) == 0) {
			Problem(st, st.device + " has no CPUs");
			return;
		}
	}
	bool pinned = true;
	auto touch = [&] {
		if (!st.device.empty())
			pinned = sched_setaffinity(0, sizeof(cpus), &cpus) == 0;
		for (size_t i = st.first; pinned && i <= st.last; i++)
			*(volatile char *)(m->ptr + i * page_) = 1;
	};
	std::thread(touch).join();
	if (!pinned) {
		Problem(st, "cannot run on the CPUs of " + st.device);
		return;
	}
	// Of an edge map, the devices reached: its counts depend on the
	// machine's free memory, and its order (an interleave's) on its phase.
	std::string range = PageRange(st.first, st.last);
	if (m->statement->edge)
		items_.push_back("touch " + st.map + " " + range + " reached " +
		                 Join(Reached(*m, st.first, st.last), ","));
	else
		items_.push_back("touch " + st.map + " " + range + "=" +
		                 CountsByDevice(Where(*m, st.first, st.last)));
}

// Release pages first to last of a map, which keeps the rest.
void Runner::UnmapPart(const Statement &st)
{
	LiveMap *m = Mapped(st);
	if (m == nullptr)
		return;
	bool twice = st.last >= m->npages;
	for (size_t i = st.first; !twice && i <= st.last; i++)
		twice = m->released[i];
	if (twice) {
		Problem(st, "pages not mapped (past the map, or released)");
		return;
	}
	int err = aml_area_munmap(m->area, m->ptr + st.first * page_,
	                          (st.last - st.first + 1) * page_);
	items_.push_back("unmap " + st.map + " " +
	                 PageRange(st.first, st.last) + "=" +
	                 (err == 0 ? "ok" : aml_errname(err)));
	if (err != 0) {
		Problem(st, std::string("failed: ") + aml_errname(err));
		return;
	}
	for (size_t i = st.first; i <= st.last; i++)
		m->released[i] = true;
}

void Runner::Release(LiveMap *m)
{
	// What partial unmaps left: each run of pages still mapped.
	for (size_t i = 0; m->ptr != nullptr && i < m->npages;) {
		size_t end = i;
		while (end < m->npages && !m->released[end])
			end++;
		if (end > i && aml_area_munmap(m->area, m->ptr + i * page_,
		                               (end - i) * page_) != 0)
			Problem(*m->statement, "unmap failed");
		i = end + 1;
	}
	if (m->error != 0 && !m->claimed)
		Problem(*m->statement,
		        std::string("failed with ") + aml_errname(m->error) +
		                ", and no 'expect " + m->statement->map +
		                " fails' line says it should");
	aml_area_device_destroy(&m->area);
	*m = LiveMap{};
}

void Runner::Unmap(const Statement &st)
{
	if (st.partial) {
		UnmapPart(st);
		return;
	}
	Release(&maps_[st.map]);
	maps_.erase(st.map);
}

void Runner::ExpectPages(const Statement &st, const LiveMap &m)
{
	std::vector<std::string> where = Where(m, st.first, st.last);
	size_t n = where.size(), period = st.pattern.size();
	// The pattern's entry for page first + i, from the best phase.
	size_t phase = 0, best = n + 1;
	size_t phases = st.check == Check::kRotation ? period : 1;
	for (size_t p = 0; p < phases; p++) {
		size_t wrong = 0;
		for (size_t i = 0; i < n; i++)
			wrong += where[i] != st.pattern[(p + i) % period];
		if (wrong < best) {
			best = wrong;
			phase = p;
		}
	}
	std::string range = PageRange(st.first, st.last);
	// Matched, the observation reads as the expectation; else as runs.
	items_.push_back(st.map + " pages " + range + ": " +
	                 (best == 0 ? st.pattern_text
	                            : RunLengths(Runs(where, st.first))));
	if (best == 0)
		return;
	// The wrong pages, grouped by where they are.
	std::vector<std::string> got(n), wrong;
	for (size_t i = 0; i < n; i++)
		got[i] = where[i] == st.pattern[(phase + i) % period]
		                 ? ""
		                 : where[i];
	for (const Run &r : Runs(got, st.first)) {
		if (!r.device.empty())
			wrong.push_back(r.device +
			                (r.first == r.last ? " for page "
			                                   : " for pages ") +
			                PageRange(r.first, r.last));
	}
	if (wrong.size() > 4) {
		wrong.resize(4);
		wrong.push_back("...");
	}
	Problem(st, "expected " + st.pattern_text + ", got " +
	                    Join(wrong, ", ") + " (" + std::to_string(best) +
	                    " of " + std::to_string(n) + " pages differ)");
}

// How many pages of the range are on the device, against bounds: within
// them, the observation reads as the expectation, so that a kernel inside
// the tolerance gives the same line as the emulator.
void Runner::ExpectCount(const Statement &st, const LiveMap &m)
{
	if (!Within(st, m))
		return;
	std::vector<std::string> where = Where(m, st.first, st.last);
	size_t n =
	        (size_t)std::count(where.begin(), where.end(), st.pattern[0]);
	bool ok = n >= st.min_count && n <= st.max_count;
	std::string range = PageRange(st.first, st.last);
	items_.push_back(st.map + " count " + range + ": " +
	                 (ok ? st.pattern_text
	                     : st.pattern[0] + " " + std::to_string(n)));
	if (!ok)
		Problem(st, "expected " +
		                    PageRange(st.min_count, st.max_count) +
		                    " pages on " + st.pattern[0] + ", got " +
		                    std::to_string(n));
}

// The map's child process died of a signal (any: SIGKILL from the OOM
// killer, SIGABRT from the emulator); anything else is a failure.
void Runner::ExpectKilled(const Statement &st, const LiveMap &m)
{
	std::string got = !m.child.empty() ? m.child
	                  : m.error == 0   ? "ok"
	                                   : aml_errname(m.error);
	items_.push_back(st.map + " killed: " + got);
	if (got == "killed")
		return;
	Problem(st,
	        "expected the map's child process to be killed, but " +
	                (got == "ok(child)" ? std::string("it mapped and wrote "
	                                                  "every page")
	                                    : "the map failed with " + got));
}

void Runner::Expect(const Statement &st)
{
	LiveMap &m = maps_[st.map];
	if (st.check == Check::kKilled) {
		ExpectKilled(st, m);
		return;
	}
	if (st.check == Check::kFails) {
		m.claimed = true;
		std::string got = m.error == 0 ? "ok" : aml_errname(m.error);
		items_.push_back(st.map + " fails: " + got);
		if (got != st.error)
			Problem(st, "expected " + st.error + ", got " +
			                    (m.error == 0 ? "a mapping" : got));
		return;
	}
	if (Mapped(st) == nullptr)
		return;
	if (st.check == Check::kCount) {
		ExpectCount(st, m);
		return;
	}
	if (st.check != Check::kOrder) {
		if (Within(st, m))
			ExpectPages(st, m);
		return;
	}
	std::vector<std::string> order = FirstAppearances(m);
	items_.push_back(st.map + " order: " + Join(order, ","));
	if (order != st.pattern)
		Problem(st, "expected order " + Join(st.pattern, ",") +
		                    ", got " + Join(order, ","));
}

bool Runner::Step(const Statement &st)
{
	switch (st.kind) {
	case Kind::kMachine:
		return Machine(st);
	case Kind::kHugepages:
		Hugepages(st);
		break;
	case Kind::kThpMode:
		ThpMode(st);
		break;
	case Kind::kRunOn:
		RunOn(st);
		break;
	case Kind::kMap:
		Map(st);
		break;
	case Kind::kReserve:
		Reserve(st);
		break;
	case Kind::kMove:
		Move(st);
		break;
	case Kind::kTouch:
		Touch(st);
		break;
	case Kind::kUnmap:
		Unmap(st);
		break;
	case Kind::kExpect:
		Expect(st);
		break;
	}
	return true;
}

// Does where the runner's thread runs decide where this statement's pages
// go? BIND over several devices, PREFERRED_MANY and FIRST_TOUCH take the
// nearest devices of the CPU that first writes each page.
bool DependsOnTheCpu(const Statement &st)
{
	if (st.kind == Kind::kTouch)
		return st.device.empty();
	if (st.kind != Kind::kMap || st.untouched)
		return false;
	return st.policy == Policy::kPreferredMany ||
	       st.policy == Policy::kFirstTouch ||
	       (st.policy == Policy::kBind && st.devices.size() > 1);
}

// How many devices have CPUs.
int DevicesWithCpus(const struct aml_topology *t)
{
	int n = 0;
	for (int i = 0; i < aml_topology_ndevices(t); i++) {
		cpu_set_t cpus = DeviceCpus(aml_topology_device(t, (size_t)i));
		n += CPU_COUNT(&cpus) > 0;
	}
	return n;
}

Position running;

// Copies @p text into @p out of @p size bytes, cut if longer.
void CopyCut(char *out, size_t size, const std::string &text)
{
	size_t n = text.size() < size - 1 ? text.size() : size - 1;
	std::memcpy(out, text.data(), n);
	out[n] = '\0';
}

Outcome Runner::Go()
{
	cpu_set_t affinity;
	bool pinned = sched_getaffinity(0, sizeof(affinity), &affinity) == 0;
	// With CPUs on several devices, a scenario says where it runs before
	// the placement depends on it: else its results would depend on the
	// CPU the runner happens to be on, on either side.
	bool placed_by_cpu = DevicesWithCpus(t_) > 1;
	for (const Statement &st : s_.statements) {
		// Pools are set before any map: saved at the first line that
		// sets one.
		if (st.kind == Kind::kHugepages && pools_.empty() &&
		    !SavePools())
			break;
		if (st.kind == Kind::kRunOn)
			placed_by_cpu = false;
		if (placed_by_cpu && DependsOnTheCpu(st)) {
			Problem(st, "this machine has CPUs on several devices: "
			            "say where the runner runs first (run-on "
			            "DEVICE), or the pages go where it happens "
			            "to run");
			break;
		}
		CopyCut(running.where, sizeof(running.where),
		        s_.file + ":" + std::to_string(st.line) + ": " +
		                st.text);
		CopyCut(running.map, sizeof(running.map), st.map);
		bool went_on = Step(st);
		running.where[0] = running.map[0] = '\0';
		if (!went_on)
			break;
	}
	for (auto &entry : maps_)
		Release(&entry.second);
	RestorePools();
	if (!thp_before_.empty() && !WriteThpMode(thp_before_))
		out_.failures.push_back(s_.file + ": cannot give " + kThpFile +
		                        " back its mode " + thp_before_);
	if (pinned)
		sched_setaffinity(0, sizeof(affinity), &affinity);
	out_.passed = out_.failures.empty();
	out_.canonical = s_.file + ": " + Join(items_, "; ");
	return out_;
}

} // namespace

Outcome Run(const Scenario &scenario,
            const struct aml_topology *topology,
            ChildHook child_hook)
{
	if (topology == nullptr) {
		Outcome out;
		out.failures.push_back(scenario.file + ": no topology");
		out.canonical = scenario.file + ": no topology";
		return out;
	}
	return Runner(scenario, topology, child_hook).Go();
}

const Position &Running()
{
	return running;
}

} // namespace aml_scenario
