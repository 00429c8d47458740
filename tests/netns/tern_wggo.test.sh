#!/usr/bin/env bash
# tern against Debian's wireguard-go, each side initiating once. The responder has no Endpoint
# for the initiator, so it can only learn it from the initiator's handshake.
#
#  +--------------------------------+                +--------------------------------+
#  | ns tern-t-PID                  |                | ns tern-w-PID                  |
#  |   tern: tt1PID / tt2PID        |                |   wireguard-go: tw1PID / tw2PID|
#  |   10.77.0.1/24 (MTU 1420)      |                |   10.77.0.2/24 (MTU 1420)      |
#  |   t0 192.0.2.1/24 udp/51820    +----- veth -----+   w0 192.0.2.2/24 udp/51820    |
#  +--------------------------------+                +--------------------------------+
#
#  round 1: tern has Endpoint 192.0.2.2:51820 and pings first; wireguard-go has no Endpoint.
#  round 2: wireguard-go has Endpoint 192.0.2.1:51820 and pings first; tern has no Endpoint.
#
# IMPL_TERN (default tern) and IMPL_WGGO (default wireguard-go) override the two sides.
# TRANSFER_MB sets the transfer size.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
IMPL_TERN=${IMPL_TERN:-tern}
IMPL_WGGO=${IMPL_WGGO:-wireguard-go}
MB=${TRANSFER_MB:-32}
netns_init
need_impl "$IMPL_TERN"
need_impl "$IMPL_WGGO"

step "topology: $IMPL_TERN in T <-> $IMPL_WGGO in W over one veth"
ns_create T
ns_create W
veth "$T" t0 192.0.2.1/24 "$W" w0 192.0.2.2/24
ok "T 192.0.2.1 <-> W 192.0.2.2"

# round NUMBER INITIATOR(t|w)
round() {
  local n=$1 init=$2 it iw ep_t="" ep_w="" kt_priv kt_pub kw_priv kw_pub
  it=$(iface_name "tt$n")
  iw=$(iface_name "tw$n")
  read -r kt_priv kt_pub < <(keypair)
  read -r kw_priv kw_pub < <(keypair)
  if [ "$init" = t ]; then ep_t=192.0.2.2:51820; else ep_w=192.0.2.1:51820; fi
  conf_interface "$TERN_WORK/$it.conf" "$kt_priv" 51820 10.77.0.1/24 1420
  conf_peer "$TERN_WORK/$it.conf" "$kw_pub" 10.77.0.2/32 "$ep_t"
  conf_interface "$TERN_WORK/$iw.conf" "$kw_priv" 51820 10.77.0.2/24 1420
  conf_peer "$TERN_WORK/$iw.conf" "$kt_pub" 10.77.0.1/32 "$ep_w"
  peer_up "$T" "$it" "$TERN_WORK/$it.conf" "$IMPL_TERN"
  peer_up "$W" "$iw" "$TERN_WORK/$iw.conf" "$IMPL_WGGO"

  if [ "$init" = t ]; then
    ping_check "$T" 10.77.0.2
  else
    ping_check "$W" 10.77.0.1
  fi
  wait_handshake "$T" "$it"
  wait_handshake "$W" "$iw"
  check "the responder learned the initiator's endpoint"
  if [ "$init" = t ]; then
    grep -q '192\.0\.2\.1:51820' <<<"$(wg_in "$W" show "$iw" endpoints)" ||
      fail "$IMPL_WGGO did not learn tern's endpoint: $(wg_in "$W" show "$iw" endpoints)"
  else
    grep -q '192\.0\.2\.2:51820' <<<"$(wg_in "$T" show "$it" endpoints)" ||
      fail "$IMPL_TERN did not learn wireguard-go's endpoint: $(wg_in "$T" show "$it" endpoints)"
  fi
  ok "endpoint learned"
  transfer_check "$T" "$W" 10.77.0.2 "$MB"
  transfer_check "$W" "$T" 10.77.0.1 "$MB"
  peer_down "$it"
  peer_down "$iw"
}

step "round 1: $IMPL_TERN initiates"
round 1 t
step "round 2: $IMPL_WGGO initiates"
round 2 w
printf '\nPASS: tern_wggo (%s <-> %s)\n' "$IMPL_TERN" "$IMPL_WGGO"
