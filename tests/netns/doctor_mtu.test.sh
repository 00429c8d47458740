#!/usr/bin/env bash
# `tern doctor mtu HOST` on a PMTU black hole: the link in front of B carries 1280 bytes and
# the router drops the ICMP "fragmentation needed" / Packet Too Big it would send about it.
# Over IPv4 and IPv6 the doctor reports path MTU 1280, "ptb_filtered" with the kernel still
# at 1500, and the MTU to configure (1220 over IPv4, 1200 over IPv6), exit 1. The healthy
# twins report no finding, exit 0: the same link with ICMP let through (the kernel learns
# 1280 from the Packet Too Big), and 1500 bytes everywhere. Then `tern doctor mtu PEER` with
# tern in A and B: found by overlay address and by key, measured to the endpoint and through
# the tunnel (1420 bytes cross it), no finding. And through a wireguard-go tunnel of MTU 1420
# over the black hole (`--interface`): "tunnel_black_hole" with the largest packet that crosses.
#
#  +-------------------------+       +---------------------------------+       +-------------------------+
#  | ns tern-a-PID (doctor)  |       | ns tern-r-PID (router)          |       | ns tern-b-PID (host)    |
#  |  a0 198.51.100.2/24 ----+-veth--+- r0 198.51.100.1/24             |       |                         |
#  |     2001:db8:1::2/64    |       |     2001:db8:1::1/64            |       |                         |
#  |                         |       |  r1 192.0.2.1/24 mtu 1280 ------+-veth--+- b0 192.0.2.2/24        |
#  |                         |       |     2001:db8:2::1/64            |       |     2001:db8:2::2/64    |
#  |                         |       |  nft: drop icmp frag-needed,    |       |     mtu 1280            |
#  |                         |       |       icmpv6 packet-too-big     |       |                         |
#  +-------------------------+       +---------------------------------+       +-------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_mtu.sh
. "$(dirname "$0")/lib_mtu.sh"
netns_init
need_impl tern
need_tools jq wg

step "topology: doctor -> router -> host, 1280-byte link in front of the host"
# lib_mtu.sh's black hole: the R-B link small at both ends, R dropping the ICMP that says so.
mtu_topology 1280
A=$MTU_NS_A R=$MTU_NS_R B=$MTU_NS_B
set_link_mtu() { mtu_set_middle "$1"; }
ping_ok() { ip netns exec "$A" ping -c1 -W1 "$1" >/dev/null 2>&1; }
wait_until 10 "B answers ping over IPv4" ping_ok 192.0.2.2
wait_until 10 "B answers ping over IPv6" ping_ok 2001:db8:2::2

OUT=$TERN_WORK/doctor.json
# doctor WANT_RC TARGET [ARGS...]: runs the doctor in A (bounded), checks its exit status, keeps the JSON.
doctor() {
  local want=$1 target=$2 rc=0 start=$SECONDS
  shift 2
  ip netns exec "$A" timeout 30 "$TERN" doctor mtu "$target" "$@" --json >"$OUT" \
    2>"$TERN_WORK/doctor.err" || rc=$?
  say "tern doctor mtu $target $*: exit $rc in $((SECONDS - start)) s"
  if [ "$rc" -ne "$want" ]; then
    cat "$OUT" "$TERN_WORK/doctor.err" >&2
    fail "tern doctor mtu $target exited $rc, expected $want"
  fi
  jq -e . "$OUT" >/dev/null || fail "the --json output does not parse"
}
expect() {  # expect JQ_EXPRESSION WHAT
  jq -e "$1" "$OUT" >/dev/null || {
    cat "$OUT" >&2
    fail "$2"
  }
  ok "$2"
}
findings() { jq -r '[.findings[].cause] | join(",")' "$OUT"; }

for target in 192.0.2.2 2001:db8:2::2; do
  case $target in *:*) want_conf=1200 ;; *) want_conf=1220 ;; esac
  step "black hole, $target: 1280-byte link and its Packet Too Big dropped"
  doctor 1 "$target"
  say "findings: $(findings); $(jq -r .findings[0].detail "$OUT")"
  expect '.underlay.path_mtu == 1280 and .underlay.exact' "path MTU 1280 found by DF probes"
  expect '.underlay.smallest_lost == 1281 and .underlay.too_big_received == 0' \
    "1281 bytes lost, no Packet Too Big"
  expect '.underlay.kernel_pmtu_after == 1500' "the kernel still believes 1500"
  expect '[.findings[].cause] == ["ptb_filtered"]' "the finding is ptb_filtered"
  expect ".recommended_mtu == $want_conf" "MTU to configure: $want_conf"
  expect '.underlay.elapsed_ms < 15000' "bounded time"
done
say "packets too big dropped on the router: $(ip netns exec "$R" nft list table inet tern_mtu |
  grep -o 'packets [0-9]*' | awk '{s += $2} END {print s}')"

step "black hole inside a tunnel: wireguard-go in A and B, MTU 1420 over the filtered link"
if command -v "${WIREGUARD_GO:-wireguard-go}" >/dev/null 2>&1; then
  read -r kwa_priv kwa_pub < <(keypair)
  read -r kwb_priv kwb_pub < <(keypair)
  wa=$(iface_name wa)
  wb=$(iface_name wb)
  conf_interface "$TERN_WORK/$wa.conf" "$kwa_priv" 51821 "10.88.0.1/24" 1420
  conf_peer "$TERN_WORK/$wa.conf" "$kwb_pub" "10.88.0.2/32" 192.0.2.2:51821
  conf_interface "$TERN_WORK/$wb.conf" "$kwb_priv" 51821 "10.88.0.2/24" 1420
  conf_peer "$TERN_WORK/$wb.conf" "$kwa_pub" "10.88.0.1/32" 198.51.100.2:51821
  peer_up "$A" "$wa" "$TERN_WORK/$wa.conf" wireguard-go
  peer_up "$B" "$wb" "$TERN_WORK/$wb.conf" wireguard-go
  ping_check "$A" 10.88.0.2 3 1
  doctor 1 10.88.0.2 --interface "$wa"
  say "findings: $(findings); $(jq -r .findings[0].detail "$OUT")"
  # WireGuard pads to 16 bytes within the MTU: 1216 crosses, 1220 pads to 1232 + 60 > 1280.
  expect '.overlay.path_mtu >= 1200 and .overlay.path_mtu <= 1220 and .overlay.interface_mtu == 1420' \
    "through $wa: $(jq .overlay.path_mtu "$OUT") bytes cross the 1420-byte tunnel"
  expect '[.findings[].cause] == ["tunnel_black_hole"]' "the finding is tunnel_black_hole"
  expect '.recommended_mtu == .overlay.path_mtu' "MTU to configure on $wa: $(jq .recommended_mtu "$OUT")"
else
  say "wireguard-go is missing: skipped"
fi

step "healthy twin: the same 1280-byte link, ICMP let through"
ip netns exec "$R" nft delete table inet tern_mtu
for target in 192.0.2.2 2001:db8:2::2; do
  case $target in *:*) want_conf=1200 ;; *) want_conf=1220 ;; esac
  doctor 0 "$target"
  expect '.underlay.path_mtu == 1280 and .underlay.too_big_received > 0' \
    "$target: path MTU 1280, Packet Too Big received"
  expect '.underlay.kernel_pmtu_after == 1280' "$target: the kernel learned 1280"
  expect '.findings == [] and .healthy' "$target: no finding"
  expect ".recommended_mtu == $want_conf" "$target: MTU to configure $want_conf"
done

step "healthy twin: 1500 bytes everywhere"
set_link_mtu 1500
ip -n "$A" route flush cache
ip -n "$A" -6 route flush cache
for target in 192.0.2.2 2001:db8:2::2; do
  doctor 0 "$target"
  expect '.underlay.path_mtu == 1500 and .findings == []' "$target: path MTU 1500, no finding"
done

step "peer mode: tern in A and B, tunnel MTU 1420 over the 1500-byte path"
read -r ka_priv ka_pub < <(keypair)
read -r kb_priv kb_pub < <(keypair)
ia=$(iface_name ta)
ib=$(iface_name tb)
conf_interface "$TERN_WORK/$ia.conf" "$ka_priv" 51820 "10.77.0.1/24" 1420
conf_peer "$TERN_WORK/$ia.conf" "$kb_pub" "10.77.0.2/32" 192.0.2.2:51820
conf_interface "$TERN_WORK/$ib.conf" "$kb_priv" 51820 "10.77.0.2/24" 1420
conf_peer "$TERN_WORK/$ib.conf" "$ka_pub" "10.77.0.1/32" 198.51.100.2:51820
peer_up "$A" "$ia" "$TERN_WORK/$ia.conf" tern
peer_up "$B" "$ib" "$TERN_WORK/$ib.conf" tern
ping_check "$A" 10.77.0.2 3 1
for target in 10.77.0.2 "$kb_pub"; do
  doctor 0 "$target"
  expect '.mode == "peer" and .peer.interface == "'"$ia"'" and .peer.public_key == "'"$kb_pub"'"' \
    "$target: found the peer on $ia"
  expect '.overlay.path_mtu == 1420 and .overlay.interface == "'"$ia"'"' \
    "$target: 1420 bytes cross the tunnel (its MTU)"
  expect '.underlay.target == "192.0.2.2" and .underlay.path_mtu == 1500' \
    "$target: the endpoint's path carries 1500"
  expect '.findings == [] and .recommended_mtu == 1440' "$target: no finding, configure 1440"
  expect '.peer.agent_reports_mtu and .peer.agent_overlay_mtu > 0' \
    "$target: the agent's view: path MTU $(jq .peer.agent_path_mtu "$OUT"), overlay MTU $(jq .peer.agent_overlay_mtu "$OUT")"
done
read -r _ stranger_pub < <(keypair)
rc=0
ip netns exec "$A" timeout 30 "$TERN" doctor mtu "$stranger_pub" --json >"$OUT" 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "an unknown peer key: exit $rc, expected 1"
expect '[.findings[].cause] == ["peer_not_found"]' "an unknown key is peer_not_found"

step "usage errors exit 2"
rc=0
ip netns exec "$A" "$TERN" doctor mtu >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "no target: exit $rc, expected 2"
rc=0
ip netns exec "$A" "$TERN" doctor mtu 192.0.2.2 --tries 0 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--tries 0: exit $rc, expected 2"
ok "usage errors exit 2"

printf '\nPASS: doctor_mtu\n'
