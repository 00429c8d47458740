#!/usr/bin/env bash
# Throughput of tern beside its peers, in one run on one machine: iperf3 between two network
# namespaces over one veth, first without a tunnel, then through Debian's wireguard-go, upstream
# wireguard-go (with its offloads) when present, and tern. Per implementation: one TCP stream,
# RUNS runs of SECONDS each (median), then UDP at a fixed offered rate (median loss).
#
#  +------------------------------+                      +------------------------------+
#  | ns tern-a-PID                |                      | ns tern-b-PID                |
#  |   iperf3 -c                  |                      |   iperf3 -s                  |
#  |   baPID 10.77.0.1 (MTU 1420) |==== tunnel (UDP) ====| bbPID 10.77.0.2 (MTU 1420)   |
#  |   a0 192.0.2.1/24 ----------+-------- veth --------+---------- b0 192.0.2.2/24   |
#  +------------------------------+                      +------------------------------+
#  "raw veth" runs iperf3 straight between 192.0.2.1 and 192.0.2.2 (veth MTU 1500).
#
# Usage: sudo bench/throughput.sh [--json] [--runs N] [--time SECONDS] [--udp-rate RATE]
#                                 [--udp-length BYTES] [--only raw,debian,upstream,tern]
# TERN=/path/to/tern picks the tern binary (default: build/default/tern).
# With --json the table goes to stderr and one JSON document to stdout.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=3
secs=10
udp_rate=500M
udp_len=1300
only=raw,debian,upstream,tern
json=0
usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; }
while [ $# -gt 0 ]; do
  case $1 in
    --json) json=1 ;;
    --runs) runs=$2; shift ;;
    --time) secs=$2; shift ;;
    --udp-rate) udp_rate=$2; shift ;;
    --udp-length) udp_len=$2; shift ;;
    --only) only=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "throughput: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[[ $runs =~ ^[1-9][0-9]?$ && $secs =~ ^[1-9][0-9]{0,2}$ ]] ||
  { echo "throughput: --runs 1-99 and --time 1-999 seconds" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
  echo "throughput: needs root (network namespaces, TUN devices): sudo $0" >&2
  exit 1
fi
for t in iperf3 jq; do
  command -v "$t" >/dev/null || { echo "throughput: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
# Human output on stderr when stdout carries JSON.
if [ "$json" -eq 1 ]; then exec 3>&1 1>&2; else exec 3>/dev/null; fi

# shellcheck source=../tests/netns/lib.sh
. "$repo/tests/netns/lib.sh"
# shellcheck source=lib_implementations.sh
. "$repo/bench/lib_implementations.sh"
netns_init

TERN=${TERN:-$repo/build/default/tern}
declare -A label impl status
label[raw]="raw veth (no tunnel)"
status[raw]=ok
bench_find_implementations

printf 'tern throughput benchmark: iperf3 between two namespaces over one veth\n'
printf '  TCP: one stream, %s runs x %s s, median | UDP: %s offered, %s-byte datagrams, %s runs, median\n' \
  "$runs" "$secs" "$udp_rate" "$udp_len" "$runs"
printf '  tunnel MTU 1420; %s CPUs; kernel %s\n' "$(nproc)" "$(uname -r)"
if [ "${status[upstream]}" != ok ]; then
  printf '  upstream wireguard-go: %s; that column is left out\n' "${status[upstream]}"
fi

step "network"
ns_create A
ns_create B
veth "$A" a0 192.0.2.1/24 "$B" b0 192.0.2.2/24
# One iperf3 server for the whole run, on every address of B.
ip netns exec "$B" timeout "$TERN_PROCESS_LIFETIME" iperf3 -s >"$TERN_WORK/iperf3-server.log" 2>&1 &
track_pid $!
wait_until 10 "iperf3 -s to listen in $B" listening "$B" 5201

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# iperf_run DST EXTRA...: one iperf3 client run from A; prints its JSON, fails on error.
iperf_run() {
  local dst=$1 out
  shift
  out=$(ip netns exec "$A" timeout $((secs + 30)) iperf3 -c "$dst" -t "$secs" -J "$@") || true
  if ! jq -e '.end.sum_received' >/dev/null 2>&1 <<<"$out"; then
    printf '%s' "$(jq -r '.error // "no result"' 2>/dev/null <<<"$out" || echo "iperf3 failed")"
    return 1
  fi
  printf '%s' "$out"
}

# measure KEY DST: RUNS TCP runs, then RUNS UDP runs, from A to DST. Results go to files
# (KEY.tcp, KEY.udp_rx, KEY.udp_loss: one number a run) since each implementation is measured
# in a subshell, so that one that fails cannot stop the others.
measure() {
  local key=$1 dst=$2 out i bps rx loss
  for ((i = 1; i <= runs; i++)); do
    out=$(iperf_run "$dst") || fail "TCP run $i: $out"
    bps=$(jq -r '.end.sum_received.bits_per_second' <<<"$out")
    echo "$bps" >>"$TERN_WORK/$key.tcp"
    say "TCP run $i: $(awk -v b="$bps" 'BEGIN { printf "%.3f", b / 1e9 }') Gbit/s"
  done
  for ((i = 1; i <= runs; i++)); do
    out=$(iperf_run "$dst" -u -b "$udp_rate" -l "$udp_len") || fail "UDP run $i: $out"
    rx=$(jq -r '.end.sum_received.bits_per_second' <<<"$out")
    loss=$(jq -r '.end.sum_received.lost_percent' <<<"$out")
    echo "$rx" >>"$TERN_WORK/$key.udp_rx"
    echo "$loss" >>"$TERN_WORK/$key.udp_loss"
    say "UDP run $i: $(awk -v b="$rx" 'BEGIN { printf "%.1f", b / 1e6 }') Mbit/s delivered, $(printf '%.2f' "$loss") % lost"
  done
}

# bench_tunnel KEY N: both sides run implementation KEY, then measure through the tunnel.
bench_tunnel() {
  local key=$1 n=$2 ia ib ka_priv ka_pub kb_priv kb_pub
  read -r ka_priv ka_pub < <(keypair)
  read -r kb_priv kb_pub < <(keypair)
  ia=$(iface_name "ba$n")
  ib=$(iface_name "bb$n")
  conf_interface "$TERN_WORK/$ia.conf" "$ka_priv" 51820 10.77.0.1/24 1420
  conf_peer "$TERN_WORK/$ia.conf" "$kb_pub" 10.77.0.2/32 192.0.2.2:51820
  conf_interface "$TERN_WORK/$ib.conf" "$kb_priv" 51820 10.77.0.2/24 1420
  conf_peer "$TERN_WORK/$ib.conf" "$ka_pub" 10.77.0.1/32 192.0.2.1:51820
  peer_up "$A" "$ia" "$TERN_WORK/$ia.conf" "${impl[$key]}"
  peer_up "$B" "$ib" "$TERN_WORK/$ib.conf" "${impl[$key]}"
  ping_check "$A" 10.77.0.2 3
  measure "$key" 10.77.0.2
  peer_down "$ia"
  peer_down "$ib"
}

n=0
for key in raw debian upstream tern; do
  [[ ,$only, == *,$key,* ]] || { status[$key]="skipped (--only)"; continue; }
  step "${label[$key]}"
  if [ "${status[$key]}" != ok ]; then
    say "${status[$key]}"
    continue
  fi
  n=$((n + 1))
  rm -f "$TERN_WORK/last_failure"
  if [ "$key" = raw ]; then
    run_isolated measure raw 192.0.2.2
  else
    run_isolated bench_tunnel "$key" "$n"
  fi
  if [ "$TERN_ISOLATED_RC" -ne 0 ]; then
    status[$key]="failed: $(head -n 1 "$TERN_WORK/last_failure" 2>/dev/null || echo "exit $TERN_ISOLATED_RC")"
    rm -f "$TERN_WORK/$key.tcp" "$TERN_WORK/$key.udp_rx" "$TERN_WORK/$key.udp_loss"
  fi
done

declare -A tcp_runs tcp_med udp_rx udp_loss
for key in raw debian upstream tern; do
  [ -s "$TERN_WORK/$key.udp_rx" ] || continue
  tcp_runs[$key]=$(paste -sd' ' "$TERN_WORK/$key.tcp")
  tcp_med[$key]=$(median <"$TERN_WORK/$key.tcp")
  udp_rx[$key]=$(median <"$TERN_WORK/$key.udp_rx")
  udp_loss[$key]=$(median <"$TERN_WORK/$key.udp_loss")
done

# ---- report ----------------------------------------------------------------------------------

gbit() { awk -v b="$1" 'BEGIN { printf "%.3f", b / 1e9 }'; }
mbit() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
ratio() {
  if [ -n "${2:-}" ] && [ -n "${3:-}" ]; then
    awk -v a="$2" -v b="$3" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'
  else
    echo "n/a"
  fi
}

printf '\n%-36s %-12s %-28s %-16s %s\n' "implementation" "TCP Gbit/s" "TCP runs" "UDP Mbit/s" "UDP loss %"
for key in raw debian upstream tern; do
  if [ -n "${tcp_med[$key]:-}" ] && [ -n "${udp_rx[$key]:-}" ]; then
    runs_text=$(for b in ${tcp_runs[$key]}; do gbit "$b"; printf ' '; done)
    printf '%-36s %-12s %-28s %-16s %s\n' "${label[$key]}" "$(gbit "${tcp_med[$key]}")" "$runs_text" \
      "$(mbit "${udp_rx[$key]}")" "$(printf '%.2f' "${udp_loss[$key]}")"
  else
    printf '%-36s %s\n' "${label[$key]}" "${status[$key]}"
  fi
done
printf '\nratios (TCP median; UDP delivered)\n'
for other in debian upstream raw; do
  printf '  tern / %-36s TCP %-8s UDP %s\n' "${label[$other]}" \
    "$(ratio tcp "${tcp_med[tern]:-}" "${tcp_med[$other]:-}")" \
    "$(ratio udp "${udp_rx[tern]:-}" "${udp_rx[$other]:-}")"
done

{
  for key in raw debian upstream tern; do
    jq -n --arg key "$key" --arg name "${label[$key]}" --arg status "${status[$key]}" \
      --arg tcp "${tcp_runs[$key]:-}" --arg rx "${udp_rx[$key]:-}" --arg loss "${udp_loss[$key]:-}" '
      def nums: split(" ") | map(select(. != "") | tonumber);
      {"key": $key, "label": $name, "status": $status,
       tcp_bits_per_second: ($tcp | nums),
       tcp_median_bits_per_second: (($tcp | nums | sort) as $v
         | if ($v | length) > 0 then $v[(($v | length) - 1) / 2 | floor] else null end),
       udp_median_received_bits_per_second: (if $rx == "" then null else ($rx | tonumber) end),
       udp_median_lost_percent: (if $loss == "" then null else ($loss | tonumber) end)}'
  done
} | jq -s --arg runs "$runs" --arg secs "$secs" --arg rate "$udp_rate" --arg len "$udp_len" \
  --arg cpus "$(nproc)" --arg kernel "$(uname -r)" '
  (map({(.key): .}) | add) as $r
  | def ratio(a; b): if a != null and b != null and b > 0 then a / b else null end;
  {config: {runs: ($runs | tonumber), seconds: ($secs | tonumber), udp_offered: $rate,
            udp_length: ($len | tonumber), tunnel_mtu: 1420, cpus: ($cpus | tonumber), kernel: $kernel},
   results: .,
   ratios: {tcp: {tern_over_wireguard_go_debian: ratio($r.tern.tcp_median_bits_per_second; $r.debian.tcp_median_bits_per_second),
                  tern_over_wireguard_go_upstream: ratio($r.tern.tcp_median_bits_per_second; $r.upstream.tcp_median_bits_per_second),
                  tern_over_raw: ratio($r.tern.tcp_median_bits_per_second; $r.raw.tcp_median_bits_per_second)},
            udp: {tern_over_wireguard_go_debian: ratio($r.tern.udp_median_received_bits_per_second; $r.debian.udp_median_received_bits_per_second),
                  tern_over_wireguard_go_upstream: ratio($r.tern.udp_median_received_bits_per_second; $r.upstream.udp_median_received_bits_per_second),
                  tern_over_raw: ratio($r.tern.udp_median_received_bits_per_second; $r.raw.udp_median_received_bits_per_second)}}}' >&3
