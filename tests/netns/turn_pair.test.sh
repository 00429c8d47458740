#!/usr/bin/env bash
# Two tern TURN clients exchanging data through a TURN server, checked byte for byte (issue 3
# §4): tests/tools/turn_pair allocates twice, gives each allocation a permission and a channel
# for the other's relayed address, and sends 400 messages of 1000 bytes each way (Send
# indications first, ChannelData once bound). Through coturn's turnserver and through
# `tern relay`, each over UDP, TCP and TLS (relayed data is UDP either way), with a static user
# on one and a REST secret on the other. Every message must arrive intact, exactly once.
#
#  +-------------------------------+          +----------------------------------------+
#  | ns tern-c-PID (clients)       |          | ns tern-s-PID (servers)                |
#  |  c0 192.0.2.1/24 -------------+--veth----+- s0 192.0.2.2/24 coturn 3478/5349      |
#  |  turn_pair: clients A and B   |          |     192.0.2.3/24 tern relay 3478/5349  |
#  +-------------------------------+          +----------------------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_impl tern
need_tools turnserver openssl
PAIR=${TERN_TOOLS:-}/turn_pair
[ -x "$PAIR" ] || skip "TERN_TOOLS/turn_pair is missing (build the tests/tools programs)"
REALM=tern.test
SECRET=pair-secret-$$
COTURN=192.0.2.2
RELAY=192.0.2.3

step "topology: clients <-> coturn and tern relay on one link"
ns_create C
ns_create S
veth "$C" c0 192.0.2.1/24 "$S" s0 192.0.2.2/24
ip -n "$S" addr add 192.0.2.3/24 dev s0

step "a CA and one server certificate for both servers"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 60 \
  -subj "/CN=tern test CA $$" -keyout "$TERN_WORK/ca.key" -out "$TERN_WORK/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=turn.$REALM" \
  -keyout "$TERN_WORK/server.key" -out "$TERN_WORK/server.csr" 2>/dev/null
printf 'subjectAltName=IP:%s,IP:%s\n' "$COTURN" "$RELAY" >"$TERN_WORK/san.ext"
openssl x509 -req -in "$TERN_WORK/server.csr" -CA "$TERN_WORK/ca.pem" -CAkey "$TERN_WORK/ca.key" \
  -CAcreateserial -days 60 -extfile "$TERN_WORK/san.ext" -out "$TERN_WORK/server.pem" 2>/dev/null
chmod 644 "$TERN_WORK/server.key"

listening() { [ -n "$(ip netns exec "$S" ss -Hl"$1" "src $2 and sport = :$3")" ]; }
ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" turnserver -n --log-file stdout \
  --listening-ip "$COTURN" --relay-ip "$COTURN" --listening-port 3478 --tls-listening-port 5349 \
  --cert "$TERN_WORK/server.pem" --pkey "$TERN_WORK/server.key" --realm "$REALM" \
  --min-port 49152 --max-port 49352 --no-dtls --no-cli --fingerprint \
  --lt-cred-mech --user alice:s3cret >"$TERN_WORK/coturn.log" 2>&1 &
track_pid "$!"
relay_start() {
  ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" "$TERN" relay --listen "$RELAY" \
    --realm "$REALM" --secret "$SECRET" --allow 192.0.2.0/24 "$@" >"$TERN_WORK/relay.log" 2>&1 &
  RELAY_PID=$!
  track_pid "$RELAY_PID"
}
relay_up() { listening un "$RELAY" 3478 || ! kill -0 "$RELAY_PID" 2>/dev/null; }
# What this tern relay offers, from its own help: TCP and TLS came after UDP.
relay_help=$("$TERN" relay --help 2>&1 || true)
RELAY_TCP=no
RELAY_TLS=no
grep -q -- '--no-tcp' <<<"$relay_help" && RELAY_TCP=yes
grep -q -- '--tls-cert' <<<"$relay_help" && RELAY_TLS=yes
if [ "$RELAY_TLS" = yes ]; then
  relay_start --tls-cert "$TERN_WORK/server.pem" --tls-key "$TERN_WORK/server.key"
else
  relay_start
fi
wait_until 10 "tern relay to listen or exit" relay_up
if ! kill -0 "$RELAY_PID" 2>/dev/null; then
  # A tern whose relay has no TLS listener yet: the TLS case through it is skipped, loudly.
  grep -q "TLS listeners are not built" "$TERN_WORK/relay.log" ||
    { cat "$TERN_WORK/relay.log" >&2; fail "tern relay did not start"; }
  say "this tern relay has no TLS listener built yet: its TLS case is skipped"
  RELAY_TLS=no
  relay_start
fi
listeners=("un $COTURN 3478" "tn $COTURN 3478" "tn $COTURN 5349" "un $RELAY 3478")
[ "$RELAY_TCP" = no ] || listeners+=("tn $RELAY 3478")
[ "$RELAY_TLS" = no ] || listeners+=("tn $RELAY 5349")
for a in "${listeners[@]}"; do
  # shellcheck disable=SC2086 # the words are listening's arguments
  wait_until 10 "a listener ($a)" listening $a
done
ok "coturn on $COTURN and tern relay on $RELAY listen (tern relay TCP: $RELAY_TCP, TLS: $RELAY_TLS)"

# pair NAME SERVER:PORT TRANSPORT CREDENTIALS...: one turn_pair run in C, bounded.
pair() {
  local name=$1 server=$2 transport=$3 out rc=0
  shift 3
  out="$TERN_WORK/pair-$name.txt"
  ip netns exec "$C" timeout 40 "$PAIR" --server "$server" --transport "$transport" \
    --ca-file "$TERN_WORK/ca.pem" --count 400 --size 1000 --rate 400 --seconds 25 "$@" \
    >"$out" 2>&1 || rc=$?
  sed 's/^/   | /' "$out"
  [ "$rc" -eq 0 ] || fail "$name: turn_pair exited $rc"
  grep -q '^PASS: every byte arrived' "$out" || fail "$name: not every message arrived intact"
  # Both framings were used: some Send indications, then ChannelData.
  grep -q 'as ChannelData' "$out" || fail "$name: no per-direction summary"
  ok "$name: 2 x 400 messages intact, each once"
}

port_of() { if [ "$1" = tls ]; then echo 5349; else echo 3478; fi; }
for transport in udp tcp tls; do
  step "through coturn over $transport (static user)"
  pair "coturn-$transport" "$COTURN:$(port_of $transport)" "$transport" --user alice \
    --password s3cret
done
for transport in udp tcp tls; do
  if [ "$transport" = tcp ] && [ "$RELAY_TCP" = no ]; then continue; fi
  if [ "$transport" = tls ] && [ "$RELAY_TLS" = no ]; then continue; fi
  step "through tern relay over $transport (REST secret)"
  pair "relay-$transport" "$RELAY:$(port_of $transport)" "$transport" --secret "$SECRET"
done
printf '\nPASS: turn_pair (two tern TURN clients through coturn and tern relay, UDP/TCP/TLS)\n'
