#!/usr/bin/env bash
# Builds the API reference from the public headers' doxygen comments
# (docs/Doxyfile) and fails on any doxygen warning, after printing them all.
#   tools/doxygen.sh                          HTML in docs/api/html/
#   AML_DOXYGEN_OUTPUT=DIR tools/doxygen.sh   HTML in DIR/html/
# (git ignores docs/api/).
# A missing doxygen is a failure: tools/setup.sh installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v doxygen >/dev/null || {
	echo "doxygen: not found: run tools/setup.sh" >&2
	exit 1
}

# The version the headers declare, for the reference's title.
version_part() {
	sed -n "s/^#define AML_VERSION_$1 \([0-9]*\)\$/\1/p" aml/include/aml/version.h
}
version="$(version_part MAJOR).$(version_part MINOR).$(version_part PATCH)"
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || {
	echo "doxygen: no version in aml/include/aml/version.h" >&2
	exit 1
}

out=${AML_DOXYGEN_OUTPUT:-docs/api}
mkdir -p "$out"
# Pages of headers that no longer exist must not survive a rebuild.
rm -rf "$out/html"
log="$out/warnings.log"
rm -f "$log"

status=0
AML_DOXYGEN_VERSION=$version AML_DOXYGEN_OUTPUT=$out doxygen docs/Doxyfile ||
	status=$?
if [ -s "$log" ]; then
	cat "$log" >&2
	echo "doxygen: $(grep -c ': \(warning\|error\):' "$log") warning(s):" \
		"fix the header comments" >&2
	exit 1
fi
if [ "$status" -ne 0 ]; then
	echo "doxygen: failed with status $status" >&2
	exit "$status"
fi
echo "doxygen: clean, $(doxygen --version): $out/html/index.html"
