#!/usr/bin/env bash
# coturn's client tools against `tern relay` over UDP: turnutils_stunclient gets its mapped
# address and the RFC 5780 answers (OTHER-ADDRESS, RESPONSE-ORIGIN, RESPONSE-PORT);
# turnutils_uclient relays data over channels to turnutils_peer, with a static user and with a
# TURN REST secret, every packet echoed back and counted in /metrics; a wrong password gets no
# allocation and a private peer is refused (403) and counted.
#
#  +---------------------------+       +------------------------------+       +-------------------------+
#  | ns tern-c-PID (clients)   |       | ns tern-r-PID (tern relay)   |       | ns tern-p-PID (peer)    |
#  |  c0 198.51.100.2/24 ------+-veth--+- r0 198.51.100.1/24 udp/3478 |       |  turnutils_peer         |
#  |                           |       |     198.51.100.11/24 (other) |       |  p0 203.0.113.2/24      |
#  +---------------------------+       |  r1 203.0.113.1/24 relayed --+-veth--+- udp/3480               |
#                                      |  metrics 198.51.100.1:9641   |       +-------------------------+
#                                      +------------------------------+
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
# Its second test asks for the answer at its port + 1 (RESPONSE-PORT) from the other IP and port
# (CHANGE-REQUEST): it only hears it if both are honoured.
grep -q 'RFC 5780 response 2' <<<"$out" || fail "stunclient's RESPONSE-PORT test got no answer"
grep -q 'Response origin: : 198.51.100.11:3479' <<<"$out" ||
  fail "the RESPONSE-PORT answer did not come from the other address 198.51.100.11:3479"
ok "RFC 5780: RESPONSE-PORT with CHANGE-REQUEST answered at the requested port from the other address"
[ "$(metric 'tern_relay_requests_total{method="binding"}')" -ge 1 ] || fail "binding not counted"

step "turnutils_uclient relays over channels, with a static user and with a REST secret"
# -c: no RTCP allocations (they would ask for a port reservation, which tern does not offer);
# without -s uclient binds channels, numbered from RFC 5766's 0x4000-0x7FFF, and some of its
# allocations ask for EVEN-PORT. Four sessions of 50 packets of 200 bytes, echoed by the peer.
SESSIONS=4
PACKETS=50
SIZE=200
relay_run() { # name, then uclient's credential options
  local name=$1 log lost sent recv
  shift
  log="$TERN_WORK/uclient-$name.log"
  ip netns exec "$C" timeout 60 turnutils_uclient -c "$@" -e 203.0.113.2 -r 3480 \
    -n "$PACKETS" -l "$SIZE" -m "$SESSIONS" -z 5 198.51.100.1 >"$log" 2>&1 ||
    { tail -20 "$log" | sed 's/^/   | /'; fail "uclient ($name) exited with an error"; }
  lost=$(grep -o 'Total lost packets [0-9]*' "$log" | tail -1 | awk '{ print $4 }')
  sent=$(grep -o 'tot_send_msgs=[0-9]*' "$log" | tail -1 | cut -d= -f2)
  recv=$(grep -o 'tot_recv_msgs=[0-9]*' "$log" | tail -1 | cut -d= -f2)
  say "uclient ($name): sent ${sent:-?}, received ${recv:-?}, lost ${lost:-?}"
  [ -n "$lost" ] && [ -n "$sent" ] && [ -n "$recv" ] || {
    tail -20 "$log" | sed 's/^/   | /'
    fail "uclient ($name) did not complete its data run"
  }
  [ "$sent" -eq $((SESSIONS * PACKETS)) ] ||
    fail "uclient ($name) sent $sent, not $((SESSIONS * PACKETS))"
  [ "$recv" -eq "$sent" ] || fail "uclient ($name): $recv of $sent packets came back"
  [ "$lost" -eq 0 ] ||
    fail "uclient ($name): $recv of $sent packets came back ($lost lost)"
  if grep -E 'error [0-9]{3}' "$log"; then fail "uclient ($name) had a request refused"; fi
  ok "uclient ($name): $sent packets relayed over channels and echoed back, 0 lost"
}
counters() {
  printf '%s %s %s %s %s %s' "$(metric tern_relay_allocations_total)" \
    "$(metric 'tern_relay_requests_total{method="channel_bind"}')" \
    "$(metric 'tern_relay_packets_total{direction="to_peer"}')" \
    "$(metric 'tern_relay_packets_total{direction="to_client"}')" \
    "$(metric 'tern_relay_bytes_total{direction="to_peer"}')" \
    "$(metric 'tern_relay_bytes_total{direction="to_client"}')"
}
check_growth() { # name, counters before, counters after
  local name=$1 n=$((SESSIONS * PACKETS)) b a
  read -r -a b <<<"$2"
  read -r -a a <<<"$3"
  say "$name: allocations ${b[0]} -> ${a[0]}, channel_bind ${b[1]} -> ${a[1]}," \
    "packets to_peer ${b[2]} -> ${a[2]}, to_client ${b[3]} -> ${a[3]}," \
    "bytes to_peer ${b[4]} -> ${a[4]}, to_client ${b[5]} -> ${a[5]}"
  [ $((a[0] - b[0])) -ge "$SESSIONS" ] || fail "$name: fewer than $SESSIONS allocations counted"
  [ $((a[1] - b[1])) -ge "$SESSIONS" ] || fail "$name: fewer than $SESSIONS channel binds counted"
  [ $((a[2] - b[2])) -ge "$n" ] || fail "$name: packets to_peer grew by $((a[2] - b[2])), not $n"
  [ $((a[3] - b[3])) -ge "$n" ] ||
    fail "$name: packets to_client grew by $((a[3] - b[3])), not $n"
  [ $((a[4] - b[4])) -ge $((n * SIZE)) ] || fail "$name: bytes to_peer grew by less than $((n * SIZE))"
  [ $((a[5] - b[5])) -ge $((n * SIZE)) ] ||
    fail "$name: bytes to_client grew by less than $((n * SIZE))"
  ok "$name: /metrics counted the allocations, channels and relayed packets and bytes both ways"
}
before=$(counters)
relay_run user -u alice -w s3cret
mid=$(counters)
check_growth "static user" "$before" "$mid"
relay_run rest -W north
after=$(counters)
check_growth "REST secret" "$mid" "$after"
[ "$(metric 'tern_relay_drops_total{reason="no_channel"}')" = 0 ] ||
  fail "ChannelData arrived on unbound channels"

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
out=$(ip netns exec "$C" timeout 10 turnutils_uclient -s -c -u alice -w s3cret -e 10.1.2.3 \
  -n 1 -m 1 198.51.100.1 2>&1 || true)
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
