#!/usr/bin/env bash
# The agent's TURN relay over TCP (issue 4 §2): A reaches B only through its allocation on
# coturn, made on a TCP connection (Url = turn:HOST:PORT?transport=tcp; RFC 8656 §12.5:
# STUN and padded ChannelData on the stream). coturn listens on TCP only, so nothing of A's
# relay traffic can take UDP. Ping and iperf3 both ways; then coturn is restarted and A
# connects again (backoff) and allocates anew. The overlay MTU stays the configured one: a
# path MTU found over TCP says nothing (docs/path-probes.md). Last, the path towards the relay
# shrinks to 1280 with nothing said (a black hole): A's connection stalls, which the kernel's TCP
# never mends with net.ipv4.tcp_mtu_probing=0; the agent sees it and connects with 1220-byte
# segments.
#
#  +--------------+        +--------------------------+        +--------------+
#  | ns A         |        | ns S                     |        | ns B         |
#  |  tern        |  TCP   |  coturn 192.0.2.2:3478   |  UDP   |  tern        |
#  |  a0 192.0.2.1+--------+- s0         c0 203.0.113.1+--------+- d0 .2       |
#  +--------------+        +--------------------------+        +--------------+
#  tunnel 10.82.1.0/24 fd82:1::/64 (A .1, B .2), MTU 1400; A has no route to 203.0.113.0/24.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_mtu.sh
. "$(dirname "$0")/lib_mtu.sh"
# shellcheck source=lib_relay.sh
. "$(dirname "$0")/lib_relay.sh"
netns_init
need_impl tern
need_tools turnserver iperf3 jq ss nft
RELAY_IP=192.0.2.2

step "topology: A - S (coturn, TCP only) - B"
ns_create A
ns_create S
veth "$A" "a0$$" 192.0.2.1/24 "$S" "s0$$" "$RELAY_IP/24"
relay_peer_ns "$S"
B=$RELAY_NS_PEER
coturn() { relay_coturn "$S" "$RELAY_IP" 203.0.113.1 --no-udp; }
coturn
wait_until 10 "turnserver listening on tcp/3478" relay_listening "$S" t
! relay_listening "$S" u || fail "coturn listens on UDP too"
relay_no_direct "$A"
ok "coturn on tcp $RELAY_IP:3478 only; B unreachable from A but through the relay"

step "tern on A (Relay = on, transport=tcp) and on B"
ta=$(iface_name ta)
tb=$(iface_name tb)
relay_pair "$A" "$ta" "$B" "$tb" 10.82.1 fd82:1 51840 1400 "$RELAY_PEER_V4:51840" \
  "turn:$RELAY_IP:3478?transport=tcp"
relay_wait_allocated "$A" "$ta" 15
[ -n "$(ip netns exec "$A" ss -Htn state established "dport = :3478")" ] ||
  fail "A has no TCP connection to the relay"
ok "A's relayed address over TCP: $RELAYED"
ping_check "$A" 10.82.1.2 5 5 20
ping_check "$A" fd82:1::2 5 5 20
ping_check "$B" 10.82.1.1 5 5 20
wait_until 10 "a channel for B on the relay" relay_bound "$A" "$ta"
ok "channel $(relay_channel "$A" "$ta") bound over TCP"
# ChannelData padded on the stream: 1400 + 60 + 4 + 3 + 24 (TCP for UDP) is still under 1500.
ip netns exec "$A" timeout 20 ping -n -q -c 3 -i 0.2 -W 2 -s 1372 -M "do" 10.82.1.2 >/dev/null ||
  fail "1400-byte packets with DF do not pass the relay over TCP"
ok "1400-byte packets through the relay (ChannelData padded to 4 on the stream)"

step "iperf3 through the relay over TCP, both ways"
relay_iperf_both "$A" "$B" 10.82.1.2 TCP
relay_keeps_mtu "$A" "$ta" 1400 TCP

step "coturn restarts: A connects again and allocates anew"
relay_restart "$A" "$ta" 3478 coturn
ping_check "$A" 10.82.1.2 5 5 20
ok "A allocated again ($(relay_relayed "$A" "$ta")) and B answers through it"

step "the path towards the relay shrinks to 1280, ICMP never sent: A connects again, smaller"
relay_black_hole "$A" "$ta" "a0$$" "$S" "s0$$" TCP 10.82.1.2
ping_check "$A" 10.82.1.2 5 5 20
for t in "$ta" "$tb"; do peer_alive "$t" || fail "the agent of $t exited"; done

printf '\nPASS: relay_tcp (TURN over TCP: A -> B %s Mbit/s, B -> A %s Mbit/s;' "$UP" "$DOWN"
printf ' 1280 black hole mended in %s s)\n' "$RELAY_RESUMED"
