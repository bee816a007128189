#!/usr/bin/env bash
# Fails if any tracked C or C++ file is not clang-format clean.
#   tools/check_format.sh          check (what CI runs)
#   tools/check_format.sh --fix    reformat in place
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || {
	echo "check_format: clang-format not found: run tools/setup.sh" >&2
	exit 1
}
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.c' '*.h' '*.cc' '*.hpp')
if [ "${1:-}" = "--fix" ]; then
	clang-format -i "${files[@]}"
	exit 0
fi
bad=()
for f in "${files[@]}"; do
	[ -f "$f" ] || continue
	clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
	echo "check_format: not clang-format clean (run tools/check_format.sh --fix):" >&2
	printf '  %s\n' "${bad[@]}" >&2
	exit 1
fi
echo "check_format: ${#files[@]} files clean"
