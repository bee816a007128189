#!/usr/bin/env bash
set -euo pipefail
out=$(./nodes 8,0-3)
echo "$out"
[[ "$out" =~ ^aml\ [0-9]+\.[0-9]+\.[0-9]+:\ 5\ node\(s\):\ 0-3,8$ ]]
# Bad input is reported, not crashed on.
if err=$(./nodes 0-3, 2>&1); then
	echo "expected a failure for '0-3,'" >&2
	exit 1
fi
[ "$err" = "AML_EINVAL: invalid argument" ]
echo "consumer: ok"
