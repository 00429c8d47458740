#!/usr/bin/env bash
# Path MTU through a TURN relay (issue 4 §2, §6): A reaches B only through its allocation on
# coturn, and the link from A's router towards the relay is smaller than the tunnel assumes
# with the ICMP that would say so dropped. tern on A finds the path MTU on its own leg to the
# relay, counting ChannelData's 4 bytes: its overlay MTU ends 4 below a direct path's. Ping and
# iperf3 run both ways through the relay; a 200 MiB TCP transfer A -> B arrives intact while
# the leg's MTU drops from 1500 to MIDDLE mid-transfer and recovers within 5 s; sequenced
# 1400-byte UDP datagrams with DF are never lost silently. Last, wireguard-go as the far peer
# of a second relayed interface: any WireGuard reaches a relayed tern (a stock peer keeps the
# configured MTU: it answers no probes).
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
# MIDDLE_MTU (default 1280) and TRANSFER_MB (default 200) tune it. Needs TERN_TOOLS
# (mtu_udp_seq) besides TERN, and coturn's turnserver, iperf3, jq.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_mtu.sh
. "$(dirname "$0")/lib_mtu.sh"
MIDDLE=${MIDDLE_MTU:-1280}
MB=${TRANSFER_MB:-200}
netns_init
need_impl tern
need_tools turnserver iperf3 jq mkfifo
UDP_SEQ=${TERN_TOOLS:-}/mtu_udp_seq
[ -x "$UDP_SEQ" ] || skip "TERN_TOOLS/mtu_udp_seq is missing (build the tests/tools programs)"
RELAY_IP=$MTU_B_V4
PEER_IP=203.0.113.2

step "topology: A - R (ICMP too-big dropped) - S (coturn) - B; the leg to the relay at 1500"
mtu_topology 1500
S=$MTU_NS_B
ns_create P
PEER=$P
veth "$S" "c0$$" 203.0.113.1/24 "$PEER" "d0$$" "$PEER_IP/24"
ip -n "$PEER" route add default via 203.0.113.1
router_enable "$S"
ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" turnserver -n --log-file stdout \
  --listening-ip "$RELAY_IP" --relay-ip "$RELAY_IP" --listening-port 3478 \
  --min-port 49152 --max-port 49352 --no-dtls --no-tls --no-tcp --no-cli --fingerprint \
  --realm tern.test --lt-cred-mech --user alice:s3cret >"$TERN_WORK/coturn.log" 2>&1 &
track_pid "$!"
udp_up() { [ -n "$(ip netns exec "$S" ss -Hlun "sport = :3478")" ]; }
wait_until 10 "turnserver listening on udp/3478" udp_up
if ip netns exec "$MTU_NS_A" ping -n -q -c 1 -W 1 "$PEER_IP" >/dev/null 2>&1; then
  fail "A reaches B directly: the test would not prove the relayed path"
fi
ok "coturn on $RELAY_IP:3478; B at $PEER_IP unreachable from A but through the relay"

step "tern on A (Relay = on) and on B (a plain peer that learns A's relayed address)"
ta=$(iface_name ra)
tb=$(iface_name rb)
read -r ka_priv ka_pub < <(keypair)
read -r kb_priv kb_pub < <(keypair)
conf_interface "$TERN_WORK/$ta.conf" "$ka_priv" 51831 "10.81.1.1/24, fd81:1::1/64" 1420
conf_peer "$TERN_WORK/$ta.conf" "$kb_pub" "10.81.1.2/32, fd81:1::2/128" "$PEER_IP:51830" 25
printf 'Relay = on\n\n[Relay]\nUrl = turn:%s:3478?transport=udp\nUsername = alice\nPassword = s3cret\n' \
  "$RELAY_IP" >>"$TERN_WORK/$ta.conf"
conf_interface "$TERN_WORK/$tb.conf" "$kb_priv" 51830 "10.81.1.2/24, fd81:1::2/64" 1420
conf_peer "$TERN_WORK/$tb.conf" "$ka_pub" "10.81.1.1/32, fd81:1::1/128"
peer_up "$PEER" "$tb" "$TERN_WORK/$tb.conf" tern
peer_up "$MTU_NS_A" "$ta" "$TERN_WORK/$ta.conf" tern
status_a() { ip netns exec "$MTU_NS_A" timeout 5 "$TERN" status "$ta" --json 2>/dev/null; }
relayed() { status_a | jq -r '.interfaces[0].relay.relayed_address // "null"'; }
allocated() { [ "$(relayed)" != null ]; }
wait_until 15 "A's allocation (relay: $(status_a | jq -c '.interfaces[0].relay'))" allocated
RELAYED=$(relayed)
ok "A's relayed address: $RELAYED"
ping_check "$MTU_NS_A" 10.81.1.2 5 5 20
ping_check "$MTU_NS_A" fd81:1::2 5 5 20
ping_check "$PEER" 10.81.1.1 5 5 20
b_endpoint=$(ip netns exec "$PEER" timeout 5 "$TERN" status "$tb" --json |
  jq -r '.interfaces[0].peers[0].endpoint')
[ "$b_endpoint" = "$RELAYED" ] || fail "B sends to $b_endpoint, not A's relayed address $RELAYED"
[ "$(tern_peer_json "$MTU_NS_A" "$ta" via_relay)" = true ] || fail "A's peer is not via the relay"
channel() { [ "$(status_a | jq -r '.interfaces[0].relay.peers[0].channel')" -gt 0 ]; }
wait_until 10 "a channel for B on the relay" channel
ok "B answers A's relayed address; channel $(status_a | jq -r '.interfaces[0].relay.peers[0].channel') bound"

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

# The search stops once the TUN's MTU fits (1420 + 64 on this leg).
mtu_wait_overlay "$MTU_NS_A" "$ta" 1420 30
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
mtu_detect "$MTU_NS_A" "$ta" 1420 10 >"$TERN_WORK/detect" &
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
# Direct over IPv4 the overlay would be MIDDLE - 60 (mtu_blackhole); through the relay 4 less.
WANT=$((MIDDLE - 64 < 1420 ? MIDDLE - 64 : 1420))
mtu_wait_overlay "$MTU_NS_A" "$ta" "$WANT" 15
PATH_AFTER=$(tern_peer_json "$MTU_NS_A" "$ta" path_mtu)
[ "$PATH_AFTER" = "$MIDDLE" ] || fail "path MTU $PATH_AFTER on a $MIDDLE leg"
ok "path MTU $PATH_BEFORE -> $PATH_AFTER; overlay MTU $WANT (direct: $((MIDDLE - 60)))"

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
  conf_peer "$TERN_WORK/$ga.conf" "$kgb_pub" "10.81.2.2/32" "$PEER_IP:51832" 25
  printf 'Relay = on\n\n[Relay]\nUrl = turn:%s\nUsername = alice\nPassword = s3cret\n' \
    "$RELAY_IP" >>"$TERN_WORK/$ga.conf"
  conf_interface "$TERN_WORK/$gb.conf" "$kgb_priv" 51832 "10.81.2.2/24" 1420
  conf_peer "$TERN_WORK/$gb.conf" "$kga_pub" "10.81.2.1/32"
  peer_up "$PEER" "$gb" "$TERN_WORK/$gb.conf" wireguard-go
  peer_up "$MTU_NS_A" "$ga" "$TERN_WORK/$ga.conf" tern
  ping_check "$MTU_NS_A" 10.81.2.2 5 5 20
  ping_check "$PEER" 10.81.2.1 5 5 20
  ok "wireguard-go answers at $(wg_in "$PEER" show "$gb" endpoints | awk '{ print $2 }')" \
    "(A's second allocation); a stock peer keeps overlay MTU $(tern_peer_json "$MTU_NS_A" "$ga" overlay_mtu)"
else
  say "wireguard-go is missing: step skipped"
fi

say "A: ptb_sent $(tern_peer_json "$MTU_NS_A" "$ta" ptb_sent), mss_clamped" \
  "$(tern_peer_json "$MTU_NS_A" "$ta" mss_clamped), drops $(tern_peer_json "$MTU_NS_A" "$ta" drops_total)"
say "relay: $(status_a | jq -c '.interfaces[0].relay | {state, relayed_address, peers}')"
for t in "$ta" "$tb"; do peer_alive "$t" || fail "the agent of $t exited"; done

printf '\nPASS: mtu_relay (leg MTU %s: path MTU %s, overlay %s; %s MiB at %s Mbit/s; recovered in %ss)\n' \
  "$MIDDLE" "$PATH_AFTER" "$WANT" "$MB" "$MBITS" "$RECOVERY"
