#!/usr/bin/env bash
# libaml.so exports aml's API and nothing else: every function and variable
# the public headers declare (public_symbols.txt, made from the headers by
# public_symbols.sh), inline ones through their twins, and no other symbol,
# aml_ or not (the version script keeps the internal ones local).
#   libaml_symbols_test.sh FILES... (//packaging:libraries' outputs)
set -euo pipefail
lib='' api=''
for f in "$@"; do
	case ${f##*/} in
	libaml.so) lib=$f ;;
	public_symbols.txt) api=$f ;;
	esac
done
[ -n "$lib" ] && [ -n "$api" ] || {
	echo "libaml_symbols_test: FAIL: no libaml.so or public_symbols.txt in $*" >&2
	exit 1
}

exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | LC_ALL=C sort)
status=0
others=$(grep -v '^aml_' <<<"$exported" || true)
if [ -n "$others" ]; then
	echo "libaml_symbols_test: FAIL: exported, not aml's:" $others >&2
	status=1
fi
missing=$(comm -23 "$api" <(echo "$exported"))
if [ -n "$missing" ]; then
	echo "libaml_symbols_test: FAIL: declared in the headers, not exported:" $missing >&2
	status=1
fi
extra=$(comm -13 "$api" <(echo "$exported"))
if [ -n "$extra" ]; then
	echo "libaml_symbols_test: FAIL: exported, not in the headers:" $extra >&2
	status=1
fi
# The headers declare the whole API: a parse that found a handful would
# make the checks above vacuous.
n=$(wc -l <"$api")
if [ "$n" -lt 100 ]; then
	echo "libaml_symbols_test: FAIL: only $n symbols found in the headers" >&2
	status=1
fi
[ "$status" -eq 0 ] && echo "libaml_symbols_test: ok: $n symbols, all aml's API"
exit "$status"
