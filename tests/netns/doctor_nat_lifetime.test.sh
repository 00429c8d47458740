#!/usr/bin/env bash
# `tern doctor nat` measures a NAT's UDP mapping lifetime: the router's conntrack forgets idle
# UDP flows after 15 s (its namespace's nf_conntrack_udp_timeout and _stream), so the search
# must bracket 15 s within a few seconds, and a keepalive of 25 s gets the nat_short_lifetime
# finding with a keepalive that holds (about 10 s). Its healthy twin, run side by side on the
# same NAT, says the overlay keeps 9 s and gets no finding.
#
#  +----------------------+      +-----------------------------+      +----------------------+
#  | ns tern-c-PID        |      | ns tern-r-PID (NAT)         |      | ns tern-s-PID        |
#  |  c0 10.0.0.2/24 -----+-veth-+- r0 10.0.0.1/24             |      |  turnserver on       |
#  |  tern doctor nat x2  |      |  r1 192.0.2.1/24 -----------+-veth-+- s0 192.0.2.2 and    |
#  +----------------------+      |  masquerade, UDP ct 15 s    |      |     192.0.2.3 (5780) |
#                                +-----------------------------+      +----------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_nat.sh
. "$(dirname "$0")/lib_nat.sh"
netns_init
need_impl tern
need_tools turnserver jq
TIMEOUT_S=15

step "topology: client -> NAT router (UDP mappings live ${TIMEOUT_S} s) -> coturn"
nat_topology C
nat_masquerade
nat_udp_timeout "$TIMEOUT_S"
coturn_two_addresses

step "lifetime search up to 24 s (12 sockets idle side by side), keepalive 25 s and 9 s"
start=$SECONDS
ip netns exec "$C" timeout 80 "$TERN" doctor nat --stun stun:192.0.2.2 --lifetime-max 24s \
  --keepalive 9 --json >"$TERN_WORK/healthy.json" 2>/dev/null &
twin=$!
track_pid "$twin"
rc=0
ip netns exec "$C" timeout 80 "$TERN" doctor nat --stun stun:192.0.2.2 --lifetime-max 24s \
  >"$TERN_WORK/human.txt" 2>"$TERN_WORK/human.err" || rc=$?
twin_rc=0
wait "$twin" || twin_rc=$?
took=$((SECONDS - start))
cat "$TERN_WORK/human.txt"
say "both runs took ${took} s"
[ "$took" -le 45 ] || fail "the search took ${took} s: the intervals should idle in parallel"

check "the lifetime bracket holds ${TIMEOUT_S} s, within 3 s"
alive=$(jq -r .lifetime.alive_max_s "$TERN_WORK/healthy.json")
dead=$(jq -r .lifetime.dead_min_s "$TERN_WORK/healthy.json")
keep=$(jq -r .lifetime.keepalive_s "$TERN_WORK/healthy.json")
say "survived ${alive} s idle, lost at ${dead} s; keepalive that holds it: ${keep} s"
[ "$alive" != null ] && [ "$dead" != null ] || fail "no bracket: $(jq -c .lifetime "$TERN_WORK/healthy.json")"
[ "$alive" -ge $((TIMEOUT_S - 3)) ] && [ "$alive" -le "$TIMEOUT_S" ] || fail "survived ${alive} s"
[ "$dead" -ge "$TIMEOUT_S" ] && [ "$dead" -le $((TIMEOUT_S + 3)) ] || fail "lost at ${dead} s"
[ "$keep" -ge 8 ] && [ "$keep" -le 10 ] || fail "keepalive ${keep} s does not hold ${TIMEOUT_S} s with margin"
ok "between ${alive} and ${dead} s"

check "keepalive 25 s: nat_short_lifetime, exit 1"
[ "$rc" -eq 1 ] || fail "exit status $rc, want 1"
grep -q "\[nat_short_lifetime\] keepalive 25 s but this NAT forgets mappings after ~" \
  "$TERN_WORK/human.txt" || fail "no nat_short_lifetime finding"
ok "$(grep nat_short_lifetime "$TERN_WORK/human.txt")"

check "healthy twin (keepalive 9 s): no finding, exit 0"
[ "$twin_rc" -eq 0 ] || fail "exit status $twin_rc: $(jq -c .findings "$TERN_WORK/healthy.json")"
ok "no finding"
