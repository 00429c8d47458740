#!/usr/bin/env bash
# The agent's TURN relay over TLS (Url = turns:HOST[:PORT], RFC 7065; issue 4 §2): A reaches B
# only through its allocation on coturn, made on a TLS connection checked against the test's
# CA (CA = in [Relay]) and the Url's host. coturn listens on TLS only, so nothing of A's relay
# traffic can go in the clear; the connection carries A's FwMark (SO_MARK before connect).
# Ping (v4, v6, 1400-byte DF) and iperf3 both ways; coturn restarted -> A connects again and
# allocates anew; a second agent trusting another CA never connects and its status names the
# certificate problem and the CA key that fixes it. Last, the path towards the relay shrinks to
# 1280 with nothing said: A's TLS connection stalls and the agent connects again, smaller.
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
# shellcheck source=lib_relay.sh
. "$(dirname "$0")/lib_relay.sh"
netns_init
need_impl tern
need_tools turnserver iperf3 jq ss openssl nft
RELAY_IP=192.0.2.2

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
veth "$A" "a0$$" 192.0.2.1/24 "$S" "s0$$" "$RELAY_IP/24"
relay_peer_ns "$S"
B=$RELAY_NS_PEER
coturn() {
  relay_coturn_tls "$S" "$RELAY_IP" 203.0.113.1 "$TERN_WORK/server.pem" "$TERN_WORK/server.key"
}
coturn
wait_until 10 "turnserver listening on tls/5349" relay_listening "$S" t 5349
! relay_listening "$S" t || fail "coturn listens on plain TCP too"
! relay_listening "$S" u || fail "coturn listens on UDP too"
relay_no_direct "$A"
ok "coturn on TLS $RELAY_IP:5349 only; B unreachable from A but through the relay"

step "tern on A (Relay = on, turns: with CA, FwMark) and on B"
ta=$(iface_name ta)
tb=$(iface_name tb)
relay_pair "$A" "$ta" "$B" "$tb" 10.83.1 fd83:1 51840 1400 "$RELAY_PEER_V4:51840" \
  "turns:$RELAY_IP" "CA = $TERN_WORK/ca.pem" "FwMark = 0xca6c"
relay_wait_allocated "$A" "$ta" 15
conn=$(ip netns exec "$A" ss -Htne state established "dport = :5349")
[ -n "$conn" ] || fail "A has no TCP connection to the relay's TLS port"
[[ "$conn" == *"fwmark:0xca6c"* ]] || fail "the relay's TLS connection lacks FwMark 0xca6c: $conn"
grep -q "over TLS (TLSv1" "$TERN_WORK/$ta.log" || fail "A's log does not say it connected over TLS"
ok "A's relayed address over TLS: $RELAYED ($(grep -o 'over TLS ([^)]*)' \
  "$TERN_WORK/$ta.log" | head -n 1)), the connection marked with FwMark 0xca6c"
ping_check "$A" 10.83.1.2 5 5 20
ping_check "$A" fd83:1::2 5 5 20
ping_check "$B" 10.83.1.1 5 5 20
ping_check "$B" fd83:1::1 5 5 20
wait_until 10 "a channel for B on the relay" relay_bound "$A" "$ta"
ip netns exec "$A" timeout 20 ping -n -q -c 3 -i 0.2 -W 2 -s 1372 -M "do" 10.83.1.2 >/dev/null ||
  fail "1400-byte packets with DF do not pass the relay over TLS"
ok "1400-byte DF packets through channel $(relay_channel "$A" "$ta") over TLS"

step "iperf3 through the relay over TLS, both ways"
relay_iperf_both "$A" "$B" 10.83.1.2 TLS
relay_keeps_mtu "$A" "$ta" 1400 TLS

step "coturn restarts: A connects again over TLS and allocates anew"
relay_restart "$A" "$ta" 5349 coturn
ping_check "$A" 10.83.1.2 5 5 20
ok "A allocated again ($(relay_relayed "$A" "$ta")) and B answers through it"

step "an agent that trusts another CA: no connection, and status says why"
tc=$(iface_name tc)
read -r kc_priv _ < <(keypair)
conf_interface "$TERN_WORK/$tc.conf" "$kc_priv" 51842 "10.83.2.1/24" 1400
conf_peer "$TERN_WORK/$tc.conf" "$RELAY_PUB_B" "10.83.2.2/32" "$RELAY_PEER_V4:51840"
relay_section "turns:$RELAY_IP" "CA = $TERN_WORK/other.pem" >>"$TERN_WORK/$tc.conf"
peer_up "$A" "$tc" "$TERN_WORK/$tc.conf" tern
error_c() { relay_json "$A" "$tc" | jq -r '.last_error // ""'; }
retried() { [[ "$(error_c)" == *"2 failed attempt(s)"* || "$(error_c)" == *"3 failed"* ]]; }
wait_until 10 "a second failed attempt (last_error: $(error_c))" retried
err=$(error_c)
[[ "$err" == *"certificate"*"not trusted"* || "$err" == *"self-signed"* ]] ||
  fail "last_error does not name the untrusted certificate: $err"
[[ "$err" == *"CA = /path/ca.pem in [Relay]"* ]] || fail "last_error does not name the fix: $err"
! relay_allocated "$A" "$tc" || fail "an allocation through a certificate the agent does not trust"
ok "last_error: $err"

step "the path towards the relay shrinks to 1280, ICMP never sent: A connects again, smaller"
relay_black_hole "$A" "$ta" "a0$$" "$S" "s0$$" TLS 10.83.1.2
for t in "$ta" "$tb" "$tc"; do peer_alive "$t" || fail "the agent of $t exited"; done

printf '\nPASS: relay_tls (TURN over TLS: A -> B %s Mbit/s, B -> A %s Mbit/s;' "$UP" "$DOWN"
printf ' 1280 black hole mended in %s s)\n' "$RELAY_RESUMED"
