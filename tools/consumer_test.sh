#!/usr/bin/env bash
# The README's "Using aml from another Bazel workspace" works as written:
# 1. its three files (WORKSPACE, BUILD.bazel, app.c) are exactly those of
#    tests/consumer/, with /path/to/aml there written ../..;
# 2. that workspace builds on its own and its app runs: on the emulated
#    knl-flat it lists both tiers, on this machine at least one device, and
#    a malformed AML_EMULATE makes it fail with a message, not crash.
# Prints one "consumer_test: ok: ..." line per check (.ci/run counts them).
#   tools/consumer_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/aml_consumer.XXXXXX")
server=no
cleanup() {
	rm -rf "$work"
	# The consumer workspace's own Bazel server, pass or fail.
	if [ "$server" = yes ]; then
		(cd "$root/tests/consumer" && bazel shutdown) || true
	fi
}
root=$(pwd)
trap cleanup EXIT

# The README section's code blocks, each into the file its first line
# names, without that line.
awk -v dir="$work" '
	/^## Using aml from another Bazel workspace/ { in_section = 1; next }
	in_section && /^## / { in_section = 0 }
	!in_section { next }
	/^```/ && file == "" { want_name = 1; next }
	/^```/ { close(file); file = ""; next }
	want_name {
		want_name = 0
		name = $0
		sub(/^(# |\/\* )/, "", name)
		sub(/ \*\/$/, "", name)
		file = dir "/" name
		printf "" > file
		next
	}
	file != "" { print > file }
' README.md

for name in WORKSPACE BUILD.bazel app.c; do
	if [ ! -f "$work/$name" ]; then
		echo "consumer_test: FAIL: README.md has no $name block" >&2
		exit 1
	fi
	if ! diff -u --label "README.md ($name)" --label "tests/consumer/$name" \
		"$work/$name" <(sed 's|"\.\./\.\.|"/path/to/aml|g' "tests/consumer/$name"); then
		echo "consumer_test: FAIL: README.md and tests/consumer/$name differ" >&2
		exit 1
	fi
done
echo "consumer_test: ok: README.md's workspace is tests/consumer"

cd tests/consumer
server=yes
bazel build //:app
app=bazel-bin/app

out=$(AML_EMULATE=knl-flat "$app")
echo "$out"
if ! grep -q 'ddr4 .*DRAM' <<<"$out" || ! grep -q 'mcdram .*HBM' <<<"$out"; then
	echo "consumer_test: FAIL: the app does not list knl-flat's two tiers" >&2
	exit 1
fi
echo "consumer_test: ok: the app lists the emulated tiers"

out=$("$app")
echo "$out"
if [ "$(grep -c '^  ' <<<"$out")" -lt 1 ]; then
	echo "consumer_test: FAIL: the app lists no device of this machine" >&2
	exit 1
fi
echo "consumer_test: ok: the app lists this machine's devices"

status=0
err=$(AML_EMULATE='knl-flat;scale=0' "$app" 2>&1 >/dev/null) || status=$?
echo "$err"
if [ "$status" -ne 1 ] || ! grep -q '^aml: invalid argument$' <<<"$err"; then
	echo "consumer_test: FAIL: a bad AML_EMULATE gave exit $status" >&2
	exit 1
fi
echo "consumer_test: ok: a bad AML_EMULATE is an error, not a crash"
