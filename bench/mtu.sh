#!/usr/bin/env bash
# Path MTU: how tern and wireguard-go cope when a link on the path is smaller than the tunnel
# assumes, in one run on one machine. Namespaces A - R - B (tests/netns/lib_mtu.sh); R's link
# to B starts at MTU 1500 and R drops ICMP "fragmentation needed" / ICMPv6 "Packet Too Big"
# (unless --icmp pass). Per implementation, one TCP stream A -> B with iperf3:
#   1. throughput on the 1500 path (--time seconds);
#   2. recovery: a stream runs, the middle MTU drops to --middle, and the time until it moves
#      again and keeps moving (1 s at >= 10 Mbit/s across the small link, counted at R) is
#      measured (0.1 s resolution; "none" after --recovery-limit s);
#   3. throughput of a new stream on the small path (--time seconds).
# Then the ratios: small path / 1500 path per implementation, tern / each wireguard-go.
# Implementations: Debian's wireguard-go, upstream wireguard-go 0.0.20250522 (TUN offloads,
# UDP GSO/GRO; ../shared/peers/ beside the repository, left out when absent) and tern.
#
#  +--------------+        +-----------------------------+        +------------------+
#  | ns A         |        | ns R                        |        | ns B             |
#  | iperf3 -c    |-- veth-| 1500 | MIDDLE, ICMP dropped |-- veth-| iperf3 -s        |
#  +--------------+        +-----------------------------+        +------------------+
#  tunnel MTU 1420, IPv4 underlay (--underlay 6 for IPv6), overlay 10.80.9.0/24.
#
# --path relay: tern on A reaches its peer only through a TURN relay (coturn in B, now the
# relay S; the peer and iperf3 -s in a fourth namespace P behind it; bench/lib_mtu_relay.sh).
# A's leg to the relay is the one whose MTU drops. coturn listens on --relay-transport (udp:
# ChannelData in UDP, the leg's path MTU searched; tcp: TURN over one TCP connection, the
# overlay MTU stays 1420). wireguard-go cannot use a relay itself: only tern runs there.
# --tcp-mtu-probing sets net.ipv4.tcp_mtu_probing in A (default: left at the kernel's, 0): the
# kernel's own TCP black-hole detection, for iperf3's stream and tern's connection to a relay.
#
# Usage: sudo bench/mtu.sh [--json] [--time SECONDS] [--middle MTU] [--underlay 4|6]
#                          [--icmp filter|pass] [--recovery-limit SECONDS]
#                          [--only debian,upstream,tern] [--path direct|relay]
#                          [--relay-transport udp|tcp] [--tcp-mtu-probing 0|1|2]
# TERN=/path/to/tern picks the tern binary (default: build/default/tern).
# With --json the table goes to stderr and one JSON document to stdout.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
secs=10
middle=1280
underlay=4
icmp=filter
limit=30
only=debian,upstream,tern
path=direct
transport=udp
probing=
json=0
usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; }
while [ $# -gt 0 ]; do
  case $1 in
    --json) json=1 ;;
    --time) secs=$2; shift ;;
    --middle) middle=$2; shift ;;
    --underlay) underlay=$2; shift ;;
    --icmp) icmp=$2; shift ;;
    --recovery-limit) limit=$2; shift ;;
    --only) only=$2; shift ;;
    --path) path=$2; shift ;;
    --relay-transport) transport=$2; shift ;;
    --tcp-mtu-probing) probing=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "mtu: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[[ $secs =~ ^[1-9][0-9]{0,2}$ && $limit =~ ^[1-9][0-9]{0,2}$ ]] ||
  { echo "mtu: --time and --recovery-limit 1-999 seconds" >&2; exit 2; }
if ! [[ $middle =~ ^[0-9]+$ ]] || [ "$middle" -lt 1280 ] || [ "$middle" -gt 1500 ]; then
  echo "mtu: --middle 1280-1500" >&2
  exit 2
fi
[[ $underlay =~ ^[46]$ && $icmp =~ ^(filter|pass)$ ]] ||
  { echo "mtu: --underlay 4|6, --icmp filter|pass" >&2; exit 2; }
[[ $path =~ ^(direct|relay)$ && $transport =~ ^(udp|tcp)$ ]] ||
  { echo "mtu: --path direct|relay, --relay-transport udp|tcp" >&2; exit 2; }
[[ $probing =~ ^[012]?$ ]] || { echo "mtu: --tcp-mtu-probing 0|1|2" >&2; exit 2; }
# The relay listens on IPv4 here: a relayed run over an IPv6 underlay is not written yet.
[ "$path" = direct ] || [ "$underlay" = 4 ] ||
  { echo "mtu: --path relay runs over the IPv4 underlay only" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
  echo "mtu: needs root (network namespaces, TUN devices): sudo $0" >&2
  exit 1
fi
tools="iperf3 jq"
[ "$path" = direct ] || tools="$tools turnserver"
for t in $tools; do
  command -v "$t" >/dev/null || { echo "mtu: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
if [ "$json" -eq 1 ]; then exec 3>&1 1>&2; else exec 3>/dev/null; fi

# shellcheck source=../tests/netns/lib.sh
. "$repo/tests/netns/lib.sh"
# shellcheck source=../tests/netns/lib_mtu.sh
. "$repo/tests/netns/lib_mtu.sh"
# shellcheck source=lib_mtu_relay.sh
. "$repo/bench/lib_mtu_relay.sh"
# shellcheck source=lib_implementations.sh
. "$repo/bench/lib_implementations.sh"
netns_init

keys="debian upstream tern"
TERN=${TERN:-$repo/build/default/tern}
declare -A label impl status
bench_find_implementations
if [ "$path" = relay ]; then
  for key in debian upstream; do
    [ "${status[$key]}" != ok ] || status[$key]="not run: wireguard-go cannot use a relay itself"
  done
  path_label="TURN/${transport^^} relay"
else
  path_label="direct IPv$underlay"
fi

if [ "$path" = direct ]; then
  printf 'tern path MTU benchmark: a %s-byte middle link, ICMP PTB %s, IPv%s underlay\n' \
    "$middle" "$([ "$icmp" = filter ] && echo dropped || echo passed)" "$underlay"
else
  printf 'tern path MTU benchmark through a TURN relay over %s: a %s-byte link on the leg to\n' \
    "${transport^^}" "$middle"
  printf '  the relay, ICMP PTB %s\n' \
    "$([ "$icmp" = filter ] && echo dropped || echo passed)"
fi
printf '  TCP: one iperf3 stream, %s s per throughput run; tunnel MTU 1420; %s CPUs; kernel %s\n' \
  "$secs" "$(nproc)" "$(uname -r)"
printf '  TCP black-hole detection in A (tcp_mtu_probing): %s; load average at start: %s\n' \
  "${probing:-kernel default}" "$(cut -d' ' -f1-3 /proc/loadavg)"
if [[ ${status[upstream]} == absent* ]]; then
  printf '  upstream wireguard-go: %s; its row says so\n' "${status[upstream]}"
fi

step "network"
if [ "$path" = direct ]; then
  mtu_topology 1500
  DST_NS=$MTU_NS_B
else
  mr_topology "$transport"
  DST_NS=$MR_NS_P
fi
[ "$icmp" = filter ] || ip netns exec "$MTU_NS_R" nft delete table inet tern_mtu
[ -z "$probing" ] || ip netns exec "$MTU_NS_A" sysctl -qw net.ipv4.tcp_mtu_probing="$probing"
ip netns exec "$DST_NS" timeout "$TERN_PROCESS_LIFETIME" iperf3 -s >"$TERN_WORK/iperf3.log" 2>&1 &
track_pid $!
wait_until 10 "iperf3 -s to listen in $DST_NS" listening "$DST_NS" 5201
# Bytes R forwards onto the small link, counted in the forward hook, which runs after the
# kernel's MTU check.
ip netns exec "$MTU_NS_R" nft -f - <<EOF
table inet tern_bench {
  counter small_link {}
  chain forward {
    type filter hook forward priority 10; policy accept;
    oifname "$MTU_R1" counter name small_link
  }
}
EOF
small_link_bytes() {
  ip netns exec "$MTU_NS_R" nft list counter inet tern_bench small_link |
    awk '{ for (i = 1; i <= NF; i++) if ($i == "bytes") print $(i + 1) }'
}

# link_recovery LIMIT: seconds (0.1 s resolution) from the MTU drop until the stream moves again
# and keeps moving: the start of the first second in which every ~0.1 s sample saw at least
# 10 Mbit/s cross the small link; "none" if none starts within LIMIT s. A first burst does not
# count: what sat queued at R when the MTU dropped is forwarded at once (R fragments what
# the GSO path lets through) even when nothing sent afterwards will ever pass.
link_recovery() {
  local limit_ns=$(($1 * 1000000000)) t0 prev_t prev_b now b run=-1
  t0=$(date +%s%N)
  prev_t=$t0
  prev_b=$(small_link_bytes)
  while :; do
    sleep 0.1
    now=$(date +%s%N)
    b=$(small_link_bytes)
    # bytes * 8 / seconds >= 10^7, in integers: bytes * 800 >= nanoseconds.
    if [ $(((b - prev_b) * 800)) -ge $((now - prev_t)) ]; then
      [ "$run" -ge 0 ] || run=$((prev_t - t0))
      if [ $((now - t0 - run)) -ge 1000000000 ]; then
        awk -v d="$run" 'BEGIN { printf "%.1f\n", d / 1e9 }'
        return
      fi
    else
      run=-1
    fi
    [ $((now - t0)) -lt "$limit_ns" ] || { echo none; return; }
    prev_t=$now
    prev_b=$b
  done
}

# tcp_rate SECONDS: one iperf3 TCP run A -> B; prints bits per second (0 when nothing moved).
tcp_rate() {
  local out
  out=$(ip netns exec "$MTU_NS_A" timeout $(($1 + 20)) iperf3 -c 10.80.9.2 -t "$1" -J) || true
  jq -r '.end.sum_received.bits_per_second // 0' 2>/dev/null <<<"$out" || echo 0
}

# bench_impl KEY N: the three measurements through implementation KEY, into files KEY.*.
bench_impl() {
  local key=$1 n=$2 ia ib r pid
  ia=$(iface_name "ma$n")
  ib=$(iface_name "mb$n")
  mtu_set_middle 1500
  mtu_flush_pmtu "$MTU_NS_A"
  mtu_flush_pmtu "$DST_NS"
  if [ "$path" = direct ]; then
    mtu_pair "${impl[$key]}" "$ia" "$ib" $((51830 + 2 * n)) 10.80.9 fd80:9 "$underlay" 1420
    ping_check "$MTU_NS_A" 10.80.9.2 3 3 20
    [ "$key" != tern ] || mtu_wait_overlay "$MTU_NS_A" "$ia" 1420 30
  else
    mr_pair "$ia" "$ib" $((51830 + 2 * n)) 10.80.9 fd80:9 "$transport" 1420
    if [ "$transport" = udp ]; then
      mtu_wait_overlay "$MTU_NS_A" "$ia" 1420 30
    else
      mr_wait_overlay "$ia" 1420 10
    fi
  fi
  r=$(tcp_rate "$secs")
  echo "$r" >"$TERN_WORK/$key.big"
  say "1500 path: $(awk -v b="$r" 'BEGIN { printf "%.1f", b / 1e6 }') Mbit/s"

  ip netns exec "$MTU_NS_A" timeout $((limit + 15)) iperf3 -c 10.80.9.2 -t $((limit + 5)) \
    >/dev/null 2>&1 &
  pid=$!
  track_pid "$pid"
  mtu_wait_flowing "$DST_NS" "$ib" $((4 * 1048576)) 20
  mtu_set_middle "$middle"
  r=$(link_recovery "$limit")
  echo "$r" >"$TERN_WORK/$key.recovery"
  say "recovery after 1500 -> $middle: ${r}$([ "$r" = none ] || echo ' s')"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$key" = tern ]; then
    say "overlay MTU now $(tern_peer_json "$MTU_NS_A" "$ia" overlay_mtu)," \
      "path MTU $(tern_peer_json "$MTU_NS_A" "$ia" path_mtu)"
  fi

  # A fresh stream on the small path: its SYN meets the path as it is now.
  r=$(tcp_rate "$secs")
  echo "$r" >"$TERN_WORK/$key.small"
  say "$middle path: $(awk -v b="$r" 'BEGIN { printf "%.1f", b / 1e6 }') Mbit/s"
  peer_down "$ia"
  peer_down "$ib"
}

n=0
for key in $keys; do
  [[ ,$only, == *,$key,* ]] || { status[$key]="skipped (--only)"; continue; }
  step "${label[$key]} ($path_label)"
  if [ "${status[$key]}" != ok ]; then
    say "${status[$key]}"
    continue
  fi
  n=$((n + 1))
  rm -f "$TERN_WORK/last_failure"
  run_isolated bench_impl "$key" "$n"
  if [ "$TERN_ISOLATED_RC" -ne 0 ]; then
    status[$key]="failed: $(head -n 1 "$TERN_WORK/last_failure" 2>/dev/null || echo "exit $TERN_ISOLATED_RC")"
    rm -f "$TERN_WORK/$key.big" "$TERN_WORK/$key.small" "$TERN_WORK/$key.recovery"
  fi
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----------------------------------------------------------------------------------

declare -A big small recovery
for key in $keys; do
  [ -s "$TERN_WORK/$key.small" ] || continue
  big[$key]=$(cat "$TERN_WORK/$key.big")
  small[$key]=$(cat "$TERN_WORK/$key.small")
  recovery[$key]=$(cat "$TERN_WORK/$key.recovery")
done
mbit() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
ratio() {
  if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'
  else
    echo "n/a"
  fi
}

# ratio_moved A B: A / B, unless B moved under 1 Mbit/s (a stalled stream is no divisor).
ratio_moved() {
  if [ -n "${2:-}" ] && awk -v b="$2" 'BEGIN { exit !(b < 1e6) }'; then
    echo "n/a (it stalled)"
  else
    ratio "$@"
  fi
}

printf '\n%-36s %-16s %-12s %-12s %-11s %s\n' "implementation" "path" "1500 Mbit/s" \
  "$middle Mbit/s" "$middle/1500" "recovery after 1500 -> $middle"
for key in $keys; do
  if [ -n "${small[$key]:-}" ]; then
    printf '%-36s %-16s %-12s %-12s %-11s %s\n' "${label[$key]}" "$path_label" \
      "$(mbit "${big[$key]}")" "$(mbit "${small[$key]}")" "$(ratio "${small[$key]}" "${big[$key]}")" \
      "$([ "${recovery[$key]}" = none ] && echo "none within $limit s" || echo "${recovery[$key]} s")"
  else
    printf '%-36s %-16s %s\n' "${label[$key]}" "$path_label" "${status[$key]}"
  fi
done
if [ "$path" = direct ]; then
  printf '\nratios tern / each wireguard-go (the same path)\n'
  for other in debian upstream; do
    printf '  tern / %-36s 1500 path %-8s %s path %s\n' "${label[$other]}" \
      "$(ratio_moved "${big[tern]:-}" "${big[$other]:-}")" "$middle" \
      "$(ratio_moved "${small[tern]:-}" "${small[$other]:-}")"
  done
else
  printf '\nno tern / wireguard-go ratios on a relayed path: compare with a --path direct run\n'
fi
printf 'load average at the end: %s\n' "$load_end"

{
  for key in $keys; do
    jq -n --arg key "$key" --arg name "${label[$key]}" --arg status "${status[$key]}" \
      --arg path "$path_label" --arg big "${big[$key]:-}" --arg small "${small[$key]:-}" \
      --arg rec "${recovery[$key]:-}" '
      def num: if . == "" or . == "none" then null else tonumber end;
      {key: $key, label: $name, status: $status, path: $path,
       tcp_full_path_bits_per_second: ($big | num), tcp_small_path_bits_per_second: ($small | num),
       recovery_seconds: ($rec | num)}'
  done
} | jq -s --arg secs "$secs" --arg middle "$middle" --arg under "$underlay" --arg icmp "$icmp" \
  --arg limit "$limit" --arg cpus "$(nproc)" --arg kernel "$(uname -r)" --arg path "$path" \
  --arg transport "$transport" --arg load "$load_end" --arg probing "$probing" '
  (map({(.key): .}) | add) as $r
  | def ratio(a; b): if a != null and b != null and b > 0 then a / b else null end;
  # A stream that moved under 1 Mbit/s stalled: no ratio against it.
  def ratio_moved(a; b): if b != null and b < 1e6 then null else ratio(a; b) end;
  def vs(o): {full: ratio_moved($r.tern.tcp_full_path_bits_per_second;
                          $r[o].tcp_full_path_bits_per_second),
              small: ratio_moved($r.tern.tcp_small_path_bits_per_second;
                           $r[o].tcp_small_path_bits_per_second)};
  {config: {seconds: ($secs | tonumber), middle_mtu: ($middle | tonumber),
            underlay: ("ipv" + $under), icmp_ptb: $icmp, recovery_limit: ($limit | tonumber),
            path: $path, relay_transport: (if $path == "relay" then $transport else null end),
            tcp_mtu_probing: (if $probing == "" then null else ($probing | tonumber) end),
            tunnel_mtu: 1420, cpus: ($cpus | tonumber), kernel: $kernel, load_average_end: $load},
   results: .,
   ratios: {small_over_full: ($r | map_values(ratio(.tcp_small_path_bits_per_second;
                                                     .tcp_full_path_bits_per_second))),
            tern_over_wireguard_go_debian: vs("debian"),
            tern_over_wireguard_go_upstream: vs("upstream")}}' >&3
