#!/usr/bin/env bash
# Roaming: the client moves to another link and address in the middle of a TCP transfer. The
# transfer must go on and finish intact, and the server must learn the new endpoint from the
# client's authenticated packets alone (nobody reconfigures it).
#
#  +---------------------------+       +----------------------+       +---------------------------+
#  | ns tern-c-PID (client)    |       | ns tern-r-PID        |       | ns tern-s-PID (server)    |
#  |  tcPID 10.77.0.2/24       |       |  (router, forwards)  |       |  tsPID 10.77.0.1/24       |
#  |                           |       |                      |       |                           |
#  |  c0 198.51.100.2/24 ------+-veth--+- r0 198.51.100.1/24  |       |                           |
#  |     (before: deleted)     |       |  r1 192.0.2.1/24 ----+-veth--+- s0 192.0.2.2/24          |
#  |  c1 203.0.113.2/24 -------+-veth--+- r2 203.0.113.1/24   |       |     udp/51820             |
#  |     (after: added)        |       |  tbf 50mbit to s0    |       |                           |
#  +---------------------------+       +----------------------+       +---------------------------+
#
# The router shapes the path to the server to 50 Mbit/s, so the transfer takes seconds whatever
# the implementation's speed and the move happens while it runs.
# IMPL_CLIENT and IMPL_SERVER (default tern) override the sides. TRANSFER_MB sets the size.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
IMPL_CLIENT=${IMPL_CLIENT:-tern}
IMPL_SERVER=${IMPL_SERVER:-tern}
MB=${TRANSFER_MB:-24}
netns_init
need_tools tc
need_impl "$IMPL_CLIENT"
need_impl "$IMPL_SERVER"

step "topology: $IMPL_CLIENT client -> router -> $IMPL_SERVER server"
ns_create C
ns_create R
ns_create S
veth "$C" c0 198.51.100.2/24 "$R" r0 198.51.100.1/24
veth "$R" r1 192.0.2.1/24 "$S" s0 192.0.2.2/24
ip link add c1 netns "$C" type veth peer name r2 netns "$R"
ip -n "$R" addr add 203.0.113.1/24 dev r2
ip -n "$R" link set r2 up
ip -n "$C" link set c1 up
router_enable "$R"
ip -n "$C" route add 192.0.2.0/24 via 198.51.100.1
ip -n "$S" route add 198.51.100.0/24 via 192.0.2.1
ip -n "$S" route add 203.0.113.0/24 via 192.0.2.1
ip netns exec "$R" tc qdisc add dev r1 root tbf rate 50mbit burst 64kb latency 200ms
ok "client 198.51.100.2 -> router -> server 192.0.2.2 (50 Mbit/s)"

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

step "tunnel from the first address"
ping_check "$C" 10.77.0.1
wait_handshake "$S" "$is"
server_endpoint() { wg_in "$S" show "$is" endpoints | cut -f2; }
check "the server sees the client at 198.51.100.2"
[[ $(server_endpoint) == 198.51.100.2:* ]] || fail "server endpoint is '$(server_endpoint)'"
ok "server endpoint $(server_endpoint)"

step "transfer, and move the client mid-way"
server_rx() { wg_in "$S" show "$is" transfer | awk '{ s += $2 } END { print s + 0 }'; }
rx_before=$(server_rx)
transfer_begin "$C" "$S" 10.77.0.1 "$MB" 180
quarter=$((rx_before + MB * 1024 * 1024 / 4))
wait_until 60 "a quarter of the transfer to reach the server" eval "[ \"\$(server_rx)\" -gt $quarter ]"
transfer_running || fail "the transfer ended before the client moved (path too fast?)"
check "client moves: 203.0.113.2 on c1 added, route via c1, 198.51.100.2 deleted"
ip -n "$C" addr add 203.0.113.2/24 dev c1
ip -n "$C" route replace 192.0.2.0/24 via 203.0.113.1 dev c1
ip -n "$C" addr del 198.51.100.2/24 dev c0
moved_at=$(date +%s.%N)
rx_moved=$(server_rx)
ok "moved at $rx_moved bytes received by the server, transfer still running"
check "data reaches the server again"
# shellcheck disable=SC2016 # expanded by eval, on every poll
wait_until 120 "data from the new address (server stays at $rx_moved bytes)" \
  eval '[ "$(server_rx)" -gt "$rx_moved" ]'
ok "first data $(awk -v a="$(date +%s.%N)" -v b="$moved_at" 'BEGIN { printf "%.1f", a - b }')s after the move"
transfer_finish

step "after the move"
check "the server's wg show endpoints names the new address"
# shellcheck disable=SC2016 # expanded by eval, on every poll
wait_until 30 "the server's endpoint to become 203.0.113.2" \
  eval '[[ $(server_endpoint) == 203.0.113.2:* ]]'
ok "server endpoint $(server_endpoint)"
ping_check "$S" 10.77.0.2
peer_alive "$is" || fail "the server agent exited"
peer_alive "$ic" || fail "the client agent exited"
printf '\nPASS: roaming (%s client, %s server)\n' "$IMPL_CLIENT" "$IMPL_SERVER"
