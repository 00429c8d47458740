#!/usr/bin/env bash
# Keeps the module arrows honest (docs/architecture.md): each module may include
# only the modules listed for it, and nothing below io/ may touch sockets,
# threads or clocks. Exits non-zero and names every violation.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [base]="base"
  [crypto]="base crypto"
  [wire]="base crypto wire"
  [noise]="base crypto wire noise"
  [core]="base crypto wire noise core"
  [config]="base crypto core config"
  [uapi]="base crypto config uapi"
  [relay]="base crypto wire relay"
  [io]="base io"
  [agent]="base crypto wire noise core config uapi io control agent"
  [relayd]="base crypto wire relay io relayd"
  [doctor]="base crypto wire noise core config uapi io doctor"
  [control]="base crypto wire noise core control"
  [cli]="base crypto wire noise core config uapi io agent relay relayd doctor control cli"
)
sans_io="base crypto wire noise core config uapi relay control"
forbidden_headers='<(sys/socket\.h|sys/epoll\.h|netinet/[a-z_]+\.h|linux/[a-z_]+\.h|thread|mutex|unistd\.h|poll\.h)>'
forbidden_calls='(steady_clock|system_clock|high_resolution_clock)::now|clock_gettime|gettimeofday|\btime\(nullptr\)'

bad=0
for dir in src/*/; do
  module=$(basename "$dir")
  [ -n "${allowed[$module]+x}" ] || { echo "check-layers: module $module has no rule; add one"; bad=1; continue; }
  while IFS=: read -r file line inc; do
    dep=$(sed -n 's/.*#include "\([a-z_]*\)\/.*/\1/p' <<<"$inc")
    [ -n "$dep" ] || continue
    if ! grep -qw "$dep" <<<"${allowed[$module]}"; then
      echo "$file:$line: $module may not include $dep/ (allowed: ${allowed[$module]})"
      bad=1
    fi
  done < <(grep -Hn '^#include "' "$dir"*.[ch]pp 2>/dev/null || true)
  if grep -qw "$module" <<<"$sans_io"; then
    if grep -HnE "^#include $forbidden_headers" "$dir"*.[ch]pp 2>/dev/null; then
      echo "  ^ $module/ is sans-I/O: no sockets, threads or OS headers (move it to io/)"
      bad=1
    fi
    if grep -HnE "$forbidden_calls" "$dir"*.[ch]pp 2>/dev/null; then
      echo "  ^ $module/ is sans-I/O: take the time as an argument, do not read a clock"
      bad=1
    fi
  fi
done
if [ "$bad" -ne 0 ]; then
  exit 1
fi
echo "check-layers: every module includes only what its layer allows"
