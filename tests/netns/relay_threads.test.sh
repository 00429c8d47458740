#!/usr/bin/env bash
# `tern relay` with several event loops (--threads): each loop has its own SO_REUSEPORT UDP
# listener, TCP listener and clients, and the kernel spreads clients over them by address and
# port. tests/tools/turn_pair's two clients (A and B) land on any loops; their
# allocations reach each other through the relayed addresses whichever loops they are in, so
# every run must pass byte for byte, over UDP and TCP. With --user-quota 1 and both clients as
# one static user, the second client's Allocate must get 486 in every run: were the quota per loop, the run where A and B land on
# different loops (2 in 3 with three loops) would pass instead. /metrics sums the loops.
# Then --threads 1 (one loop, the relay of before) relays the same.
#
#  +-------------------------------+          +----------------------------------------+
#  | ns tern-c-PID (clients)       |          | ns tern-s-PID (relay)                  |
#  |  c0 192.0.2.1/24 -------------+--veth----+- s0 192.0.2.3/24 tern relay 3478     |
#  |  turn_pair: clients A and B   |          |    metrics 192.0.2.3:9641              |
#  +-------------------------------+          +----------------------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_impl tern
need_tools curl
PAIR=${TERN_TOOLS:-}/turn_pair
[ -x "$PAIR" ] || skip "TERN_TOOLS/turn_pair is missing (build the tests/tools programs)"
"$TERN" relay --help 2>&1 | grep -q -- '--threads' || skip "this tern relay has no --threads"
RELAY=192.0.2.3
SECRET=threads-secret-$$

step "topology: clients <-> tern relay"
ns_create C
ns_create S
veth "$C" c0 192.0.2.1/24 "$S" s0 192.0.2.3/24

metric() { # NAME: its value (the sum of a labelled family), or "missing"
  ip netns exec "$C" curl -s --max-time 5 "http://$RELAY:9641/metrics" |
    awk -v m="$1" 'index($1, m) == 1 && (length($1) == length(m) || substr($1, length(m) + 1, 1) == "{") {
      s += $2; found = 1 } END { if (found) print s; else print "missing" }'
}
metrics_up() { [ "$(metric tern_relay_allocations)" != missing ] || ! kill -0 "$RELAY_PID" 2>/dev/null; }
relay_start() { # ARGS...: tern relay on $RELAY with them, serving /metrics
  ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" "$TERN" relay --listen "$RELAY" \
    --secret "$SECRET" --user alice:s3cret --allow 192.0.2.0/24 --metrics "$RELAY:9641" "$@" \
    >"$TERN_WORK/relay.log" 2>&1 &
  RELAY_PID=$!
  track_pid "$RELAY_PID"
  wait_until 10 "tern relay to serve /metrics" metrics_up
  kill -0 "$RELAY_PID" 2>/dev/null || { cat "$TERN_WORK/relay.log" >&2; fail "tern relay exited"; }
}
relay_stop() {
  kill -TERM "$RELAY_PID" 2>/dev/null || true
  wait "$RELAY_PID" 2>/dev/null || true
}
# pair NAME TRANSPORT EXPECT: one bounded turn_pair run; EXPECT pass (REST credentials, a name
# per client) or quota (the static user alice for both clients).
pair() {
  local name=$1 transport=$2 expect=$3 out rc=0 auth=(--secret "$SECRET")
  out="$TERN_WORK/pair-$name.txt"
  [ "$expect" = pass ] || auth=(--user alice --password s3cret)
  ip netns exec "$C" timeout 30 "$PAIR" --server "$RELAY:3478" --transport "$transport" \
    "${auth[@]}" --count 200 --size 1000 --rate 400 --seconds 15 >"$out" 2>&1 || rc=$?
  if [ "$expect" = pass ]; then
    [ "$rc" -eq 0 ] && grep -q '^PASS: every byte arrived' "$out" ||
      { sed 's/^/   | /' "$out"; fail "$name: not every message arrived intact (exit $rc)"; }
    ok "$name: 2 x 200 messages intact"
  else
    [ "$rc" -ne 0 ] && grep -qi '486\|quota' "$out" ||
      { sed 's/^/   | /' "$out"; fail "$name: expected the second allocation refused (486), exit $rc"; }
    ok "$name: the second allocation of the user was refused (486)"
  fi
}

step "three event loops: pairs over UDP and TCP, byte for byte"
relay_start --threads 3
grep -q "3 event loop(s)" "$TERN_WORK/relay.log" || { cat "$TERN_WORK/relay.log" >&2; fail "no '3 event loop(s)' in the log"; }
[ "$(metric tern_relay_event_loops)" = 3 ] || fail "tern_relay_event_loops is $(metric tern_relay_event_loops), not 3"
[ "$(ip netns exec "$S" ss -Hlun "src $RELAY:3478" | wc -l)" -eq 3 ] || fail "not three UDP sockets on $RELAY:3478"
[ "$(ip netns exec "$S" ss -Hltn "src $RELAY:3478" | wc -l)" -eq 3 ] || fail "not three TCP listeners on $RELAY:3478"
ok "three UDP sockets and three TCP listeners share $RELAY:3478 (SO_REUSEPORT)"
for i in 1 2 3; do pair "udp-$i" udp pass; done
pair tcp tcp pass
to_peer=$(metric tern_relay_packets_total)
[ "$to_peer" -ge $((4 * 2 * 2 * 200)) ] ||
  fail "/metrics counted $to_peer relayed packets, expected at least $((4 * 2 * 2 * 200))"
[ "$(metric tern_relay_allocations)" = 0 ] && [ "$(metric tern_relay_loop_allocations)" = 0 ] ||
  fail "allocations left after the pairs: $(metric tern_relay_allocations)"
ok "/metrics sums the loops: $to_peer packets relayed, no allocation left"
relay_stop

step "three event loops, --user-quota 1: the quota holds over the loops"
relay_start --threads 3 --user-quota 1
for i in 1 2 3 4; do pair "quota-$i" udp quota; done
drops=$(metric 'tern_relay_drops_total{reason="quota"}')
[ "$drops" -ge 4 ] || fail "quota drops in /metrics: $drops, expected at least 4"
ok "4 refusals counted (tern_relay_drops_total{reason=\"quota\"} $drops)"
relay_stop

step "one event loop (--threads 1)"
relay_start --threads 1
[ "$(metric tern_relay_event_loops)" = 1 ] || fail "tern_relay_event_loops is not 1"
[ "$(ip netns exec "$S" ss -Hlun "src $RELAY:3478" | wc -l)" -eq 1 ] || fail "not one UDP socket"
pair single-udp udp pass
relay_stop

printf '\nPASS: relay_threads\n'
