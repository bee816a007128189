#!/usr/bin/env bash
# aml_topo runs on this machine and on each fixture, in text and JSON, and
# shows the kinds and rankings the fixtures are built to have.
set -euo pipefail
topo=tools/aml_topo
fixtures=tests/fixtures/topology
fail() { echo "aml_topo_test: FAIL: $*" >&2; exit 1; }

# This machine: at least one device, and valid JSON.
out=$($topo) || fail "aml_topo on this machine"
echo "$out"
grep -Eq '^[0-9]+ device\(s\) from (hwloc|libnuma)$' <<<"$out" || fail "header: $out"
$topo --json | python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["devices"], d'

# Bad usage and a bad file fail with a message, not a crash.
if $topo --bogus 2>/dev/null; then fail "--bogus accepted"; fi
if $topo --xml /no/such.xml 2>/dev/null; then fail "missing file accepted"; fi

# An emulated machine, and a malformed spec refused with its position.
out=$($topo --emulate knl-flat) || fail "aml_topo --emulate knl-flat"
grep -q '^2 device(s) from emulated knl-flat$' <<<"$out" || fail "emulate: $out"
grep -Eq '^mcdram +HBM' <<<"$out" || fail "emulate kinds: $out"
grep -Eq '^mcdram +HBM .* backend emulator$' <<<"$out" || fail "emulate backend: $out"
grep -qx 'fast memory: 1 fast device (HBM): NUMA node 1' <<<"$out" || fail "emulate fast: $out"
# A small tier in a unit that shows it.
out=$($topo --emulate 'tier: name=tiny, kind=HBM, capacity=64KiB, bw=400GB/s, latency=90ns, cpus=all') ||
	fail "aml_topo --emulate tiny"
grep -Eq '^tiny +HBM +node 0 +64.0 KiB \(64.0 KiB free\)' <<<"$out" || fail "small tier: $out"
# Distances as numactl -H prints them: the machine file's matrix, row by
# row (node, then one column per node).
spec=machines/qemu-4node-2socket.spec
out=$($topo --emulate "@$spec") || fail "aml_topo --emulate @$spec"
rows=$(sed -n 's/^distances: *//p' "$spec" | tr '/' '\n' | tr -d ' ' |
	awk -F, '{ printf "%4d:", NR - 1; for (i = 1; i <= NF; i++) printf " %4d", $i; print "" }')
[ -n "$rows" ] || fail "no distances in $spec"
got=$(sed -n '/^node distances:$/,/^by /p' <<<"$out" | sed -n '3,6p')
[ "$got" = "$rows" ] || fail "distances: got
$got
expected
$rows"
grep -qx 'node     0    1    2    3' <<<"$out" || fail "distance header: $out"
$topo --emulate "@$spec" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
spec = [l for l in open(sys.argv[1]) if l.startswith("distances:")][0]
rows = [[int(v) for v in r.split(",")] for r in spec.split(":", 1)[1].split("/")]
assert d["distances"] == rows, (d["distances"], rows)
' "$spec" || fail "JSON distances"
# This machine: the kernel's own distance of each node to itself.
out=$($topo)
grep -A1 '^node distances:$' <<<"$out" | grep -q '^node ' || fail "no distances on this machine: $out"
out=$($topo --emulate single) || fail "aml_topo --emulate single"
grep -q '^fast memory: no fast memory: none of the 1 devices is HBM' <<<"$out" || fail "single fast: $out"
if err=$($topo --emulate 'tier:name=x' 2>&1); then fail "bad spec accepted"; fi
grep -q 'at [0-9]*:' <<<"$err" || fail "no position in: $err"

if ! grep -q '^  hwloc    built' <(tools/aml_info 2>/dev/null || true) &&
	! $topo --xml "$fixtures/knl-flat.xml" >/dev/null 2>&1; then
	echo "aml_topo_test: hwloc not built: fixtures skipped"
	exit 0
fi

# A malformed file is refused with its line and why (hwloc never sees it).
if err=$($topo --xml tools/aml_topo_test.sh 2>&1); then fail "bad XML accepted"; fi
[ "$err" = "aml_topo: tools/aml_topo_test.sh:1: text outside the root element" ] ||
	fail "bad XML: $err"

# The JSON on stdin satisfies the Python expression $1.
check_json='
import json, sys
d = json.load(sys.stdin)
kinds = {dev["name"]: dev["kind"] for dev in d["devices"]}
rank = d["ranking"]
assert eval(sys.argv[1]), (sys.argv[1], kinds, rank)
'

# expect FIXTURE EXPRESSION: aml_topo's JSON for the fixture satisfies it.
expect() {
	local json
	json=$($topo --xml "$fixtures/$1.xml" --json) || fail "$1: aml_topo failed"
	python3 -c "$check_json" "$2" <<<"$json" || fail "$1: $2"
	$topo --xml "$fixtures/$1.xml" >/dev/null || fail "$1: text output"
}

expect knl-flat 'kinds == {"node0": "DRAM", "node1": "HBM"}'
expect knl-flat 'rank["bandwidth"][0] == "node1" and rank["capacity"][0] == "node0"'
expect xeon-max-snc4-flat 'sum(k == "HBM" for k in kinds.values()) == 8'
expect xeon-max-snc4-flat 'all(kinds["node%d" % n] == "HBM" for n in range(8, 16))'
expect xeon-max-snc4-flat 'set(rank["capacity"][:8]) == {"node%d" % n for n in range(8)}'
expect ddr-cxl 'kinds == {"node0": "DRAM", "node1": "CXL"}'
expect ddr-cxl 'rank["latency"][-1] == "node1"'
# The fixtures' NUMALatency matrices, as the XML gives them.
for f in knl-flat xeon-max-snc4-flat ddr-cxl; do
	$topo --xml "$fixtures/$f.xml" --json | python3 -c '
import json, re, sys
d = json.load(sys.stdin)
xml = open(sys.argv[1]).read()
m = re.search(r"<distances2 type=\"NUMANode\".*?</distances2>", xml, re.S).group(0)
nums = [[int(v) for v in c.split()] for c in re.findall(r">([0-9 ]+)</", m)]
nodes, rows = nums[0], nums[1:]
ids = [dev["numa_id"] for dev in d["devices"]]
want = [[rows[nodes.index(a)][nodes.index(b)] for b in ids] for a in ids]
assert d["distances"] == want, (d["distances"], want)
' "$fixtures/$f.xml" || fail "$f: distances"
done
expect ddr-cxl 'not d["this_system"] and all("free_bytes" in dev and dev["free_bytes"] is None for dev in d["devices"])'
out=$($topo --xml "$fixtures/xeon-max-snc4-flat.xml")
head -4 <<<"$out"
grep -q '^16 device(s) from hwloc XML .* (not this machine)$' <<<"$out" || fail "header: $out"
grep -q 'free' <<<"$out" && fail "free bytes of this machine shown for a file"
echo "aml_topo_test: ok"
