#!/usr/bin/env bash
# The README's test command: installs dependencies, builds three configurations
# and runs every test.
#   default  unit tests + network-namespace scenarios (root) against real peers
#   asan     unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   fuzz     every libFuzzer target for TERN_FUZZ_SECONDS (default 30) each
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
jobs=$(nproc)
fuzz_seconds=${TERN_FUZZ_SECONDS:-30}

step() { printf '\n== %s ==\n' "$*"; }

step "build: default"
cmake --preset default >/dev/null
cmake --build --preset default -j "$jobs"

step "build: asan"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"

step "build: fuzz"
cmake --preset fuzz -DTERN_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
cmake --build --preset fuzz -j "$jobs"

step "tests: unit (asan+ubsan)"
ctest --preset asan -j "$jobs"

step "tests: fuzz (${fuzz_seconds}s per target)"
ctest --preset fuzz -j "$jobs"

step "tests: unit + netns scenarios (default build)"
ctest --preset default
