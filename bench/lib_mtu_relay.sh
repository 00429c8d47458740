# shellcheck shell=bash disable=SC2153,SC2034 # lib.sh variables; results read by the caller
# The relayed path of bench/mtu.sh (sourced after tests/netns/lib.sh and lib_mtu.sh): the
# topology of tests/netns/mtu_relay.test.sh. lib_mtu.sh's B becomes the relay S (coturn on
# 192.0.2.2:3478, over UDP or TCP only), and the peer sits in a fourth namespace P that A can
# reach only through its allocation. A's leg to the relay crosses R, whose link towards S is
# the one whose MTU drops, with ICMP "fragmentation needed" / "Packet Too Big" dropped.
#
#  ns A: tern, Relay = on - ns R: 1500 | MIDDLE, ICMP dropped - ns S: coturn - ns P: tern, iperf3 -s
#                                                                  c0 203.0.113.1 -- d0 .2
# Names carry mr_ / MR_ so that they never meet tests/netns' own relay helpers.

MR_RELAY_IP=$MTU_B_V4
MR_PEER_IP=203.0.113.2

# mr_listening TRANSPORT: coturn in S listens on TRANSPORT (udp|tcp) port 3478.
mr_listening() {
  local flag=-Hlun
  [ "$1" = udp ] || flag=-Hltn
  [ -n "$(ip netns exec "$MR_NS_S" ss "$flag" "sport = :3478")" ]
}

# mr_topology TRANSPORT: namespaces A, R, S (lib_mtu.sh's B) and P, the leg to the relay at
# MTU 1500, coturn listening on TRANSPORT only (nothing of A's relay traffic can take the other).
mr_topology() {
  local transport=$1 off=--no-tcp
  [ "$transport" = udp ] || off=--no-udp
  mtu_topology 1500
  MR_NS_S=$MTU_NS_B
  ns_create P
  MR_NS_P=$P
  veth "$MR_NS_S" "c0$$" 203.0.113.1/24 "$MR_NS_P" "d0$$" "$MR_PEER_IP/24"
  ip -n "$MR_NS_P" route add default via 203.0.113.1
  router_enable "$MR_NS_S"
  ip netns exec "$MR_NS_S" timeout "$TERN_PROCESS_LIFETIME" turnserver -n --log-file stdout \
    --listening-ip "$MR_RELAY_IP" --relay-ip "$MR_RELAY_IP" --listening-port 3478 \
    --min-port 49152 --max-port 49352 "$off" --no-dtls --no-tls --no-cli --fingerprint \
    --realm tern.test --lt-cred-mech --user alice:s3cret >"$TERN_WORK/coturn.log" 2>&1 &
  track_pid $!
  wait_until 10 "turnserver listening on $transport/3478" mr_listening "$transport"
  if ip netns exec "$MTU_NS_A" ping -n -q -c 1 -W 1 "$MR_PEER_IP" >/dev/null 2>&1; then
    fail "A reaches P directly: the bench would not measure the relayed path"
  fi
  ok "coturn on $transport $MR_RELAY_IP:3478; P at $MR_PEER_IP reachable from A only through it"
}

mr_status() { ip netns exec "$MTU_NS_A" timeout 5 "$TERN" status "$1" --json 2>/dev/null; }
mr_allocated() {
  [ "$(mr_status "$1" | jq -r '.interfaces[0].relay.relayed_address // "null"')" != null ]
}
mr_channel() {
  [ "$(mr_status "$1" | jq -r '.interfaces[0].relay.peers[0].channel // 0')" -gt 0 ]
}

# mr_pair IFACE_A IFACE_B PORT OVERLAY4 OVERLAY6 TRANSPORT [TUN_MTU]: tern on A (Relay = on,
# turn:MR_RELAY_IP:3478?transport=TRANSPORT) to tern on P, which learns A's relayed address from
# A's handshake. Returns once the channel is bound. Overlay addresses as mtu_pair's.
mr_pair() {
  local ia=$1 ib=$2 port=$3 o4=$4 o6=$5 transport=$6 mtu=${7:-1420}
  local ka_priv ka_pub kb_priv kb_pub
  read -r ka_priv ka_pub < <(keypair)
  read -r kb_priv kb_pub < <(keypair)
  conf_interface "$TERN_WORK/$ia.conf" "$ka_priv" $((port + 1)) "$o4.1/24, $o6::1/64" "$mtu"
  conf_peer "$TERN_WORK/$ia.conf" "$kb_pub" "$o4.2/32, $o6::2/128" "$MR_PEER_IP:$port" 25
  printf 'Relay = on\n\n[Relay]\nUrl = turn:%s:3478?transport=%s\nUsername = alice\nPassword = s3cret\n' \
    "$MR_RELAY_IP" "$transport" >>"$TERN_WORK/$ia.conf"
  conf_interface "$TERN_WORK/$ib.conf" "$kb_priv" "$port" "$o4.2/24, $o6::2/64" "$mtu"
  conf_peer "$TERN_WORK/$ib.conf" "$ka_pub" "$o4.1/32, $o6::1/128"
  peer_up "$MR_NS_P" "$ib" "$TERN_WORK/$ib.conf" tern
  peer_up "$MTU_NS_A" "$ia" "$TERN_WORK/$ia.conf" tern
  wait_until 15 "A's allocation (relay: $(mr_status "$ia" | jq -c '.interfaces[0].relay'))" \
    mr_allocated "$ia"
  ping_check "$MTU_NS_A" "$o4.2" 3 3 20
  wait_until 10 "a channel for P on the relay" mr_channel "$ia"
  ok "A relayed at $(mr_status "$ia" | jq -r '.interfaces[0].relay.relayed_address') over" \
    "$transport, channel $(mr_status "$ia" | jq -r '.interfaces[0].relay.peers[0].channel')"
}

# mr_wait_overlay IFACE MTU SECONDS: tern's overlay MTU to P is MTU (over a TCP leg no path
# MTU is searched: the configured MTU stays).
mr_overlay_is() { [ "$(tern_peer_json "$MTU_NS_A" "$1" overlay_mtu)" = "$2" ]; }
mr_wait_overlay() {
  local now
  now="path $(tern_peer_json "$MTU_NS_A" "$1" path_mtu)"
  now="$now, overlay $(tern_peer_json "$MTU_NS_A" "$1" overlay_mtu)"
  wait_until "$3" "overlay MTU $2 on $1 (status at the start: $now)" mr_overlay_is "$1" "$2"
  ok "$1: path MTU $(tern_peer_json "$MTU_NS_A" "$1" path_mtu), overlay MTU $2"
}
