#!/usr/bin/env bash
# `tern control serve` under simulated agents, on SQLite and then on PostgreSQL: tern's own load
# generator (tests/tools/control_load) registers --peers machines with one reusable setup key,
# holds --streams agents' map streams open, then makes --changes peer changes (an agent reports
# a new endpoint on its stream; a machine registers; the admin API removes it) and times each
# from the change to the last open stream's receipt of the delta carrying it. Prints
# registration throughput, that delay's p50/p99, the server's peak memory (VmHWM) and CPU time,
# and the ratios against the targets (p99 under 2 s, memory under 500 MB).
#
#  +-------------------------------------------------------------------------------+
#  | host loopback only (no network namespace, nothing leaves 127.0.0.1)           |
#  |   tern control serve --listen 127.0.0.1:PORT --dev-plain-http --data TMP/... |
#  |        [--database postgresql:///tern?host=TMP/pg  (unix socket, no TCP)]      |
#  |     <- control_load: N registrations, M streams in one epoll loop            |
#  +-------------------------------------------------------------------------------+
#
# Usage: bench/control.sh [--json] [--peers N] [--streams M] [--changes K] [--only sqlite,postgres]
#                         [--in-flight F] [--nice N]
# Plain HTTP on loopback (--dev-plain-http): the bench measures the server's loop, store and
# maps, not TLS. PostgreSQL is a private server (initdb and postgres from /usr/lib/postgresql/15/bin
# in a temporary directory, unix socket only, fsync off, as the postgres user when run as root).
# --nice (default -5) runs the server and the generator at that priority (needs root for < 0).
# TERN=/path/to/tern (default: build/rel/tern; build it Release), TERN_TOOLS the directory with
# control_load (default: the tests/tools directory next to TERN). With --json the table goes to
# stderr and one JSON document to stdout. Everything started is stopped by PID at exit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
peers=10000
streams=2000
changes=30
only=sqlite,postgres
in_flight=32
nice=-5
json=0
usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; }
while [ $# -gt 0 ]; do
  case $1 in
    --json) json=1 ;;
    --peers) peers=$2; shift ;;
    --streams) streams=$2; shift ;;
    --changes) changes=$2; shift ;;
    --only) only=$2; shift ;;
    --in-flight) in_flight=$2; shift ;;
    --nice) nice=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "control bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[[ $peers =~ ^[1-9][0-9]{0,5}$ && $streams =~ ^[0-9]{1,5}$ && $changes =~ ^[0-9]{1,4}$ &&
  $in_flight =~ ^[1-9][0-9]{0,2}$ && $nice =~ ^-?[0-9]{1,2}$ && $only =~ ^(sqlite|postgres)(,(sqlite|postgres))?$ ]] ||
  { echo "control bench: --peers 1-999999 --streams 0-99999 --changes 0-9999 --in-flight 1-999 --nice -20-19 --only sqlite,postgres" >&2; exit 2; }
[ "$streams" -le "$peers" ] || { echo "control bench: --streams is at most --peers" >&2; exit 2; }
for t in curl jq; do
  command -v "$t" >/dev/null || { echo "control bench: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
TERN=${TERN:-$repo/build/rel/tern}
LOAD=${TERN_TOOLS:-$(dirname "$TERN")/tests/tools}/control_load
[ -x "$TERN" ] || { echo "control bench: no tern at $TERN (build it, or set TERN)" >&2; exit 1; }
[ -x "$LOAD" ] || { echo "control bench: no control_load at $LOAD (build the tests/tools programs, or set TERN_TOOLS)" >&2; exit 1; }
if [ "$json" -eq 1 ]; then exec 3>&1 1>&2; else exec 3>/dev/null; fi
ulimit -n $((streams + 4096)) 2>/dev/null || ulimit -n "$(ulimit -Hn)" # a socket per stream, both sides

pg_bin=/usr/lib/postgresql/15/bin
work=$(mktemp -d /tmp/tern-control-bench-XXXXXX)
pids=()
pg_user=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [ -d "$work/pg/data" ]; then
    "${pg_user[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
wait_for() { # wait_for SECONDS WHAT CMD...
  local t=$1 what=$2 i
  shift 2
  for ((i = 0; i < t * 10; i++)); do "$@" 2>/dev/null && return 0; sleep 0.1; done
  echo "control bench: timed out waiting for $what" >&2
  return 1
}

# The private PostgreSQL server (once, shared by nothing else).
start_postgres() {
  # Sets pg_url; says why not on stdout.
  [ -x "$pg_bin/postgres" ] || { echo "no PostgreSQL 15 in $pg_bin (postgresql, scripts/install-deps.sh)"; return 1; }
  if [ "$(id -u)" -eq 0 ]; then
    getent passwd postgres >/dev/null || { echo "running as root and no postgres user"; return 1; }
    pg_user=(setpriv --reuid=postgres --regid=postgres --clear-groups)
    chmod 711 "$work"
  fi
  mkdir -m 700 "$work/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$work/pg"
  (cd / && "${pg_user[@]}" "$pg_bin/initdb" -D "$work/pg/data" -U tern --auth=trust --no-sync -E UTF8) \
    >"$work/initdb.log" 2>&1 || { echo "initdb failed: $(tail -n 3 "$work/initdb.log")"; return 1; }
  pg_port=$((20000 + RANDOM % 20000))
  (cd / && exec "${pg_user[@]}" "$pg_bin/postgres" -D "$work/pg/data" -k "$work/pg" -p "$pg_port" \
    -c listen_addresses= -c fsync=off -c max_connections=50) >"$work/postgres.log" 2>&1 &
  pids+=($!)
  wait_for 30 "PostgreSQL" "${pg_user[@]}" "$pg_bin/pg_isready" -q -h "$work/pg" -p "$pg_port" ||
    { echo "postgres did not start: $(tail -n 3 "$work/postgres.log")"; return 1; }
  (cd / && "${pg_user[@]}" "$pg_bin/createdb" -h "$work/pg" -p "$pg_port" -U tern tern)
  pg_url="postgresql:///tern?host=$work/pg&port=$pg_port&user=tern"
}

# bench_one NAME [--database URL]: prints the generator's JSON with the server's figures added.
bench_one() {
  local name=$1 port data out admin secret spid status hwm cpu ticks
  shift
  port=$((10000 + RANDOM % 20000)) # below the ephemeral range the generator's sockets use
  data=$work/data-$name
  out=$work/serve-$name.out
  # nice execs the server: $! is the server's PID (its /proc/PID/status below).
  nice -n "$nice" "$TERN" control serve --listen "127.0.0.1:$port" --data "$data" --dev-plain-http \
    "$@" >"$out" 2>"$work/serve-$name.err" &
  spid=$!
  pids+=("$spid")
  wait_for 30 "tern control serve ($name)" grep -q 'listening on' "$out" ||
    { jq -cn --arg e "server did not start: $(tail -n 2 "$work/serve-$name.err")" '{error: $e}'; return; }
  admin=$(grep -o 'tat_[A-Za-z0-9_-]*' "$out" | head -n1)
  secret=$(curl -sS --max-time 20 -X POST -H "Authorization: Bearer $admin" \
    -H 'Content-Type: application/json' --data '{"name":"bench","reusable":true}' \
    "http://127.0.0.1:$port/api/v1/keys" | jq -r .secret)
  [[ $secret == tsk_* ]] || { echo '{"error": "no setup key"}'; return; }
  echo "== $name: $peers peers, $streams streams, $changes changes (server pid $spid)" >&2
  status=0
  nice -n "$nice" timeout 900 "$LOAD" --url "http://127.0.0.1:$port" --setup-key "$secret" \
    --admin-token "$admin" --peers "$peers" --streams "$streams" --changes "$changes" \
    --in-flight "$in_flight" --seconds 840 >"$work/load-$name.json" 2>"$work/load-$name.err" || status=$?
  sed 's/^/   /' "$work/load-$name.err" >&2
  kill -0 "$spid" 2>/dev/null || { echo '{"error": "the server died under load"}'; return; }
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$spid/status")
  ticks=$(getconf CLK_TCK)
  cpu=$(awk -v t="$ticks" '{printf "%.1f", ($14 + $15) / t}' "/proc/$spid/stat")
  kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  jq -c --argjson hwm "${hwm:-0}" --argjson cpu "$cpu" --argjson st "$status" \
    '. + {server_peak_rss_mb: ($hwm / 1024), server_cpu_seconds: $cpu, load_exit: $st}' \
    "$work/load-$name.json" 2>/dev/null || echo "{\"error\": \"control_load failed (exit $status)\"}"
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "control bench: $(nproc) CPUs, load average $load, nice $nice; peers $peers, streams $streams, changes $changes, in flight $in_flight" >&2
results=()
for backend in ${only//,/ }; do
  if [ "$backend" = sqlite ]; then
    results+=("$(jq -c '{backend: "sqlite"} + .' <<<"$(bench_one sqlite)")")
  else
    if start_postgres >"$work/pg-why" 2>&1; then
      results+=("$(jq -c '{backend: "postgres"} + .' <<<"$(bench_one postgres --database "$pg_url")")")
    else
      why=$(tail -n 3 "$work/pg-why")
      echo "control bench: PostgreSQL skipped: $why" >&2
      results+=("{\"backend\": \"postgres\", \"error\": $(jq -Rn --arg w "$why" '$w')}")
    fi
  fi
done

doc=$(printf '%s\n' "${results[@]}" | jq -s --arg load "$load" --argjson peers "$peers" \
  --argjson streams "$streams" --argjson changes "$changes" --argjson nice "$nice" \
  '{load_average: $load, nice: $nice, peers: $peers, streams: $streams, changes: $changes,
    targets: {delay_p99_ms: 2000, server_peak_rss_mb: 500}, results: .}')
{
  printf '\n%-9s %9s %10s %8s %9s %9s %9s %9s %8s %9s %9s\n' backend registered "reg/s" streams \
    "p50 ms" "p99 ms" "p99/2s" "RSS MB" "RSS/500" "CPU s" missed
  jq -r '.results[] | if .error then "\(.backend)  error: \(.error)" else
    [.backend, "\(.registered)/\(.peers_requested)", (.register_per_second | floor),
     "\(.streams_open)/\(.streams_requested)", (.delay_p50_ms * 10 | round / 10),
     (.delay_p99_ms * 10 | round / 10), (.delay_p99_ms / 2000 * 100 | round / 100),
     (.server_peak_rss_mb | round), (.server_peak_rss_mb / 500 * 100 | round / 100),
     .server_cpu_seconds, .stream_receipts_missed] | @tsv end' <<<"$doc" |
    awk -F'\t' 'NF > 2 {printf "%-9s %9s %10s %8s %9s %9s %9s %9s %8s %9s %9s\n", $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11; next} {print}'
  echo "(ratios: measured / target; under 1 meets it)"
} >&2
echo "$doc" >&3
