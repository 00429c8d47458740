#!/usr/bin/env bash
# `tern doctor wg --stun` behind a real NAT: a wireguard-go peer with keepalive 25 s behind a
# router whose conntrack forgets idle UDP flows after 15 s. The doctor measures the mapping
# lifetime against coturn (RFC 5780 RESPONSE-PORT search) and must tell this peer
# "keepalive 25 s but this NAT forgets mappings after ~15 s: set PersistentKeepalive = 10";
# its healthy twin, the same peer with keepalive 10 s, gets no finding.
#
#  +---------------------------+     +------------------------------+     +-------------------------------+
#  | ns tern-a-PID             |     | ns tern-r-PID (NAT)          |     | ns tern-s-PID                 |
#  |  wireguard-go naPID       |     |  r0 10.0.0.1/24              |     |  s0 192.0.2.2, 192.0.2.3      |
#  |  10.77.0.1/24             |     |  r1 192.0.2.1/24             |     |  turnserver (RFC 5780)        |
#  |  c0 10.0.0.2/24 ----------+-veth+- masquerade, UDP ct 15 s ---+-veth+- wireguard-go nbPID 10.77.0.2|
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

# doctor NAME: measures the lifetime (up to 24 s) then samples IA for 3 s.
DOCTOR_RC=0
doctor() {
  DOCTOR_RC=0
  ip netns exec "$A" timeout 80 "$TERN" doctor wg "$IA" --stun stun:192.0.2.2 --lifetime-max 24s \
    --duration 3s --no-ping >"$TERN_WORK/$1.txt" 2>"$TERN_WORK/$1.err" || DOCTOR_RC=$?
  cat "$TERN_WORK/$1.txt"
  say "exit $DOCTOR_RC"
}

step "keepalive 25 s: the doctor measures the NAT and names the keepalive"
doctor short
[ "$DOCTOR_RC" -eq 1 ] || fail "exit $DOCTOR_RC, want 1"
grep -q "NAT mapping lifetime measured: ~1[3-7] s" "$TERN_WORK/short.txt" ||
  fail "the measured lifetime is not about 15 s"
grep -q "\[keepalive_exceeds_nat_lifetime\] keepalive 25 s but this NAT forgets mappings after ~1[3-7] s: set PersistentKeepalive = \(9\|10\|11\)" \
  "$TERN_WORK/short.txt" || fail "no keepalive finding with a fix of about 10 s"
ok "keepalive finding"

step "healthy twin: keepalive 10 s"
wg_in "$A" set "$IA" peer "$kb_pub" persistent-keepalive 10
doctor healthy
[ "$DOCTOR_RC" -eq 0 ] || fail "exit $DOCTOR_RC, want 0"
ok "no finding"
printf '\nPASS: doctor_wg_nat\n'
