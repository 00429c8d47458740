#!/usr/bin/env bash
# 10 % random loss each way: the router drops one forwarded packet in ten in both directions
# (nftables numgen; this kernel has no netem). The handshake must complete through its own
# retransmissions and a TCP transfer must arrive intact.
#
#  +---------------------------+       +----------------------------+       +---------------------------+
#  | ns tern-c-PID (client)    |       | ns tern-r-PID (router)     |       | ns tern-s-PID (server)    |
#  |  tcPID 10.77.0.2/24       |       |  forward: numgen random    |       |  tsPID 10.77.0.1/24       |
#  |  c0 198.51.100.2/24 ------+-veth--+- r0 198.51.100.1/24        |       |                           |
#  |                           |       |  r1 192.0.2.1/24 ----------+-veth--+- s0 192.0.2.2/24 udp/51820|
#  +---------------------------+       |  mod 100 < 10 drop         |       +---------------------------+
#                                      +----------------------------+
#
# IMPL_CLIENT and IMPL_SERVER (default tern) override the sides. LOSS_PERCENT (default 10) and
# TRANSFER_MB (default 16) tune the run.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
IMPL_CLIENT=${IMPL_CLIENT:-tern}
IMPL_SERVER=${IMPL_SERVER:-tern}
LOSS=${LOSS_PERCENT:-10}
MB=${TRANSFER_MB:-16}
netns_init
need_impl "$IMPL_CLIENT"
need_impl "$IMPL_SERVER"

step "topology: $IMPL_CLIENT client -> router dropping $LOSS % each way -> $IMPL_SERVER server"
ns_create C
ns_create R
ns_create S
veth "$C" c0 198.51.100.2/24 "$R" r0 198.51.100.1/24
veth "$R" r1 192.0.2.1/24 "$S" s0 192.0.2.2/24
router_enable "$R"
ip -n "$C" route add 192.0.2.0/24 via 198.51.100.1
ip -n "$S" route add 198.51.100.0/24 via 192.0.2.1
# One datagram per packet from each side: the router's rule drops a GSO batch whole (tens of
# datagrams at once), which would make the loss bursty and the test's timing a lottery.
ip -n "$C" link set c0 gso_max_segs 1
ip -n "$S" link set s0 gso_max_segs 1
loss_forward "$R" "$LOSS"
ok "router drops $LOSS % of forwarded packets"

read -r kc_priv kc_pub < <(keypair)
read -r ks_priv ks_pub < <(keypair)
ic=$(iface_name tc)
is=$(iface_name ts)
conf_interface "$TERN_WORK/$ic.conf" "$kc_priv" 51820 10.77.0.2/24 1420
conf_peer "$TERN_WORK/$ic.conf" "$ks_pub" 10.77.0.1/32 192.0.2.2:51820
conf_interface "$TERN_WORK/$is.conf" "$ks_priv" 51820 10.77.0.1/24 1420
conf_peer "$TERN_WORK/$is.conf" "$kc_pub" 10.77.0.2/32
peer_up "$S" "$is" "$TERN_WORK/$is.conf" "$IMPL_SERVER"
peer_up "$C" "$ic" "$TERN_WORK/$ic.conf" "$IMPL_CLIENT"

step "handshake and pings through the lossy path"
# A lost initiation or response is retried after 5 s (REKEY_TIMEOUT); allow several rounds.
ping_check "$C" 10.77.0.1 40 20 90
wait_handshake "$C" "$ic" 90
wait_handshake "$S" "$is" 90

step "TCP through the lossy path"
transfer_check "$C" "$S" 10.77.0.1 "$MB" 120
transfer_check "$S" "$C" 10.77.0.2 "$MB" 120
say "router dropped $(loss_dropped "$R") packets so far"
[ "$(loss_dropped "$R")" -gt 0 ] || fail "the router dropped nothing: the loss rule is not in the path"
peer_alive "$is" || fail "the server agent exited"
peer_alive "$ic" || fail "the client agent exited"
printf '\nPASS: loss (%s client, %s server, %s %% loss each way)\n' "$IMPL_CLIENT" "$IMPL_SERVER" "$LOSS"
