#!/usr/bin/env bash
# Fails when a C++ file under src/ or tests/ differs from what clang-format
# (the repository's .clang-format) would write. Fix with: scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
formatter=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$formatter" ]; then
  echo "check-format: clang-format is not installed (scripts/install-deps.sh installs it)" >&2
  exit 77
fi
mapfile -t files < <(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 2>/dev/null ||
  find src tests -name '*.[ch]pp')
if [ "${1:-}" = "--fix" ]; then
  "$formatter" -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! "$formatter" --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "check-format: $f is not clang-formatted"
    bad=1
  fi
done
[ "$bad" -eq 0 ] || { echo "check-format: run scripts/check-format.sh --fix"; exit 1; }
echo "check-format: ${#files[@]} files formatted"
