#!/usr/bin/env bash
# Fuzzes a parser of user text with libFuzzer, ASan and UBSan, outside
# Bazel. Exits non-zero on a finding, and keeps the crashing input and the
# corpus then.
#   tools/fuzz.sh spec                  the emulator's spec language, 60 s
#   tools/fuzz.sh list                  numactl-style lists (bitmaps)
#   tools/fuzz.sh env                   the environment variables aml reads
#   tools/fuzz.sh xml                   hwloc XML files (aml's check, then
#                                       hwloc loading what passed)
#   tools/fuzz.sh all                   all of them, one per core at a time
#   FUZZ_SECONDS=600 tools/fuzz.sh list
#   FUZZ_KEEP=1 tools/fuzz.sh env       keep the work directory
#   FUZZ_CORPUS=dir tools/fuzz.sh xml   start from (and add to) a corpus
# Each target is tests/fuzz/<source>.c with its dictionary
# tests/fuzz/NAME.dict and its seeds: tests/fuzz/NAME.seeds (one input per
# line, printf %b escapes; lines starting with '#' and blank lines are
# skipped) or, for xml, the fixtures and tests/fuzz/topology_xml_seeds.
# Needs clang and its sanitizer and libFuzzer runtimes: on Debian 12, the
# packages clang and libclang-rt-14-dev (tools/setup.sh); env and xml also
# link libnuma, xml hwloc (the system's library: not instrumented, but its
# crashes, leaks, stalls and huge allocations show).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

usage() {
	echo "usage: tools/fuzz.sh spec|list|env|xml|all" >&2
	exit 2
}
[ $# -eq 1 ] || usage
# all: as many fuzzers at a time as there are cores (each is one process
# on one core), each line of theirs marked with its name; fails if any finds.
if [ "$1" = all ]; then
	status=0
	running=0
	for name in spec list env xml; do
		if [ "$running" -ge "$(nproc)" ]; then
			wait -n || status=1
			running=$((running - 1))
		fi
		("$0" "$name" 2>&1 | sed -u "/^fuzz $name:/!s/^/fuzz $name| /") &
		running=$((running + 1))
	done
	while [ "$running" -gt 0 ]; do
		wait -n || status=1
		running=$((running - 1))
	done
	exit "$status"
fi
name=$1

# What each target compiles: its fuzzer, then everything it links. spec
# and list need a few files; env and xml all of aml (library=yes), with
# hwloc absent for env (AML_TOPOLOGY_XML is followed, its XML not read:
# xml fuzzes that) and present for xml.
library=no
hwloc=0
libs=()
fuzzer_flags=()
case "$name" in
spec)
	fuzzer=tests/fuzz/emulator_spec_fuzzer.c
	sources=(emulator/spec.c emulator/spec_lex.c emulator/presets.c
		aml/src/bitmap.c aml/src/error.c aml/src/quote.c)
	max_len=8192
	;;
list)
	fuzzer=tests/fuzz/bitmap_list_fuzzer.c
	sources=(aml/src/bitmap.c aml/src/error.c)
	max_len=4096
	;;
env)
	fuzzer=tests/fuzz/env_fuzzer.c
	library=yes
	libs=(-lnuma -lpthread -lm)
	max_len=8192
	;;
xml)
	fuzzer=tests/fuzz/topology_xml_fuzzer.c
	library=yes
	hwloc=1
	libs=(-lhwloc -lnuma -lpthread -lm)
	max_len=65536
	# aml's own work is linear in the input (under 4 MiB here), so a
	# large allocation is hwloc sizing something by a number in the
	# text; a stall is a finding too.
	fuzzer_flags=(-timeout=10 -malloc_limit_mb=256 -rss_limit_mb=2048)
	;;
*) usage ;;
esac

seconds=${FUZZ_SECONDS:-60}
cc=${CC_FUZZ:-clang}
command -v "$cc" >/dev/null || {
	echo "fuzz $name: $cc not found: install clang and libclang-rt-14-dev (tools/setup.sh)" >&2
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/aml_fuzz_$name.XXXXXX")
keep=${FUZZ_KEEP:-0}
cleanup() {
	if [ "$keep" = 0 ]; then rm -rf "$work"; else echo "fuzz $name: work directory $work"; fi
}
trap cleanup EXIT

# shellcheck disable=SC2054 # the commas are in -fsanitize=, not between elements
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-I aml/include -I . -I "$work")

# presets.c includes the machine files as C (emulator/BUILD.bazel does the
# same at build time).
mkdir -p "$work/emulator"
emulator/embed_machines.sh machines/*.spec >"$work/emulator/machines.inc"

echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$work/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" 2>"$work/probe.log"; then
	echo "fuzz $name: $cc cannot link a libFuzzer target with ASan and UBSan:" >&2
	sed 's/^/  /' "$work/probe.log" >&2
	echo "fuzz $name: install libclang-rt-14-dev (tools/setup.sh)" >&2
	exit 1
fi

if [ "$library" = no ]; then
	"$cc" "${flags[@]}" "$fuzzer" "${sources[@]}" -o "$work/fuzzer" "${libs[@]}"
else
	# The header Bazel generates (third_party/host_libs.bzl), and every
	# file of aml with the backends this target wants, memkind absent.
	mkdir -p "$work/include/aml" "$work/obj"
	printf '%s\n' '#ifndef AML_BUILD_CONFIG_H' '#define AML_BUILD_CONFIG_H' \
		"#define AML_HAVE_HWLOC $hwloc" '#define AML_HAVE_MEMKIND 0' \
		'#define AML_HAVE_NUMA 1' '#endif' >"$work/include/aml/build_config.h"
	hwloc_source=backends/hwloc/hwloc_absent.c
	[ "$hwloc" = 1 ] && hwloc_source=backends/hwloc/hwloc.c
	mapfile -t sources < <(ls aml/src/*.c aml/src/*/*.c emulator/*.c \
		backends/numa/*.c backends/sysfs/*.c backends/memkind/*_absent.c \
		"$hwloc_source")
	echo "fuzz $name: compiling ${#sources[@]} files"
	pids=()
	for src in "${sources[@]}"; do
		"$cc" "${flags[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" \
			-I "$work/include" -c "$src" -o "$work/obj/${src//\//_}.o" &
		pids+=($!)
		if [ ${#pids[@]} -ge "$(nproc)" ]; then
			wait "${pids[0]}"
			pids=("${pids[@]:1}")
		fi
	done
	for pid in "${pids[@]}"; do wait "$pid"; done
	"$cc" "${flags[@]}" -I "$work/include" "$fuzzer" "$work"/obj/*.o \
		-o "$work/fuzzer" "${libs[@]}"
fi

corpus=${FUZZ_CORPUS:-$work/corpus}
mkdir -p "$work/seeds" "$corpus"
if [ "$name" = xml ]; then
	# The fixtures, and small machines that reach memory attributes,
	# distances, I/O, Misc and MemCache objects, entities, and the odd
	# trees hwloc still loads.
	cp tests/fixtures/topology/*.xml tests/fuzz/topology_xml_seeds/*.xml \
		"$work/seeds/"
else
	n=0
	while IFS= read -r seed; do
		case "$seed" in '' | '#'*) continue ;; esac
		n=$((n + 1))
		printf '%b' "$seed" >"$work/seeds/seed-$n"
	done <"tests/fuzz/$name.seeds"
fi

# The spec also starts from every preset, by name and by text.
if [ "$name" = spec ]; then
	cat >"$work/presets.c" <<'C'
#include <stdio.h>

#include "emulator/spec.h"

int main(int argc, char **argv)
{
	for (int i = 0; aml_emu_preset_names[i] != NULL && argc > 1; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/preset-%s", argv[1],
		         aml_emu_preset_names[i]);
		FILE *f = fopen(path, "w");
		if (f == NULL)
			return 1;
		fputs(aml_emu_preset(aml_emu_preset_names[i]), f);
		fclose(f);
		snprintf(path, sizeof(path), "%s/name-%s", argv[1],
		         aml_emu_preset_names[i]);
		f = fopen(path, "w");
		if (f == NULL)
			return 1;
		fputs(aml_emu_preset_names[i], f);
		fclose(f);
	}
	return 0;
}
C
	"$cc" -std=c11 -I aml/include -I . -I "$work" "$work/presets.c" emulator/presets.c -o "$work/presets"
	"$work/presets" "$work/seeds"
fi

echo "fuzz $name: fuzzing for ${seconds}s in $work"
# The full log goes to fuzz.log; the terminal gets progress and findings.
# No input may read the terminal: stdin is /dev/null.
set +e
(cd "$work" && ./fuzzer -max_total_time="$seconds" -max_len="$max_len" \
	"${fuzzer_flags[@]}" -dict="$root/tests/fuzz/$name.dict" \
	-artifact_prefix="$work/" -print_final_stats=1 "$corpus" seeds \
	</dev/null) 2>&1 | tee "$work/fuzz.log" |
	grep --line-buffered -E '^#[0-9]+[[:space:]]+(INITED|DONE|pulse)|ERROR|SUMMARY|^stat::|Done [0-9]+ runs'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
	keep=1
	echo "fuzz $name: FINDING (fuzzer exit $status): see $work/fuzz.log" >&2
	shopt -s nullglob
	for input in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		echo "fuzz $name: input $input; replay: $work/fuzzer $input" >&2
	done
	exit 1
fi
echo "fuzz $name: no finding in ${seconds}s ($(find "$corpus" -type f | wc -l) corpus inputs)"
