#!/usr/bin/env bash
# Fuzzes the emulator's spec parser (emulator/spec.c) with libFuzzer, ASan
# and UBSan, outside Bazel. Exits non-zero on a finding, and keeps the
# crashing input and the corpus then.
#   tools/fuzz_spec.sh                  60 seconds
#   FUZZ_SECONDS=600 tools/fuzz_spec.sh
#   FUZZ_KEEP=1 tools/fuzz_spec.sh      keep the work directory
# Needs clang and its sanitizer and libFuzzer runtimes: on Debian 12, the
# packages clang and libclang-rt-14-dev (tools/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
cc=${CC_FUZZ:-clang}
command -v "$cc" >/dev/null || {
	echo "fuzz_spec: $cc not found: install clang and libclang-rt-14-dev (tools/setup.sh)" >&2
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/aml_fuzz_spec.XXXXXX")
keep=${FUZZ_KEEP:-0}
cleanup() {
	if [ "$keep" = 0 ]; then rm -rf "$work"; else echo "fuzz_spec: work directory $work"; fi
}
trap cleanup EXIT

# shellcheck disable=SC2054 # the commas are in -fsanitize=, not between elements
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-I aml/include -I .)
# Everything the parser links to: the presets, bitmaps, error strings.
sources=(emulator/spec.c emulator/presets.c aml/src/bitmap.c aml/src/error.c)

echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$work/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" 2>"$work/probe.log"; then
	echo "fuzz_spec: $cc cannot link a libFuzzer target with ASan and UBSan:" >&2
	sed 's/^/  /' "$work/probe.log" >&2
	echo "fuzz_spec: install libclang-rt-14-dev (tools/setup.sh)" >&2
	exit 1
fi

"$cc" "${flags[@]}" tests/fuzz/emulator_spec_fuzzer.c "${sources[@]}" -o "$work/fuzzer"

# Seeds: every preset by name and by text, and specs that reach each part of
# the grammar.
mkdir -p "$work/seeds" "$work/corpus"
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
n=0
while IFS= read -r spec; do
	n=$((n + 1))
	printf '%b' "$spec" >"$work/seeds/spec-$n"
done <<'SPECS'
knl-flat;scale=1/64;mode=delay
qemu-3node\nscale=1/64\n
# comment\n\ntier: name=a, kind=NVM, capacity=1.5TB, read_bw=6GB/s, write_bw=2GB/s, read_latency=0.3us, write_latency=90ns, cpus=0-3,8\n
tier: name=fast, kind=HBM, capacity=64KiB, bw=400GB/s, latency=120ns;tier: name=slow, kind=DRAM, capacity=256KiB, bw=100GB/s, latency=100ns, cpus=all;distances: 10,20/20,10
knl-flat; tier: name=cxl, kind=CXL, capacity=64GiB, bw=30GiB/s, latency=250ns, cpus=none; distances: 10,31,20/31,10,40/20,40,10
tier: name=x, kind=DRAM, capacity=18446744073709551615B, bw=18446744TB/s, latency=18446744073709551us
scale = 3 / 4 ; mode = account ; single ;
SPECS

cat >"$work/spec.dict" <<'DICT'
"tier:"
"distances:"
"scale="
"mode="
"account"
"delay"
"name="
"kind="
"capacity="
"bw="
"read_bw="
"write_bw="
"latency="
"read_latency="
"write_latency="
"cpus="
"all"
"none"
"DRAM"
"HBM"
"CXL"
"NVM"
"B"
"KB"
"MB"
"GB"
"TB"
"KiB"
"MiB"
"GiB"
"TiB"
"B/s"
"GB/s"
"GiB/s"
"TB/s"
"ns"
"us"
"knl-flat"
"xeon-max-flat"
"cxl-tiered"
"qemu-3node"
"single"
"18446744073709551615"
"10,"
"/"
";"
"\x0a"
"#"
DICT

echo "fuzz_spec: fuzzing for ${seconds}s in $work"
# The full log goes to fuzz.log; the terminal gets progress and findings.
set +e
(cd "$work" && ./fuzzer -max_total_time="$seconds" -max_len=8192 \
	-dict=spec.dict -artifact_prefix="$work/" -print_final_stats=1 \
	corpus seeds) 2>&1 | tee "$work/fuzz.log" |
	grep --line-buffered -E '^#[0-9]+[[:space:]]+(INITED|DONE|pulse)|ERROR|SUMMARY|^stat::|Done [0-9]+ runs'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
	keep=1
	echo "fuzz_spec: FINDING (fuzzer exit $status): see $work/fuzz.log" >&2
	shopt -s nullglob
	for input in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		echo "fuzz_spec: input $input; replay: $work/fuzzer $input" >&2
	done
	exit 1
fi
echo "fuzz_spec: no finding in ${seconds}s ($(find "$work/corpus" -type f | wc -l) corpus inputs)"
