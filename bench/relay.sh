#!/usr/bin/env bash
# `tern relay` beside coturn's turnserver, in one run on one machine: the same load generator
# (coturn's turnutils_uclient, channels over UDP, every packet echoed by turnutils_peer and
# relayed back) against each server in turn. For each server the offered load climbs (more
# sessions at a fixed per-session rate) until packets are lost; the highest load with zero
# loss is the server's result: relayed packets/s (both directions), throughput, and the
# server's CPU use at that load. Prints the ratios tern/coturn.
#
#  +---------------------------+       +------------------------------+       +-------------------------+
#  | ns tern-c-PID (load)      |       | ns tern-r-PID (server)       |       | ns tern-p-PID (peer)    |
#  |  turnutils_uclient -m N   |       |  tern relay | turnserver     |       |  turnutils_peer (echo)  |
#  |  c0 198.51.100.2/24 ------+-veth--+- r0 198.51.100.1/24 udp/3478 |       |  p0 203.0.113.2/24      |
#  +---------------------------+       |  r1 203.0.113.1/24 relayed --+-veth--+- udp/3480               |
#                                      +------------------------------+       +-------------------------+
#
# Usage: sudo bench/relay.sh [--json] [--sessions 25,50,100,200,300,400] [--interval MS]
#                            [--packets N] [--size BYTES] [--only tern,coturn]
# TERN=/path/to/tern picks the tern binary (default: build/default/tern; build it Release).
# With --json the table goes to stderr and one JSON document to stdout.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
sessions_list=25,50,100,200,300,400
interval=5   # ms between a session's packets: 200 packets/s per session and direction
packets=600  # per session: 3 s at 200/s
size=1000
only=tern,coturn
json=0
usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; }
while [ $# -gt 0 ]; do
  case $1 in
    --json) json=1 ;;
    --sessions) sessions_list=$2; shift ;;
    --interval) interval=$2; shift ;;
    --packets) packets=$2; shift ;;
    --size) size=$2; shift ;;
    --only) only=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "relay bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[[ $sessions_list =~ ^[0-9]+(,[0-9]+)*$ && $interval =~ ^[1-9][0-9]{0,3}$ &&
  $packets =~ ^[1-9][0-9]{0,5}$ && $size =~ ^[1-9][0-9]{0,4}$ ]] ||
  { echo "relay bench: --sessions N,N,... --interval 1-9999 --packets 1-999999 --size 1-65000" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
  echo "relay bench: needs root (network namespaces): sudo $0" >&2
  exit 1
fi
for t in turnserver turnutils_uclient turnutils_peer jq; do
  command -v "$t" >/dev/null || { echo "relay bench: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
if [ "$json" -eq 1 ]; then exec 3>&1 1>&2; else exec 3>/dev/null; fi
ulimit -n 65536 2>/dev/null || true # a socket per allocation, in the servers and in uclient

# shellcheck source=../tests/netns/lib.sh
. "$repo/tests/netns/lib.sh"
netns_init
TERN=${TERN:-$repo/build/default/tern}

ns_create C
ns_create R
ns_create P
veth "$C" c0 198.51.100.2/24 "$R" r0 198.51.100.1/24
veth "$P" p0 203.0.113.2/24 "$R" r1 203.0.113.1/24
ip netns exec "$P" turnutils_peer -L 203.0.113.2 -p 3480 >"$TERN_WORK/peer.log" 2>&1 &
track_pid "$!"

udp_listening() { [ -n "$(ip netns exec "$R" ss -Hlun "src 198.51.100.1:3478")" ]; }
cpu_ticks() { # utime + stime of a process and its threads (coturn runs several)
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}
tick_hz=$(getconf CLK_TCK)

start_server() { # tern | coturn: starts it, sets SERVER_PID
  case $1 in
    tern)
      ip netns exec "$R" "$TERN" relay --listen 198.51.100.1 --relay-address 203.0.113.1 \
        --user alice:s3cret --realm bench --no-tcp \
        --total-quota 100000 --user-quota 0 >"$TERN_WORK/tern.log" 2>&1 &
      ;;
    coturn)
      ip netns exec "$R" turnserver -n --log-file stdout --listening-ip 198.51.100.1 \
        --relay-ip 203.0.113.1 --lt-cred-mech --user alice:s3cret --realm bench \
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

r1_packets() { # packets through the server's peer-side link, both directions
  ip netns exec "$R" sh -c 'echo $(( $(cat /sys/class/net/r1/statistics/rx_packets) + $(cat /sys/class/net/r1/statistics/tx_packets) ))'
}
# run_load SESSIONS: one uclient run, sampled each second; prints
# "sent echoed lost relayed_pps cpu_percent" where relayed_pps is the busiest second's packets
# through the relay (to and from the peer) and cpu_percent the server's CPU in that second.
run_load() {
  local m=$1 log="$TERN_WORK/uclient.log" pid i p0 p1 c0 c1 t0 t1 best=0 best_cpu=0 sent recv lost
  ip netns exec "$C" timeout $((packets * interval / 1000 + 60)) turnutils_uclient -c \
    -u alice -w s3cret -e 203.0.113.2 -r 3480 -n "$packets" -l "$size" -m "$m" \
    -z "$interval" 198.51.100.1 >"$log" 2>&1 &
  pid=$!
  p0=$(r1_packets) c0=$(cpu_ticks "$SERVER_PID") t0=$(date +%s%N)
  for ((i = 0; i < packets * interval / 1000 + 60; i++)); do
    sleep 1
    p1=$(r1_packets) c1=$(cpu_ticks "$SERVER_PID") t1=$(date +%s%N)
    read -r rate cpu < <(awk -v p=$((p1 - p0)) -v c=$((c1 - c0)) -v hz="$tick_hz" \
      -v t=$((t1 - t0)) 'BEGIN { printf "%.0f %.1f\n", p / (t / 1e9), 100 * c / hz / (t / 1e9) }')
    if [ "$rate" -gt "$best" ]; then best=$rate best_cpu=$cpu; fi
    p0=$p1 c0=$c1 t0=$t1
    kill -0 "$pid" 2>/dev/null || break
  done
  wait "$pid" || true
  # No summary (uclient gave up: no allocation, out of sockets) counts as a loss.
  sent=$(grep -o 'tot_send_msgs=[0-9]*' "$log" | tail -1 | cut -d= -f2 || true)
  recv=$(grep -o 'tot_recv_msgs=[0-9]*' "$log" | tail -1 | cut -d= -f2 || true)
  lost=$(grep -o 'Total lost packets [0-9]*' "$log" | tail -1 | awk '{ print $4 }' || true)
  echo "${sent:-0} ${recv:-0} ${lost:--1} $best $best_cpu"
}

declare -A best_pps best_mbps best_cpu best_sessions status
results_json="[]"
for impl in tern coturn; do
  [[ ",$only," == *",$impl,"* ]] || continue
  if [ "$impl" = tern ] && [ ! -x "$TERN" ]; then status[$impl]="not built"; continue; fi
  printf '\n== %s\n' "$impl"
  start_server "$impl"
  status[$impl]=ok
  best_pps[$impl]=0 best_mbps[$impl]=0 best_cpu[$impl]=0 best_sessions[$impl]=0
  runs="[]"
  for m in ${sessions_list//,/ }; do
    read -r sent recv lost pps cpu < <(run_load "$m")
    mbps=$(awk -v p="$pps" -v z="$size" 'BEGIN { printf "%.1f", p * z * 8 / 1e6 }')
    printf '   %4d sessions: sent %d, echoed %d, lost %d; busiest second: %s relayed packets/s, %s Mbit/s, server CPU %s%%\n' \
      "$m" "$sent" "$recv" "$lost" "$pps" "$mbps" "$cpu"
    runs=$(jq -c --argjson m "$m" --argjson s "$sent" --argjson r "$recv" --argjson l "$lost" \
      --argjson p "$pps" --argjson b "$mbps" --argjson c "$cpu" \
      '. + [{sessions: $m, sent: $s, echoed: $r, lost: $l, relayed_pps: $p, mbit_per_s: $b, cpu_percent: $c}]' <<<"$runs")
    if [ "$sent" -gt 0 ] && [ "$lost" -eq 0 ] && [ "$recv" -eq "$sent" ]; then
      best_pps[$impl]=$pps best_mbps[$impl]=$mbps best_cpu[$impl]=$cpu best_sessions[$impl]=$m
    else
      break # the first load with loss ends the search
    fi
  done
  stop_server
  results_json=$(jq -c --arg k "$impl" --argjson runs "$runs" --argjson p "${best_pps[$impl]}" \
    --argjson b "${best_mbps[$impl]}" --argjson c "${best_cpu[$impl]}" \
    --argjson m "${best_sessions[$impl]}" \
    '. + [{key: $k, runs: $runs, zero_loss: {sessions: $m, relayed_pps: $p, mbit_per_s: $b, cpu_percent: $c}}]' \
    <<<"$results_json")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "null" }'; }
printf '\n%-8s %-10s %-18s %-12s %s\n' server sessions "relayed pkts/s" "Mbit/s" "CPU % (one core)"
for impl in tern coturn; do
  [ -n "${status[$impl]:-}" ] || continue
  if [ "${status[$impl]}" != ok ]; then printf '%-8s %s\n' "$impl" "${status[$impl]}"; continue; fi
  printf '%-8s %-10s %-18s %-12s %s\n' "$impl" "${best_sessions[$impl]}" "${best_pps[$impl]}" \
    "${best_mbps[$impl]}" "${best_cpu[$impl]}"
done
r_pps=null r_cpu=null r_load=null
if [ "${status[tern]:-}" = ok ] && [ "${status[coturn]:-}" = ok ]; then
  r_pps=$(ratio "${best_pps[tern]}" "${best_pps[coturn]}")
  r_cpu=$(ratio "${best_cpu[tern]}" "${best_cpu[coturn]}")
  r_load=$(ratio "${best_sessions[tern]}" "${best_sessions[coturn]}")
  printf '\ntern/coturn: highest zero-loss offered load %s, relayed packets/s measured there %s, CPU there %s\n' \
    "$r_load" "$r_pps" "$r_cpu"
fi
jq -n --argjson results "$results_json" --argjson rp "$r_pps" --argjson rc "$r_cpu" --argjson rl "$r_load" \
  --argjson z "$interval" --argjson n "$packets" --argjson l "$size" --arg cpus "$(nproc)" \
  '{config: {interval_ms: $z, packets_per_session: $n, size: $l, cpus: ($cpus | tonumber)},
    results: $results, ratios: {zero_loss_load_tern_over_coturn: $rl, zero_loss_pps_tern_over_coturn: $rp, cpu_tern_over_coturn: $rc}}' >&3
