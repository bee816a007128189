// SPDX-License-Identifier: BSD-3-Clause
// The spec language and the presets: every preset's figures, every unit and
// form the grammar allows, and a table of malformed specs, each refused at
// the right byte with the right reason and without touching the output.
#include <cctype>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>

#include "emulator/spec.h"

namespace
{

constexpr uint64_t KiB = 1ULL << 10;
constexpr uint64_t MiB = 1ULL << 20;
constexpr uint64_t GiB = 1ULL << 30;
constexpr uint64_t TiB = 1ULL << 40;
constexpr uint64_t GB = 1000000000ULL;

// A valid tier with every required key, for specs that test something else.
const std::string kTier = "tier: name=a, kind=DRAM, capacity=1GiB, "
                          "bw=1GB/s, latency=1ns";

std::string Tier(const std::string &name)
{
	return "tier: name=" + name +
	       ", kind=DRAM, capacity=1GiB, bw=1GB/s, latency=1ns";
}

// The spec is big (64 tiers): keep it off the stack of every test.
struct Parsed {
	int err;
	struct aml_emu_spec spec;
	struct aml_emu_error error;
};

std::unique_ptr<Parsed> Parse(const std::string &text)
{
	auto p = std::make_unique<Parsed>();
	std::memset(&p->spec, 0, sizeof(p->spec));
	std::memset(&p->error, 0, sizeof(p->error));
	p->err = aml_emu_spec_parse(text.c_str(), &p->spec, &p->error);
	return p;
}

// Parse a spec that must be good, and say why it was not.
std::unique_ptr<Parsed> ParseGood(const std::string &text)
{
	auto p = Parse(text);
	EXPECT_EQ(p->err, 0) << "\"" << text << "\" refused at "
	                     << p->error.offset << ": " << p->error.reason;
	return p;
}

std::vector<int> Cpus(const struct aml_bitmap &b)
{
	std::vector<int> v;
	AML_BITMAP_FOREACH (i, &b)
		v.push_back(i);
	return v;
}

// Field by field: padding bytes may differ.
void ExpectSameSpec(const struct aml_emu_spec &a, const struct aml_emu_spec &b)
{
	ASSERT_EQ(a.ntiers, b.ntiers);
	for (size_t i = 0; i < a.ntiers; i++) {
		const struct aml_emu_tier &x = a.tiers[i], &y = b.tiers[i];
		EXPECT_STREQ(x.name, y.name);
		EXPECT_EQ(x.kind, y.kind);
		EXPECT_EQ(x.capacity, y.capacity);
		EXPECT_EQ(x.read_bw, y.read_bw);
		EXPECT_EQ(x.write_bw, y.write_bw);
		EXPECT_EQ(x.read_latency_ns, y.read_latency_ns);
		EXPECT_EQ(x.write_latency_ns, y.write_latency_ns);
		EXPECT_EQ(x.cpus_all, y.cpus_all);
		EXPECT_EQ(aml_bitmap_equal(&x.cpus, &y.cpus), 1);
		EXPECT_EQ(x.vcpus, y.vcpus);
		EXPECT_EQ(x.usable, y.usable);
	}
	ASSERT_EQ(a.naccess, b.naccess);
	for (size_t i = 0; i < a.naccess; i++) {
		const struct aml_emu_spec_access &x = a.access[i],
		                                 &y = b.access[i];
		EXPECT_EQ(x.from, y.from);
		EXPECT_EQ(x.to, y.to);
		EXPECT_EQ(x.read_bw, y.read_bw);
		EXPECT_EQ(x.write_bw, y.write_bw);
		EXPECT_EQ(x.read_latency_ns, y.read_latency_ns);
		EXPECT_EQ(x.write_latency_ns, y.write_latency_ns);
	}
	EXPECT_EQ(a.sockets, b.sockets);
	EXPECT_EQ(a.has_distances, b.has_distances);
	EXPECT_EQ(std::memcmp(a.distances, b.distances, sizeof(a.distances)),
	          0);
	EXPECT_EQ(a.scale_num, b.scale_num);
	EXPECT_EQ(a.scale_den, b.scale_den);
	EXPECT_EQ(a.mode, b.mode);
	EXPECT_EQ(a.place_at_map, b.place_at_map);
	EXPECT_EQ(a.place_at_touch, b.place_at_touch);
}

// ---- Presets ----

struct ExpectedTier {
	const char *name;
	enum aml_device_kind kind;
	uint64_t capacity;
	uint64_t bw;
	uint64_t latency_ns;
	bool cpus_all;
};

struct ExpectedPreset {
	const char *name;
	std::vector<ExpectedTier> tiers;
	std::vector<std::vector<int>> distances; // empty: none
};

class EmulatorSpecPreset : public ::testing::TestWithParam<ExpectedPreset>
{
};

TEST_P(EmulatorSpecPreset, ParsesToItsFigures)
{
	const ExpectedPreset &e = GetParam();
	ASSERT_NE(aml_emu_preset(e.name), nullptr);
	auto p = ParseGood(e.name);
	ASSERT_EQ(p->err, 0);
	const struct aml_emu_spec &s = p->spec;
	ASSERT_EQ(s.ntiers, e.tiers.size());
	for (size_t i = 0; i < s.ntiers; i++) {
		const struct aml_emu_tier &t = s.tiers[i];
		const ExpectedTier &x = e.tiers[i];
		EXPECT_STREQ(t.name, x.name);
		EXPECT_EQ(t.kind, x.kind) << x.name;
		EXPECT_EQ(t.capacity, x.capacity) << x.name;
		EXPECT_EQ(t.read_bw, x.bw) << x.name;
		EXPECT_EQ(t.write_bw, x.bw) << x.name;
		EXPECT_EQ(t.read_latency_ns, x.latency_ns) << x.name;
		EXPECT_EQ(t.write_latency_ns, x.latency_ns) << x.name;
		EXPECT_EQ(t.cpus_all, x.cpus_all) << x.name;
		EXPECT_EQ(aml_bitmap_count(&t.cpus), 0) << x.name;
	}
	EXPECT_EQ(s.has_distances, !e.distances.empty());
	for (size_t i = 0; i < AML_EMU_TIERS_MAX; i++)
		for (size_t j = 0; j < AML_EMU_TIERS_MAX; j++) {
			size_t n = e.distances.size();
			int want = i < n && j < n ? e.distances[i][j] : 0;
			EXPECT_EQ(s.distances[i][j], want) << i << "," << j;
		}
	EXPECT_EQ(s.scale_num, 1u);
	EXPECT_EQ(s.scale_den, 1u);
	EXPECT_EQ(s.mode, AML_EMU_ACCOUNT);
}

TEST_P(EmulatorSpecPreset, TextParsesAsTheName)
{
	const ExpectedPreset &e = GetParam();
	auto by_name = ParseGood(e.name);
	auto by_text = ParseGood(aml_emu_preset(e.name));
	ExpectSameSpec(by_name->spec, by_text->spec);
}

INSTANTIATE_TEST_SUITE_P(
        All,
        EmulatorSpecPreset,
        ::testing::Values(
                ExpectedPreset{"knl-flat",
                               {{"ddr4", AML_DEVICE_DRAM, 96 * GiB, 90 * GB,
                                 130, true},
                                {"mcdram", AML_DEVICE_HBM, 16 * GiB, 450 * GB,
                                 150, false}},
                               {{10, 31}, {31, 10}}},
                ExpectedPreset{"xeon-max-flat",
                               {{"ddr5", AML_DEVICE_DRAM, 128 * GiB,
                                 307200000000ULL, 110, true},
                                {"hbm", AML_DEVICE_HBM, 64 * GiB,
                                 1638400000000ULL, 130, false}},
                               {{10, 13}, {13, 10}}},
                ExpectedPreset{"cxl-tiered",
                               {{"ddr5", AML_DEVICE_DRAM, 128 * GiB,
                                 307200000000ULL, 110, true},
                                {"cxl", AML_DEVICE_CXL, 128 * GiB,
                                 31500000000ULL, 190, false}},
                               {{10, 20}, {20, 10}}},
                // Exactly the VM of tests/vm/run_vm.py: QEMU's 100G is GiB.
                ExpectedPreset{"qemu-3node",
                               {{"node0", AML_DEVICE_DRAM, 512 * MiB, 100 * GiB,
                                 100, true},
                                {"node1", AML_DEVICE_HBM, 256 * MiB, 400 * GiB,
                                 120, false},
                                {"node2", AML_DEVICE_CXL, 256 * MiB, 30 * GiB,
                                 300, false}},
                               {{10, 12, 30}, {12, 10, 35}, {30, 35, 10}}},
                ExpectedPreset{"single",
                               {{"dram", AML_DEVICE_DRAM, 16 * GiB,
                                 51200000000ULL, 90, true}},
                               {}}),
        [](const ::testing::TestParamInfo<ExpectedPreset> &info) {
	        std::string name = info.param.name;
	        for (char &c : name)
		        c = c == '-' ? '_' : c;
	        return name;
        });

// The compiled presets, then the machine files of machines/ (sorted, as
// Bazel's glob gives them).
TEST(EmulatorSpecPresets, NamesAreTheCompiledThenTheMachineFiles)
{
	std::vector<std::string> names;
	for (size_t i = 0; aml_emu_preset_names[i] != nullptr; i++)
		names.push_back(aml_emu_preset_names[i]);
	EXPECT_EQ(names, (std::vector<std::string>{
	                         "knl-flat", "xeon-max-flat", "cxl-tiered",
	                         "single", "qemu-3node", "qemu-4node-2socket",
	                         "qemu-gigantic", "qemu-snc"}));
	EXPECT_EQ(aml_emu_preset(nullptr), nullptr);
	EXPECT_EQ(aml_emu_preset("no-such-preset"), nullptr);
	EXPECT_EQ(aml_emu_preset("KNL-flat"), nullptr);
	EXPECT_EQ(aml_emu_preset(""), nullptr);
}

// One-socket presets give the first tier every CPU; the machine files of
// several sockets or clusters give each its guest CPUs (vcpus), first.
TEST(EmulatorSpecPresets, EveryPresetHasCpusFirstAndEveryCpuAtMostOnce)
{
	for (size_t i = 0; aml_emu_preset_names[i] != nullptr; i++) {
		auto p = ParseGood(aml_emu_preset_names[i]);
		ASSERT_EQ(p->err, 0);
		const struct aml_emu_tier &first = p->spec.tiers[0];
		EXPECT_TRUE(first.cpus_all || first.vcpus > 0)
		        << aml_emu_preset_names[i];
		for (size_t t = 1; t < p->spec.ntiers; t++)
			EXPECT_FALSE(p->spec.tiers[t].cpus_all)
			        << aml_emu_preset_names[i];
	}
}

// The machine files hold what QEMU needs and what the kernel reported:
// vcpus, usable capacities below the configured ones, and (two sockets)
// the access items of every remote pair.
TEST(EmulatorSpecPresets, MachineFilesHaveVcpusAndUsableCapacities)
{
	for (const char *name : {"qemu-3node", "qemu-4node-2socket",
	                         "qemu-gigantic", "qemu-snc"}) {
		auto p = ParseGood(name);
		ASSERT_EQ(p->err, 0);
		unsigned vcpus = 0;
		for (size_t t = 0; t < p->spec.ntiers; t++) {
			const struct aml_emu_tier &tier = p->spec.tiers[t];
			vcpus += tier.vcpus;
			EXPECT_GT(tier.usable, tier.capacity * 8 / 10) << name;
			EXPECT_LT(tier.usable, tier.capacity) << name;
		}
		EXPECT_EQ(vcpus, 2u) << name;
	}
	auto p = ParseGood("qemu-4node-2socket");
	ASSERT_EQ(p->spec.ntiers, 4u);
	EXPECT_EQ(p->spec.sockets, 2u);
	EXPECT_EQ(Cpus(p->spec.tiers[0].cpus), std::vector<int>{0});
	EXPECT_EQ(Cpus(p->spec.tiers[1].cpus), std::vector<int>{1});
	EXPECT_EQ(p->spec.tiers[0].usable, 469364 * KiB);
	ASSERT_EQ(p->spec.naccess, 4u);
	// HBM from the far socket.
	const struct aml_emu_spec_access &far = p->spec.access[2];
	EXPECT_EQ(far.from, 1u);
	EXPECT_EQ(far.to, 2u);
	EXPECT_EQ(far.read_bw, 100 * GiB);
	EXPECT_EQ(far.write_latency_ns, 220u);
	p = ParseGood("qemu-snc");
	EXPECT_EQ(p->spec.distances[2][1], 23);
	EXPECT_EQ(p->spec.distances[2][3], 23);
}

// ---- Good specs ----

struct Quantity {
	const char *key;
	const char *value;
	uint64_t expected;
};

class EmulatorSpecUnits : public ::testing::TestWithParam<Quantity>
{
};

TEST_P(EmulatorSpecUnits, ConvertExactly)
{
	const Quantity &q = GetParam();
	std::string key = q.key;
	std::string text = "tier: name=a, kind=DRAM";
	text += key == "capacity" ? ", capacity=" + std::string(q.value)
	                          : ", capacity=1GiB";
	text += key == "bw" ? ", bw=" + std::string(q.value) : ", bw=1GB/s";
	text += key == "latency" ? ", latency=" + std::string(q.value)
	                         : ", latency=1ns";
	auto p = ParseGood(text);
	ASSERT_EQ(p->err, 0);
	const struct aml_emu_tier &t = p->spec.tiers[0];
	uint64_t got = key == "capacity" ? t.capacity
	               : key == "bw"     ? t.read_bw
	                                 : t.read_latency_ns;
	EXPECT_EQ(got, q.expected) << text;
	if (key == "bw") {
		EXPECT_EQ(t.write_bw, q.expected);
	}
	if (key == "latency") {
		EXPECT_EQ(t.write_latency_ns, q.expected);
	}
}

INSTANTIATE_TEST_SUITE_P(
        All,
        EmulatorSpecUnits,
        ::testing::Values(
                Quantity{"capacity", "7B", 7},
                Quantity{"capacity", "2KB", 2000},
                Quantity{"capacity", "3MB", 3000000},
                Quantity{"capacity", "4GB", 4 * GB},
                Quantity{"capacity", "5TB", 5000 * GB},
                Quantity{"capacity", "2KiB", 2 * KiB},
                Quantity{"capacity", "3MiB", 3 * MiB},
                Quantity{"capacity", "4GiB", 4 * GiB},
                Quantity{"capacity", "5TiB", 5 * TiB},
                Quantity{"bw", "7B/s", 7},
                Quantity{"bw", "2KB/s", 2000},
                Quantity{"bw", "3MB/s", 3000000},
                Quantity{"bw", "4GB/s", 4 * GB},
                Quantity{"bw", "5TB/s", 5000 * GB},
                Quantity{"bw", "2KiB/s", 2 * KiB},
                Quantity{"bw", "3MiB/s", 3 * MiB},
                Quantity{"bw", "4GiB/s", 4 * GiB},
                Quantity{"bw", "5TiB/s", 5 * TiB},
                Quantity{"latency", "7ns", 7},
                Quantity{"latency", "2us", 2000},
                // Fractions are exact, then rounded to the unit, half up.
                Quantity{"capacity", "1.5GiB", 1610612736},
                Quantity{"capacity", "0.5KB", 500},
                Quantity{"capacity", "1.1MiB", 1153434}, // 1153433.6
                Quantity{"capacity", "1.000000000000000001KiB", 1024},
                Quantity{"bw", "307.2GB/s", 307200000000ULL},
                Quantity{"bw", "0.5B/s", 1},
                Quantity{"latency", "2.5ns", 3},
                Quantity{"latency", "2.4ns", 2},
                Quantity{"latency", "0.0015us", 2},
                // Blanks between number and unit; leading zeros.
                Quantity{"capacity", "16 GiB", 16 * GiB},
                Quantity{"capacity", "007KiB", 7 * KiB},
                // The largest values that fit.
                Quantity{"capacity", "18446744073709551615B", UINT64_MAX},
                Quantity{"bw", "18446744TB/s", 18446744000000000000ULL},
                Quantity{"latency", "18446744073709551us",
                         18446744073709551000ULL},
                Quantity{"capacity", "16777215.999999999999TiB", UINT64_MAX}));

TEST(EmulatorSpecGood, BlanksCommentsAndSeparators)
{
	auto p = ParseGood(
	        "  # a machine\n"
	        "\n"
	        "tier :\tname = fast ,kind=HBM,capacity = 1 GiB , bw=1GB/s,"
	        "latency=1ns   # the fast one\n"
	        ";;  ; \n"
	        "\t" +
	        Tier("slow") +
	        ";\n"
	        "distances : 10 , 20 / 20,10 ;   # trailing ';' is an empty "
	        "item\n"
	        "scale = 3 / 4;mode = delay;");
	ASSERT_EQ(p->err, 0);
	EXPECT_EQ(p->spec.ntiers, 2u);
	EXPECT_STREQ(p->spec.tiers[0].name, "fast");
	EXPECT_EQ(p->spec.tiers[0].kind, AML_DEVICE_HBM);
	EXPECT_EQ(p->spec.tiers[0].capacity, GiB);
	EXPECT_STREQ(p->spec.tiers[1].name, "slow");
	EXPECT_TRUE(p->spec.has_distances);
	EXPECT_EQ(p->spec.distances[0][1], 20);
	EXPECT_EQ(p->spec.distances[1][0], 20);
	EXPECT_EQ(p->spec.scale_num, 3u);
	EXPECT_EQ(p->spec.scale_den, 4u);
	EXPECT_EQ(p->spec.mode, AML_EMU_DELAY);
}

TEST(EmulatorSpecGood, ReadAndWriteSeparately)
{
	auto p = ParseGood("tier: name=nvm, kind=NVM, capacity=1TB, "
	                   "read_bw=6GB/s, write_bw=2GB/s, "
	                   "write_latency=90ns, read_latency=0.3us");
	ASSERT_EQ(p->err, 0);
	const struct aml_emu_tier &t = p->spec.tiers[0];
	EXPECT_EQ(t.kind, AML_DEVICE_NVM);
	EXPECT_EQ(t.read_bw, 6 * GB);
	EXPECT_EQ(t.write_bw, 2 * GB);
	EXPECT_EQ(t.read_latency_ns, 300u);
	EXPECT_EQ(t.write_latency_ns, 90u);
}

TEST(EmulatorSpecGood, EveryKind)
{
	auto p = ParseGood("tier: name=a, kind=DRAM, capacity=1B, bw=1B/s, "
	                   "latency=1ns\n"
	                   "tier: name=b, kind=HBM, capacity=1B, bw=1B/s, "
	                   "latency=1ns\n"
	                   "tier: name=c, kind=CXL, capacity=1B, bw=1B/s, "
	                   "latency=1ns\n"
	                   "tier: name=d, kind=NVM, capacity=1B, bw=1B/s, "
	                   "latency=1ns\n");
	ASSERT_EQ(p->err, 0);
	EXPECT_EQ(p->spec.tiers[0].kind, AML_DEVICE_DRAM);
	EXPECT_EQ(p->spec.tiers[1].kind, AML_DEVICE_HBM);
	EXPECT_EQ(p->spec.tiers[2].kind, AML_DEVICE_CXL);
	EXPECT_EQ(p->spec.tiers[3].kind, AML_DEVICE_NVM);
	EXPECT_FALSE(p->spec.has_distances);
}

TEST(EmulatorSpecGood, CpusLists)
{
	auto p =
	        ParseGood(kTier + ", cpus=0-1\n" + Tier("b") + ", cpus=none\n" +
	                  Tier("c") + ", cpus=all\n" + Tier("d") + "\n" +
	                  // A cpus list keeps its commas; a key ends it.
	                  "tier: cpus=2,4-5,7, name=e, kind=DRAM, "
	                  "capacity=1GiB, bw=1GB/s, latency=1ns\n" +
	                  Tier("f") + ", cpus=1023");
	ASSERT_EQ(p->err, 0);
	const struct aml_emu_tier *t = p->spec.tiers;
	EXPECT_EQ(Cpus(t[0].cpus), (std::vector<int>{0, 1}));
	EXPECT_FALSE(t[0].cpus_all);
	EXPECT_EQ(Cpus(t[1].cpus), std::vector<int>{});
	EXPECT_FALSE(t[1].cpus_all);
	EXPECT_EQ(Cpus(t[2].cpus), std::vector<int>{});
	EXPECT_TRUE(t[2].cpus_all);
	EXPECT_EQ(Cpus(t[3].cpus), std::vector<int>{}); // default: none
	EXPECT_FALSE(t[3].cpus_all);
	EXPECT_EQ(Cpus(t[4].cpus), (std::vector<int>{2, 4, 5, 7}));
	EXPECT_STREQ(t[4].name, "e");
	EXPECT_EQ(Cpus(t[5].cpus), std::vector<int>{1023});
}

TEST(EmulatorSpecGood, ScaleForms)
{
	struct {
		const char *item;
		uint64_t num, den;
	} cases[] = {
	        {"", 1, 1},
	        {";scale=2", 2, 1},
	        {";scale=1/64", 1, 64},
	        {";scale = 3 / 4 ", 3, 4},
	        {";scale=18446744073709551615/18446744073709551615", UINT64_MAX,
	         UINT64_MAX},
	};
	for (const auto &c : cases) {
		auto p = ParseGood("single" + std::string(c.item));
		EXPECT_EQ(p->spec.scale_num, c.num) << c.item;
		EXPECT_EQ(p->spec.scale_den, c.den) << c.item;
	}
}

// Scaled capacities are computed exactly, in 128 bits: a product past 64
// bits is fine when the quotient is not.
TEST(EmulatorSpecGood, ScaledCapacitiesUpTo64Bits)
{
	const char *cases[] = {
	        "single;scale=1073741823",
	        "single;scale=18446744073709551615/18446744073709551615",
	        "scale=2;tier: name=b, kind=DRAM, "
	        "capacity=9223372036854775807B, bw=1GB/s, latency=1ns",
	        "tier: name=c, kind=DRAM, capacity=16GiB, bw=1GB/s, "
	        "latency=1ns;scale=1099511627776/1099511627776",
	        "tier: name=d, kind=DRAM, capacity=18446744073709551615B, "
	        "bw=1GB/s, latency=1ns",
	};
	for (const char *text : cases)
		ParseGood(text);
}

TEST(EmulatorSpecGood, Mode)
{
	EXPECT_EQ(ParseGood("single")->spec.mode, AML_EMU_ACCOUNT);
	EXPECT_EQ(ParseGood("single;mode=account")->spec.mode, AML_EMU_ACCOUNT);
	EXPECT_EQ(ParseGood("mode=delay;single")->spec.mode, AML_EMU_DELAY);
}

TEST(EmulatorSpecGood, Placement)
{
	EXPECT_FALSE(ParseGood("single")->spec.place_at_map);
	EXPECT_FALSE(ParseGood("single;placement=touch")->spec.place_at_map);
	EXPECT_TRUE(ParseGood("placement = map;single")->spec.place_at_map);
	// Said, touch is kept apart from the default: it asks for placement at
	// touch even without privilege.
	EXPECT_FALSE(ParseGood("single")->spec.place_at_touch);
	EXPECT_TRUE(ParseGood("single;placement=touch")->spec.place_at_touch);
	EXPECT_FALSE(ParseGood("placement=map;single")->spec.place_at_touch);
}

TEST(EmulatorSpecGood, PresetWithScaleAndMode)
{
	auto p = ParseGood("knl-flat;scale=1/64;mode=delay");
	ASSERT_EQ(p->err, 0);
	EXPECT_EQ(p->spec.ntiers, 2u);
	EXPECT_EQ(p->spec.tiers[1].capacity, 16 * GiB); // before scaling
	EXPECT_EQ(p->spec.scale_num, 1u);
	EXPECT_EQ(p->spec.scale_den, 64u);
	EXPECT_EQ(p->spec.mode, AML_EMU_DELAY);

	// As a file would hold it (tests/emulator_placement_test.cc).
	p = ParseGood("# a file\nqemu-3node\nscale=1/64\n");
	EXPECT_EQ(p->spec.ntiers, 3u);
	EXPECT_EQ(p->spec.scale_den, 64u);
}

TEST(EmulatorSpecGood, PresetPlusTiersWithDistancesForAll)
{
	// The user's distances replace the preset's, before or after it.
	for (const char *text :
	     {"knl-flat; tier: name=cxl, kind=CXL, capacity=64GiB, bw=30GB/s, "
	      "latency=250ns; distances: 10,31,20/31,10,40/20,40,10",
	      "distances: 10,31,20/31,10,40/20,40,10; knl-flat; tier: "
	      "name=cxl, kind=CXL, capacity=64GiB, bw=30GB/s, latency=250ns"}) {
		auto p = ParseGood(text);
		ASSERT_EQ(p->err, 0);
		ASSERT_EQ(p->spec.ntiers, 3u);
		EXPECT_STREQ(p->spec.tiers[0].name, "ddr4");
		EXPECT_STREQ(p->spec.tiers[1].name, "mcdram");
		EXPECT_STREQ(p->spec.tiers[2].name, "cxl");
		EXPECT_EQ(p->spec.distances[0][1], 31);
		EXPECT_EQ(p->spec.distances[1][2], 40);
		EXPECT_EQ(p->spec.distances[2][0], 20);
		EXPECT_EQ(p->spec.distances[2][2], 10);
	}
	// Two presets and their tiers, without distances from either.
	auto p = ParseGood("single; tier: name=x, kind=HBM, capacity=1GiB, "
	                   "bw=1TB/s, latency=1us");
	EXPECT_EQ(p->spec.ntiers, 2u);
	EXPECT_FALSE(p->spec.has_distances);
}

TEST(EmulatorSpecGood, AsManyTiersAsAllowed)
{
	std::string text;
	for (int i = 0; i < AML_EMU_TIERS_MAX; i++)
		text += Tier("t" + std::to_string(i)) + "\n";
	auto p = ParseGood(text);
	ASSERT_EQ(p->err, 0);
	EXPECT_EQ(p->spec.ntiers, (size_t)AML_EMU_TIERS_MAX);
	EXPECT_STREQ(p->spec.tiers[63].name, "t63");
}

TEST(EmulatorSpecGood, NamesUpTo31Characters)
{
	std::string name = "abcdefghijklmnopqrstuvwxyz_-019";
	ASSERT_EQ(name.size(), 31u);
	auto p = ParseGood(Tier(name));
	EXPECT_EQ(p->spec.tiers[0].name, name);
}

TEST(EmulatorSpecGood, DistancesMayBeAsymmetric)
{
	auto p =
	        ParseGood(kTier + ";" + Tier("b") + ";distances: 10,254/11,10");
	EXPECT_EQ(p->spec.distances[0][1], 254);
	EXPECT_EQ(p->spec.distances[1][0], 11);
}

TEST(EmulatorSpecGood, VcpusNumberGuestCpusInTierOrderUnlessCpusIsGiven)
{
	auto p = ParseGood("tier: name=a, kind=DRAM, capacity=1GiB, bw=1GB/s, "
	                   "latency=1ns, vcpus=2\n" +
	                   Tier("b") +
	                   "\n"
	                   "tier: name=c, kind=DRAM, capacity=1GiB, bw=1GB/s, "
	                   "latency=1ns, vcpus=3\n"
	                   "tier: name=d, kind=DRAM, vcpus=1, cpus=7, "
	                   "capacity=1GiB, bw=1GB/s, latency=1ns\n"
	                   "tier: name=e, kind=DRAM, capacity=1GiB, bw=1GB/s, "
	                   "latency=1ns, cpus=all, vcpus=64\n"
	                   "sockets=5");
	ASSERT_EQ(p->err, 0);
	const struct aml_emu_tier *t = p->spec.tiers;
	EXPECT_EQ(t[0].vcpus, 2u);
	EXPECT_EQ(Cpus(t[0].cpus), (std::vector<int>{0, 1}));
	EXPECT_EQ(t[1].vcpus, 0u);
	EXPECT_EQ(Cpus(t[1].cpus), std::vector<int>{});
	EXPECT_EQ(Cpus(t[2].cpus), (std::vector<int>{2, 3, 4}));
	// A cpus key is the emulator's: it wins, and the guest numbers go on.
	EXPECT_EQ(Cpus(t[3].cpus), std::vector<int>{7});
	EXPECT_TRUE(t[4].cpus_all);
	EXPECT_EQ(Cpus(t[4].cpus), std::vector<int>{});
	EXPECT_EQ(p->spec.sockets, 5u); // 70 vcpus
	EXPECT_EQ(p->spec.naccess, 0u);
}

TEST(EmulatorSpecGood, UsableAndAccessItems)
{
	auto p = ParseGood(
	        "tier: name=s0, kind=DRAM, capacity=1GiB, usable=1GiB, "
	        "bw=100GB/s, latency=100ns, vcpus=1\n"
	        "tier: name=hbm, kind=HBM, capacity=1GiB, usable=1000MiB, "
	        "bw=400GB/s, latency=120ns\n"
	        "tier: name=s1, kind=DRAM, capacity=1GiB, bw=100GB/s, "
	        "latency=100ns, cpus=1\n"
	        "access: from=s1, to=hbm, bw=100GB/s, latency=220ns\n"
	        "access : to = s0 , read_bw=50GB/s, write_bw=40GB/s, "
	        "read_latency=200ns, write_latency=0.21us, from=s1\n"
	        "access: from=s0, to=s1, latency=1us, bw=1TB/s");
	ASSERT_EQ(p->err, 0);
	EXPECT_EQ(p->spec.tiers[0].usable, GiB);
	EXPECT_EQ(p->spec.tiers[1].usable, 1000 * MiB);
	EXPECT_EQ(p->spec.tiers[2].usable, 0u);
	ASSERT_EQ(p->spec.naccess, 3u);
	const struct aml_emu_spec_access *a = p->spec.access;
	EXPECT_EQ(a[0].from, 2u);
	EXPECT_EQ(a[0].to, 1u);
	EXPECT_EQ(a[0].read_bw, 100 * GB);
	EXPECT_EQ(a[0].write_bw, 100 * GB);
	EXPECT_EQ(a[0].read_latency_ns, 220u);
	EXPECT_EQ(a[0].write_latency_ns, 220u);
	EXPECT_EQ(a[1].from, 2u);
	EXPECT_EQ(a[1].to, 0u);
	EXPECT_EQ(a[1].read_bw, 50 * GB);
	EXPECT_EQ(a[1].write_bw, 40 * GB);
	EXPECT_EQ(a[1].read_latency_ns, 200u);
	EXPECT_EQ(a[1].write_latency_ns, 210u);
	EXPECT_EQ(a[2].from, 0u);
	EXPECT_EQ(a[2].to, 2u);
	EXPECT_EQ(a[2].read_latency_ns, 1000u);
	// Preset tiers may be named, and a scale applies to usable too.
	p = ParseGood("qemu-3node; scale=1/64; access: from=node0, to=node2, "
	              "bw=20GiB/s, latency=310ns");
	ASSERT_EQ(p->err, 0);
	EXPECT_EQ(p->spec.naccess, 1u);
}

TEST(EmulatorSpecGood, AsManyAccessItemsAsAllowed)
{
	std::string text;
	for (int i = 0; i < 17; i++)
		text += Tier("t" + std::to_string(i)) + ", vcpus=1\n";
	for (int from = 0, n = 0; from < 17; from++)
		for (int to = 0; to < 17 && n < AML_EMU_ACCESS_MAX; to++)
			if (to != from && ++n)
				text += "access: from=t" +
				        std::to_string(from) + ", to=t" +
				        std::to_string(to) +
				        ", bw=1GB/s, latency=2ns\n";
	auto p = ParseGood(text);
	ASSERT_EQ(p->err, 0);
	EXPECT_EQ(p->spec.naccess, (size_t)AML_EMU_ACCESS_MAX);
}

// ---- Bad specs ----

struct Bad {
	std::string text;
	// The text from the offending token on: the expected offset is
	// text.size() - at.size(). Empty: the end of the text.
	std::string at;
	const char *reason;
};

// gtest prints a parameter whose type it does not know byte by byte, the
// unused bytes of std::string's inline buffer included, which valgrind
// reports as reads of uninitialised memory.
void PrintTo(const Bad &b, std::ostream *os)
{
	*os << ::testing::PrintToString(b.text);
}

// The test's name in gtest's output: its reason, made an identifier.
std::string BadName(const ::testing::TestParamInfo<Bad> &info)
{
	std::string name = std::to_string(info.index) + "_";
	for (const char *c = info.param.reason; *c != '\0'; c++)
		name += std::isalnum((unsigned char)*c) ? *c : '_';
	return name;
}

class EmulatorSpecBad : public ::testing::TestWithParam<Bad>
{
};

TEST_P(EmulatorSpecBad, IsRefusedAtTheTokenAndChangesNothing)
{
	const Bad &b = GetParam();
	ASSERT_LE(b.at.size(), b.text.size());
	ASSERT_EQ(
	        b.text.compare(b.text.size() - b.at.size(), b.at.size(), b.at),
	        0)
	        << "bad test: \"" << b.at << "\" does not end the spec";
	auto out = std::make_unique<struct aml_emu_spec>();
	std::memset(out.get(), 0xa5, sizeof(*out));
	auto before = std::make_unique<struct aml_emu_spec>(*out);
	struct aml_emu_error error;
	std::memset(&error, 0, sizeof(error));
	EXPECT_EQ(aml_emu_spec_parse(b.text.c_str(), out.get(), &error),
	          AML_EINVAL);
	EXPECT_EQ(error.offset, b.text.size() - b.at.size())
	        << "reason: " << error.reason;
	EXPECT_NE(std::string(error.reason).find(b.reason), std::string::npos)
	        << "reason: " << error.reason;
	EXPECT_EQ(std::memcmp(out.get(), before.get(), sizeof(*out)), 0);
	// The reason is one printable line.
	for (const char *c = error.reason; *c != '\0'; c++)
		EXPECT_TRUE(*c >= 0x20 && *c < 0x7f) << error.reason;
	// Without an error struct: the same answer.
	EXPECT_EQ(aml_emu_spec_parse(b.text.c_str(), out.get(), nullptr),
	          AML_EINVAL);
}

std::string TooManyTiers()
{
	std::string text;
	for (int i = 0; i <= AML_EMU_TIERS_MAX; i++)
		text += Tier("t" + std::to_string(i)) + ";";
	return text;
}

const std::string kTooManyTiers = TooManyTiers();
const std::string k64th = Tier("t64") + ";";

// A cpus list longer than any canonical one (AML_BITMAP_FORMAT_MAX).
std::string LongCpus()
{
	std::string list = "0";
	while (list.size() < AML_BITMAP_FORMAT_MAX)
		list += ",1";
	return list;
}

const std::string kLongCpus = LongCpus();

std::string TooManyColumns()
{
	std::string row = "10";
	for (int i = 0; i < AML_EMU_TIERS_MAX; i++)
		row += ",20";
	return row;
}

INSTANTIATE_TEST_SUITE_P(
        Items,
        EmulatorSpecBad,
        ::testing::Values(
                Bad{"colour=red", "colour=red", "unknown item \"colour\""},
                Bad{"single;colour", "colour",
                    "unknown item or preset \"colour\""},
                Bad{"knl-flatt", "knl-flatt",
                    "unknown item or preset \"knl-flatt\""},
                Bad{"KNL-flat", "KNL-flat",
                    "unknown item or preset \"KNL-flat\""},
                Bad{"Tier: name=a", "Tier: name=a", "unknown item \"Tier\""},
                Bad{"single junk", "junk",
                    "unexpected \"junk\" after preset \"single\""},
                Bad{"single:", ":", "unexpected \":\" after preset"},
                Bad{"tier name=a", "tier name=a", "expected ':' after"},
                Bad{"distances", "distances", "expected ':' after"},
                Bad{"scale: 2", "scale: 2", "expected '=' after \"scale\""},
                Bad{"mode", "mode", "expected '=' after \"mode\""},
                Bad{"single;=2", "=2", "unexpected \"=\""},
                Bad{"\x01\x02", "\x01\x02", "unexpected \"\\x01\""},
                Bad{"}{%$!", "}{%$!", "unexpected \"}\""},
                Bad{"single\r\n", "\r\n", "unexpected \"\\x0d\""},
                Bad{"\xff\xfe garbage", "\xff\xfe garbage",
                    "unexpected \"\\xff\""},
                Bad{"", "", "no tier"},
                Bad{"# only\n# comments\n", "# only\n# comments\n", "no tier"},
                Bad{" ;;\n\t; ", " ;;\n\t; ", "no tier"},
                Bad{"scale=1/2;mode=delay", "scale=1/2;mode=delay", "no tier"}),
        BadName);

INSTANTIATE_TEST_SUITE_P(
        Keys,
        EmulatorSpecBad,
        ::testing::Values(
                Bad{"tier: name=a, colour=red", "colour=red",
                    "unknown key \"colour\""},
                Bad{"tier: name a", "name a", "missing '=' after \"name\""},
                Bad{"tier: HBM", "HBM", "missing '=' after \"HBM\""},
                Bad{"tier: name=, kind=DRAM", "name=, kind=DRAM",
                    "empty value for \"name\""},
                Bad{"tier: name=a, kind=  ", "kind=  ",
                    "empty value for \"kind\""},
                Bad{"tier:", "", "expected key=value"},
                Bad{"tier: ,name=a", ",name=a", "unexpected \",\""},
                Bad{kTier + ",", "", "expected key=value"},
                Bad{kTier + ", name=b", "name=b", "duplicate key \"name\""},
                Bad{kTier + ", read_bw=2GB/s", "read_bw=2GB/s",
                    "\"read_bw\" conflicts with \"bw\""},
                Bad{"tier: read_latency=1ns, latency=2ns", "latency=2ns",
                    "\"latency\" conflicts with"},
                Bad{"tier: kind=DRAM, capacity=1GiB, bw=1GB/s, latency=1ns",
                    "tier: kind=DRAM, capacity=1GiB, bw=1GB/s, latency=1ns",
                    "tier: missing name"},
                Bad{"single; tier: name=a, capacity=1GiB, bw=1GB/s, "
                    "latency=1ns",
                    "tier: name=a, capacity=1GiB, bw=1GB/s, latency=1ns",
                    "tier \"a\": missing kind"},
                Bad{"tier: name=a, kind=DRAM, bw=1GB/s, latency=1ns",
                    "tier: name=a, kind=DRAM, bw=1GB/s, latency=1ns",
                    "tier \"a\": missing capacity"},
                Bad{"tier: name=a, kind=DRAM, capacity=1GiB, latency=1ns",
                    "tier: name=a, kind=DRAM, capacity=1GiB, latency=1ns",
                    "tier \"a\": missing bw"},
                Bad{"tier: name=a, kind=DRAM, capacity=1GiB, read_bw=1GB/s, "
                    "latency=1ns",
                    "tier: name=a, kind=DRAM, capacity=1GiB, read_bw=1GB/s, "
                    "latency=1ns",
                    "tier \"a\": missing write_bw"},
                Bad{"tier: name=a, kind=DRAM, capacity=1GiB, bw=1GB/s",
                    "tier: name=a, kind=DRAM, capacity=1GiB, bw=1GB/s",
                    "tier \"a\": missing latency"},
                Bad{"tier: name=a, kind=DRAM, capacity=1GiB, bw=1GB/s, "
                    "write_latency=1ns",
                    "tier: name=a, kind=DRAM, capacity=1GiB, bw=1GB/s, "
                    "write_latency=1ns",
                    "tier \"a\": missing read_latency"},
                Bad{"tier: name=a, kind=dram", "dram", "unknown kind \"dram\""},
                Bad{"tier: name=a, kind=knl-flat", "knl-flat",
                    "unknown kind \"knl-flat\""},
                Bad{"tier: name=Big", "Big", "bad tier name \"Big\""},
                Bad{"tier: name=a b", "a b", "bad tier name \"a b\""},
                Bad{"tier: name=caf\xc3\xa9", "caf\xc3\xa9",
                    "bad tier name \"caf\\xc3\\xa9\""},
                Bad{"tier: name=abcdefghijklmnopqrstuvwxyz012345",
                    "abcdefghijklmnopqrstuvwxyz012345", "longer than 31"},
                Bad{kTier + ";" + kTier,
                    "a, kind=DRAM, capacity=1GiB, "
                    "bw=1GB/s, latency=1ns",
                    "duplicate tier name \"a\""},
                Bad{"single;single", "single",
                    "preset \"single\": duplicate tier name \"dram\""},
                Bad{"single; tier: name=dram", "dram",
                    "duplicate tier name \"dram\""},
                Bad{kTooManyTiers, k64th, "more than 64 tiers"},
                Bad{kTier + ", cpus=0-", "0-", "bad cpus list \"0-\""},
                Bad{kTier + ", cpus=3-1", "3-1", "bad cpus list"},
                Bad{kTier + ", cpus=1024", "1024", "bad cpus list"},
                Bad{kTier + ", cpus=0, 1", "1", "missing '=' after \"1\""},
                Bad{kTier + ", cpus=ALL", "ALL", "bad cpus list"},
                Bad{kTier + ", cpus=" + kLongCpus, kLongCpus, "is too long"}),
        BadName);

INSTANTIATE_TEST_SUITE_P(
        Numbers,
        EmulatorSpecBad,
        ::testing::Values(
                Bad{"tier: name=a, kind=DRAM, capacity=1GiB, bw=1GBs", "GBs",
                    "bad unit \"GBs\" (use B/s, KB/s, MB/s"},
                Bad{"tier: capacity=1GB/s", "GB/s", "bad unit \"GB/s\""},
                Bad{"tier: capacity=1gib", "gib", "bad unit \"gib\""},
                Bad{"tier: latency=1 ms", "ms",
                    "bad unit \"ms\" (use ns or us)"},
                Bad{"tier: capacity=16", "16", "\"16\": missing unit"},
                Bad{"tier: latency=100 , bw=1GB/s", "100 , bw=1GB/s",
                    "missing unit (use ns or us)"},
                Bad{"tier: bw=5", "5", "missing unit (use B/s"},
                Bad{"tier: capacity=-1GiB", "-1GiB", "negative number"},
                Bad{"tier: capacity=+1GiB", "+1GiB", "no sign"},
                Bad{"tier: bw=12e3GB/s", "12e3GB/s",
                    "\"12e3GB/s\": not a number"},
                Bad{"tier: latency=12e3", "12e3", "\"12e3\": not a number"},
                Bad{"tier: capacity=0x10GiB", "0x10GiB", "not a number"},
                Bad{"tier: capacity=0xffB", "0xffB", "not a number"},
                Bad{"tier: capacity=1.GiB", "1.GiB", "not a number"},
                Bad{"tier: capacity=.5GiB", ".5GiB", "not a number"},
                Bad{"tier: capacity=1.2.3GiB", "1.2.3GiB", "not a number"},
                Bad{"tier: capacity=1 2GiB", "1 2GiB", "not a number"},
                Bad{"tier: capacity=GiB", "GiB", "not a number"},
                Bad{"tier: capacity=1.0000000000000000001GiB",
                    "1.0000000000000000001GiB", "more than 18 decimals"},
                Bad{"tier: capacity=17179869184GiB", "17179869184GiB",
                    "capacity \"17179869184GiB\" overflows 64 bits"},
                Bad{"tier: capacity=18446744073709551616B",
                    "18446744073709551616B", "overflows 64 bits"},
                Bad{"tier: capacity=16777215.9999999999996TiB",
                    "16777215.9999999999996TiB", "overflows 64 bits"},
                Bad{"tier: capacity=99999999999999999999999999999999TiB",
                    "99999999999999999999999999999999TiB", "overflows 64 bits"},
                Bad{"tier: bw=18446745TB/s", "18446745TB/s",
                    "bandwidth \"18446745TB/s\" overflows 64 bits"},
                Bad{"tier: write_latency=18446744073709552us",
                    "18446744073709552us", "latency"},
                Bad{"tier: capacity=0GiB", "0GiB", "must be > 0"},
                Bad{"tier: bw=0.0GB/s", "0.0GB/s",
                    "bandwidth \"0.0GB/s\" must be > 0"},
                Bad{"tier: latency=0ns", "0ns", "must be > 0"},
                Bad{"tier: latency=0.4ns", "0.4ns", "must be > 0"}),
        BadName);

INSTANTIATE_TEST_SUITE_P(
        Distances,
        EmulatorSpecBad,
        ::testing::Values(
                Bad{kTier + ";distances: 10.5", "10.5",
                    "distance \"10.5\": not an integer"},
                Bad{kTier + ";distances: 1e1", "1e1", "not a number"},
                Bad{kTier + ";distances: -10", "-10", "negative number"},
                Bad{kTier + ";distances: +10", "+10", "no sign"},
                Bad{kTier + ";distances:", "distances:",
                    "empty value for \"distances\""},
                Bad{kTier + ";distances: 12", "12", "to itself (must be 10)"},
                Bad{kTier + ";" + Tier("b") + ";distances: 10,20/20,12", "12",
                    "distance 12 from tier 1 to itself"},
                Bad{kTier + ";" + Tier("b") + ";distances: 10,255/20,10",
                    "255/20,10", "out of range (10 to 254)"},
                Bad{kTier + ";" + Tier("b") + ";distances: 10,9/20,10",
                    "9/20,10", "out of range"},
                Bad{kTier + ";distances: 99999999999999999999",
                    "99999999999999999999", "overflows 64 bits"},
                Bad{kTier + ";" + Tier("b") + ";distances: 10,20/20", "20",
                    "row 2 has 1 values, expected 2"},
                Bad{kTier + ";" + Tier("b") + ";distances: 10,20/20,10,30",
                    "30", "row 2 has more than 2 values"},
                Bad{kTier + ";" + Tier("b") + ";distances: 10,20/20,10/30,30",
                    "30,30", "more rows than columns"},
                Bad{kTier + ";" + Tier("b") + ";distances: 10,20",
                    "distances: 10,20", "1 rows for 2 columns"},
                Bad{kTier + ";distances: " + TooManyColumns(), "20",
                    "more than 64 columns"},
                Bad{kTier + ";distances: 10,,20", ",20", "missing distance"},
                Bad{kTier + ";distances: 10 20", "20",
                    "unexpected \"20\" in distances"},
                Bad{kTier + ";" + Tier("b") + ";distances: 10,20/", "",
                    "missing distance"},
                Bad{kTier + ";distances: 10/", "",
                    "more rows than columns (1)"},
                Bad{kTier + ";distances: 10; distances: 10", "distances: 10",
                    "distances given twice"},
                Bad{kTier + ";distances: 10,20/20,10", "distances: 10,20/20,10",
                    "distances are 2x2 but there are 1 tiers"},
                Bad{kTier + ";" + Tier("b") + ";distances: 10", "distances: 10",
                    "distances are 1x1"},
                // A preset's distances do not cover tiers added to it.
                Bad{"knl-flat; " + kTier, "knl-flat; " + kTier,
                    "distances do not cover every tier"},
                Bad{kTier + "\nqemu-3node", "qemu-3node",
                    "distances do not cover every tier (3 of 4)"}),
        BadName);

INSTANTIATE_TEST_SUITE_P(
        ScaleAndMode,
        EmulatorSpecBad,
        ::testing::Values(
                Bad{"single;scale=0", "0", "scale is 0"},
                Bad{"single;scale=0/5", "0/5", "scale is 0"},
                Bad{"single;scale=1/0", "0", "scale denominator is 0"},
                Bad{"single;scale=1/64;scale=1/2", "scale=1/2",
                    "scale given twice"},
                Bad{"single;scale=0.5", "0.5", "scale \"0.5\": not an integer"},
                Bad{"single;scale=-1", "-1", "negative number"},
                Bad{"single;scale=1/2x", "2x", "\"2x\": not a number"},
                Bad{"single;scale=1/", "", "missing scale denominator"},
                Bad{"single;scale=1/2/3", "/3",
                    "unexpected \"/3\" after scale"},
                Bad{"single;scale=", "scale=", "empty value for \"scale\""},
                Bad{"single;scale=18446744073709551616", "18446744073709551616",
                    "scale"},
                // Every capacity fits 64 bits alone; scaled, it must too.
                Bad{"tier: name=a, kind=DRAM, capacity=16GiB, bw=1GB/s, "
                    "latency=1ns;scale=1099511627776",
                    "1099511627776",
                    "capacity of tier \"a\" times scale 1099511627776/1 "
                    "overflows 64 bits"},
                Bad{"scale=2/1;tier: name=b, kind=DRAM, "
                    "capacity=9223372036854775808B, bw=1GB/s, latency=1ns",
                    "2/1;tier: name=b, kind=DRAM, "
                    "capacity=9223372036854775808B, bw=1GB/s, latency=1ns",
                    "capacity of tier \"b\" times scale 2/1 overflows"},
                Bad{"knl-flat;scale=18446744073709551615/2",
                    "18446744073709551615/2",
                    "capacity of tier \"ddr4\" times scale"},
                Bad{"single;scale=1073741824/1", "1073741824/1",
                    "tier \"dram\""},
                Bad{"single;mode=bogus", "bogus",
                    "unknown mode \"bogus\" (use account or delay)"},
                Bad{"single;mode=Delay", "Delay", "unknown mode"},
                Bad{"single;mode=", "mode=", "empty value for \"mode\""},
                Bad{"single;mode=delay;mode=account", "mode=account",
                    "mode given twice"},
                Bad{"single;placement=fault", "fault",
                    "unknown placement \"fault\" (use touch or map)"},
                Bad{"single;placement=", "placement=",
                    "empty value for \"placement\""},
                Bad{"single;placement=map;placement=touch", "placement=touch",
                    "placement given twice"}),
        BadName);

// A machine with one tier with CPUs (a) and one without (b).
const std::string kAB = Tier("a") + ", vcpus=1;" + Tier("b") + ";";

std::string TooManyAccessItems()
{
	std::string text;
	for (int i = 0; i < 17; i++)
		text += Tier("t" + std::to_string(i)) + ", vcpus=1\n";
	for (int from = 0; from < 17; from++)
		for (int to = 0; to < 17; to++)
			if (to != from)
				text += "access: from=t" +
				        std::to_string(from) + ", to=t" +
				        std::to_string(to) +
				        ", bw=1GB/s, latency=2ns\n";
	return text;
}

// The 257th item, and everything after it.
std::string PastTheLastAccessItem()
{
	std::string text = TooManyAccessItems();
	size_t at = 0;
	for (int i = 0; i <= AML_EMU_ACCESS_MAX; i++)
		at = text.find("access:", at + 1);
	return text.substr(at);
}

INSTANTIATE_TEST_SUITE_P(
        MachineItems,
        EmulatorSpecBad,
        ::testing::Values(
                Bad{kTier + ", vcpus=0", "0", "vcpus 0 out of range (1 to 64)"},
                Bad{kTier + ", vcpus=65", "65", "vcpus 65 out of range"},
                Bad{kTier + ", vcpus=1.5", "1.5",
                    "vcpus \"1.5\": not an "
                    "integer"},
                Bad{kTier + ", vcpus=two", "two", "not a number"},
                Bad{kTier + ", vcpus=1, vcpus=2", "vcpus=2",
                    "duplicate key \"vcpus\""},
                Bad{"tier: name=a, kind=DRAM, usable=2GiB, capacity=1GiB, "
                    "bw=1GB/s, latency=1ns",
                    "tier: name=a, kind=DRAM, usable=2GiB, capacity=1GiB, "
                    "bw=1GB/s, latency=1ns",
                    "tier \"a\": usable 2147483648 B is more than its "
                    "capacity 1073741824 B"},
                Bad{kTier + ", usable=0B", "0B", "must be > 0"},
                Bad{kTier + ", usable=1", "1", "missing unit"},
                Bad{kTier + ", from=a", "from=a", "unknown key \"from\""},
                // Access items.
                Bad{kAB + "access: from=a, to=c, bw=1GB/s, latency=1ns",
                    "c, bw=1GB/s, latency=1ns",
                    "unknown tier \"c\" (an access item names tiers given "
                    "before it)"},
                Bad{"tier: name=a, kind=DRAM, capacity=1GiB, bw=1GB/s, "
                    "latency=1ns, vcpus=1; access: from=a, to=b, bw=1GB/s, "
                    "latency=1ns; " +
                            Tier("b"),
                    "b, bw=1GB/s, latency=1ns; " + Tier("b"),
                    "unknown tier \"b\""},
                Bad{kAB + "access: from=b, to=a, bw=1GB/s, latency=1ns",
                    "access: from=b, to=a, bw=1GB/s, latency=1ns",
                    "access from \"b\" to \"a\": \"b\" has no CPUs (cpus "
                    "or vcpus), so it is not an initiator"},
                Bad{kAB + "access: from=a, to=a, bw=1GB/s, latency=1ns",
                    "access: from=a, to=a, bw=1GB/s, latency=1ns",
                    "a tier seen from itself"},
                Bad{kAB + "access: from=a, to=b, bw=1GB/s, latency=1ns;"
                          "access: from=a, to=b, bw=2GB/s, latency=2ns",
                    "access: from=a, to=b, bw=2GB/s, latency=2ns",
                    "access from \"a\" to \"b\": given twice"},
                Bad{kAB + "access: to=b, bw=1GB/s, latency=1ns",
                    "access: to=b, bw=1GB/s, latency=1ns",
                    "access: missing from"},
                Bad{kAB + "access: from=a, bw=1GB/s, latency=1ns",
                    "access: from=a, bw=1GB/s, latency=1ns",
                    "access: missing to"},
                Bad{kAB + "access: from=a, to=b, latency=1ns",
                    "access: from=a, to=b, latency=1ns",
                    "access from \"a\" to \"b\": missing bw (or read_bw "
                    "and write_bw)"},
                Bad{kAB + "access: from=a, to=b, bw=1GB/s, read_latency=1ns",
                    "access: from=a, to=b, bw=1GB/s, read_latency=1ns",
                    "missing write_latency"},
                Bad{kAB + "access: from=a, to=b, bw=1GB/s, bw=1GB/s",
                    "bw=1GB/s", "duplicate key \"bw\""},
                Bad{kAB + "access: from=a, to=b, bw=1GB/s, read_bw=1GB/s",
                    "read_bw=1GB/s", "conflicts with"},
                Bad{kAB + "access: from=a, to=b, bw=1GB/s, latency=1ns, "
                          "capacity=1GiB",
                    "capacity=1GiB",
                    "unknown key \"capacity\" in access (use from, to, bw, "
                    "latency)"},
                Bad{kAB + "access: from=a, to=b, bw=1GB, latency=1ns",
                    "GB, latency=1ns", "bad unit"},
                Bad{kAB + "access", "access",
                    "expected ':' after "
                    "\"access\""},
                Bad{kAB + "access:", "", "expected key=value"},
                Bad{TooManyAccessItems(), PastTheLastAccessItem(),
                    "more than 256 access items"},
                // sockets.
                Bad{kAB + "sockets=0", "0", "sockets 0 out of range"},
                Bad{kAB + "sockets=", "sockets=",
                    "empty value for "
                    "\"sockets\""},
                Bad{kAB + "sockets=1;sockets=1", "sockets=1",
                    "sockets given twice"},
                Bad{kAB + "sockets=1 2", "2",
                    "unexpected \"2\" after "
                    "sockets"},
                Bad{kAB + "sockets", "sockets", "expected '=' after"},
                Bad{kAB + "sockets=2", "2",
                    "sockets=2 does not divide the "
                    "1 vcpus"},
                Bad{kTier + ";sockets=1", "1", "does not divide the 0 vcpus"}),
        BadName);

TEST(EmulatorSpecBadInput, NullArguments)
{
	auto out = std::make_unique<struct aml_emu_spec>();
	struct aml_emu_error error;
	std::memset(&error, 0, sizeof(error));
	EXPECT_EQ(aml_emu_spec_parse(nullptr, out.get(), &error), AML_EINVAL);
	EXPECT_EQ(error.offset, 0u);
	EXPECT_STRNE(error.reason, "");
	EXPECT_EQ(aml_emu_spec_parse("single", nullptr, &error), AML_EINVAL);
	EXPECT_EQ(aml_emu_spec_parse(nullptr, out.get(), nullptr), AML_EINVAL);
	EXPECT_EQ(aml_emu_spec_parse("single", nullptr, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_emu_spec_parse(nullptr, nullptr, nullptr), AML_EINVAL);
	// error may be NULL on success too.
	EXPECT_EQ(aml_emu_spec_parse("single", out.get(), nullptr), 0);
}

// The case, through aml_emu_create: 16 GiB x 2^40 is 2^74 bytes,
// which used to wrap to a device of capacity 0 ("unknown").
TEST(EmulatorSpecBadInput, ScaledCapacityPast64BitsMakesNoMachine)
{
	std::string text = "tier: name=a, kind=DRAM, capacity=16GiB, "
	                   "bw=1GB/s, latency=1ns;scale=1099511627776";
	struct aml_topology *t = reinterpret_cast<struct aml_topology *>(1);
	struct aml_emu_error error = {};
	EXPECT_EQ(aml_emu_create(&t, text.c_str(), &error), AML_EINVAL);
	EXPECT_EQ(t, nullptr);
	EXPECT_EQ(error.offset, text.find("1099511627776"));
	EXPECT_NE(std::string(error.reason).find("overflows 64 bits"),
	          std::string::npos)
	        << error.reason;
	// The largest scale that fits gives exactly 2^64 - 2^34 bytes.
	text = "tier: name=a, kind=DRAM, capacity=16GiB, bw=1GB/s, "
	       "latency=1ns;scale=1073741823";
	ASSERT_EQ(aml_emu_create(&t, text.c_str(), &error), 0) << error.reason;
	EXPECT_EQ(aml_topology_device(t, 0)->capacity,
	          (size_t)1073741823 << 34);
	aml_topology_destroy(&t);
}

TEST(EmulatorSpecBadInput, SuccessLeavesTheErrorAlone)
{
	auto out = std::make_unique<struct aml_emu_spec>();
	struct aml_emu_error error = {42, "untouched"};
	EXPECT_EQ(aml_emu_spec_parse("single", out.get(), &error), 0);
	EXPECT_EQ(error.offset, 42u);
	EXPECT_STREQ(error.reason, "untouched");
}

// Not a fuzzer (tools/fuzz.sh spec runs one), but every build checks that
// random bytes and mangled presets are refused or accepted cleanly.
TEST(EmulatorSpecBadInput, RandomBytesAndMangledPresets)
{
	std::mt19937 rng(20240607);
	std::vector<std::string> seeds;
	for (size_t i = 0; aml_emu_preset_names[i] != nullptr; i++)
		seeds.push_back(aml_emu_preset(aml_emu_preset_names[i]));
	const char alphabet[] = "tier:distances=,;/#\n .0123456789GiBKMTs"
	                        "-+exXnameDRAMHBMcpusall\t\x01\xff";
	auto out = std::make_unique<struct aml_emu_spec>();
	for (int round = 0; round < 20000; round++) {
		std::string text;
		if (round % 2 == 0) {
			size_t len = rng() % 64;
			for (size_t i = 0; i < len; i++)
				text += alphabet[rng() %
				                 (sizeof(alphabet) - 1)];
		} else {
			text = seeds[rng() % seeds.size()];
			for (int k = 0, n = 1 + (int)(rng() % 3); k < n; k++) {
				size_t at = rng() % text.size();
				char c = alphabet[rng() %
				                  (sizeof(alphabet) - 1)];
				if (rng() % 2)
					text[at] = c;
				else
					text.erase(at, 1);
				if (text.empty())
					break;
			}
		}
		struct aml_emu_error error;
		std::memset(&error, 0, sizeof(error));
		int err = aml_emu_spec_parse(text.c_str(), out.get(), &error);
		if (err != 0) {
			ASSERT_EQ(err, AML_EINVAL);
			ASSERT_LE(error.offset, text.size()) << text;
			ASSERT_LT(std::strlen(error.reason),
			          sizeof(error.reason));
		} else {
			ASSERT_GE(out->ntiers, 1u);
			ASSERT_LE(out->ntiers, (size_t)AML_EMU_TIERS_MAX);
		}
	}
}

} // namespace
