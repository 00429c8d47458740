#!/usr/bin/env bash
# `tern doctor routes` on real wireguard-go interfaces and the namespace's own routes, rules,
# rp_filter and nftables ruleset. Each fault is built on the healthy pair and removed again:
#   healthy       the overlay is CGNAT space (100.64.0.0/10): no finding, exit 0
#   overlap       a LAN bridge (lanPID, 100.64.5.1/24) inside the overlay:
#                 exactly route_overlap_lan, naming lanPID as the winner for 100.64.5.0/24
#   stolen        a rule (to 100.64.0.0/24 lookup 100) whose table routes the peer's overlay
#                 address via the underlay: route_stolen, naming that route
#   loop          a host route to the peer's endpoint through the tunnel: endpoint_via_tunnel
#   full tunnel   wg-quick's (fwmark 51820, table 51820, `not fwmark` and suppress_prefixlength
#                 rules, allowed IPs 0.0.0.0/0, the endpoint behind a default route): no
#                 finding; the same without the fwmark: endpoint_via_tunnel
#   firewall      an nftables input rule dropping udp/51820 (B keeps knocking): firewall_drops_port
#                 with its packet counter
#   rp_filter     an allowed IP with no route back into the tunnel and rp_filter = 1:
#                 route_stolen and rp_filter_strict
#   nobody        run unprivileged: the interface cannot be read, exit 2 (it was named), the
#                 error says to run it with sudo
#   B's interface, whose UAPI socket A sees too (/var/run is not per namespace), is skipped
#                 with a note when A's doctor runs without a name
#
#  +----------------------------------------+              +----------------------------------+
#  | ns tern-a-PID                          |              | ns tern-b-PID                    |
#  |  wireguard-go daPID 100.64.0.1/10      |              |  wireguard-go dbPID 100.64.0.2/10|
#  |  a0 192.0.2.1/24 udp/51820 ------------+---- veth ----+- b0 192.0.2.2/24 udp/51820       |
#  |  lanPID (bridge) 100.64.5.1/24         |              |                                  |
#  |  tern doctor routes daPID --json       |              |                                  |
#  +----------------------------------------+              +----------------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_impl wireguard-go
need_tools jq
[ -x "${TERN:-}" ] || skip "TERN is not set to the tern binary"

step "topology: wireguard-go in A <-> wireguard-go in B over one veth"
ns_create A
ns_create B
# Before any interface exists: nothing to find, exit 0 (a tern without the check fails here).
ip netns exec "$A" timeout 20 "$TERN" doctor routes --no-firewall >/dev/null 2>&1 ||
  skip "this tern has no working 'doctor routes'"
veth "$A" a0 192.0.2.1/24 "$B" b0 192.0.2.2/24
IA=$(iface_name da)
IB=$(iface_name db)
LAN=$(iface_name lan)
read -r ka_priv ka_pub < <(keypair)
read -r kb_priv kb_pub < <(keypair)
conf_interface "$TERN_WORK/$IA.conf" "$ka_priv" 51820 100.64.0.1/10 1420
conf_peer "$TERN_WORK/$IA.conf" "$kb_pub" 100.64.0.2/32 192.0.2.2:51820 10
conf_interface "$TERN_WORK/$IB.conf" "$kb_priv" 51820 100.64.0.2/10 1420
conf_peer "$TERN_WORK/$IB.conf" "$ka_pub" 100.64.0.1/32 192.0.2.1:51820 10
peer_up "$A" "$IA" "$TERN_WORK/$IA.conf" wireguard-go
peer_up "$B" "$IB" "$TERN_WORK/$IB.conf" wireguard-go
ping_check "$A" 100.64.0.2 3
ip netns exec "$A" sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec "$A" sysctl -qw "net.ipv4.conf.$IA.rp_filter=0"

# doctor NAME: tern doctor routes on IA in A (bounded), JSON in $TERN_WORK/NAME.json.
DOCTOR_RC=0
doctor() {
  local name=$1
  DOCTOR_RC=0
  ip netns exec "$A" timeout 20 "$TERN" doctor routes "$IA" --json >"$TERN_WORK/$name.json" \
    2>"$TERN_WORK/$name.err" || DOCTOR_RC=$?
  say "$name: exit $DOCTOR_RC, findings $(jq -c '[.interfaces[].findings[].code]' "$TERN_WORK/$name.json")"
}
codes() { jq -r '[.interfaces[].findings[].code] | join(",")' "$TERN_WORK/$1.json"; }
message() { jq -r ".interfaces[].findings[] | select(.code == \"$2\") | .message" "$TERN_WORK/$1.json"; }
# expect NAME CODES: exit 1 and exactly these codes (comma-separated, in order).
expect() {
  [ "$DOCTOR_RC" -eq 1 ] || { cat "$TERN_WORK/$1.json" "$TERN_WORK/$1.err" >&2; fail "$1: exit $DOCTOR_RC, want 1"; }
  [ "$(codes "$1")" = "$2" ] || { cat "$TERN_WORK/$1.json" >&2; fail "$1: findings '$(codes "$1")', want '$2'"; }
}
healthy_again() {
  doctor "$1"
  if [ "$DOCTOR_RC" -ne 0 ] || [ -n "$(codes "$1")" ]; then
    cat "$TERN_WORK/$1.json" "$TERN_WORK/$1.err" >&2
    fail "$1: the healthy pair again: exit $DOCTOR_RC, findings '$(codes "$1")'"
  fi
}

step "healthy: the CGNAT overlay alone gets no finding"
healthy_again healthy
[ "$(jq -r '.notes | length' "$TERN_WORK/healthy.json")" = 0 ] ||
  fail "notes on a healthy run as root: $(jq -c .notes "$TERN_WORK/healthy.json")"
ok "no finding, exit 0; overlay $(jq -c '.interfaces[0].overlay' "$TERN_WORK/healthy.json")"
# Without a name: A's interface only; B's socket (and any other namespace's) is skipped.
rc=0
ip netns exec "$A" timeout 20 "$TERN" doctor routes --json >"$TERN_WORK/all.json" 2>"$TERN_WORK/all.err" || rc=$?
if [ "$rc" -ne 0 ] || [ "$(jq -r '[.interfaces[].interface] | join(",")' "$TERN_WORK/all.json")" != "$IA" ]; then
  cat "$TERN_WORK/all.json" >&2
  fail "without a name: exit $rc, want 0 and $IA alone"
fi
jq -r '.notes[]' "$TERN_WORK/all.json" | grep -q 'other network namespaces skipped' ||
  fail "B's socket was not noted as skipped: $(jq -c .notes "$TERN_WORK/all.json")"
ok "without a name: $IA alone; $(jq -r '.notes[0]' "$TERN_WORK/all.json")"

step "overlap: a LAN bridge on 100.64.5.0/24 inside the overlay"
ip -n "$A" link add "$LAN" type bridge
ip -n "$A" addr add 100.64.5.1/24 dev "$LAN"
ip -n "$A" link set "$LAN" up
doctor overlap
expect overlap route_overlap_lan
message overlap route_overlap_lan | grep -qF "$LAN wins for 100.64.5.0/24" ||
  fail "the winner is not named: $(message overlap route_overlap_lan)"
ok "$(message overlap route_overlap_lan)"
ip -n "$A" link del "$LAN"
healthy_again overlap_gone

step "stolen: a policy rule's table sends the peer's overlay address via the underlay"
ip -n "$A" route add 100.64.0.2/32 via 192.0.2.2 dev a0 table 100
ip -n "$A" rule add to 100.64.0.0/24 lookup 100 pref 1000
doctor stolen
expect stolen route_stolen
message stolen route_stolen | grep -qF '100.64.0.2/32 via 192.0.2.2 dev a0 table 100' ||
  fail "the stealing route is not named: $(message stolen route_stolen)"
ok "$(message stolen route_stolen)"
ip -n "$A" rule del to 100.64.0.0/24 lookup 100 pref 1000
ip -n "$A" route del 100.64.0.2/32 via 192.0.2.2 dev a0 table 100

step "loop: the peer's endpoint routed into the tunnel"
ip -n "$A" route add 192.0.2.2/32 dev "$IA"
doctor loop
expect loop endpoint_via_tunnel
ok "$(message loop endpoint_via_tunnel)"
ip -n "$A" route del 192.0.2.2/32 dev "$IA"
healthy_again loop_gone

step "full tunnel as wg-quick makes it: fwmark, table 51820, its two rules; then without the fwmark"
# B's endpoint moves off-link (198.51.100.2 behind A's default route), as a real server is.
ip -n "$B" addr add 198.51.100.2/32 dev b0
ip -n "$A" route add default via 192.0.2.2 dev a0
wg_in "$A" set "$IA" fwmark 51820 peer "$kb_pub" allowed-ips 0.0.0.0/0 endpoint 198.51.100.2:51820
ip -n "$A" route add default dev "$IA" table 51820
ip -n "$A" rule add not fwmark 51820 table 51820 pref 32765
ip -n "$A" rule add table main suppress_prefixlength 0 pref 32764
ping_check "$A" 100.64.0.2 3
healthy_again full_tunnel
ok "the full tunnel's endpoint leaves by a0 with the fwmark: no finding"
wg_in "$A" set "$IA" fwmark 0
doctor full_tunnel_unmarked
expect full_tunnel_unmarked endpoint_via_tunnel
message full_tunnel_unmarked endpoint_via_tunnel | grep -qF "default dev $IA table 51820" ||
  fail "the looping route is not named: $(message full_tunnel_unmarked endpoint_via_tunnel)"
ok "$(message full_tunnel_unmarked endpoint_via_tunnel)"
ip -n "$A" rule del table main suppress_prefixlength 0 pref 32764
ip -n "$A" rule del not fwmark 51820 table 51820 pref 32765
ip -n "$A" route del default dev "$IA" table 51820
ip -n "$A" route del default via 192.0.2.2 dev a0
wg_in "$A" set "$IA" peer "$kb_pub" allowed-ips 100.64.0.2/32 endpoint 192.0.2.2:51820
healthy_again full_tunnel_gone

step "firewall: an input rule drops udp/51820 while B knocks"
ip netns exec "$A" nft -f - <<NFT
table inet tdr$$ {
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport 51820 counter drop
  }
}
NFT
# B's handshakes and pings now hit the rule; wait until its counter moved.
ip netns exec "$B" timeout 10 ping -n -q -c 3 -i 0.3 -W 1 100.64.0.1 >/dev/null 2>&1 || true
dropped() { ip netns exec "$A" nft list table inet "tdr$$" | grep -q 'packets [1-9]'; }
wait_until 15 "the drop rule to count a packet" dropped
doctor firewall
expect firewall firewall_drops_port
message firewall firewall_drops_port | grep -qE '\([1-9][0-9]* packets so far\)' ||
  fail "no packet count: $(message firewall firewall_drops_port)"
ok "$(message firewall firewall_drops_port)"
ip netns exec "$A" nft delete table inet "tdr$$"

step "rp_filter: strict, and an allowed IP whose route back is not the tunnel"
wg_in "$A" set "$IA" peer "$kb_pub" allowed-ips 100.64.0.2/32,10.99.0.0/16
ip netns exec "$A" sysctl -qw net.ipv4.conf.all.rp_filter=1
doctor rp_filter
expect rp_filter route_stolen,rp_filter_strict
ok "$(message rp_filter rp_filter_strict)"
ip netns exec "$A" sysctl -qw net.ipv4.conf.all.rp_filter=0
wg_in "$A" set "$IA" peer "$kb_pub" allowed-ips 100.64.0.2/32
healthy_again end

step "without root: the interface cannot be read, and the report says how to run it"
if command -v setpriv >/dev/null 2>&1; then
  rc=0
  ip netns exec "$A" timeout 20 setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$TERN" doctor routes "$IA" --json >"$TERN_WORK/nobody.json" 2>"$TERN_WORK/nobody.err" || rc=$?
  [ "$rc" -eq 2 ] || { cat "$TERN_WORK/nobody.json" "$TERN_WORK/nobody.err" >&2; fail "as nobody: exit $rc, want 2"; }
  jq -r '.interfaces[].error' "$TERN_WORK/nobody.json" | grep -qF 'sudo' ||
    fail "as nobody: no advice to run as root: $(jq -c .interfaces "$TERN_WORK/nobody.json")"
  ok "as nobody: $(jq -r '.interfaces[0].error' "$TERN_WORK/nobody.json")"
else
  say "setpriv is missing: the unprivileged run is not tried"
fi

step "done: one finding per fault, none on the healthy pair"
