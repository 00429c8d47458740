#!/usr/bin/env bash
# `tern doctor relay` against coturn's turnserver: a static user and a TURN REST secret pass
# (0 % loss on the relayed round trip, and the largest packet the 1400-byte link carries),
# a wrong password names "wrong credentials", a bad secret and an expired REST username name
# the secret and the clock, a firewalled port names the timeout, and --json parses with jq.
# The doctor's "peer" socket sits next to its client, so the relay sends to 198.51.100.2.
#
#  +---------------------------+       +----------------------------+       +---------------------------+
#  | ns tern-c-PID (doctor)    |       | ns tern-r-PID (router)     |       | ns tern-s-PID (coturn)    |
#  |  c0 198.51.100.2/24 ------+-veth--+- r0 198.51.100.1/24        |       |  turnserver udp/3478      |
#  |  client + peer sockets    |       |  r1 192.0.2.1/24 mtu 1400 -+-veth--+- s0 192.0.2.2/24 mtu 1400 |
#  +---------------------------+       |  nft: drop udp/3478 (last) |       +---------------------------+
#                                      +----------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_impl tern
need_tools turnserver jq
REALM=tern.test
SECRET=doctor-secret-$$
# A Send indication adds 40 bytes to the payload (IPv4 peer, DONT-FRAGMENT): 1400 - 28 - 40.
EXPECT_LARGEST=1332

step "topology: doctor -> router -> coturn, 1400-byte link in front of coturn"
ns_create C
ns_create R
ns_create S
veth "$C" c0 198.51.100.2/24 "$R" r0 198.51.100.1/24
veth "$R" r1 192.0.2.1/24 "$S" s0 192.0.2.2/24
ip -n "$R" link set r1 mtu 1400
ip -n "$S" link set s0 mtu 1400
router_enable "$R"
ip -n "$C" route add 192.0.2.0/24 via 198.51.100.1
ip -n "$S" route add 198.51.100.0/24 via 192.0.2.1

udp_listening() { [ -n "$(ip netns exec "$1" ss -Hlun "sport = :$2")" ]; }

# coturn_start LOG ARGS...: turnserver in S with the common flags and ARGS.
COTURN_PID=""
coturn_start() {
  local log=$1
  shift
  ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" turnserver -n --log-file stdout \
    --listening-ip 192.0.2.2 --relay-ip 192.0.2.2 --listening-port 3478 --realm "$REALM" \
    --min-port 49152 --max-port 49352 --no-tls --no-dtls --no-cli --fingerprint "$@" \
    >"$log" 2>&1 &
  COTURN_PID=$!
  track_pid "$COTURN_PID"
  wait_until 10 "turnserver listening on udp/3478" udp_listening "$S" 3478
}
coturn_stop() {
  kill -TERM "$COTURN_PID" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while kill -0 "$COTURN_PID" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { kill -KILL "$COTURN_PID" 2>/dev/null || true; break; }
    sleep 0.1
  done
}

# doctor OUT ARGS...: runs the doctor in C (bounded), output in OUT; its status in DOCTOR_RC.
DOCTOR_RC=0
doctor() {
  local out=$1
  shift
  DOCTOR_RC=0
  ip netns exec "$C" timeout 120 "$TERN" doctor relay "$@" >"$out" 2>"$out.err" || DOCTOR_RC=$?
  say "exit status $DOCTOR_RC"
}
expect_text() {
  grep -qi -- "$2" "$1" || { cat "$1" >&2; fail "$3: no '$2' in the report"; }
}

step "static user: pass, 0 % loss, largest packet"
coturn_start "$TERN_WORK/coturn1.log" --lt-cred-mech --user user:pass
doctor "$TERN_WORK/pass.txt" turn:192.0.2.2:3478 --user user --password pass --duration 3s \
  --rate 50/s --size 1200
cat "$TERN_WORK/pass.txt"
[ "$DOCTOR_RC" -eq 0 ] || { cat "$TERN_WORK/pass.txt.err" "$TERN_WORK/coturn1.log" >&2; fail "the doctor failed against a good coturn (status $DOCTOR_RC)"; }
expect_text "$TERN_WORK/pass.txt" "mapped address 198.51.100.2:" "reachability"
expect_text "$TERN_WORK/pass.txt" "relayed address 192.0.2.2:" "allocation"
expect_text "$TERN_WORK/pass.txt" "150 probes of 1200 bytes at 50/s: 150 back, loss 0.0 %" \
  "round trip"
ok "static user passes with 0 % loss"

step "--json parses, with the figures"
doctor "$TERN_WORK/pass.json" turn:192.0.2.2 --user user --password pass --duration 2s --json
[ "$DOCTOR_RC" -eq 0 ] || fail "--json run failed (status $DOCTOR_RC)"
jq -e '.passed == true and .urls[0].round_trip.loss_percent == 0
       and .urls[0].round_trip.sent == 100 and .urls[0].round_trip.received == 100
       and .urls[0].checks.authentication.status == "pass"
       and (.urls[0].relayed_address | startswith("192.0.2.2:"))
       and .urls[0].lifetimes_s.permission == 300' "$TERN_WORK/pass.json" >/dev/null ||
  { cat "$TERN_WORK/pass.json" >&2; fail "the JSON lacks the expected fields"; }
largest=$(jq '.urls[0].largest_packet.payload_bytes' "$TERN_WORK/pass.json")
df=$(jq '.urls[0].largest_packet.dont_fragment' "$TERN_WORK/pass.json")
say "largest relayed payload $largest bytes (DONT-FRAGMENT: $df)"
if [ "$df" = true ]; then
  [ "$largest" -eq "$EXPECT_LARGEST" ] ||
    fail "largest packet $largest, expected $EXPECT_LARGEST over the 1400-byte link"
fi
ok "JSON parses with jq"

step "wrong password: fails naming wrong credentials"
doctor "$TERN_WORK/wrong.txt" turn:192.0.2.2 --user user --password nope --duration 1s
cat "$TERN_WORK/wrong.txt"
[ "$DOCTOR_RC" -eq 1 ] || fail "wrong password: status $DOCTOR_RC, expected 1"
expect_text "$TERN_WORK/wrong.txt" "refused the username" "wrong password"
expect_text "$TERN_WORK/wrong.txt" "password is wrong" "wrong password"
ok "wrong credentials named"
coturn_stop

step "REST secret: pass with the right one; the secret and the clock named otherwise"
coturn_start "$TERN_WORK/coturn2.log" --use-auth-secret --static-auth-secret "$SECRET"
doctor "$TERN_WORK/rest.txt" turn:192.0.2.2 --secret "$SECRET" --duration 2s
cat "$TERN_WORK/rest.txt"
[ "$DOCTOR_RC" -eq 0 ] || fail "REST secret: status $DOCTOR_RC, expected 0"
doctor "$TERN_WORK/badsecret.json" turn:192.0.2.2 --secret wrong-secret --duration 1s --json
[ "$DOCTOR_RC" -eq 1 ] || fail "bad secret: status $DOCTOR_RC, expected 1"
jq -e '.urls[0].error_kind == "wrong_credentials"
       and (.urls[0].checks.authentication.detail | test("shared secret differs"))
       and (.urls[0].checks.authentication.detail | test("clock"))' \
  "$TERN_WORK/badsecret.json" >/dev/null ||
  { cat "$TERN_WORK/badsecret.json" >&2; fail "bad secret: cause not named"; }
ok "bad secret names the secret and the clock"
# REST credentials that expired 100 s ago by this clock, signed with the right secret.
user="$(($(date +%s) - 100)):tern-doctor"
pass=$(printf '%s' "$user" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64)
doctor "$TERN_WORK/expired.txt" turn:192.0.2.2 --user "$user" --password "$pass" --duration 1s
cat "$TERN_WORK/expired.txt"
[ "$DOCTOR_RC" -eq 1 ] || fail "expired REST credentials: status $DOCTOR_RC, expected 1"
expect_text "$TERN_WORK/expired.txt" "clock skew" "expired REST credentials"
expect_text "$TERN_WORK/expired.txt" "expired at" "expired REST credentials"
ok "expired REST credentials name the clock"

step "firewalled port: fails naming the timeout, the transport and the port"
ip netns exec "$R" nft -f - <<'NFT'
table inet tern_doctor_fw {
  chain forward { type filter hook forward priority 0; udp dport 3478 drop; }
}
NFT
doctor "$TERN_WORK/fw.txt" turn:192.0.2.2:3478 --secret "$SECRET" --duration 1s
cat "$TERN_WORK/fw.txt"
[ "$DOCTOR_RC" -eq 1 ] || fail "firewalled: status $DOCTOR_RC, expected 1"
expect_text "$TERN_WORK/fw.txt" "no answer from 192.0.2.2:3478 over UDP" "firewalled port"
expect_text "$TERN_WORK/fw.txt" "UDP/3478 is blocked" "firewalled port"
ok "timeout named with transport and port"
ip netns exec "$R" nft delete table inet tern_doctor_fw

step "usage errors exit 2"
rc1=0
"$TERN" doctor relay http://example.com >/dev/null 2>&1 || rc1=$?
rc2=0
"$TERN" doctor relay turn:192.0.2.2 --user u --secret s >/dev/null 2>&1 || rc2=$?
[ "$rc1" -eq 2 ] || fail "a bad URL exits $rc1, expected 2"
[ "$rc2" -eq 2 ] || fail "--user with --secret exits $rc2, expected 2"
ok "usage errors exit 2"
coturn_stop
printf '\nPASS: doctor_relay (coturn, static user and REST secret)\n'
