# shellcheck shell=bash disable=SC2153,SC2034 # lib.sh variables; results read by the caller
# Helpers for the scenarios through the agent's TURN relay (mtu_relay*, relay_tcp), sourced after
# lib.sh and lib_mtu.sh: the far peer's namespace behind the relay's, coturn, and a tern pair in
# which A reaches B only through its allocation (Relay = on) while B learns A's relayed address.
#
#   ns S (the relay) c0 203.0.113.1/24 2001:db8:3::1/64 --- d0 203.0.113.2/24 2001:db8:3::2/64 ns P
# P's default routes point at S; nobody routes 203.0.113.0/24 or 2001:db8:3::/64 towards A.

RELAY_PEER_V4=203.0.113.2
RELAY_PEER_V6=2001:db8:3::2

# relay_peer_ns S: creates namespace P (RELAY_NS_PEER) behind S, S forwarding both families.
relay_peer_ns() {
  local s=$1
  ns_create P
  RELAY_NS_PEER=$P
  veth "$s" "c0$$" 203.0.113.1/24 "$P" "d0$$" "$RELAY_PEER_V4/24"
  ip -n "$s" -6 addr add 2001:db8:3::1/64 dev "c0$$" nodad
  ip -n "$P" -6 addr add "$RELAY_PEER_V6/64" dev "d0$$" nodad
  ip -n "$P" route add default via 203.0.113.1
  ip -n "$P" -6 route add default via 2001:db8:3::1
  router_enable "$s"
  ip netns exec "$s" sysctl -qw net.ipv6.conf.all.forwarding=1
}

# relay_coturn NS LISTEN_IP RELAY_IP [turnserver options...]: coturn on LISTEN_IP:3478 with the
# user alice:s3cret, allocating on RELAY_IP; RELAY_COTURN is its pid, coturn.log its log.
relay_coturn() {
  local ns=$1 listen=$2 relayed=$3
  shift 3
  ip netns exec "$ns" timeout "$TERN_PROCESS_LIFETIME" turnserver -n --log-file stdout \
    --listening-ip "$listen" --relay-ip "$relayed" --listening-port 3478 \
    --min-port 49152 --max-port 49352 --no-dtls --no-tls --no-cli --fingerprint \
    --realm tern.test --lt-cred-mech --user alice:s3cret "$@" >>"$TERN_WORK/coturn.log" 2>&1 &
  RELAY_COTURN=$!
  track_pid "$RELAY_COTURN"
}

# relay_listening NS PROTO(u|t): coturn listens on PROTO port 3478 in NS.
relay_listening() { [ -n "$(ip netns exec "$1" ss "-Hl${2}n" "sport = :3478")" ]; }

# relay_pair NS_A IFACE_A NS_B IFACE_B O4 O6 PORT MTU ENDPOINT URL: tern on A (Relay = on for
# its peer B at ENDPOINT; [Relay] Url = URL as alice) and on B (listening on PORT, no endpoint:
# it learns A's relayed address). Overlay O4.1 / O6::1 on A, O4.2 / O6::2 on B; A on PORT + 1.
relay_pair() {
  local na=$1 ia=$2 nb=$3 ib=$4 o4=$5 o6=$6 port=$7 mtu=$8 endpoint=$9 url=${10}
  local ka_priv ka_pub kb_priv kb_pub
  read -r ka_priv ka_pub < <(keypair)
  read -r kb_priv kb_pub < <(keypair)
  conf_interface "$TERN_WORK/$ia.conf" "$ka_priv" $((port + 1)) "$o4.1/24, $o6::1/64" "$mtu"
  conf_peer "$TERN_WORK/$ia.conf" "$kb_pub" "$o4.2/32, $o6::2/128" "$endpoint" 25
  printf 'Relay = on\n\n[Relay]\nUrl = %s\nUsername = alice\nPassword = s3cret\n' "$url" \
    >>"$TERN_WORK/$ia.conf"
  conf_interface "$TERN_WORK/$ib.conf" "$kb_priv" "$port" "$o4.2/24, $o6::2/64" "$mtu"
  conf_peer "$TERN_WORK/$ib.conf" "$ka_pub" "$o4.1/32, $o6::1/128"
  peer_up "$nb" "$ib" "$TERN_WORK/$ib.conf" tern
  peer_up "$na" "$ia" "$TERN_WORK/$ia.conf" tern
}

# relay_json NS IFACE: the relay object of `tern status --json` on IFACE.
relay_json() {
  ip netns exec "$1" timeout 5 "$TERN" status "$2" --json 2>/dev/null | jq -c '.interfaces[0].relay'
}
relay_relayed() { relay_json "$1" "$2" | jq -r '.relayed_address // "null"'; }
relay_allocated() { [ "$(relay_relayed "$1" "$2")" != null ]; }
relay_channel() { relay_json "$1" "$2" | jq -r '.peers[0].channel // 0'; }
relay_bound() { [ "$(relay_channel "$1" "$2")" -gt 0 ]; }

# relay_wait_allocated NS IFACE SECONDS: waits for IFACE's allocation; RELAYED is its address.
relay_wait_allocated() {
  wait_until "$3" "$2's allocation (relay: $(relay_json "$1" "$2"))" relay_allocated "$1" "$2"
  RELAYED=$(relay_relayed "$1" "$2")
}
