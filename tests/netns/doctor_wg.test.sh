#!/usr/bin/env bash
# `tern doctor wg` on real wireguard-go interfaces, read through their UAPI sockets:
#   healthy       keepalive 10 s, traffic both ways, a NAT lifetime of 15 s given: no finding,
#                 exit 0, and the DF ping through the tunnel answers up to the MTU (1420)
#   keepalive     the same peer with keepalive 25 s: keepalive_exceeds_nat_lifetime, "set 10"
#   flapping      the peer's endpoint alternates between 127.0.0.1 (as NetBird's relay proxy
#                 shows it) and its public address: endpoint_flapping
#   one-way       B's firewall drops the tunnel's UDP, A keeps sending: one_way_loss
# (This machine has no kernel WireGuard module: the netlink path is unit-tested on bytes.)
#
#  +----------------------------------+              +----------------------------------+
#  | ns tern-a-PID                    |              | ns tern-b-PID                    |
#  |  wireguard-go daPID 10.77.0.1/24 |              |  wireguard-go dbPID 10.77.0.2/24 |
#  |  a0 192.0.2.1/24 udp/51820 ------+---- veth ----+- b0 192.0.2.2/24 udp/51820       |
#  |  tern doctor wg daPID            |              |  nft: drop udp/51820 (one-way)   |
#  +----------------------------------+              +----------------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_impl tern
need_impl wireguard-go
need_tools jq

step "topology: wireguard-go in A <-> wireguard-go in B over one veth"
ns_create A
ns_create B
veth "$A" a0 192.0.2.1/24 "$B" b0 192.0.2.2/24
IA=$(iface_name da)
IB=$(iface_name db)
read -r ka_priv ka_pub < <(keypair)
read -r kb_priv kb_pub < <(keypair)
conf_interface "$TERN_WORK/$IA.conf" "$ka_priv" 51820 10.77.0.1/24 1420
conf_peer "$TERN_WORK/$IA.conf" "$kb_pub" 10.77.0.2/32 192.0.2.2:51820 10
conf_interface "$TERN_WORK/$IB.conf" "$kb_priv" 51820 10.77.0.2/24 1420
conf_peer "$TERN_WORK/$IB.conf" "$ka_pub" 10.77.0.1/32 192.0.2.1:51820 10
peer_up "$A" "$IA" "$TERN_WORK/$IA.conf" wireguard-go
peer_up "$B" "$IB" "$TERN_WORK/$IB.conf" wireguard-go
ping_check "$A" 10.77.0.2 3
wait_handshake "$A" "$IA"

# doctor NAME ARGS...: tern doctor wg on IA in A (bounded), JSON in $TERN_WORK/NAME.json.
DOCTOR_RC=0
doctor() {
  local name=$1
  shift
  DOCTOR_RC=0
  ip netns exec "$A" timeout 60 "$TERN" doctor wg "$IA" --json "$@" >"$TERN_WORK/$name.json" \
    2>"$TERN_WORK/$name.err" || DOCTOR_RC=$?
  say "$name: exit $DOCTOR_RC, findings $(jq -c '[.[].peers[].findings[].code]' "$TERN_WORK/$name.json")"
}
codes() { jq -r '[.[].peers[].findings[].code] | join(",")' "$TERN_WORK/$1.json"; }
message() { jq -r ".[].peers[].findings[] | select(.code == \"$2\") | .message" "$TERN_WORK/$1.json"; }

step "healthy pair (keepalive 10 s, NAT lifetime 15 s): nothing found"
ip netns exec "$A" timeout 20 ping -n -q -c 12 -i 0.5 10.77.0.2 >/dev/null &
track_pid $!
doctor healthy --duration 6s --nat-lifetime 15s
[ "$DOCTOR_RC" -eq 0 ] || { cat "$TERN_WORK/healthy.json" "$TERN_WORK/healthy.err" >&2; fail "a healthy pair: exit $DOCTOR_RC"; }
[ -z "$(codes healthy)" ] || fail "a healthy pair got findings: $(codes healthy)"
largest=$(jq -r '.[0].peers[0].df_ping.largest_answered' "$TERN_WORK/healthy.json")
[ "$largest" = 1420 ] || fail "the DF ping through the tunnel: largest answered $largest, want 1420"
ok "no finding; DF ping through $IA answered up to $largest bytes"

step "keepalive 25 s behind a NAT that forgets after 15 s"
wg_in "$A" set "$IA" peer "$kb_pub" persistent-keepalive 25
doctor keepalive --duration 2s --nat-lifetime 15s --no-ping
[ "$DOCTOR_RC" -eq 1 ] || fail "exit $DOCTOR_RC, want 1"
[ "$(codes keepalive)" = keepalive_exceeds_nat_lifetime ] || fail "findings: $(codes keepalive)"
message keepalive keepalive_exceeds_nat_lifetime | grep -q "set PersistentKeepalive = 10" ||
  fail "the fix is not 10 s: $(message keepalive keepalive_exceeds_nat_lifetime)"
ok "$(message keepalive keepalive_exceeds_nat_lifetime)"
wg_in "$A" set "$IA" peer "$kb_pub" persistent-keepalive 10

step "an endpoint alternating between 127.0.0.1 (a relay proxy) and the direct address"
flap() {
  local i
  for ((i = 0; i < 4; i++)); do
    wg_in "$A" set "$IA" peer "$kb_pub" endpoint 127.0.0.1:40999
    sleep 1.3
    wg_in "$A" set "$IA" peer "$kb_pub" endpoint 192.0.2.2:51820
    sleep 1.3
  done
}
flap &
FLAP_PID=$!
track_pid "$FLAP_PID"
doctor flapping --duration 8s --no-ping
wait "$FLAP_PID" || true
[ "$DOCTOR_RC" -eq 1 ] || fail "exit $DOCTOR_RC, want 1"
codes flapping | grep -q endpoint_flapping || fail "findings: $(codes flapping)"
message flapping endpoint_flapping | grep -q "relayed and direct" ||
  fail "not told as direct/relay flapping: $(message flapping endpoint_flapping)"
ok "$(message flapping endpoint_flapping)"

step "one-way loss: B drops the tunnel's UDP while A sends"
ip netns exec "$B" nft -f - <<'NFT'
table inet oneway {
  chain input {
    type filter hook input priority 0
    udp dport 51820 drop
  }
}
NFT
ip netns exec "$A" timeout 20 ping -n -q -c 30 -i 0.3 -W 1 10.77.0.2 >/dev/null 2>&1 &
track_pid $!
doctor oneway --duration 10s --no-ping
[ "$DOCTOR_RC" -eq 1 ] || fail "exit $DOCTOR_RC, want 1"
codes oneway | grep -q one_way_loss || fail "findings: $(codes oneway)"
ok "$(message oneway one_way_loss)"
ip netns exec "$B" nft delete table inet oneway
printf '\nPASS: doctor_wg\n'
