#!/usr/bin/env bash
# tern's TURN client against coturn's turnserver over UDP, TCP and TLS (issue 3 §4), driven by
# `tern doctor relay --json`: with a static user and with a TURN REST secret, every transport
# allocates and relays a round trip with 0 % loss (over TLS the largest packet is found too),
# the TLS certificate is checked against the test's CA (and named untrusted without it), and
# the causes of failure are named over the stream transports: a wrong password, a wrong
# secret, an expired REST credential, a refused TCP connection.
#
#  +-------------------------------+          +-------------------------------------+
#  | ns tern-c-PID (doctor)        |          | ns tern-s-PID (coturn)              |
#  |  c0 192.0.2.1/24 -------------+--veth----+- s0 192.0.2.2/24                    |
#  |  client (udp/tcp/tls) + peer  |          |  turnserver udp+tcp/3478, tls/5349  |
#  +-------------------------------+          +-------------------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_impl tern
need_tools turnserver jq openssl
REALM=tern.test
SECRET=coturn-secret-$$
SERVER=192.0.2.2
URLS=("turn:$SERVER:3478?transport=udp" "turn:$SERVER:3478?transport=tcp" "turns:$SERVER:5349")

step "topology: doctor <-> coturn on one link"
ns_create C
ns_create S
veth "$C" c0 192.0.2.1/24 "$S" s0 192.0.2.2/24

step "a CA and a server certificate for $SERVER (and turn.$REALM)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 60 \
  -subj "/CN=tern test CA $$" -keyout "$TERN_WORK/ca.key" -out "$TERN_WORK/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=turn.$REALM" \
  -keyout "$TERN_WORK/server.key" -out "$TERN_WORK/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:turn.%s,IP:%s\n' "$REALM" "$SERVER" >"$TERN_WORK/san.ext"
openssl x509 -req -in "$TERN_WORK/server.csr" -CA "$TERN_WORK/ca.pem" -CAkey "$TERN_WORK/ca.key" \
  -CAcreateserial -days 60 -extfile "$TERN_WORK/san.ext" -out "$TERN_WORK/server.pem" 2>/dev/null
chmod 644 "$TERN_WORK/server.key"

listening() { [ -n "$(ip netns exec "$S" ss -Hl"$1" "sport = :$2")" ]; }
COTURN_PID=""
coturn_start() {
  local log=$1
  shift
  ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" turnserver -n --log-file stdout \
    --listening-ip "$SERVER" --relay-ip "$SERVER" --listening-port 3478 --tls-listening-port 5349 \
    --cert "$TERN_WORK/server.pem" --pkey "$TERN_WORK/server.key" --realm "$REALM" \
    --min-port 49152 --max-port 49352 --no-dtls --no-cli --fingerprint "$@" >"$log" 2>&1 &
  COTURN_PID=$!
  track_pid "$COTURN_PID"
  wait_until 10 "turnserver on udp/3478" listening un 3478
  wait_until 10 "turnserver on tcp/3478" listening tn 3478
  wait_until 10 "turnserver on tls/5349" listening tn 5349
}
coturn_stop() {
  kill -TERM "$COTURN_PID" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while kill -0 "$COTURN_PID" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { kill -KILL "$COTURN_PID" 2>/dev/null || true; break; }
    sleep 0.1
  done
}

# doctor OUT ARGS...: `tern doctor relay --json` in C, bounded; status in DOCTOR_RC. The
# largest-packet search is skipped unless LARGEST says how long it may take.
DOCTOR_RC=0
LARGEST=0
doctor() {
  local out=$1
  shift
  DOCTOR_RC=0
  ip netns exec "$C" timeout 60 "$TERN" doctor relay --json --duration 1s --rate 100/s \
    --largest-search "$LARGEST" "$@" >"$out" 2>"$out.err" || DOCTOR_RC=$?
}
# expect_json FILE WHAT JQ: fails naming WHAT unless JQ holds on FILE.
expect_json() {
  jq -e "$3" "$1" >/dev/null || { cat "$1" >&2; fail "$2"; }
}
# A URL whose allocation and round trip passed with every probe back.
PASSED='.checks.allocation.status == "pass" and .round_trip.sent == 100
        and .round_trip.received == 100 and .round_trip.loss_percent == 0
        and (.relayed_address | startswith("192.0.2.2:"))'

step "static user: UDP, TCP and TLS allocate and relay with 0 % loss"
coturn_start "$TERN_WORK/coturn1.log" --lt-cred-mech --user user:pass
doctor "$TERN_WORK/static.json" "${URLS[@]}" --user user --password pass \
  --ca-file "$TERN_WORK/ca.pem"
[ "$DOCTOR_RC" -eq 0 ] || { cat "$TERN_WORK/static.json" "$TERN_WORK/static.json.err" >&2; fail "static user: status $DOCTOR_RC"; }
expect_json "$TERN_WORK/static.json" "static user: a transport did not pass" \
  "[.urls[] | $PASSED] == [true, true, true]"
expect_json "$TERN_WORK/static.json" "transports not as asked" \
  '[.urls[].transport] == ["udp", "tcp", "tls"]'
expect_json "$TERN_WORK/static.json" "TLS facts missing" \
  '.urls[2].checks.tls.status == "pass" and .urls[2].tls.certificate.trusted
   and .urls[2].tls.certificate.name_matches and (.urls[2].tls.protocol | startswith("TLSv1."))
   and (.urls[2].connect_ms | type) == "number"'
jq -r '.urls[] | "\(.transport): mapped \(.mapped_address), relayed \(.relayed_address), rtt avg \(.round_trip.rtt_ms.avg) ms, loss \(.round_trip.loss_percent) %"' \
  "$TERN_WORK/static.json" | while read -r line; do say "$line"; done
ok "UDP, TCP and TLS pass with a static user"

step "largest packet over TLS: the relay-to-peer leg, 1500 - 28 bytes on this link"
LARGEST=8s doctor "$TERN_WORK/largest.json" "${URLS[2]}" --user user --password pass \
  --ca-file "$TERN_WORK/ca.pem"
expect_json "$TERN_WORK/largest.json" "largest packet over TLS not 1472 with DONT-FRAGMENT" \
  '.urls[0].largest_packet.payload_bytes == 1472 and .urls[0].largest_packet.dont_fragment
   and .urls[0].checks.largest_packet.status == "pass"'
ok "1472 bytes relayed with DONT-FRAGMENT over TLS"

step "TLS without the test's CA: the certificate is named untrusted, the relay still checked"
doctor "$TERN_WORK/untrusted.json" "turns:$SERVER:5349" --user user --password pass
[ "$DOCTOR_RC" -eq 1 ] || fail "untrusted certificate: status $DOCTOR_RC, expected 1"
expect_json "$TERN_WORK/untrusted.json" "untrusted certificate not named" \
  '.urls[0].checks.tls.status == "fail" and (.urls[0].checks.tls.detail | test("not trusted"))
   and (.urls[0].checks.tls.fix | test("--ca-file")) and .urls[0].tls.certificate.trusted == false'
expect_json "$TERN_WORK/untrusted.json" "allocation over TLS should still pass" \
  ".urls[0] | $PASSED"
ok "untrusted certificate named, with the fix"

step "wrong password over TCP and TLS: wrong credentials named"
doctor "$TERN_WORK/wrong.json" "${URLS[1]}" "${URLS[2]}" --user user --password nope \
  --ca-file "$TERN_WORK/ca.pem"
[ "$DOCTOR_RC" -eq 1 ] || fail "wrong password: status $DOCTOR_RC, expected 1"
expect_json "$TERN_WORK/wrong.json" "wrong password not named" \
  '[.urls[] | .error_kind == "wrong_credentials" and .checks.authentication.status == "fail"
   and (.checks.authentication.detail | test("password is wrong"))] == [true, true]'
ok "wrong password named over TCP and TLS"
coturn_stop

step "REST secret: UDP, TCP and TLS pass; a wrong secret and an expired credential are named"
coturn_start "$TERN_WORK/coturn2.log" --use-auth-secret --static-auth-secret "$SECRET"
doctor "$TERN_WORK/rest.json" "${URLS[@]}" --secret "$SECRET" --ca-file "$TERN_WORK/ca.pem"
[ "$DOCTOR_RC" -eq 0 ] || { cat "$TERN_WORK/rest.json" >&2; fail "REST secret: status $DOCTOR_RC"; }
expect_json "$TERN_WORK/rest.json" "REST secret: a transport did not pass" \
  "[.urls[] | $PASSED] == [true, true, true]"
ok "UDP, TCP and TLS pass with a REST secret"
doctor "$TERN_WORK/badsecret.json" "${URLS[1]}" "${URLS[2]}" --secret wrong-secret \
  --ca-file "$TERN_WORK/ca.pem"
[ "$DOCTOR_RC" -eq 1 ] || fail "wrong secret: status $DOCTOR_RC, expected 1"
expect_json "$TERN_WORK/badsecret.json" "wrong secret not named" \
  '[.urls[] | .error_kind == "wrong_credentials"
   and (.checks.authentication.detail | test("shared secret differs"))] == [true, true]'
ok "wrong secret named over TCP and TLS"
# REST credentials that expired 100 s ago by this clock, signed with the right secret.
user="$(($(date +%s) - 100)):tern-test"
pass=$(printf '%s' "$user" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64)
doctor "$TERN_WORK/expired.json" "${URLS[1]}" "${URLS[2]}" --user "$user" --password "$pass" \
  --ca-file "$TERN_WORK/ca.pem"
[ "$DOCTOR_RC" -eq 1 ] || fail "expired REST credential: status $DOCTOR_RC, expected 1"
expect_json "$TERN_WORK/expired.json" "expired REST credential not named" \
  '[.urls[] | .error_kind == "credentials_expired"
   and (.checks.authentication.detail | test("clock skew"))] == [true, true]'
ok "expired REST credential named (with the clock-skew hint) over TCP and TLS"

step "nothing listening: TCP refused is named with the port"
doctor "$TERN_WORK/refused.json" "turn:$SERVER:3479?transport=tcp" --secret "$SECRET"
[ "$DOCTOR_RC" -eq 1 ] || fail "refused: status $DOCTOR_RC, expected 1"
expect_json "$TERN_WORK/refused.json" "refused connection not named" \
  '.urls[0].checks.reachability.status == "fail"
   and (.urls[0].checks.reachability.detail | test("connection refused by 192.0.2.2:3479"))'
ok "refused TCP connection named"
coturn_stop
printf '\nPASS: turn_client_coturn (UDP, TCP, TLS; static user and REST secret)\n'
