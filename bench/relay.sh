#!/usr/bin/env bash
# `tern relay` beside coturn's turnserver, in one run on one machine, under tern's own TURN load
# generator (tests/tools/turn_load): N allocations over UDP, each with a permission and a
# channel to an echo peer behind the relay, ChannelData at a fixed rate per session, every
# packet echoed and relayed back. For each server the offered load climbs in steps of total
# packet rate until packets are lost (a lossy step is tried once more, so one hiccup of a busy
# machine does not end the search); the highest step without loss is the server's ceiling:
# relayed packets/s (both directions), throughput, round trip, and the server's CPU in that
# step (from /proc/PID/stat). Prints the ratios tern/coturn.
#
#  +---------------------------+       +------------------------------+       +-------------------------+
#  | ns tern-c-PID (clients)   |       | ns tern-r-PID (server)       |       | ns tern-p-PID (peer)    |
#  |  turn_load: N sockets     |       |  tern relay | turnserver     |       |  turn_load's echo       |
#  |  c0 198.51.100.2/24 ------+-veth--+- r0 198.51.100.1/24 udp/3478 |       |  socket (a thread of    |
#  +---------------------------+       |  r1 203.0.113.1/24 relayed --+-veth--+- the same process)      |
#                                      +------------------------------+       |  p0 203.0.113.2:3480    |
#                                                                             +-------------------------+
#
# Usage: sudo bench/relay.sh [--json] [--sessions N] [--steps PPS,PPS,...] [--seconds S]
#                            [--size BYTES] [--burst K] [--only tern,coturn] [--secret]
#                            [--nice N] [--tern-threads N]
# --steps are offered packet rates, client to peer (the relay forwards each packet twice).
# --nice (default -10) runs the servers and turn_load at that priority, and gives the bench's
# scheduling group (with kernel.sched_autogroup_enabled the kernel shares the CPUs between
# sessions first, so a plain nice does nothing against a build in another terminal) the same
# weight, so that other work on the machine takes CPU from neither server.
# --secret uses TURN REST credentials (coturn's use-auth-secret) instead of a static user.
# --tern-threads runs tern relay with --threads N (default: its own, one event loop per CPU;
# coturn runs its default relay threads, also one per CPU).
# TERN=/path/to/tern picks the tern binary (default: build/default/tern; build it Release),
# TERN_TOOLS the directory with turn_load (default: the tests/tools directory next to TERN).
# With --json the table goes to stderr and one JSON document to stdout.
set -euo pipefail
# A session of its own is a scheduling group of its own, which ends with the bench: its weight
# changes nothing else (best effort: without autogroups there is nothing to change).
if [ -z "${RELAY_BENCH_SESSION:-}" ] && command -v setsid >/dev/null; then
  RELAY_BENCH_SESSION=1 exec setsid --wait bash "$0" "$@"
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
sessions=200
steps=20000,40000,60000,80000,100000,120000,140000,160000,180000,200000
seconds=4
size=1000
burst=4
only=tern,coturn
secret=0
nice=-10
json=0
tern_threads=
usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; }
while [ $# -gt 0 ]; do
  case $1 in
    --json) json=1 ;;
    --sessions) sessions=$2; shift ;;
    --steps) steps=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --size) size=$2; shift ;;
    --burst) burst=$2; shift ;;
    --only) only=$2; shift ;;
    --secret) secret=1 ;;
    --nice) nice=$2; shift ;;
    --tern-threads) tern_threads=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "relay bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[[ $sessions =~ ^[1-9][0-9]{0,3}$ && $steps =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ &&
  $seconds =~ ^[1-9][0-9]?$ && $size =~ ^[1-9][0-9]{1,3}$ && $burst =~ ^[1-9][0-9]?$ &&
  $nice =~ ^-?[0-9]{1,2}$ && $tern_threads =~ ^([1-9][0-9]{0,2})?$ ]] ||
  { echo "relay bench: --sessions 1-9999 --steps N,N,... --seconds 1-99 --size 24-8000 --burst 1-64 --nice -20-19 --tern-threads 1-256" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
  echo "relay bench: needs root (network namespaces): sudo $0" >&2
  exit 1
fi
for t in turnserver jq; do
  command -v "$t" >/dev/null || { echo "relay bench: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
TERN=${TERN:-$repo/build/default/tern}
LOAD=${TERN_TOOLS:-$(dirname "$TERN")/tests/tools}/turn_load
[ -x "$LOAD" ] || { echo "relay bench: no turn_load at $LOAD (build the tests/tools programs, or set TERN_TOOLS)" >&2; exit 1; }
if [ "$json" -eq 1 ]; then exec 3>&1 1>&2; else exec 3>/dev/null; fi
ulimit -n 65536 2>/dev/null || true # a socket per allocation, in the servers and in turn_load

# shellcheck disable=SC2015
[ -w /proc/self/autogroup ] && echo "$nice" >/proc/self/autogroup 2>/dev/null || true

# shellcheck source=../tests/netns/lib.sh
. "$repo/tests/netns/lib.sh"
netns_init

ns_create C
ns_create R
ns_create P
veth "$C" c0 198.51.100.2/24 "$R" r0 198.51.100.1/24
veth "$P" p0 203.0.113.2/24 "$R" r1 203.0.113.1/24

udp_listening() { [ -n "$(ip netns exec "$R" ss -Hlun "src 198.51.100.1:3478")" ]; }
if [ "$secret" -eq 1 ]; then
  tern_auth=(--secret b3nchs3cret) coturn_auth=(--use-auth-secret --static-auth-secret b3nchs3cret)
  load_auth=(--secret b3nchs3cret)
else
  tern_auth=(--user alice:s3cret) coturn_auth=(--lt-cred-mech --user alice:s3cret)
  load_auth=(--user alice --password s3cret)
fi
tern_extra=()
[ -z "$tern_threads" ] || tern_extra=(--threads "$tern_threads")

start_server() { # tern | coturn: starts it, sets SERVER_PID
  case $1 in
    tern)
      ip netns exec "$R" nice -n "$nice" "$TERN" relay --listen 198.51.100.1 --relay-address 203.0.113.1 \
        "${tern_auth[@]}" "${tern_extra[@]}" --realm bench --no-tcp \
        --total-quota 100000 --user-quota 0 >"$TERN_WORK/tern.log" 2>&1 &
      ;;
    coturn)
      ip netns exec "$R" nice -n "$nice" turnserver -n --log-file stdout --simple-log --listening-ip 198.51.100.1 \
        --relay-ip 203.0.113.1 "${coturn_auth[@]}" --realm bench \
        --no-tcp --no-tls --no-dtls --no-cli --no-tcp-relay >"$TERN_WORK/coturn.log" 2>&1 &
      ;;
  esac
  SERVER_PID=$!
  track_pid "$SERVER_PID"
  wait_until 10 "$1 listening on udp/3478" udp_listening
}
stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  wait_until 10 "udp/3478 to be free" sh -c "! ip netns exec $R ss -Hlun 'src 198.51.100.1:3478' | grep -q ."
}

# udp_drops NS: the namespace's UDP receive-buffer and send-buffer drops so far ("R S").
udp_drops() {
  ip netns exec "$1" awk '$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) k[i] = $i; h = 1; next }
    $1 == "Udp:" { for (i = 2; i <= NF; i++) v[k[i]] = $i; print v["RcvbufErrors"], v["SndbufErrors"] }' /proc/net/snmp
}
# run_step PPS RUN: one turn_load run at PPS packets/s offered in total; prints its JSON, with
# the UDP buffer drops it caused in each namespace (where a loss happened).
run_step() {
  local pps=$1 rate r cr cs rr rs pr ps cr1 cs1 rr1 rs1 pr1 ps1
  rate=$(((pps + sessions - 1) / sessions))
  read -r cr cs < <(udp_drops "$C")
  read -r rr rs < <(udp_drops "$R")
  read -r pr ps < <(udp_drops "$P")
  r=$(ip netns exec "$C" nice -n "$nice" timeout $((seconds + 60)) "$LOAD" --server 198.51.100.1:3478 \
    "${load_auth[@]}" --peer 203.0.113.2:3480 --peer-netns "$P" --sessions "$sessions" \
    --rate "$rate" --size "$size" --burst "$burst" --seconds "$seconds" --setup-rate 500 \
    --setup-seconds 20 --drain-ms 500 --cpu-pid "$SERVER_PID" \
    --port-base $((10000 + ($2 * sessions) % 20000)) 2>"$TERN_WORK/load.err") || true
  [ -n "$r" ] || r='{"ready": 0, "first_failure": "turn_load failed"}'
  read -r cr1 cs1 < <(udp_drops "$C")
  read -r rr1 rs1 < <(udp_drops "$R")
  read -r pr1 ps1 < <(udp_drops "$P")
  jq -c --argjson a $((cr1 - cr)) --argjson b $((cs1 - cs)) --argjson c $((rr1 - rr)) \
    --argjson d $((rs1 - rs)) --argjson e $((pr1 - pr)) --argjson f $((ps1 - ps)) \
    '. + {udp_buffer_drops: {clients_rcvbuf: $a, clients_sndbuf: $b, server_rcvbuf: $c,
          server_sndbuf: $d, peer_rcvbuf: $e, peer_sndbuf: $f}}' <<<"$r"
}

# A step without loss: every session set up, every packet there and back, and the generator
# sent what it offered (else the step measured the generator, not the server).
clean() {
  jq -e --argjson n "$sessions" '.ready == $n and .sent > 0 and .loss_up == 0 and .loss_down == 0
    and .corrupt == 0 and .client_send_failures == 0 and .peer_send_failures == 0
    and .sent_pps >= 0.97 * .offered_pps' <<<"$1" >/dev/null
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results="[]"
declare -A status
for impl in tern coturn; do
  [[ ",$only," == *",$impl,"* ]] || continue
  if [ "$impl" = tern ] && [ ! -x "$TERN" ]; then status[$impl]="not built"; continue; fi
  printf '\n== %s\n' "$impl"
  start_server "$impl"
  status[$impl]=ok
  runs="[]" best="null" retried=0 run_no=0
  for pps in ${steps//,/ }; do
    while :; do
      run_no=$((run_no + 1))
      r=$(run_step "$pps" "$run_no")
      printf '   offered %6d pkt/s: ready %s/%d, sent %s pkt/s, lost up %s down %s; relayed %s pkt/s, %s Mbit/s; RTT p50 %s us p99 %s us; server CPU %s%%, turn_load CPU %s%%\n' \
        "$pps" "$(jq -r .ready <<<"$r")" "$sessions" "$(jq -r '.sent_pps // 0' <<<"$r")" \
        "$(jq -r '.loss_up // "-"' <<<"$r")" "$(jq -r '.loss_down // "-"' <<<"$r")" \
        "$(jq -r '.relayed_pps // 0' <<<"$r")" "$(jq -r '.mbit_per_s // 0' <<<"$r")" \
        "$(jq -r '.rtt_us.p50 // "-"' <<<"$r")" "$(jq -r '.rtt_us.p99 // "-"' <<<"$r")" \
        "$(jq -r '.server_cpu_percent // "-"' <<<"$r")" "$(jq -r '.load_cpu_percent // "-"' <<<"$r")"
      [ "$(jq -r .ready <<<"$r")" = "$sessions" ] || say "setup: $(jq -r .first_failure <<<"$r")"
      jq -e '.sent_pps < 0.97 * .offered_pps' <<<"$r" >/dev/null &&
        say "turn_load sent less than it offered: the generator, not the server, is the limit here"
      jq -e '[.udp_buffer_drops[]] | add > 0' <<<"$r" >/dev/null &&
        say "UDP buffer drops: $(jq -c .udp_buffer_drops <<<"$r")"
      runs=$(jq -c --argjson p "$pps" --argjson r "$r" '. + [{offered_pps: $p} + $r]' <<<"$runs")
      if clean "$r" || [ "$retried" -eq 1 ]; then break; fi
      retried=1
      say "loss at $pps pkt/s: once more"
    done
    clean "$r" || break
    best=$(jq -c --argjson p "$pps" '{offered_pps: $p} + .' <<<"$r")
    retried=0
  done
  stop_server
  results=$(jq -c --arg k "$impl" --argjson runs "$runs" --argjson best "$best" \
    '. + [{key: $k, runs: $runs, zero_loss: $best}]' <<<"$results")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

row() { jq -r --arg k "$1" '.[] | select(.key == $k) | .zero_loss // {} |
  [(.offered_pps // "none"), (.relayed_pps // "-"), (.mbit_per_s // "-"), (.rtt_us.p99 // "-"),
   (.server_cpu_percent // "-")] | @tsv' <<<"$results"; }
printf '\nzero-loss ceilings (%d sessions, %d-byte payloads, %d s a step; load average %s before, %s after)\n' \
  "$sessions" "$size" "$seconds" "$load_before" "$load_after"
printf '%-8s %-14s %-16s %-10s %-10s %s\n' server "offered pkt/s" "relayed pkt/s" "Mbit/s" "RTT p99" "server CPU % (of one core, all threads)"
for impl in tern coturn; do
  [ -n "${status[$impl]:-}" ] || continue
  if [ "${status[$impl]}" != ok ]; then printf '%-8s %s\n' "$impl" "${status[$impl]}"; continue; fi
  IFS=$'\t' read -r o p m r c < <(row "$impl")
  printf '%-8s %-14s %-16s %-10s %-10s %s\n' "$impl" "$o" "$p" "$m" "$r us" "$c"
done
# Ratios: ceilings, and CPU per relayed packet at the highest step both carried without loss.
ratios=$(jq -c '
  def z(k): [.[] | select(.key == k) | .zero_loss][0];
  def clean(k): [.[] | select(.key == k) | .runs[]
    | select(.loss_up == 0 and .loss_down == 0 and .ready == .sessions)];
  z("tern") as $t | z("coturn") as $c | clean("tern") as $ct | clean("coturn") as $cc |
  ([$ct[].offered_pps | select(. as $x | any($cc[]; .offered_pps == $x))] | max) as $p |
  {zero_loss_pps_tern_over_coturn:
     (if $t and $c then ($t.relayed_pps / $c.relayed_pps * 100 | round / 100) else null end),
   common_step_pps: $p,
   cpu_at_common_step_tern_over_coturn:
     (if $p then ([$ct[] | select(.offered_pps == $p)][-1].server_cpu_percent /
                  [$cc[] | select(.offered_pps == $p)][-1].server_cpu_percent * 100 | round / 100)
      else null end)}' <<<"$results" 2>/dev/null || echo '{}')
if [ "${status[tern]:-}" = ok ] && [ "${status[coturn]:-}" = ok ]; then
  printf '\ntern/coturn: zero-loss relayed packets/s %s; CPU at %s pkt/s (the highest step both carried) %s\n' \
    "$(jq -r .zero_loss_pps_tern_over_coturn <<<"$ratios")" "$(jq -r .common_step_pps <<<"$ratios")" \
    "$(jq -r .cpu_at_common_step_tern_over_coturn <<<"$ratios")"
fi
jq -n --argjson results "$results" --argjson ratios "$ratios" --argjson n "$sessions" \
  --argjson s "$seconds" --argjson l "$size" --argjson b "$burst" --arg cpus "$(nproc)" \
  --arg lb "$load_before" --arg la "$load_after" \
  --arg tt "$tern_threads" \
  '{config: {sessions: $n, seconds_per_step: $s, size: $l, burst: $b, cpus: ($cpus | tonumber),
             tern_threads: (if $tt == "" then "default" else ($tt | tonumber) end),
             load_average_before: $lb, load_average_after: $la},
    results: $results, ratios: $ratios}' >&3
