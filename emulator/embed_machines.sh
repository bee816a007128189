#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The machine files of machines/ as C, for emulator/presets.c to include:
#   emulator/embed_machines.sh machines/*.spec > machines.inc
# One MACHINE("name", "text") entry per file (NAME.spec is preset NAME):
# each line of a file becomes a string literal with its newline, with
# backslashes and quotes escaped. emulator/BUILD.bazel and tools/fuzz.sh
# both run it.
for f in "$@"; do
	printf 'MACHINE("%s",\n' "$(basename "$f" .spec)"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/        "/' \
		-e 's/$/\\n"/' "$f"
	printf ')\n'
done
