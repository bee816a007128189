#!/usr/bin/env bash
# Kept for the commands that name it: fuzzes the emulator's spec parser, as
# tools/fuzz.sh spec does (FUZZ_SECONDS and FUZZ_KEEP as there).
exec "$(dirname "$0")/fuzz.sh" spec
