#!/usr/bin/env bash
# The agent's TURN relay over TLS (Url = turns:HOST[:PORT], RFC 7065; issue 4 §2): A reaches B
# only through its allocation on coturn, made on a TLS connection checked against the test's
# CA (CA = in [Relay]) and the Url's host. coturn listens on TLS only, so nothing of A's relay
# traffic can go in the clear; the connection carries A's FwMark (SO_MARK before connect).
# Ping (v4, v6, 1400-byte DF) and iperf3 both ways; coturn restarted -> A connects again and
# allocates anew; a second agent trusting another CA never connects and its status names the
# certificate problem and the CA key that fixes it.
#
#  +--------------+        +--------------------------+        +--------------+
#  | ns A         |  TLS   | ns S                     |  UDP   | ns B         |
#  |  tern        +--------+- coturn 192.0.2.2:5349    +--------+- tern        |
#  |  a0 192.0.2.1|        |  s0         c0 203.0.113.1|        |  d0 .2       |
#  +--------------+        +--------------------------+        +--------------+
#  tunnel 10.83.1.0/24 fd83:1::/64 (A .1, B .2), MTU 1400; A has no route to 203.0.113.0/24.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_mtu.sh
. "$(dirname "$0")/lib_mtu.sh"
netns_init
need_impl tern
need_tools turnserver iperf3 jq ss openssl
RELAY_IP=192.0.2.2
PEER_IP=203.0.113.2

step "a CA and a certificate for $RELAY_IP; another CA that did not sign it"
for ca in ca other; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=tern relay_tls $ca $$" -keyout "$TERN_WORK/$ca.key" -out "$TERN_WORK/$ca.pem" \
    2>/dev/null
done
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=relay $$" \
  -keyout "$TERN_WORK/server.key" -out "$TERN_WORK/server.csr" 2>/dev/null
printf 'subjectAltName=IP:%s\n' "$RELAY_IP" >"$TERN_WORK/san.ext"
openssl x509 -req -in "$TERN_WORK/server.csr" -CA "$TERN_WORK/ca.pem" -CAkey "$TERN_WORK/ca.key" \
  -CAcreateserial -days 2 -extfile "$TERN_WORK/san.ext" -out "$TERN_WORK/server.pem" 2>/dev/null
chmod 644 "$TERN_WORK/server.key"
ok "certificate for IP:$RELAY_IP signed by the test's CA"

step "topology: A - S (coturn, TLS only) - B"
ns_create A
ns_create S
ns_create B
veth "$A" "a0$$" 192.0.2.1/24 "$S" "s0$$" "$RELAY_IP/24"
veth "$S" "c0$$" 203.0.113.1/24 "$B" "d0$$" "$PEER_IP/24"
ip -n "$B" route add default via 203.0.113.1
router_enable "$S"
coturn() {
  ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" turnserver -n --log-file stdout \
    --listening-ip "$RELAY_IP" --relay-ip 203.0.113.1 --tls-listening-port 5349 \
    --cert "$TERN_WORK/server.pem" --pkey "$TERN_WORK/server.key" \
    --min-port 49152 --max-port 49352 --no-udp --no-tcp --no-dtls --no-cli --fingerprint \
    --realm tern.test --lt-cred-mech --user alice:s3cret >>"$TERN_WORK/coturn.log" 2>&1 &
  COTURN=$!
  track_pid "$COTURN"
}
tls_up() { [ -n "$(ip netns exec "$S" ss -Hltn "sport = :5349")" ]; }
coturn
wait_until 10 "turnserver listening on tls/5349" tls_up
[ -z "$(ip netns exec "$S" ss -Hltn "sport = :3478")" ] || fail "coturn listens on plain TCP too"
[ -z "$(ip netns exec "$S" ss -Hlun "sport = :3478")" ] || fail "coturn listens on UDP too"
if ip netns exec "$A" ping -n -q -c 1 -W 1 "$PEER_IP" >/dev/null 2>&1; then
  fail "A reaches B directly: the test would not prove the relayed path"
fi
ok "coturn on TLS $RELAY_IP:5349 only; B unreachable from A but through the relay"

step "tern on A (Relay = on, turns: with CA) and on B"
ta=$(iface_name ta)
tb=$(iface_name tb)
read -r ka_priv ka_pub < <(keypair)
read -r kb_priv kb_pub < <(keypair)
relay_section() {
  printf 'Relay = on\n\n[Relay]\nUrl = turns:%s\nUsername = alice\nPassword = s3cret\nCA = %s\n' \
    "$RELAY_IP" "$1"
}
conf_interface "$TERN_WORK/$ta.conf" "$ka_priv" 51841 "10.83.1.1/24, fd83:1::1/64" 1400
printf 'FwMark = 0xca6c\n' >>"$TERN_WORK/$ta.conf"
conf_peer "$TERN_WORK/$ta.conf" "$kb_pub" "10.83.1.2/32, fd83:1::2/128" "$PEER_IP:51840" 25
relay_section "$TERN_WORK/ca.pem" >>"$TERN_WORK/$ta.conf"
conf_interface "$TERN_WORK/$tb.conf" "$kb_priv" 51840 "10.83.1.2/24, fd83:1::2/64" 1400
conf_peer "$TERN_WORK/$tb.conf" "$ka_pub" "10.83.1.1/32, fd83:1::1/128"
peer_up "$B" "$tb" "$TERN_WORK/$tb.conf" tern
peer_up "$A" "$ta" "$TERN_WORK/$ta.conf" tern
status_of() { ip netns exec "$A" timeout 5 "$TERN" status "$1" --json 2>/dev/null; }
status_a() { status_of "$ta"; }
relayed() { status_a | jq -r '.interfaces[0].relay.relayed_address // "null"'; }
allocated() { [ "$(relayed)" != null ]; }
wait_until 15 "A's allocation over TLS (relay: $(status_a | jq -c '.interfaces[0].relay'))" \
  allocated
conn=$(ip netns exec "$A" ss -Htne state established "dport = :5349")
[ -n "$conn" ] || fail "A has no TCP connection to the relay's TLS port"
[[ "$conn" == *"fwmark:0xca6c"* ]] || fail "the relay's TLS connection lacks FwMark 0xca6c: $conn"
grep -q "over TLS (TLSv1" "$TERN_WORK/$ta.log" || fail "A's log does not say it connected over TLS"
ok "A's relayed address over TLS: $(relayed) ($(grep -o 'over TLS ([^)]*)' \
  "$TERN_WORK/$ta.log" | head -n 1)), the connection marked with FwMark 0xca6c"
ping_check "$A" 10.83.1.2 5 5 20
ping_check "$A" fd83:1::2 5 5 20
ping_check "$B" 10.83.1.1 5 5 20
ping_check "$B" fd83:1::1 5 5 20
channel() { [ "$(status_a | jq -r '.interfaces[0].relay.peers[0].channel')" -gt 0 ]; }
wait_until 10 "a channel for B on the relay" channel
ip netns exec "$A" timeout 20 ping -n -q -c 3 -i 0.2 -W 2 -s 1372 -M "do" 10.83.1.2 >/dev/null ||
  fail "1400-byte packets with DF do not pass the relay over TLS"
ok "1400-byte DF packets through the channel over TLS"

step "iperf3 through the relay over TLS, both ways"
iperf() {
  ip netns exec "$B" timeout 20 iperf3 -s -1 -B 10.83.1.2 >/dev/null 2>&1 &
  track_pid "$!"
  wait_until 10 "iperf3 to listen in B" listening "$B" 5201
  ip netns exec "$A" timeout 15 iperf3 -c 10.83.1.2 -t 3 -J "$@" |
    jq '.end.sum_received.bits_per_second'
}
up=$(iperf)
down=$(iperf -R)
awk -v u="$up" -v d="$down" 'BEGIN { exit !(u > 1e6 && d > 1e6) }' ||
  fail "iperf3 through the relay: A -> B $up bit/s, B -> A $down bit/s"
UP=$(awk -v v="$up" 'BEGIN { printf "%.0f", v / 1e6 }')
DOWN=$(awk -v v="$down" 'BEGIN { printf "%.0f", v / 1e6 }')
ok "A -> B $UP Mbit/s, B -> A $DOWN Mbit/s"
[ "$(tern_peer_json "$A" "$ta" overlay_mtu)" = 1400 ] ||
  fail "overlay MTU $(tern_peer_json "$A" "$ta" overlay_mtu) over a TLS leg (configured 1400)"
ok "overlay MTU stays the configured 1400 over the TLS leg"

step "coturn restarts: A connects again over TLS and allocates anew"
kill "$COTURN"
wait "$COTURN" 2>/dev/null || true
gone() { [ "$(relayed)" = null ] ||
  [ -z "$(ip netns exec "$A" ss -Htn state established "dport = :5349")" ]; }
wait_until 10 "A to notice the lost connection" gone
coturn
wait_until 10 "turnserver listening again" tls_up
wait_until 20 "a new allocation" allocated
ping_check "$A" 10.83.1.2 5 5 20
ok "A allocated again ($(relayed)) and B answers through it"

step "an agent that trusts another CA: no connection, and status says why"
tc=$(iface_name tc)
read -r kc_priv _ < <(keypair)
conf_interface "$TERN_WORK/$tc.conf" "$kc_priv" 51842 "10.83.2.1/24" 1400
conf_peer "$TERN_WORK/$tc.conf" "$kb_pub" "10.83.2.2/32" "$PEER_IP:51840"
relay_section "$TERN_WORK/other.pem" >>"$TERN_WORK/$tc.conf"
peer_up "$A" "$tc" "$TERN_WORK/$tc.conf" tern
error_c() { status_of "$tc" | jq -r '.interfaces[0].relay.last_error // ""'; }
retried() { [[ "$(error_c)" == *"2 failed attempt(s)"* || "$(error_c)" == *"3 failed"* ]]; }
wait_until 10 "a second failed attempt (last_error: $(error_c))" retried
err=$(error_c)
[[ "$err" == *"certificate"*"not trusted"* || "$err" == *"self-signed"* ]] ||
  fail "last_error does not name the untrusted certificate: $err"
[[ "$err" == *"CA = /path/ca.pem in [Relay]"* ]] || fail "last_error does not name the fix: $err"
[ "$(status_of "$tc" | jq -r '.interfaces[0].relay.relayed_address // "null"')" = null ] ||
  fail "an allocation through a certificate the agent does not trust"
ok "last_error: $err"
for t in "$ta" "$tb" "$tc"; do peer_alive "$t" || fail "the agent of $t exited"; done

printf '\nPASS: relay_tls (TURN over TLS: A -> B %s Mbit/s, B -> A %s Mbit/s)\n' "$UP" "$DOWN"
