#!/usr/bin/env bash
# Stock `wg` against a running tern: the peer of A is configured only through `wg set`
# (key, preshared key, endpoint, allowed IPs, keepalive) and traffic flows; `wg show` and
# `wg showconf` read tern back; `wg set ... listen-port` moves the socket; removing the peer
# stops the traffic, and tern counts what it then cannot route.
#
#  +------------------------------+              +------------------------------+
#  | ns tern-a-PID                |              | ns tern-b-PID                |
#  |   uaPID 10.77.0.1/24         |              |   ubPID 10.77.0.2/24         |
#  |   tern, no [Peer] in config  |              |   tern, peer A from config   |
#  |   a0 192.0.2.1/24            +---- veth ----+   b0 192.0.2.2/24            |
#  +------------------------------+              +------------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_impl tern

step "topology"
ns_create A
ns_create B
veth "$A" a0 192.0.2.1/24 "$B" b0 192.0.2.2/24
read -r ka_priv ka_pub < <(keypair)
read -r kb_priv kb_pub < <(keypair)
psk=$(wg genpsk)
ia=$(iface_name ua)
ib=$(iface_name ub)
conf_interface "$TERN_WORK/$ia.conf" "$ka_priv" 51820 "10.77.0.1/24" 1420
conf_interface "$TERN_WORK/$ib.conf" "$kb_priv" 51820 "10.77.0.2/24" 1420
conf_peer "$TERN_WORK/$ib.conf" "$ka_pub" "10.77.0.1/32" "" "" "$psk"
peer_up "$A" "$ia" "$TERN_WORK/$ia.conf" tern
peer_up "$B" "$ib" "$TERN_WORK/$ib.conf" tern

step "wg set configures tern's peer"
printf '%s\n' "$psk" >"$TERN_WORK/psk"
ip netns exec "$A" wg set "$ia" peer "$kb_pub" preshared-key "$TERN_WORK/psk" \
  endpoint 192.0.2.2:51820 allowed-ips 10.77.0.2/32 persistent-keepalive 25
check "wg show reads the peer back"
show=$(ip netns exec "$A" wg show "$ia")
printf '%s\n' "$show" | grep -q "peer: $kb_pub" || fail "wg show lacks the peer: $show"
printf '%s\n' "$show" | grep -q "endpoint: 192.0.2.2:51820" || fail "wg show lacks the endpoint: $show"
printf '%s\n' "$show" | grep -q "allowed ips: 10.77.0.2/32" || fail "wg show lacks allowed ips: $show"
printf '%s\n' "$show" | grep -q "persistent keepalive: every 25 seconds" ||
  fail "wg show lacks the keepalive: $show"
printf '%s\n' "$show" | grep -q "preshared key: (hidden)" || fail "wg show lacks the psk: $show"
ok "peer, endpoint, allowed ips, keepalive and preshared key as set"
check "wg showconf gives back the private key"
ip netns exec "$A" wg showconf "$ia" | grep -q "PrivateKey = $ka_priv" ||
  fail "wg showconf: $(ip netns exec "$A" wg showconf "$ia")"
ok "showconf matches"
# The route for the new allowed IP is the operator's job with wg set, as with wireguard-go;
# 10.77.0.0/24 on the interface covers it here.
ping_check "$A" 10.77.0.2
wait_handshake "$A" "$ia"
check "wg show latest-handshakes and transfer move"
rx=$(ip netns exec "$A" wg show "$ia" transfer | awk '{ print $2 }')
[ "${rx:-0}" -gt 0 ] || fail "wg show transfer shows nothing received: $rx"
ok "received $rx bytes"

step "wg set listen-port moves the socket"
ip netns exec "$A" wg set "$ia" listen-port 51999
port=$(ip netns exec "$A" wg show "$ia" listen-port)
[ "$port" = 51999 ] || fail "listen-port is $port, want 51999"
[ -n "$(ip netns exec "$A" ss -Hlun 'sport = :51999')" ] || fail "nothing listens on UDP 51999"
ok "tern listens on 51999"
ping_check "$A" 10.77.0.2

step "wg set ... remove"
ip netns exec "$A" wg set "$ia" peer "$kb_pub" remove
[ -z "$(ip netns exec "$A" wg show "$ia" peers)" ] || fail "the peer is still listed"
before=$("$TERN" status "$ia" --json | jq '.interfaces[0].totals.drops.no_route')
check "traffic to the removed peer is refused and counted as no_route"
if ip netns exec "$A" ping -n -q -c 3 -i 0.2 -W 1 10.77.0.2 >/dev/null 2>&1; then
  fail "ping still answered after the peer was removed"
fi
after=$("$TERN" status "$ia" --json | jq '.interfaces[0].totals.drops.no_route')
[ "$after" -ge $((before + 3)) ] || fail "no_route went from $before to $after, want +3"
ok "no_route $before -> $after"

step "a bad wg set is refused, and tern keeps running"
if ip netns exec "$A" wg set "$ia" peer "$kb_pub" allowed-ips 10.77.0.300/32 2>/dev/null; then
  fail "wg accepted a bad allowed IP"
fi
printf 'set=1\nbogus_key=1\n\n' | ip netns exec "$A" timeout 5 nc -U -q 1 "$TERN_RUN_DIR/$ia.sock" \
  >"$TERN_WORK/bad.reply" || true
grep -q '^errno=-22$' "$TERN_WORK/bad.reply" || fail "unknown key answered: $(cat "$TERN_WORK/bad.reply")"
peer_alive "$ia" || fail "tern exited"
ok "errno=-22 and still running"

peer_down "$ia"
peer_down "$ib"
printf '\nPASS: uapi_wg\n'
