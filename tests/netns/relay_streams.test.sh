#!/usr/bin/env bash
# TURN over TCP and TLS: coturn's turnutils_uclient allocates over a TCP connection (-t) and
# over TLS (-t -S) to `tern relay` and relays data over channels to turnutils_peer, every packet
# echoed back; /metrics counts the connections. A client that sends garbage is cut off and
# counted, and missing or mismatched TLS files are refused with a message naming the option.
#
#  +---------------------------+       +------------------------------+       +-------------------------+
#  | ns tern-c-PID (clients)   |       | ns tern-r-PID (tern relay)   |       | ns tern-p-PID (peer)    |
#  |  c0 198.51.100.2/24 ------+-veth--+- r0 198.51.100.1/24          |       |  turnutils_peer         |
#  |                           |       |   udp+tcp/3478, tls/5349     |       |  p0 203.0.113.2/24      |
#  +---------------------------+       |  r1 203.0.113.1/24 relayed --+-veth--+- udp/3480               |
#                                      |  metrics 198.51.100.1:9641   |       +-------------------------+
#                                      +------------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_impl tern
need_tools turnutils_uclient turnutils_peer curl openssl

step "a self-signed certificate for the relay, and a key that does not match it"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=relay.test -keyout "$TERN_WORK/relay.key" -out "$TERN_WORK/relay.crt" \
  >/dev/null 2>&1 || fail "openssl could not make a certificate"
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -out "$TERN_WORK/other.key" >/dev/null 2>&1 || fail "openssl could not make a key"
ok "certificate and keys in $TERN_WORK"

step "topology: clients -> tern relay -> peer on documentation addresses"
ns_create C
ns_create R
ns_create P
veth "$C" c0 198.51.100.2/24 "$R" r0 198.51.100.1/24
veth "$P" p0 203.0.113.2/24 "$R" r1 203.0.113.1/24

step "bad TLS files are refused, naming the option"
refused() { # expected text, then tern relay's TLS options
  local want=$1 out rc=0
  shift
  out=$(ip netns exec "$R" timeout 10 "$TERN" relay --listen 198.51.100.1:4000 --user a:b --no-tcp "$@" 2>&1) || rc=$?
  say "exit $rc: $(head -1 <<<"$out")"
  [ "$rc" -ne 0 ] || fail "tern relay started with $*"
  grep -q -- "$want" <<<"$out" || fail "the error for $* does not name $want"
}
refused --tls-cert --tls-cert "$TERN_WORK/missing.crt" --tls-key "$TERN_WORK/relay.key"
refused --tls-key --tls-cert "$TERN_WORK/relay.crt" --tls-key "$TERN_WORK/missing.key"
refused --tls-key --tls-cert "$TERN_WORK/relay.crt" --tls-key "$TERN_WORK/other.key"
refused --tls-key --tls-cert "$TERN_WORK/relay.crt"
ok "missing files, a key of another certificate and a lone --tls-cert are refused"

metric() {
  ip netns exec "$C" curl -s --max-time 5 http://198.51.100.1:9641/metrics |
    awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print "missing" }'
}
metrics_up() { [ "$(metric tern_relay_allocations)" != missing ]; }

ip netns exec "$R" "$TERN" relay --listen 198.51.100.1 --relay-address 203.0.113.1 \
  --user alice:s3cret --secret north --tls-cert "$TERN_WORK/relay.crt" \
  --tls-key "$TERN_WORK/relay.key" --metrics 198.51.100.1:9641 --verbose \
  >"$TERN_WORK/relay.log" 2>&1 &
RELAY_PID=$!
track_pid "$RELAY_PID"
wait_until 10 "tern relay to serve /metrics" metrics_up
grep -q 'tcp 198.51.100.1:3478' "$TERN_WORK/relay.log" || fail "no TCP listener in the log"
grep -q 'tls 198.51.100.1:5349' "$TERN_WORK/relay.log" || fail "no TLS listener in the log"
ok "tern relay is up on UDP and TCP 3478 and TLS 5349"
ip netns exec "$P" timeout 120 turnutils_peer -L 203.0.113.2 -p 3480 >"$TERN_WORK/peer.log" 2>&1 &
track_pid "$!"

SESSIONS=4
PACKETS=50
SIZE=200
relay_run() { # name, then uclient's transport and credential options
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
  [ "$sent" -eq $((SESSIONS * PACKETS)) ] || fail "uclient ($name) sent $sent, not $((SESSIONS * PACKETS))"
  [ "$recv" -eq "$sent" ] && [ "$lost" -eq 0 ] ||
    fail "uclient ($name): $recv of $sent packets came back ($lost lost)"
  if grep -E 'error [0-9]{3}' "$log"; then fail "uclient ($name) had a request refused"; fi
  ok "uclient ($name): $sent packets relayed and echoed back, 0 lost"
}

step "turnutils_uclient over TCP (-t), static user and REST secret"
before=$(metric 'tern_relay_connections_total{transport="tcp"}')
relay_run tcp-user -t -u alice -w s3cret
relay_run tcp-rest -t -W north
after=$(metric 'tern_relay_connections_total{transport="tcp"}')
say "TCP connections accepted: $before -> $after"
[ "$((after - before))" -ge $((2 * SESSIONS)) ] || fail "fewer than $((2 * SESSIONS)) TCP connections counted"
ok "/metrics counted the TCP connections"

step "turnutils_uclient over TLS (-t -S)"
before=$(metric 'tern_relay_connections_total{transport="tls"}')
relay_run tls-user -t -S -p 5349 -u alice -w s3cret
after=$(metric 'tern_relay_connections_total{transport="tls"}')
say "TLS connections accepted: $before -> $after"
[ "$((after - before))" -ge "$SESSIONS" ] || fail "fewer than $SESSIONS TLS connections counted"
ok "/metrics counted the TLS connections"
wait_until 10 "the allocations of closed connections to end" \
  sh -c "[ \"\$(ip netns exec $C curl -s --max-time 5 http://198.51.100.1:9641/metrics |
    awk '\$1 == \"tern_relay_allocations\" { print \$2 }')\" = 0 ]"
ok "every allocation ended with its connection"

step "a client sending garbage over TCP and TLS is cut off"
before=$(metric 'tern_relay_connections_closed_total{transport="tcp",reason="framing"}')
# 0xFF: neither STUN (top bits 00) nor ChannelData (01).
printf '\377 not STUN at all\r\n' | ip netns exec "$C" timeout 5 nc -q 2 198.51.100.1 3478 >/dev/null 2>&1 || true
after=$(metric 'tern_relay_connections_closed_total{transport="tcp",reason="framing"}')
[ "$after" -gt "$before" ] || fail "garbage on the TCP port was not counted as out of step"
before=$(metric 'tern_relay_connections_closed_total{transport="tls",reason="tls"}')
printf 'plain text, not TLS\r\n\r\n' | ip netns exec "$C" timeout 5 nc -q 2 198.51.100.1 5349 >/dev/null 2>&1 || true
after=$(metric 'tern_relay_connections_closed_total{transport="tls",reason="tls"}')
[ "$after" -gt "$before" ] || fail "plain text on the TLS port was not counted as a TLS failure"
kill -0 "$RELAY_PID" || fail "tern relay died"
ok "closed and counted; the relay runs on"

step "a clean stop"
kill -TERM "$RELAY_PID"
wait_until 10 "tern relay to exit after SIGTERM" sh -c "! kill -0 $RELAY_PID 2>/dev/null"
ok "tern relay stopped on SIGTERM"
printf '\nPASS: relay_streams\n'
