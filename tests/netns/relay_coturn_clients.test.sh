#!/usr/bin/env bash
# coturn's client tools against `tern relay` over UDP: turnutils_stunclient gets its mapped
# address and the RFC 5780 lines, turnutils_uclient allocates with a static user and with a
# TURN REST secret, a private peer is refused (403) and counted, and /metrics follows it all.
#
#  +---------------------------+       +------------------------------+       +-------------------------+
#  | ns tern-c-PID (clients)   |       | ns tern-r-PID (tern relay)   |       | ns tern-p-PID (peer)    |
#  |  c0 198.51.100.2/24 ------+-veth--+- r0 198.51.100.1/24 udp/3478 |       |  turnutils_peer         |
#  |                           |       |     198.51.100.11/24 (other) |       |  p0 203.0.113.2/24      |
#  +---------------------------+       |  r1 203.0.113.1/24 relayed --+-veth--+- udp/3480               |
#                                      |  metrics 198.51.100.1:9641   |       +-------------------------+
#                                      +------------------------------+
#
# Not covered yet (the core answers 420 to them): coturn's uclient asks for EVEN-PORT on its
# allocations and binds channels from RFC 5766's wider range, so its relayed data run is
# reported, not asserted (see docs/relay.md, "Running tern relay").
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_impl tern
need_tools turnutils_stunclient turnutils_uclient turnutils_peer curl

step "topology: clients -> tern relay -> peer on documentation addresses"
ns_create C
ns_create R
ns_create P
veth "$C" c0 198.51.100.2/24 "$R" r0 198.51.100.1/24
veth "$P" p0 203.0.113.2/24 "$R" r1 203.0.113.1/24
ip -n "$R" addr add 198.51.100.11/24 dev r0

metric() {
  ip netns exec "$C" curl -s --max-time 5 http://198.51.100.1:9641/metrics |
    awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print "missing" }'
}
metrics_up() { [ "$(metric tern_relay_allocations)" != missing ]; }

ip netns exec "$R" "$TERN" relay --listen 198.51.100.1 --other-address 198.51.100.11 \
  --relay-address 203.0.113.1 --user alice:s3cret --secret north \
  --metrics 198.51.100.1:9641 --verbose >"$TERN_WORK/relay.log" 2>&1 &
RELAY_PID=$!
track_pid "$RELAY_PID"
wait_until 10 "tern relay to serve /metrics" metrics_up
ok "tern relay is up"
ip netns exec "$P" timeout 120 turnutils_peer -L 203.0.113.2 -p 3480 >"$TERN_WORK/peer.log" 2>&1 &
track_pid "$!"

step "turnutils_stunclient"
out=$(ip netns exec "$C" timeout 5 turnutils_stunclient 198.51.100.1 2>&1 || true)
printf '%s\n' "$out" | sed 's/^/   | /'
grep -q 'UDP reflexive addr: 198.51.100.2:' <<<"$out" || fail "stunclient got no mapped address"
ok "mapped address 198.51.100.2 reported"
grep -q 'Other addr: : 198.51.100.11:3479' <<<"$out" ||
  fail "stunclient did not report the RFC 5780 OTHER-ADDRESS 198.51.100.11:3479"
grep -q 'Response origin: : 198.51.100.1:3478' <<<"$out" || fail "no RESPONSE-ORIGIN line"
ok "RFC 5780: OTHER-ADDRESS and RESPONSE-ORIGIN reported"
[ "$(metric 'tern_relay_requests_total{method="binding"}')" -ge 1 ] || fail "binding not counted"

step "turnutils_uclient with a static user and with a REST secret"
before=$(metric tern_relay_allocations_total)
# uclient sometimes opens with its EVEN-PORT allocation, which the core refuses (420) and which
# ends that run; a few bounded attempts reach the plain allocation.
for attempt in $(seq 12); do
  ip netns exec "$C" timeout 20 turnutils_uclient -s -c -u alice -w s3cret -e 203.0.113.2 \
    -r 3480 -n 20 -l 200 -m 1 198.51.100.1 >"$TERN_WORK/uclient-user.log" 2>&1 || true
  [ "$(metric tern_relay_allocations_total)" -gt "$before" ] && break
done
mid=$(metric tern_relay_allocations_total)
for attempt in $(seq 12); do
  ip netns exec "$C" timeout 20 turnutils_uclient -s -c -W north -e 203.0.113.2 -r 3480 \
    -n 20 -l 200 -m 1 198.51.100.1 >"$TERN_WORK/uclient-rest.log" 2>&1 || true
  [ "$(metric tern_relay_allocations_total)" -gt "$mid" ] && break
done
after=$(metric tern_relay_allocations_total)
say "allocations_total $before -> $after"
[ "$mid" -gt "$before" ] || fail "uclient made no allocation with the static user alice"
[ "$after" -gt "$mid" ] || fail "uclient made no allocation with REST credentials from the secret"
ok "allocations made with a static user and with REST credentials"
if grep -q 'Total lost packets' "$TERN_WORK/uclient-user.log"; then
  say "uclient: $(grep 'Total lost packets' "$TERN_WORK/uclient-user.log" | tail -1)"
else
  say "uclient data run not completed: $(sort "$TERN_WORK/uclient-user.log" | uniq -c | sort -rn | head -1)"
fi

step "a wrong password is refused"
before=$(metric 'tern_relay_drops_total{reason="auth_failed"}')
ip netns exec "$C" timeout 10 turnutils_uclient -s -c -u alice -w wrong -e 203.0.113.2 -n 1 -m 1 \
  198.51.100.1 >"$TERN_WORK/uclient-wrong.log" 2>&1 || true
after=$(metric 'tern_relay_drops_total{reason="auth_failed"}')
say "auth_failed $before -> $after"
grep -q 'success' "$TERN_WORK/uclient-wrong.log" && fail "an allocation succeeded with a wrong password"
ok "no allocation with a wrong password"

step "a private peer is refused and counted"
before=$(metric 'tern_relay_drops_total{reason="forbidden_peer"}')
for attempt in $(seq 12); do
  out=$(ip netns exec "$C" timeout 10 turnutils_uclient -s -c -u alice -w s3cret -e 10.1.2.3 \
    -n 1 -m 1 198.51.100.1 2>&1 || true)
  grep -q '403' <<<"$out" && break
done
after=$(metric 'tern_relay_drops_total{reason="forbidden_peer"}')
grep -q '403' <<<"$out" || fail "uclient saw no 403 for the private peer 10.1.2.3"
[ "$after" -gt "$before" ] || fail "forbidden_peer stayed at $before in /metrics"
ok "403 for 10.1.2.3; forbidden_peer $before -> $after"

step "metrics and a clean stop"
ip netns exec "$C" curl -s --max-time 5 http://198.51.100.1:9641/nope -o /dev/null -w '%{http_code}' |
  grep -q 404 || fail "/nope is not 404"
kill -TERM "$RELAY_PID"
wait_until 10 "tern relay to exit after SIGTERM" sh -c "! kill -0 $RELAY_PID 2>/dev/null"
grep -q 'signal 15' "$TERN_WORK/relay.log" || fail "no shutdown line in the relay's log"
ok "tern relay stopped on SIGTERM"
printf '\nPASS: relay_coturn_clients\n'
