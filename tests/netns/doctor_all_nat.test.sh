#!/usr/bin/env bash
# `tern doctor` alone behind a real NAT, with real wireguard-go peers: it finds the WireGuard
# interface, measures the NAT against coturn while it samples the interface, and reports one
# cause code per fault in --json; each fault has a healthy twin that must report nothing.
#   keepalive   keepalive 25 s, NAT forgets idle UDP after 15 s: keepalive_exceeds_nat_lifetime
#   healthy     keepalive 10 s, the same NAT: no finding, exit 0
#   symmetric   the NAT takes a random port per flow: nat_symmetric
#
#  +---------------------------+     +------------------------------+     +-------------------------------+
#  | ns tern-a-PID             |     | ns tern-r-PID (NAT)          |     | ns tern-s-PID                 |
#  |  wireguard-go naPID       |     |  r0 10.0.0.1/24              |     |  s0 192.0.2.2, 192.0.2.3      |
#  |  10.77.0.1/24             |     |  r1 192.0.2.1/24             |     |  turnserver (RFC 5780)        |
#  |  c0 10.0.0.2/24 ----------+-veth+- masquerade, UDP ct 15 s ---+-veth+- wireguard-go nbPID 10.77.0.2|
#  |  tern doctor              |     |                              |     |                               |
#  +---------------------------+     +------------------------------+     +-------------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_nat.sh
. "$(dirname "$0")/lib_nat.sh"
netns_init
need_impl tern
need_impl wireguard-go
need_tools turnserver jq

nat_wireguard_go_pair

# doctor NAME ARGS...: `tern doctor` in A, bounded, JSON in $TERN_WORK/NAME.json.
DOCTOR_RC=0
doctor() {
  local name=$1 start=$SECONDS
  shift
  DOCTOR_RC=0
  ip netns exec "$A" timeout 80 "$TERN" doctor --stun stun:192.0.2.2 --duration 3s --json "$@" \
    >"$TERN_WORK/$name.json" 2>"$TERN_WORK/$name.err" || DOCTOR_RC=$?
  jq -e . "$TERN_WORK/$name.json" >/dev/null || fail "$name: the --json output does not parse"
  say "$name: exit $DOCTOR_RC in $((SECONDS - start)) s, findings $(codes "$name")"
  jq -r '.findings[] | "     \(.severity) \(.subject.kind) [\(.code)] \(.message)"' \
    "$TERN_WORK/$name.json"
}
codes() { jq -r '[.findings[].code] | join(",")' "$TERN_WORK/$1.json"; }
ran() { jq -e --arg c "$2" '.checks[] | select(.name == $c) | .ran' "$TERN_WORK/$1.json" >/dev/null; }

step "keepalive 25 s: the doctor measures the NAT while it samples, and names the keepalive"
doctor keepalive --lifetime-max 24s
[ "$DOCTOR_RC" -eq 1 ] || fail "exit $DOCTOR_RC, want 1"
for c in wg mtu nat nat_lifetime; do ran keepalive "$c" || fail "check $c did not run"; done
[ "$(jq -r '.findings[0].code' "$TERN_WORK/keepalive.json")" = keepalive_exceeds_nat_lifetime ] ||
  fail "the first finding is not keepalive_exceeds_nat_lifetime: $(codes keepalive)"
jq -r '.findings[0].message' "$TERN_WORK/keepalive.json" |
  grep -q "keepalive 25 s but this NAT forgets mappings after ~1[3-7] s: set PersistentKeepalive = \(9\|10\|11\)" ||
  fail "no fix of about 10 s: $(jq -r '.findings[0].message' "$TERN_WORK/keepalive.json")"
[ "$(jq -r '.findings[0].subject.name' "$TERN_WORK/keepalive.json")" = "$kb_pub" ] ||
  fail "the finding is not about the peer"
[[ "$(codes keepalive)" != *nat_short_lifetime* ]] || fail "the NAT check repeats the keepalive finding"
elapsed=$(jq -r '.elapsed_s | floor' "$TERN_WORK/keepalive.json")
[ "$elapsed" -lt 40 ] || fail "the run took $elapsed s: the window and the lifetime search did not overlap"
ok "keepalive_exceeds_nat_lifetime first, in $elapsed s"

step "healthy twin: keepalive 10 s behind the same NAT"
wg_in "$A" set "$IA" peer "$kb_pub" persistent-keepalive 10
doctor healthy --lifetime-max 24s
[ "$DOCTOR_RC" -eq 0 ] || fail "a healthy overlay: exit $DOCTOR_RC, findings $(codes healthy)"
[ -z "$(codes healthy)" ] || fail "a healthy overlay got findings: $(codes healthy)"
[ "$(jq -r '.details.nat.mapping' "$TERN_WORK/healthy.json")" = endpoint-independent ] ||
  fail "masquerade is not endpoint-independent here"
ok "nothing found"

step "symmetric NAT: masquerade with a random port per flow"
nat_masquerade_random
doctor symmetric --quick
[ "$DOCTOR_RC" -eq 1 ] || fail "exit $DOCTOR_RC, want 1"
[ "$(codes symmetric)" = nat_symmetric ] || fail "findings: $(codes symmetric), want nat_symmetric"
jq -r '.findings[0].message' "$TERN_WORK/symmetric.json" | grep -q "through the relay" ||
  fail "the message does not say traffic goes through the relay"
[ "$(jq -r '.checks[] | select(.name == "nat_lifetime") | .skipped_because' \
  "$TERN_WORK/symmetric.json")" = --quick ] || fail "--quick did not skip the lifetime search"
ok "nat_symmetric"
printf '\nPASS: doctor_all_nat\n'
