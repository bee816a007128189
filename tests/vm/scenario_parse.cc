// SPDX-License-Identifier: BSD-3-Clause
// The scenario format (docs/vm.md), parsed strictly: one statement per line,
// words separated by blanks, '#' to the end of a line is a comment. Any
// word the format does not expect is an error naming the file and line,
// so a typo can never turn an expectation into one that always holds.
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/vm/scenario.h"

namespace aml_scenario
{
namespace
{

// The huge pages of x86-64, which the guest and the emulator have.
const size_t kHugePage = (size_t)2 << 20;
const size_t kGiganticPage = (size_t)1 << 30;

// The most pages a 'hugepages' line may reserve on a device (8 GiB).
const size_t kMaxHugePages = 4096;
const size_t kMaxGiganticPages = 8;

// Raised with a message; caught once per line and given its file:line.
struct ParseError {
	std::string reason;
};

[[noreturn]] void Fail(const std::string &reason)
{
	throw ParseError{reason};
}

bool IsName(const std::string &word)
{
	if (word.empty() || !std::islower((unsigned char)word[0]))
		return false;
	for (char c : word) {
		if (!std::islower((unsigned char)c) &&
		    !std::isdigit((unsigned char)c) && c != '_' && c != '-')
			return false;
	}
	return true;
}

std::string Name(const std::string &word, const char *what)
{
	if (!IsName(word))
		Fail(std::string("bad ") + what + " '" + word +
		     "' (lower-case letters, digits, '_', '-')");
	return word;
}

// A decimal number without sign, at most 12 digits: sizes, pages, weights.
size_t Number(const std::string &digits, const std::string &word)
{
	if (digits.empty() || digits.size() > 12)
		Fail("bad number in '" + word + "'");
	size_t value = 0;
	for (char c : digits) {
		if (!std::isdigit((unsigned char)c))
			Fail("bad number in '" + word + "'");
		value = value * 10 + (size_t)(c - '0');
	}
	return value;
}

// "64MiB", "4KiB", "1GiB", "300pages", "1page": bytes, whole pages.
size_t Bytes(const std::string &word)
{
	static const std::pair<const char *, size_t> units[] = {
	        {"KiB", (size_t)1 << 10},
	        {"MiB", (size_t)1 << 20},
	        {"GiB", (size_t)1 << 30},
	        {"pages", 0},
	        {"page", 0},
	};
	size_t page = aml_page_size();
	size_t digits = 0;
	while (digits < word.size() &&
	       std::isdigit((unsigned char)word[digits]))
		digits++;
	std::string unit = word.substr(digits);
	for (const auto &u : units) {
		if (unit != u.first)
			continue;
		size_t n = Number(word.substr(0, digits), word);
		size_t bytes = (u.second != 0 ? u.second : page) * n;
		if (n == 0)
			Fail("size '" + word + "' is zero");
		if (bytes % page != 0)
			Fail("size '" + word +
			     "' is not a whole number of pages");
		return bytes;
	}
	Fail("bad size '" + word + "' (a number and KiB, MiB, GiB or pages)");
}

// A size, or "capacity(DEV)" or "free(DEV)", alone or followed by +SIZE or
// -SIZE: "capacity(node1)+1page", "free(node0)-32MiB".
Size SizeWord(const std::string &word)
{
	Size size;
	for (auto base : {Size::Base::kCapacity, Size::Base::kFree}) {
		std::string head =
		        base == Size::Base::kCapacity ? "capacity(" : "free(";
		if (word.compare(0, head.size(), head) != 0)
			continue;
		size_t close = word.find(')');
		if (close == std::string::npos)
			Fail("bad size '" + word + "' (no ')')");
		size.base = base;
		size.device =
		        Name(word.substr(head.size(), close - head.size()),
		             "device");
		std::string rest = word.substr(close + 1);
		if (rest.empty())
			return size;
		if (rest[0] != '+' && rest[0] != '-')
			Fail("bad size '" + word +
			     "' (+SIZE or -SIZE after ')')");
		size.minus = rest[0] == '-';
		size.bytes = Bytes(rest.substr(1));
		return size;
	}
	size.bytes = Bytes(word);
	return size;
}

// "12" or "0-99": an inclusive page range.
void Range(const std::string &word, size_t *first, size_t *last)
{
	size_t dash = word.find('-');
	*first = Number(word.substr(0, dash), word);
	*last = dash == std::string::npos ? *first
	                                  : Number(word.substr(dash + 1), word);
	if (*last < *first)
		Fail("bad page range '" + word +
		     "' (first-last, first <= last)");
}

std::vector<std::string> Split(const std::string &word, char sep)
{
	std::vector<std::string> parts;
	std::string part;
	std::istringstream in(word);
	while (std::getline(in, part, sep))
		parts.push_back(part);
	if (word.empty() || word.back() == sep)
		parts.push_back("");
	return parts;
}

// "node0,node1*3": device names, each repeated N times with "*N".
std::vector<std::string> Pattern(const std::string &word)
{
	std::vector<std::string> out;
	for (const std::string &item : Split(word, ',')) {
		size_t star = item.find('*');
		std::string name = Name(item.substr(0, star), "device");
		size_t times = star == std::string::npos
		                       ? 1
		                       : Number(item.substr(star + 1), item);
		if (times == 0 || times > 4096)
			Fail("bad repeat count in '" + item + "'");
		out.insert(out.end(), times, name);
	}
	return out;
}

Policy ParsePolicy(const std::string &word)
{
	static const std::map<std::string, Policy> policies = {
	        {"bind", Policy::kBind},
	        {"preferred", Policy::kPreferred},
	        {"preferred-many", Policy::kPreferredMany},
	        {"interleave", Policy::kInterleave},
	        {"weighted", Policy::kWeighted},
	        {"first-touch", Policy::kFirstTouch},
	};
	auto it = policies.find(word);
	if (it == policies.end())
		Fail("unknown policy '" + word +
		     "' (bind, preferred, preferred-many, interleave, "
		     "weighted, first-touch)");
	return it->second;
}

// The device set of a map, checked against its policy.
std::vector<DeviceRef> MapDevices(Policy policy, const std::string &word)
{
	std::vector<DeviceRef> out;
	if (policy == Policy::kFirstTouch) {
		if (word != "-")
			Fail("first-touch takes no devices: write '-'");
		return out;
	}
	for (const std::string &item : Split(word, ',')) {
		size_t colon = item.find(':');
		DeviceRef ref{Name(item.substr(0, colon), "device"), 0};
		bool weighted = policy == Policy::kWeighted;
		if ((colon != std::string::npos) != weighted)
			Fail(weighted ? "weighted needs device:weight items"
			              : "only weighted takes device:weight");
		if (weighted) {
			// 0 is allowed: aml refuses it, which a scenario
			// may check ('expect NAME fails EINVAL').
			ref.weight =
			        (unsigned)Number(item.substr(colon + 1), item);
			if (ref.weight > 1u << 20)
				Fail("bad weight in '" + item + "'");
		}
		for (const DeviceRef &seen : out) {
			if (seen.name == ref.name)
				Fail("device " + ref.name + " twice");
		}
		out.push_back(ref);
	}
	if (policy == Policy::kPreferred && out.size() != 1)
		Fail("preferred takes one device");
	return out;
}

const char *const kErrors[] = {"FAILURE", "ENOMEM",  "EINVAL",
                               "EDOM",    "ENOTSUP", "EBUSY",
                               "EPERM",   "ENODEV",  "ECANCELED"};

// "ENOMEM" -> "AML_ENOMEM".
std::string ErrorName(const std::string &word)
{
	for (const char *e : kErrors) {
		if (word == e)
			return std::string("AML_") + e;
	}
	Fail("unknown error '" + word + "' (ENOMEM, EINVAL, ...)");
}

// What the parser knows about each map name while it reads.
struct MapInfo {
	bool live = false;
	bool reserve = false;
	// 0 when it depends on the machine: ranges are checked at run time.
	size_t npages = 0;
	// The index of its map statement in the scenario.
	size_t statement = 0;
	// An 'expect NAME killed' line said so: the map lives in a child
	// process, so no later statement but 'unmap NAME' can look at it.
	bool killed = false;
};

class Parser
{
      public:
	explicit Parser(Scenario *out) : s_(out)
	{
	}
	void Line(int number, const std::vector<std::string> &words);
	void Finish();

      private:
	void Need(const std::vector<std::string> &w, size_t min, size_t max);
	MapInfo &Live(const std::string &name, bool reserve_ok);
	void
	PagesOf(const std::string &word, const MapInfo &info, Statement *st);
	void ParseMap(const std::vector<std::string> &w, Statement *st);
	void ParseExpect(const std::vector<std::string> &w, Statement *st);
	void ParseKilled(const std::vector<std::string> &w, Statement *st);

	Scenario *s_;
	std::map<std::string, MapInfo> maps_;
	// Pools a 'hugepages' line set: device, and "2M" or "1G".
	std::vector<std::string> pools_;
	// A statement other than machine, hugepages, transparent-hugepages
	// and run-on was read: pools and modes are set before any map.
	bool setup_done_ = false;
	// A 'transparent-hugepages madvise' line was read.
	bool thp_ = false;
};

void Parser::Need(const std::vector<std::string> &w, size_t min, size_t max)
{
	if (w.size() < min || w.size() > max)
		Fail("'" + w[0] + "' takes " + std::to_string(min - 1) +
		     (max != min ? " to " + std::to_string(max - 1) : "") +
		     " argument(s), not " + std::to_string(w.size() - 1));
}

MapInfo &Parser::Live(const std::string &name, bool reserve_ok)
{
	auto it = maps_.find(name);
	if (it == maps_.end() || !it->second.live)
		Fail("no map named '" + name + "' here");
	if (it->second.reserve && !reserve_ok)
		Fail("'" + name + "' is a reserve: its size depends on the " +
		     "machine, so only unmap applies to it");
	if (it->second.killed && !reserve_ok)
		Fail("'" + name + "' runs in a child process (expect " + name +
		     " killed): nothing of it is left here, only unmap "
		     "applies to it");
	return it->second;
}

// A page range of a map, within it when its size is known.
void Parser::PagesOf(const std::string &word,
                     const MapInfo &info,
                     Statement *st)
{
	Range(word, &st->first, &st->last);
	if (info.npages != 0 && st->last >= info.npages)
		Fail("page " + std::to_string(st->last) + " is past the " +
		     std::to_string(info.npages) + " pages of '" + st->map +
		     "'");
}

void Parser::ParseMap(const std::vector<std::string> &w, Statement *st)
{
	Need(w, 5, 9);
	st->map = Name(w[1], "map name");
	if (maps_[st->map].live)
		Fail("map '" + st->map + "' is still mapped");
	st->policy = ParsePolicy(w[2]);
	st->devices = MapDevices(st->policy, w[3]);
	st->size = SizeWord(w[4]);
	if (st->size.base == Size::Base::kBytes)
		st->npages = st->size.bytes / aml_page_size();
	bool thp = false, hugetlb = false, gigantic = false;
	for (size_t i = 5; i < w.size(); i++) {
		bool *flag = w[i] == "populate"     ? &st->populate
		             : w[i] == "edge"       ? &st->edge
		             : w[i] == "untouched"  ? &st->untouched
		             : w[i] == "hugetlb-2m" ? &hugetlb
		             : w[i] == "hugetlb-1g" ? &gigantic
		             : w[i] == "thp"        ? &thp
		                                    : nullptr;
		if (flag == nullptr || *flag)
			Fail("bad map option '" + w[i] +
			     "' (populate, edge, untouched, hugetlb-2m, "
			     "hugetlb-1g, thp)");
		*flag = true;
	}
	if (thp + hugetlb + gigantic > 1)
		Fail("a map has one page kind: hugetlb-2m, hugetlb-1g or thp");
	st->pages = hugetlb    ? Pages::kHugetlb2m
	            : gigantic ? Pages::kHugetlb1g
	            : thp      ? Pages::kThp
	                       : Pages::kBase;
	if (thp && !thp_)
		Fail("a thp map needs 'transparent-hugepages madvise' first "
		     "(the guest boots with THP never)");
	// Expectations name base pages; a huge page is 2 MiB (1 GiB) of
	// them, so a map of huge pages is whole huge pages, known when
	// parsed.
	size_t huge = gigantic ? kGiganticPage : kHugePage;
	if (st->pages != Pages::kBase &&
	    (st->size.base != Size::Base::kBytes || st->size.bytes % huge != 0))
		Fail(std::string("a map of ") +
		     (hugetlb    ? "hugetlb-2m"
		      : gigantic ? "hugetlb-1g"
		                 : "thp") +
		     " pages is a multiple of " + (gigantic ? "1GiB" : "2MiB") +
		     ", in bytes or pages");
	maps_[st->map] =
	        MapInfo{true, false, st->npages, s_->statements.size(), false};
}

// expect NAME killed: the map statement runs in a child process, which
// must die of a signal while it writes the pages. Only a map that writes
// its pages, and nothing else about the map between it and this line.
void Parser::ParseKilled(const std::vector<std::string> &w, Statement *st)
{
	Need(w, 3, 3);
	st->check = Check::kKilled;
	MapInfo &info = Live(st->map, false);
	Statement &map = s_->statements[info.statement];
	if (map.untouched)
		Fail("'" + st->map + "' is untouched: only a map that writes " +
		     "its pages at map time can be expected killed");
	for (size_t i = info.statement + 1; i < s_->statements.size(); i++) {
		if (s_->statements[i].map == st->map)
			Fail("line " + std::to_string(s_->statements[i].line) +
			     " is about '" + st->map +
			     "', which runs in a child process: 'expect " +
			     st->map + " killed' comes right after its map");
	}
	map.forked = true;
	info.killed = true;
}

void Parser::ParseExpect(const std::vector<std::string> &w, Statement *st)
{
	Need(w, 3, 6);
	st->map = w[1];
	if (w[2] == "killed") {
		ParseKilled(w, st);
		return;
	}
	Need(w, 4, 6);
	MapInfo &info = Live(st->map, false);
	if (w[2] == "fails") {
		Need(w, 4, 4);
		st->check = Check::kFails;
		st->error = ErrorName(w[3]);
		return;
	}
	if (w[2] == "order") {
		Need(w, 4, 4);
		st->check = Check::kOrder;
		st->pattern = Pattern(w[3]);
		st->pattern_text = w[3];
		return;
	}
	if (w[2] == "count") {
		// expect NAME count A-B DEVICE MIN[-MAX]: a tolerance, for
		// what depends on the kernel's free memory at the moment.
		Need(w, 6, 6);
		st->check = Check::kCount;
		PagesOf(w[3], info, st);
		st->pattern = {Name(w[4], "device")};
		Range(w[5], &st->min_count, &st->max_count);
		if (st->max_count > st->last - st->first + 1)
			Fail("count '" + w[5] + "' is more than the range's " +
			     std::to_string(st->last - st->first + 1) +
			     " pages");
		st->pattern_text = w[4] + " " + w[5];
		return;
	}
	if (w[2] != "pages")
		Fail("expect what? '" + w[2] +
		     "' (fails, killed, pages, order, count)");
	Need(w, 5, 6);
	PagesOf(w[3], info, st);
	if (w.size() == 5) {
		st->check = Check::kDevice;
		st->pattern = {Name(w[4], "device")};
		st->pattern_text = w[4];
		return;
	}
	if (w[4] != "repeat" && w[4] != "rotation")
		Fail("bad page pattern '" + w[4] + "' (repeat, rotation)");
	st->check = w[4] == "repeat" ? Check::kRepeat : Check::kRotation;
	st->pattern = Pattern(w[5]);
	st->pattern_text = w[4] + " " + w[5];
}

void Parser::Line(int number, const std::vector<std::string> &w)
{
	Statement st;
	st.line = number;
	for (const std::string &word : w)
		st.text += (st.text.empty() ? "" : " ") + word;
	const std::string &verb = w[0];
	if ((verb == "machine") != s_->statements.empty())
		Fail(verb == "machine" ? "'machine' comes once, first"
		                       : "the first statement is 'machine'");
	if (verb != "machine" && verb != "run-on" && verb != "hugepages" &&
	    verb != "transparent-hugepages")
		setup_done_ = true;
	if (verb == "machine") {
		Need(w, 2, 2);
		st.kind = Kind::kMachine;
		s_->machine = Name(w[1], "machine");
	} else if (verb == "hugepages") {
		// hugepages DEVICE N [2M|1G]: the device's pool of hugetlb
		// pages of that size (2M when not given), as
		// nodeN/hugepages/hugepages-2048kB (-1048576kB)/nr_hugepages
		// (the emulator's hugepages_2m, hugepages_1g), set before any
		// map.
		Need(w, 3, 4);
		st.kind = Kind::kHugepages;
		if (setup_done_)
			Fail("'hugepages' lines come before any map, reserve, "
			     "move, touch, unmap or expect");
		st.device = Name(w[1], "device");
		std::string size = w.size() == 4 ? w[3] : "2M";
		if (size != "2M" && size != "1G")
			Fail("bad huge page size '" + size + "' (2M or 1G)");
		bool gigantic = size == "1G";
		st.pages = gigantic ? Pages::kHugetlb1g : Pages::kHugetlb2m;
		for (const std::string &seen : pools_) {
			if (seen == st.device + " " + size)
				Fail("the " + size + " pool of " + st.device +
				     " set twice");
		}
		pools_.push_back(st.device + " " + size);
		st.huge_pages = Number(w[2], w[2]);
		size_t most = gigantic ? kMaxGiganticPages : kMaxHugePages;
		if (st.huge_pages > most)
			Fail("at most " + std::to_string(most) + " " + size +
			     " huge pages in a pool, not " + w[2]);
	} else if (verb == "transparent-hugepages") {
		// transparent-hugepages madvise: THP for the maps that ask
		// (MADV_HUGEPAGE), as the guest's sysfs switch sets it; the
		// guest boots with "never", where thp maps are AML_ENOTSUP.
		Need(w, 2, 2);
		st.kind = Kind::kThpMode;
		if (setup_done_)
			Fail("'transparent-hugepages' comes before any map, "
			     "reserve, move, touch, unmap or expect");
		if (thp_)
			Fail("'transparent-hugepages' comes once");
		if (w[1] != "madvise")
			Fail("bad mode '" + w[1] +
			     "' (madvise: THP for the thp maps only)");
		thp_ = true;
	} else if (verb == "run-on") {
		Need(w, 2, 2);
		st.kind = Kind::kRunOn;
		st.device = Name(w[1], "device");
	} else if (verb == "map") {
		st.kind = Kind::kMap;
		ParseMap(w, &st);
	} else if (verb == "reserve") {
		Need(w, 5, 5);
		st.kind = Kind::kReserve;
		st.map = Name(w[1], "map name");
		if (maps_[st.map].live)
			Fail("map '" + st.map + "' is still mapped");
		st.device = Name(w[2], "device");
		if (w[3] != "leaving")
			Fail("write 'reserve NAME DEVICE leaving SIZE'");
		st.leave_bytes = Bytes(w[4]);
		maps_[st.map] =
		        MapInfo{true, true, 0, s_->statements.size(), false};
	} else if (verb == "move") {
		// move NAME PAGES DEVICE [fails ERROR]
		if (w.size() != 4 && w.size() != 6)
			Need(w, 4, 4);
		st.kind = Kind::kMove;
		st.map = w[1];
		PagesOf(w[2], Live(st.map, false), &st);
		st.device = Name(w[3], "device");
		if (w.size() == 6) {
			if (w[4] != "fails")
				Fail("write 'move NAME PAGES DEVICE fails "
				     "ERROR'");
			st.error = ErrorName(w[5]);
		}
	} else if (verb == "touch") {
		// touch NAME PAGES [from DEVICE]: write them in order, from
		// a thread on DEVICE's CPUs, or from the runner's.
		if (w.size() != 3 && w.size() != 5)
			Need(w, 3, 3);
		st.kind = Kind::kTouch;
		st.map = w[1];
		PagesOf(w[2], Live(st.map, false), &st);
		if (w.size() == 5) {
			if (w[3] != "from")
				Fail("write 'touch NAME PAGES from DEVICE'");
			st.device = Name(w[4], "device");
		}
	} else if (verb == "unmap") {
		// unmap NAME [PAGES]: all of it, or a part (the map stays).
		Need(w, 2, 3);
		st.kind = Kind::kUnmap;
		st.map = w[1];
		MapInfo &info = Live(st.map, w.size() == 2);
		if (w.size() == 3) {
			st.partial = true;
			PagesOf(w[2], info, &st);
		} else {
			info.live = false;
		}
	} else if (verb == "expect") {
		st.kind = Kind::kExpect;
		ParseExpect(w, &st);
	} else {
		Fail("unknown statement '" + verb +
		     "' (machine, hugepages, transparent-hugepages, run-on, "
		     "map, reserve, move, touch, unmap, expect)");
	}
	s_->statements.push_back(st);
}

void Parser::Finish()
{
	if (s_->statements.empty())
		Fail("empty scenario: it needs 'machine' and statements");
	bool checks = false;
	for (const Statement &st : s_->statements)
		checks = checks || st.kind == Kind::kExpect;
	if (!checks)
		Fail("no 'expect' line: a scenario that checks nothing");
}

std::string BaseName(const std::string &path)
{
	size_t slash = path.rfind('/');
	return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

bool Parse(const std::string &file,
           const std::string &text,
           Scenario *out,
           std::string *error)
{
	*out = Scenario{};
	out->file = BaseName(file);
	Parser parser(out);
	std::istringstream in(text);
	std::string line;
	int number = 0;
	try {
		while (std::getline(in, line)) {
			number++;
			line = line.substr(0, line.find('#'));
			std::istringstream words(line);
			std::vector<std::string> w;
			for (std::string word; words >> word;)
				w.push_back(word);
			if (!w.empty())
				parser.Line(number, w);
		}
	} catch (const ParseError &e) {
		*error = out->file + ":" + std::to_string(number) + ": " +
		         e.reason;
		return false;
	}
	try {
		parser.Finish();
	} catch (const ParseError &e) {
		*error = out->file + ": " + e.reason;
		return false;
	}
	return true;
}

bool ParseFile(const std::string &path, Scenario *out, std::string *error)
{
	std::ifstream in(path);
	if (!in) {
		*error = path + ": cannot read";
		return false;
	}
	std::stringstream text;
	text << in.rdbuf();
	return Parse(path, text.str(), out, error);
}

} // namespace aml_scenario
