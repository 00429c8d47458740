#!/usr/bin/env bash
# Path MTU through a TURN relay (issue 4 §2, §6): A reaches B only through its allocation on
# coturn, and the link from A's router towards the relay is smaller than the tunnel assumes
# with the ICMP that would say so dropped. tern on A finds the path MTU on its own leg to the
# relay, counting ChannelData's 4 bytes: its overlay MTU ends 4 below a direct path's. Ping and
# iperf3 run both ways through the relay; a 200 MiB TCP transfer A -> B arrives intact while
# the leg's MTU drops from 1500 to MIDDLE mid-transfer and recovers within 5 s; sequenced
# 1400-byte UDP datagrams with DF are never lost silently. Last, wireguard-go as the far peer
# of a second relayed interface: any WireGuard reaches a relayed tern (a stock peer keeps the
# configured MTU: it answers no probes), and that MTU-1420 tunnel loses its full-size packets on
# the same leg: the reference failure tern-tern is measured against. Then B changes port and
# A, roaming, stays relayed.
#
#  +------------------+   +-------------------------+   +----------------------+   +---------------+
#  | ns A             |   | ns R (router)           |   | ns S (relay)         |   | ns B          |
#  |  tern, Relay=on  |   |  r0 mtu 1500            |   |  coturn 192.0.2.2    |   |  tern, no     |
#  |  a0 198.51.100.2-+---+- r1 mtu MIDDLE ---------+---+- b0 mtu MIDDLE       |   |  relay, learns|
#  |                  |   |  nft: drop ICMP 3/4 and |   |  c0 203.0.113.1 -----+---+- d0 .2        |
#  +------------------+   |  ICMPv6 2               |   |  (lib_mtu.sh's "B")  |   |  A's relayed  |
#                         +-------------------------+   +----------------------+   |  address      |
#  A has no route to 203.0.113.0/24: only the relay reaches B.                      +---------------+
#  tunnels 10.81.1.0/24 fd81:1::/64 tern-tern (A .1, B .2), MTU 1420, B on 51830;
#          10.81.2.0/24 tern-wireguard-go, wireguard-go on 51832.
#
# MIDDLE_MTU (default 1280) and TRANSFER_MB (default 200) tune it; UNDERLAY=6 (mtu_relay6) runs
# it all over IPv6: coturn on 2001:db8:2::2 (Url = turn:[2001:db8:2::2]:3478), B at
# 2001:db8:3::2 behind it, A asking for an IPv6 relayed address (REQUESTED-ADDRESS-FAMILY).
# Needs TERN_TOOLS (mtu_udp_seq) besides TERN, and coturn's turnserver, iperf3, jq.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_mtu.sh
. "$(dirname "$0")/lib_mtu.sh"
# shellcheck source=lib_relay.sh
. "$(dirname "$0")/lib_relay.sh"
MIDDLE=${MIDDLE_MTU:-1280}
MB=${TRANSFER_MB:-200}
UNDERLAY=${UNDERLAY:-4}
netns_init
need_impl tern
need_tools turnserver iperf3 jq mkfifo
UDP_SEQ=${TERN_TOOLS:-}/mtu_udp_seq
[ -x "$UDP_SEQ" ] || skip "TERN_TOOLS/mtu_udp_seq is missing (build the tests/tools programs)"
if [ "$UNDERLAY" = 6 ]; then
  # coturn could relay either family: only A's request makes the allocation IPv6.
  RELAY_IP=$MTU_B_V6 PEER_IP=$RELAY_PEER_V6 RELAY_ALSO=$MTU_B_V4 OUTER=40
  URL_HOST="[$RELAY_IP]"
  PEER_AT() { printf '[%s]:%s' "$PEER_IP" "$1"; }
else
  RELAY_IP=$MTU_B_V4 PEER_IP=$RELAY_PEER_V4 RELAY_ALSO=$MTU_B_V6 OUTER=20
  URL_HOST=$RELAY_IP
  PEER_AT() { printf '%s:%s' "$PEER_IP" "$1"; }
fi
# Outer IP, UDP 8, WireGuard 32 and ChannelData 4 around each inner packet on the relay leg.
RELAY_OVERHEAD=$((OUTER + 8 + 32 + 4))
min() { echo $(($1 < $2 ? $1 : $2)); }

step "topology: A - R (ICMP too-big dropped) - S (coturn) - B, IPv$UNDERLAY; the leg at 1500"
mtu_topology 1500
S=$MTU_NS_B
relay_peer_ns "$S"
PEER=$RELAY_NS_PEER
relay_coturn "$S" "$RELAY_IP" "$RELAY_IP" --relay-ip "$RELAY_ALSO" --no-tcp
wait_until 10 "turnserver listening on udp/3478" relay_listening "$S" u
if ip netns exec "$MTU_NS_A" ping -n -q -c 1 -W 1 "$RELAY_PEER_V4" >/dev/null 2>&1 ||
  ip netns exec "$MTU_NS_A" ping -n -q -c 1 -W 1 "$RELAY_PEER_V6" >/dev/null 2>&1; then
  fail "A reaches B directly: the test would not prove the relayed path"
fi
ok "coturn on $URL_HOST:3478; B at $PEER_IP unreachable from A but through the relay"

step "tern on A (Relay = on) and on B (a plain peer that learns A's relayed address)"
ta=$(iface_name ra)
tb=$(iface_name rb)
relay_pair "$MTU_NS_A" "$ta" "$PEER" "$tb" 10.81.1 fd81:1 51830 1420 "$(PEER_AT 51830)" \
  "turn:$URL_HOST:3478?transport=udp"
# A's first handshake initiation left before its allocation existed: held until the peer's
# permission, not lost to WireGuard's 5 s retry, so the first ping is answered at once.
T0=$(date +%s%N)
ip netns exec "$MTU_NS_A" ping -n -q -c 1 -W 5 10.81.1.2 >/dev/null ||
  fail "no answer to a first ping within 5 s"
FIRST_PING=$(awk -v d=$(($(date +%s%N) - T0)) 'BEGIN { printf "%.2f", d / 1e9 }')
awk -v t="$FIRST_PING" 'BEGIN { exit !(t < 2) }' ||
  fail "the first ping took ${FIRST_PING}s: the first handshake waited for a retry"
ok "the first ping, sent as A's agent was up, answered in ${FIRST_PING}s"
status_a() { ip netns exec "$MTU_NS_A" timeout 5 "$TERN" status "$ta" --json 2>/dev/null; }
relay_wait_allocated "$MTU_NS_A" "$ta" 15
case $RELAYED in
  "[$RELAY_IP]:"* | "$RELAY_IP:"*) ok "A's relayed address: $RELAYED (IPv$UNDERLAY, as its peer)" ;;
  *) fail "A's relayed address $RELAYED is not of B's family (IPv$UNDERLAY)" ;;
esac
ping_check "$MTU_NS_A" 10.81.1.2 5 5 20
ping_check "$MTU_NS_A" fd81:1::2 5 5 20
ping_check "$PEER" 10.81.1.1 5 5 20
b_endpoint=$(ip netns exec "$PEER" timeout 5 "$TERN" status "$tb" --json |
  jq -r '.interfaces[0].peers[0].endpoint')
[ "$b_endpoint" = "$RELAYED" ] || fail "B sends to $b_endpoint, not A's relayed address $RELAYED"
[ "$(tern_peer_json "$MTU_NS_A" "$ta" via_relay)" = true ] || fail "A's peer is not via the relay"
wait_until 10 "a channel for B on the relay" relay_bound "$MTU_NS_A" "$ta"
ok "B answers A's relayed address; channel $(relay_channel "$MTU_NS_A" "$ta") bound"

step "iperf3 through the relay, both ways"
ip netns exec "$PEER" timeout 30 iperf3 -s -1 -B 10.81.1.2 >/dev/null 2>&1 &
track_pid "$!"
wait_until 10 "iperf3 to listen in B" listening "$PEER" 5201
up=$(ip netns exec "$MTU_NS_A" timeout 20 iperf3 -c 10.81.1.2 -t 3 -J | jq '.end.sum_received.bits_per_second')
ip netns exec "$PEER" timeout 30 iperf3 -s -1 -B 10.81.1.2 >/dev/null 2>&1 &
track_pid "$!"
wait_until 10 "iperf3 to listen in B" listening "$PEER" 5201
down=$(ip netns exec "$MTU_NS_A" timeout 20 iperf3 -c 10.81.1.2 -t 3 -R -J | jq '.end.sum_received.bits_per_second')
awk -v u="$up" -v d="$down" 'BEGIN { exit !(u > 1e6 && d > 1e6) }' ||
  fail "iperf3 through the relay: A -> B $up bit/s, B -> A $down bit/s"
ok "A -> B $(awk -v v="$up" 'BEGIN { printf "%.0f", v / 1e6 }') Mbit/s," \
  "B -> A $(awk -v v="$down" 'BEGIN { printf "%.0f", v / 1e6 }') Mbit/s"

# The search stops once the TUN's MTU fits (1420 + 64 on this leg over IPv4; over IPv6 a
# 1500-byte leg carries 1416 inside).
TOP=$(min 1420 $((1500 - RELAY_OVERHEAD)))
mtu_wait_overlay "$MTU_NS_A" "$ta" "$TOP" 30
PATH_BEFORE=$(tern_peer_json "$MTU_NS_A" "$ta" path_mtu)

step "TCP A -> B through the relay; the leg's MTU drops 1500 -> $MIDDLE mid-transfer"
filtered_before=$(mtu_ptb_filtered)
mtu_stream_prepare r "$MB"
b_start=$(rx_bytes "$PEER" "$tb")
mtu_stream_begin r "$MTU_NS_A" "$PEER" 10.81.1.2 100
wait_until 20 "the transfer to move 4 MiB" rx_grew "$PEER" "$tb" "$b_start" 4194304
mtu_set_middle "$MIDDLE"
say "the leg's MTU now $MIDDLE"
mtu_recovery "$PEER" "$tb" $((2 * 1048576)) 5 >"$TERN_WORK/recovery" &
rec=$!
mtu_detect "$MTU_NS_A" "$ta" "$TOP" 10 >"$TERN_WORK/detect" &
det=$!
wait "$rec" "$det"
RECOVERY=$(cat "$TERN_WORK/recovery")
say "black hole noticed after $(cat "$TERN_WORK/detect")s, transfer recovered after ${RECOVERY}s"
mtu_stream_end r
[ "$STREAM_OK" = 1 ] || fail "through the relay: $STREAM_BYTES of $((MB * 1048576)) bytes in ${STREAM_SECS}s"
MBITS=$(awk -v b="$STREAM_BYTES" -v s="$STREAM_SECS" 'BEGIN { printf "%.0f", b * 8 / s / 1e6 }')
ok "$MB MiB intact in ${STREAM_SECS}s ($MBITS Mbit/s), sha256 equal at both ends"
[ "$(mtu_ptb_filtered)" -gt "$filtered_before" ] ||
  fail "R dropped no ICMP error during the transfer: it never met the small link"
awk -v r="$RECOVERY" 'BEGIN { exit !(r + 0 == r && r <= 5) }' ||
  fail "the transfer took ${RECOVERY}s to recover from the MTU drop (limit 5 s)"
ok "recovered within 5 s"

step "the relayed path's MTU: found on the leg to the relay, ChannelData's 4 bytes counted"
# Direct the overlay would be MIDDLE - 60 / - 80 (mtu_blackhole); through the relay 4 less.
WANT=$(min $((MIDDLE - RELAY_OVERHEAD)) 1420)
mtu_wait_overlay "$MTU_NS_A" "$ta" "$WANT" 15
PATH_AFTER=$(tern_peer_json "$MTU_NS_A" "$ta" path_mtu)
[ "$PATH_AFTER" = "$MIDDLE" ] || fail "path MTU $PATH_AFTER on a $MIDDLE leg"
ok "path MTU $PATH_BEFORE -> $PATH_AFTER; overlay MTU $WANT (direct: $((MIDDLE - RELAY_OVERHEAD + 4)))"

step "sequenced 1400-byte UDP datagrams with DF, A -> B through the relay"
port=47200
for dst in 10.81.1.2 fd81:1::2; do
  mtu_flush_pmtu "$MTU_NS_A"
  mtu_udp_seq_check "$MTU_NS_A" "$PEER" "$dst" "$port" 100 1400
  if [ "$WANT" -lt 1400 ]; then
    [ "${UDP_SIGNALS:-0}" -gt 0 ] || fail "1400 bytes fit a $WANT overlay: no EMSGSIZE or PTB seen"
  fi
  port=$((port + 1))
done

step "wireguard-go as the far peer: any WireGuard reaches a relayed tern"
if command -v "${WIREGUARD_GO:-wireguard-go}" >/dev/null 2>&1; then
  ga=$(iface_name ga)
  gb=$(iface_name gb)
  read -r kga_priv kga_pub < <(keypair)
  read -r kgb_priv kgb_pub < <(keypair)
  conf_interface "$TERN_WORK/$ga.conf" "$kga_priv" 51833 "10.81.2.1/24" 1420
  conf_peer "$TERN_WORK/$ga.conf" "$kgb_pub" "10.81.2.2/32" "$(PEER_AT 51832)" 25
  printf 'Relay = on\n\n[Relay]\nUrl = turn:%s\nUsername = alice\nPassword = s3cret\n' \
    "$URL_HOST" >>"$TERN_WORK/$ga.conf"
  conf_interface "$TERN_WORK/$gb.conf" "$kgb_priv" 51832 "10.81.2.2/24" 1420
  conf_peer "$TERN_WORK/$gb.conf" "$kga_pub" "10.81.2.1/32"
  peer_up "$PEER" "$gb" "$TERN_WORK/$gb.conf" wireguard-go
  peer_up "$MTU_NS_A" "$ga" "$TERN_WORK/$ga.conf" tern
  ping_check "$MTU_NS_A" 10.81.2.2 5 5 20
  ping_check "$PEER" 10.81.2.1 5 5 20
  ok "wireguard-go answers at $(wg_in "$PEER" show "$gb" endpoints | awk '{ print $2 }')" \
    "(A's second allocation); a stock peer keeps overlay MTU $(tern_peer_json "$MTU_NS_A" "$ga" overlay_mtu)"
  # The reference failure: wireguard-go answers no probes, so this tunnel keeps MTU 1420 as any
  # WireGuard would, and a full-size packet no longer fits the leg whose ICMP is dropped: it
  # vanishes on the way. The tern-tern tunnel carried 1400-byte datagrams on the same leg.
  if ip netns exec "$MTU_NS_A" ping -n -q -M "do" -s 1392 -c 3 -W 1 10.81.2.2 >/dev/null 2>&1; then
    fail "a 1420-byte packet crossed the $MIDDLE leg in the MTU-1420 tunnel: no black hole to prove"
  fi
  ok "the same leg swallows the MTU-1420 tunnel's full-size packets (the reference failure)"
else
  say "wireguard-go is missing: step skipped"
fi

step "B moves to another port: A follows it on the relay (Relay = on is always relayed)"
wg_in "$PEER" set "$tb" listen-port 51839
ping_check "$PEER" 10.81.1.1 3 3 10
moved=$(relay_json "$MTU_NS_A" "$ta" | jq -r '.peers[0].endpoint')
[ "$moved" = "$(PEER_AT 51839)" ] || fail "A's relay still sends to $moved, not B's new port"
[ "$(tern_peer_json "$MTU_NS_A" "$ta" via_relay)" = true ] || fail "A's peer left the relay"
ping_check "$MTU_NS_A" 10.81.1.2 3 3 10
ok "A relays to $moved now (channel $(relay_channel "$MTU_NS_A" "$ta"))"

say "A: ptb_sent $(tern_peer_json "$MTU_NS_A" "$ta" ptb_sent), mss_clamped" \
  "$(tern_peer_json "$MTU_NS_A" "$ta" mss_clamped), drops $(tern_peer_json "$MTU_NS_A" "$ta" drops_total)"
say "relay: $(status_a | jq -c '.interfaces[0].relay | {state, relayed_address, peers}')"
# The first handshake initiation went out before the allocation existed: held until the
# permission, not dropped (and retried by WireGuard 5 s later).
DENIED=$(status_a | jq -r '.interfaces[0].totals.drops.relay_denied')
[ "$DENIED" = 0 ] || fail "A dropped $DENIED message(s) as relay_denied"
ok "A: relay_denied 0"
for t in "$ta" "$tb"; do peer_alive "$t" || fail "the agent of $t exited"; done

printf '\nPASS: mtu_relay IPv%s (leg MTU %s: path MTU %s, overlay %s; first ping %ss; %s MiB at %s Mbit/s; recovered in %ss)\n' \
  "$UNDERLAY" "$MIDDLE" "$PATH_AFTER" "$WANT" "$FIRST_PING" "$MB" "$MBITS" "$RECOVERY"
