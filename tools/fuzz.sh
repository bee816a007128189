#!/usr/bin/env bash
# Fuzzes a parser of user text with libFuzzer, ASan and UBSan, outside
# Bazel. Exits non-zero on a finding, and keeps the crashing input and the
# corpus then.
#   tools/fuzz.sh spec                  the emulator's spec language, 60 s
#   tools/fuzz.sh list                  numactl-style lists (bitmaps)
#   tools/fuzz.sh env                   the environment variables aml reads
#   tools/fuzz.sh all                   each of them in turn
#   FUZZ_SECONDS=600 tools/fuzz.sh list
#   FUZZ_KEEP=1 tools/fuzz.sh env       keep the work directory
# Each target is tests/fuzz/<source>.c with its dictionary tests/fuzz/NAME.dict
# and its seeds tests/fuzz/NAME.seeds (one input per line, printf %b escapes;
# lines starting with '#' and blank lines are skipped).
# Needs clang and its sanitizer and libFuzzer runtimes: on Debian 12, the
# packages clang and libclang-rt-14-dev (tools/setup.sh); env also links
# libnuma.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

usage() {
	echo "usage: tools/fuzz.sh spec|list|env|all" >&2
	exit 2
}
[ $# -eq 1 ] || usage
if [ "$1" = all ]; then
	for name in spec list env; do
		"$0" "$name"
	done
	exit 0
fi
name=$1

# What each target compiles: its fuzzer, then everything it links. None
# includes <aml.h>, whose <aml/build_config.h> only Bazel writes.
libs=()
case "$name" in
spec)
	fuzzer=tests/fuzz/emulator_spec_fuzzer.c
	sources=(emulator/spec.c emulator/presets.c aml/src/bitmap.c aml/src/error.c)
	max_len=8192
	;;
list)
	fuzzer=tests/fuzz/bitmap_list_fuzzer.c
	sources=(aml/src/bitmap.c aml/src/error.c)
	max_len=4096
	;;
env)
	# The emulator and the topology code behind AML_EMULATE, with hwloc
	# absent: AML_TOPOLOGY_XML is followed, its XML is not read.
	fuzzer=tests/fuzz/env_fuzzer.c
	sources=(emulator/spec.c emulator/presets.c emulator/cost.c
		emulator/create.c emulator/emulator.c emulator/pagetable.c
		aml/src/bitmap.c aml/src/classify.c aml/src/device.c
		aml/src/error.c aml/src/rangeset.c aml/src/sysfs.c
		aml/src/topology.c aml/src/topology_default.c
		aml/src/topology_map.c
		backends/hwloc/hwloc_absent.c backends/numa/numa.c
		backends/numa/numa_device.c backends/numa/numa_discover.c)
	libs=(-lnuma -lpthread)
	max_len=8192
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
	-I aml/include -I .)

echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$work/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" 2>"$work/probe.log"; then
	echo "fuzz $name: $cc cannot link a libFuzzer target with ASan and UBSan:" >&2
	sed 's/^/  /' "$work/probe.log" >&2
	echo "fuzz $name: install libclang-rt-14-dev (tools/setup.sh)" >&2
	exit 1
fi

"$cc" "${flags[@]}" "$fuzzer" "${sources[@]}" -o "$work/fuzzer" "${libs[@]}"

mkdir -p "$work/seeds" "$work/corpus"
n=0
while IFS= read -r seed; do
	case "$seed" in '' | '#'*) continue ;; esac
	n=$((n + 1))
	printf '%b' "$seed" >"$work/seeds/seed-$n"
done <"tests/fuzz/$name.seeds"

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
	"$cc" -std=c11 -I aml/include -I . "$work/presets.c" emulator/presets.c -o "$work/presets"
	"$work/presets" "$work/seeds"
fi

echo "fuzz $name: fuzzing for ${seconds}s in $work"
# The full log goes to fuzz.log; the terminal gets progress and findings.
# No input may read the terminal: stdin is /dev/null.
set +e
(cd "$work" && ./fuzzer -max_total_time="$seconds" -max_len="$max_len" \
	-dict="$root/tests/fuzz/$name.dict" -artifact_prefix="$work/" \
	-print_final_stats=1 corpus seeds </dev/null) 2>&1 | tee "$work/fuzz.log" |
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
echo "fuzz $name: no finding in ${seconds}s ($(find "$work/corpus" -type f | wc -l) corpus inputs)"
