#!/usr/bin/env bash
# Prints the symbols aml's public headers declare, one a line, sorted: every
# function (static inline ones too) and every extern variable. The headers
# are the only list of the API, so the version script (libaml.map) and the
# symbol test are made from them, never from a hand-kept list.
#   packaging/public_symbols.sh CC INCLUDE_DIR
set -euo pipefail
cc=$1
include=$(cd "$2" && pwd)
# -aux-info is GCC's: with clang as CC, ask the GCC beside it.
if "$cc" --version 2>/dev/null | grep -q clang; then
	cc=$(command -v gcc) || {
		echo "public_symbols: $1 is clang, and -aux-info needs gcc: install gcc" >&2
		exit 1
	}
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/aml_symbols.XXXXXX")
trap 'rm -rf "$work"' EXIT

(cd "$include" && find aml.h aml -name '*.h' | LC_ALL=C sort) |
	sed 's/.*/#include <&>/' >"$work/all.c"

# GCC's -aux-info writes a prototype, with its file, for every function the
# translation unit declares or defines: keep those of aml's headers.
"$cc" -std=c11 -fsyntax-only -I "$include" -aux-info "$work/aux.txt" \
	"$work/all.c"
grep -F "/* $include/" "$work/aux.txt" |
	grep -o '\baml_[A-Za-z0-9_]* (' | sed 's/ ($//' >"$work/symbols"

# Variables: an extern declaration with no parenthesis before its ';'.
"$cc" -std=c11 -E -P -I "$include" "$work/all.c" | tr '\n' ' ' | tr ';' '\n' |
	grep -E '^[[:space:]]*extern[^(){}]*\baml_[A-Za-z0-9_]*[[:space:]]*$' |
	grep -oE '\baml_[A-Za-z0-9_]*[[:space:]]*$' | tr -d ' \t' >>"$work/symbols"

LC_ALL=C sort -u "$work/symbols"
