#!/usr/bin/env bash
# Fuzzes aml's hwloc XML path (aml_topology_load_xml_buffer(): aml's check
# in aml/src/topology_xml, then hwloc 2 loading what passed, then aml's
# devices) with libFuzzer, ASan and UBSan, outside Bazel. Exits non-zero on
# a finding, and keeps the crashing input and the corpus then.
#   tools/fuzz_xml.sh                   60 seconds
#   FUZZ_SECONDS=600 tools/fuzz_xml.sh
#   FUZZ_KEEP=1 tools/fuzz_xml.sh       keep the work directory
#   FUZZ_CORPUS=dir tools/fuzz_xml.sh   start from (and add to) a corpus
# Needs clang and its sanitizer and libFuzzer runtimes (on Debian 12, the
# packages clang and libclang-rt-14-dev: tools/setup.sh), and the hwloc and
# libnuma development files. hwloc itself is the system's library: not
# instrumented, but its crashes, leaks and huge allocations show.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
cc=${CC_FUZZ:-clang}
command -v "$cc" >/dev/null || {
	echo "fuzz_xml: $cc not found: install clang and libclang-rt-14-dev (tools/setup.sh)" >&2
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/aml_fuzz_xml.XXXXXX")
keep=${FUZZ_KEEP:-0}
cleanup() {
	if [ "$keep" = 0 ]; then rm -rf "$work"; else echo "fuzz_xml: work directory $work"; fi
}
trap cleanup EXIT

echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$work/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" 2>"$work/probe.log"; then
	echo "fuzz_xml: $cc cannot link a libFuzzer target with ASan and UBSan:" >&2
	sed 's/^/  /' "$work/probe.log" >&2
	echo "fuzz_xml: install libclang-rt-14-dev (tools/setup.sh)" >&2
	exit 1
fi

# The header Bazel generates (third_party/host_libs.bzl): hwloc and libnuma
# in, memkind out (its absent backend needs nothing).
mkdir -p "$work/include/aml" "$work/obj"
cat >"$work/include/aml/build_config.h" <<'H'
#ifndef AML_BUILD_CONFIG_H
#define AML_BUILD_CONFIG_H
#define AML_HAVE_HWLOC 1
#define AML_HAVE_MEMKIND 0
#define AML_HAVE_NUMA 1
#endif
H

# shellcheck disable=SC2054 # the commas are in -fsanitize=, not between elements
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
	-fsanitize=address,undefined -fno-sanitize-recover=all
	-I "$work/include" -I aml/include -I .)
# All of aml that aml_topology_load_xml_buffer() reaches, and what the
# registry (aml/src/backends.c, topology_default.c) names.
mapfile -t sources < <(ls aml/src/*.c aml/src/*/*.c backends/numa/*.c \
	backends/hwloc/hwloc.c backends/memkind/*_absent.c emulator/*.c)
echo "fuzz_xml: compiling ${#sources[@]} files"
compile() {
	"$cc" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$1" -o "$work/obj/${1//\//_}.o"
}
jobs_max=$(nproc)
pids=()
for src in "${sources[@]}"; do
	compile "$src" &
	pids+=($!)
	if [ ${#pids[@]} -ge "$jobs_max" ]; then
		wait "${pids[0]}"
		pids=("${pids[@]:1}")
	fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
"$cc" "${flags[@]}" -fsanitize=fuzzer tests/fuzz/topology_xml_fuzzer.c \
	"$work"/obj/*.o -lhwloc -lnuma -lpthread -lm -o "$work/fuzzer"

# Seeds: the fixtures (cut at -max_len: small inputs run 100 times faster),
# and small machines of tests/fuzz/topology_xml_seeds that reach memory
# attributes, distances, I/O, Misc and MemCache objects, entities, and the
# odd trees hwloc still loads (types nested upside down, groups merged away,
# CPU-less groups, restricted allowed sets).
mkdir -p "$work/seeds"
cp tests/fixtures/topology/*.xml tests/fuzz/topology_xml_seeds/*.xml "$work/seeds/"

cat >"$work/xml.dict" <<'DICT'
"<object "
"</object>"
"/>"
"type=\"Machine\""
"type=\"Package\""
"type=\"Die\""
"type=\"Core\""
"type=\"PU\""
"type=\"L1Cache\""
"type=\"L2Cache\""
"type=\"L1iCache\""
"type=\"Group\""
"type=\"NUMANode\""
"type=\"MemCache\""
"type=\"Bridge\""
"type=\"PCIDev\""
"type=\"OSDev\""
"type=\"Misc\""
"os_index=\""
"gp_index=\""
"cpuset=\""
"complete_cpuset=\""
"allowed_cpuset=\""
"nodeset=\""
"complete_nodeset=\""
"allowed_nodeset=\""
"local_memory=\""
"subtype=\""
"name=\""
"cache_size=\""
"depth=\""
"cache_linesize=\""
"cache_associativity=\""
"cache_type=\""
"kind=\""
"subkind=\""
"dont_merge=\""
"<info name=\"a\" value=\"b\"/>"
"<page_type size=\"4096\" count=\"1\"/>"
"<userdata length=\"1\">"
"<memattr name=\"Bandwidth\" flags=\"5\">"
"<memattr name=\"Latency\" flags=\"6\">"
"<memattr name=\"WriteBandwidth\" flags=\"5\">"
"</memattr>"
"<memattr_value "
"target_obj_type=\"NUMANode\""
"target_obj_gp_index=\""
"initiator_cpuset=\""
"initiator_obj_type=\""
"initiator_obj_gp_index=\""
"value=\""
"<distances2 "
"<distances2hetero "
"nbobjs=\""
"indexing=\"os\""
"indexing=\"gp\""
"<indexes length=\""
"<u64values length=\""
"<cpukind cpuset=\""
"<support name=\""
"<topology version=\"2.0\">"
"</topology>"
"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
"<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">"
"<!-- -->"
"&amp;"
"&#10;"
"&#x10FFFF;"
"0x00000001"
"0xffffffff"
"0xf...f"
",,"
"0"
"1023"
"1024"
"4294967295"
"17592186044415"
"17592186044416"
"18446744073709551615"
DICT

echo "fuzz_xml: fuzzing for ${seconds}s in $work"
corpus=${FUZZ_CORPUS:-$work/corpus}
mkdir -p "$corpus"
# -malloc_limit_mb: aml's own work is linear in the input (under 4 MiB
# here), so a large allocation is hwloc sizing something by a number in
# the text. -timeout: a stall is a finding too.
set +e
(cd "$work" && ./fuzzer -max_total_time="$seconds" -max_len=65536 \
	-timeout=10 -malloc_limit_mb=256 -rss_limit_mb=2048 \
	-dict=xml.dict -artifact_prefix="$work/" -print_final_stats=1 \
	"$corpus" seeds) 2>&1 | tee "$work/fuzz.log" |
	grep --line-buffered -E '^#[0-9]+[[:space:]]+(INITED|DONE|pulse)|ERROR|SUMMARY|^stat::|Done [0-9]+ runs'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
	keep=1
	echo "fuzz_xml: FINDING (fuzzer exit $status): see $work/fuzz.log" >&2
	shopt -s nullglob
	for input in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		echo "fuzz_xml: input $input; replay: $work/fuzzer $input" >&2
	done
	exit 1
fi
echo "fuzz_xml: no finding in ${seconds}s ($(find "$corpus" -type f | wc -l) corpus inputs)"
