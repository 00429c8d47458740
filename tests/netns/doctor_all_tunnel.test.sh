#!/usr/bin/env bash
# `tern doctor` alone on a tunnel between real wireguard-go peers, over lib_mtu.sh's black
# hole: one cause code per fault in --json, and a healthy twin that must report nothing.
#   black-hole  the router's link to B carries 1280 bytes and drops the ICMP that would say
#               so, under a tunnel MTU of 1420: tunnel_mtu_black_hole (the DF ping through it)
#   healthy     the same tunnel with the link at 1500: no finding, exit 0
#   flapping    A's peer endpoint alternates between 127.0.0.1 (a relay proxy, as NetBird
#               shows it) and B's address: endpoint_flapping
#
#  +------------------------+     +-------------------------------+     +------------------------+
#  | ns A                   |     | ns R (router)                 |     | ns B                   |
#  |  wireguard-go waPID    |     |  r1 mtu 1280 (then 1500)      |     |  wireguard-go wbPID    |
#  |  10.88.0.1/24 mtu 1420 |     |  nft: drop ICMP frag-needed   |     |  10.88.0.2/24 mtu 1420 |
#  |  198.51.100.2 ---------+-----+- 198.51.100.1   192.0.2.1 ---+-----+- 192.0.2.2             |
#  |  tern doctor           |     |                               |     |                        |
#  +------------------------+     +-------------------------------+     +------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_mtu.sh
. "$(dirname "$0")/lib_mtu.sh"
netns_init
need_impl tern
need_impl wireguard-go
need_tools jq

step "topology: a 1280-byte link with its Packet Too Big dropped, a 1420-byte tunnel over it"
mtu_topology 1280
IA=$(iface_name wa)
IB=$(iface_name wb)
mtu_pair wireguard-go "$IA" "$IB" 51820 10.88.0 fd00:88 4 1420
ping_check "$MTU_NS_A" 10.88.0.2 3
KB=$(wg_in "$MTU_NS_B" show "$IB" public-key)

# doctor NAME ARGS...: `tern doctor` in A, bounded, JSON in $TERN_WORK/NAME.json.
DOCTOR_RC=0
doctor() {
  local name=$1 start=$SECONDS
  shift
  DOCTOR_RC=0
  ip netns exec "$MTU_NS_A" timeout 60 "$TERN" doctor --json "$@" >"$TERN_WORK/$name.json" \
    2>"$TERN_WORK/$name.err" || DOCTOR_RC=$?
  jq -e . "$TERN_WORK/$name.json" >/dev/null || fail "$name: the --json output does not parse"
  say "$name: exit $DOCTOR_RC in $((SECONDS - start)) s, findings $(codes "$name")"
  jq -r '.findings[] | "     \(.severity) \(.subject.kind) [\(.code)] \(.message)"' \
    "$TERN_WORK/$name.json"
}
codes() { jq -r '[.findings[].code] | join(",")' "$TERN_WORK/$1.json"; }
skipped() { jq -r --arg c "$2" '.checks[] | select(.name == $c) | .skipped_because' "$TERN_WORK/$1.json"; }

step "black hole inside the tunnel"
doctor black-hole --duration 3s
[ "$DOCTOR_RC" -eq 1 ] || fail "exit $DOCTOR_RC, want 1"
[ "$(codes black-hole)" = tunnel_mtu_black_hole ] ||
  fail "findings: $(codes black-hole), want tunnel_mtu_black_hole"
[ "$(jq -r '.findings[0].subject.name' "$TERN_WORK/black-hole.json")" = "$KB" ] ||
  fail "the finding is not about B"
[ "$(jq -r '.findings[0].subject.interface' "$TERN_WORK/black-hole.json")" = "$IA" ] ||
  fail "the finding does not name $IA"
largest=$(jq -r '.details.wg[0].peers[0].df_ping.largest_answered' "$TERN_WORK/black-hole.json")
{ [ "$largest" -ge 1200 ] && [ "$largest" -le 1220 ]; } ||
  fail "the DF ping through the tunnel answered up to $largest, want 1200..1220"
jq -r '.findings[0].message' "$TERN_WORK/black-hole.json" | grep -q "set MTU $largest" ||
  fail "the fix is not MTU $largest"
# Only the interfaces of this namespace: B's socket is in /var/run/wireguard too.
[ "$(jq '.details.wg | length' "$TERN_WORK/black-hole.json")" = 1 ] || fail "read more than $IA"
case $(skipped black-hole nat) in *--stun*) ;; *) fail "the NAT check does not say --stun" ;; esac
ok "tunnel_mtu_black_hole at $largest bytes; the NAT check says: $(skipped black-hole nat)"

step "healthy twin: the link at 1500"
mtu_set_middle 1500
mtu_flush_pmtu "$MTU_NS_A"
doctor healthy --duration 3s
[ "$DOCTOR_RC" -eq 0 ] || fail "a healthy tunnel: exit $DOCTOR_RC, findings $(codes healthy)"
[ -z "$(codes healthy)" ] || fail "a healthy tunnel got findings: $(codes healthy)"
largest=$(jq -r '.details.wg[0].peers[0].df_ping.largest_answered' "$TERN_WORK/healthy.json")
[ "$largest" = 1420 ] || fail "the DF ping answered up to $largest, want 1420"
ok "nothing found; DF ping answered up to 1420"

step "an endpoint alternating between 127.0.0.1 (a relay proxy) and B's address"
flap() {
  local i
  for ((i = 0; i < 4; i++)); do
    wg_in "$MTU_NS_A" set "$IA" peer "$KB" endpoint 127.0.0.1:40999
    sleep 1.3
    wg_in "$MTU_NS_A" set "$IA" peer "$KB" endpoint "$MTU_B_V4:51820"
    sleep 1.3
  done
}
flap &
FLAP_PID=$!
track_pid "$FLAP_PID"
doctor flapping --duration 8s --no-ping
wait "$FLAP_PID" || true
[ "$DOCTOR_RC" -eq 1 ] || fail "exit $DOCTOR_RC, want 1"
[ "$(jq -r '.findings[0].code' "$TERN_WORK/flapping.json")" = endpoint_flapping ] ||
  fail "the first finding is not endpoint_flapping: $(codes flapping)"
jq -r '.findings[0].message' "$TERN_WORK/flapping.json" | grep -q "relayed and direct" ||
  fail "not told as direct/relay flapping"
case $(skipped flapping mtu) in *--no-ping*) ;; *) fail "the mtu check does not say --no-ping" ;; esac
ok "endpoint_flapping"
printf '\nPASS: doctor_all_tunnel\n'
