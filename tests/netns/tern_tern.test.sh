#!/usr/bin/env bash
# Two tern agents joined by one veth: pings over IPv4 and IPv6 inside the tunnel, then a
# checksummed TCP transfer each way. Both sides know each other's endpoint and share a PSK.
#
#  +--------------------------------+                +--------------------------------+
#  | ns tern-a-PID                  |                | ns tern-b-PID                  |
#  |   taPID 10.77.0.1/24 fd77::1   |                |   tbPID 10.77.0.2/24 fd77::2   |
#  |   (tunnel, MTU 1420)           |                |   (tunnel, MTU 1420)           |
#  |   a0 192.0.2.1/24 udp/51820    +----- veth -----+   b0 192.0.2.2/24 udp/51820    |
#  +--------------------------------+                +--------------------------------+
#
# IMPL_A and IMPL_B (default: tern, from $TERN) choose each side's implementation:
# tern, wireguard-go, or wireguard-go:/path/to/binary. TRANSFER_MB sets the transfer size.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
IMPL_A=${IMPL_A:-tern}
IMPL_B=${IMPL_B:-tern}
MB=${TRANSFER_MB:-32}
netns_init
need_impl "$IMPL_A"
need_impl "$IMPL_B"

step "topology: $IMPL_A in A <-> $IMPL_B in B over one veth"
ns_create A
ns_create B
veth "$A" a0 192.0.2.1/24 "$B" b0 192.0.2.2/24
read -r ka_priv ka_pub < <(keypair)
read -r kb_priv kb_pub < <(keypair)
psk=$(wg genpsk)
ia=$(iface_name ta)
ib=$(iface_name tb)
conf_interface "$TERN_WORK/$ia.conf" "$ka_priv" 51820 "10.77.0.1/24, fd77::1/64" 1420
conf_peer "$TERN_WORK/$ia.conf" "$kb_pub" "10.77.0.2/32, fd77::2/128" 192.0.2.2:51820 "" "$psk"
conf_interface "$TERN_WORK/$ib.conf" "$kb_priv" 51820 "10.77.0.2/24, fd77::2/64" 1420
conf_peer "$TERN_WORK/$ib.conf" "$ka_pub" "10.77.0.1/32, fd77::1/128" 192.0.2.1:51820 "" "$psk"
peer_up "$A" "$ia" "$TERN_WORK/$ia.conf" "$IMPL_A"
peer_up "$B" "$ib" "$TERN_WORK/$ib.conf" "$IMPL_B"

step "A -> B"
ping_check "$A" 10.77.0.2
wait_handshake "$A" "$ia"
wait_handshake "$B" "$ib"
ping_check "$A" fd77::2
transfer_check "$A" "$B" 10.77.0.2 "$MB"

step "B -> A"
ping_check "$B" 10.77.0.1
ping_check "$B" fd77::1
transfer_check "$B" "$A" 10.77.0.1 "$MB"

step "agents"
peer_alive "$ia" || fail "the agent of A ($IMPL_A) exited"
peer_alive "$ib" || fail "the agent of B ($IMPL_B) exited"
ok "both agents still running"
printf '\nPASS: tern_tern (%s <-> %s)\n' "$IMPL_A" "$IMPL_B"
